// The manifest writer: a Schema as the token stream of its JSON form. The
// strings point into the schema, which must outlive the stream.
#include "core/manifest.hpp"

namespace schema_guard::core {
namespace {

void CommentMember(const std::string& comment, JsonTokens* out) {
  if (!comment.empty()) out->StringMember("comment", comment);
}

// "owner", "grants" (only when not the default) and "comment".
void AccessTokens(const Access& access, JsonTokens* out) {
  if (!access.owner.empty()) out->StringMember("owner", access.owner);
  if (access.grants) {
    out->Key("grants");
    out->BeginArray();
    for (const auto& g : *access.grants) {
      out->BeginObject();
      out->StringMember("to", g.grantee);
      out->StringsMember("privileges", g.privileges);
      if (!g.grantable.empty()) out->StringsMember("grantable", g.grantable);
      out->EndObject();
    }
    out->EndArray();
  }
  CommentMember(access.comment, out);
}

void KeyTokens(const KeyConstraint& key, JsonTokens* out) {
  out->BeginObject();
  out->StringMember("name", key.name);
  out->StringsMember("columns", key.columns);
  CommentMember(key.comment, out);
  out->EndObject();
}

void ColumnTokens(const Column& c, JsonTokens* out) {
  out->BeginObject();
  out->StringMember("name", c.name);
  out->StringMember("type", c.type);
  out->BoolMember("not_null", c.not_null);
  if (c.default_expr) out->StringMember("default", *c.default_expr);
  if (!c.identity.empty()) out->StringMember("identity", c.identity);
  if (!c.generated.empty()) out->StringMember("generated", c.generated);
  if (!c.collation.empty()) out->StringMember("collation", c.collation);
  CommentMember(c.comment, out);
  if (c.inherited) out->BoolMember("inherited", true);
  out->EndObject();
}

void ConstraintTokens(const Table& t, JsonTokens* out) {
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
      CommentMember(c.comment, out);
      out->EndObject();
    }
    out->EndArray();
  }
  if (!t.exclusions.empty()) {
    out->Key("exclusions");
    out->BeginArray();
    for (const auto& x : t.exclusions) {
      out->BeginObject();
      out->StringMember("name", x.name);
      out->StringMember("definition", x.definition);
      CommentMember(x.comment, out);
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
      CommentMember(f.comment, out);
      out->EndObject();
    }
    out->EndArray();
  }
}

void IndexTokens(const Table& t, JsonTokens* out) {
  if (t.indexes.empty()) return;
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
    CommentMember(i.comment, out);
    out->EndObject();
  }
  out->EndArray();
}

void TriggerAndPolicyTokens(const Table& t, JsonTokens* out) {
  if (!t.triggers.empty()) {
    out->Key("triggers");
    out->BeginArray();
    for (const auto& g : t.triggers) {
      out->BeginObject();
      out->StringMember("name", g.name);
      out->StringMember("definition", g.definition);
      if (g.enabled != "origin") out->StringMember("enabled", g.enabled);
      CommentMember(g.comment, out);
      out->EndObject();
    }
    out->EndArray();
  }
  if (t.row_security) out->BoolMember("row_security", true);
  if (t.force_row_security) out->BoolMember("force_row_security", true);
  if (!t.policies.empty()) {
    out->Key("policies");
    out->BeginArray();
    for (const auto& p : t.policies) {
      out->BeginObject();
      out->StringMember("name", p.name);
      out->StringMember("command", p.command);
      if (!p.permissive) out->BoolMember("permissive", false);
      out->StringsMember("roles", p.roles);
      if (!p.using_expr.empty()) out->StringMember("using", p.using_expr);
      if (!p.check_expr.empty()) out->StringMember("check", p.check_expr);
      out->EndObject();
    }
    out->EndArray();
  }
}

