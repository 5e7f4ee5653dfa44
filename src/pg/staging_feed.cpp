#include "pg/staging_feed.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "pg/bridge.hpp"
#include "pg/datum.hpp"
#include "pg/settings.hpp"

extern "C" {
#include "access/htup_details.h"
#include "access/tupdesc.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/typcache.h"
}

namespace schema_guard::pg {
namespace {

using core::Error;
using core::ErrorCode;

Feed* active_feed = nullptr;

// Attributes of the problems' tuples.
enum ProblemColumn {
  kPSeq,
  kPOrder,
  kPProblem,
  kPKey,
  kPDetail,
  kPPayload,
  kPVersion,
  kPKeptVersion,
  kPKeptSeq,
  kProblemColumns
};

Oid OperatorOf(Oid type, int which) {
  TypeCacheEntry* entry = lookup_type_cache(type, which);
  return which == TYPECACHE_LT_OPR ? entry->lt_opr : entry->gt_opr;
}

std::string TextOf(Datum value) {
  struct varlena* v = nullptr;
  PgTry([&]() noexcept {
    v = pg_detoast_datum_packed(
        reinterpret_cast<struct varlena*>(DatumGetPointer(value)));
  });
  return std::string(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
}

}  // namespace

Feed::Feed(const Target& target, const core::RowPlan& plan,
           const KeyOrdering& ordering, const BatchScan& scan, int64 batch)
    : target_(target),
      plan_(plan),
      ordering_(ordering),
      buckets_(scan.buckets),
      batch_(batch),
      converter_(target, plan, ordering.collation, Converter::Mode::kAll) {
  bool random = false;
  int64* token = &token_;
  PgTry([&]() noexcept { random = pg_strong_random(token, sizeof(*token)); });
  if (!random) {
    throw Error(ErrorCode::kInternal, "could not generate a random token");
  }
  BeginSorts();
  converter_.Open(batch_);
}

Feed::~Feed() = default;

void Feed::BeginSorts() {
  std::size_t width = target_.columns.size();
  const auto& keys = plan_.keys();
  int nkeys = static_cast<int>(keys.size());
  std::vector<AttrNumber> attnos;
  std::vector<Oid> operators;
  std::vector<Oid> collations;
  std::vector<char> nulls_first;
  for (std::size_t k = 0; k < keys.size(); ++k) {
    attnos.push_back(static_cast<AttrNumber>(keys[k] + 1));
    operators.push_back(ordering_.less[k]);
    collations.push_back(ordering_.collation[k]);
    nulls_first.push_back(0);
  }
  Oid version_type = InvalidOid;
  if (plan_.options().conflict == core::ConflictRule::kNewerWins) {
    const TargetColumn& v =
        target_.columns[static_cast<std::size_t>(plan_.version())];
    version_attno_ = plan_.version() + 1;
    version_type = v.type;
    attnos.push_back(static_cast<AttrNumber>(version_attno_));
    operators.push_back(InvalidOid);  // looked up below
    collations.push_back(v.collation);
    nulls_first.push_back(0);  // with ">": NULLS LAST
  }
  AttrNumber seq_attno = static_cast<AttrNumber>(width + 1);
  attnos.push_back(seq_attno);
  operators.push_back(InvalidOid);
  collations.push_back(InvalidOid);
  nulls_first.push_back(0);
  key_equal_.resize(keys.size());
  PgTry([&]() noexcept {
    context_ = AllocSetContextCreate(CurTransactionContext,
                                     "schema_guard staging feed",
                                     ALLOCSET_DEFAULT_SIZES);
    scratch_ = AllocSetContextCreate(context_, "schema_guard staging record",
                                     ALLOCSET_SMALL_SIZES);
    MemoryContext old = MemoryContextSwitchTo(context_);
    if (OidIsValid(version_type)) {
      operators[static_cast<std::size_t>(nkeys)] =
          OperatorOf(version_type, TYPECACHE_GT_OPR);
      Oid output = InvalidOid;
      bool varlena = false;
      getTypeOutputInfo(version_type, &output, &varlena);
      fmgr_info_cxt(output, &version_output_, context_);
    }
    operators.back() = OperatorOf(INT8OID, TYPECACHE_GT_OPR);
    for (std::size_t k = 0; k < key_equal_.size(); ++k) {
      fmgr_info_cxt(get_opcode(ordering_.equal[k]), &key_equal_[k], context_);
    }
    held_desc_ = CreateTemplateTupleDesc(static_cast<int>(width + 5));
    for (std::size_t c = 0; c < width; ++c) {
      const TargetColumn& col = target_.columns[c];
      AttrNumber a = static_cast<AttrNumber>(c + 1);
      TupleDescInitEntry(held_desc_, a, nullptr, col.type, col.typmod, 0);
      TupleDescInitEntryCollation(held_desc_, a, col.collation);
    }
    TupleDescInitEntry(held_desc_, seq_attno, nullptr, INT8OID, -1, 0);
    TupleDescInitEntry(held_desc_, seq_attno + 1, nullptr, BOOLOID, -1, 0);
    TupleDescInitEntry(held_desc_, seq_attno + 2, nullptr, TEXTOID, -1, 0);
    TupleDescInitEntry(held_desc_, seq_attno + 3, nullptr, TEXTOID, -1, 0);
    TupleDescInitEntry(held_desc_, seq_attno + 4, nullptr, TEXTOID, -1, 0);
    held_ =
        tuplesort_begin_heap(held_desc_, static_cast<int>(attnos.size()),
                             attnos.data(), operators.data(), collations.data(),
                             reinterpret_cast<bool*>(nulls_first.data()),
                             work_mem, nullptr, TUPLESORT_NONE);
    held_put_ = MakeSingleTupleTableSlot(held_desc_, &TTSOpsVirtual);
    held_slot_ = MakeSingleTupleTableSlot(held_desc_, &TTSOpsMinimalTuple);
    group_slot_ = MakeSingleTupleTableSlot(held_desc_, &TTSOpsMinimalTuple);

    problem_desc_ = CreateTemplateTupleDesc(kProblemColumns);
    const Oid types[kProblemColumns] = {INT8OID, INT4OID, TEXTOID,
                                        TEXTOID, TEXTOID, TEXTOID,
                                        TEXTOID, TEXTOID, INT8OID};
    for (int i = 0; i < kProblemColumns; ++i) {
      TupleDescInitEntry(problem_desc_, static_cast<AttrNumber>(i + 1), nullptr,
                         types[i], -1, 0);
    }
    AttrNumber order_attnos[2] = {kPSeq + 1, kPOrder + 1};
    Oid order_ops[2] = {OperatorOf(INT8OID, TYPECACHE_LT_OPR),
                        OperatorOf(INT4OID, TYPECACHE_LT_OPR)};
    Oid order_collations[2] = {InvalidOid, InvalidOid};
    bool order_nulls[2] = {false, false};
    problems_ = tuplesort_begin_heap(problem_desc_, 2, order_attnos, order_ops,
                                     order_collations, order_nulls, work_mem,
                                     nullptr, TUPLESORT_NONE);
    problem_put_ = MakeSingleTupleTableSlot(problem_desc_, &TTSOpsVirtual);
    problem_slot_ =
        MakeSingleTupleTableSlot(problem_desc_, &TTSOpsMinimalTuple);
    MemoryContextSwitchTo(old);
  });
}

void Feed::Emit(const Datum* row_values, const bool* row_nulls, Datum* values,
                bool* nulls) {
  for (std::size_t c = 0; c < target_.columns.size(); ++c) {
    int a = target_.columns[c].attnum - 1;
    values[a] = row_values[c];
    nulls[a] = row_nulls[c];
  }
}

bool Feed::Next(Datum* values, bool* nulls, int natts) {
  SettlePending();
  for (int a = 0; a < natts; ++a) {
    values[a] = Datum(0);
    nulls[a] = true;
  }
  if (!converted_done_ && NextConverted(values, nulls)) return true;
  if (!held_done_ && NextHeld(values, nulls)) return true;
  return false;
}

bool Feed::NextConverted(Datum* values, bool* nulls) {
  for (;;) {
    if (next_row_ >= converter_.size()) {
      next_row_ = 0;
      if (!converter_.Next()) {
        converted_done_ = true;
        return false;
      }
      counts_.staged += static_cast<int64>(converter_.size());
    }
    ConvertedRow& row = converter_.row(next_row_++);
    bool problem = !row.mapped.problems.empty();
    if (problem) {
      RecordRow(row);
      ++counts_.rejected;
    }
    if (row.key_ok && buckets_.Twice(row.bucket)) {
      Hold(row, problem);
      continue;
    }
    if (problem) continue;
    current_ = Current{};
    current_.seq = row.seq;
    current_.mapped = &row.mapped;
    current_.payload = row.payload;
    current_.payload_length = row.payload_length;
    Emit(row.values, row.nulls, values, nulls);
    ++handed_;
    return true;
  }
}

namespace {

std::string SlotsText(const core::MappedRow& row) {
  std::string out;
  for (core::Slot s : row.slots) {
    out += s == core::Slot::kAbsent ? 'a' : s == core::Slot::kNull ? 'n' : 'v';
  }
  return out;
}

}  // namespace

void Feed::Hold(const ConvertedRow& row, bool has_problem) {
  std::string key = plan_.KeyText(row.mapped);
  std::string slots = SlotsText(row.mapped);
  std::size_t width = target_.columns.size();
  TupleTableSlot* slot = held_put_;
  MemoryContext scratch = scratch_;
  PgTry([&]() noexcept {
    MemoryContext old = MemoryContextSwitchTo(scratch);
    ExecClearTuple(slot);
    for (std::size_t c = 0; c < width; ++c) {
      slot->tts_values[c] = row.values[c];
      slot->tts_isnull[c] = row.nulls[c];
    }
    slot->tts_values[width] = Int64GetDatum(row.seq);
    slot->tts_isnull[width] = false;
    slot->tts_values[width + 1] = BoolGetDatum(has_problem);
    slot->tts_isnull[width + 1] = false;
    slot->tts_values[width + 2] = PointerGetDatum(
        cstring_to_text_with_len(key.data(), static_cast<int>(key.size())));
    slot->tts_isnull[width + 2] = false;
    slot->tts_values[width + 3] = PointerGetDatum(cstring_to_text_with_len(
        row.payload, static_cast<int>(row.payload_length)));
    slot->tts_isnull[width + 3] = false;
    slot->tts_values[width + 4] = PointerGetDatum(
        cstring_to_text_with_len(slots.data(), static_cast<int>(slots.size())));
    slot->tts_isnull[width + 4] = false;
    ExecStoreVirtualTuple(slot);
    tuplesort_puttupleslot(held_, slot);
    ExecClearTuple(slot);
    MemoryContextSwitchTo(old);
    MemoryContextReset(scratch);
  });
}

bool Feed::NextHeld(Datum* values, bool* nulls) {
  std::size_t width = target_.columns.size();
  if (!held_sorted_) {
    PgTry([&]() noexcept { tuplesort_performsort(held_); });
    held_sorted_ = true;
  }
  for (;;) {
    bool got = false;
    bool same = false;
    TupleTableSlot* slot = held_slot_;
    TupleTableSlot* group = group_slot_;
    PgTry([&]() noexcept {
      got = tuplesort_gettupleslot(held_, true, false, slot, nullptr);
      if (!got) return;
      slot_getallattrs(slot);
      if (!group_open_) return;
      slot_getallattrs(group);
      same = true;
      for (std::size_t k = 0; k < key_equal_.size() && same; ++k) {
        int a = plan_.keys()[k];
        same = DatumGetBool(
            FunctionCall2Coll(&key_equal_[k], ordering_.collation[k],
                              slot->tts_values[a], group->tts_values[a]));
      }
    });
    if (!got) {
      held_done_ = true;
      return false;
    }
    int64 seq = DatumGetInt64(slot->tts_values[width]);
    bool has_problem = DatumGetBool(slot->tts_values[width + 1]);
    std::string key = TextOf(slot->tts_values[width + 2]);
    if (!same) {
      // The first row of a key wins.
      PgTry([&]() noexcept { ExecCopySlot(group, slot); });
      group_open_ = true;
      if (has_problem) continue;
      current_ = Current{};
      current_.seq = seq;
      current_.key_text = std::move(key);
      current_.slots = TextOf(slot->tts_values[width + 4]);
      struct varlena* payload = reinterpret_cast<struct varlena*>(
          DatumGetPointer(slot->tts_values[width + 3]));
      current_.payload = VARDATA_ANY(payload);
      current_.payload_length = VARSIZE_ANY_EXHDR(payload);
      Emit(slot->tts_values, slot->tts_isnull, values, nulls);
      ++handed_;
      return true;
    }
    int64 winner = DatumGetInt64(group->tts_values[width]);
    std::optional<std::string> version;
    std::optional<std::string> kept_version;
    if (version_attno_ > 0) {
      int a = version_attno_ - 1;
      char* mine = nullptr;
      char* kept = nullptr;
      PgTry([&]() noexcept {
        if (!slot->tts_isnull[a]) {
          mine = OutputFunctionCall(&version_output_, slot->tts_values[a]);
        }
        if (!group->tts_isnull[a]) {
          kept = OutputFunctionCall(&version_output_, group->tts_values[a]);
        }
      });
      if (mine != nullptr) version = mine;
      if (kept != nullptr) kept_version = kept;
    }
    if (!has_problem) ++counts_.superseded;
    std::string payload = TextOf(slot->tts_values[width + 3]);
    Record(seq, core::SupersededProblem(plan_.options().conflict, winner), key,
           payload.data(), payload.size(), version, kept_version, winner);
  }
}

void Feed::Record(int64 seq, const core::RowProblem& problem,
                  const std::string& key, const char* payload,
                  std::size_t payload_length,
                  const std::optional<std::string>& version,
                  const std::optional<std::string>& kept_version,
                  std::optional<int64> kept_seq) {
  const char* name = core::ProblemName(problem.problem);
  TupleTableSlot* slot = problem_put_;
  MemoryContext scratch = scratch_;
  auto text = [](const std::string& s) {
    return PointerGetDatum(
        cstring_to_text_with_len(s.data(), static_cast<int>(s.size())));
  };
  PgTry([&]() noexcept {
    MemoryContext old = MemoryContextSwitchTo(scratch);
    ExecClearTuple(slot);
    Datum* values = slot->tts_values;
    bool* nulls = slot->tts_isnull;
    for (int i = 0; i < kProblemColumns; ++i) nulls[i] = false;
    nulls[kPVersion] = !version;
    nulls[kPKeptVersion] = !kept_version;
    nulls[kPKeptSeq] = !kept_seq;
    values[kPSeq] = Int64GetDatum(seq);
    values[kPOrder] = Int32GetDatum(problem.order);
    values[kPProblem] = PointerGetDatum(cstring_to_text(name));
    values[kPKey] = text(key);
    values[kPDetail] = text(problem.detail);
    values[kPPayload] = PointerGetDatum(
        cstring_to_text_with_len(payload, static_cast<int>(payload_length)));
    values[kPVersion] = version ? text(*version) : Datum(0);
    values[kPKeptVersion] = kept_version ? text(*kept_version) : Datum(0);
    values[kPKeptSeq] = kept_seq ? Int64GetDatum(*kept_seq) : Datum(0);
    ExecStoreVirtualTuple(slot);
    tuplesort_puttupleslot(problems_, slot);
    ExecClearTuple(slot);
    MemoryContextSwitchTo(old);
    MemoryContextReset(scratch);
  });
}

void Feed::RecordRow(const ConvertedRow& row) {
  std::string key = plan_.KeyText(row.mapped);
  for (const auto& p : row.mapped.problems) {
    Record(row.seq, p, key, row.payload, row.payload_length);
  }
}

std::string Feed::CurrentKey() const {
  return current_.mapped != nullptr ? plan_.KeyText(*current_.mapped)
                                    : current_.key_text;
}

bool Feed::Keep(const std::vector<std::pair<std::size_t, std::string>>& failed,
                bool selected) {
  if (!failed.empty()) {
    std::string key = CurrentKey();
    for (const auto& [index, values] : failed) {
      Record(current_.seq, plan_.ConstraintProblem(index, values), key,
             current_.payload, current_.payload_length);
    }
    ++counts_.rejected;
    ++dropped_;
    return false;
  }
  if (!selected) {
    ++counts_.skipped;
    ++dropped_;
    return false;
  }
  return true;
}

bool Feed::Fresh(bool stale, std::optional<std::string> stored,
                 std::optional<std::string> incoming) {
  current_.pending_stale = stale;
  current_.stored = std::move(stored);
  current_.incoming = std::move(incoming);
  return !stale;
}

void Feed::Written() { current_.pending_stale = false; }

bool Feed::InBatch(const Datum* key_values) const {
  uint32 bucket = 0;
  PgTry([&]() noexcept { bucket = converter_.Bucket(key_values); });
  return buckets_.Seen(bucket);
}

bool Feed::Carries(int column) const {
  std::size_t c = static_cast<std::size_t>(column);
  if (current_.mapped != nullptr) {
    return c < current_.mapped->slots.size() &&
           current_.mapped->slots[c] != core::Slot::kAbsent;
  }
  return c < current_.slots.size() && current_.slots[c] != 'a';
}

void Feed::SettlePending() {
  if (!current_.pending_stale) return;
  current_.pending_stale = false;
  ++counts_.stale;
  Record(current_.seq,
         core::StaleProblem(plan_.options().version_column,
                            current_.stored.value_or(""),
                            current_.incoming.value_or("")),
         CurrentKey(), current_.payload, current_.payload_length,
         current_.incoming, current_.stored);
}

void Feed::Finish() {
  SettlePending();
  if (!converted_done_ || !held_done_) {
    throw Error(ErrorCode::kInternal,
                "the staging query did not read every staged row");
  }
  finished_ = true;
}

void Feed::EachProblem(const std::function<void(RecordedProblem&&)>& fn) {
  TupleTableSlot* slot = problem_slot_;
  PgTry([&]() noexcept { tuplesort_performsort(problems_); });
  for (;;) {
    bool got = false;
    PgTry([&]() noexcept {
      got = tuplesort_gettupleslot(problems_, true, false, slot, nullptr);
      if (got) slot_getallattrs(slot);
    });
    if (!got) break;
    RecordedProblem p;
    p.seq = DatumGetInt64(slot->tts_values[kPSeq]);
    p.problem = TextOf(slot->tts_values[kPProblem]);
    p.key = TextOf(slot->tts_values[kPKey]);
    p.detail = TextOf(slot->tts_values[kPDetail]);
    p.payload = TextOf(slot->tts_values[kPPayload]);
    if (!slot->tts_isnull[kPVersion]) {
      p.version = TextOf(slot->tts_values[kPVersion]);
    }
    if (!slot->tts_isnull[kPKeptVersion]) {
      p.kept_version = TextOf(slot->tts_values[kPKeptVersion]);
    }
    if (!slot->tts_isnull[kPKeptSeq]) {
      p.kept_seq = DatumGetInt64(slot->tts_values[kPKeptSeq]);
    }
    fn(std::move(p));
  }
}

void Feed::End() {
  Tuplesortstate* held = held_;
  Tuplesortstate* problems = problems_;
  MemoryContext context = context_;
  held_ = nullptr;
  problems_ = nullptr;
  context_ = nullptr;
  PgTry([&]() noexcept {
    tuplesort_end(held);
    tuplesort_end(problems);
    MemoryContextDelete(context);
  });
  converter_.Close();
}

FeedActivation::FeedActivation(Feed* feed) : previous_(active_feed) {
  active_feed = feed;
}

FeedActivation::~FeedActivation() { active_feed = previous_; }

Feed* ActiveFeed(int64 token) {
  if (active_feed == nullptr || active_feed->token() != token) {
    throw Error(ErrorCode::kObjectNotInPrerequisiteState,
                "no staging feed with this token is open",
                "schema_guard.stage_feed() and its companions serve the "
                "statements that stage_validate() and stage_apply() run.",
                "Call stage_validate() or stage_apply() instead.");
  }
  return active_feed;
}

}  // namespace schema_guard::pg
