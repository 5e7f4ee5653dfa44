#include "pg/catalog_reader.hpp"

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "core/json.hpp"
#include "pg/bridge.hpp"
#include "pg/catalog_scan.hpp"

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
// pg_constraint, pg_index and pg_depend, whose rows are matched to the
// relations read by OID. Expressions are printed by the same functions the
// SQL spellings call (pg_get_expr, pg_get_constraintdef, pg_get_indexdef,
// pg_get_viewdef), so the text is exactly what those print. A default
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

// ------------------------------------------------------------ plain data

struct RawColumn {
  int16 attnum;
  const char* name;
  Oid type_oid;
  int32 typmod;
  bool not_null;
  char identity;
  char generated;
  const char* default_node;  // pg_attrdef.adbin; nullptr: no default
  bool default_has_var;      // a generation expression, refers to columns
  const char* collation;     // nullptr: the type's own
};

struct RawConstraint {
  const char* name;
  char type;
  bool validated;
  bool deferrable;
  bool deferred;
  const int16* keys;
  int key_count;
  Oid ref_relid;
  const int16* ref_keys;
  int ref_key_count;
  char on_delete;
  char on_update;
  const char* check;  // CHECK constraints: the definition
};

struct RawIndex {
  const char* name;
  const char* method;
  bool unique;
  const char** keys;  // column names quoted, or expressions
  int key_count;
  const char** include;
  int include_count;
  const char* predicate;  // nullptr: not partial
};

struct RawSequence {
  int16 attnum;
  const char* name;
};

struct RawRelation {
  Oid oid;
  Oid namespace_oid;
  char kind;
  bool is_partition;
  const char* name;
  RawColumn* columns;
  int column_count;
  RawConstraint* constraints;
  int constraint_count;
  RawIndex* indexes;
  int index_count;
  RawSequence* sequences;
  int sequence_count;
  const char* view_definition;
  const char* partition_bound;
  const char* partition_parent_schema;
  const char* partition_parent;
  const char* partition_key;
  // Scan state: array capacities, whether any column has a default, the
  // indexes that implement a primary key, unique or exclusion constraint.
  int column_capacity;
  int constraint_capacity;
  int index_capacity;
  int sequence_capacity;
  bool has_defaults;
  Oid* backing;
  int backing_count;
  int backing_capacity;
};

const char* TextOf(Datum value) {
  return text_to_cstring(DatumGetTextPP(value));
}

bool Contains(const Oid* sorted, std::size_t count, Oid oid) {
  return std::binary_search(sorted, sorted + count, oid);
}

// --------------------------------------------------- PostgreSQL side only
// These functions call PostgreSQL and own no C++ object; they run inside
// PgTry.

// Relations that belong to an extension.
void ReadExtensionMembers(Oid** members, int* count) {
  int capacity = 0;
  *members = nullptr;
  *count = 0;
  Relation depend = table_open(DependRelationId, AccessShareLock);
  ScanCatalog(ExtensionRelationId, [&](HeapTuple ext, TupleDesc) {
    Oid ext_oid = reinterpret_cast<Form_pg_extension>(GETSTRUCT(ext))->oid;
    ScanKeyData keys[2];
    ScanKeyInit(&keys[0], Anum_pg_depend_refclassid, BTEqualStrategyNumber,
                F_OIDEQ, ObjectIdGetDatum(ExtensionRelationId));
    ScanKeyInit(&keys[1], Anum_pg_depend_refobjid, BTEqualStrategyNumber,
                F_OIDEQ, ObjectIdGetDatum(ext_oid));
    SysScanDesc scan = systable_beginscan(depend, DependReferenceIndexId, true,
                                          nullptr, 2, keys);
    HeapTuple tuple = nullptr;
    while (HeapTupleIsValid(tuple = systable_getnext(scan))) {
      auto* dep = reinterpret_cast<Form_pg_depend>(GETSTRUCT(tuple));
      if (dep->classid != RelationRelationId ||
          dep->deptype != DEPENDENCY_EXTENSION) {
        continue;
      }
      *members = Grow(*members, *count, &capacity);
      (*members)[(*count)++] = dep->objid;
    }
    systable_endscan(scan);
  });
  table_close(depend, AccessShareLock);
}

