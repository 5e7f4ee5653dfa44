#include "core/manifest.hpp"

#include <fmt/format.h>

#include <fmt/ranges.h>

#include <algorithm>
#include <initializer_list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/json_reader.hpp"

namespace schema_guard::core {
namespace {

const JsonDocument kManifest{
    "manifest",
    "The manifest format (\"schema_guard/1\") is described in the README "
    "under \"The manifest\".",
    "Start from the output of schema_guard.snapshot()."};

KeyConstraint ReadKey(const JsonNode& object, const Path& path) {
  OnlyKeys(object, path, {"name", "columns", "comment"});
  return {OptionalString(object, "name", path),
          Strings(object, "columns", path, true),
          OptionalString(object, "comment", path)};
}

// One of `allowed`, or `fallback` when absent.
std::string OneOf(const JsonNode& object, std::string_view key,
                  const Path& path,
                  std::initializer_list<std::string_view> allowed,
                  std::string_view fallback) {
  std::string value = OptionalString(object, key, path, fallback);
  for (auto a : allowed) {
    if (value == a) return value;
  }
  std::vector<std::string> quoted;
  for (auto a : allowed) quoted.push_back(fmt::format("\"{}\"", a));
  Fail(path.Member(key),
       fmt::format("expected one of {}", fmt::join(quoted, ", ")));
}

// A whole number, as a JSON number or a string (bigint limits do not fit
// a double).
long long OptionalInteger(const JsonNode& object, std::string_view key,
                          const Path& path, long long fallback) {
  const JsonNode* value = object.Find(key);
  if (value == nullptr || value->is_null()) return fallback;
  if (value->kind() != Json::Kind::kNumber &&
      value->kind() != Json::Kind::kString) {
    Fail(path.Member(key), "expected a number");
  }
  const std::string text(value->text());
  std::size_t used = 0;
  long long number = 0;
  try {
    number = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size())
    Fail(path.Member(key), "expected a whole number");
  return number;
}

constexpr std::string_view kPrivileges[] = {
    "SELECT",     "INSERT",  "UPDATE",  "DELETE", "TRUNCATE",
    "REFERENCES", "TRIGGER", "EXECUTE", "USAGE",  "CREATE"};

std::vector<std::string> ReadPrivileges(const JsonNode& object,
                                        std::string_view key,
                                        const Path& path) {
  std::vector<std::string> listed = Strings(object, key, path, false);
  std::vector<std::string> out;
  // In the fixed order, so that lists compare.
  for (auto p : kPrivileges) {
    if (std::find(listed.begin(), listed.end(), p) != listed.end())
      out.emplace_back(p);
  }
  for (std::size_t i = 0; i < listed.size(); ++i) {
    if (std::find(std::begin(kPrivileges), std::end(kPrivileges), listed[i]) ==
        std::end(kPrivileges)) {
      Path list = path.Member(key);
      Fail(list.Element(i), fmt::format("unknown privilege \"{}\"", listed[i]));
    }
  }
  return out;
}

// "owner", "grants" and "comment" of an object.
Access ReadAccess(const JsonNode& object, const Path& path) {
  Access access;
  access.owner = OptionalString(object, "owner", path);
  access.comment = OptionalString(object, "comment", path);
  if (Optional(object, "grants", Json::Kind::kArray, path) == nullptr)
    return access;
  access.grants.emplace();
  EachObject(object, "grants", path, [&](const JsonNode& g, const Path& p) {
    OnlyKeys(g, p, {"to", "privileges", "grantable"});
    Grant grant;
    grant.grantee = RequiredString(g, "to", p);
    grant.privileges = ReadPrivileges(g, "privileges", p);
    grant.grantable = ReadPrivileges(g, "grantable", p);
    for (const auto& option : grant.grantable) {
      if (std::find(grant.privileges.begin(), grant.privileges.end(), option) ==
          grant.privileges.end()) {
        Fail(p.Member("grantable"),
             fmt::format("\"{}\" is not among the privileges", option));
      }
    }
    access.grants->push_back(std::move(grant));
  });
  return access;
}

// Canonical spellings of the type names a manifest uses, and whether each
// is a serial, each worked out once: a large manifest repeats a few dozen
// types many thousand times.
class TypeSpellings {
 public:
  struct Spelling {
    std::string canonical;
    bool serial;
  };
  const Spelling& Of(const std::string& type) {
    auto it = spellings_.find(type);
    if (it == spellings_.end()) {
      it = spellings_
               .emplace(type, Spelling{CanonicalType(type), IsSerialType(type)})
               .first;
    }
    return it->second;
  }
  const std::string& Canonical(const std::string& type) {
    return Of(type).canonical;
  }

