#include "pg/catalog_reader.hpp"

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "core/json.hpp"
#include "pg/bridge.hpp"
#include "pg/catalog_consistency.hpp"
#include "pg/catalog_raw.hpp"

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
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_index.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
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
    std::string key = WithoutLocations(column.default_node);
    auto it = printed_.find(key);
    if (it == printed_.end()) {
      texts_.push_back(Deparse(column.default_node, InvalidOid));
      it = printed_.emplace(std::move(key), static_cast<int>(texts_.size() - 1))
               .first;
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

  static std::string WithoutLocations(std::string_view node) {
    constexpr std::string_view kLocation = ":location ";
    std::string key;
    key.reserve(node.size());
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
    return key;
  }

  std::unordered_map<std::string, int> printed_;
  std::vector<std::string> texts_;
};

// Canonical type names by (type, typmod): format_type() once per pair.
class TypeNames {
 public:
  const std::string& Get(Oid type, int32 typmod) {
    std::uint64_t key = (static_cast<std::uint64_t>(type) << 32) |
                        static_cast<std::uint32_t>(typmod);
    auto it = names_.find(key);
    if (it != names_.end()) return it->second;
    const char* printed = nullptr;
    PgTry([&]() noexcept {
      printed = format_type_extended(
          type, typmod, FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_ALLOW_INVALID);
    });
    return names_.emplace(key, core::CanonicalType(printed)).first->second;
  }

 private:
  std::unordered_map<std::uint64_t, std::string> names_;
};

// The schema and name of a relation outside those read, and its column
// names by attnum.
struct OtherRelation {
  std::string schema;
  std::string name;
  std::unordered_map<int, std::string> columns;
};

std::string OtherColumn(Oid relid, int16 attnum,
                        std::unordered_map<Oid, OtherRelation>* others) {
  OtherRelation& other = (*others)[relid];
  auto it = other.columns.find(attnum);
  if (it != other.columns.end()) return it->second;
  const char* name = nullptr;
  PgTry([&]() noexcept { name = get_attname(relid, attnum, true); });
  std::string text = name != nullptr ? name : std::to_string(attnum);
  other.columns.emplace(attnum, text);
  return text;
}

