// SQL functions of the migration check: declare_migrations,
// migration_check (findings and the psql report), migration_plan and
// migration_reconcile. This file reads the declared graphs, the history
// tables, the audit's record of history writes and the live catalog; the
// checks themselves are core::CheckMigrations.
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/json.hpp"
#include "core/migration.hpp"
#include "core/migration_graph.hpp"
#include "pg/bridge.hpp"
#include "pg/catalog_scan.hpp"
#include "pg/datum.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "nodes/pg_list.h"
#include "utils/regproc.h"
#include "funcapi.h"
#include "utils/builtins.h"
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

// The relation a (possibly qualified) name refers to, through search_path
// like to_regclass(), as a quoted qualified name; empty when there is none.
std::string ResolveRelation(const std::string& name) {
  const char* text = name.c_str();
  const char* qualified = nullptr;
  PgTry([&]() noexcept {
#if PG_VERSION_NUM >= 160000
    List* names = stringToQualifiedNameList(text, nullptr);
#else
    List* names = stringToQualifiedNameList(text);
#endif
    Oid relid = RangeVarGetRelid(makeRangeVarFromNameList(names), NoLock, true);
    if (OidIsValid(relid)) {
      char* schema = get_namespace_name(get_rel_namespace(relid));
      char* relname = get_rel_name(relid);
      if (schema != nullptr && relname != nullptr)
        qualified = quote_qualified_identifier(schema, relname);
    }
  });
  return qualified == nullptr ? std::string() : std::string(qualified);
}

// Watched history tables by framework (schema_guard.history_tables), for
// those not found under their default name.
std::map<std::string, std::string> WatchedHistoryTables(SpiSession& spi) {
  QueryResult r = spi.Query(
      "SELECT h.framework, pg_catalog.min(pg_catalog.format('%I.%I', "
      "n.nspname, c.relname)) FROM schema_guard.history_tables h "
      "JOIN pg_catalog.pg_class c ON c.oid = h.history_table "
      "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
      "GROUP BY h.framework");
  std::map<std::string, std::string> watched;
  for (std::size_t i = 0; i < r.rows(); ++i)
    watched.emplace(r.Text(i, 0), r.Text(i, 1));
  return watched;
}

// The history table of a framework, schema-qualified and quoted: the one the
// graph names, else the default name through search_path, else a watched
// history table of that framework. Empty when there is none.
std::string FindHistoryTable(
    Framework framework, const std::string& named,
    const std::map<std::string, std::string>& watched) {
  if (!named.empty()) return ResolveRelation(named);
  std::string table =
      ResolveRelation(std::string(core::HistoryTableName(framework)));
  if (!table.empty()) return table;
  auto it = watched.find(std::string(core::FrameworkName(framework)));
  return it == watched.end() ? std::string() : it->second;
}

bool CanReadAudit(SpiSession& spi) {
  QueryResult r = spi.Query(
      "SELECT pg_catalog.has_table_privilege('schema_guard.migration_event', "
      "'SELECT')");
  return r.rows() == 1 && r.Bool(0, 0);
}

// The labels whose last history INSERT the audit saw with no DDL credited
// to it (migrate --fake and kin). Few rows qualify, and only they are
// looked up again (migration_event_migration_idx); nothing is joined to the
// history table.
std::unordered_set<std::string> LabelsWrittenWithoutDdl(SpiSession& spi,
                                                        Framework framework) {
  QueryResult r = spi.Query(
      "SELECT e.migration FROM schema_guard.migration_event e "
      "WHERE e.ddl_events = 0 AND e.operation = 'INSERT' AND e.framework = $1 "
      "AND e.event_id = (SELECT pg_catalog.max(l.event_id) FROM "
      "schema_guard.migration_event l WHERE l.migration = e.migration AND "
      "l.operation = 'INSERT' AND l.framework = e.framework)",
      {{TEXTOID, TextDatum(core::FrameworkName(framework)), false}});
  std::unordered_set<std::string> labels;
  for (std::size_t i = 0; i < r.rows(); ++i) labels.insert(r.Text(i, 0));
  return labels;
}

