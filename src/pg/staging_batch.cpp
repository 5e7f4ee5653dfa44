#include "pg/staging_batch.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/json.hpp"
#include "pg/bridge.hpp"
#include "pg/datum.hpp"
#include "pg/owner_scope.hpp"
#include "pg/settings.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(schema_guard_staged_seq);
PG_FUNCTION_INFO_V1(schema_guard_staged_row_batch_check);
PG_FUNCTION_INFO_V1(schema_guard_staged_row_check);
}

namespace schema_guard::pg {
namespace {

using core::Error;
using core::ErrorCode;

QueryArg Int8Arg(int64 value) { return {INT8OID, Int64GetDatum(value), false}; }
QueryArg TextParam(const std::optional<std::string>& value) {
  return {TEXTOID, value ? PointerGetDatum(ToText(*value)) : Datum(0),
          !value.has_value()};
}

int64 Int(const QueryResult& r, std::size_t row, std::size_t column) {
  const char* cell = r.Get(row, column);
  return cell == nullptr ? 0 : std::stoll(cell);
}

std::vector<std::string> JsonStrings(const std::string& json_text) {
  std::vector<std::string> out;
  core::Json doc = core::ParseJson(json_text);
  for (const auto& item : doc.items()) out.push_back(item.text());
  return out;
}

// Whether the current role is the role named, or a member of it.
bool MemberOf(const std::string& role_name) {
  bool member = false;
  PgTry([&]() noexcept {
    Oid role = get_role_oid(role_name.c_str(), true);
    member = OidIsValid(role) && is_member_of_role(GetUserId(), role);
  });
  return member;
}

// A text[] Datum; std::nullopt elements are NULL.
Datum NullableTextArray(const std::vector<std::optional<std::string>>& values) {
  std::vector<Datum> elems(values.size());
  std::vector<char> nulls(values.size(), 0);
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (values[i]) {
      elems[i] = PointerGetDatum(ToText(*values[i]));
    } else {
      nulls[i] = 1;
    }
  }
  int dims[1] = {static_cast<int>(values.size())};
  int lbs[1] = {1};
  Datum result = 0;
  PgTry([&]() noexcept {
    result = PointerGetDatum(
        construct_md_array(elems.data(), reinterpret_cast<bool*>(nulls.data()),
                           1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT));
  });
  return result;
}

Datum Int8Array(const std::vector<std::optional<int64>>& values) {
  std::vector<Datum> elems(values.size());
  std::vector<char> nulls(values.size(), 0);
  for (std::size_t i = 0; i < values.size(); ++i) {
    elems[i] = Int64GetDatum(values[i].value_or(0));
    nulls[i] = values[i] ? 0 : 1;
  }
  int dims[1] = {static_cast<int>(values.size())};
  int lbs[1] = {1};
  Datum result = 0;
  PgTry([&]() noexcept {
    result = PointerGetDatum(construct_md_array(
        elems.data(), reinterpret_cast<bool*>(nulls.data()), 1, dims, lbs,
        INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
  });
  return result;
}

// ---------------------------------------------------------------------
// The check of each staged row (staged_row's CHECK constraint).

// The last seq the column default handed out in this backend: a row whose
// seq is another one was given its seq explicitly, which only the
// extension's owner and superusers may do (a restore).
int64 last_default_seq = -1;

// The batch the check last locked, and where: the lock holds to
// the end of the (sub)transaction that took it.
struct StagingLock {
  int64 batch = 0;
  LocalTransactionId transaction = InvalidLocalTransactionId;
  SubTransactionId subtransaction = InvalidSubTransactionId;
};
StagingLock staging_lock;

int64 rows_staged_here = 0;

// Locks the batch's row for the rows the current statement stages, and
// refuses a batch that is missing, not open, or not the caller's.
void LockForStaging(int64 batch) {
  bool member_checked = false;
  std::string opener;
  QueryResult locked;
  {
    SpiSession spi;
    {
      OwnerScope owner;
      locked = spi.Query(
          "UPDATE schema_guard.stage_batches SET last_staged_at = "
          "pg_catalog.statement_timestamp() WHERE batch_id = $1 AND status "
          "OPERATOR(pg_catalog.=) ANY ('{open,dry_run}') RETURNING opened_by",
          {Int8Arg(batch)}, false);
      if (locked.rows() == 0) {
        // A fresh snapshot: the batch may have been applied while the
        // update waited for it.
        QueryResult state = spi.Query(
            "SELECT status FROM schema_guard.stage_batches WHERE batch_id = "
            "$1",
            {Int8Arg(batch)}, false);
        if (state.rows() == 0) {
          throw Error(ErrorCode::kUndefinedObject,
                      fmt::format("batch {} does not exist", batch),
                      "Staged rows must belong to a batch opened by "
                      "schema_guard.stage_open().",
                      "Open a batch first; COPY uses the batch last opened in "
                      "the session.");
        }
        throw Error(
            ErrorCode::kObjectNotInPrerequisiteState,
            fmt::format("batch {} is already {}", batch, state.Text(0, 0)),
            "Rows can only be staged into an open batch.",
            "Open a new batch with schema_guard.stage_open().");
      }
      opener = locked.Text(0, 0);
    }
    member_checked = MemberOf(opener);
    spi.Finish();
  }
  if (!member_checked) {
    throw Error(
        ErrorCode::kInsufficientPrivilege,
        fmt::format("permission denied to stage rows into batch {}", batch),
        fmt::format("Batch {} was opened by role {}.", batch, opener),
        "Stage rows into a batch your role opened.");
  }
}

}  // namespace

bool StagingSchemaCurrent(SpiSession& spi) {
  QueryResult v = spi.Query(
      "SELECT extversion FROM pg_catalog.pg_extension WHERE extname "
      "OPERATOR(pg_catalog.=) 'schema_guard'");
  return !(v.rows() == 1 && v.Text(0, 0) == "0.1.0");
}

void RequireStagingSchema(SpiSession& spi) {
  if (!StagingSchemaCurrent(spi)) {
    throw Error(ErrorCode::kObjectNotInPrerequisiteState,
                "schema_guard's staging tables are at version 0.1.0",
                "The installed library stages rows into the tables of "
                "version 0.2.0.",
                "Run ALTER EXTENSION schema_guard UPDATE;");
  }
}

Batch LoadBatch(SpiSession& spi, int64 id, bool lock) {
  QueryResult row;
  {
    OwnerScope owner;
    row = spi.Query(
        lock ? "SELECT target::oid, pg_catalog.array_to_json(key_columns), "
               "options::text, status, opened_by, applied_at, applied_by "
               "FROM schema_guard.stage_batches WHERE batch_id = $1 FOR UPDATE"
             : "SELECT target::oid, pg_catalog.array_to_json(key_columns), "
               "options::text, status, opened_by, applied_at, applied_by "
               "FROM schema_guard.stage_batches WHERE batch_id = $1",
        {Int8Arg(id)}, false);
  }
  if (row.rows() == 0) {
    throw Error(ErrorCode::kUndefinedObject,
                fmt::format("batch {} does not exist", id),
                "Batches are opened by schema_guard.stage_open() and listed "
                "in schema_guard.stage_batches.",
                "Pass the id stage_open() returned.");
  }
  std::string opener = row.Text(0, 4);
  if (!MemberOf(opener)) {
    throw Error(ErrorCode::kInsufficientPrivilege,
                fmt::format("permission denied for batch {}", id),
                fmt::format("Batch {} was opened by role \"{}\".", id, opener),
                "Use the batch as the role that opened it, or a member of "
                "it.");
  }
  Batch batch;
  batch.id = id;
  batch.target = static_cast<Oid>(std::stoul(row.Text(0, 0)));
  batch.key_columns = JsonStrings(row.Text(0, 1));
  batch.options = core::ParseStageOptions(row.Text(0, 2));
  batch.status = row.Text(0, 3);
  batch.applied_at = row.Text(0, 5);
  batch.applied_by = row.Text(0, 6);
  return batch;
}

int64 InsertBatch(SpiSession& spi, Oid target, const std::string& display,
                  const std::vector<std::string>& key_columns,
                  const std::optional<std::string>& source,
                  const core::StageOptions& options) {
  const char* role = nullptr;
  PgTry([&]() noexcept { role = GetUserNameFromId(GetUserId(), false); });
  std::string opener = role;
  OwnerScope owner;
  QueryResult row = spi.Query(
      "INSERT INTO schema_guard.stage_batches (source, target, target_name, "
      "key_columns, options, opened_by) VALUES ($1, $2, $3, $4, $5, $6) "
      "RETURNING batch_id",
      {TextParam(source),
       {OIDOID, ObjectIdGetDatum(target), false},
       TextParam(display),
       {TEXTARRAYOID, TextArrayDatum(key_columns), false},
       {JSONBOID, ToJsonb(core::StageOptionsJson(options)), false},
       TextParam(opener)},
      false);
  return Int(row, 0, 0);
}

void RecordBatch(SpiSession& spi, int64 id, const char* status,
                 const core::StageCounts& c,
                 const std::optional<std::vector<std::string>>& only_keys) {
  const char* role = nullptr;
  PgTry([&]() noexcept { role = GetUserNameFromId(GetUserId(), false); });
  std::string applier = role;
  OwnerScope owner;
  spi.Query(
      "UPDATE schema_guard.stage_batches SET status = $2, applied_at = "
      "pg_catalog.now(), applied_by = $3, staged = $4, inserted = $5, "
      "updated = $6, unchanged = $7, stale = $8, superseded = $9, rejected = "
      "$10, skipped = $11, only_keys = $12 WHERE batch_id = $1",
      {Int8Arg(id),
       TextParam(std::string(status)),
       TextParam(applier),
       Int8Arg(c.staged),
       Int8Arg(c.inserted),
       Int8Arg(c.updated),
       Int8Arg(c.unchanged),
       Int8Arg(c.stale),
       Int8Arg(c.superseded),
       Int8Arg(c.rejected),
       Int8Arg(c.skipped),
       {TEXTARRAYOID, only_keys ? TextArrayDatum(*only_keys) : Datum(0),
        !only_keys}},
      false);
}

int64 PurgeStagedRows(SpiSession& spi) {
  if (stage_retention < 0) return 0;
  OwnerScope owner;
  QueryResult gone = spi.Query(
      "WITH due AS (SELECT batch_id FROM schema_guard.stage_batches WHERE "
      "status OPERATOR(pg_catalog.=) 'applied' AND purged_at IS NULL AND "
      "applied_at OPERATOR(pg_catalog.<=) (pg_catalog.now() "
      "OPERATOR(pg_catalog.-) pg_catalog.make_interval(mins => $1)) "
      "FOR UPDATE SKIP LOCKED), "
      "marked AS (UPDATE schema_guard.stage_batches b SET purged_at = "
      "pg_catalog.now() FROM due WHERE b.batch_id OPERATOR(pg_catalog.=) "
      "due.batch_id), "
      "gone AS (DELETE FROM schema_guard.staged_row r USING due WHERE "
      "r.batch_id OPERATOR(pg_catalog.=) due.batch_id RETURNING 1) "
      "SELECT pg_catalog.count(*) FROM gone",
      {{INT4OID, Int32GetDatum(stage_retention), false}}, false);
  return Int(gone, 0, 0);
}

void QuarantineWriter::Add(QuarantineRow row) {
  rows_.push_back(std::move(row));
  if (rows_.size() >= 1000) Flush();
}

void QuarantineWriter::Flush() {
  if (rows_.empty()) return;
  std::vector<std::optional<int64>> seq;
  std::vector<std::optional<std::string>> key, problem, detail, payload,
      version, kept_version;
  std::vector<std::optional<int64>> kept_seq;
  for (auto& r : rows_) {
    seq.emplace_back(r.seq);
    key.emplace_back(std::move(r.key));
    problem.emplace_back(std::move(r.problem));
    detail.emplace_back(std::move(r.detail));
    payload.emplace_back(std::move(r.payload));
    version.push_back(std::move(r.version));
    kept_version.push_back(std::move(r.kept_version));
    kept_seq.push_back(r.kept_seq);
  }
  rows_.clear();
  std::vector<QueryArg> args{
      Int8Arg(batch_),
      {INT8ARRAYOID, Int8Array(seq), false},
      {TEXTARRAYOID, NullableTextArray(key), false},
      {TEXTARRAYOID, NullableTextArray(problem), false},
      {TEXTARRAYOID, NullableTextArray(detail), false},
      {TEXTARRAYOID, NullableTextArray(payload), false},
      {TEXTARRAYOID, NullableTextArray(version), false},
      {TEXTARRAYOID, NullableTextArray(kept_version), false},
      {INT8ARRAYOID, Int8Array(kept_seq), false}};
  OwnerScope owner;
  spi_.Query(
      "INSERT INTO schema_guard.stage_rejected (batch_id, seq, key, problem, "
      "detail, payload, version, kept_version, kept_seq) SELECT $1, u.seq, "
      "u.key, u.problem, u.detail, u.payload::pg_catalog.json, u.version, "
      "u.kept_version, u.kept_seq FROM ROWS FROM (pg_catalog.unnest($2), "
      "pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5), "
      "pg_catalog.unnest($6), pg_catalog.unnest($7), pg_catalog.unnest($8), "
      "pg_catalog.unnest($9)) AS u(seq, key, problem, detail, payload, "
      "version, kept_version, kept_seq)",
      args, false);
}

void ForgetStagingLock() { staging_lock = StagingLock{}; }

int64 RowsStagedHere() { return rows_staged_here; }

}  // namespace schema_guard::pg

namespace sg = schema_guard::pg;

namespace {

// A row staged into `batch` with `seq`: passes when the seq was given
// explicitly (a restore, see last_default_seq); otherwise the batch must be
// an open one of the caller's, and its row is locked once per batch and
// (sub)transaction.
void CheckStagedRow(int64 batch, int64 seq) {
  ++sg::rows_staged_here;
  if (seq != sg::last_default_seq) return;
  LocalTransactionId transaction = MyProc->lxid;
  SubTransactionId subtransaction = GetCurrentSubTransactionId();
  const sg::StagingLock& held = sg::staging_lock;
  if (held.batch == batch && held.transaction == transaction &&
      held.subtransaction == subtransaction) {
    return;
  }
  sg::Guarded([&] { sg::LockForStaging(batch); });
  sg::staging_lock = {batch, transaction, subtransaction};
}

}  // namespace

// The default of staged_row.seq, around nextval(): the value, remembered
// for the row's check.
extern "C" Datum schema_guard_staged_seq(PG_FUNCTION_ARGS) {
  int64 value = PG_GETARG_INT64(0);
  sg::last_default_seq = value;
  PG_RETURN_INT64(value);
}

// staged_row's CHECK constraint (see CheckStagedRow); STRICT.
extern "C" Datum schema_guard_staged_row_batch_check(PG_FUNCTION_ARGS) {
  CheckStagedRow(PG_GETARG_INT64(0), PG_GETARG_INT64(1));
  PG_RETURN_BOOL(true);
}

// The trigger staged_row had at version 0.1.0: this library stages into
// 0.2.0's tables only.
extern "C" Datum schema_guard_staged_row_check(PG_FUNCTION_ARGS) {
  sg::Guarded([&] {
    sg::SpiSession spi;
    sg::RequireStagingSchema(spi);
    spi.Finish();
    throw schema_guard::core::Error(
        schema_guard::core::ErrorCode::kObjectNotInPrerequisiteState,
        "staged_row_check() is not a trigger of this version",
        "Version 0.2.0 checks staged rows with the constraint "
        "staged_row_batch_open.",
        "Drop the trigger that calls it.");
  });
  PG_RETURN_NULL();
}