void TableTokens(const Table& t, JsonTokens* out) {
  out->BeginObject();
  out->StringMember("schema", t.schema);
  out->StringMember("name", t.name);
  out->StringMember("kind", TableKindName(t.kind));
  if (!t.app.empty()) out->StringMember("app", t.app);
  out->Key("columns");
  out->BeginArray();
  for (const auto& c : t.columns) ColumnTokens(c, out);
  out->EndArray();
  ConstraintTokens(t, out);
  IndexTokens(t, out);
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
  if (!t.depends_on.empty()) out->StringsMember("depends_on", t.depends_on);
  if (!t.partition_bound.empty())
    out->StringMember("partition_bound", t.partition_bound);
  if (!t.partition_of.empty())
    out->StringMember("partition_of", t.partition_of);
  if (!t.partition_key.empty())
    out->StringMember("partition_key", t.partition_key);
  if (!t.inherits.empty()) out->StringsMember("inherits", t.inherits);
  if (t.unlogged) out->BoolMember("unlogged", true);
  TriggerAndPolicyTokens(t, out);
  AccessTokens(t.access, out);
  out->EndObject();
}

void KindsTokens(const Kinds& kinds, JsonTokens* out) {
  if (!kinds.Any()) return;
  std::vector<std::string> names;
  const std::pair<const char*, bool> listed[] = {
      {"schemas", kinds.schemas},
      {"extensions", kinds.extensions},
      {"types", kinds.types},
      {"collations", kinds.collations},
      {"sequences", kinds.sequences},
      {"functions", kinds.functions},
      {"triggers", kinds.triggers},
      {"policies", kinds.policies},
      {"privileges", kinds.privileges},
      {"owners", kinds.owners},
      {"comments", kinds.comments},
      {"exclusions", kinds.exclusions},
      {"persistence", kinds.persistence},
  };
  out->Key("kinds");
  out->BeginArray();
  for (const auto& [name, on] : listed) {
    if (on) out->String(name);
  }
  out->EndArray();
}

void TypeTokens(const UserType& t, JsonTokens* out) {
  out->BeginObject();
  out->StringMember("schema", t.schema);
  out->StringMember("name", t.name);
  out->StringMember("kind", t.kind);
  if (t.kind == "domain") {
    out->StringMember("base", t.base);
    if (t.not_null) out->BoolMember("not_null", true);
    if (t.default_expr) out->StringMember("default", *t.default_expr);
    if (!t.collation.empty()) out->StringMember("collation", t.collation);
    if (!t.checks.empty()) {
      out->Key("checks");
      out->BeginArray();
      for (const auto& c : t.checks) {
        out->BeginObject();
        out->StringMember("name", c.name);
        out->StringMember("expression", c.expression);
        out->EndObject();
      }
      out->EndArray();
    }
  } else {
    out->Key("attributes");
    out->BeginArray();
    for (const auto& a : t.attributes) {
      out->BeginObject();
      out->StringMember("name", a.name);
      out->StringMember("type", a.type);
      if (!a.collation.empty()) out->StringMember("collation", a.collation);
      out->EndObject();
    }
    out->EndArray();
  }
  AccessTokens(t.access, out);
  out->EndObject();
}

void SequenceTokens(const Sequence& s, JsonTokens* out) {
  out->BeginObject();
  out->StringMember("schema", s.schema);
  out->StringMember("name", s.name);
  out->StringMember("type", s.type);
  out->NumberMember("start", s.start);
  out->NumberMember("increment", s.increment);
  out->NumberMember("min", s.min);
  out->NumberMember("max", s.max);
  out->NumberMember("cache", s.cache);
  if (s.cycle) out->BoolMember("cycle", true);
  if (!s.owned_by.empty()) out->StringMember("owned_by", s.owned_by);
  AccessTokens(s.access, out);
  out->EndObject();
}

