#include "pg/catalog_reader.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "core/json.hpp"
#include "pg/bridge.hpp"
#include "pg/catalog_consistency.hpp"
#include "pg/catalog_objects.hpp"
#include "pg/catalog_raw.hpp"
#include "pg/type_names.hpp"

extern "C" {
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_am.h"
#include "catalog/pg_attrdef.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_description.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_index.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "storage/bufmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
}

// The catalog is read with direct scans of the system catalogs, not with
// SQL: one heap scan each of pg_class, pg_attribute, pg_attrdef,
// pg_constraint, pg_index and pg_depend under one snapshot, whose rows are
// matched to the relations read by OID (catalog_scans.cpp). Expressions are
// printed by the same functions the SQL spellings call (pg_get_expr,
// pg_get_constraintdef, pg_get_indexdef, pg_get_viewdef), so the text is
// exactly what those print, each relation locked while it is printed
// (catalog_consistency.hpp: concurrent DDL never breaks a read). A default
// expression, which cannot refer to a column, is printed without a
// relation context: building one opens the relation (a relcache entry per
// table), which would cost more than the rest of the read.
//
// Everything PostgreSQL hands back is gathered into plain structs in a
// scratch memory context inside PgTry, and only then turned into the C++
// model: no C++ object lives in a frame that may longjmp.

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

// ------------------------------------------------------------- C++ side