std::optional<long long> OptionalNumber(const QueryResult& r, std::size_t row,
                                        std::size_t column) {
  const char* cell = r.Get(row, column);
  if (cell == nullptr) return std::nullopt;
  return std::stoll(cell);
}

std::optional<std::string> OptionalText(const QueryResult& r, std::size_t row,
                                        std::size_t column) {
  const char* cell = r.Get(row, column);
  if (cell == nullptr) return std::nullopt;
  return std::string(cell);
}

// A history row's time (microseconds since 1970, UTC) as sortable text.
std::string AppliedAt(const QueryResult& r, std::size_t row,
                      std::size_t column) {
  const char* cell = r.Get(row, column);
  if (cell == nullptr) return {};
  return core::TimestampText(std::strtoll(cell, nullptr, 10));
}

core::History ReadHistory(SpiSession& spi, Framework framework,
                          const std::string& table, const std::string& app,
                          bool audit) {
  core::History history;
  history.table = table;
  history.present = !table.empty();
  if (!history.present) return history;
  std::unordered_set<std::string> faked;
  if (audit) faked = LabelsWrittenWithoutDdl(spi, framework);
  if (framework == Framework::kDjango) {
    // The big one: read without output functions.
    std::string sql = fmt::format(
        "SELECT h.app::text, h.name::text, (pg_catalog.date_part('epoch', "
        "h.applied) * 1000000)::int8 FROM {} h ORDER BY h.id",
        table);
    TypedResult r = spi.QueryTyped(
        sql.c_str(), {CellKind::kText, CellKind::kText, CellKind::kInt64});
    history.rows.reserve(r.rows());
    std::string label;
    for (std::size_t i = 0; i < r.rows(); ++i) {
      core::AppliedMigration row;
      row.key.app = r.At(i, 0).Text();
      row.key.name = r.At(i, 1).Text();
      row.rank = static_cast<long long>(i) + 1;
      if (!r.At(i, 2).is_null)
        row.applied_at = core::TimestampText(r.At(i, 2).number);
      if (!faked.empty()) {
        label = row.key.app + "." + row.key.name;
        if (faked.count(label) != 0) row.audit_saw_ddl = false;
      }
      history.rows.push_back(std::move(row));
    }
    return history;
  }
  std::string sql;
  switch (framework) {
    case Framework::kDjango:
      sql = fmt::format(
          "SELECT h.app, h.name, (pg_catalog.date_part('epoch', h.applied) * "
          "1000000)::int8 FROM {} h ORDER BY h.id",
          table);
      break;
    case Framework::kFlyway:
      sql = fmt::format(
          "SELECT h.version, h.description, h.type, h.checksum::text, "
          "h.success, h.installed_rank, (pg_catalog.date_part('epoch', "
          "h.installed_on) * 1000000)::int8 "
          "FROM {} h ORDER BY h.installed_rank",
          table);
      break;
    case Framework::kAlembic:
      sql = fmt::format("SELECT h.version_num FROM {} h ORDER BY h.version_num",
                        table);
      break;
    case Framework::kRails:
      sql = fmt::format("SELECT h.version FROM {} h ORDER BY h.version", table);
      break;
    case Framework::kLiquibase:
      sql = fmt::format(
          "SELECT h.id, h.author, h.filename, h.exectype, h.md5sum, "
          "h.orderexecuted, (pg_catalog.date_part('epoch', h.dateexecuted) * "
          "1000000)::int8 "
          "FROM {} h ORDER BY h.orderexecuted",
          table);
      break;
  }
  QueryResult r = spi.Query(sql.c_str());
  history.rows.reserve(r.rows());
  for (std::size_t i = 0; i < r.rows(); ++i) {
    core::AppliedMigration row;
    row.key.app = app;
    row.rank = static_cast<long long>(i) + 1;
    switch (framework) {
      case Framework::kDjango:
        row.key.app = r.Text(i, 0);
        row.key.name = r.Text(i, 1);
        row.applied_at = AppliedAt(r, i, 2);
        break;
      case Framework::kFlyway: {
        std::string type = r.Text(i, 2);
        if (r.Get(i, 0) == nullptr) {
          // A repeatable migration: identified by its description.
          row.key.name = "R:" + r.Text(i, 1);
          row.state = core::HistoryState::kIgnored;
        } else {
          row.key.name = core::CanonicalVersion(r.Text(i, 0));
        }
        row.checksum = OptionalText(r, i, 3);
        if (type == "BASELINE" || type == "JDBC_BASELINE") {
          row.state = core::HistoryState::kBaseline;
        } else if (type == "DELETE" || type == "UNDO_SQL" ||
                   type == "UNDO_JDBC" || type == "SCHEMA") {
          row.state = core::HistoryState::kIgnored;
        }
        if (!r.Bool(i, 4)) row.state = core::HistoryState::kFailed;
        row.rank = OptionalNumber(r, i, 5).value_or(row.rank);
        row.applied_at = AppliedAt(r, i, 6);
        break;
      }
      case Framework::kAlembic:  // version_num
      case Framework::kRails:    // version
        row.key.name = r.Text(i, 0);
        break;
      case Framework::kLiquibase: {
        row.key.name =
            fmt::format("{}::{}::{}", r.Text(i, 0), r.Text(i, 1), r.Text(i, 2));
        std::string exectype = r.Text(i, 3);
        if (exectype == "FAILED") {
          row.state = core::HistoryState::kFailed;
        } else if (exectype == "MARK_RAN") {
          row.state = core::HistoryState::kMarkedRan;
        } else if (exectype == "SKIPPED") {
          row.state = core::HistoryState::kIgnored;
        }
        row.checksum = OptionalText(r, i, 4);
        row.rank = OptionalNumber(r, i, 5).value_or(row.rank);
        row.applied_at = AppliedAt(r, i, 6);
        break;
      }
    }
    if (!faked.empty()) {
      // The history table's first columns are the label's (HistoryColumns).
      std::vector<std::optional<std::string>> values;
      for (std::size_t c = 0; c < core::HistoryColumns(framework).size(); ++c)
        values.push_back(OptionalText(r, i, c));
      std::optional<std::string> label =
          core::HistoryRowLabel(framework, values);
      if (label && faked.count(*label) != 0) row.audit_saw_ddl = false;
    }
    history.rows.push_back(std::move(row));
  }
  return history;
}

