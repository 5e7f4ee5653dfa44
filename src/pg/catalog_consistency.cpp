#include "pg/catalog_consistency.hpp"

#include <algorithm>
#include <utility>

#include "pg/bridge.hpp"

extern "C" {
#include "postgres.h"

#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "storage/lmgr.h"
#include "utils/inval.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
}

namespace schema_guard::pg {
namespace {

// The relations a relcache invalidation arrived for while a read is
// active. Filled by a relcache callback (plain C, registered once per
// backend); `everything` after a cache reset (the backend fell behind the
// invalidation queue), when every relation counts as changed.
struct ChangedRelations {
  bool active;
  bool everything;
  Oid* oids;
  int count;
  int sorted;  // oids[0, sorted) is sorted and without duplicates
  int capacity;
  MemoryContext context;
};

ChangedRelations changed = {false, false, nullptr, 0, 0, 0, nullptr};
bool callback_registered = false;

void OnRelcacheInvalidation(Datum, Oid relid) {
  if (!changed.active) return;
  if (relid == InvalidOid) {
    changed.everything = true;
    return;
  }
  if (changed.count == changed.capacity) {
    int capacity = changed.capacity == 0 ? 64 : changed.capacity * 2;
    std::size_t bytes = sizeof(Oid) * static_cast<std::size_t>(capacity);
    changed.oids = static_cast<Oid*>(
        changed.oids == nullptr ? MemoryContextAlloc(changed.context, bytes)
                                : repalloc(changed.oids, bytes));
    changed.capacity = capacity;
  }
  changed.oids[changed.count++] = relid;
}

bool IsChanged(Oid relid) {
  if (changed.everything) return true;
  if (changed.sorted != changed.count) {
    std::sort(changed.oids, changed.oids + changed.count);
    changed.count = static_cast<int>(
        std::unique(changed.oids, changed.oids + changed.count) - changed.oids);
    changed.sorted = changed.count;
  }
  return std::binary_search(changed.oids, changed.oids + changed.count, relid);
}

bool IsView(const RawRelation& r) {
  return r.kind == RELKIND_VIEW || r.kind == RELKIND_MATVIEW;
}

// Whether PostgreSQL's deparsers print anything for the relation.
bool NeedsPrinting(const RawRelation& r) {
  if (IsView(r) || r.has_defaults || r.is_partition ||
      r.kind == RELKIND_PARTITIONED_TABLE || r.trigger_count > 0 ||
      r.policy_count > 0) {
    return true;
  }
  for (int k = 0; k < r.constraint_count; ++k) {
    char type = r.constraints[k].type;
    if (type == CONSTRAINT_CHECK || type == CONSTRAINT_EXCLUSION) return true;
  }
  for (int k = 0; k < r.index_count; ++k) {
    const RawIndex& index = r.indexes[k];
    if (index.predicate_node != nullptr) return true;
    for (int c = 0; c < index.key_count + index.include_count; ++c) {
      if (index.keys[c] == nullptr) return true;
    }
  }
  return false;
}

constexpr int kAttempts = 5;

}  // namespace

ConsistentRead::ConsistentRead(std::vector<Oid> namespaces)
    : namespaces_(std::move(namespaces)) {
  std::sort(namespaces_.begin(), namespaces_.end());
  PgTry([&]() noexcept {
    scratch_ =
        AllocSetContextCreate(CurrentMemoryContext, "schema_guard catalog read",
                              ALLOCSET_DEFAULT_SIZES);
    if (!callback_registered) {
      CacheRegisterRelcacheCallback(OnRelcacheInvalidation, 0);
      callback_registered = true;
    }
    // Invalidations that arrived before the snapshot are in it.
    AcceptInvalidationMessages();
    changed = {true, false, nullptr, 0, 0, 0, scratch_};
    InvalidateCatalogSnapshot();
    snapshot_ = RegisterSnapshot(GetCatalogSnapshot(RelationRelationId));
  });
}

// Plain resets and two PostgreSQL calls that do not raise: the snapshot
// goes back and the scratch memory is freed. After an error the
// transaction's abort would release the snapshot anyway.
ConsistentRead::~ConsistentRead() {
  changed = {false, false, nullptr, 0, 0, 0, nullptr};
  if (snapshot_ != nullptr) UnregisterSnapshot(snapshot_);
  if (scratch_ != nullptr) MemoryContextDelete(scratch_);
}

bool ConsistentRead::Changed(Oid relid) const { return IsChanged(relid); }

RawRelations& ConsistentRead::ReadRelationsOnce() {
  const Oid* namespace_oids = namespaces_.data();
  std::size_t namespace_count = namespaces_.size();
  PgTry([&]() noexcept {
    MemoryContext caller = MemoryContextSwitchTo(scratch_);
    ReadExtensionMembers(snapshot_, &relations_);
    ReadRelations(snapshot_, namespace_oids, namespace_count, &relations_);
    ScanRelationDetails(ScanScope{snapshot_, InvalidOid}, &relations_);
    ScanComments(snapshot_, &relations_);
    MemoryContextSwitchTo(caller);
  });
  return relations_;
}

bool ConsistentRead::Refresh(RawRelation* r) {
  bool present = true;
  const Oid* namespace_oids = namespaces_.data();
  std::size_t namespace_count = namespaces_.size();
  RawRelations* all = &relations_;
  PgTry([&]() noexcept {
    if (!IsChanged(r->oid)) return;
    MemoryContext caller = MemoryContextSwitchTo(scratch_);
    if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(r->oid)) ||
        !RereadRelationRow(r, namespace_oids, namespace_count)) {
      present = false;
    } else {
      ClearRelationDetails(r);
      RawRelations one = *all;
      one.items = r;
      one.count = 1;
      ScanRelationDetails(ScanScope{nullptr, r->oid}, &one);
    }
    MemoryContextSwitchTo(caller);
  });
  return present;
}

