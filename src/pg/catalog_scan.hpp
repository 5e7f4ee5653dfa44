// Whole-catalog scans for code that runs inside PgTry: plain data only, no
// C++ object that a PostgreSQL error could jump over.
#pragma once

#include <cstddef>

extern "C" {
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "utils/rel.h"
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

// Calls fn(tuple, descriptor) for every row of a system catalog (one heap
// scan under the catalog snapshot). For many relations, one scan matched by
// OID is cheaper than an index scan per relation.
template <typename Fn>
void ScanCatalog(Oid catalog, Fn&& fn) {
  Relation rel = table_open(catalog, AccessShareLock);
  SysScanDesc scan =
      systable_beginscan(rel, InvalidOid, false, nullptr, 0, nullptr);
  HeapTuple tuple = nullptr;
  while (HeapTupleIsValid(tuple = systable_getnext(scan))) {
    fn(tuple, RelationGetDescr(rel));
  }
  systable_endscan(scan);
  table_close(rel, AccessShareLock);
}

}  // namespace schema_guard::pg
