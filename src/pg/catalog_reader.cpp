#include "pg/catalog_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "core/json.hpp"
#include "pg/bridge.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/builtins.h"
}

namespace schema_guard::pg {
namespace {

constexpr const char* kUserSchemas = R"SQL(
SELECT n.nspname FROM pg_catalog.pg_namespace n
WHERE n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
  AND n.nspname <> 'schema_guard'
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                  WHERE d.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
                    AND d.objid = n.oid AND d.deptype = 'e')
ORDER BY 1)SQL";

// Relations and their columns, unordered: sorting 200k rows (with their
// default expressions) would cost more than the whole read; the columns are
// put in attnum order afterwards.
constexpr const char* kColumns = R"SQL(
SELECT c.oid::int8, n.nspname, c.relname, c.relkind::text,
       a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attidentity::text,
       a.attgenerated::text,
       CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation THEN co.collname::text END,
       CASE WHEN c.relispartition THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) END,
       CASE WHEN c.relispartition THEN
         (SELECT pn.nspname || '.' || pc.relname FROM pg_catalog.pg_inherits i
          JOIN pg_catalog.pg_class pc ON pc.oid = i.inhparent
          JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
          WHERE i.inhrelid = c.oid) END,
       CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END,
       a.attnum
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
WHERE c.relkind IN ('r', 'p', 'v', 'm') AND n.nspname = ANY ($1)
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
                  WHERE e.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                    AND e.objid = c.oid AND e.deptype = 'e')
)SQL";

constexpr const char* kViews = R"SQL(
SELECT c.oid::int8, pg_catalog.pg_get_viewdef(c.oid, true)
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm') AND n.nspname = ANY ($1))SQL";

// Key columns come back as attribute numbers, resolved against the columns
// already read; only CHECK constraints need their definition printed.
constexpr const char* kConstraints = R"SQL(
SELECT con.conrelid::int8, con.conname, con.contype::text,
       CASE WHEN con.contype = 'c' THEN pg_catalog.pg_get_constraintdef(con.oid, true) END,
       con.convalidated, pg_catalog.array_to_string(con.conkey, ' '),
       fn.nspname, fc.relname, pg_catalog.array_to_string(con.confkey, ' '),
       con.confdeltype::text, con.confupdtype::text, con.condeferrable, con.condeferred,
       con.confrelid::int8
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_class fc ON fc.oid = con.confrelid
LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace
WHERE con.contype IN ('p', 'u', 'c', 'f') AND con.conparentid = 0 AND n.nspname = ANY ($1)
ORDER BY con.conrelid, con.conname)SQL";

// Column names of tables outside the schemas read (referenced by foreign
// keys).
constexpr const char* kOtherColumns = R"SQL(
SELECT a.attrelid::int8, a.attnum, a.attname FROM pg_catalog.pg_attribute a
WHERE a.attrelid = ANY ($1) AND a.attnum > 0 AND NOT a.attisdropped)SQL";

// Indexes that do not implement a primary key, unique or exclusion
// constraint.
constexpr const char* kIndexes = R"SQL(
SELECT i.indrelid::int8, ic.relname, i.indisunique, am.amname::text,
       (SELECT pg_catalog.json_agg(pg_catalog.pg_get_indexdef(i.indexrelid, k, true) ORDER BY k)
        FROM pg_catalog.generate_series(1, i.indnkeyatts) k)::text,
       (SELECT pg_catalog.json_agg(pg_catalog.pg_get_indexdef(i.indexrelid, k, true) ORDER BY k)
        FROM pg_catalog.generate_series(i.indnkeyatts + 1, i.indnatts) k)::text,
       pg_catalog.pg_get_expr(i.indpred, i.indrelid, true)
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_am am ON am.oid = ic.relam
WHERE n.nspname = ANY ($1) AND c.relkind IN ('r', 'p', 'm')
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint con
                  WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid
                    AND con.contype IN ('p', 'u', 'x'))
ORDER BY i.indrelid, ic.relname)SQL";

// Sequences owned by columns through a serial default (identity sequences
// belong to their column and are not listed).
constexpr const char* kSequences = R"SQL(
SELECT d.refobjid::int8, a.attname, s.relname
FROM pg_catalog.pg_depend d
JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S'
JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
JOIN pg_catalog.pg_class c ON c.oid = d.refobjid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
  AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
  AND d.deptype = 'a' AND d.refobjsubid > 0 AND n.nspname = ANY ($1))SQL";

constexpr const char* kEnums = R"SQL(
SELECT n.nspname, t.typname, pg_catalog.json_agg(e.enumlabel ORDER BY e.enumsortorder)::text
FROM pg_catalog.pg_enum e
JOIN pg_catalog.pg_type t ON t.oid = e.enumtypid
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = ANY ($1)
GROUP BY n.nspname, t.typname ORDER BY 1, 2)SQL";

std::vector<std::string> JsonStrings(const char* text) {
  std::vector<std::string> out;
  if (text == nullptr) return out;
  core::Json list = core::ParseJson(text);
  for (const auto& item : list.items()) out.push_back(item.text());
  return out;
}

