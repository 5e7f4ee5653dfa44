// SQL functions of the schema check: snapshot, expect, baseline, check,
// check_json, schema_check, fix_script. check() computes the findings;
// check_json(), schema_check() and fix_script() render the same findings.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <malloc.h>

#include <algorithm>
#include <optional>
#include <unordered_map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/diff.hpp"
#include "core/error.hpp"
#include "core/json.hpp"
#include "core/manifest.hpp"
#include "core/migration_hints.hpp"
#include "core/report.hpp"
#include "pg/bridge.hpp"
#include "pg/catalog_reader.hpp"
#include "pg/datum.hpp"
#include "pg/heap_reserve.hpp"
#include "pg/migration_checks.hpp"
#include "pg/progress.hpp"
#include "pg/spi.hpp"
#include "pg/type_check.hpp"

extern "C" {
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(schema_guard_snapshot);
PG_FUNCTION_INFO_V1(schema_guard_expect);
PG_FUNCTION_INFO_V1(schema_guard_baseline);
PG_FUNCTION_INFO_V1(schema_guard_check);
PG_FUNCTION_INFO_V1(schema_guard_check_json);
PG_FUNCTION_INFO_V1(schema_guard_schema_check);
PG_FUNCTION_INFO_V1(schema_guard_fix_script);
}