// One relation of pg_class, copied out of the catalog scan.
struct CatalogRelation {
  Oid relation_oid;
  Oid namespace_oid;
  NameData name;
};

// The relations (tables, views, materialized views, foreign tables) that
// the names can refer to: "table" in a schema of search_path, or
// "schema.table". One scan of pg_class, without SPI: a graph names
// thousands of tables, and their existence is all that is asked.
// name -> (its schema's place in search_path, the relation).
using RelationsByName =
    std::unordered_map<std::string, std::pair<std::size_t, Oid>>;

RelationsByName ExistingRelations(
    const std::vector<const std::vector<std::string>*>& name_lists) {
  List* search_path = nullptr;
  PgTry([&]() noexcept { search_path = fetch_search_path(true); });
  std::vector<Oid> path_oids;
  ListCell* cell = nullptr;
  foreach (cell, search_path) path_oids.push_back(lfirst_oid(cell));
  std::map<Oid, std::string> named;  // schemas named as "schema.table"
  for (const auto* names : name_lists) {
    for (const auto& name : *names) {
      auto dot = name.find('.');
      if (dot == std::string::npos) continue;
      std::string schema = name.substr(0, dot);
      const char* schema_name = schema.c_str();
      Oid oid = InvalidOid;
      PgTry([&]() noexcept { oid = get_namespace_oid(schema_name, true); });
      if (oid != InvalidOid) named.emplace(oid, schema);
    }
  }
  std::vector<Oid> wanted = path_oids;
  for (const auto& entry : named) wanted.push_back(entry.first);
  const Oid* wanted_oids = wanted.data();
  const std::size_t wanted_count = wanted.size();
  CatalogRelation* relations = nullptr;
  int count = 0;
  PgTry([&]() noexcept {
    int capacity = 0;
    ScanCatalog(RelationRelationId, [&](HeapTuple tuple, TupleDesc) {
      auto* form = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
      char kind = form->relkind;
      if (kind != RELKIND_RELATION && kind != RELKIND_PARTITIONED_TABLE &&
          kind != RELKIND_VIEW && kind != RELKIND_MATVIEW &&
          kind != RELKIND_FOREIGN_TABLE) {
        return;
      }
      bool wanted_namespace = false;
      for (std::size_t k = 0; k < wanted_count && !wanted_namespace; ++k) {
        wanted_namespace = wanted_oids[k] == form->relnamespace;
      }
      if (!wanted_namespace) return;
      relations = Grow(relations, count, &capacity);
      relations[count].relation_oid = form->oid;
      relations[count].namespace_oid = form->relnamespace;
      relations[count].name = form->relname;
      ++count;
    });
  });
  // Unqualified names resolve to the first schema of search_path that has
  // the relation, as to_regclass() does.
  RelationsByName found;
  found.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    const CatalogRelation& r = relations[i];
    std::string relname(NameStr(r.name));
    auto schema = named.find(r.namespace_oid);
    if (schema != named.end()) {
      found[schema->second + "." + relname] = {0, r.relation_oid};
    }
    auto pos = std::find(path_oids.begin(), path_oids.end(), r.namespace_oid);
    if (pos == path_oids.end()) continue;
    std::size_t rank = static_cast<std::size_t>(pos - path_oids.begin());
    auto [it, inserted] =
        found.emplace(std::move(relname), std::make_pair(rank, r.relation_oid));
    if (!inserted && rank < it->second.first) {
      it->second = {rank, r.relation_oid};
    }
  }
  return found;
}