std::string Action(char code) {
  switch (code) {
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

std::string Str(const char* text) {
  return text == nullptr ? std::string() : std::string(text);
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
    std::vector<std::string> out;
    // The table may have been dropped or altered since the catalog was
    // read: then there are no app labels to use.
    try {
      InRolledBackSubtransaction([&] {
        QueryResult apps = spi.Query(sql.c_str());
        for (std::size_t r = 0; r < apps.rows(); ++r)
          out.push_back(apps.Text(r, 0));
      });
    } catch (const PgError& e) {
      if (e.sqlerrcode() != ERRCODE_UNDEFINED_TABLE &&
          e.sqlerrcode() != ERRCODE_UNDEFINED_COLUMN) {
        throw;
      }
      out.clear();
    }
    return out;
  }
  return {};
}

// Default and generation expressions as pg_get_expr prints them. A default
// cannot refer to a column, so it prints the same without the relation,
// whose context would cost a relcache entry per table; and the same default
// (0, now(), false) recurs across a schema, so each distinct expression tree
// is printed once. Trees differ in their token locations only when they
// were written at different places of a statement, which the text ignores.
class Expressions {
 public:
  // Prints the default and returns its number (see Text).
  int Print(const RawColumn& column, Oid relid) {
    if (column.default_has_var) {
      texts_.push_back(Deparse(column.default_node, relid));
      return static_cast<int>(texts_.size() - 1);
    }
    // The key is built in one buffer reused by every lookup, and copied
    // only for a tree not seen yet.
    WithoutLocations(column.default_node, &key_);
    auto it = printed_.find(key_);
    if (it == printed_.end()) {
      texts_.push_back(Deparse(column.default_node, InvalidOid));
      it = printed_.emplace(key_, static_cast<int>(texts_.size() - 1)).first;
    }
    return it->second;
  }

  const std::string& Text(int number) const {
    return texts_[static_cast<std::size_t>(number)];
  }

 private:
  static std::string Deparse(const char* node, Oid relid) {
    const char* printed = nullptr;
    PgTry([&]() noexcept {
      printed = TextOf(DirectFunctionCall2(
          pg_get_expr, PointerGetDatum(cstring_to_text(node)),
          ObjectIdGetDatum(relid)));
    });
    return std::string(printed);
  }

  static void WithoutLocations(std::string_view node, std::string* out) {
    constexpr std::string_view kLocation = ":location ";
    std::string& key = *out;
    key.clear();
    std::size_t from = 0;
    while (true) {
      std::size_t at = node.find(kLocation, from);
      if (at == std::string_view::npos) break;
      key.append(node, from, at - from);
      std::size_t end = at + kLocation.size();
      if (end < node.size() && node[end] == '-') ++end;
      while (end < node.size() && node[end] >= '0' && node[end] <= '9') ++end;
      from = end;
    }
    key.append(node, from, std::string_view::npos);
  }

  std::unordered_map<std::string, int> printed_;
  std::vector<std::string> texts_;
  std::string key_;
};

// Relations outside the schemas read (what a foreign key refers to, an
// inheritance parent): names and column names, looked up once.
class OtherRelations {
 public:
  std::pair<std::string, std::string> Name(Oid relid) {
    Other& other = others_[relid];
    if (!other.known) {
      const char* schema = nullptr;
      const char* name = nullptr;
      PgTry([&]() noexcept {
        name = get_rel_name(relid);
        schema = get_namespace_name(get_rel_namespace(relid));
      });
      other.schema = Str(schema);
      other.name = Str(name);
      other.known = true;
    }
    return {other.schema, other.name};
  }
  std::string Column(Oid relid, int16 attnum) {
    Other& other = others_[relid];
    auto it = other.columns.find(attnum);
    if (it != other.columns.end()) return it->second;
    const char* name = nullptr;
    PgTry([&]() noexcept { name = get_attname(relid, attnum, true); });
    std::string text = name != nullptr ? name : std::to_string(attnum);
    other.columns.emplace(attnum, text);
    return text;
  }

 private:
  struct Other {
    bool known = false;
    std::string schema;
    std::string name;
    std::unordered_map<int, std::string> columns;
  };
  std::unordered_map<Oid, Other> others_;
};

// Turns the raw relations into the model's tables.
class TableBuilder {
 public:
  TableBuilder(const RawRelations& raw,
               const std::unordered_map<Oid, std::string>& schema_names,
               const Expressions& expressions, RoleNames& roles)
      : raw_(raw),
        schema_names_(schema_names),
        expressions_(expressions),
        roles_(roles) {}

  core::Table Build(const RawRelation& r) {
    core::Table t;
    t.schema = schema_names_.at(r.namespace_oid);
    t.name = r.name;
    t.kind = r.kind == RELKIND_PARTITIONED_TABLE
                 ? core::TableKind::kPartitionedTable
             : r.kind == RELKIND_VIEW    ? core::TableKind::kView
             : r.kind == RELKIND_MATVIEW ? core::TableKind::kMaterializedView
                                         : core::TableKind::kTable;
    t.partition_bound = Str(r.partition_bound);
    if (r.partition_parent != nullptr) {
      t.partition_of =
          Str(r.partition_parent_schema) + "." + r.partition_parent;
    }
    t.partition_key = Str(r.partition_key);
    t.view_definition = Str(r.view_definition);
    t.unlogged = r.persistence == RELPERSISTENCE_UNLOGGED;
    Columns(r, &t);
    Constraints(r, &t);
    Indexes(r, &t);
    for (int k = 0; k < r.sequence_count; ++k) {
      const RawColumn* c = ColumnByNumber(&r, r.sequences[k].attnum);
      if (c != nullptr) t.sequences.push_back({c->name, r.sequences[k].name});
    }
    Surroundings(r, &t);
    return t;
  }

 private:
  const char* Comment(Oid classoid, Oid objoid, int32 subid = 0) const {
    return FindComment(&raw_, classoid, objoid, subid);
  }
  std::string RelationName(Oid relid) {
    const RawRelation* r = FindRelation(raw_.items, raw_.count, relid);
    if (r != nullptr) return schema_names_.at(r->namespace_oid) + "." + r->name;
    auto [schema, name] = others_.Name(relid);
    return schema + "." + name;
  }

  void Columns(const RawRelation& r, core::Table* t) {
    t->columns.reserve(static_cast<std::size_t>(r.column_count));
    for (int k = 0; k < r.column_count; ++k) {
      const RawColumn& raw_column = r.columns[k];
      core::Column c;
      c.name = raw_column.name;
      c.type = types_.Get(raw_column.type_oid, raw_column.typmod);
      c.not_null = raw_column.not_null;
      c.identity = raw_column.identity == ATTRIBUTE_IDENTITY_ALWAYS ? "always"
                   : raw_column.identity == ATTRIBUTE_IDENTITY_BY_DEFAULT
                       ? "by_default"
                       : "";
      if (raw_column.printed_default >= 0) {
        std::string printed = expressions_.Text(raw_column.printed_default);
        if (raw_column.generated == ATTRIBUTE_GENERATED_STORED) {
          c.generated = std::move(printed);
        } else {
          c.default_expr = std::move(printed);
        }
      }
      c.collation = Str(raw_column.collation);
      c.comment = Str(Comment(RelationRelationId, r.oid, raw_column.attnum));
      c.inherited = raw_column.inherited;
      t->columns.push_back(std::move(c));
    }
  }

  std::vector<std::string> KeyNames(const RawRelation& r, const int16* keys,
                                    int count) {
    std::vector<std::string> names;
    for (int k = 0; k < count; ++k) {
      const RawColumn* c = ColumnByNumber(&r, keys[k]);
      names.push_back(c != nullptr ? std::string(c->name)
                                   : std::to_string(keys[k]));
    }
    return names;
  }

  core::ForeignKey ForeignKey(const RawRelation& r, const RawConstraint& con) {
    core::ForeignKey fk;
    fk.name = con.name;
    fk.columns = KeyNames(r, con.keys, con.key_count);
    const RawRelation* ref =
        FindRelation(raw_.items, raw_.count, con.ref_relid);
    if (ref != nullptr) {
      fk.ref_schema = schema_names_.at(ref->namespace_oid);
      fk.ref_table = ref->name;
      fk.ref_columns = KeyNames(*ref, con.ref_keys, con.ref_key_count);
    } else {
      std::tie(fk.ref_schema, fk.ref_table) = others_.Name(con.ref_relid);
      for (int n = 0; n < con.ref_key_count; ++n)
        fk.ref_columns.push_back(
            others_.Column(con.ref_relid, con.ref_keys[n]));
    }
    fk.on_delete = Action(con.on_delete);
    fk.on_update = Action(con.on_update);
    fk.deferrable = con.deferrable;
    fk.initially_deferred = con.deferred;
    fk.validated = con.validated;
    return fk;
  }

  void Constraints(const RawRelation& r, core::Table* t) {
    for (int k = 0; k < r.constraint_count; ++k) {
      const RawConstraint& con = r.constraints[k];
      std::string comment = Str(Comment(ConstraintRelationId, con.oid));
      if (con.type == CONSTRAINT_PRIMARY) {
        t->primary_key = core::KeyConstraint{
            con.name, KeyNames(r, con.keys, con.key_count), comment};
      } else if (con.type == CONSTRAINT_UNIQUE) {
        t->uniques.push_back(
            {con.name, KeyNames(r, con.keys, con.key_count), comment});
      } else if (con.type == CONSTRAINT_CHECK) {
        t->checks.push_back({con.name, WithoutNotValid(Str(con.definition)),
                             con.validated, comment});
      } else if (con.type == CONSTRAINT_EXCLUSION) {
        t->exclusions.push_back({con.name, Str(con.definition), comment});
      } else if (con.type == CONSTRAINT_FOREIGN) {
        t->foreign_keys.push_back(ForeignKey(r, con));
        t->foreign_keys.back().comment = comment;
      }
    }
  }

  void Indexes(const RawRelation& r, core::Table* t) {
    for (int k = 0; k < r.index_count; ++k) {
      const RawIndex& raw_index = r.indexes[k];
      core::Index index;
      index.name = raw_index.name;
      index.unique = raw_index.unique;
      index.method = raw_index.method;
      index.keys.assign(raw_index.keys, raw_index.keys + raw_index.key_count);
      index.include.assign(raw_index.include,
                           raw_index.include + raw_index.include_count);
      index.predicate = Str(raw_index.predicate);
      index.comment = Str(Comment(RelationRelationId, raw_index.oid));
      t->indexes.push_back(std::move(index));
    }
    std::sort(t->indexes.begin(), t->indexes.end(),
              [](const core::Index& a, const core::Index& b) {
                return a.name < b.name;
              });
  }

  // Owner, grants, comment, inheritance, triggers, policies, and what a
  // view reads.
  void Surroundings(const RawRelation& r, core::Table* t) {
    t->access = AccessOf(roles_, "TABLE", r.owner, r.acl,
                         Comment(RelationRelationId, r.oid));
    for (int k = 0; k < r.parent_count; ++k)
      t->inherits.push_back(RelationName(r.parents[k]));
    for (int k = 0; k < r.trigger_count; ++k) {
      const RawTrigger& g = r.triggers[k];
      t->triggers.push_back({g.name, Str(g.definition),
                             TriggerEnabled(g.enabled),
                             Str(Comment(TriggerRelationId, g.oid))});
    }
    t->row_security = r.row_security;
    t->force_row_security = r.force_row_security;
    for (int k = 0; k < r.policy_count; ++k) {
      const RawPolicy& p = r.policies[k];
      core::Policy policy;
      policy.name = p.name;
      policy.command = PolicyCommand(p.command);
      policy.permissive = p.permissive;
      for (int n = 0; n < p.role_count; ++n)
        policy.roles.emplace_back(p.roles[n]);
      std::sort(policy.roles.begin(), policy.roles.end());
      policy.using_expr = Str(p.using_expr);
      policy.check_expr = Str(p.check_expr);
      t->policies.push_back(std::move(policy));
    }
    for (int k = 0; k < r.read_count; ++k) {
      std::string relation = RelationName(r.reads[k]);
      if (r.read_attnums[k] == 0) {
        t->depends_on.push_back(relation);
        continue;
      }
      const RawRelation* read =
          FindRelation(raw_.items, raw_.count, r.reads[k]);
      const RawColumn* c =
          read != nullptr ? ColumnByNumber(read, r.read_attnums[k]) : nullptr;
      std::string column = c != nullptr
                               ? std::string(c->name)
                               : others_.Column(r.reads[k], r.read_attnums[k]);
      std::string depends_on = relation;
      depends_on += '.';
      depends_on += column;
      t->depends_on_columns.push_back(std::move(depends_on));
    }
    std::sort(t->depends_on.begin(), t->depends_on.end());
  }

  static std::string TriggerEnabled(char enabled) {
    switch (enabled) {
      case TRIGGER_DISABLED:
        return "disabled";
      case TRIGGER_FIRES_ON_REPLICA:
        return "replica";
      case TRIGGER_FIRES_ALWAYS:
        return "always";
      default:
        return "origin";
    }
  }

  static std::string PolicyCommand(char command) {
    switch (command) {
      case 'r':
        return "select";
      case 'a':
        return "insert";
      case 'w':
        return "update";
      case 'd':
        return "delete";
      default:
        return "all";
    }
  }

  const RawRelations& raw_;
  const std::unordered_map<Oid, std::string>& schema_names_;
  const Expressions& expressions_;
  RoleNames& roles_;
  TypeNames types_;
  OtherRelations others_;
};

}  // namespace

