#include "pg/migration_reads.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "pg/bridge.hpp"
#include "pg/catalog_scan.hpp"
#include "pg/datum.hpp"
#include "pg/django_history.hpp"

extern "C" {
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/varlena.h"
}

namespace schema_guard::pg {

using core::Framework;

namespace {

Datum TextDatum(std::string_view value) {
  return PointerGetDatum(ToText(value));
}

}  // namespace

// The relation a (possibly qualified) name refers to, through search_path
// like to_regclass(), as a quoted qualified name; empty when there is none.
std::string ResolveRelation(const std::string& name) {
  const char* text = name.c_str();
  const char* qualified = nullptr;
  PgTry([&]() noexcept {
    Oid relid = RelationByName(text, NoLock);
    if (OidIsValid(relid)) {
      char* schema = get_namespace_name(get_rel_namespace(relid));
      char* relname = get_rel_name(relid);
      if (schema != nullptr && relname != nullptr)
        qualified = quote_qualified_identifier(schema, relname);
    }
  });
  return qualified == nullptr ? std::string() : std::string(qualified);
}

namespace {

struct WatchedTable {
  char* framework;  // the trigger's first argument
  char* table;      // quoted, qualified
};

// The first trigger argument (the framework) of a history_row() trigger,
// palloc'd. Runs inside PgTry.
char* FirstTriggerArg(HeapTuple tuple, TupleDesc desc) {
  bool is_null = true;
  Datum args = heap_getattr(tuple, Anum_pg_trigger_tgargs, desc, &is_null);
  if (is_null) return pstrdup("");
  bytea* bytes = DatumGetByteaPP(args);
  const char* data = VARDATA_ANY(bytes);
  return pnstrdup(data, strnlen(data, VARSIZE_ANY_EXHDR(bytes)));
}

// Keeps per framework the least table name (min() in the database's
// collation, as the view's readers get). Runs inside PgTry.
void KeepLeast(WatchedTable* found, int* count, char* framework, char* table) {
  for (int i = 0; i < *count; ++i) {
    if (strcmp(found[i].framework, framework) != 0) continue;
    if (varstr_cmp(table, static_cast<int>(strlen(table)), found[i].table,
                   static_cast<int>(strlen(found[i].table)),
                   DEFAULT_COLLATION_OID) < 0)
      found[i].table = table;
    return;
  }
  found[(*count)++] = WatchedTable{framework, table};
}

}  // namespace

// One heap scan of pg_trigger, what the view schema_guard.history_tables
// reads, without planning a query.
std::map<std::string, std::string> WatchedHistoryTables() {
  WatchedTable* found = nullptr;
  int count = 0;
  PgTry([&]() noexcept {
    List* name = list_make2(makeString(pstrdup("schema_guard")),
                            makeString(pstrdup("history_row")));
    Oid function = LookupFuncName(name, 0, nullptr, true);
    if (!OidIsValid(function)) return;
    int capacity = 0;
    ScanCatalog(TriggerRelationId, [&](HeapTuple tuple, TupleDesc desc) {
      auto* trigger = reinterpret_cast<Form_pg_trigger>(GETSTRUCT(tuple));
      if (trigger->tgfoid != function) return;
      char* schema = get_namespace_name(get_rel_namespace(trigger->tgrelid));
      char* relname = get_rel_name(trigger->tgrelid);
      if (schema == nullptr || relname == nullptr) return;
      found = Grow(found, count, &capacity);
      KeepLeast(found, &count, FirstTriggerArg(tuple, desc),
                pstrdup(quote_qualified_identifier(schema, relname)));
    });
  });
  std::map<std::string, std::string> watched;
  for (int i = 0; i < count; ++i)
    watched.emplace(found[i].framework, found[i].table);
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

bool CanReadAudit() {
  bool can = false;
  PgTry([&]() noexcept {
    Oid relid = RelationByName("schema_guard.migration_event", NoLock);
    can = OidIsValid(relid) &&
          pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) == ACLCHECK_OK;
  });
  return can;
}

namespace {

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

// The DDL events the audit credited to each of these labels.
std::unordered_map<std::string, long long> DdlCreditedTo(
    SpiSession& spi, const std::vector<std::string>& labels,
    Framework framework) {
  std::unordered_map<std::string, long long> credited;
  if (labels.empty()) return credited;
  QueryResult r = spi.Query(
      "SELECT e.migration, pg_catalog.sum(e.ddl_events)::text FROM "
      "schema_guard.migration_event e WHERE e.migration OPERATOR(pg_catalog.=) "
      "ANY ($1) AND e.framework OPERATOR(pg_catalog.=) $2 GROUP BY "
      "e.migration",
      {{TEXTARRAYOID, TextArrayDatum(labels), false},
       {TEXTOID, TextDatum(core::FrameworkName(framework)), false}});
  for (std::size_t i = 0; i < r.rows(); ++i)
    credited.emplace(r.Text(i, 0), std::stoll(r.Text(i, 1)));
  return credited;
}

// django_migrations, the big one: straight from the heap when that reads
// what the query would (pg/django_history.hpp), else typed, without output
// functions.
std::vector<DjangoHistoryRow> DjangoRows(SpiSession& spi,
                                         const std::string& table) {
  std::vector<DjangoHistoryRow> rows;
  if (ReadDjangoHistoryHeap(table, &rows)) return rows;
  std::string sql = fmt::format(
      "SELECT h.app::text, h.name::text, (pg_catalog.date_part('epoch', "
      "h.applied) * 1000000)::int8 FROM {} h ORDER BY h.id",
      table);
  TypedResult r = spi.QueryTyped(
      sql.c_str(), {CellKind::kText, CellKind::kText, CellKind::kInt64});
  rows.resize(r.rows());
  for (std::size_t i = 0; i < r.rows(); ++i) {
    rows[i].app = r.At(i, 0).Text();
    rows[i].name = r.At(i, 1).Text();
    if (!r.At(i, 2).is_null) rows[i].applied_micros = r.At(i, 2).number;
  }
  return rows;
}

void ReadDjangoRows(SpiSession& spi, const std::string& table,
                    const std::unordered_set<std::string>& faked,
                    core::History* history) {
  std::vector<DjangoHistoryRow> rows = DjangoRows(spi, table);
  history->rows.reserve(rows.size());
  std::string label;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    core::AppliedMigration row;
    row.key.app = std::move(rows[i].app);
    row.key.name = std::move(rows[i].name);
    row.rank = static_cast<long long>(i) + 1;
    if (rows[i].applied_micros)
      row.applied_at = core::TimestampText(*rows[i].applied_micros);
    if (!faked.empty()) {
      label.assign(row.key.app);
      label += '.';
      label += row.key.name;
      if (faked.count(label) != 0) row.audit_saw_ddl = false;
    }
    history->rows.push_back(std::move(row));
  }
}

void ReadOtherRows(SpiSession& spi, Framework framework,
                   const std::string& table, const std::string& app,
                   const std::unordered_set<std::string>& faked,
                   core::History* history) {
  std::string sql = core::HistoryQuery(framework, table);
  QueryResult r = spi.Query(sql.c_str());
  const std::size_t label_columns = core::HistoryColumns(framework).size();
  history->rows.reserve(r.rows());
  std::vector<std::optional<std::string>> cells(r.columns());
  for (std::size_t i = 0; i < r.rows(); ++i) {
    for (std::size_t c = 0; c < r.columns(); ++c) {
      const char* cell = r.Get(i, c);
      cells[c] =
          cell == nullptr ? std::nullopt : std::optional<std::string>(cell);
    }
    core::AppliedMigration row = core::ReadHistoryRow(
        framework, cells, static_cast<long long>(i) + 1, app);
    if (!faked.empty()) {
      std::vector<std::optional<std::string>> label_cells(
          cells.begin(), cells.begin() + static_cast<long>(label_columns));
      std::optional<std::string> label =
          core::HistoryRowLabel(framework, label_cells);
      if (label && faked.count(*label) != 0) row.audit_saw_ddl = false;
    }
    history->rows.push_back(std::move(row));
  }
}

}  // namespace

