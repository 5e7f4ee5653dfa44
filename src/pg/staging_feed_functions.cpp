// The feed's SQL functions (see staging_feed.hpp). Each serves only the
// statement its feed was opened for: it refuses any token but the feed's.
#include <fmt/format.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "pg/bridge.hpp"
#include "pg/datum.hpp"
#include "pg/staging_feed.hpp"

extern "C" {
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/typcache.h"

PG_FUNCTION_INFO_V1(schema_guard_stage_feed);
PG_FUNCTION_INFO_V1(schema_guard_stage_feed_keep);
PG_FUNCTION_INFO_V1(schema_guard_stage_feed_fresh);
PG_FUNCTION_INFO_V1(schema_guard_stage_feed_written);
PG_FUNCTION_INFO_V1(schema_guard_stage_feed_in_batch);
PG_FUNCTION_INFO_V1(schema_guard_stage_feed_carries);
}

namespace schema_guard::pg {
namespace {

Feed* FeedOf(FunctionCallInfo fcinfo) {
  RequireArg(fcinfo, 0, "token",
             "The staging functions pass the token of their feed.");
  return ActiveFeed(PG_GETARG_INT64(0));
}

std::string TextOfDatum(Datum value) {
  text* t = nullptr;
  PgTry([&]() noexcept { t = DatumGetTextPP(value); });
  return TextArg(t);
}

}  // namespace
}  // namespace schema_guard::pg

namespace sg = schema_guard::pg;

// schema_guard.stage_feed(token bigint, shape anyelement) RETURNS SETOF
// anyelement: the feed's rows, as rows of the target's type.
extern "C" Datum schema_guard_stage_feed(PG_FUNCTION_ARGS) {
  FuncCallContext* funcctx = nullptr;
  sg::Feed* feed = nullptr;
  Oid rowtype = get_fn_expr_argtype(fcinfo->flinfo, 1);
  sg::Guarded([&] {
    feed = sg::FeedOf(fcinfo);
    if (rowtype != feed->rowtype()) {
      throw schema_guard::core::Error(
          schema_guard::core::ErrorCode::kDatatypeMismatch,
          "the staging feed yields rows of its target's type",
          "The second argument must be NULL cast to the batch's target "
          "table.",
          "Call stage_validate() or stage_apply() instead.");
    }
  });
  if (SRF_IS_FIRSTCALL()) {
    funcctx = SRF_FIRSTCALL_INIT();
    MemoryContext old = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
    TupleDesc desc = lookup_rowtype_tupdesc_copy(rowtype, -1);
    funcctx->tuple_desc = BlessTupleDesc(desc);
    funcctx->user_fctx = palloc(desc->natts * (sizeof(Datum) + sizeof(bool)));
    MemoryContextSwitchTo(old);
  }
  funcctx = SRF_PERCALL_SETUP();
  int natts = funcctx->tuple_desc->natts;
  auto* values = static_cast<Datum*>(funcctx->user_fctx);
  auto* nulls = reinterpret_cast<bool*>(values + natts);
  bool more = false;
  sg::Guarded([&] { more = feed->Next(values, nulls, natts); });
  if (!more) SRF_RETURN_DONE(funcctx);
  HeapTuple tuple = heap_form_tuple(funcctx->tuple_desc, values, nulls);
  SRF_RETURN_NEXT(funcctx, HeapTupleGetDatum(tuple));
}

// schema_guard.stage_feed_keep(token bigint, failed text[], selected
// boolean) RETURNS boolean.
extern "C" Datum schema_guard_stage_feed_keep(PG_FUNCTION_ARGS) {
  bool keep = false;
  sg::Guarded([&] {
    sg::Feed* feed = sg::FeedOf(fcinfo);
    std::vector<std::pair<std::size_t, std::string>> failed;
    if (!PG_ARGISNULL(1)) {
      Datum* elems = nullptr;
      bool* nulls = nullptr;
      int count = 0;
      sg::PgTry([&]() noexcept {
        deconstruct_array(PG_GETARG_ARRAYTYPE_P(1), TEXTOID, -1, false,
                          TYPALIGN_INT, &elems, &nulls, &count);
      });
      for (int i = 0; i < count; ++i) {
        if (nulls[i]) continue;
        failed.emplace_back(static_cast<std::size_t>(i),
                            sg::TextOfDatum(elems[i]));
      }
    }
    bool selected = !PG_ARGISNULL(2) && PG_GETARG_BOOL(2);
    keep = feed->Keep(failed, selected);
  });
  PG_RETURN_BOOL(keep);
}

// schema_guard.stage_feed_fresh(token bigint, stale boolean, stored text,
// incoming text) RETURNS boolean: not stale.
extern "C" Datum schema_guard_stage_feed_fresh(PG_FUNCTION_ARGS) {
  bool fresh = false;
  sg::Guarded([&] {
    sg::Feed* feed = sg::FeedOf(fcinfo);
    bool stale = !PG_ARGISNULL(1) && PG_GETARG_BOOL(1);
    fresh = feed->Fresh(stale, sg::OptionalTextArg(fcinfo, 2),
                        sg::OptionalTextArg(fcinfo, 3));
  });
  PG_RETURN_BOOL(fresh);
}

// schema_guard.stage_feed_written(token bigint) RETURNS boolean.
extern "C" Datum schema_guard_stage_feed_written(PG_FUNCTION_ARGS) {
  sg::Guarded([&] { sg::FeedOf(fcinfo)->Written(); });
  PG_RETURN_BOOL(true);
}

// schema_guard.stage_feed_in_batch(token bigint, VARIADIC key "any")
// RETURNS boolean: whether the key may be one of the batch's.
extern "C" Datum schema_guard_stage_feed_in_batch(PG_FUNCTION_ARGS) {
  bool in_batch = false;
  sg::Guarded([&] {
    sg::Feed* feed = sg::FeedOf(fcinfo);
    Datum key[INDEX_MAX_KEYS];
    int n = PG_NARGS() - 1;
    if (n < 1 || static_cast<std::size_t>(n) != feed->key_count()) {
      throw schema_guard::core::Error(
          schema_guard::core::ErrorCode::kInvalidParameterValue,
          fmt::format("the batch's key has {} columns", feed->key_count()),
          "stage_feed_in_batch() takes a value for each key column.",
          "Call stage_validate() or stage_apply() instead.");
    }
    for (int i = 0; i < n; ++i) {
      if (PG_ARGISNULL(i + 1)) return;
      key[i] = PG_GETARG_DATUM(i + 1);
    }
    in_batch = feed->InBatch(key);
  });
  PG_RETURN_BOOL(in_batch);
}

// schema_guard.stage_feed_carries(token bigint, column_number integer)
// RETURNS boolean: whether the row just handed over names the column.
extern "C" Datum schema_guard_stage_feed_carries(PG_FUNCTION_ARGS) {
  bool carries = false;
  sg::Guarded([&] {
    sg::Feed* feed = sg::FeedOf(fcinfo);
    sg::RequireArg(fcinfo, 1, "column_number",
                   "Pass the position of a column of the target.");
    carries = feed->Carries(PG_GETARG_INT32(1));
  });
  PG_RETURN_BOOL(carries);
}