namespace schema_guard::pg {
namespace {

core::DiffOptions Options(bool online) {
  core::DiffOptions options;
  options.online = online;
  options.quote = Quote;
  options.can_cast = CastChecker();
  return options;
}

struct Expected {
  core::Schema schema;
  std::string source;
  std::string set_at;
};

[[noreturn]] void NoExpectedSchema() {
  throw core::Error(
      core::ErrorCode::kObjectNotInPrerequisiteState,
      "no expected schema is set",
      "schema_guard compares the live schema with an expected schema, and none "
      "has been set in this database.",
      "Set one with SELECT schema_guard.baseline(); (the live schema as it is "
      "now) "
      "or SELECT schema_guard.expect(manifest); (a manifest from CI or "
      "Django).");
}

// The patterns set with schema_guard.ignore().
void AddIgnoreRules(SpiSession& spi, core::Schema* schema) {
  QueryResult rules = spi.Query(
      "SELECT pattern, reason FROM schema_guard.ignore_rule ORDER BY pattern");
  for (std::size_t r = 0; r < rules.rows(); ++r) {
    schema->ignore.push_back({rules.Text(r, 0), rules.Text(r, 1)});
  }
}

// The manifest is read in place, from its detoasted text in the SPI
// session's memory (18 MB on a 10,000-table schema: no copy of it).
// A check holds the manifest's parse tree and two schema models: about
// this many bytes of heap per byte of manifest text (measured on the
// 10,000-table benchmark).
constexpr std::size_t kReservePerManifestByte = 12;

std::optional<Expected> LoadExpected(SpiSession& spi, HeapReserve* reserve) {
  TypedResult row = spi.QueryTyped(
      "SELECT manifest_text, coalesce(source, 'manifest'), "
      "pg_catalog.to_char(set_at, 'YYYY-MM-DD HH24:MI:SS TZ') FROM "
      "schema_guard.expected_schema",
      {CellKind::kText, CellKind::kText, CellKind::kText});
  if (row.rows() == 0) return std::nullopt;
  Expected expected;
  const Cell& manifest = row.At(0, 0);
  reserve->Fill(manifest.length * kReservePerManifestByte);
  expected.schema = core::ReadManifest(std::string_view(
      manifest.data == nullptr ? "" : manifest.data, manifest.length));
  expected.source = row.At(0, 1).Text();
  expected.set_at = row.At(0, 2).Text();
  AddIgnoreRules(spi, &expected.schema);
  return expected;
}

// The schemas a manifest covers (every user schema when it covers the
// "schemas" kind: an unexpected schema is then a finding); "public" when
// it names none.
std::vector<std::string> CoveredSchemas(SpiSession& spi,
                                        const core::Schema& schema) {
  std::set<std::string> names;
  for (const auto& s : schema.schema_infos) names.insert(s.name);
  for (const auto& t : schema.tables) names.insert(t.schema);
  for (const auto& e : schema.enums) names.insert(e.schema);
  for (const auto& t : schema.types) names.insert(t.schema);
  for (const auto& s : schema.sequences) names.insert(s.schema);
  for (const auto& f : schema.functions) names.insert(f.schema);
  for (const auto& c : schema.collations) names.insert(c.schema);
  for (const auto& x : schema.extensions) names.insert(x.schema);
  if (schema.kinds.schemas) {
    for (auto& s : UserSchemas(spi)) names.insert(std::move(s));
  }
  if (names.empty()) names.insert("public");
  return {names.begin(), names.end()};
}

struct CheckRun {
  Expected expected;
  std::vector<core::Finding> findings;
  core::Summary summary;
};

// Refuses an app filter that names no app of the expected schema and no
// app of a finding (an orphan's): such a filter would report a clean
// schema for a typo.
void RequireKnownApp(const std::string& app, const core::Schema& expected,
                     const std::vector<core::Finding>& findings) {
  std::set<std::string> apps;
  for (const auto& t : expected.tables) apps.insert(core::AppOf(t));
  for (const auto& f : findings) apps.insert(f.app);
  if (apps.count(app) != 0) return;
  std::vector<std::string> names(apps.begin(), apps.end());
  constexpr std::size_t kListed = 30;
  std::string list = fmt::format(
      "{}", fmt::join(names.begin(),
                      names.begin() + static_cast<std::ptrdiff_t>(
                                          std::min(names.size(), kListed)),
                      ", "));
  if (names.size() > kListed)
    list += fmt::format(" and {} more", names.size() - kListed);
  throw core::Error(
      core::ErrorCode::kUndefinedObject,
      fmt::format("app \"{}\" is not in the expected schema", app),
      names.empty() ? "The expected schema has no apps."
                    : fmt::format("The known apps are: {}.", list),
      "Pass one of the known apps, or NULL for every app.");
}

// The check, reported as `operation` (schema_guard.progress); it ends by
// announcing the rendering of its findings, which the caller does next.
CheckRun RunCheck(const std::optional<std::string>& app, bool online,
                  std::string operation, HeapReserve* reserve) {
  Progress progress(std::move(operation));
  SpiSession spi;
  std::optional<Expected> expected = LoadExpected(spi, reserve);
  if (!expected) {
    spi.Finish();
    NoExpectedSchema();
  }
  core::Schema actual =
      ReadCatalog(spi, CoveredSchemas(spi, expected->schema), &progress);
  spi.Finish();
  // Name the apps of live tables the way the expected schema does.
  std::unordered_map<std::string, const core::Table*> expected_by_name;
  std::vector<std::string> apps;
  for (const auto& t : expected->schema.tables) {
    expected_by_name.emplace(t.schema + "." + t.name, &t);
    if (!t.app.empty()) apps.push_back(t.app);
  }
  std::sort(apps.begin(), apps.end());
  apps.erase(std::unique(apps.begin(), apps.end()), apps.end());
  for (auto& t : actual.tables) {
    auto it = expected_by_name.find(t.schema + "." + t.name);
    t.app = it != expected_by_name.end() ? it->second->app
                                         : core::DjangoApp(t.name, apps);
    if (t.app.empty()) t.app = t.schema;
  }
  CheckRun run;
  progress.Phase("comparing");
  std::vector<core::Finding> all =
      core::Diff(expected->schema, actual, Options(online));
  core::AttributeToMigrations(MigrationChecksForSchemaCheck(), &all);
  if (app) {
    RequireKnownApp(*app, expected->schema, all);
    core::Schema scope;
    for (const auto& t : expected->schema.tables) {
      if (core::AppOf(t) == *app) scope.tables.push_back(t);
    }
    for (auto& f : all) {
      if (f.app == *app) run.findings.push_back(std::move(f));
    }
    run.summary = core::Summarize(scope, run.findings);
  } else {
    run.findings = std::move(all);
    run.summary = core::Summarize(expected->schema, run.findings);
  }
  run.expected = std::move(*expected);
  progress.Phase("rendering", "findings", -1, 1,
                 static_cast<int64_t>(run.findings.size()));
  return run;
}

core::ReportHeader Header(const CheckRun& run,
                          const std::optional<std::string>& app) {
  return {run.expected.source, run.expected.set_at, app.value_or("")};
}

core::Json FindingsJson(const CheckRun& run,
                        const std::optional<std::string>& app) {
  core::Json doc = core::Json::Object();
  doc.Set("source", core::Json::String(run.expected.source));
  doc.Set("set_at", core::Json::String(run.expected.set_at));
  doc.Set("app", app ? core::Json::String(*app) : core::Json::Null());
  core::Json summary = core::Json::Object();
  const core::Summary& s = run.summary;
  summary.Set("tables_expected",
              core::Json::Number(static_cast<long long>(s.tables_expected)));
  summary.Set("tables_present",
              core::Json::Number(static_cast<long long>(s.tables_present)));
  summary.Set("tables_missing",
              core::Json::Number(static_cast<long long>(s.tables_missing)));
  summary.Set("orphans", core::Json::Number(static_cast<long long>(s.orphans)));
  summary.Set("orphans_expected",
              core::Json::Number(static_cast<long long>(s.orphans_expected)));
  summary.Set("column_differences",
              core::Json::Number(static_cast<long long>(s.column_differences)));
  summary.Set("errors", core::Json::Number(static_cast<long long>(s.errors)));
  summary.Set("warnings",
              core::Json::Number(static_cast<long long>(s.warnings)));
  doc.Set("summary", std::move(summary));
  core::Json& list = doc.Set("findings", core::Json::Array());
  for (const auto& f : run.findings) {
    core::Json item = core::Json::Object();
    item.Set("severity",
             core::Json::String(std::string(core::SeverityName(f.severity))));
    item.Set("kind", core::Json::String(f.kind));
    item.Set("app", core::Json::String(f.app));
    item.Set("object", core::Json::String(f.object));
    item.Set("message", core::Json::String(f.message));
    item.Set("expected", f.expected.empty() ? core::Json::Null()
                                            : core::Json::String(f.expected));
    item.Set("actual", f.actual.empty() ? core::Json::Null()
                                        : core::Json::String(f.actual));
    item.Set("fix",
             f.fix.empty() ? core::Json::Null() : core::Json::String(f.fix));
    core::Json& hazards = item.Set("hazards", core::Json::Array());
    for (const auto& h : f.hazards) hazards.Push(core::Json::String(h));
    item.Set("cause", f.cause.empty() ? core::Json::Null()
                                      : core::Json::String(f.cause));
    list.Push(std::move(item));
  }
  return doc;
}

core::Schema SnapshotSchema(
    const std::optional<std::vector<std::string>>& schemas,
    Progress* progress) {
  SpiSession spi;
  std::vector<std::string> names = schemas ? *schemas : UserSchemas(spi);
  core::Schema schema = ReadCatalog(spi, names, progress);
  // Only a snapshot of every user schema says which schemas there are.
  schema.kinds.schemas = !schemas;
  QueryResult can_read = spi.Query(
      "SELECT pg_catalog.has_table_privilege('schema_guard.ignore_rule', "
      "'SELECT')");
  if (can_read.rows() == 1 && can_read.Bool(0, 0)) {
    AddIgnoreRules(spi, &schema);
  }
  spi.Finish();
  return schema;
}

int StoreExpected(const core::Schema& schema, const std::string& manifest_json,
                  const std::optional<std::string>& source,
                  const std::optional<std::string>& label) {
  SpiSession spi;
  Datum manifest = ToJsonb(manifest_json);
  std::vector<QueryArg> args{
      {JSONBOID, manifest, false},
      {TEXTOID, source ? PointerGetDatum(ToText(*source)) : Datum(0), !source},
      {TEXTOID, label ? PointerGetDatum(ToText(*label)) : Datum(0), !label},
      {INT4OID, Int32GetDatum(static_cast<int32>(schema.tables.size())), false},
  };
  spi.Query("DELETE FROM schema_guard.expected_schema", {}, false);
  spi.Query(
      "INSERT INTO schema_guard.expected_schema (manifest, source, label, "
      "tables) "
      "VALUES ($1, $2, $3, $4)",
      args, false);
  spi.Finish();
  return static_cast<int>(schema.tables.size());
}

}  // namespace
}  // namespace schema_guard::pg

