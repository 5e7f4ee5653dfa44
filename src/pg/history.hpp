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

// Makes an attribution trigger go with the extension: DROP EXTENSION
// schema_guard then drops it too, without CASCADE. (pg_dump restores the
// trigger without this dependency; the ddl_command_end trigger records it
// again for every CREATE TRIGGER of schema_guard.history_row().) May
// elog(ERROR).
void TieHistoryTrigger(Oid trigger);

// Whether the trigger calls schema_guard.history_row(). May elog(ERROR).
bool IsHistoryTrigger(Oid trigger);

}  // namespace schema_guard::pg
