// SQL functions of the migration check: declare_migrations,
// migration_check (findings and the psql report), migration_plan and
// migration_reconcile. This file reads the declared graphs, the history
// tables, the audit's record of history writes and the live catalog; the
// checks themselves are core::CheckMigrations.
#include <fmt/format.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/json.hpp"
#include "core/migration.hpp"
#include "core/migration_check.hpp"
#include "core/migration_graph.hpp"
#include "pg/bridge.hpp"
#include "pg/migration_checks.hpp"
#include "pg/datum.hpp"
#include "pg/heap_reserve.hpp"
#include "pg/migration_reads.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "catalog/namespace.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

PG_FUNCTION_INFO_V1(schema_guard_declare_migrations);
PG_FUNCTION_INFO_V1(schema_guard_migration_check);
PG_FUNCTION_INFO_V1(schema_guard_migration_check_report);
PG_FUNCTION_INFO_V1(schema_guard_migration_plan);
PG_FUNCTION_INFO_V1(schema_guard_migration_reconcile);
}

namespace schema_guard::pg {
namespace {

using core::Framework;

constexpr Framework kAllFrameworks[] = {Framework::kDjango, Framework::kFlyway,
                                        Framework::kAlembic, Framework::kRails,
                                        Framework::kLiquibase};

Datum TextDatum(std::string_view value) {
  return PointerGetDatum(ToText(value));
}

// The app history rows of a single-app framework get: the declared one.
std::string RowApp(Framework framework, const core::MigrationGraph* graph) {
  if (graph != nullptr && !graph->migrations.empty())
    return graph->migrations.front().key.app;
  return std::string(core::FrameworkName(framework));
}

// Declared graphs, kept for the life of the backend and keyed by the row
// version they were read from (xmin and ctid change with every update), so
// a repeated check does not read the same graph again. A session's first
// check loads the binary form declare_migrations() stored (no JSON to
// parse); a graph declared before that form existed is parsed from its
// text.
struct CachedGraph {
  std::string version;
  std::shared_ptr<const core::MigrationGraph> graph;
};

std::map<std::string, CachedGraph>& GraphCache() {
  static std::map<std::string, CachedGraph> cache;
  return cache;
}

// Whether schema_guard.migration_graph has the column graph_digest (0.2.0;
// a 0.1.0 database not updated yet parses graph_text every session).
bool GraphsHaveDigest() {
  bool has = false;
  PgTry([&]() noexcept {
    Oid nsp = get_namespace_oid("schema_guard", true);
    Oid relid = OidIsValid(nsp) ? get_relname_relid("migration_graph", nsp)
                                : InvalidOid;
    has = OidIsValid(relid) &&
          get_attnum(relid, "graph_digest") != InvalidAttrNumber;
  });
  return has;
}

std::vector<std::pair<Framework, std::shared_ptr<const core::MigrationGraph>>>
DeclaredGraphs(SpiSession& spi, std::optional<Framework> only,
               HeapReserve* reserve) {
  std::map<std::string, CachedGraph>& cache = GraphCache();
  std::vector<std::string> known;
  known.reserve(cache.size());
  for (const auto& [framework, cached] : cache) known.push_back(cached.version);
  // A digest decoded, and checked against the history, takes about this
  // many bytes of fresh heap per byte (10,000 migrations: 1.5 MB of
  // digest); a session's later calls reuse the decoded graph.
  constexpr std::size_t kReservePerDigestByte = 14;
  const bool has_digest = GraphsHaveDigest();
  if (reserve != nullptr && cache.empty() && has_digest) {
    // A session's first call: the reserve is made before the digests are
    // read, so that they are detoasted into it too. The lengths come from
    // the TOAST pointers, without reading the values.
    TypedResult sizes = spi.QueryTyped(
        "SELECT pg_catalog.sum(pg_catalog.length(graph_digest))::pg_catalog."
        "int8 FROM schema_guard.migration_graph",
        {CellKind::kInt64});
    if (sizes.rows() == 1 && !sizes.At(0, 0).is_null &&
        sizes.At(0, 0).number > 0)
      reserve->Fill(static_cast<std::size_t>(sizes.At(0, 0).number) *
                    kReservePerDigestByte);
  }
  TypedResult r = spi.QueryTyped(
      has_digest
          ? "SELECT framework, version, CASE WHEN version "
            "OPERATOR(pg_catalog.=) ANY ($1) THEN NULL ELSE graph_digest END, "
            "CASE WHEN version OPERATOR(pg_catalog.=) ANY ($1) OR "
            "graph_digest IS NOT NULL THEN NULL ELSE graph_text END FROM "
            "(SELECT framework, xmin::text OPERATOR(pg_catalog.||) '/' "
            "OPERATOR(pg_catalog.||) ctid::text AS version, graph_digest, "
            "graph_text FROM schema_guard.migration_graph) g"
          : "SELECT framework, version, NULL::pg_catalog.text, CASE WHEN "
            "version OPERATOR(pg_catalog.=) ANY ($1) THEN NULL ELSE "
            "graph_text END FROM (SELECT framework, xmin::text "
            "OPERATOR(pg_catalog.||) '/' OPERATOR(pg_catalog.||) ctid::text "
            "AS version, graph_text FROM schema_guard.migration_graph) g",
      {CellKind::kText, CellKind::kText, CellKind::kText, CellKind::kText},
      {{TEXTARRAYOID, TextArrayDatum(known), false}});
  std::vector<std::pair<Framework, std::shared_ptr<const core::MigrationGraph>>>
      graphs;
  std::map<std::string, CachedGraph> fresh;
  // A graph declared again since this session's last call.
  std::size_t digests = 0;
  for (std::size_t i = 0; i < r.rows(); ++i) digests += r.At(i, 2).length;
  if (reserve != nullptr) reserve->Fill(digests * kReservePerDigestByte);
  for (std::size_t i = 0; i < r.rows(); ++i) {
    std::string name = r.At(i, 0).Text();
    CachedGraph entry;
    entry.version = r.At(i, 1).Text();
    const Cell& digest = r.At(i, 2);
    const Cell& text = r.At(i, 3);
    auto it = cache.find(name);
    if (!digest.is_null) {
      entry.graph = std::make_shared<const core::MigrationGraph>(
          core::DecodeMigrationGraph(
              std::string_view(digest.data, digest.length)));
    } else if (!text.is_null) {
      entry.graph =
          std::make_shared<const core::MigrationGraph>(core::ReadMigrationGraph(
              core::ParseJson(std::string_view(text.data, text.length))));
    } else if (it != cache.end() && it->second.version == entry.version) {
      entry.graph = it->second.graph;
    } else {
      throw core::Error(core::ErrorCode::kInternal,
                        "cached migration graph went missing");
    }
    Framework fw = core::ParseFramework(name);
    if (!only || fw == *only) graphs.emplace_back(fw, entry.graph);
    fresh.emplace(std::move(name), std::move(entry));
  }
  cache = std::move(fresh);
  return graphs;
}

// Every framework that has a declared graph or a history table, or only
// the one asked for.
std::vector<core::MigrationCheck> RunChecks(
    const std::optional<std::string>& framework_name,
    std::optional<std::string_view> plan_app = std::nullopt) {
  std::optional<Framework> only;
  if (framework_name) only = core::ParseFramework(*framework_name);
  SpiSession spi;
  HeapReserve reserve;
  std::vector<std::pair<Framework, std::shared_ptr<const core::MigrationGraph>>>
      graphs = DeclaredGraphs(spi, only, &reserve);
  bool audit = CanReadAudit();
  std::map<std::string, std::string> watched = WatchedHistoryTables();
  std::vector<core::MigrationCheck> checks;
  for (Framework fw : kAllFrameworks) {
    if (only && fw != *only) continue;
    const core::MigrationGraph* graph = nullptr;
    for (const auto& [g_fw, g] : graphs) {
      if (g_fw == fw) graph = g.get();
    }
    std::string table = FindHistoryTable(
        fw, graph ? graph->history_table : std::string(), watched);
    if (graph == nullptr && table.empty()) continue;  // nothing to check
    core::History history =
        ReadHistory(spi, fw, table, RowApp(fw, graph), audit, graph);
    core::LiveObjects live =
        graph ? ReadLiveObjects(*graph) : core::LiveObjects{};
    checks.push_back(
        core::CheckMigrations(fw, graph, std::move(history), live, plan_app));
  }
  spi.Finish();
  return checks;
}

int StoreGraph(const core::MigrationGraph& graph, Jsonb* document,
               const std::string& document_text) {
  std::string digest = core::EncodeMigrationGraph(graph);
  SpiSession spi;
  std::vector<QueryArg> args{
      {TEXTOID, TextDatum(core::FrameworkName(graph.framework)), false},
      {JSONBOID, PointerGetDatum(document), false},
      {INT4OID, Int32GetDatum(static_cast<int32>(graph.migrations.size())),
       false},
      {TEXTOID, TextDatum(document_text), false},
      {BYTEAOID, PointerGetDatum(ToBytea(digest)), false}};
  if (!GraphsHaveDigest()) args.pop_back();
  spi.Query(
      !GraphsHaveDigest()
          ? "INSERT INTO schema_guard.migration_graph (framework, graph, "
            "migrations, graph_text) VALUES ($1, $2, $3, $4) ON CONFLICT "
            "(framework) DO UPDATE SET graph = EXCLUDED.graph, graph_text = "
            "EXCLUDED.graph_text, migrations = EXCLUDED.migrations, "
            "declared_at = EXCLUDED.declared_at, declared_by = "
            "EXCLUDED.declared_by"
          : "INSERT INTO schema_guard.migration_graph (framework, graph, "
            "migrations, graph_text, graph_digest) VALUES ($1, $2, $3, $4, $5) "
            "ON CONFLICT (framework) DO UPDATE SET graph = EXCLUDED.graph, "
            "graph_text = EXCLUDED.graph_text, "
            "graph_digest = EXCLUDED.graph_digest, "
            "migrations = EXCLUDED.migrations, declared_at = "
            "EXCLUDED.declared_at, declared_by = EXCLUDED.declared_by",
      args, false);
  spi.Finish();
  return static_cast<int>(graph.migrations.size());
}

}  // namespace

std::vector<core::MigrationCheck> MigrationChecksForSchemaCheck() {
  std::vector<core::MigrationCheck> checks;
  try {
    InRolledBackSubtransaction([&] {
      SpiSession spi;
      bool declared = !DeclaredGraphs(spi, std::nullopt, nullptr).empty();
      spi.Finish();
      if (declared) checks = RunChecks(std::nullopt);
    });
  } catch (const PgError&) {
    checks.clear();  // no privilege on a history table or the graphs
  }
  return checks;
}

}  // namespace schema_guard::pg