namespace sg = schema_guard::pg;

namespace {

// Runs a schema-sized piece of work through the guard, then hands the C++
// memory it freed (hundreds of MB for a 10,000-table schema) back to the
// system, so that a pooled connection does not keep it after the call.
template <typename Fn>
void GuardedLarge(Fn&& fn) {
  sg::Guarded([&] {
    sg::HeapReserve reserve;
    fn(reserve);
  });
  malloc_trim(0);
}

}  // namespace

extern "C" Datum schema_guard_snapshot(PG_FUNCTION_ARGS) {
  Datum result = 0;
  GuardedLarge([&](sg::HeapReserve& reserve) {
    auto schemas = sg::OptionalTextArray(
        fcinfo, 0, "schema names",
        "Pass the schema names to snapshot, or NULL for all user schemas.");
    reserve.Fill(sg::EstimatedCatalogBytes());
    sg::Progress progress("schema snapshot");
    schema_guard::core::Schema schema = sg::SnapshotSchema(schemas, &progress);
    progress.Phase("writing the manifest");
    schema_guard::core::JsonTokens manifest;
    schema_guard::core::WriteManifest(schema, &manifest);
    result = sg::JsonTokensToJsonb(manifest);
  });
  PG_RETURN_DATUM(result);
}

extern "C" Datum schema_guard_expect(PG_FUNCTION_ARGS) {
  sg::Guarded([&] {
    sg::RequireArg(
        fcinfo, 0, "manifest",
        "Pass the output of schema_guard.snapshot() or a manifest from CI.");
  });
  Jsonb* manifest = PG_GETARG_JSONB_P(0);
  int tables = 0;
  GuardedLarge([&](sg::HeapReserve& reserve) {
    std::string text = sg::JsonbText(manifest);
    // The parse tree and one schema model, not a check's two.
    reserve.Fill(text.size() * sg::kReservePerManifestByte / 2);
    schema_guard::core::Schema schema = schema_guard::core::ReadManifest(
        std::string_view(text), sg::CheckTypeSpelling);
    tables = sg::StoreExpected(schema, text, sg::OptionalTextArg(fcinfo, 1),
                               std::nullopt);
  });
  PG_RETURN_INT32(tables);
}

