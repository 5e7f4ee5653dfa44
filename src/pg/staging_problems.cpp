#include "pg/staging_problems.hpp"

#include "pg/bridge.hpp"

extern "C" {
#include "access/tupdesc.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/typcache.h"
}

namespace schema_guard::pg {
namespace {

// Attributes of a problem's tuple.
enum Column {
  kSeq,
  kOrder,
  kProblem,
  kKey,
  kDetail,
  kPayload,
  kVersion,
  kKeptVersion,
  kKeptSeq,
  kColumns
};

Datum Text(const std::string& s) {
  return PointerGetDatum(
      cstring_to_text_with_len(s.data(), static_cast<int>(s.size())));
}

}  // namespace

std::string TextOf(Datum value) {
  struct varlena* v = nullptr;
  PgTry([&]() noexcept {
    v = pg_detoast_datum_packed(
        reinterpret_cast<struct varlena*>(DatumGetPointer(value)));
  });
  return std::string(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
}

ProblemLog::ProblemLog(MemoryContext parent) {
  PgTry([&]() noexcept {
    MemoryContext old = MemoryContextSwitchTo(parent);
    scratch_ = AllocSetContextCreate(parent, "schema_guard staging problem",
                                     ALLOCSET_SMALL_SIZES);
    TupleDesc desc = CreateTemplateTupleDesc(kColumns);
    const Oid types[kColumns] = {INT8OID, INT4OID, TEXTOID, TEXTOID, TEXTOID,
                                 TEXTOID, TEXTOID, TEXTOID, INT8OID};
    for (int i = 0; i < kColumns; ++i) {
      TupleDescInitEntry(desc, static_cast<AttrNumber>(i + 1), nullptr,
                         types[i], -1, 0);
    }
    AttrNumber attnos[2] = {kSeq + 1, kOrder + 1};
    Oid ops[2] = {lookup_type_cache(INT8OID, TYPECACHE_LT_OPR)->lt_opr,
                  lookup_type_cache(INT4OID, TYPECACHE_LT_OPR)->lt_opr};
    Oid collations[2] = {InvalidOid, InvalidOid};
    bool nulls_first[2] = {false, false};
    sort_ = tuplesort_begin_heap(desc, 2, attnos, ops, collations, nulls_first,
                                 work_mem, nullptr, TUPLESORT_NONE);
    put_ = MakeSingleTupleTableSlot(desc, &TTSOpsVirtual);
    get_ = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
    MemoryContextSwitchTo(old);
  });
}

void ProblemLog::Record(const ProblemRow& row,
                        const core::RowProblem& problem) {
  const char* name = core::ProblemName(problem.problem);
  TupleTableSlot* slot = put_;
  MemoryContext scratch = scratch_;
  Tuplesortstate* sort = sort_;
  PgTry([&]() noexcept {
    MemoryContext old = MemoryContextSwitchTo(scratch);
    ExecClearTuple(slot);
    Datum* values = slot->tts_values;
    bool* nulls = slot->tts_isnull;
    for (int i = 0; i < kColumns; ++i) nulls[i] = false;
    values[kSeq] = Int64GetDatum(row.seq);
    values[kOrder] = Int32GetDatum(problem.order);
    values[kProblem] = PointerGetDatum(cstring_to_text(name));
    values[kKey] = Text(*row.key);
    values[kDetail] = Text(problem.detail);
    values[kPayload] = PointerGetDatum(cstring_to_text_with_len(
        row.payload, static_cast<int>(row.payload_length)));
    nulls[kVersion] = row.version == nullptr || !row.version->has_value();
    if (!nulls[kVersion]) values[kVersion] = Text(**row.version);
    nulls[kKeptVersion] =
        row.kept_version == nullptr || !row.kept_version->has_value();
    if (!nulls[kKeptVersion]) values[kKeptVersion] = Text(**row.kept_version);
    nulls[kKeptSeq] = !row.kept_seq.has_value();
    if (!nulls[kKeptSeq]) values[kKeptSeq] = Int64GetDatum(*row.kept_seq);
    ExecStoreVirtualTuple(slot);
    tuplesort_puttupleslot(sort, slot);
    ExecClearTuple(slot);
    MemoryContextSwitchTo(old);
    MemoryContextReset(scratch);
  });
}

void ProblemLog::Each(const std::function<void(RecordedProblem&&)>& fn) {
  TupleTableSlot* slot = get_;
  Tuplesortstate* sort = sort_;
  PgTry([&]() noexcept { tuplesort_performsort(sort); });
  for (;;) {
    bool got = false;
    PgTry([&]() noexcept {
      got = tuplesort_gettupleslot(sort, true, false, slot, nullptr);
      if (got) slot_getallattrs(slot);
    });
    if (!got) break;
    const Datum* v = slot->tts_values;
    const bool* isnull = slot->tts_isnull;
    RecordedProblem p;
    p.seq = DatumGetInt64(v[kSeq]);
    p.problem = TextOf(v[kProblem]);
    p.key = TextOf(v[kKey]);
    p.detail = TextOf(v[kDetail]);
    p.payload = TextOf(v[kPayload]);
    if (!isnull[kVersion]) p.version = TextOf(v[kVersion]);
    if (!isnull[kKeptVersion]) p.kept_version = TextOf(v[kKeptVersion]);
    if (!isnull[kKeptSeq]) p.kept_seq = DatumGetInt64(v[kKeptSeq]);
    fn(std::move(p));
  }
}

void ProblemLog::End() {
  Tuplesortstate* sort = sort_;
  sort_ = nullptr;
  if (sort != nullptr) PgTry([&]() noexcept { tuplesort_end(sort); });
}

}  // namespace schema_guard::pg
