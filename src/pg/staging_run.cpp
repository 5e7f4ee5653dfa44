#include "pg/staging_run.hpp"

#include <fmt/format.h>

#include <memory>

#include "core/error.hpp"
#include "core/staging_sql.hpp"
#include "pg/bridge.hpp"
#include "pg/datum.hpp"
#include "pg/owner_scope.hpp"
#include "pg/progress.hpp"
#include "pg/spi.hpp"
#include "pg/staging_batch.hpp"
#include "pg/staging_convert.hpp"
#include "pg/staging_feed.hpp"
#include "pg/staging_scan_cache.hpp"
#include "pg/staging_target.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
}

namespace schema_guard::pg {
namespace {

using core::Error;
using core::ErrorCode;

// pg_advisory_xact_lock(bigint) key space of applies: "SGST" << 32 | oid.
constexpr int64 kApplyLockSpace = static_cast<int64>(0x53475354) << 32;

core::QuoteFn Quoter() {
  return [](std::string_view n) { return Quote(n); };
}

int64 Int(const QueryResult& r, std::size_t row, std::size_t column) {
  const char* cell = r.Get(row, column);
  return cell == nullptr ? 0 : std::stoll(cell);
}

// check_structure: with an expected schema set, refuse a target that
// schema_guard.check() reports errors on.
void CheckStructure(SpiSession& spi, const Target& target) {
  QueryResult result;
  {
    OwnerScope owner;
    QueryResult expected =
        spi.Query("SELECT 1 FROM schema_guard.expected_schema");
    if (expected.rows() == 0) return;
    result = spi.Query(
        "SELECT pg_catalog.count(*), pg_catalog.string_agg(f.kind || ' ' || "
        "f.object, ', ' ORDER BY f.kind, f.object) FROM schema_guard.check() "
        "f WHERE f.severity = 'error' AND (f.object = $1 OR "
        "pg_catalog.starts_with(f.object, $1 || '.'))",
        {{TEXTOID, PointerGetDatum(ToText(target.info.display)), false}},
        false);
  }
  int64 errors = Int(result, 0, 0);
  if (errors == 0) return;
  throw Error(
      ErrorCode::kObjectNotInPrerequisiteState,
      fmt::format("table \"{}\" does not match the expected schema",
                  target.info.display),
      fmt::format("schema_guard.check() reports {} error{} on it: {}.", errors,
                  errors == 1 ? "" : "s", result.Text(0, 1)),
      "Fix the table first (SELECT schema_guard.fix_script();), or open the "
      "batch with '{\"check_structure\": false}' to sync data only.");
}

// A batch ready to be read: its target, how its payloads map onto it, and
// the first pass over its rows.
struct Prepared {
  Batch batch;
  Target target;
  KeyOrdering ordering;
  std::unique_ptr<core::RowPlan> plan;
  std::shared_ptr<const BatchScan> scan;
  std::string fingerprint;  // what the scan depends on
};

void Prepare(SpiSession& spi, Prepared* p, Progress* progress) {
  std::vector<core::StageColumn> columns = p->target.info.columns;
  core::CheckStageSetup(p->target.info.display, p->batch.options,
                        p->batch.key_columns, columns);
  p->ordering = ReadKeyOrdering(spi, p->target, p->batch.key_columns);
  bool utf8 = true;
  PgTry([&]() noexcept { utf8 = GetDatabaseEncoding() == PG_UTF8; });
  p->plan = std::make_unique<core::RowPlan>(
      p->target.info, p->batch.key_columns, p->batch.options, utf8);
  // A validate or a dry run of the batch may have scanned it already.
  p->fingerprint = ScanFingerprint(spi, p->batch, p->target, p->ordering);
  p->scan = KeptScan(p->batch.id, p->fingerprint);
  int64 id = p->batch.id;
  bool kept = p->scan != nullptr;
  PgTry([&]() noexcept {
    elog(DEBUG1, "staging: batch %lld, first pass %s",
         static_cast<long long>(id), kept ? "kept from before" : "read");
  });
  if (p->scan == nullptr) {
    p->scan = std::make_shared<BatchScan>(ScanBatch(
        p->target, *p->plan, p->ordering.collation, p->batch.id, progress));
  }
  p->plan->SetCarried(p->scan->named, p->scan->objects);
}

// only_keys must be keys of the key column's type: refused before any work.
void CheckOnlyKeys(SpiSession& spi, const Prepared& p,
                   const std::vector<std::string>& keys) {
  if (p.batch.key_columns.size() != 1) return;
  const core::StageColumn* c = p.target.info.Find(p.batch.key_columns[0]);
  spi.Query(fmt::format("SELECT $1::{}[]", c->type).c_str(),
            {{TEXTARRAYOID, TextArrayDatum(keys), false}});
}

// Runs the feed's SQL; returns its one row.
QueryResult RunFeed(SpiSession& spi, Feed* feed, const std::string& sql,
                    const std::optional<std::vector<std::string>>& only_keys) {
  Datum now = 0;
  PgTry([&]() noexcept {
    now = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
  });
  QueryResult result;
  {
    FeedActivation active(feed);
    result = spi.Query(
        sql.c_str(),
        {{TIMESTAMPTZOID, now, false},
         {INT8OID, Int64GetDatum(feed->token()), false},
         {TEXTARRAYOID, only_keys ? TextArrayDatum(*only_keys) : Datum(0),
          !only_keys}},
        false);
  }
  feed->Finish();
  return result;
}

void NoticeApplied(const Batch& batch) {
  std::string at = batch.applied_at;
  std::string by = batch.applied_by;
  int64 id = batch.id;
  PgTry([&]() noexcept {
    ereport(
        NOTICE,
        (errmsg("batch %lld was already applied", static_cast<long long>(id)),
         errdetail("It was applied at %s by role \"%s\"; its counts are "
                   "in schema_guard.stage_batches. Nothing was written.",
                   at.c_str(), by.c_str()),
         errhint("To sync the rows again, stage them into a new batch.")));
  });
}

void NoticeSkipped(int64 skipped, bool dry_run) {
  if (skipped == 0) return;
  PgTry([&]() noexcept {
    ereport(NOTICE,
            (errmsg_plural("%lld staged row was left out by only_keys",
                           "%lld staged rows were left out by only_keys",
                           static_cast<unsigned long>(skipped),
                           static_cast<long long>(skipped)),
             errdetail("Only rows whose key is in only_keys were %s.",
                       dry_run ? "counted" : "applied")));
  });
}

// Every row that was not written, into the quarantine: a rejected row with
// its first problem, superseded and stale rows with theirs.
void Quarantine(SpiSession& spi, int64 batch, Feed* feed,
                const core::StageCounts& counts, Progress* progress) {
  progress->Phase("quarantining", "rows",
                  counts.rejected + counts.superseded + counts.stale, 1000);
  QuarantineWriter writer(spi, batch);
  int64 last = -1;
  feed->EachProblem([&](RecordedProblem&& p) {
    if (p.seq == last) return;
    last = p.seq;
    QuarantineRow row;
    row.seq = p.seq;
    row.key = std::move(p.key);
    row.problem = std::move(p.problem);
    row.detail = std::move(p.detail);
    row.payload = std::move(p.payload);
    row.version = std::move(p.version);
    row.kept_version = std::move(p.kept_version);
    row.kept_seq = p.kept_seq;
    writer.Add(std::move(row));
    progress->Step();
  });
  writer.Flush();
}

}  // namespace

int64 OpenBatch(Oid relid, const std::vector<std::string>& key_columns,
                const std::optional<std::string>& source,
                const std::string& options_json) {
  core::StageOptions options = core::ParseStageOptions(options_json);
  SpiSession spi;
  bool current = StagingSchemaCurrent(spi);
  Target target = ReadTarget(spi, relid, AccessShareLock);
  core::CheckStageSetup(target.info.display, options, key_columns,
                        target.info.columns);
  CheckTargetForOpen(spi, target, key_columns);
  if (current) PurgeStagedRows(spi);
  int64 id = InsertBatch(spi, relid, target.info.display, key_columns, source,
                         options);
  spi.Finish();
  return id;
}

int64 StageRows(int64 batch_id, Datum rows) {
  SpiSession spi;
  LoadBatch(spi, batch_id, false);
  QueryResult shape = spi.Query(
      "SELECT pg_catalog.jsonb_typeof($1), (SELECT e.i FROM "
      "pg_catalog.jsonb_array_elements(CASE WHEN "
      "pg_catalog.jsonb_typeof($1) = 'array' THEN $1 END) WITH ORDINALITY "
      "e(v, i) WHERE pg_catalog.jsonb_typeof(e.v) <> 'object' ORDER BY e.i "
      "LIMIT 1)",
      {{JSONBOID, rows, false}});
  if (shape.Text(0, 0) != "array") {
    throw Error(ErrorCode::kInvalidParameterValue, "rows must be a JSON array",
                fmt::format("The value is a JSON {}.", shape.Text(0, 0)),
                "Pass an array of objects: '[{\"external_id\": ...}, ...]'.");
  }
  if (shape.Get(0, 1) != nullptr) {
    throw Error(ErrorCode::kInvalidParameterValue,
                fmt::format("element {} of rows is not a JSON object",
                            shape.Text(0, 1)),
                "Each staged row is an object of column names and values.",
                "Nothing was staged; fix the element and stage the array "
                "again.");
  }
  // As the caller: staged_row's check constraint checks the batch.
  QueryResult staged = spi.Query(
      "WITH s AS (INSERT INTO schema_guard.staged_row (batch_id, payload) "
      "SELECT $1, e.v::pg_catalog.json FROM "
      "pg_catalog.jsonb_array_elements($2) "
      "WITH ORDINALITY e(v, i) ORDER BY e.i RETURNING 1) "
      "SELECT pg_catalog.count(*) FROM s",
      {{INT8OID, Int64GetDatum(batch_id), false}, {JSONBOID, rows, false}},
      false);
  int64 count = Int(staged, 0, 0);
  spi.Finish();
  return count;
}

void ValidateBatch(int64 batch_id,
                   const std::function<void(const ListedProblem&)>& emit) {
  SpiSession spi;
  RequireStagingSchema(spi);
  Progress progress(fmt::format("validating batch {}", batch_id));
  Prepared p;
  p.batch = LoadBatch(spi, batch_id, false);
  p.target = ReadTarget(spi, p.batch.target, AccessShareLock);
  Prepare(spi, &p, &progress);
  KeepScan(batch_id, p.fingerprint, p.scan);
  Feed feed(p.target, *p.plan, p.ordering, *p.scan, batch_id, &progress);
  if (p.plan->checks().empty() && p.plan->foreign_keys().empty()) {
    // Nothing for SQL to check: the rows need not become tuples.
    feed.Drain();
    feed.Finish();
  } else {
    core::FeedQuery query{p.plan.get(), false};
    RunFeed(spi, &feed, core::ValidateSql(query, Quoter()), std::nullopt);
  }
  feed.EachProblem([&](RecordedProblem&& r) {
    emit({r.seq, std::move(r.key), std::move(r.problem), std::move(r.detail)});
  });
  feed.End();
  spi.Finish();
}

core::StageCounts ApplyBatch(
    int64 batch_id, bool dry_run,
    const std::optional<std::vector<std::string>>& only_keys) {
  SpiSession spi;
  RequireStagingSchema(spi);
  Progress progress(fmt::format("{} batch {}",
                                dry_run ? "dry run of" : "applying", batch_id));
  Prepared p;
  p.batch = LoadBatch(spi, batch_id, true);
  if (p.batch.status == "applied") {
    NoticeApplied(p.batch);
    spi.Finish();
    return {};
  }
  p.target = ReadTarget(spi, p.batch.target,
                        dry_run ? AccessShareLock : RowExclusiveLock);
  // Two applies to one target serialise.
  Oid oid = p.target.oid;
  PgTry([&]() noexcept {
    DirectFunctionCall1(
        pg_advisory_xact_lock_int8,
        Int64GetDatum(kApplyLockSpace | static_cast<int64>(oid)));
  });
  if (p.batch.options.check_structure) CheckStructure(spi, p.target);
  Prepare(spi, &p, &progress);
  if (only_keys) CheckOnlyKeys(spi, p, *only_keys);
  Feed feed(p.target, *p.plan, p.ordering, *p.scan, batch_id, &progress);
  core::FeedQuery query{p.plan.get(), only_keys.has_value()};
  auto quote = Quoter();
  QueryResult r = RunFeed(
      spi, &feed,
      dry_run ? core::DryRunSql(query, quote) : core::MergeSql(query, quote),
      only_keys);
  core::StageCounts counts = feed.counts();
  counts.inserted = Int(r, 0, 0);
  counts.updated = Int(r, 0, 1);
  if (dry_run) {
    counts.unchanged = Int(r, 0, 2);
    counts.stale = Int(r, 0, 3);
  } else {
    core::SettleCounts(feed.merged(), &counts);
    Quarantine(spi, batch_id, &feed, counts, &progress);
  }
  feed.End();
  RecordBatch(spi, batch_id, dry_run ? "dry_run" : "applied", counts,
              only_keys);
  if (dry_run) {
    // The log's row changed, the batch did not: the scan stays good.
    KeepScan(batch_id, ScanFingerprint(spi, p.batch, p.target, p.ordering),
             p.scan);
  } else {
    ForgetScan();
    ForgetStagingLock();
  }
  spi.Finish();
  NoticeSkipped(counts.skipped, dry_run);
  return counts;
}

int64 PurgeBatches() {
  SpiSession spi;
  RequireStagingSchema(spi);
  int64 removed = PurgeStagedRows(spi);
  spi.Finish();
  return removed;
}

}  // namespace schema_guard::pg