void ConsistentRead::Settle(Progress* progress,
                            const std::function<void(RawRelation&)>& print) {
  for (int i = 0; i < relations_.count; ++i) {
    progress->Step();
    RawRelation* r = &relations_.items[i];
    if (!NeedsPrinting(*r) && !IsView(*r)) continue;
    if (IsView(*r)) {
      SettleView(r, print);
    } else {
      SettleTable(r, print);
    }
  }
}

// A table (or partitioned table): locked, refreshed, printed, unlocked. A
// printer that finds an object gone (DROP INDEX CONCURRENTLY takes no lock
// that conflicts) means the table changed: it is read again.
void ConsistentRead::SettleTable(
    RawRelation* r, const std::function<void(RawRelation&)>& print) {
  Oid relid = r->oid;
  PgTry([&]() noexcept { LockRelationOid(relid, AccessShareLock); });
  for (int attempt = 0;; ++attempt) {
    if (!Refresh(r)) {
      r->gone = true;
      break;
    }
    if (IsView(*r)) {
      // Replaced by a view under the same OID: settled as one.
      PgTry([&]() noexcept { UnlockRelationOid(relid, AccessShareLock); });
      SettleView(r, print);
      return;
    }
    bool printed = false;
    PgTry([&]() noexcept {
      MemoryContext caller = MemoryContextSwitchTo(scratch_);
      printed = PrintRelationDetails(r);
      MemoryContextSwitchTo(caller);
    });
    if (printed) {
      print(*r);
      break;
    }
    if (attempt + 1 == kAttempts) {
      r->gone = true;  // still changing under a weak lock: leave it out
      break;
    }
    PgTry([&]() noexcept {
      MemoryContext caller = MemoryContextSwitchTo(scratch_);
      OnRelcacheInvalidation(0, relid);  // read it again
      MemoryContextSwitchTo(caller);
    });
  }
  PgTry([&]() noexcept { UnlockRelationOid(relid, AccessShareLock); });
}

// A view or materialized view: in a subtransaction that is rolled back,
// the view and everything it reads are locked without waiting, refreshed
// and printed. When a lock is not free, everything is released and the
// read waits for that one lock alone, then tries again: it never waits
// while holding a lock, so it cannot be part of a deadlock.
void ConsistentRead::SettleView(
    RawRelation* r, const std::function<void(RawRelation&)>& print) {
  for (int attempt = 0;; ++attempt) {
    Oid blocked = InvalidOid;
    bool done = false;
    InRolledBackSubtransaction([&] {
      PgTry([&]() noexcept {
        if (!ConditionalLockRelationOid(r->oid, AccessShareLock)) {
          blocked = r->oid;
          return;
        }
        for (int k = 0; k < r->read_count; ++k) {
          if (r->read_attnums[k] != 0) continue;
          if (!ConditionalLockRelationOid(r->reads[k], AccessShareLock)) {
            blocked = r->reads[k];
            return;
          }
        }
      });
      if (blocked != InvalidOid) return;
      if (!Refresh(r)) {
        r->gone = true;
        done = true;
        return;
      }
      if (Changed(r->oid)) {
        // Read again: it may read relations not locked yet.
        bool all_held = true;
        PgTry([&]() noexcept {
          for (int k = 0; k < r->read_count && all_held; ++k) {
            if (r->read_attnums[k] != 0) continue;
            if (!ConditionalLockRelationOid(r->reads[k], AccessShareLock)) {
              all_held = false;
              blocked = r->reads[k];
            }
          }
        });
        if (!all_held) return;
      }
      bool printed = false;
      PgTry([&]() noexcept {
        MemoryContext caller = MemoryContextSwitchTo(scratch_);
        if (IsView(*r)) r->view_definition = PrintViewDefinition(r->oid);
        printed = (!IsView(*r) || r->view_definition != nullptr) &&
                  PrintRelationDetails(r);
        MemoryContextSwitchTo(caller);
      });
      if (!printed) return;
      print(*r);
      done = true;
    });
    if (done) return;
    if (attempt + 1 == kAttempts) {
      r->gone = true;
      return;
    }
    PgTry([&]() noexcept {
      if (blocked != InvalidOid) {
        LockRelationOid(blocked, AccessShareLock);
        UnlockRelationOid(blocked, AccessShareLock);
      }
      MemoryContext caller = MemoryContextSwitchTo(scratch_);
      OnRelcacheInvalidation(0, r->oid);  // read it again
      MemoryContextSwitchTo(caller);
    });
  }
}

}  // namespace schema_guard::pg
