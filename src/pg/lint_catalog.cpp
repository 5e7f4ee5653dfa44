#include "pg/lint_catalog.hpp"

#include "pg/bridge.hpp"

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "optimizer/plancat.h"
#include "storage/bufmgr.h"
#include "storage/bufpage.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
}

namespace schema_guard::pg {
namespace {

// Sizes as plain data, filled inside PgTry.
struct RawSize {
  double rows;
  double pages;
  bool is_new;
};

// Rows and pages of one relation with storage, its TOAST table included.
// Like the planner's estimate (estimate_rel_size) without its assumption
// that a table never vacuumed has at least 10 pages: the density of the
// last VACUUM or ANALYZE applied to the current number of pages, or one
// from the row width when there was none.
void AddStorageSize(Oid relid, RawSize* size) {
  if (!ConditionalLockRelationOid(relid, AccessShareLock)) {
    HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
    if (!HeapTupleIsValid(tuple)) return;
    auto* form = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
    size->pages += form->relpages;
    size->rows += form->reltuples > 0 ? form->reltuples : 0;
    ReleaseSysCache(tuple);
    return;
  }
  Relation rel = try_relation_open(relid, NoLock);
  if (rel != nullptr) {
    if (RELKIND_HAS_STORAGE(rel->rd_rel->relkind)) {
      BlockNumber pages = RelationGetNumberOfBlocks(rel);
      double density = 0;
      if (rel->rd_rel->reltuples >= 0 && rel->rd_rel->relpages > 0) {
        density = static_cast<double>(rel->rd_rel->reltuples) /
                  static_cast<double>(rel->rd_rel->relpages);
      } else if (pages > 0) {
        double width = static_cast<double>(get_rel_data_width(rel, nullptr)) +
                       static_cast<double>(MAXALIGN(SizeofHeapTupleHeader) +
                                           sizeof(ItemIdData));
        density = static_cast<double>(BLCKSZ - SizeOfPageHeaderData) / width;
      }
      size->rows += density * pages;
      size->pages += pages;
      if (rel->rd_createSubid != InvalidSubTransactionId) size->is_new = true;
      Oid toast = rel->rd_rel->reltoastrelid;
      if (OidIsValid(toast) &&
          ConditionalLockRelationOid(toast, AccessShareLock)) {
        Relation toast_rel = try_relation_open(toast, NoLock);
        if (toast_rel != nullptr) {
          size->pages += RelationGetNumberOfBlocks(toast_rel);
          relation_close(toast_rel, NoLock);
        }
        UnlockRelationOid(toast, AccessShareLock);
      }
    } else if (rel->rd_createSubid != InvalidSubTransactionId) {
      size->is_new = true;
    }
    relation_close(rel, NoLock);
  }
  UnlockRelationOid(relid, AccessShareLock);
}

// A partitioned table's size is its partitions'.
void ReadSize(Oid relid, RawSize* size) {
  if (get_rel_relkind(relid) == RELKIND_PARTITIONED_TABLE) {
    AddStorageSize(relid, size);  // no storage: only whether it is new
    ListCell* cell;
    foreach (cell, find_all_inheritors(relid, NoLock, nullptr)) {
      Oid child = lfirst_oid(cell);
      if (child != relid) AddStorageSize(child, size);
    }
    return;
  }
  AddStorageSize(relid, size);
}

// Whether the pg_constraint row is a validated CHECK (column IS NOT NULL).
bool IsNotNullCheck(HeapTuple tuple, Relation rel, AttrNumber attnum) {
  auto* form = reinterpret_cast<Form_pg_constraint>(GETSTRUCT(tuple));
  if (form->contype != CONSTRAINT_CHECK || !form->convalidated) return false;
  bool isnull = false;
  Datum bin = heap_getattr(tuple, Anum_pg_constraint_conbin,
                           RelationGetDescr(rel), &isnull);
  if (isnull) return false;
  Node* expr = static_cast<Node*>(stringToNode(TextDatumGetCString(bin)));
  if (expr == nullptr || !IsA(expr, NullTest)) return false;
  auto* test = castNode(NullTest, expr);
  return test->nulltesttype == IS_NOT_NULL && test->arg != nullptr &&
         IsA(test->arg, Var) && castNode(Var, test->arg)->varattno == attnum;
}

}  // namespace

core::LintName LiveCatalog::Resolve(const RangeVar* relation, bool* temporary) {
  std::pair<std::string, std::string> key{
      relation->schemaname != nullptr ? relation->schemaname : "",
      relation->relname};
  bool temp_requested = relation->relpersistence == RELPERSISTENCE_TEMP;
  auto it = resolved_.find(key);
  if (it == resolved_.end() || temp_requested) {
    Oid relid = InvalidOid;
    const char* schema = nullptr;
    char persistence = temp_requested ? RELPERSISTENCE_TEMP : 0;
    // A three-part name (another database's) is left unresolved rather
    // than looked up, which would raise an error.
    if (relation->catalogname == nullptr) {
      PgTry([&]() noexcept {
        relid = RangeVarGetRelid(relation, NoLock, true);
        if (OidIsValid(relid)) {
          schema = get_namespace_name(get_rel_namespace(relid));
          persistence = get_rel_persistence(relid);
        } else if (relation->schemaname != nullptr) {
          schema = relation->schemaname;
        } else if (!temp_requested) {
          List* path = fetch_search_path(false);
          if (path != NIL) schema = get_namespace_name(linitial_oid(path));
        }
      });
    }
    Resolved entry{core::LintName{schema != nullptr ? schema : key.first,
                                  relation->relname},
                   relid, persistence == RELPERSISTENCE_TEMP};
    if (OidIsValid(relid)) oids_[entry.name] = relid;
    it = resolved_.insert_or_assign(key, entry).first;
  }
  *temporary = it->second.temporary;
  return it->second.name;
}

Oid LiveCatalog::RelationOid(const core::LintName& name) {
  auto it = oids_.find(name);
  if (it != oids_.end()) return it->second;
  Oid relid = InvalidOid;
  if (!name.schema.empty()) {
    PgTry([&]() noexcept {
      Oid nsp = get_namespace_oid(name.schema.c_str(), true);
      if (OidIsValid(nsp)) relid = get_relname_relid(name.name.c_str(), nsp);
    });
  }
  oids_[name] = relid;
  return relid;
}

std::optional<core::LintName> LiveCatalog::IndexTable(const RangeVar* index) {
  bool temporary = false;
  core::LintName name = Resolve(index, &temporary);
  auto noted = script_indexes_.find(name);
  if (noted != script_indexes_.end()) return noted->second;
  Oid relid = RelationOid(name);
  if (!OidIsValid(relid)) return std::nullopt;
  const char* schema = nullptr;
  const char* table = nullptr;
  PgTry([&]() noexcept {
    Oid table_id = IndexGetRelation(relid, true);
    if (OidIsValid(table_id)) {
      table = get_rel_name(table_id);
      schema = get_namespace_name(get_rel_namespace(table_id));
    }
  });
  if (table == nullptr || schema == nullptr) return std::nullopt;
  return core::LintName{schema, table};
}

void LiveCatalog::NoteIndex(const core::LintName& index,
                            const core::LintName& table) {
  script_indexes_[index] = table;
}

std::optional<core::LintTableSize> LiveCatalog::TableSize(
    const core::LintName& table) {
  Oid relid = RelationOid(table);
  if (!OidIsValid(relid)) return std::nullopt;
  return TableSizeOf(relid);
}

std::optional<core::LintTableSize> LiveCatalog::TableSizeOf(Oid relid) {
  auto cached = sizes_.find(relid);
  if (cached != sizes_.end()) return cached->second;
  RawSize raw{0, 0, false};
  bool exists = false;
  PgTry([&]() noexcept {
    exists = SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid));
    if (exists) ReadSize(relid, &raw);
  });
  std::optional<core::LintTableSize> size;
  if (exists) {
    size = core::LintTableSize{
        raw.rows, static_cast<std::int64_t>(raw.pages) * BLCKSZ, raw.is_new};
  }
  sizes_[relid] = size;
  return size;
}