 private:
  std::unordered_map<std::string, Spelling> spellings_;
};

Column ReadColumn(const JsonNode& object, const Path& path,
                  TypeSpellings& types) {
  OnlyKeys(object, path,
           {"name", "type", "not_null", "default", "identity", "generated",
            "collation", "comment", "inherited"});
  Column c;
  c.name = RequiredString(object, "name", path);
  const TypeSpellings::Spelling& type =
      types.Of(RequiredString(object, "type", path));
  c.serial = type.serial;
  c.type = type.canonical;
  c.not_null = OptionalBool(object, "not_null", path, false) || c.serial;
  if (const JsonNode* d =
          Optional(object, "default", Json::Kind::kString, path)) {
    c.default_expr = d->text();
  }
  c.identity = OptionalString(object, "identity", path);
  if (!c.identity.empty() && c.identity != "always" &&
      c.identity != "by_default") {
    Fail(path.Member("identity"), "expected \"always\" or \"by_default\"");
  }
  c.generated = OptionalString(object, "generated", path);
  c.collation = OptionalString(object, "collation", path);
  c.comment = OptionalString(object, "comment", path);
  c.inherited = OptionalBool(object, "inherited", path, false);
  return c;
}

std::string ReadAction(const JsonNode& object, std::string_view key,
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

Table ReadTable(const JsonNode& object, const Path& path,
                TypeSpellings& types) {
  OnlyKeys(object, path,
           {"schema",
            "name",
            "kind",
            "app",
            "columns",
            "primary_key",
            "unique",
            "checks",
            "foreign_keys",
            "indexes",
            "sequences",
            "view",
            "partition_bound",
            "partition_of",
            "partition_key",
            "inherits",
            "unlogged",
            "exclusions",
            "triggers",
            "row_security",
            "force_row_security",
            "policies",
            "owner",
            "grants",
            "comment",
            "depends_on"});
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
  const JsonNode& columns =
      Required(object, "columns", Json::Kind::kArray, path);
  t.columns.reserve(columns.items().size());
  EachObject(object, "columns", path, [&](const JsonNode& c, const Path& p) {
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
  if (const JsonNode* pk =
          Optional(object, "primary_key", Json::Kind::kObject, path)) {
    t.primary_key = ReadKey(*pk, path.Member("primary_key"));
  }
  EachObject(object, "unique", path, [&](const JsonNode& u, const Path& p) {
    t.uniques.push_back(ReadKey(u, p));
  });
  EachObject(object, "checks", path, [&](const JsonNode& c, const Path& p) {
    OnlyKeys(c, p, {"name", "expression", "validated", "comment"});
    t.checks.push_back({OptionalString(c, "name", p),
                        RequiredString(c, "expression", p),
                        OptionalBool(c, "validated", p, true),
                        OptionalString(c, "comment", p)});
  });
  EachObject(object, "exclusions", path, [&](const JsonNode& x, const Path& p) {
    OnlyKeys(x, p, {"name", "definition", "comment"});
    t.exclusions.push_back({RequiredString(x, "name", p),
                            RequiredString(x, "definition", p),
                            OptionalString(x, "comment", p)});
  });
  EachObject(
      object, "foreign_keys", path, [&](const JsonNode& f, const Path& p) {
        OnlyKeys(f, p,
                 {"name", "columns", "references", "on_delete", "on_update",
                  "deferrable", "initially_deferred", "validated", "comment"});
        ForeignKey fk;
        fk.name = OptionalString(f, "name", p);
        fk.columns = Strings(f, "columns", p, true);
        const JsonNode& ref = Required(f, "references", Json::Kind::kObject, p);
        Path ref_path = p.Member("references");
        OnlyKeys(ref, ref_path, {"schema", "table", "columns"});
        fk.ref_schema = OptionalString(ref, "schema", ref_path, t.schema);
        fk.ref_table = RequiredString(ref, "table", ref_path);
        fk.ref_columns = Strings(ref, "columns", ref_path, true);
        if (fk.ref_columns.size() != fk.columns.size()) {
          Fail(ref_path.Member("columns"),
               "must have as many columns as the key");
        }
        fk.on_delete = ReadAction(f, "on_delete", p);
        fk.on_update = ReadAction(f, "on_update", p);
        fk.deferrable = OptionalBool(f, "deferrable", p, false);
        fk.initially_deferred = OptionalBool(f, "initially_deferred", p, false);
        fk.validated = OptionalBool(f, "validated", p, true);
        fk.comment = OptionalString(f, "comment", p);
        t.foreign_keys.push_back(std::move(fk));
      });
  EachObject(object, "indexes", path, [&](const JsonNode& i, const Path& p) {
    OnlyKeys(
        i, p,
        {"name", "keys", "unique", "method", "where", "include", "comment"});
    Index index;
    index.name = OptionalString(i, "name", p);
    index.keys = Strings(i, "keys", p, true);
    index.unique = OptionalBool(i, "unique", p, false);
    index.method = OptionalString(i, "method", p, "btree");
    index.predicate = OptionalString(i, "where", p);
    index.include = Strings(i, "include", p, false);
    index.comment = OptionalString(i, "comment", p);
    t.indexes.push_back(std::move(index));
  });
  EachObject(object, "sequences", path, [&](const JsonNode& s, const Path& p) {
    OnlyKeys(s, p, {"column", "name"});
    t.sequences.push_back(
        {RequiredString(s, "column", p), OptionalString(s, "name", p)});
  });
  t.view_definition = OptionalString(object, "view", path);
  t.partition_bound = OptionalString(object, "partition_bound", path);
  t.partition_of = OptionalString(object, "partition_of", path);
  t.partition_key = OptionalString(object, "partition_key", path);
  t.inherits = Strings(object, "inherits", path, false);
  t.unlogged = OptionalBool(object, "unlogged", path, false);
  EachObject(object, "triggers", path, [&](const JsonNode& g, const Path& p) {
    OnlyKeys(g, p, {"name", "definition", "enabled", "comment"});
    t.triggers.push_back(
        {RequiredString(g, "name", p), RequiredString(g, "definition", p),
         OneOf(g, "enabled", p, {"origin", "disabled", "replica", "always"},
               "origin"),
         OptionalString(g, "comment", p)});
  });
  t.row_security = OptionalBool(object, "row_security", path, false);
  t.force_row_security =
      OptionalBool(object, "force_row_security", path, false);
  EachObject(object, "policies", path, [&](const JsonNode& o, const Path& p) {
    OnlyKeys(o, p,
             {"name", "command", "permissive", "roles", "using", "check"});
    Policy policy;
    policy.name = RequiredString(o, "name", p);
    policy.command =
        OneOf(o, "command", p, {"all", "select", "insert", "update", "delete"},
              "all");
    policy.permissive = OptionalBool(o, "permissive", p, true);
    policy.roles = Strings(o, "roles", p, false);
    if (policy.roles.empty()) policy.roles.push_back("public");
    std::sort(policy.roles.begin(), policy.roles.end());
    policy.using_expr = OptionalString(o, "using", p);
    policy.check_expr = OptionalString(o, "check", p);
    t.policies.push_back(std::move(policy));
  });
  t.access = ReadAccess(object, path);
  t.depends_on = Strings(object, "depends_on", path, false);
  return t;
}

Kinds ReadKinds(const JsonNode& document, const Path& root) {
  Kinds kinds;
  std::vector<std::string> listed = Strings(document, "kinds", root, false);
  const std::pair<std::string_view, bool Kinds::*> names[] = {
      {"schemas", &Kinds::schemas},
      {"extensions", &Kinds::extensions},
      {"types", &Kinds::types},
      {"collations", &Kinds::collations},
      {"sequences", &Kinds::sequences},
      {"functions", &Kinds::functions},
      {"triggers", &Kinds::triggers},
      {"policies", &Kinds::policies},
      {"privileges", &Kinds::privileges},
      {"owners", &Kinds::owners},
      {"comments", &Kinds::comments},
      {"exclusions", &Kinds::exclusions},
      {"persistence", &Kinds::persistence},
  };
  Path list = root.Member("kinds");
  for (std::size_t i = 0; i < listed.size(); ++i) {
    bool known = false;
    for (const auto& [name, member] : names) {
      if (listed[i] == name) {
        kinds.*member = true;
        known = true;
      }
    }
    if (!known)
      Fail(list.Element(i), fmt::format("unknown kind \"{}\"", listed[i]));
  }
  return kinds;
}

UserType ReadType(const JsonNode& object, const Path& path,
                  TypeSpellings& types) {
  OnlyKeys(object, path,
           {"schema", "name", "kind", "attributes", "base", "not_null",
            "default", "collation", "checks", "owner", "grants", "comment"});
  UserType t;
  t.schema = OptionalString(object, "schema", path, "public");
  t.name = RequiredString(object, "name", path);
  t.kind = OneOf(object, "kind", path, {"composite", "domain"}, "composite");
  EachObject(object, "attributes", path, [&](const JsonNode& a, const Path& p) {
    OnlyKeys(a, p, {"name", "type", "collation"});
    t.attributes.push_back({RequiredString(a, "name", p),
                            types.Canonical(RequiredString(a, "type", p)),
                            OptionalString(a, "collation", p)});
  });
  std::string base = OptionalString(object, "base", path);
  if (t.kind == "domain" && base.empty())
    Fail(path.Member("base"), "a domain needs its base type");
  t.base = base.empty() ? base : types.Canonical(base);
  t.not_null = OptionalBool(object, "not_null", path, false);
  if (const JsonNode* d =
          Optional(object, "default", Json::Kind::kString, path))
    t.default_expr = d->text();
  t.collation = OptionalString(object, "collation", path);
  EachObject(object, "checks", path, [&](const JsonNode& c, const Path& p) {
    OnlyKeys(c, p, {"name", "expression"});
    t.checks.push_back({RequiredString(c, "name", p),
                        RequiredString(c, "expression", p), true, ""});
  });
  t.access = ReadAccess(object, path);
  return t;
}

Sequence ReadSequence(const JsonNode& object, const Path& path,
                      TypeSpellings& types) {
  OnlyKeys(object, path,
           {"schema", "name", "type", "start", "increment", "min", "max",
            "cache", "cycle", "owned_by", "owner", "grants", "comment"});
  Sequence s;
  s.schema = OptionalString(object, "schema", path, "public");
  s.name = RequiredString(object, "name", path);
  s.type = types.Canonical(OptionalString(object, "type", path, "bigint"));
  s.increment = OptionalInteger(object, "increment", path, 1);
  bool up = s.increment > 0;
  long long type_max = s.type == "smallint"  ? 32767LL
                       : s.type == "integer" ? 2147483647LL
                                             : 9223372036854775807LL;
  s.min = OptionalInteger(object, "min", path, up ? 1 : -type_max - 1);
  s.max = OptionalInteger(object, "max", path, up ? type_max : -1);
  s.start = OptionalInteger(object, "start", path, up ? s.min : s.max);
  s.cache = OptionalInteger(object, "cache", path, 1);
  s.cycle = OptionalBool(object, "cycle", path, false);
  s.owned_by = OptionalString(object, "owned_by", path);
  s.access = ReadAccess(object, path);
  return s;
}

Function ReadFunction(const JsonNode& object, const Path& path) {
  OnlyKeys(object, path,
           {"schema", "name", "kind", "identity", "arguments", "result",
            "language", "volatility", "strict", "security_definer", "config",
            "body_md5", "definition", "app", "owner", "grants", "comment"});
  Function f;
  f.schema = OptionalString(object, "schema", path, "public");
  f.name = RequiredString(object, "name", path);
  f.kind = OneOf(object, "kind", path, {"function", "procedure"}, "function");
  f.identity = OptionalString(object, "identity", path);
  f.arguments = OptionalString(object, "arguments", path);
  f.result = OptionalString(object, "result", path);
  f.language = RequiredString(object, "language", path);
  f.volatility = OneOf(object, "volatility", path,
                       {"immutable", "stable", "volatile"}, "volatile");
  f.strict = OptionalBool(object, "strict", path, false);
  f.security_definer = OptionalBool(object, "security_definer", path, false);
  f.config = Strings(object, "config", path, false);
  f.body_md5 = RequiredString(object, "body_md5", path);
  f.definition = RequiredString(object, "definition", path);
  f.app = OptionalString(object, "app", path);
  f.access = ReadAccess(object, path);
  return f;
}

// schemas, extensions, collations, types, sequences, functions.
void ReadObjects(const JsonNode& document, const Path& root,
                 TypeSpellings& types, Schema* schema) {
  EachObject(document, "schemas", root, [&](const JsonNode& s, const Path& p) {
    OnlyKeys(s, p, {"name", "owner", "grants", "comment"});
    schema->schema_infos.push_back(
        {RequiredString(s, "name", p), ReadAccess(s, p)});
  });
  EachObject(
      document, "extensions", root, [&](const JsonNode& x, const Path& p) {
        OnlyKeys(x, p, {"name", "schema", "version"});
        schema->extensions.push_back({RequiredString(x, "name", p),
                                      OptionalString(x, "schema", p, "public"),
                                      OptionalString(x, "version", p)});
      });
  EachObject(
      document, "collations", root, [&](const JsonNode& c, const Path& p) {
        OnlyKeys(c, p,
                 {"schema", "name", "provider", "locale", "ctype",
                  "deterministic", "comment"});
        schema->collations.push_back(
            {OptionalString(c, "schema", p, "public"),
             RequiredString(c, "name", p),
             OneOf(c, "provider", p, {"libc", "icu"}, "libc"),
             RequiredString(c, "locale", p), OptionalString(c, "ctype", p),
             OptionalBool(c, "deterministic", p, true),
             OptionalString(c, "comment", p)});
      });
  EachObject(document, "types", root, [&](const JsonNode& t, const Path& p) {
    schema->types.push_back(ReadType(t, p, types));
  });
  EachObject(document, "sequences", root,
             [&](const JsonNode& s, const Path& p) {
               schema->sequences.push_back(ReadSequence(s, p, types));
             });
  EachObject(document, "functions", root,
             [&](const JsonNode& f, const Path& p) {
               schema->functions.push_back(ReadFunction(f, p));
             });
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
    for (const auto& t : schema.types) {
      if (type == t.name || type == t.schema + "." + t.name) return true;
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
      if (verdict.kind == TypeVerdict::Kind::kUnknown &&
          schema.extensions.empty()) {
        Fail(column.Member("type"),
             fmt::format("type \"{}\" does not exist in this database and "
                         "the manifest does not declare it",
                         type));
      }
    }
  }
}

}  // namespace

Schema ReadManifest(const JsonNode& document, const TypeChecker& check) {
  const Path root(kManifest);
  Expect(document, Json::Kind::kObject, root);
  OnlyKeys(document, root,
           {"format", "tables", "enums", "ignore", "join_tables",
            "names_matter", "generated_at", "source", "kinds", "schemas",
            "extensions", "collations", "types", "sequences", "functions"});
  const JsonNode& format =
      Required(document, "format", Json::Kind::kString, root);
  if (format.text() != kManifestFormat) {
    throw Error(
        ErrorCode::kInvalidParameterValue,
        fmt::format("unsupported manifest format \"{}\"", format.text()),
        fmt::format("This release reads \"{}\".", kManifestFormat),
        "Produce the manifest with schema_guard.snapshot() of this release.");
  }
  Schema schema;
  schema.tables.reserve(
      Required(document, "tables", Json::Kind::kArray, root).items().size());
  std::unordered_map<std::string, std::size_t> seen;
  TypeSpellings types;
  EachObject(document, "tables", root, [&](const JsonNode& t, const Path& p) {
    Table table = ReadTable(t, p, types);
    std::string key = table.schema + "." + table.name;
    auto [it, inserted] = seen.emplace(key, schema.tables.size());
    if (!inserted) {
      Fail(p, fmt::format("duplicate table \"{}\" (also tables[{}])", key,
                          it->second));
    }
    schema.tables.push_back(std::move(table));
  });
  EachObject(document, "enums", root, [&](const JsonNode& e, const Path& p) {
    OnlyKeys(e, p, {"schema", "name", "labels", "owner", "grants", "comment"});
    schema.enums.push_back({OptionalString(e, "schema", p, "public"),
                            RequiredString(e, "name", p),
                            Strings(e, "labels", p, true), ReadAccess(e, p)});
  });
  schema.kinds = ReadKinds(document, root);
  ReadObjects(document, root, types, &schema);
  EachObject(document, "ignore", root, [&](const JsonNode& i, const Path& p) {
    OnlyKeys(i, p, {"pattern", "reason"});
    schema.ignore.push_back(
        {RequiredString(i, "pattern", p), OptionalString(i, "reason", p)});
  });
  schema.join_tables = Strings(document, "join_tables", root, false);
  schema.names_matter = OptionalBool(document, "names_matter", root, false);
  if (check) CheckTypes(schema, root, check);
  return schema;
}

Schema ReadManifest(std::string_view text, const TypeChecker& check) {
  return ReadManifest(ParseJsonNodes(text).root(), check);
}

Schema ReadManifest(const Json& document, const TypeChecker& check) {
  std::string text = ToJsonText(document);
  return ReadManifest(std::string_view(text), check);
}

}  // namespace schema_guard::core