void FunctionTokens(const Function& f, JsonTokens* out) {
  out->BeginObject();
  out->StringMember("schema", f.schema);
  out->StringMember("name", f.name);
  out->StringMember("kind", f.kind);
  out->StringMember("identity", f.identity);
  out->StringMember("arguments", f.arguments);
  if (!f.result.empty()) out->StringMember("result", f.result);
  out->StringMember("language", f.language);
  out->StringMember("volatility", f.volatility);
  if (f.strict) out->BoolMember("strict", true);
  if (f.security_definer) out->BoolMember("security_definer", true);
  if (!f.config.empty()) out->StringsMember("config", f.config);
  out->StringMember("body_md5", f.body_md5);
  out->StringMember("definition", f.definition);
  if (!f.app.empty()) out->StringMember("app", f.app);
  AccessTokens(f.access, out);
  out->EndObject();
}

void ObjectTokens(const Schema& schema, JsonTokens* out) {
  if (!schema.schema_infos.empty()) {
    out->Key("schemas");
    out->BeginArray();
    for (const auto& s : schema.schema_infos) {
      out->BeginObject();
      out->StringMember("name", s.name);
      AccessTokens(s.access, out);
      out->EndObject();
    }
    out->EndArray();
  }
  if (schema.kinds.extensions || !schema.extensions.empty()) {
    out->Key("extensions");
    out->BeginArray();
    for (const auto& x : schema.extensions) {
      out->BeginObject();
      out->StringMember("name", x.name);
      out->StringMember("schema", x.schema);
      out->StringMember("version", x.version);
      out->EndObject();
    }
    out->EndArray();
  }
  if (!schema.collations.empty()) {
    out->Key("collations");
    out->BeginArray();
    for (const auto& c : schema.collations) {
      out->BeginObject();
      out->StringMember("schema", c.schema);
      out->StringMember("name", c.name);
      out->StringMember("provider", c.provider);
      out->StringMember("locale", c.locale);
      if (!c.ctype.empty()) out->StringMember("ctype", c.ctype);
      if (!c.deterministic) out->BoolMember("deterministic", false);
      CommentMember(c.comment, out);
      out->EndObject();
    }
    out->EndArray();
  }
  if (!schema.types.empty()) {
    out->Key("types");
    out->BeginArray();
    for (const auto& t : schema.types) TypeTokens(t, out);
    out->EndArray();
  }
  if (!schema.sequences.empty()) {
    out->Key("sequences");
    out->BeginArray();
    for (const auto& s : schema.sequences) SequenceTokens(s, out);
    out->EndArray();
  }
  if (!schema.functions.empty()) {
    out->Key("functions");
    out->BeginArray();
    for (const auto& f : schema.functions) FunctionTokens(f, out);
    out->EndArray();
  }
}

}  // namespace

void WriteManifest(const Schema& schema, JsonTokens* out) {
  // Room for every token at once (a generous count: reserved memory that
  // is never written costs nothing, a reallocation copies them all).
  std::size_t tokens = 64 + schema.functions.size() * 40 +
                       schema.sequences.size() * 30 + schema.types.size() * 40 +
                       schema.enums.size() * 30;
  for (const auto& t : schema.tables) {
    tokens += 80 + t.columns.size() * 12 + t.uniques.size() * 12 +
              t.checks.size() * 10 + t.foreign_keys.size() * 24 +
              t.indexes.size() * 20 + t.sequences.size() * 8 +
              t.exclusions.size() * 8 + t.triggers.size() * 10 +
              t.policies.size() * 24;
    if (t.access.grants) tokens += t.access.grants->size() * 20;
  }
  out->Reserve(tokens);
  out->BeginObject();
  out->StringMember("format", kManifestFormat);
  KindsTokens(schema.kinds, out);
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
    AccessTokens(e.access, out);
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
  ObjectTokens(schema, out);
  out->EndObject();
}

Json WriteManifest(const Schema& schema) {
  JsonTokens tokens;
  WriteManifest(schema, &tokens);
  return TokensToJson(tokens);
}

}  // namespace schema_guard::core