// Tables, partitioned tables, views and materialized views of the
// namespaces, extension members left out.
void ReadRelations(const Oid* namespaces, std::size_t namespace_count,
                   const Oid* members, std::size_t member_count,
                   RawRelation** relations, int* count) {
  int capacity = 0;
  *relations = nullptr;
  *count = 0;
  ScanCatalog(RelationRelationId, [&](HeapTuple tuple, TupleDesc desc) {
    auto* form = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
    char kind = form->relkind;
    if (kind != RELKIND_RELATION && kind != RELKIND_PARTITIONED_TABLE &&
        kind != RELKIND_VIEW && kind != RELKIND_MATVIEW) {
      return;
    }
    if (!Contains(namespaces, namespace_count, form->relnamespace) ||
        Contains(members, member_count, form->oid)) {
      return;
    }
    *relations = Grow(*relations, *count, &capacity);
    RawRelation* r = &(*relations)[(*count)++];
    memset(r, 0, sizeof(RawRelation));
    r->oid = form->oid;
    r->namespace_oid = form->relnamespace;
    r->kind = kind;
    r->is_partition = form->relispartition;
    r->name = pstrdup(NameStr(form->relname));
    if (form->relispartition) {
      bool is_null = false;
      Datum bound =
          heap_getattr(tuple, Anum_pg_class_relpartbound, desc, &is_null);
      if (!is_null) {
        r->partition_bound = TextOf(DirectFunctionCall2(
            pg_get_expr, bound, ObjectIdGetDatum(form->oid)));
      }
    }
  });
}

const RawColumn* ColumnByNumber(const RawRelation* r, int16 attnum) {
  // Columns are read in attnum order.
  int low = 0;
  int high = r->column_count - 1;
  while (low <= high) {
    int mid = (low + high) / 2;
    if (r->columns[mid].attnum == attnum) return &r->columns[mid];
    if (r->columns[mid].attnum < attnum) {
      low = mid + 1;
    } else {
      high = mid - 1;
    }
  }
  return nullptr;
}

RawRelation* FindRelation(RawRelation* sorted, int count, Oid oid) {
  int low = 0;
  int high = count - 1;
  while (low <= high) {
    int mid = (low + high) / 2;
    if (sorted[mid].oid == oid) return &sorted[mid];
    if (sorted[mid].oid < oid) {
      low = mid + 1;
    } else {
      high = mid - 1;
    }
  }
  return nullptr;
}

void ScanColumns(RawRelation* rels, int count) {
  ScanCatalog(AttributeRelationId, [&](HeapTuple tuple, TupleDesc) {
    auto* att = reinterpret_cast<Form_pg_attribute>(GETSTRUCT(tuple));
    if (att->attnum <= 0 || att->attisdropped) return;
    RawRelation* r = FindRelation(rels, count, att->attrelid);
    if (r == nullptr) return;
    r->columns = Grow(r->columns, r->column_count, &r->column_capacity);
    RawColumn* c = &r->columns[r->column_count++];
    c->attnum = att->attnum;
    c->name = pstrdup(NameStr(att->attname));
    c->type_oid = att->atttypid;
    c->typmod = att->atttypmod;
    c->not_null = att->attnotnull;
    c->identity = att->attidentity;
    c->generated = att->attgenerated;
    c->default_node = nullptr;
    c->default_has_var = false;
    c->collation = nullptr;
    if (att->attcollation != InvalidOid &&
        att->attcollation != get_typcollation(att->atttypid)) {
      c->collation = get_collation_name(att->attcollation);
    }
    r->has_defaults = r->has_defaults || att->atthasdef;
  });
  for (int i = 0; i < count; ++i) {
    std::sort(rels[i].columns, rels[i].columns + rels[i].column_count,
              [](const RawColumn& a, const RawColumn& b) {
                return a.attnum < b.attnum;
              });
  }
}

