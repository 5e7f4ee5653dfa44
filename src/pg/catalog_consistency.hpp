// A read of the catalog that other sessions' DDL cannot break.
//
// Every catalog scan of one read uses one registered snapshot, so the rows
// gathered are those of one instant: a table is never read with the columns
// of one moment and the constraints of another. What PostgreSQL's deparsers
// print (view definitions, CHECK bodies, index expressions, partition
// bounds, defaults) is read from the current catalog instead, so each
// relation that needs printing is then settled on its own: it is locked
// (AccessShareLock, released right after, so a read holds at most a few
// locks at a time and never waits while holding one), and if it changed
// since the snapshot (a relcache invalidation arrived for it) it is read
// again under the lock; if it is gone, it is simply not there. Views are
// printed in a subtransaction that is rolled back, which releases the locks
// pg_get_viewdef takes on what the view reads; their locks are taken
// without waiting, and a read that would wait releases everything first.
#pragma once

#include <functional>
#include <vector>

#include "pg/catalog_raw.hpp"
#include "pg/progress.hpp"

extern "C" {
#include "postgres.h"

#include "utils/memutils.h"
}

namespace schema_guard::pg {

class ConsistentRead {
 public:
  // Makes the scratch memory context, registers the snapshot and starts
  // watching for relcache invalidations. `namespaces` sorted.
  explicit ConsistentRead(std::vector<Oid> namespaces);
  ~ConsistentRead();
  ConsistentRead(const ConsistentRead&) = delete;
  ConsistentRead& operator=(const ConsistentRead&) = delete;

  MemoryContext scratch() const { return scratch_; }
  Snapshot snapshot() const { return snapshot_; }
  const std::vector<Oid>& namespaces() const { return namespaces_; }

  // The relations of the namespaces and their details, under the snapshot.
  RawRelations& ReadRelationsOnce();

  // Settles every relation that needs printing (see above). `print` runs
  // while the relation is locked and prints what the C++ side prints
  // itself (defaults); it calls PostgreSQL through PgTry only. Each
  // relation is a step of `progress`.
  void Settle(Progress* progress,
              const std::function<void(RawRelation&)>& print);

  // True when an invalidation for the relation arrived since the snapshot.
  bool Changed(Oid relid) const;

 private:
  void SettleTable(RawRelation* r,
                   const std::function<void(RawRelation&)>& print);
  void SettleView(RawRelation* r,
                  const std::function<void(RawRelation&)>& print);
  // Under the relation's lock: gone, or read again if it changed. Returns
  // false when it is gone.
  bool Refresh(RawRelation* r);

  std::vector<Oid> namespaces_;
  MemoryContext scratch_ = nullptr;
  Snapshot snapshot_ = nullptr;
  RawRelations relations_;
};

}  // namespace schema_guard::pg