// Which of the tables and columns the graph declares exist now.
core::LiveObjects ReadLiveObjects(const core::MigrationGraph& graph) {
  std::vector<std::string> tables, column_tables, columns;
  for (const auto& m : graph.migrations) {
    tables.insert(tables.end(), m.creates_tables.begin(),
                  m.creates_tables.end());
    for (const auto& [t, c] : m.creates_columns) {
      column_tables.push_back(t);
      columns.push_back(c);
    }
  }
  core::LiveObjects live;
  if (tables.empty() && columns.empty()) return live;
  RelationsByName existing = ExistingRelations({&tables, &column_tables});
  for (const auto& t : tables) {
    if (existing.count(t) != 0) live.tables.insert(t);
  }
  // Columns through the attribute cache of the relation they name.
  for (std::size_t k = 0; k < columns.size(); ++k) {
    auto relation = existing.find(column_tables[k]);
    if (relation == existing.end()) continue;
    Oid relid = relation->second.second;
    const char* column = columns[k].c_str();
    AttrNumber attnum = InvalidAttrNumber;
    PgTry([&]() noexcept { attnum = get_attnum(relid, column); });
    if (attnum > 0) live.columns.emplace(column_tables[k], columns[k]);
  }
  return live;
}

// The app history rows of a single-app framework get: the declared one.
std::string RowApp(Framework framework, const core::MigrationGraph* graph) {
  if (graph != nullptr && !graph->migrations.empty())
    return graph->migrations.front().key.app;
  return std::string(core::FrameworkName(framework));
}

// Parsed graphs, kept for the life of the backend and keyed by the row
// version they were read from (xmin and ctid change with every update), so
// a repeated check does not read and parse the same document again.
struct CachedGraph {
  std::string version;
  std::shared_ptr<const core::MigrationGraph> graph;
};

std::map<std::string, CachedGraph>& GraphCache() {
  static std::map<std::string, CachedGraph> cache;
  return cache;
}