std::optional<core::LintType> LiveCatalog::ColumnType(
    const core::LintName& table, const std::string& column) {
  Oid relid = RelationOid(table);
  if (!OidIsValid(relid)) return std::nullopt;
  const char* name = nullptr;
  const char* display = nullptr;
  int32 typmod = -1;
  bool array = false;
  PgTry([&]() noexcept {
    AttrNumber attnum = get_attnum(relid, column.c_str());
    if (attnum == InvalidAttrNumber) return;
    Oid typid = InvalidOid;
    Oid collation = InvalidOid;
    get_atttypetypmodcoll(relid, attnum, &typid, &typmod, &collation);
    Oid element = get_element_type(typid);
    array = OidIsValid(element);
    HeapTuple tuple =
        SearchSysCache1(TYPEOID, ObjectIdGetDatum(array ? element : typid));
    if (!HeapTupleIsValid(tuple)) return;
    name = pstrdup(
        NameStr(reinterpret_cast<Form_pg_type>(GETSTRUCT(tuple))->typname));
    ReleaseSysCache(tuple);
    display = format_type_with_typemod(typid, typmod);
  });
  if (name == nullptr) return std::nullopt;
  core::LintType type = core::TypeFromTypmod(name, typmod, array);
  type.display = display;
  return type;
}

bool LiveCatalog::HasNotNullCheck(const core::LintName& table,
                                  const std::string& column) {
  Oid relid = RelationOid(table);
  if (!OidIsValid(relid)) return false;
  bool found = false;
  PgTry([&]() noexcept {
    AttrNumber attnum = get_attnum(relid, column.c_str());
    if (attnum == InvalidAttrNumber) return;
    Relation rel = table_open(ConstraintRelationId, AccessShareLock);
    ScanKeyData key;
    ScanKeyInit(&key, Anum_pg_constraint_conrelid, BTEqualStrategyNumber,
                F_OIDEQ, ObjectIdGetDatum(relid));
    SysScanDesc scan = systable_beginscan(rel, ConstraintRelidTypidNameIndexId,
                                          true, nullptr, 1, &key);
    HeapTuple tuple;
    while (!found && HeapTupleIsValid(tuple = systable_getnext(scan))) {
      found = IsNotNullCheck(tuple, rel, attnum);
    }
    systable_endscan(scan);
    table_close(rel, AccessShareLock);
  });
  return found;
}

}  // namespace schema_guard::pg
