// The target table of a batch, read from the catalog: its columns with
// their types, its CHECK constraints and foreign keys (core::StageTarget),
// and the unique index the merge arbitrates on.
#pragma once

#include <string>
#include <vector>

#include "core/staging.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "postgres.h"

#include "access/attnum.h"
#include "storage/lockdefs.h"
}

namespace schema_guard::pg {

// A column's type, parallel to core::StageTarget::columns.
struct TargetColumn {
  AttrNumber attnum = 0;
  Oid type = InvalidOid;
  int32 typmod = -1;
  Oid collation = InvalidOid;
};

struct Target {
  Oid oid = InvalidOid;
  Oid rowtype = InvalidOid;
  core::StageTarget info;
  std::vector<TargetColumn> columns;
};

// Locks the table in `lockmode` and reads it; refuses a relation that is
// not an ordinary permanent table of the user's (views, partitioned and
// foreign tables, temporary tables, system catalogs, schema_guard's own
// tables), and a table that no longer exists ("the batch's target").
Target ReadTarget(SpiSession& spi, Oid relid, LOCKMODE lockmode);

// stage_open's further checks: a unique index on exactly the key columns,
// and SELECT, INSERT and UPDATE on the table for the caller.
void CheckTargetForOpen(SpiSession& spi, const Target& target,
                        const std::vector<std::string>& key_columns);

// How the unique index on the key columns orders and compares its keys,
// per key column in key order.
struct KeyOrdering {
  std::vector<Oid> less;       // "<" of the index's operator family
  std::vector<Oid> equal;      // its "="
  std::vector<Oid> collation;  // the index column's collation
};

// Throws (55000) when the table no longer has such an index.
KeyOrdering ReadKeyOrdering(SpiSession& spi, const Target& target,
                            const std::vector<std::string>& key_columns);

}  // namespace schema_guard::pg
