// The scans of the system catalogs behind the catalog reader
// (catalog_raw.hpp). Every function here runs inside PgTry, allocates in
// the current memory context (the read's scratch context) and owns no C++
// object.
#include <algorithm>
#include <cstring>

#include "pg/catalog_raw.hpp"

extern "C" {
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/dependency.h"
#include "catalog/partition.h"
#include "catalog/pg_am.h"
#include "catalog/pg_attrdef.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_index.h"
#include "catalog/pg_rewrite.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
}

namespace schema_guard::pg {

const char* TextOf(Datum value) {
  return text_to_cstring(DatumGetTextPP(value));
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

const RawColumn* ColumnByNumber(const RawRelation* r, int16 attnum) {
  // Columns are kept in attnum order.
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

namespace {

bool Contains(const Oid* sorted, std::size_t count, Oid oid) {
  return std::binary_search(sorted, sorted + count, oid);
}

bool IsReadKind(char kind) {
  return kind == RELKIND_RELATION || kind == RELKIND_PARTITIONED_TABLE ||
         kind == RELKIND_VIEW || kind == RELKIND_MATVIEW ||
         kind == RELKIND_SEQUENCE || kind == RELKIND_COMPOSITE_TYPE;
}

// The pg_class fields of a relation (not its OID, which the caller set).
void FillRelationRow(RawRelation* r, HeapTuple tuple, TupleDesc desc) {
  auto* form = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
  r->namespace_oid = form->relnamespace;
  r->kind = form->relkind;
  r->persistence = form->relpersistence;
  r->is_partition = form->relispartition;
  r->row_security = form->relrowsecurity;
  r->force_row_security = form->relforcerowsecurity;
  r->owner = form->relowner;
  r->type_oid = form->reltype;
  r->column_hint = form->relnatts;
  r->name = pstrdup(NameStr(form->relname));
  r->partition_bound_node = nullptr;
  bool is_null = false;
  if (form->relispartition) {
    Datum bound =
        heap_getattr(tuple, Anum_pg_class_relpartbound, desc, &is_null);
    if (!is_null) r->partition_bound_node = TextOf(bound);
  }
  Datum acl = heap_getattr(tuple, Anum_pg_class_relacl, desc, &is_null);
  r->acl = ReadAcl(acl, is_null);
}

// A copy of an int2[] column: the tuple's memory goes with the scan.
void Int16Array(Datum array, const int16** values, int* count) {
  ArrayType* a = DatumGetArrayTypeP(array);
  *count = ARR_NDIM(a) == 0 ? 0 : ARR_DIMS(a)[0];
  auto* copy = static_cast<int16*>(palloc(sizeof(int16) * (*count + 1)));
  memcpy(copy, ARR_DATA_PTR(a), sizeof(int16) * *count);
  *values = copy;
}

const RawName* FindName(const RawRelations* rels, Oid oid) {
  const RawName* begin = rels->names;
  const RawName* end = begin + rels->name_count;
  const RawName* it = std::lower_bound(
      begin, end, oid, [](const RawName& n, Oid o) { return n.oid < o; });
  return it != end && it->oid == oid ? it : nullptr;
}

// The pg_class name, kind and access method of a relation from the
// current catalog snapshot; nullptr when it is gone.
const RawName* CurrentName(Oid oid, RawName* out) {
  HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(oid));
  if (!HeapTupleIsValid(tuple)) return nullptr;
  auto* form = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
  *out = {oid, form->relkind, form->relam, pstrdup(NameStr(form->relname)),
          form->relispartition};
  ReleaseSysCache(tuple);
  return out;
}

const char* AccessMethodName(Oid am) {
  HeapTuple tuple = SearchSysCache1(AMOID, ObjectIdGetDatum(am));
  if (!HeapTupleIsValid(tuple)) return "";
  const char* name =
      pstrdup(NameStr(reinterpret_cast<Form_pg_am>(GETSTRUCT(tuple))->amname));
  ReleaseSysCache(tuple);
  return name;
}

}  // namespace

void ReadExtensionMembers(Snapshot snapshot, RawRelations* out) {
  int capacity = 0;
  out->members = nullptr;
  out->member_count = 0;
  ScanCatalog(
      ExtensionRelationId,
      [&](HeapTuple ext, TupleDesc) {
        Oid ext_oid = reinterpret_cast<Form_pg_extension>(GETSTRUCT(ext))->oid;
        ScanCatalogByKey(
            DependRelationId, DependReferenceIndexId, Anum_pg_depend_refclassid,
            ExtensionRelationId, Anum_pg_depend_refobjid, ext_oid,
            [&](HeapTuple tuple, TupleDesc) {
              auto* dep = reinterpret_cast<Form_pg_depend>(GETSTRUCT(tuple));
              if (dep->deptype != DEPENDENCY_EXTENSION) return;
              out->members = Grow(out->members, out->member_count, &capacity);
              out->members[out->member_count++] = {dep->classid, dep->objid};
            },
            snapshot);
      },
      snapshot);
  std::sort(out->members, out->members + out->member_count,
            [](const RawMember& a, const RawMember& b) {
              return a.classid != b.classid ? a.classid < b.classid
                                            : a.objid < b.objid;
            });
}

bool IsExtensionMember(const RawRelations* all, Oid classid, Oid objid) {
  return std::binary_search(
      all->members, all->members + all->member_count, RawMember{classid, objid},
      [](const RawMember& a, const RawMember& b) {
        return a.classid != b.classid ? a.classid < b.classid
                                      : a.objid < b.objid;
      });
}

void ReadRelations(Snapshot snapshot, const Oid* namespaces,
                   std::size_t namespace_count, RawRelations* out) {
  int capacity = 0;
  int name_capacity = 0;
  out->items = nullptr;
  out->count = 0;
  ScanCatalog(
      RelationRelationId,
      [&](HeapTuple tuple, TupleDesc desc) {
        auto* form = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
        char kind = form->relkind;
        if ((kind == RELKIND_INDEX || kind == RELKIND_PARTITIONED_INDEX ||
             kind == RELKIND_SEQUENCE) &&
            Contains(namespaces, namespace_count, form->relnamespace)) {
          out->names = Grow(out->names, out->name_count, &name_capacity);
          out->names[out->name_count++] = {form->oid, kind, form->relam,
                                           pstrdup(NameStr(form->relname)),
                                           form->relispartition};
          if (kind != RELKIND_SEQUENCE) return;
        }
        if (!IsReadKind(form->relkind) ||
            !Contains(namespaces, namespace_count, form->relnamespace) ||
            IsExtensionMember(out, RelationRelationId, form->oid)) {
          return;
        }
        out->items = Grow(out->items, out->count, &capacity);
        RawRelation* r = &out->items[out->count++];
        memset(r, 0, sizeof(RawRelation));
        r->oid = form->oid;
        FillRelationRow(r, tuple, desc);
      },
      snapshot);
  std::sort(
      out->items, out->items + out->count,
      [](const RawRelation& a, const RawRelation& b) { return a.oid < b.oid; });
  std::sort(out->names, out->names + out->name_count,
            [](const RawName& a, const RawName& b) { return a.oid < b.oid; });
}

bool RereadRelationRow(RawRelation* r, const Oid* namespaces,
                       std::size_t namespace_count) {
  bool found = false;
  ScanCatalogByKey(RelationRelationId, ClassOidIndexId, Anum_pg_class_oid,
                   r->oid, InvalidAttrNumber, InvalidOid,
                   [&](HeapTuple tuple, TupleDesc desc) {
                     FillRelationRow(r, tuple, desc);
                     found = true;
                   });
  return found && IsReadKind(r->kind) &&
         Contains(namespaces, namespace_count, r->namespace_oid);
}

namespace {

void ScanColumns(const ScanScope& scope, RawRelations* all) {
  RawRelation* rels = all->items;
  int count = all->count;
  ScanScoped(
      scope, AttributeRelationId, AttributeRelidNumIndexId,
      Anum_pg_attribute_attrelid, [&](HeapTuple tuple, TupleDesc) {
        auto* att = reinterpret_cast<Form_pg_attribute>(GETSTRUCT(tuple));
        if (att->attnum <= 0 || att->attisdropped) return;
        RawRelation* r = FindRelation(rels, count, att->attrelid);
        if (r == nullptr || r->kind == RELKIND_SEQUENCE) return;
        if (r->columns == nullptr && r->column_hint > 0) {
          // Sized once for every column the table has (dropped ones
          // included), not grown by doubling.
          r->column_capacity = r->column_hint;
          r->columns = static_cast<RawColumn*>(
              palloc(sizeof(RawColumn) *
                     static_cast<std::size_t>(r->column_capacity)));
        }
        r->columns = Grow(r->columns, r->column_count, &r->column_capacity);
        RawColumn* c = &r->columns[r->column_count++];
        memset(c, 0, sizeof(RawColumn));
        c->attnum = att->attnum;
        c->name = pstrdup(NameStr(att->attname));
        c->type_oid = att->atttypid;
        c->typmod = att->atttypmod;
        c->not_null = att->attnotnull;
        c->identity = att->attidentity;
        c->generated = att->attgenerated;
        c->printed_default = -1;
        c->inherited = att->attinhcount > 0 && !att->attislocal;
        if (att->attcollation != InvalidOid &&
            att->attcollation != get_typcollation(att->atttypid)) {
          c->collation = CollationName(att->attcollation);
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

void ScanDefaults(const ScanScope& scope, RawRelations* all) {
  RawRelation* rels = all->items;
  int count = all->count;
  ScanScoped(scope, AttrDefaultRelationId, AttrDefaultIndexId,
             Anum_pg_attrdef_adrelid, [&](HeapTuple tuple, TupleDesc desc) {
               auto* def = reinterpret_cast<Form_pg_attrdef>(GETSTRUCT(tuple));
               RawRelation* r = FindRelation(rels, count, def->adrelid);
               if (r == nullptr || !r->has_defaults) return;
               auto* c = const_cast<RawColumn*>(ColumnByNumber(r, def->adnum));
               if (c == nullptr) return;
               bool is_null = false;
               Datum bin =
                   heap_getattr(tuple, Anum_pg_attrdef_adbin, desc, &is_null);
               if (is_null) return;
               c->default_node = TextOf(bin);
               c->default_has_var = strstr(c->default_node, "{VAR ") != nullptr;
             });
}

void ScanConstraints(const ScanScope& scope, RawRelations* all) {
  RawRelation* rels = all->items;
  int count = all->count;
  ScanScoped(
      scope, ConstraintRelationId, ConstraintRelidTypidNameIndexId,
      Anum_pg_constraint_conrelid, [&](HeapTuple tuple, TupleDesc desc) {
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
             type != CONSTRAINT_CHECK && type != CONSTRAINT_FOREIGN &&
             type != CONSTRAINT_EXCLUSION) ||
            con->conparentid != InvalidOid) {
          return;
        }
        // A CHECK a parent gave it: the parent's.
        if (type == CONSTRAINT_CHECK && con->coninhcount > 0 &&
            !con->conislocal) {
          return;
        }
        r->constraints =
            Grow(r->constraints, r->constraint_count, &r->constraint_capacity);
        RawConstraint* out = &r->constraints[r->constraint_count++];
        memset(out, 0, sizeof(RawConstraint));
        out->oid = con->oid;
        out->name = pstrdup(NameStr(con->conname));
        out->type = type;
        out->validated = con->convalidated;
        out->deferrable = con->condeferrable;
        out->deferred = con->condeferred;
        out->ref_relid = con->confrelid;
        out->on_delete = con->confdeltype;
        out->on_update = con->confupdtype;
        bool is_null = false;
        Datum keys =
            heap_getattr(tuple, Anum_pg_constraint_conkey, desc, &is_null);
        if (!is_null) Int16Array(keys, &out->keys, &out->key_count);
        if (type == CONSTRAINT_FOREIGN) {
          Datum ref =
              heap_getattr(tuple, Anum_pg_constraint_confkey, desc, &is_null);
          if (!is_null) Int16Array(ref, &out->ref_keys, &out->ref_key_count);
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

// Indexes, but not those that implement a constraint (read first). Key
// columns are named here; expressions are printed once the relation is
// locked (PrintRelationDetails).
void ScanIndexes(const ScanScope& scope, RawRelations* all) {
  RawRelation* rels = all->items;
  int count = all->count;
  ScanScoped(
      scope, IndexRelationId, IndexIndrelidIndexId, Anum_pg_index_indrelid,
      [&](HeapTuple tuple, TupleDesc desc) {
        auto* form = reinterpret_cast<Form_pg_index>(GETSTRUCT(tuple));
        RawRelation* r = FindRelation(rels, count, form->indrelid);
        if (r == nullptr || r->kind == RELKIND_VIEW) return;
        for (int k = 0; k < r->backing_count; ++k) {
          if (r->backing[k] == form->indexrelid) return;
        }
        const RawName* name = FindName(all, form->indexrelid);
        RawName fresh;
        if (name == nullptr && scope.relid != InvalidOid) {
          // Re-read under a lock: an index made after the first scan.
          name = CurrentName(form->indexrelid, &fresh);
        }
        // An index attached to the parent's index is the parent's.
        if (name == nullptr || name->is_partition) return;
        r->indexes = Grow(r->indexes, r->index_count, &r->index_capacity);
        RawIndex* out = &r->indexes[r->index_count++];
        memset(out, 0, sizeof(RawIndex));
        out->oid = form->indexrelid;
        out->name = name->name;
        out->method = AccessMethodName(name->am);
        out->unique = form->indisunique;
        out->key_count = form->indnkeyatts;
        out->include_count = form->indnatts - form->indnkeyatts;
        auto* attnums =
            static_cast<int16*>(palloc(sizeof(int16) * (form->indnatts + 1)));
        out->keys = static_cast<const char**>(
            palloc0(sizeof(const char*) * (form->indnatts + 1)));
        out->include = out->keys + out->key_count;
        for (int k = 0; k < form->indnatts; ++k) {
          attnums[k] = form->indkey.values[k];
          const RawColumn* c =
              attnums[k] != 0 ? ColumnByNumber(r, attnums[k]) : nullptr;
          if (c != nullptr) out->keys[k] = quote_identifier(c->name);
        }
        out->attnums = attnums;
        bool is_null = false;
        Datum predicate =
            heap_getattr(tuple, Anum_pg_index_indpred, desc, &is_null);
        if (!is_null) out->predicate_node = TextOf(predicate);
      });
}

// From pg_depend: the sequences a column owns through a serial default
// (identity sequences depend on their column internally and are not
// listed), and the relations each view's rule reads.
void ScanDependencies(const ScanScope& scope, RawRelations* all) {
  RawRelation* rels = all->items;
  int count = all->count;
  struct RuleRead {
    Oid rule;
    Oid relation;
    int16 attnum;
    bool own;  // the rule's internal dependency on its view
  };
  RuleRead* reads = nullptr;
  int read_count = 0;
  int read_capacity = 0;
  auto visit = [&](HeapTuple tuple, TupleDesc) {
    auto* dep = reinterpret_cast<Form_pg_depend>(GETSTRUCT(tuple));
    if (dep->refclassid != RelationRelationId) return;
    if (dep->classid == RewriteRelationId) {
      reads = Grow(reads, read_count, &read_capacity);
      reads[read_count++] = {dep->objid, dep->refobjid,
                             static_cast<int16>(dep->refobjsubid),
                             dep->deptype == DEPENDENCY_INTERNAL};
      return;
    }
    if (dep->classid == RelationRelationId &&
        dep->deptype == DEPENDENCY_INTERNAL && dep->refobjsubid > 0) {
      RawRelation* sequence = FindRelation(rels, count, dep->objid);
      if (sequence != nullptr && sequence->kind == RELKIND_SEQUENCE)
        sequence->identity_sequence = true;
      return;
    }
    if (dep->classid != RelationRelationId || dep->deptype != DEPENDENCY_AUTO ||
        dep->refobjsubid <= 0) {
      return;
    }
    RawRelation* r = FindRelation(rels, count, dep->refobjid);
    if (r == nullptr) return;
    const RawName* known = FindName(all, dep->objid);
    const char* name = nullptr;
    if (known != nullptr) {
      if (known->kind != RELKIND_SEQUENCE) return;
      name = known->name;
    } else {
      // A sequence in a schema not read.
      if (get_rel_relkind(dep->objid) != RELKIND_SEQUENCE) return;
      name = get_rel_name(dep->objid);
      if (name == nullptr) return;
    }
    r->sequences = Grow(r->sequences, r->sequence_count, &r->sequence_capacity);
    r->sequences[r->sequence_count++] = {static_cast<int16>(dep->refobjsubid),
                                         dep->objid, name};
  };
  if (scope.relid == InvalidOid) {
    ScanCatalog(DependRelationId, visit, scope.snapshot);
  } else {
    ScanCatalogByKey(DependRelationId, DependReferenceIndexId,
                     Anum_pg_depend_refclassid, RelationRelationId,
                     Anum_pg_depend_refobjid, scope.relid, visit,
                     scope.snapshot);
    // The view's rule, and what the rule depends on.
    read_count = 0;
    ScanCatalogByKey(
        RewriteRelationId, RewriteRelRulenameIndexId, Anum_pg_rewrite_ev_class,
        scope.relid, InvalidAttrNumber, InvalidOid,
        [&](HeapTuple rule, TupleDesc) {
          Oid rule_oid =
              reinterpret_cast<Form_pg_rewrite>(GETSTRUCT(rule))->oid;
          ScanCatalogByKey(DependRelationId, DependDependerIndexId,
                           Anum_pg_depend_classid, RewriteRelationId,
                           Anum_pg_depend_objid, rule_oid, visit,
                           scope.snapshot);
        },
        scope.snapshot);
  }
  // Rule -> view through the internal dependency, then each read.
  std::sort(reads, reads + read_count,
            [](const RuleRead& a, const RuleRead& b) {
              return a.rule != b.rule ? a.rule < b.rule : a.own > b.own;
            });
  for (int i = 0; i < read_count;) {
    int end = i;
    while (end < read_count && reads[end].rule == reads[i].rule) ++end;
    RawRelation* view =
        reads[i].own ? FindRelation(rels, count, reads[i].relation) : nullptr;
    if (view != nullptr &&
        (view->kind == RELKIND_VIEW || view->kind == RELKIND_MATVIEW)) {
      // Each relation once with attnum 0, then the columns it reads.
      for (int k = i + 1; k < end; ++k) {
        Oid relation = reads[k].relation;
        if (relation == view->oid) continue;
        for (int16 attnum : {static_cast<int16>(0), reads[k].attnum}) {
          bool seen = false;
          for (int j = 0; j < view->read_count && !seen; ++j) {
            seen =
                view->reads[j] == relation && view->read_attnums[j] == attnum;
          }
          if (seen) continue;
          int capacity = view->read_capacity;
          view->reads = Grow(view->reads, view->read_count, &capacity);
          view->read_attnums =
              Grow(view->read_attnums, view->read_count, &view->read_capacity);
          view->reads[view->read_count] = relation;
          view->read_attnums[view->read_count++] = attnum;
        }
      }
    }
    i = end;
  }
  for (int i = 0; i < count; ++i) {
    std::sort(rels[i].sequences, rels[i].sequences + rels[i].sequence_count,
              [](const RawSequence& a, const RawSequence& b) {
                return a.attnum < b.attnum;
              });
  }
}

}  // namespace

void ScanRelationDetails(const ScanScope& scope, RawRelations* rels) {
  ScanColumns(scope, rels);
  ScanDefaults(scope, rels);
  ScanConstraints(scope, rels);
  ScanIndexes(scope, rels);
  ScanDependencies(scope, rels);
  ScanInheritance(scope, rels);
  ScanTriggers(scope, rels);
  ScanPolicies(scope, rels);
}

void ClearRelationDetails(RawRelation* r) {
  r->column_count = 0;
  r->constraint_count = 0;
  r->index_count = 0;
  r->sequence_count = 0;
  r->trigger_count = 0;
  r->policy_count = 0;
  r->read_count = 0;
  r->parent_count = 0;
  r->backing_count = 0;
  r->has_defaults = false;
  r->view_definition = nullptr;
  r->partition_bound = nullptr;
  r->partition_parent = nullptr;
  r->partition_parent_schema = nullptr;
  r->partition_key = nullptr;
}

}  // namespace schema_guard::pg