core::History ReadHistory(SpiSession& spi, Framework framework,
                          const std::string& table, const std::string& app,
                          bool audit, const core::MigrationGraph* graph) {
  core::History history;
  history.table = table;
  history.present = !table.empty();
  if (!history.present) return history;
  std::unordered_set<std::string> faked;
  if (audit) faked = LabelsWrittenWithoutDdl(spi, framework);
  if (framework == Framework::kDjango) {
    ReadDjangoRows(spi, table, faked, &history);
  } else {
    ReadOtherRows(spi, framework, table, app, faked, &history);
  }
  if (graph == nullptr) return history;
  // Each row's declared migration, looked up once here; the checks use it.
  for (core::AppliedMigration& row : history.rows) {
    row.graph_node =
        graph->NodeOf(row.key).value_or(core::MigrationGraph::kNotDeclared);
  }
  if (!audit) return history;
  // Rows the graph does not declare (nor a squash replaces): did the audit
  // see them make changes?
  std::vector<std::size_t> undeclared;
  std::vector<std::string> labels;
  for (std::size_t i = 0; i < history.rows.size(); ++i) {
    const core::AppliedMigration& row = history.rows[i];
    if (row.state != core::HistoryState::kApplied ||
        row.graph_node != core::MigrationGraph::kNotDeclared ||
        graph->SquashOf(row.key)) {
      continue;
    }
    undeclared.push_back(i);
    labels.push_back(core::MigrationObject(framework, row.key));
  }
  std::unordered_map<std::string, long long> credited =
      DdlCreditedTo(spi, labels, framework);
  for (std::size_t k = 0; k < undeclared.size(); ++k) {
    auto it = credited.find(labels[k]);
    history.rows[undeclared[k]].audit_ddl_events =
        it == credited.end() ? 0 : it->second;
  }
  return history;
}

