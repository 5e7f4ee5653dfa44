// SQL functions of staging: stage_open, stage_rows, stage_validate,
// stage_apply, stage_purge and current_batch. Shims only: the work is in
// staging_run.cpp.
//
// Identities: the batch log, the staged rows and the quarantine are read
// and written as the extension's owner (owner_scope.hpp); everything that
// touches the target, converts a value or checks a constraint runs as the
// caller, with the caller's privileges.
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "pg/bridge.hpp"
#include "pg/datum.hpp"
#include "pg/staging_run.hpp"

extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/jsonb.h"

PG_FUNCTION_INFO_V1(schema_guard_current_batch);
PG_FUNCTION_INFO_V1(schema_guard_stage_open);
PG_FUNCTION_INFO_V1(schema_guard_stage_rows);
PG_FUNCTION_INFO_V1(schema_guard_stage_validate);
PG_FUNCTION_INFO_V1(schema_guard_stage_apply);
PG_FUNCTION_INFO_V1(schema_guard_stage_purge);
}

namespace schema_guard::pg {
namespace {

// The batch stage_open() last opened in this session (0: none).
int64 session_batch = 0;

int64 BatchArg(FunctionCallInfo fcinfo) {
  RequireArg(fcinfo, 0, "batch",
             "Pass the id schema_guard.stage_open() returned.");
  return PG_GETARG_INT64(0);
}

}  // namespace
}  // namespace schema_guard::pg

namespace sg = schema_guard::pg;

extern "C" Datum schema_guard_current_batch(PG_FUNCTION_ARGS) {
  (void)fcinfo;
  if (sg::session_batch == 0) {
    ereport(ERROR,
            (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
             errmsg("no batch has been opened in this session"),
             errdetail("Rows copied into schema_guard.staged_row without a "
                       "batch_id go to the batch last opened by "
                       "schema_guard.stage_open() in the same session."),
             errhint("Call schema_guard.stage_open() first, or give batch_id "
                     "for every row.")));
  }
  PG_RETURN_INT64(sg::session_batch);
}

extern "C" Datum schema_guard_stage_open(PG_FUNCTION_ARGS) {
  int64 id = 0;
  sg::Guarded([&] {
    sg::RequireArg(fcinfo, 0, "target",
                   "Pass the table, such as 'license_licensedetail'.");
    sg::RequireArg(fcinfo, 1, "key_columns",
                   "Pass the columns of the external key, such as "
                   "ARRAY['external_id'].");
    Oid relid = PG_GETARG_OID(0);
    auto keys =
        sg::OptionalTextArray(fcinfo, 1, "key columns",
                              "Pass the columns of the external key, such as "
                              "ARRAY['external_id'].");
    std::string options = "{}";
    if (!PG_ARGISNULL(3)) {
      Jsonb* value = nullptr;
      sg::PgTry([&]() noexcept { value = PG_GETARG_JSONB_P(3); });
      options = sg::JsonbText(value);
    }
    id = sg::OpenBatch(relid, *keys, sg::OptionalTextArg(fcinfo, 2), options);
  });
  sg::session_batch = id;
  PG_RETURN_INT64(id);
}

extern "C" Datum schema_guard_stage_rows(PG_FUNCTION_ARGS) {
  int64 staged = 0;
  sg::Guarded([&] {
    int64 batch = sg::BatchArg(fcinfo);
    sg::RequireArg(fcinfo, 1, "rows", "Pass '[]' to stage nothing.");
    staged = sg::StageRows(batch, PG_GETARG_DATUM(1));
  });
  PG_RETURN_INT64(staged);
}

extern "C" Datum schema_guard_stage_validate(PG_FUNCTION_ARGS) {
  sg::Guarded([&] {
    int64 batch = sg::BatchArg(fcinfo);
    ReturnSetInfo* rsinfo = sg::BeginMaterializedSet(fcinfo);
    sg::ValidateBatch(batch, [&](const sg::ListedProblem& p) {
      Datum values[4] = {Int64GetDatum(p.seq),
                         PointerGetDatum(sg::ToText(p.key)),
                         PointerGetDatum(sg::ToText(p.problem)),
                         PointerGetDatum(sg::ToText(p.detail))};
      bool nulls[4] = {false, false, false, false};
      sg::PutRow(rsinfo, values, nulls);
    });
  });
  return Datum(0);
}

extern "C" Datum schema_guard_stage_apply(PG_FUNCTION_ARGS) {
  sg::Guarded([&] {
    int64 batch = sg::BatchArg(fcinfo);
    sg::RequireArg(fcinfo, 1, "dry_run",
                   "Pass true to only count, false to apply.");
    bool dry_run = PG_GETARG_BOOL(1);
    auto only_keys = sg::OptionalTextArray(
        fcinfo, 2, "only_keys",
        "Pass the external keys to apply, or NULL for every row.");
    schema_guard::core::StageCounts c =
        sg::ApplyBatch(batch, dry_run, only_keys);
    ReturnSetInfo* rsinfo = sg::BeginMaterializedSet(fcinfo);
    Datum values[6] = {Int64GetDatum(c.inserted),   Int64GetDatum(c.updated),
                       Int64GetDatum(c.unchanged),  Int64GetDatum(c.stale),
                       Int64GetDatum(c.superseded), Int64GetDatum(c.rejected)};
    bool nulls[6] = {false, false, false, false, false, false};
    sg::PutRow(rsinfo, values, nulls);
  });
  return Datum(0);
}

extern "C" Datum schema_guard_stage_purge(PG_FUNCTION_ARGS) {
  (void)fcinfo;
  int64 removed = 0;
  sg::Guarded([&] { removed = sg::PurgeBatches(); });
  PG_RETURN_INT64(removed);
}