std::vector<std::pair<Framework, std::shared_ptr<const core::MigrationGraph>>>
DeclaredGraphs(SpiSession& spi, std::optional<Framework> only) {
  std::map<std::string, CachedGraph>& cache = GraphCache();
  std::vector<std::string> known;
  known.reserve(cache.size());
  for (const auto& [framework, cached] : cache) known.push_back(cached.version);
  QueryResult r = spi.Query(
      "SELECT framework, version, CASE WHEN version = ANY ($1) THEN NULL "
      "ELSE graph_text END FROM (SELECT framework, xmin::text || '/' || "
      "ctid::text AS version, graph_text FROM schema_guard.migration_graph) g",
      {{TEXTARRAYOID, TextArrayDatum(known), false}});
  std::vector<std::pair<Framework, std::shared_ptr<const core::MigrationGraph>>>
      graphs;
  std::map<std::string, CachedGraph> fresh;
  for (std::size_t i = 0; i < r.rows(); ++i) {
    std::string name = r.Text(i, 0);
    CachedGraph entry;
    entry.version = r.Text(i, 1);
    auto it = cache.find(name);
    if (r.Get(i, 2) == nullptr && it != cache.end() &&
        it->second.version == entry.version) {
      entry.graph = it->second.graph;
    } else if (r.Get(i, 2) != nullptr) {
      entry.graph = std::make_shared<const core::MigrationGraph>(
          core::ReadMigrationGraph(core::ParseJson(r.Get(i, 2))));
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
    const std::optional<std::string>& framework_name) {
  std::optional<Framework> only;
  if (framework_name) only = core::ParseFramework(*framework_name);
  SpiSession spi;
  std::vector<std::pair<Framework, std::shared_ptr<const core::MigrationGraph>>>
      graphs = DeclaredGraphs(spi, only);
  bool audit = CanReadAudit(spi);
  std::map<std::string, std::string> watched = WatchedHistoryTables(spi);
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
        ReadHistory(spi, fw, table, RowApp(fw, graph), audit);
    core::LiveObjects live =
        graph ? ReadLiveObjects(*graph) : core::LiveObjects{};
    checks.push_back(
        core::CheckMigrations(fw, graph, std::move(history), live));
  }
  spi.Finish();
  return checks;
}

int StoreGraph(const core::MigrationGraph& graph, Jsonb* document,
               const std::string& document_text) {
  SpiSession spi;
  std::vector<QueryArg> args{
      {TEXTOID, TextDatum(core::FrameworkName(graph.framework)), false},
      {JSONBOID, PointerGetDatum(document), false},
      {INT4OID, Int32GetDatum(static_cast<int32>(graph.migrations.size())),
       false},
      {TEXTOID, TextDatum(document_text), false}};
  spi.Query(
      "INSERT INTO schema_guard.migration_graph (framework, graph, "
      "migrations, graph_text) VALUES ($1, $2, $3, $4) "
      "ON CONFLICT (framework) DO UPDATE SET graph = EXCLUDED.graph, "
      "graph_text = EXCLUDED.graph_text, "
      "migrations = EXCLUDED.migrations, declared_at = "
      "EXCLUDED.declared_at, declared_by = EXCLUDED.declared_by",
      args, false);
  spi.Finish();
  return static_cast<int>(graph.migrations.size());
}

}  // namespace
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
    std::vector<core::MigrationCheck> checks = sg::RunChecks(std::nullopt);
    ReturnSetInfo* rsinfo = sg::BeginMaterializedSet(fcinfo);
    for (const auto& check : checks) {
      std::vector<std::size_t> steps;
      if (app) {
        steps = core::PlanForApp(check, *app);
      } else {
        for (std::size_t k = 0; k < check.plan.size(); ++k) steps.push_back(k);
      }
      for (std::size_t s = 0; s < steps.size(); ++s) {
        const core::MigrationKey& key = check.plan[steps[s]].key;
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
