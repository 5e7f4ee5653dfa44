#include "core/manifest.hpp"

#include <fmt/format.h>

#include <initializer_list>
#include <unordered_map>
#include <utility>

#include "core/error.hpp"
#include "core/json_reader.hpp"

namespace schema_guard::core {
namespace {

const JsonDocument kManifest{
    "manifest",
    "The manifest format (\"schema_guard/1\") is described in the README "
    "under \"The manifest\".",
    "Start from the output of schema_guard.snapshot()."};

KeyConstraint ReadKey(const Json& object, const Path& path) {
  OnlyKeys(object, path, {"name", "columns"});
  return {OptionalString(object, "name", path),
          Strings(object, "columns", path, true)};
}

Column ReadColumn(const Json& object, const Path& path) {
  OnlyKeys(object, path,
           {"name", "type", "not_null", "default", "identity", "generated",
            "collation"});
  Column c;
  c.name = RequiredString(object, "name", path);
  std::string type = RequiredString(object, "type", path);
  c.serial = IsSerialType(type);
  c.type = CanonicalType(type);
  c.not_null = OptionalBool(object, "not_null", path, false) || c.serial;
  if (const Json* d = Optional(object, "default", Json::Kind::kString, path)) {
    c.default_expr = d->text();
  }
  c.identity = OptionalString(object, "identity", path);
  if (!c.identity.empty() && c.identity != "always" &&
      c.identity != "by_default") {
    Fail(path.Member("identity"), "expected \"always\" or \"by_default\"");
  }
  c.generated = OptionalString(object, "generated", path);
  c.collation = OptionalString(object, "collation", path);
  return c;
}

std::string ReadAction(const Json& object, std::string_view key,
                       const Path& path) {
  std::string action = OptionalString(object, key, path, "no action");
  for (std::string_view ok :
       {"no action", "restrict", "cascade", "set null", "set default"}) {
    if (action == ok) return action;
  }
  Fail(
      path.Member(key),
      "expected one of \"no action\", \"restrict\", \"cascade\", \"set null\", "
      "\"set default\"");
}

Table ReadTable(const Json& object, const Path& path) {
  OnlyKeys(object, path,
           {"schema", "name", "kind", "app", "columns", "primary_key", "unique",
            "checks", "foreign_keys", "indexes", "sequences", "view",
            "partition_bound", "partition_of", "partition_key"});
  Table t;
  t.schema = OptionalString(object, "schema", path, "public");
  t.name = RequiredString(object, "name", path);
  std::string kind = OptionalString(object, "kind", path, "table");
  if (kind == "table")
    t.kind = TableKind::kTable;
  else if (kind == "partitioned table")
    t.kind = TableKind::kPartitionedTable;
  else if (kind == "view")
    t.kind = TableKind::kView;
  else if (kind == "materialized view")
    t.kind = TableKind::kMaterializedView;
  else
    Fail(path.Member("kind"),
         "expected \"table\", \"partitioned table\", \"view\" or "
         "\"materialized view\"");
  t.app = OptionalString(object, "app", path);
  Required(object, "columns", Json::Kind::kArray, path);
  std::unordered_map<std::string, std::size_t> seen;
  EachObject(object, "columns", path, [&](const Json& c, const Path& p) {
    Column column = ReadColumn(c, p);
    auto [it, inserted] = seen.emplace(column.name, t.columns.size());
    if (!inserted) {
      Fail(p, fmt::format("duplicate column \"{}\" (also columns[{}])",
                          column.name, it->second));
    }
    t.columns.push_back(std::move(column));
  });
  if (const Json* pk =
          Optional(object, "primary_key", Json::Kind::kObject, path)) {
    t.primary_key = ReadKey(*pk, path.Member("primary_key"));
  }
  EachObject(object, "unique", path, [&](const Json& u, const Path& p) {
    t.uniques.push_back(ReadKey(u, p));
  });
  EachObject(object, "checks", path, [&](const Json& c, const Path& p) {
    OnlyKeys(c, p, {"name", "expression", "validated"});
    t.checks.push_back({OptionalString(c, "name", p),
                        RequiredString(c, "expression", p),
                        OptionalBool(c, "validated", p, true)});
  });
  EachObject(object, "foreign_keys", path, [&](const Json& f, const Path& p) {
    OnlyKeys(f, p,
             {"name", "columns", "references", "on_delete", "on_update",
              "deferrable", "initially_deferred", "validated"});
    ForeignKey fk;
    fk.name = OptionalString(f, "name", p);
    fk.columns = Strings(f, "columns", p, true);
    const Json& ref = Required(f, "references", Json::Kind::kObject, p);
    Path ref_path = p.Member("references");
    OnlyKeys(ref, ref_path, {"schema", "table", "columns"});
    fk.ref_schema = OptionalString(ref, "schema", ref_path, t.schema);
    fk.ref_table = RequiredString(ref, "table", ref_path);
    fk.ref_columns = Strings(ref, "columns", ref_path, true);
    if (fk.ref_columns.size() != fk.columns.size()) {
      Fail(ref_path.Member("columns"), "must have as many columns as the key");
    }
    fk.on_delete = ReadAction(f, "on_delete", p);
    fk.on_update = ReadAction(f, "on_update", p);
    fk.deferrable = OptionalBool(f, "deferrable", p, false);
    fk.initially_deferred = OptionalBool(f, "initially_deferred", p, false);
    fk.validated = OptionalBool(f, "validated", p, true);
    t.foreign_keys.push_back(std::move(fk));
  });
  EachObject(object, "indexes", path, [&](const Json& i, const Path& p) {
    OnlyKeys(i, p, {"name", "keys", "unique", "method", "where", "include"});
    Index index;
    index.name = OptionalString(i, "name", p);
    index.keys = Strings(i, "keys", p, true);
    index.unique = OptionalBool(i, "unique", p, false);
    index.method = OptionalString(i, "method", p, "btree");
    index.predicate = OptionalString(i, "where", p);
    index.include = Strings(i, "include", p, false);
    t.indexes.push_back(std::move(index));
  });
  EachObject(object, "sequences", path, [&](const Json& s, const Path& p) {
    OnlyKeys(s, p, {"column", "name"});
    t.sequences.push_back(
        {RequiredString(s, "column", p), OptionalString(s, "name", p)});
  });
  t.view_definition = OptionalString(object, "view", path);
  t.partition_bound = OptionalString(object, "partition_bound", path);
  t.partition_of = OptionalString(object, "partition_of", path);
  t.partition_key = OptionalString(object, "partition_key", path);
  return t;
}

}  // namespace

Schema ReadManifest(const Json& document) {
  const Path root(kManifest);
  Expect(document, Json::Kind::kObject, root);
  OnlyKeys(document, root,
           {"format", "tables", "enums", "ignore", "join_tables",
            "names_matter", "generated_at", "source"});
  const Json& format = Required(document, "format", Json::Kind::kString, root);
  if (format.text() != kManifestFormat) {
    throw Error(
        ErrorCode::kInvalidParameterValue,
        fmt::format("unsupported manifest format \"{}\"", format.text()),
        fmt::format("This release reads \"{}\".", kManifestFormat),
        "Produce the manifest with schema_guard.snapshot() of this release.");
  }
  Schema schema;
  Required(document, "tables", Json::Kind::kArray, root);
  std::unordered_map<std::string, std::size_t> seen;
  EachObject(document, "tables", root, [&](const Json& t, const Path& p) {
    Table table = ReadTable(t, p);
    std::string key = table.schema + "." + table.name;
    auto [it, inserted] = seen.emplace(key, schema.tables.size());
    if (!inserted) {
      Fail(p, fmt::format("duplicate table \"{}\" (also tables[{}])", key,
                          it->second));
    }
    schema.tables.push_back(std::move(table));
  });
  EachObject(document, "enums", root, [&](const Json& e, const Path& p) {
    OnlyKeys(e, p, {"schema", "name", "labels"});
    schema.enums.push_back({OptionalString(e, "schema", p, "public"),
                            RequiredString(e, "name", p),
                            Strings(e, "labels", p, true)});
  });
  EachObject(document, "ignore", root, [&](const Json& i, const Path& p) {
    OnlyKeys(i, p, {"pattern", "reason"});
    schema.ignore.push_back(
        {RequiredString(i, "pattern", p), OptionalString(i, "reason", p)});
  });
  schema.join_tables = Strings(document, "join_tables", root, false);
  schema.names_matter = OptionalBool(document, "names_matter", root, false);
  return schema;
}

namespace {

Json StringArray(const std::vector<std::string>& values) {
  Json array = Json::Array();
  for (const auto& v : values) array.Push(Json::String(v));
  return array;
}

Json KeyJson(const KeyConstraint& key) {
  Json k = Json::Object();
  k.Set("name", Json::String(key.name));
  k.Set("columns", StringArray(key.columns));
  return k;
}

Json TableJson(const Table& t) {
  Json table = Json::Object();
  table.Set("schema", Json::String(t.schema));
  table.Set("name", Json::String(t.name));
  table.Set("kind", Json::String(std::string(TableKindName(t.kind))));
  if (!t.app.empty()) table.Set("app", Json::String(t.app));
  Json& columns = table.Set("columns", Json::Array());
  for (const auto& c : t.columns) {
    Json column = Json::Object();
    column.Set("name", Json::String(c.name));
    column.Set("type", Json::String(c.type));
    column.Set("not_null", Json::Bool(c.not_null));
    if (c.default_expr) column.Set("default", Json::String(*c.default_expr));
    if (!c.identity.empty()) column.Set("identity", Json::String(c.identity));
    if (!c.generated.empty())
      column.Set("generated", Json::String(c.generated));
    if (!c.collation.empty())
      column.Set("collation", Json::String(c.collation));
    columns.Push(std::move(column));
  }
  if (t.primary_key) table.Set("primary_key", KeyJson(*t.primary_key));
  if (!t.uniques.empty()) {
    Json& uniques = table.Set("unique", Json::Array());
    for (const auto& u : t.uniques) uniques.Push(KeyJson(u));
  }
  if (!t.checks.empty()) {
    Json& checks = table.Set("checks", Json::Array());
    for (const auto& c : t.checks) {
      Json check = Json::Object();
      check.Set("name", Json::String(c.name));
      check.Set("expression", Json::String(c.expression));
      if (!c.validated) check.Set("validated", Json::Bool(false));
      checks.Push(std::move(check));
    }
  }
  if (!t.foreign_keys.empty()) {
    Json& fks = table.Set("foreign_keys", Json::Array());
    for (const auto& f : t.foreign_keys) {
      Json fk = Json::Object();
      fk.Set("name", Json::String(f.name));
      fk.Set("columns", StringArray(f.columns));
      Json ref = Json::Object();
      ref.Set("schema", Json::String(f.ref_schema));
      ref.Set("table", Json::String(f.ref_table));
      ref.Set("columns", StringArray(f.ref_columns));
      fk.Set("references", std::move(ref));
      fk.Set("on_delete", Json::String(f.on_delete));
      fk.Set("on_update", Json::String(f.on_update));
      if (f.deferrable) fk.Set("deferrable", Json::Bool(true));
      if (f.initially_deferred) fk.Set("initially_deferred", Json::Bool(true));
      if (!f.validated) fk.Set("validated", Json::Bool(false));
      fks.Push(std::move(fk));
    }
  }
  if (!t.indexes.empty()) {
    Json& indexes = table.Set("indexes", Json::Array());
    for (const auto& i : t.indexes) {
      Json index = Json::Object();
      index.Set("name", Json::String(i.name));
      index.Set("keys", StringArray(i.keys));
      if (i.unique) index.Set("unique", Json::Bool(true));
      index.Set("method", Json::String(i.method));
      if (!i.predicate.empty()) index.Set("where", Json::String(i.predicate));
      if (!i.include.empty()) index.Set("include", StringArray(i.include));
      indexes.Push(std::move(index));
    }
  }
  if (!t.sequences.empty()) {
    Json& seqs = table.Set("sequences", Json::Array());
    for (const auto& s : t.sequences) {
      Json seq = Json::Object();
      seq.Set("column", Json::String(s.column));
      seq.Set("name", Json::String(s.name));
      seqs.Push(std::move(seq));
    }
  }
  if (!t.view_definition.empty())
    table.Set("view", Json::String(t.view_definition));
  if (!t.partition_bound.empty()) {
    table.Set("partition_bound", Json::String(t.partition_bound));
  }
  if (!t.partition_of.empty()) {
    table.Set("partition_of", Json::String(t.partition_of));
  }
  if (!t.partition_key.empty()) {
    table.Set("partition_key", Json::String(t.partition_key));
  }
  return table;
}

}  // namespace

Json WriteManifest(const Schema& schema) {
  Json document = Json::Object();
  document.Set("format", Json::String(std::string(kManifestFormat)));
  Json& tables = document.Set("tables", Json::Array());
  for (const auto& t : schema.tables) tables.Push(TableJson(t));
  Json& enums = document.Set("enums", Json::Array());
  for (const auto& e : schema.enums) {
    Json en = Json::Object();
    en.Set("schema", Json::String(e.schema));
    en.Set("name", Json::String(e.name));
    en.Set("labels", StringArray(e.labels));
    enums.Push(std::move(en));
  }
  Json& ignore = document.Set("ignore", Json::Array());
  for (const auto& i : schema.ignore) {
    Json pattern = Json::Object();
    pattern.Set("pattern", Json::String(i.pattern));
    pattern.Set("reason", Json::String(i.reason));
    ignore.Push(std::move(pattern));
  }
  document.Set("join_tables", StringArray(schema.join_tables));
  if (schema.names_matter) document.Set("names_matter", Json::Bool(true));
  return document;
}

}  // namespace schema_guard::core