void ReadEnums(Snapshot snapshot, const std::vector<Oid>& namespaces,
               const std::unordered_map<Oid, std::string>& schema_names,
               core::Schema* schema) {
  struct RawLabel {
    Oid type;
    float4 order;
    const char* label;
  };
  struct RawType {
    Oid oid;
    Oid namespace_oid;
    const char* name;
  };
  RawLabel* labels = nullptr;
  int label_count = 0;
  PgTry([&]() noexcept {
    int capacity = 0;
    ScanCatalog(
        EnumRelationId,
        [&](HeapTuple tuple, TupleDesc) {
          auto* e = reinterpret_cast<Form_pg_enum>(GETSTRUCT(tuple));
          labels = Grow(labels, label_count, &capacity);
          labels[label_count++] = {e->enumtypid, e->enumsortorder,
                                   pstrdup(NameStr(e->enumlabel))};
        },
        snapshot);
  });
  std::sort(labels, labels + label_count,
            [](const RawLabel& a, const RawLabel& b) {
              return a.type != b.type ? a.type < b.type : a.order < b.order;
            });
  std::vector<core::EnumType> enums;
  for (int i = 0; i < label_count;) {
    RawType type{labels[i].type, InvalidOid, nullptr};
    PgTry([&]() noexcept {
      HeapTuple tuple = SearchSysCache1(TYPEOID, ObjectIdGetDatum(type.oid));
      if (HeapTupleIsValid(tuple)) {
        auto* form = reinterpret_cast<Form_pg_type>(GETSTRUCT(tuple));
        type.namespace_oid = form->typnamespace;
        type.name = pstrdup(NameStr(form->typname));
        ReleaseSysCache(tuple);
      }
    });
    int end = i;
    while (end < label_count && labels[end].type == type.oid) ++end;
    if (type.name != nullptr &&
        std::find(namespaces.begin(), namespaces.end(), type.namespace_oid) !=
            namespaces.end()) {
      core::EnumType e;
      e.schema = schema_names.at(type.namespace_oid);
      e.name = type.name;
      for (int k = i; k < end; ++k) e.labels.emplace_back(labels[k].label);
      enums.push_back(std::move(e));
    }
    i = end;
  }
  std::sort(enums.begin(), enums.end(),
            [](const core::EnumType& a, const core::EnumType& b) {
              return a.schema != b.schema ? a.schema < b.schema
                                          : a.name < b.name;
            });
  schema->enums = std::move(enums);
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
  std::sort(namespaces.begin(), namespaces.end());

  ConsistentRead read(namespaces);
  RawRelations& raw = read.ReadRelationsOnce();
  Expressions expressions;
  read.Settle([&](RawRelation& r) {
    for (int k = 0; k < r.column_count; ++k) {
      RawColumn& column = r.columns[k];
      if (column.default_node != nullptr)
        column.printed_default = expressions.Print(column, r.oid);
    }
  });
  std::unordered_map<Oid, const RawRelation*> raw_by_oid;
  for (int i = 0; i < raw.count; ++i)
    raw_by_oid.emplace(raw.items[i].oid, &raw.items[i]);
  std::unordered_map<Oid, OtherRelation> others;
  TypeNames types;

  auto key_names = [](const RawRelation& r, const int16* keys, int count) {
    std::vector<std::string> names;
    for (int k = 0; k < count; ++k) {
      const RawColumn* c = ColumnByNumber(&r, keys[k]);
      names.push_back(c != nullptr ? std::string(c->name)
                                   : std::to_string(keys[k]));
    }
    return names;
  };

  schema.tables.reserve(static_cast<std::size_t>(raw.count));
  for (int i = 0; i < raw.count; ++i) {
    const RawRelation& r = raw.items[i];
    if (r.gone) continue;
    core::Table t;
    t.schema = schema_names.at(r.namespace_oid);
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
    t.columns.reserve(static_cast<std::size_t>(r.column_count));
    for (int k = 0; k < r.column_count; ++k) {
      const RawColumn& raw_column = r.columns[k];
      core::Column c;
      c.name = raw_column.name;
      c.type = types.Get(raw_column.type_oid, raw_column.typmod);
      c.not_null = raw_column.not_null;
      c.identity = raw_column.identity == ATTRIBUTE_IDENTITY_ALWAYS ? "always"
                   : raw_column.identity == ATTRIBUTE_IDENTITY_BY_DEFAULT
                       ? "by_default"
                       : "";
      if (raw_column.printed_default >= 0) {
        std::string printed = expressions.Text(raw_column.printed_default);
        if (raw_column.generated == ATTRIBUTE_GENERATED_STORED) {
          c.generated = std::move(printed);
        } else {
          c.default_expr = std::move(printed);
        }
      }
      c.collation = Str(raw_column.collation);
      t.columns.push_back(std::move(c));
    }
    for (int k = 0; k < r.constraint_count; ++k) {
      const RawConstraint& con = r.constraints[k];
      std::vector<std::string> keys = key_names(r, con.keys, con.key_count);
      if (con.type == CONSTRAINT_PRIMARY) {
        t.primary_key = core::KeyConstraint{con.name, keys};
      } else if (con.type == CONSTRAINT_UNIQUE) {
        t.uniques.push_back({con.name, keys});
      } else if (con.type == CONSTRAINT_CHECK) {
        t.checks.push_back(
            {con.name, WithoutNotValid(Str(con.definition)), con.validated});
      } else if (con.type == CONSTRAINT_FOREIGN) {
        core::ForeignKey fk;
        fk.name = con.name;
        fk.columns = std::move(keys);
        auto ref = raw_by_oid.find(con.ref_relid);
        if (ref != raw_by_oid.end()) {
          fk.ref_schema = schema_names.at(ref->second->namespace_oid);
          fk.ref_table = ref->second->name;
          fk.ref_columns =
              key_names(*ref->second, con.ref_keys, con.ref_key_count);
        } else {
          OtherRelation& other = others[con.ref_relid];
          if (other.name.empty()) {
            const char* ref_schema = nullptr;
            const char* ref_name = nullptr;
            Oid relid = con.ref_relid;
            PgTry([&]() noexcept {
              ref_name = get_rel_name(relid);
              ref_schema = get_namespace_name(get_rel_namespace(relid));
            });
            other.schema = Str(ref_schema);
            other.name = Str(ref_name);
          }
          fk.ref_schema = other.schema;
          fk.ref_table = other.name;
          for (int n = 0; n < con.ref_key_count; ++n) {
            fk.ref_columns.push_back(
                OtherColumn(con.ref_relid, con.ref_keys[n], &others));
          }
        }
        fk.on_delete = Action(con.on_delete);
        fk.on_update = Action(con.on_update);
        fk.deferrable = con.deferrable;
        fk.initially_deferred = con.deferred;
        fk.validated = con.validated;
        t.foreign_keys.push_back(std::move(fk));
      }
    }
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
      t.indexes.push_back(std::move(index));
    }
    std::sort(t.indexes.begin(), t.indexes.end(),
              [](const core::Index& a, const core::Index& b) {
                return a.name < b.name;
              });
    for (int k = 0; k < r.sequence_count; ++k) {
      const RawColumn* c = ColumnByNumber(&r, r.sequences[k].attnum);
      if (c == nullptr) continue;
      t.sequences.push_back({c->name, r.sequences[k].name});
    }
    schema.tables.push_back(std::move(t));
  }

  ReadEnums(read.snapshot(), namespaces, schema_names, &schema);

  std::vector<std::string> apps = KnownApps(spi, schema);
  for (auto& t : schema.tables) {
    t.app = core::DjangoApp(t.name, apps);
    if (t.app.empty()) t.app = t.schema;
  }
  // The manifest lists tables by schema and name.
  std::sort(schema.tables.begin(), schema.tables.end(),
            [](const core::Table& a, const core::Table& b) {
              return a.schema != b.schema ? a.schema < b.schema
                                          : a.name < b.name;
            });
  schema.join_tables = core::DetectJoinTables(schema);
  return schema;
}

}  // namespace schema_guard::pg
