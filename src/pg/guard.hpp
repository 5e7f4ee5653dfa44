// The DDL guard: the lint rules evaluated on the statement about to run
// (ddl_command_start) and on each table a statement rewrites
// (table_rewrite), with the live table sizes. schema_guard.guard = warn
// raises a WARNING with the safe rewrite, block an ERROR; a statement that
// ran although flagged (warned, or let through by SET LOCAL
// schema_guard.guard = off) is recorded in schema_guard.guard_event.
#pragma once

extern "C" {
#include "postgres.h"

#include "fmgr.h"
}

namespace schema_guard::pg {

// Whether the guard has anything to do: it is on, or turned off by the
// session (SET or SET LOCAL) against a setting that has it on (an
// override, which is recorded).
bool GuardWanted();

// table_rewrite: relid is about to be rewritten for `reason`
// (AT_REWRITE_* flags) by a statement with this command tag.
void GuardTableRewrite(Oid relid, int reason, const char* tag);

// At ddl_command_end and at the end of a transaction: the statement is
// over.
void GuardStatementEnd();

void RequireEventTrigger(FunctionCallInfo fcinfo);

}  // namespace schema_guard::pg
