#include "pg/staging_held.hpp"

#include "pg/bridge.hpp"
#include "pg/staging_problems.hpp"

extern "C" {
#include "access/tupdesc.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/typcache.h"
}

namespace schema_guard::pg {
namespace {

// After the target's columns: seq, has_problem, key, payload, slots.
enum Extra { kSeq, kHasProblem, kKey, kPayload, kSlots, kExtras };

// A row's slots as bytes (bytea), and back.
std::string SlotBytes(const core::MappedRow& row) {
  std::string out;
  out.reserve(row.slots.size());
  for (core::Slot s : row.slots) out += static_cast<char>(s);
  return out;
}

std::vector<core::Slot> Slots(const std::string& bytes) {
  std::vector<core::Slot> out;
  out.reserve(bytes.size());
  for (char b : bytes) out.push_back(static_cast<core::Slot>(b));
  return out;
}

}  // namespace

HeldRows::HeldRows(const Target& target, const core::RowPlan& plan,
                   const KeyOrdering& ordering, MemoryContext parent)
    : target_(target),
      plan_(plan),
      ordering_(ordering),
      width_(target.columns.size()),
      key_equal_(plan.keys().size()) {
  std::vector<AttrNumber> attnos;
  std::vector<Oid> operators;
  std::vector<Oid> collations;
  Describe(&attnos, &operators, &collations);
  std::vector<char> nulls_first(attnos.size(), 0);  // with ">": NULLS LAST
  versions_ = core::WinnerOrder(plan.options()).front() ==
              core::WinnerKey::kVersionNewestFirst;
  Oid version_type =
      versions_ ? target.columns[static_cast<std::size_t>(plan.version())].type
                : InvalidOid;
  PgTry([&]() noexcept {
    MemoryContext old = MemoryContextSwitchTo(parent);
    scratch_ = AllocSetContextCreate(parent, "schema_guard staging held row",
                                     ALLOCSET_SMALL_SIZES);
    TupleDesc desc =
        CreateTemplateTupleDesc(static_cast<int>(width_ + kExtras));
    for (std::size_t c = 0; c < width_; ++c) {
      const TargetColumn& col = target.columns[c];
      AttrNumber a = static_cast<AttrNumber>(c + 1);
      TupleDescInitEntry(desc, a, nullptr, col.type, col.typmod, 0);
      TupleDescInitEntryCollation(desc, a, col.collation);
    }
    const Oid extras[kExtras] = {INT8OID, BOOLOID, TEXTOID, TEXTOID, BYTEAOID};
    for (int i = 0; i < kExtras; ++i) {
      TupleDescInitEntry(desc, static_cast<AttrNumber>(width_ + i + 1), nullptr,
                         extras[i], -1, 0);
    }
    for (std::size_t k = 0; k < key_equal_.size(); ++k) {
      fmgr_info_cxt(get_opcode(ordering_.equal[k]), &key_equal_[k], parent);
    }
    if (OidIsValid(version_type)) {
      Oid output = InvalidOid;
      bool varlena = false;
      getTypeOutputInfo(version_type, &output, &varlena);
      fmgr_info_cxt(output, &version_output_, parent);
    }
    sort_ = tuplesort_begin_heap(
        desc, static_cast<int>(attnos.size()), attnos.data(), operators.data(),
        collations.data(), reinterpret_cast<bool*>(nulls_first.data()),
        work_mem, nullptr, TUPLESORT_NONE);
    put_ = MakeSingleTupleTableSlot(desc, &TTSOpsVirtual);
    get_ = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
    group_ = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
    MemoryContextSwitchTo(old);
  });
}

// The sort keys: the key columns by the unique index's "<" (grouping the
// rows of a key), then core::WinnerOrder: the version by its type's ">",
// seq by ">".
void HeldRows::Describe(std::vector<AttrNumber>* attnos,
                        std::vector<Oid>* operators,
                        std::vector<Oid>* collations) const {
  const std::vector<int>& keys = plan_.keys();
  for (std::size_t k = 0; k < keys.size(); ++k) {
    attnos->push_back(static_cast<AttrNumber>(keys[k] + 1));
    operators->push_back(ordering_.less[k]);
    collations->push_back(ordering_.collation[k]);
  }
  for (core::WinnerKey key : core::WinnerOrder(plan_.options())) {
    bool version = key == core::WinnerKey::kVersionNewestFirst;
    const TargetColumn* column =
        version ? &target_.columns[static_cast<std::size_t>(plan_.version())]
                : nullptr;
    Oid type = version ? column->type : INT8OID;
    Oid greater = InvalidOid;
    PgTry([&]() noexcept {
      greater = lookup_type_cache(type, TYPECACHE_GT_OPR)->gt_opr;
    });
    attnos->push_back(static_cast<AttrNumber>(
        version ? plan_.version() + 1 : static_cast<int>(width_) + kSeq + 1));
    operators->push_back(greater);
    collations->push_back(version ? column->collation : InvalidOid);
  }
}

void HeldRows::Hold(const ConvertedRow& row, bool has_problem) {
  std::string key = plan_.KeyText(row.mapped);
  std::string slots = SlotBytes(row.mapped);
  TupleTableSlot* slot = put_;
  MemoryContext scratch = scratch_;
  Tuplesortstate* sort = sort_;
  std::size_t width = width_;
  PgTry([&]() noexcept {
    MemoryContext old = MemoryContextSwitchTo(scratch);
    ExecClearTuple(slot);
    Datum* values = slot->tts_values;
    bool* nulls = slot->tts_isnull;
    for (std::size_t c = 0; c < width; ++c) {
      values[c] = row.values[c];
      nulls[c] = row.nulls[c];
    }
    for (int i = 0; i < kExtras; ++i) nulls[width + i] = false;
    values[width + kSeq] = Int64GetDatum(row.seq);
    values[width + kHasProblem] = BoolGetDatum(has_problem);
    values[width + kKey] = PointerGetDatum(
        cstring_to_text_with_len(key.data(), static_cast<int>(key.size())));
    values[width + kPayload] = PointerGetDatum(cstring_to_text_with_len(
        row.payload, static_cast<int>(row.payload_length)));
    values[width + kSlots] = PointerGetDatum(
        cstring_to_text_with_len(slots.data(), static_cast<int>(slots.size())));
    ExecStoreVirtualTuple(slot);
    tuplesort_puttupleslot(sort, slot);
    ExecClearTuple(slot);
    MemoryContextSwitchTo(old);
    MemoryContextReset(scratch);
  });
}

bool HeldRows::SameKey() const {
  if (!grouped_) return false;
  bool same = true;
  for (std::size_t k = 0; k < key_equal_.size() && same; ++k) {
    int a = plan_.keys()[k];
    same = DatumGetBool(FunctionCall2Coll(
        const_cast<FmgrInfo*>(&key_equal_[k]), ordering_.collation[k],
        get_->tts_values[a], group_->tts_values[a]));
  }
  return same;
}

void HeldRows::Versions(HeldRow* row) const {
  if (!versions_) return;
  int a = plan_.version();
  TupleTableSlot* mine = get_;
  TupleTableSlot* kept = group_;
  char* mine_text = nullptr;
  char* kept_text = nullptr;
  FmgrInfo* output = const_cast<FmgrInfo*>(&version_output_);
  PgTry([&]() noexcept {
    if (!mine->tts_isnull[a]) {
      mine_text = OutputFunctionCall(output, mine->tts_values[a]);
    }
    if (!kept->tts_isnull[a]) {
      kept_text = OutputFunctionCall(output, kept->tts_values[a]);
    }
  });
  if (mine_text != nullptr) row->version = mine_text;
  if (kept_text != nullptr) row->winner_version = kept_text;
}

bool HeldRows::Next(HeldRow* row) {
  Tuplesortstate* sort = sort_;
  TupleTableSlot* get = get_;
  TupleTableSlot* group = group_;
  if (!sorted_) {
    PgTry([&]() noexcept { tuplesort_performsort(sort); });
    sorted_ = true;
  }
  bool got = false;
  bool same = false;
  PgTry([&]() noexcept {
    got = tuplesort_gettupleslot(sort, true, false, get, nullptr);
    if (!got) return;
    slot_getallattrs(get);
    same = SameKey();
    if (!same) ExecCopySlot(group, get);
  });
  if (!got) return false;
  grouped_ = true;
  if (!same) PgTry([&]() noexcept { slot_getallattrs(group); });
  const Datum* v = get->tts_values;
  *row = HeldRow{};
  row->seq = DatumGetInt64(v[width_ + kSeq]);
  row->has_problem = DatumGetBool(v[width_ + kHasProblem]);
  row->winner = !same;
  row->winner_seq = DatumGetInt64(group->tts_values[width_ + kSeq]);
  row->key = TextOf(v[width_ + kKey]);
  row->slots = Slots(TextOf(v[width_ + kSlots]));
  row->values = v;
  row->nulls = get->tts_isnull;
  auto* payload =
      reinterpret_cast<struct varlena*>(DatumGetPointer(v[width_ + kPayload]));
  row->payload = VARDATA_ANY(payload);
  row->payload_length = VARSIZE_ANY_EXHDR(payload);
  if (!row->winner) Versions(row);
  return true;
}

void HeldRows::End() {
  Tuplesortstate* sort = sort_;
  sort_ = nullptr;
  if (sort != nullptr) PgTry([&]() noexcept { tuplesort_end(sort); });
}

}  // namespace schema_guard::pg