std::string Action(const char* code) {
  switch (code == nullptr ? 'a' : code[0]) {
    case 'r':
      return "restrict";
    case 'c':
      return "cascade";
    case 'n':
      return "set null";
    case 'd':
      return "set default";
    default:
      return "no action";
  }
}

std::string WithoutNotValid(std::string definition) {
  constexpr std::string_view kSuffix = " NOT VALID";
  if (definition.size() > kSuffix.size() &&
      definition.compare(definition.size() - kSuffix.size(), kSuffix.size(),
                         kSuffix) == 0) {
    definition.resize(definition.size() - kSuffix.size());
  }
  return definition;
}

std::string QuoteQualified(const std::string& schema,
                           const std::string& table) {
  const char* quoted = nullptr;
  PgTry([&]() noexcept {
    quoted = quote_qualified_identifier(schema.c_str(), table.c_str());
  });
  return std::string(quoted);
}

std::vector<std::string> KnownApps(SpiSession& spi,
                                   const core::Schema& schema) {
  for (const auto& t : schema.tables) {
    if (t.name != "django_content_type" || t.FindColumn("app_label") == nullptr)
      continue;
    std::string sql = "SELECT DISTINCT app_label::text FROM " +
                      QuoteQualified(t.schema, t.name);
    QueryResult apps = spi.Query(sql.c_str());
    std::vector<std::string> out;
    for (std::size_t r = 0; r < apps.rows(); ++r)
      out.push_back(apps.Text(r, 0));
    return out;
  }
  return {};
}

}  // namespace

std::vector<std::string> UserSchemas(SpiSession& spi) {
  QueryResult result = spi.Query(kUserSchemas);
  std::vector<std::string> out;
  for (std::size_t r = 0; r < result.rows(); ++r)
    out.push_back(result.Text(r, 0));
  return out;
}

