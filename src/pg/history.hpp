// Migration history tables: watching them with the attribution trigger, and
// the trigger that attributes a transaction's DDL to the migration it records.
#pragma once

#include "core/migration.hpp"

extern "C" {
#include "postgres.h"

#include "commands/trigger.h"
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

// Alembic's version-table writes (pg/alembic_attribution.cpp). An UPDATE of
// alembic_version applies its new revision, or reverts its old one when
// the declared graph has the new one among the old one's down revisions:
// the label to credit (palloc'd) and the revision it names; both null when
// the table has no version_num or a value is NULL. May elog(ERROR).
struct AlembicUpdate {
  char* label;
  char* revision;
  bool reverts;  // the UPDATE reverts `revision` (a downgrade step)
};
AlembicUpdate ReadAlembicUpdate(TriggerData* trigdata);
// Whether the declared Alembic graph has `to_revision` among the down
// revisions and dependencies of `from_revision`. May elog(ERROR).
bool AlembicUpdateReverts(const char* from_revision, const char* to_revision);
// After an UPDATE's attribution: takes over the DDL that the DELETEs (of
// an upgrade step) or INSERTs (of a downgrade step) of the same migration
// step took first. May elog(ERROR).
void AlembicHandOff(const AlembicUpdate& update);

}  // namespace schema_guard::pg