namespace sg = schema_guard::pg;
namespace core = schema_guard::core;

extern "C" Datum schema_guard_declare_migrations(PG_FUNCTION_ARGS) {
  sg::Guarded([&] {
    sg::RequireArg(fcinfo, 0, "graph",
                   "Pass a document with \"format\": "
                   "\"schema_guard.migrations/1\".");
  });
  Jsonb* graph = PG_GETARG_JSONB_P(0);
  auto size = static_cast<std::size_t>(VARSIZE(graph));
  int count = 0;
  sg::Guarded([&] {
    if (size > core::kMaxMigrationGraphBytes) {
      throw core::Error(
          core::ErrorCode::kProgramLimitExceeded,
          "migration graph is too large",
          fmt::format("The graph takes {} bytes; at most {} are accepted.",
                      size, core::kMaxMigrationGraphBytes),
          "Leave out what the check does not use (descriptions, operations), "
          "or squash old migrations.");
    }
    std::string text = sg::JsonbText(graph);
    core::MigrationGraph parsed =
        core::ReadMigrationGraph(core::ParseJson(text));
    // A history table name PostgreSQL cannot parse is refused now, not at
    // every check.
    if (!parsed.history_table.empty()) {
      try {
        sg::ResolveRelation(parsed.history_table);
      } catch (const sg::PgError& e) {
        throw sg::PgError(
            e.sqlerrcode(), e.message(),
            fmt::format("The graph's \"history_table\" is \"{}\".",
                        parsed.history_table),
            "Write the table name as in SQL, schema-qualified if needed, "
            "such as public.django_migrations.",
            e.context());
      }
    }
    count = sg::StoreGraph(parsed, graph, text);
  });
  PG_RETURN_INT32(count);
}

