// Migration history tables: watching them with the attribution trigger, and
// the trigger that attributes a transaction's DDL to the migration it records.
#pragma once

#include "core/migration.hpp"

extern "C" {
#include "postgres.h"
}

namespace schema_guard::pg {

// Attaches the attribution trigger to a history table. When the table lacks
// a column the framework's label is built from, an explicit request fails
// and an automatic one (a table created with a history table's name) is
// skipped with a NOTICE. Returns true when the trigger was newly attached.
bool AttachHistoryTrigger(Oid relid, core::Framework framework,
                          bool explicit_request);

}  // namespace schema_guard::pg
