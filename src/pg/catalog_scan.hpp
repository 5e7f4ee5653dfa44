// Catalog scans for code that runs inside PgTry: plain data only, no C++
// object that a PostgreSQL error could jump over.
#pragma once

#include <cstddef>

extern "C" {
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "nodes/makefuncs.h"
#include "storage/lockdefs.h"
#include "utils/fmgroids.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/snapshot.h"
}

namespace schema_guard::pg {

// Makes room for one more item in a growable palloc'd array (current memory
// context), doubling it when full.
template <typename T>
T* Grow(T* items, int count, int* capacity) {
  if (count < *capacity) return items;
  *capacity = *capacity == 0 ? 8 : *capacity * 2;
  std::size_t bytes = static_cast<std::size_t>(*capacity) * sizeof(T);
  return static_cast<T*>(items == nullptr ? palloc(bytes)
                                          : repalloc(items, bytes));
}

// The relation a possibly qualified name refers to (through search_path
// when unqualified, like to_regclass()), InvalidOid when there is none;
// locked with `lock` as it is looked up, so that it cannot go in between.
inline Oid RelationByName(const char* name, LOCKMODE lock) {
#if PG_VERSION_NUM >= 160000
  List* names = stringToQualifiedNameList(name, nullptr);
#else
  List* names = stringToQualifiedNameList(name);
#endif
  return RangeVarGetRelid(makeRangeVarFromNameList(names), lock, true);
}

// Calls fn(tuple, descriptor) for every row of a system catalog (one heap
// scan). For many relations, one scan matched by OID is cheaper than an
// index scan per relation. `snapshot` nullptr means the current catalog
// snapshot; a registered snapshot makes several scans read one instant.
template <typename Fn>
void ScanCatalog(Oid catalog, Fn&& fn, Snapshot snapshot = nullptr) {
  Relation rel = table_open(catalog, AccessShareLock);
  SysScanDesc scan =
      systable_beginscan(rel, InvalidOid, false, snapshot, 0, nullptr);
  HeapTuple tuple = nullptr;
  while (HeapTupleIsValid(tuple = systable_getnext(scan))) {
    fn(tuple, RelationGetDescr(rel));
  }
  systable_endscan(scan);
  table_close(rel, AccessShareLock);
}

// The rows of a system catalog whose leading index columns equal the given
// OIDs (one or two keys), through that index.
template <typename Fn>
void ScanCatalogByKey(Oid catalog, Oid index, AttrNumber first, Oid value,
                      AttrNumber second, Oid second_value, Fn&& fn,
                      Snapshot snapshot = nullptr) {
  ScanKeyData keys[2];
  ScanKeyInit(&keys[0], first, BTEqualStrategyNumber, F_OIDEQ,
              ObjectIdGetDatum(value));
  int count = 1;
  if (second != InvalidAttrNumber) {
    ScanKeyInit(&keys[1], second, BTEqualStrategyNumber, F_OIDEQ,
                ObjectIdGetDatum(second_value));
    count = 2;
  }
  Relation rel = table_open(catalog, AccessShareLock);
  SysScanDesc scan =
      systable_beginscan(rel, index, true, snapshot, count, keys);
  HeapTuple tuple = nullptr;
  while (HeapTupleIsValid(tuple = systable_getnext(scan))) {
    fn(tuple, RelationGetDescr(rel));
  }
  systable_endscan(scan);
  table_close(rel, AccessShareLock);
}

// Which rows a relation-matched scan reads: the whole catalog under the
// read's snapshot, or the rows of one relation (its re-read under a lock,
// with the current catalog snapshot).
struct ScanScope {
  Snapshot snapshot = nullptr;
  Oid relid = InvalidOid;  // InvalidOid: the whole catalog
};

// A relation-matched scan: fn(tuple, desc) for every row of `catalog`, or,
// for a scope of one relation, for its rows through `index` on `key`.
template <typename Fn>
void ScanScoped(const ScanScope& scope, Oid catalog, Oid index, AttrNumber key,
                Fn&& fn) {
  if (scope.relid == InvalidOid) {
    ScanCatalog(catalog, fn, scope.snapshot);
  } else {
    ScanCatalogByKey(catalog, index, key, scope.relid, InvalidAttrNumber,
                     InvalidOid, fn, scope.snapshot);
  }
}

}  // namespace schema_guard::pg