void ScanDefaults(RawRelation* rels, int count) {
  ScanCatalog(AttrDefaultRelationId, [&](HeapTuple tuple, TupleDesc desc) {
    auto* def = reinterpret_cast<Form_pg_attrdef>(GETSTRUCT(tuple));
    RawRelation* r = FindRelation(rels, count, def->adrelid);
    if (r == nullptr || !r->has_defaults) return;
    auto* c = const_cast<RawColumn*>(ColumnByNumber(r, def->adnum));
    if (c == nullptr) return;
    bool is_null = false;
    Datum bin = heap_getattr(tuple, Anum_pg_attrdef_adbin, desc, &is_null);
    if (is_null) return;
    c->default_node = TextOf(bin);
    c->default_has_var = strstr(c->default_node, "{VAR ") != nullptr;
  });
}

// A copy of an int2[] column: the tuple's memory goes with the scan.
void Int16Array(Datum array, const int16** values, int* count) {
  ArrayType* a = DatumGetArrayTypeP(array);
  *count = ARR_NDIM(a) == 0 ? 0 : ARR_DIMS(a)[0];
  auto* copy = static_cast<int16*>(palloc(sizeof(int16) * (*count + 1)));
  memcpy(copy, ARR_DATA_PTR(a), sizeof(int16) * *count);
  *values = copy;
}

void ScanConstraints(RawRelation* rels, int count) {
  ScanCatalog(ConstraintRelationId, [&](HeapTuple tuple, TupleDesc desc) {
    auto* con = reinterpret_cast<Form_pg_constraint>(GETSTRUCT(tuple));
    RawRelation* r = FindRelation(rels, count, con->conrelid);
    if (r == nullptr) return;
    char type = con->contype;
    if ((type == CONSTRAINT_PRIMARY || type == CONSTRAINT_UNIQUE ||
         type == CONSTRAINT_EXCLUSION) &&
        con->conindid != InvalidOid) {
      r->backing = Grow(r->backing, r->backing_count, &r->backing_capacity);
      r->backing[r->backing_count++] = con->conindid;
    }
    if ((type != CONSTRAINT_PRIMARY && type != CONSTRAINT_UNIQUE &&
         type != CONSTRAINT_CHECK && type != CONSTRAINT_FOREIGN) ||
        con->conparentid != InvalidOid) {
      return;
    }
    r->constraints =
        Grow(r->constraints, r->constraint_count, &r->constraint_capacity);
    RawConstraint* out = &r->constraints[r->constraint_count++];
    memset(out, 0, sizeof(RawConstraint));
    out->name = pstrdup(NameStr(con->conname));
    out->type = type;
    out->validated = con->convalidated;
    out->deferrable = con->condeferrable;
    out->deferred = con->condeferred;
    out->ref_relid = con->confrelid;
    out->on_delete = con->confdeltype;
    out->on_update = con->confupdtype;
    bool is_null = false;
    Datum keys = heap_getattr(tuple, Anum_pg_constraint_conkey, desc, &is_null);
    if (!is_null) Int16Array(keys, &out->keys, &out->key_count);
    if (type == CONSTRAINT_FOREIGN) {
      Datum ref =
          heap_getattr(tuple, Anum_pg_constraint_confkey, desc, &is_null);
      if (!is_null) Int16Array(ref, &out->ref_keys, &out->ref_key_count);
    }
    if (type == CONSTRAINT_CHECK) {
      out->check = TextOf(DirectFunctionCall2(pg_get_constraintdef_ext,
                                              ObjectIdGetDatum(con->oid),
                                              BoolGetDatum(true)));
    }
  });
  // In name order, as the catalog's (conrelid, contypid, conname) index
  // lists them.
  for (int i = 0; i < count; ++i) {
    std::sort(rels[i].constraints,
              rels[i].constraints + rels[i].constraint_count,
              [](const RawConstraint& a, const RawConstraint& b) {
                return strcmp(a.name, b.name) < 0;
              });
  }
}

const char* AccessMethodName(Oid am) {
  HeapTuple tuple = SearchSysCache1(AMOID, ObjectIdGetDatum(am));
  if (!HeapTupleIsValid(tuple)) return "";
  const char* name =
      pstrdup(NameStr(reinterpret_cast<Form_pg_am>(GETSTRUCT(tuple))->amname));
  ReleaseSysCache(tuple);
  return name;
}