std::vector<std::string> UserSchemas(SpiSession& spi) {
  QueryResult result = spi.Query(kUserSchemas);
  std::vector<std::string> out;
  for (std::size_t r = 0; r < result.rows(); ++r)
    out.push_back(result.Text(r, 0));
  return out;
}

std::size_t EstimatedCatalogBytes() {
  // Measured on the 10,000-table benchmark: ~660 bytes of heap per
  // pg_attribute row. reltuples is -1 before the first VACUUM or ANALYZE;
  // then the pages are counted at ~30 rows each.
  constexpr double kBytesPerAttribute = 660;
  constexpr double kRowsPerPage = 30;
  double rows = 0;
  PgTry([&]() noexcept {
    Relation attributes = table_open(AttributeRelationId, AccessShareLock);
    rows = attributes->rd_rel->reltuples;
    if (rows < 0) {
      rows = static_cast<double>(RelationGetNumberOfBlocks(attributes)) *
             kRowsPerPage;
    }
    table_close(attributes, AccessShareLock);
  });
  return static_cast<std::size_t>(rows * kBytesPerAttribute);
}

core::Schema ReadCatalog(SpiSession& spi,
                         const std::vector<std::string>& schemas,
                         Progress* progress) {
  core::Schema schema;
  schema.kinds = core::Kinds::All();
  std::vector<Oid> namespaces;
  std::unordered_map<Oid, std::string> schema_names;
  for (const auto& name : schemas) {
    const char* text = name.c_str();
    Oid oid = InvalidOid;
    PgTry([&]() noexcept { oid = get_namespace_oid(text, true); });
    if (oid == InvalidOid || schema_names.count(oid) != 0) continue;
    namespaces.push_back(oid);
    schema_names.emplace(oid, name);
    schema.schemas.push_back(name);
  }
  std::sort(schema.schemas.begin(), schema.schemas.end());
  schema.schemas_known = true;

  ConsistentRead read(namespaces);
  RawRelations& raw = read.ReadRelationsOnce();
  progress->Phase("reading catalogs", "relations", raw.count);
  Expressions expressions;
  read.Settle(progress, [&](RawRelation& r) {
    for (int k = 0; k < r.column_count; ++k) {
      RawColumn& column = r.columns[k];
      if (column.default_node != nullptr)
        column.printed_default = expressions.Print(column, r.oid);
    }
  });
  RoleNames roles;
  TableBuilder builder(raw, schema_names, expressions, roles);
  // The manifest lists tables by schema and name: they are built in that
  // order (sorting the built tables moves far more).
  std::vector<const RawRelation*> tables;
  tables.reserve(static_cast<std::size_t>(raw.count));
  for (int i = 0; i < raw.count; ++i) {
    const RawRelation& r = raw.items[i];
    if (r.gone || r.kind == RELKIND_SEQUENCE ||
        r.kind == RELKIND_COMPOSITE_TYPE) {
      continue;
    }
    tables.push_back(&r);
  }
  std::sort(tables.begin(), tables.end(),
            [&](const RawRelation* a, const RawRelation* b) {
              if (a->namespace_oid != b->namespace_oid) {
                return schema_names.at(a->namespace_oid) <
                       schema_names.at(b->namespace_oid);
              }
              return std::string_view(a->name) < std::string_view(b->name);
            });
  schema.tables.reserve(tables.size());
  for (const RawRelation* r : tables)
    schema.tables.push_back(builder.Build(*r));
  std::vector<std::string> apps = KnownApps(spi, schema);
  for (auto& t : schema.tables) {
    t.app = core::DjangoApp(t.name, apps);
    if (t.app.empty()) t.app = t.schema;
  }
  ObjectContext context{read, raw, schema_names, roles, &schema};
  ReadObjects(context);
  schema.join_tables = core::DetectJoinTables(schema);
  return schema;
}

}  // namespace schema_guard::pg