extern "C" Datum schema_guard_migration_check(PG_FUNCTION_ARGS) {
  sg::Guarded([&] {
    std::vector<core::MigrationCheck> checks =
        sg::RunChecks(sg::OptionalTextArg(fcinfo, 0));
    std::vector<core::Finding> findings;
    for (auto& c : checks) {
      for (auto& f : c.findings) findings.push_back(std::move(f));
    }
    sg::EmitFindings(fcinfo, findings);
  });
  return Datum(0);
}

extern "C" Datum schema_guard_migration_check_report(PG_FUNCTION_ARGS) {
  text* result = nullptr;
  sg::Guarded([&] {
    result = sg::ToText(core::RenderMigrationReport(
        sg::RunChecks(sg::OptionalTextArg(fcinfo, 0))));
  });
  PG_RETURN_TEXT_P(result);
}

extern "C" Datum schema_guard_migration_plan(PG_FUNCTION_ARGS) {
  sg::Guarded([&] {
    std::optional<std::string> app = sg::OptionalTextArg(fcinfo, 0);
    std::vector<core::MigrationCheck> checks =
        sg::RunChecks(std::nullopt, app ? std::optional<std::string_view>(*app)
                                        : std::nullopt);
    ReturnSetInfo* rsinfo = sg::BeginMaterializedSet(fcinfo);
    for (const auto& check : checks) {
      for (std::size_t s = 0; s < check.plan.size(); ++s) {
        const core::MigrationKey& key = check.plan[s].key;
        Datum values[4] = {Int32GetDatum(static_cast<int32>(s + 1)),
                           sg::TextDatum(core::FrameworkName(check.framework)),
                           sg::TextDatum(key.app), sg::TextDatum(key.name)};
        bool nulls[4] = {false, false, false, false};
        sg::PutRow(rsinfo, values, nulls);
      }
    }
  });
  return Datum(0);
}

extern "C" Datum schema_guard_migration_reconcile(PG_FUNCTION_ARGS) {
  sg::Guarded([&] {
    std::vector<core::MigrationCheck> checks = sg::RunChecks(std::nullopt);
    ReturnSetInfo* rsinfo = sg::BeginMaterializedSet(fcinfo);
    for (const auto& check : checks) {
      for (const auto& row : check.reconcile) {
        Datum values[6] = {sg::TextDatum(core::FrameworkName(check.framework)),
                           sg::TextDatum(row.key.app),
                           sg::TextDatum(row.key.name),
                           sg::TextDatum(core::ReconcileStatusName(row.status)),
                           sg::TextArrayDatum(row.present),
                           sg::TextArrayDatum(row.missing)};
        bool nulls[6] = {false, false, false, false, false, false};
        sg::PutRow(rsinfo, values, nulls);
      }
    }
  });
  return Datum(0);
}
