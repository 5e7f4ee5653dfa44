// Enums, composite types and domains of the schemas read (one scan of
// pg_type and pg_enum under the read's snapshot).
#include <algorithm>
#include <cstring>
#include <utility>

#include "pg/bridge.hpp"
#include "pg/catalog_objects.hpp"
#include "pg/catalog_raw.hpp"
#include "pg/type_names.hpp"

extern "C" {
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
}

namespace schema_guard::pg {
namespace {

struct RawType {
  Oid oid;
  Oid space;
  char type;  // typtype: 'e', 'd', 'c'
  const char* name;
  Oid owner;
  RawAcl acl;
  Oid base;
  int32 typmod;
  bool not_null;
  const char* default_text;
  Oid collation;
  Oid relid;  // composite: its pg_class row
};

struct RawTypes {
  RawType* items = nullptr;
  int count = 0;
};

RawTypes ScanTypes(ObjectContext& c) {
  RawTypes out;
  Snapshot snapshot = c.read.snapshot();
  std::vector<Oid> spaces;
  for (const auto& [space, _] : c.schema_names) spaces.push_back(space);
  std::sort(spaces.begin(), spaces.end());
  const Oid* space_list = spaces.data();
  std::size_t space_count = spaces.size();
  const RawRelations* raw = &c.raw;
  PgTry([&]() noexcept {
    MemoryContext caller = MemoryContextSwitchTo(c.read.scratch());
    int capacity = 0;
    ScanCatalog(
        TypeRelationId,
        [&](HeapTuple tuple, TupleDesc desc) {
          auto* t = reinterpret_cast<Form_pg_type>(GETSTRUCT(tuple));
          if ((t->typtype != TYPTYPE_ENUM && t->typtype != TYPTYPE_DOMAIN &&
               t->typtype != TYPTYPE_COMPOSITE) ||
              !std::binary_search(space_list, space_list + space_count,
                                  t->typnamespace) ||
              IsExtensionMember(raw, TypeRelationId, t->oid)) {
            return;
          }
          out.items = Grow(out.items, out.count, &capacity);
          RawType* r = &out.items[out.count++];
          memset(r, 0, sizeof(RawType));
          r->oid = t->oid;
          r->space = t->typnamespace;
          r->type = t->typtype;
          r->name = pstrdup(NameStr(t->typname));
          r->owner = t->typowner;
          r->base = t->typbasetype;
          r->typmod = t->typtypmod;
          r->not_null = t->typnotnull;
          r->collation = t->typcollation;
          r->relid = t->typrelid;
          bool is_null = false;
          Datum acl = heap_getattr(tuple, Anum_pg_type_typacl, desc, &is_null);
          r->acl = ReadAcl(acl, is_null);
          Datum def =
              heap_getattr(tuple, Anum_pg_type_typdefault, desc, &is_null);
          if (!is_null) r->default_text = TextOf(def);
        },
        snapshot);
    MemoryContextSwitchTo(caller);
  });
  return out;
}

// A domain's CHECK constraints, printed.
std::vector<core::CheckConstraint> DomainChecks(ObjectContext& c, Oid domain) {
  struct RawCheck {
    Oid oid;
    const char* name;
    const char* definition;
  };
  RawCheck* checks = nullptr;
  int count = 0;
  Snapshot snapshot = c.read.snapshot();
  PgTry([&]() noexcept {
    MemoryContext caller = MemoryContextSwitchTo(c.read.scratch());
    int capacity = 0;
    ScanCatalogByKey(
        ConstraintRelationId, ConstraintTypidIndexId,
        Anum_pg_constraint_contypid, domain, InvalidAttrNumber, InvalidOid,
        [&](HeapTuple tuple, TupleDesc) {
          auto* con = reinterpret_cast<Form_pg_constraint>(GETSTRUCT(tuple));
          if (con->contype != CONSTRAINT_CHECK) return;
          checks = Grow(checks, count, &capacity);
          checks[count++] = {con->oid, pstrdup(NameStr(con->conname)), nullptr};
        },
        snapshot);
    for (int i = 0; i < count; ++i) {
      checks[i].definition =
          CallPrinter(pg_get_constraintdef_ext, 2,
                      ObjectIdGetDatum(checks[i].oid), BoolGetDatum(true), 0);
    }
    MemoryContextSwitchTo(caller);
  });
  std::vector<core::CheckConstraint> out;
  for (int i = 0; i < count; ++i) {
    if (checks[i].definition == nullptr) continue;  // dropped meanwhile
    out.push_back({checks[i].name, checks[i].definition, true, ""});
  }
  std::sort(out.begin(), out.end(),
            [](const core::CheckConstraint& a, const core::CheckConstraint& b) {
              return a.name < b.name;
            });
  return out;
}

}  // namespace

void ReadEnums(ObjectContext& c) {
  struct RawLabel {
    Oid type;
    float4 order;
    const char* label;
  };
  RawLabel* labels = nullptr;
  int label_count = 0;
  Snapshot snapshot = c.read.snapshot();
  PgTry([&]() noexcept {
    MemoryContext caller = MemoryContextSwitchTo(c.read.scratch());
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
    MemoryContextSwitchTo(caller);
  });
  std::sort(labels, labels + label_count,
            [](const RawLabel& a, const RawLabel& b) {
              return a.type != b.type ? a.type < b.type : a.order < b.order;
            });
  RawTypes types = ScanTypes(c);
  for (int t = 0; t < types.count; ++t) {
    const RawType& type = types.items[t];
    if (type.type != TYPTYPE_ENUM) continue;
    core::EnumType e;
    e.schema = c.SchemaName(type.space);
    e.name = type.name;
    const RawLabel* it = std::lower_bound(
        labels, labels + label_count, type.oid,
        [](const RawLabel& l, Oid oid) { return l.type < oid; });
    for (; it != labels + label_count && it->type == type.oid; ++it)
      e.labels.emplace_back(it->label);
    e.access = AccessOf(c.roles, "TYPE", type.owner, type.acl,
                        c.Comment(TypeRelationId, type.oid));
    c.schema->enums.push_back(std::move(e));
  }
  std::sort(c.schema->enums.begin(), c.schema->enums.end(),
            [](const core::EnumType& a, const core::EnumType& b) {
              return a.schema != b.schema ? a.schema < b.schema
                                          : a.name < b.name;
            });
}

void ReadTypes(ObjectContext& c) {
  RawTypes types = ScanTypes(c);
  TypeNames names;
  for (int t = 0; t < types.count; ++t) {
    const RawType& type = types.items[t];
    core::UserType out;
    out.schema = c.SchemaName(type.space);
    out.name = type.name;
    if (type.type == TYPTYPE_DOMAIN) {
      out.kind = "domain";
      out.base = names.Get(type.base, type.typmod);
      out.not_null = type.not_null;
      if (type.default_text != nullptr) out.default_expr = type.default_text;
      Oid base_collation = InvalidOid;
      Oid base = type.base;
      PgTry([&]() noexcept { base_collation = get_typcollation(base); });
      if (type.collation != InvalidOid && type.collation != base_collation) {
        const char* name = nullptr;
        Oid collation = type.collation;
        PgTry([&]() noexcept { name = CollationName(collation); });
        if (name != nullptr) out.collation = name;
      }
      out.checks = DomainChecks(c, type.oid);
    } else if (type.type == TYPTYPE_COMPOSITE) {
      const RawRelation* r = FindRelation(c.raw.items, c.raw.count, type.relid);
      if (r == nullptr || r->gone || r->kind != RELKIND_COMPOSITE_TYPE)
        continue;
      for (int k = 0; k < r->column_count; ++k) {
        const RawColumn& column = r->columns[k];
        out.attributes.push_back(
            {column.name, names.Get(column.type_oid, column.typmod),
             column.collation != nullptr ? column.collation : ""});
      }
    } else {
      continue;
    }
    out.access = AccessOf(c.roles, "TYPE", type.owner, type.acl,
                          c.Comment(TypeRelationId, type.oid));
    c.schema->types.push_back(std::move(out));
  }
  std::sort(c.schema->types.begin(), c.schema->types.end(),
            [](const core::UserType& a, const core::UserType& b) {
              return a.schema != b.schema ? a.schema < b.schema
                                          : a.name < b.name;
            });
}

}  // namespace schema_guard::pg
