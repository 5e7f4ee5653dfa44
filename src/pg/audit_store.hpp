// Writing the DDL audit (schema_guard.ddl_capture, read through the view
// schema_guard.ddl_event). The event triggers run as the role that issued
// the DDL, which holds no privilege on the audit table, so rows are written
// straight to the heap and its index (as PostgreSQL writes its own catalogs)
// in the DDL's own transaction: the statement and its audit rows commit or
// roll back together.
#pragma once

extern "C" {
#include "postgres.h"
}

namespace schema_guard::pg {

struct AuditObject {
  Datum command_tag;  // text
  Datum object_type;  // text
  Datum schema_name;  // text, or (Datum) 0 with schema_name_null
  bool schema_name_null;
  Datum object_identity;  // text
  bool in_extension;
  bool rewrite;
};

// True when this event must not be audited at all: the audit is off, the
// statement is schema_guard's own (its install, update, drop or internal
// DDL), or a restore is running (InRestoreSession).
bool AuditSuppressed();

// True in a session that restores a dump: a superuser's session with the
// settings every pg_dump script and every pg_restore connection starts with
// (row_security = off, check_function_bodies = off, xmloption = content,
// search_path = ''). Its DDL re-creates a schema the dump's own audit rows
// already describe, so it is not recorded, and its history-table writes
// attribute nothing.
bool InRestoreSession();

// True for schema_guard's own DDL: its install, update or drop, or SQL it
// runs internally.
bool InternalDdl();

// Collects the objects of one event-trigger call and writes them to
// schema_guard.ddl_capture when the call ends: one row (one heap and one
// index insert) for all of them. The audit table is opened and the shared
// parts of the row computed only then, so a statement whose objects are all
// ignored (temporary tables) never touches it.
// Event ids are taken a block of kEventIdBlock at a time (the block after
// the highest id in the table), and a transaction uses up its block before
// it takes the next: one allocation per 64 objects of a transaction, not
// one per event. A row's objects have consecutive ids, so objects that do
// not fit in what is left of a block go to a row of their own.
inline constexpr int kEventIdBlock = 64;

struct AuditWriter {
  const char* migration_label;  // may be null
  const char* claimed_label;    // a claim that did not count; may be null
  AuditObject* objects;         // copies, palloc'd in the caller's context
  int count;
  int capacity;
};

void StartAuditWriter(AuditWriter* writer, const char* migration_label,
                      const char* claimed_label);
// Adds one object; its Datums are copied, so they may point into a slot.
void AddAuditObject(AuditWriter* writer, const AuditObject* object);
// Writes the collected objects, if any. May elog(ERROR): a failing audit
// write fails the DDL.
void FinishAuditWriter(AuditWriter* writer);

// The role, security context and GUC nest level saved by EnterOwnerContext.
struct OwnerContext {
  Oid user;
  int security;
  int guc_level;
};

// Switches to the owner of schema_guard.<relname> as a security-restricted
// operation with search_path pinned to pg_catalog, pg_temp; may elog(ERROR).
// LeaveOwnerContext restores the role and search_path. (On an error in
// between, the transaction's abort restores both.)
void EnterOwnerContext(const char* relname, OwnerContext* saved);
void LeaveOwnerContext(const OwnerContext* saved);

// Runs internal SQL as the audit table's owner, as a security-restricted
// operation with search_path pinned to pg_catalog, pg_temp, and with the
// audit suppressed: schema_guard's own DDL is neither audited nor limited by
// the caller's privileges, and the caller cannot redirect it.
void RunInternalSql(const char* sql, int nargs, Oid* argtypes, Datum* values,
                    const char* nulls);

// The same for a query of one boolean: its value (false when NULL or no
// row, with *is_null set).
bool RunInternalQueryBool(const char* sql, int nargs, Oid* argtypes,
                          Datum* values, const char* nulls, bool* is_null);

// Called when a transaction or subtransaction aborts: internal SQL that
// raised an error left its flag set.
void ForgetInternalSql();

// The first event_id this backend wrote, or 0: a lower bound for the
// session's own events.
int64 SessionFirstEventId();

// The first event_id this backend wrote in the current transaction, or 0:
// a lower bound for the transaction's own events (found through the
// primary key, so ddl_capture needs no index on txid).
int64 TransactionFirstEventId();

// Called at the end of every transaction.
void ForgetTransactionEvents();

// Called when a subtransaction aborts: the rows that claimed the current
// block may be gone once vacuumed, so the block is taken anew.
void ForgetEventBlock();

// Called once from _PG_init.
void RegisterAuditStoreCallbacks();

}  // namespace schema_guard::pg