// One index column as pg_get_indexdef(index, column, true) prints it.
const char* IndexColumn(const RawRelation* r, Oid index, int16 attnum,
                        int position) {
  if (attnum != 0) {
    const RawColumn* c = ColumnByNumber(r, attnum);
    if (c != nullptr) return quote_identifier(c->name);
  }
  return TextOf(
      DirectFunctionCall3(pg_get_indexdef_ext, ObjectIdGetDatum(index),
                          Int32GetDatum(position), BoolGetDatum(true)));
}

// Indexes, but not those that implement a constraint (read first).
void ScanIndexes(RawRelation* rels, int count) {
  ScanCatalog(IndexRelationId, [&](HeapTuple tuple, TupleDesc desc) {
    auto* form = reinterpret_cast<Form_pg_index>(GETSTRUCT(tuple));
    RawRelation* r = FindRelation(rels, count, form->indrelid);
    if (r == nullptr || r->kind == RELKIND_VIEW) return;
    for (int k = 0; k < r->backing_count; ++k) {
      if (r->backing[k] == form->indexrelid) return;
    }
    HeapTuple class_tuple =
        SearchSysCache1(RELOID, ObjectIdGetDatum(form->indexrelid));
    if (!HeapTupleIsValid(class_tuple)) return;
    auto* index_class = reinterpret_cast<Form_pg_class>(GETSTRUCT(class_tuple));
    r->indexes = Grow(r->indexes, r->index_count, &r->index_capacity);
    RawIndex* out = &r->indexes[r->index_count++];
    memset(out, 0, sizeof(RawIndex));
    out->name = pstrdup(NameStr(index_class->relname));
    out->method = AccessMethodName(index_class->relam);
    ReleaseSysCache(class_tuple);
    out->unique = form->indisunique;
    out->key_count = form->indnkeyatts;
    out->include_count = form->indnatts - form->indnkeyatts;
    out->keys = static_cast<const char**>(
        palloc(sizeof(const char*) * (form->indnatts + 1)));
    out->include = out->keys + out->key_count;
    for (int k = 0; k < form->indnatts; ++k) {
      out->keys[k] =
          IndexColumn(r, form->indexrelid, form->indkey.values[k], k + 1);
    }
    bool is_null = false;
    Datum predicate =
        heap_getattr(tuple, Anum_pg_index_indpred, desc, &is_null);
    if (!is_null) {
      out->predicate = TextOf(DirectFunctionCall3(
          pg_get_expr_ext, predicate, ObjectIdGetDatum(form->indrelid),
          BoolGetDatum(true)));
    }
  });
}

// Sequences owned by a column through a serial default (identity sequences
// depend on their column internally and are not listed).
void ScanSequences(RawRelation* rels, int count) {
  ScanCatalog(DependRelationId, [&](HeapTuple tuple, TupleDesc) {
    auto* dep = reinterpret_cast<Form_pg_depend>(GETSTRUCT(tuple));
    if (dep->classid != RelationRelationId ||
        dep->refclassid != RelationRelationId ||
        dep->deptype != DEPENDENCY_AUTO || dep->refobjsubid <= 0) {
      return;
    }
    RawRelation* r = FindRelation(rels, count, dep->refobjid);
    if (r == nullptr || get_rel_relkind(dep->objid) != RELKIND_SEQUENCE) return;
    char* name = get_rel_name(dep->objid);
    if (name == nullptr) return;
    r->sequences = Grow(r->sequences, r->sequence_count, &r->sequence_capacity);
    r->sequences[r->sequence_count].attnum =
        static_cast<int16>(dep->refobjsubid);
    r->sequences[r->sequence_count].name = name;
    ++r->sequence_count;
  });
  for (int i = 0; i < count; ++i) {
    std::sort(rels[i].sequences, rels[i].sequences + rels[i].sequence_count,
              [](const RawSequence& a, const RawSequence& b) {
                return a.attnum < b.attnum;
              });
  }
}