namespace {

// A declared column of an existing relation, and whether the catalog has
// it.
struct WantedColumn {
  Oid relid;
  const std::pair<std::string, std::string>* column;  // (table, column)
  bool present;
};

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

RelationsByName ExistingRelations(const core::MigrationGraph& graph) {
  List* search_path = nullptr;
  PgTry([&]() noexcept { search_path = fetch_search_path(true); });
  std::vector<Oid> path_oids;
  ListCell* cell = nullptr;
  foreach (cell, search_path) path_oids.push_back(lfirst_oid(cell));
  std::map<Oid, std::string> named;         // schemas named as "schema.table"
  std::unordered_set<std::string> schemas;  // each looked up once
  auto name_schema = [&](const std::string& name) {
    auto dot = name.find('.');
    if (dot == std::string::npos) return;
    std::string schema = name.substr(0, dot);
    if (!schemas.insert(schema).second) return;
    const char* schema_name = schema.c_str();
    Oid oid = InvalidOid;
    PgTry([&]() noexcept { oid = get_namespace_oid(schema_name, true); });
    if (oid != InvalidOid) named.emplace(oid, schema);
  };
  for (const auto& m : graph.migrations) {
    for (const auto& t : m.creates_tables) name_schema(t);
    for (const auto& c : m.creates_columns) name_schema(c.first);
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

}  // namespace

core::LiveObjects ReadLiveObjects(const core::MigrationGraph& graph) {
  core::LiveObjects live;
  bool declares = false;
  for (const auto& m : graph.migrations) declares |= m.DeclaresSchemaChanges();
  if (!declares) return live;
  RelationsByName existing = ExistingRelations(graph);
  // The declared columns of existing relations, by relation, pointing into
  // the graph: the scan below compares names without building strings.
  std::vector<WantedColumn> wanted;
  for (const auto& m : graph.migrations) {
    for (const auto& t : m.creates_tables) {
      if (existing.count(t) != 0) live.tables.insert(t);
    }
    for (const auto& column : m.creates_columns) {
      auto relation = existing.find(column.first);
      if (relation != existing.end())
        wanted.push_back({relation->second.second, &column, false});
    }
  }
  if (wanted.empty()) return live;
  std::sort(wanted.begin(), wanted.end(),
            [](const WantedColumn& a, const WantedColumn& b) {
              return a.relid < b.relid;
            });
  // Columns: one heap scan of pg_attribute, matched by relation (a lookup
  // per column fills the attribute cache one index probe at a time, and a
  // query over pg_attribute hashes all of it: either was most of a new
  // session's first check).
  WantedColumn* first = wanted.data();
  WantedColumn* last = first + wanted.size();
  PgTry([&]() noexcept {
    // A relation's attributes mostly come one after another: its wanted
    // columns are looked up once per run of them.
    Oid run_relid = InvalidOid;
    WantedColumn* run = last;
    ScanCatalog(AttributeRelationId, [&](HeapTuple tuple, TupleDesc) {
      auto* form = reinterpret_cast<Form_pg_attribute>(GETSTRUCT(tuple));
      if (form->attnum <= 0 || form->attisdropped) return;
      if (form->attrelid != run_relid) {
        run_relid = form->attrelid;
        run = std::lower_bound(
            first, last, run_relid,
            [](const WantedColumn& w, Oid relid) { return w.relid < relid; });
        if (run != last && run->relid != run_relid) run = last;
      }
      WantedColumn* it = run;
      if (it == last) return;
      const char* name = NameStr(form->attname);
      std::size_t length = strlen(name);
      for (; it != last && it->relid == form->attrelid; ++it) {
        const std::string& column = it->column->second;
        if (column.size() == length && memcmp(column.data(), name, length) == 0)
          it->present = true;
      }
    });
  });
  live.columns.reserve(wanted.size());
  for (const auto& w : wanted) {
    if (w.present) live.columns.insert(*w.column);
  }
  return live;
}

}  // namespace schema_guard::pg