extern "C" Datum schema_guard_baseline(PG_FUNCTION_ARGS) {
  int tables = 0;
  GuardedLarge([&](sg::HeapReserve& reserve) {
    std::optional<std::string> label = sg::OptionalTextArg(fcinfo, 0);
    reserve.Fill(sg::EstimatedCatalogBytes());
    sg::Progress progress("baseline");
    schema_guard::core::Schema schema =
        sg::SnapshotSchema(std::nullopt, &progress);
    progress.Phase("writing the manifest");
    std::string text = schema_guard::core::ToJsonText(
        schema_guard::core::WriteManifest(schema));
    tables = sg::StoreExpected(
        schema, text, label ? "baseline " + *label : std::string("baseline"),
        label);
  });
  PG_RETURN_INT32(tables);
}

extern "C" Datum schema_guard_check(PG_FUNCTION_ARGS) {
  GuardedLarge([&](sg::HeapReserve& reserve) {
    sg::CheckRun run = sg::RunCheck(sg::OptionalTextArg(fcinfo, 0), true,
                                    "schema check", &reserve);
    sg::EmitFindings(fcinfo, run.findings);
  });
  return Datum(0);
}

extern "C" Datum schema_guard_check_json(PG_FUNCTION_ARGS) {
  Datum result = 0;
  GuardedLarge([&](sg::HeapReserve& reserve) {
    std::optional<std::string> app = sg::OptionalTextArg(fcinfo, 0);
    sg::CheckRun run = sg::RunCheck(app, true, "schema check", &reserve);
    result = sg::JsonToJsonb(sg::FindingsJson(run, app));
  });
  PG_RETURN_DATUM(result);
}

extern "C" Datum schema_guard_schema_check(PG_FUNCTION_ARGS) {
  text* result = nullptr;
  GuardedLarge([&](sg::HeapReserve& reserve) {
    std::optional<std::string> app = sg::OptionalTextArg(fcinfo, 0);
    bool verbose = !PG_ARGISNULL(1) && PG_GETARG_BOOL(1);
    std::string report;
    try {
      sg::CheckRun run = sg::RunCheck(app, true, "schema check", &reserve);
      report = schema_guard::core::RenderSchemaReport(
          run.findings, run.summary, sg::Header(run, app),
          verbose ? &run.expected.schema : nullptr);
    } catch (const schema_guard::core::Error& e) {
      if (e.code() !=
          schema_guard::core::ErrorCode::kObjectNotInPrerequisiteState)
        throw;
      report = fmt::format("schema_guard: {}.\n{}\n{}\n", e.message(),
                           e.detail(), e.hint());
    }
    result = sg::ToText(report);
  });
  PG_RETURN_TEXT_P(result);
}

extern "C" Datum schema_guard_fix_script(PG_FUNCTION_ARGS) {
  text* result = nullptr;
  GuardedLarge([&](sg::HeapReserve& reserve) {
    std::optional<std::string> app = sg::OptionalTextArg(fcinfo, 0);
    bool online = PG_ARGISNULL(1) || PG_GETARG_BOOL(1);
    bool include_drops = !PG_ARGISNULL(2) && PG_GETARG_BOOL(2);
    sg::CheckRun run = sg::RunCheck(app, online, "fix script", &reserve);
    result = sg::ToText(schema_guard::core::RenderFixScript(
        run.findings, sg::Header(run, app), online, include_drops));
  });
  PG_RETURN_TEXT_P(result);
}