// What only some kinds of relation have: view definitions, partition keys
// and parents.
void ReadRelationExtras(RawRelation* r) {
  if (r->kind == RELKIND_VIEW || r->kind == RELKIND_MATVIEW) {
    r->view_definition = TextOf(DirectFunctionCall2(
        pg_get_viewdef_ext, ObjectIdGetDatum(r->oid), BoolGetDatum(true)));
  }
  if (r->kind == RELKIND_PARTITIONED_TABLE) {
    r->partition_key = TextOf(
        DirectFunctionCall1(pg_get_partkeydef, ObjectIdGetDatum(r->oid)));
  }
  if (r->is_partition) {
#if PG_VERSION_NUM >= 140000
    Oid parent = get_partition_parent(r->oid, true);
#else
    Oid parent = get_partition_parent(r->oid);
#endif
    r->partition_parent = get_rel_name(parent);
    r->partition_parent_schema = get_namespace_name(get_rel_namespace(parent));
  }
}

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
    QueryResult apps = spi.Query(sql.c_str());
    std::vector<std::string> out;
    for (std::size_t r = 0; r < apps.rows(); ++r)
      out.push_back(apps.Text(r, 0));
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
  std::string Print(const RawColumn& column, Oid relid) {
    if (column.default_has_var) return Deparse(column.default_node, relid);
    std::string key = WithoutLocations(column.default_node);
    auto it = printed_.find(key);
    if (it == printed_.end()) {
      it =
          printed_
              .emplace(std::move(key), Deparse(column.default_node, InvalidOid))
              .first;
    }
    return it->second;
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

  std::unordered_map<std::string, std::string> printed_;
};

// A scratch memory context for the raw data, deleted with the reader.
class Scratch {
 public:
  Scratch() {
    PgTry([&]() noexcept {
      context_ = AllocSetContextCreate(CurrentMemoryContext,
                                       "schema_guard catalog read",
                                       ALLOCSET_DEFAULT_SIZES);
    });
  }
  ~Scratch() { MemoryContextDelete(context_); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  MemoryContext context() const { return context_; }

 private:
  MemoryContext context_ = nullptr;
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

struct Relations {
  RawRelation* items = nullptr;
  int count = 0;
};

Relations ReadRaw(const std::vector<Oid>& namespaces, const Scratch& scratch) {
  Relations rel;
  const Oid* namespace_oids = namespaces.data();
  const std::size_t namespace_count = namespaces.size();
  PgTry([&]() noexcept {
    MemoryContext caller = MemoryContextSwitchTo(scratch.context());
    Oid* members = nullptr;
    int member_count = 0;
    ReadExtensionMembers(&members, &member_count);
    std::sort(members, members + member_count);
    ReadRelations(namespace_oids, namespace_count, members,
                  static_cast<std::size_t>(member_count), &rel.items,
                  &rel.count);
    // By OID, for the scans that follow to find their relation.
    std::sort(rel.items, rel.items + rel.count,
              [](const RawRelation& a, const RawRelation& b) {
                return a.oid < b.oid;
              });
    ScanColumns(rel.items, rel.count);
    ScanDefaults(rel.items, rel.count);
    ScanConstraints(rel.items, rel.count);
    ScanIndexes(rel.items, rel.count);
    ScanSequences(rel.items, rel.count);
    for (int i = 0; i < rel.count; ++i) ReadRelationExtras(&rel.items[i]);
    MemoryContextSwitchTo(caller);
  });
  return rel;
}

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

void ReadEnums(const std::vector<Oid>& namespaces,
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
    ScanCatalog(EnumRelationId, [&](HeapTuple tuple, TupleDesc) {
      auto* e = reinterpret_cast<Form_pg_enum>(GETSTRUCT(tuple));
      labels = Grow(labels, label_count, &capacity);
      labels[label_count++] = {e->enumtypid, e->enumsortorder,
                               pstrdup(NameStr(e->enumlabel))};
    });
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

  Scratch scratch;
  Relations raw = ReadRaw(namespaces, scratch);
  std::unordered_map<Oid, const RawRelation*> raw_by_oid;
  for (int i = 0; i < raw.count; ++i)
    raw_by_oid.emplace(raw.items[i].oid, &raw.items[i]);
  std::unordered_map<Oid, OtherRelation> others;
  TypeNames types;
  Expressions expressions;

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
      if (raw_column.default_node != nullptr) {
        std::string printed = expressions.Print(raw_column, r.oid);
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
            {con.name, WithoutNotValid(Str(con.check)), con.validated});
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

  ReadEnums(namespaces, schema_names, &schema);

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