core::Schema ReadCatalog(SpiSession& spi,
                         const std::vector<std::string>& schemas) {
  core::Schema schema;
  std::vector<QueryArg> args{{TEXTARRAYOID, TextArrayDatum(schemas), false}};
  std::unordered_map<std::string, std::size_t> by_oid;
  // Column names by relation and attribute number, for constraint keys.
  std::unordered_map<std::string, std::unordered_map<int, std::string>>
      attnames;
  // The attnum of each column read, per table, to restore column order.
  std::vector<std::vector<int>> column_numbers;

  QueryResult columns = spi.Query(kColumns, args);
  for (std::size_t r = 0; r < columns.rows(); ++r) {
    std::string oid = columns.Text(r, 0);
    auto [it, inserted] = by_oid.emplace(oid, schema.tables.size());
    if (inserted) {
      core::Table t;
      t.schema = columns.Text(r, 1);
      t.name = columns.Text(r, 2);
      char kind = columns.Text(r, 3)[0];
      t.kind = kind == 'p'   ? core::TableKind::kPartitionedTable
               : kind == 'v' ? core::TableKind::kView
               : kind == 'm' ? core::TableKind::kMaterializedView
                             : core::TableKind::kTable;
      t.partition_bound = columns.Text(r, 11);
      t.partition_of = columns.Text(r, 12);
      t.partition_key = columns.Text(r, 13);
      schema.tables.push_back(std::move(t));
    }
    if (columns.Get(r, 4) == nullptr) continue;  // a relation without columns
    int attnum = std::stoi(columns.Text(r, 14));
    attnames[oid][attnum] = columns.Text(r, 4);
    column_numbers.resize(schema.tables.size());
    column_numbers[it->second].push_back(attnum);
    core::Table& t = schema.tables[it->second];
    core::Column c;
    c.name = columns.Text(r, 4);
    c.type = core::CanonicalType(columns.Text(r, 5));
    c.not_null = columns.Bool(r, 6);
    std::string identity = columns.Text(r, 8);
    c.identity = identity == "a"   ? "always"
                 : identity == "d" ? "by_default"
                                   : "";
    if (columns.Text(r, 9) == "s") {
      c.generated = columns.Text(r, 7);
    } else if (columns.Get(r, 7) != nullptr) {
      c.default_expr = columns.Text(r, 7);
    }
    c.collation = columns.Text(r, 10);
    t.columns.push_back(std::move(c));
  }

  // Columns in attnum order.
  for (std::size_t i = 0; i < column_numbers.size(); ++i) {
    std::vector<int>& numbers = column_numbers[i];
    std::vector<core::Column>& table_columns = schema.tables[i].columns;
    std::vector<std::size_t> order(numbers.size());
    for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return numbers[a] < numbers[b];
    });
    std::vector<core::Column> sorted;
    sorted.reserve(order.size());
    for (std::size_t k : order) sorted.push_back(std::move(table_columns[k]));
    table_columns = std::move(sorted);
  }

  QueryResult schemas_found = spi.Query(
      "SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname = ANY ($1) "
      "ORDER BY 1",
      args);
  for (std::size_t r = 0; r < schemas_found.rows(); ++r) {
    schema.schemas.push_back(schemas_found.Text(r, 0));
  }
  schema.schemas_known = true;

  QueryResult views = spi.Query(kViews, args);
  for (std::size_t r = 0; r < views.rows(); ++r) {
    auto it = by_oid.find(views.Text(r, 0));
    if (it != by_oid.end())
      schema.tables[it->second].view_definition = views.Text(r, 1);
  }

  QueryResult constraints = spi.Query(kConstraints, args);
  // Referenced tables whose columns were not read with the schemas.
  std::vector<std::string> other_tables;
  for (std::size_t r = 0; r < constraints.rows(); ++r) {
    if (constraints.Get(r, 13) != nullptr && constraints.Text(r, 13) != "0" &&
        attnames.count(constraints.Text(r, 13)) == 0) {
      other_tables.push_back(constraints.Text(r, 13));
    }
  }
  if (!other_tables.empty()) {
    std::vector<QueryArg> oids{
        {OIDARRAYOID, OidArrayDatum(other_tables), false}};
    QueryResult other = spi.Query(kOtherColumns, oids);
    for (std::size_t r = 0; r < other.rows(); ++r) {
      attnames[other.Text(r, 0)][std::stoi(other.Text(r, 1))] =
          other.Text(r, 2);
    }
  }
  auto key_names = [&](const std::string& relid, const char* attnums) {
    std::vector<std::string> names;
    if (attnums == nullptr) return names;
    const auto& table = attnames[relid];
    std::size_t pos = 0;
    std::string list(attnums);
    while (pos < list.size()) {
      std::size_t end = list.find(' ', pos);
      if (end == std::string::npos) end = list.size();
      int attnum = std::stoi(list.substr(pos, end - pos));
      auto it = table.find(attnum);
      names.push_back(it != table.end() ? it->second : std::to_string(attnum));
      pos = end + 1;
    }
    return names;
  };
  for (std::size_t r = 0; r < constraints.rows(); ++r) {
    std::string relid = constraints.Text(r, 0);
    auto it = by_oid.find(relid);
    if (it == by_oid.end()) continue;
    core::Table& t = schema.tables[it->second];
    std::string name = constraints.Text(r, 1);
    char type = constraints.Text(r, 2)[0];
    std::vector<std::string> keys = key_names(relid, constraints.Get(r, 5));
    if (type == 'p') {
      t.primary_key = core::KeyConstraint{name, keys};
    } else if (type == 'u') {
      t.uniques.push_back({name, keys});
    } else if (type == 'c') {
      t.checks.push_back({name, WithoutNotValid(constraints.Text(r, 3)),
                          constraints.Bool(r, 4)});
    } else if (type == 'f') {
      core::ForeignKey fk;
      fk.name = name;
      fk.columns = keys;
      fk.ref_schema = constraints.Text(r, 6);
      fk.ref_table = constraints.Text(r, 7);
      fk.ref_columns =
          key_names(constraints.Text(r, 13), constraints.Get(r, 8));
      fk.on_delete = Action(constraints.Get(r, 9));
      fk.on_update = Action(constraints.Get(r, 10));
      fk.deferrable = constraints.Bool(r, 11);
      fk.initially_deferred = constraints.Bool(r, 12);
      fk.validated = constraints.Bool(r, 4);
      t.foreign_keys.push_back(std::move(fk));
    }
  }

  QueryResult indexes = spi.Query(kIndexes, args);
  for (std::size_t r = 0; r < indexes.rows(); ++r) {
    auto it = by_oid.find(indexes.Text(r, 0));
    if (it == by_oid.end()) continue;
    core::Index index;
    index.name = indexes.Text(r, 1);
    index.unique = indexes.Bool(r, 2);
    index.method = indexes.Text(r, 3);
    index.keys = JsonStrings(indexes.Get(r, 4));
    index.include = JsonStrings(indexes.Get(r, 5));
    index.predicate = indexes.Text(r, 6);
    schema.tables[it->second].indexes.push_back(std::move(index));
  }

  QueryResult sequences = spi.Query(kSequences, args);
  for (std::size_t r = 0; r < sequences.rows(); ++r) {
    auto it = by_oid.find(sequences.Text(r, 0));
    if (it == by_oid.end()) continue;
    schema.tables[it->second].sequences.push_back(
        {sequences.Text(r, 1), sequences.Text(r, 2)});
  }

  QueryResult enums = spi.Query(kEnums, args);
  for (std::size_t r = 0; r < enums.rows(); ++r) {
    schema.enums.push_back(
        {enums.Text(r, 0), enums.Text(r, 1), JsonStrings(enums.Get(r, 2))});
  }

  std::vector<std::string> apps = KnownApps(spi, schema);
  for (auto& t : schema.tables) {
    t.app = core::DjangoApp(t.name, apps);
    if (t.app.empty()) t.app = t.schema;
  }
  // Read in OID order (cheaper than sorting text); the manifest lists
  // tables by schema and name.
  std::sort(schema.tables.begin(), schema.tables.end(),
            [](const core::Table& a, const core::Table& b) {
              return a.schema != b.schema ? a.schema < b.schema
                                          : a.name < b.name;
            });
  schema.join_tables = core::DetectJoinTables(schema);
  return schema;
}

}  // namespace schema_guard::pg
