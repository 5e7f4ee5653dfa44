#include "core/manifest.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>
#include <vector>
#include <initializer_list>
#include <string>
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

// Canonical spellings of the type names a manifest uses, each worked out
// once: a large manifest repeats a few dozen types many thousand times.
class TypeSpellings {
 public:
  const std::string& Canonical(const std::string& type) {
    auto it = canonical_.find(type);
    if (it == canonical_.end())
      it = canonical_.emplace(type, CanonicalType(type)).first;
    return it->second;
  }

 private:
  std::unordered_map<std::string, std::string> canonical_;
};

Column ReadColumn(const Json& object, const Path& path, TypeSpellings& types) {
  OnlyKeys(object, path,
           {"name", "type", "not_null", "default", "identity", "generated",
            "collation"});
  Column c;
  c.name = RequiredString(object, "name", path);
  std::string type = RequiredString(object, "type", path);
  c.serial = IsSerialType(type);
  c.type = types.Canonical(type);
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

Table ReadTable(const Json& object, const Path& path, TypeSpellings& types) {
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
  const Json& columns = Required(object, "columns", Json::Kind::kArray, path);
  t.columns.reserve(columns.items().size());
  EachObject(object, "columns", path, [&](const Json& c, const Path& p) {
    t.columns.push_back(ReadColumn(c, p, types));
  });
  // Duplicate column names; tables are narrow, so sorting names beats a
  // hash map per table.
  std::vector<std::pair<std::string_view, std::size_t>> names;
  names.reserve(t.columns.size());
  for (std::size_t i = 0; i < t.columns.size(); ++i)
    names.emplace_back(t.columns[i].name, i);
  std::sort(names.begin(), names.end());
  for (std::size_t i = 1; i < names.size(); ++i) {
    if (names[i].first == names[i - 1].first) {
      Fail(path.Member("columns").Element(names[i].second),
           fmt::format("duplicate column \"{}\" (also columns[{}])",
                       names[i].first, names[i - 1].second));
    }
  }
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

// Refuses column types PostgreSQL cannot read (see ReadManifest).
void CheckTypes(const Schema& schema, const Path& root,
                const TypeChecker& check) {
  std::unordered_map<std::string, TypeVerdict> verdicts;
  auto declared = [&](std::string type) {
    while (type.size() > 2 && type.compare(type.size() - 2, 2, "[]") == 0)
      type.resize(type.size() - 2);
    for (const auto& e : schema.enums) {
      if (type == e.name || type == e.schema + "." + e.name) return true;
    }
    return false;
  };
  Path tables = root.Member("tables");
  for (std::size_t t = 0; t < schema.tables.size(); ++t) {
    const Table& table = schema.tables[t];
    // A path refers to its parent: each level is a variable of its own.
    Path table_path = tables.Element(t);
    Path columns = table_path.Member("columns");
    for (std::size_t c = 0; c < table.columns.size(); ++c) {
      const std::string& type = table.columns[c].type;
      if (declared(type)) continue;
      auto it = verdicts.find(type);
      if (it == verdicts.end()) it = verdicts.emplace(type, check(type)).first;
      const TypeVerdict& verdict = it->second;
      Path column = columns.Element(c);
      if (verdict.kind == TypeVerdict::Kind::kInvalid) {
        Fail(column.Member("type"),
             fmt::format("PostgreSQL cannot read the type \"{}\": {}", type,
                         verdict.problem));
      }
      if (verdict.kind == TypeVerdict::Kind::kUnknown) {
        Fail(column.Member("type"),
             fmt::format("type \"{}\" does not exist in this database and "
                         "the manifest does not declare it",
                         type));
      }
    }
  }
}

}  // namespace

Schema ReadManifest(const Json& document, const TypeChecker& check) {
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
  TypeSpellings types;
  EachObject(document, "tables", root, [&](const Json& t, const Path& p) {
    Table table = ReadTable(t, p, types);
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
  if (check) CheckTypes(schema, root, check);
  return schema;
}

namespace {

void KeyTokens(const KeyConstraint& key, JsonTokens* out) {
  out->BeginObject();
  out->StringMember("name", key.name);
  out->StringsMember("columns", key.columns);
  out->EndObject();
}

void TableTokens(const Table& t, JsonTokens* out) {
  out->BeginObject();
  out->StringMember("schema", t.schema);
  out->StringMember("name", t.name);
  out->StringMember("kind", TableKindName(t.kind));
  if (!t.app.empty()) out->StringMember("app", t.app);
  out->Key("columns");
  out->BeginArray();
  for (const auto& c : t.columns) {
    out->BeginObject();
    out->StringMember("name", c.name);
    out->StringMember("type", c.type);
    out->BoolMember("not_null", c.not_null);
    if (c.default_expr) out->StringMember("default", *c.default_expr);
    if (!c.identity.empty()) out->StringMember("identity", c.identity);
    if (!c.generated.empty()) out->StringMember("generated", c.generated);
    if (!c.collation.empty()) out->StringMember("collation", c.collation);
    out->EndObject();
  }
  out->EndArray();
  if (t.primary_key) {
    out->Key("primary_key");
    KeyTokens(*t.primary_key, out);
  }
  if (!t.uniques.empty()) {
    out->Key("unique");
    out->BeginArray();
    for (const auto& u : t.uniques) KeyTokens(u, out);
    out->EndArray();
  }
  if (!t.checks.empty()) {
    out->Key("checks");
    out->BeginArray();
    for (const auto& c : t.checks) {
      out->BeginObject();
      out->StringMember("name", c.name);
      out->StringMember("expression", c.expression);
      if (!c.validated) out->BoolMember("validated", false);
      out->EndObject();
    }
    out->EndArray();
  }
  if (!t.foreign_keys.empty()) {
    out->Key("foreign_keys");
    out->BeginArray();
    for (const auto& f : t.foreign_keys) {
      out->BeginObject();
      out->StringMember("name", f.name);
      out->StringsMember("columns", f.columns);
      out->Key("references");
      out->BeginObject();
      out->StringMember("schema", f.ref_schema);
      out->StringMember("table", f.ref_table);
      out->StringsMember("columns", f.ref_columns);
      out->EndObject();
      out->StringMember("on_delete", f.on_delete);
      out->StringMember("on_update", f.on_update);
      if (f.deferrable) out->BoolMember("deferrable", true);
      if (f.initially_deferred) out->BoolMember("initially_deferred", true);
      if (!f.validated) out->BoolMember("validated", false);
      out->EndObject();
    }
    out->EndArray();
  }
  if (!t.indexes.empty()) {
    out->Key("indexes");
    out->BeginArray();
    for (const auto& i : t.indexes) {
      out->BeginObject();
      out->StringMember("name", i.name);
      out->StringsMember("keys", i.keys);
      if (i.unique) out->BoolMember("unique", true);
      out->StringMember("method", i.method);
      if (!i.predicate.empty()) out->StringMember("where", i.predicate);
      if (!i.include.empty()) out->StringsMember("include", i.include);
      out->EndObject();
    }
    out->EndArray();
  }
  if (!t.sequences.empty()) {
    out->Key("sequences");
    out->BeginArray();
    for (const auto& seq : t.sequences) {
      out->BeginObject();
      out->StringMember("column", seq.column);
      out->StringMember("name", seq.name);
      out->EndObject();
    }
    out->EndArray();
  }
  if (!t.view_definition.empty()) out->StringMember("view", t.view_definition);
  if (!t.partition_bound.empty())
    out->StringMember("partition_bound", t.partition_bound);
  if (!t.partition_of.empty())
    out->StringMember("partition_of", t.partition_of);
  if (!t.partition_key.empty())
    out->StringMember("partition_key", t.partition_key);
  out->EndObject();
}

}  // namespace

void WriteManifest(const Schema& schema, JsonTokens* out) {
  std::size_t columns = 0;
  for (const auto& t : schema.tables) columns += t.columns.size();
  out->Reserve(schema.tables.size() * 40 + columns * 9);
  out->BeginObject();
  out->StringMember("format", kManifestFormat);
  out->Key("tables");
  out->BeginArray();
  for (const auto& t : schema.tables) TableTokens(t, out);
  out->EndArray();
  out->Key("enums");
  out->BeginArray();
  for (const auto& e : schema.enums) {
    out->BeginObject();
    out->StringMember("schema", e.schema);
    out->StringMember("name", e.name);
    out->StringsMember("labels", e.labels);
    out->EndObject();
  }
  out->EndArray();
  out->Key("ignore");
  out->BeginArray();
  for (const auto& i : schema.ignore) {
    out->BeginObject();
    out->StringMember("pattern", i.pattern);
    out->StringMember("reason", i.reason);
    out->EndObject();
  }
  out->EndArray();
  out->StringsMember("join_tables", schema.join_tables);
  if (schema.names_matter) out->BoolMember("names_matter", true);
  out->EndObject();
}

Json WriteManifest(const Schema& schema) {
  JsonTokens tokens;
  WriteManifest(schema, &tokens);
  return TokensToJson(tokens);
}

}  // namespace schema_guard::core
