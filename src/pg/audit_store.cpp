#include "pg/audit_store.hpp"

#include <string>

#include "core/statement.hpp"
#include "pg/bridge.hpp"
#include "pg/settings.hpp"
#include "pg/statement_capture.hpp"

extern "C" {
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/extension.h"
#include "commands/sequence.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "catalog/pg_class.h"
#include "utils/timestamp.h"
#include "utils/xid8.h"
}

namespace schema_guard::pg {
namespace {

// Column numbers of schema_guard.ddl_event (see the install script; upgrade
// scripts must keep this order).
enum AuditColumn {
  kEventId,
  kOccurredAt,
  kTxid,
  kRoleName,
  kCurrentRoleName,
  kApplicationName,
  kClientAddr,
  kBackendPid,
  kBackendStart,
  kCommandTag,
  kObjectType,
  kSchemaName,
  kObjectIdentity,
  kStatement,
  kInExtension,
  kRewrite,
  kMigration,
  kAuditColumnCount
};

constexpr const char* kSchema = "schema_guard";

bool internal_sql_running = false;
int64 session_first_event_id = 0;
int64 xact_first_event_id = 0;

Oid AuditNamespace() { return get_namespace_oid(kSchema, true); }

Datum TextDatum(const char* text) {
  return PointerGetDatum(cstring_to_text(text));
}

// The statement text, cut at schema_guard.audit_max_statement_bytes on a
// character boundary with a marker saying how long it was.
void StatementDatum(Datum* value, bool* is_null) {
  StatementText statement = CurrentStatement();
  if (statement.text == nullptr) {
    *value = (Datum)0;
    *is_null = true;
    return;
  }
  *is_null = false;
  if (statement.length <= audit_max_statement_bytes) {
    *value = PointerGetDatum(
        cstring_to_text_with_len(statement.text, statement.length));
    return;
  }
  int kept =
      pg_mbcliplen(statement.text, statement.length, audit_max_statement_bytes);
  text* result = nullptr;
  Guarded([&] {
    std::string truncated = core::TruncatedStatement(
        std::string_view(statement.text, static_cast<size_t>(kept)),
        static_cast<size_t>(statement.length));
    // cstring_to_text_with_len may raise only on out-of-memory; route it
    // through the reverse guard since `truncated` is alive.
    PgTry([&]() noexcept {
      result = cstring_to_text_with_len(truncated.data(),
                                        static_cast<int>(truncated.size()));
    });
  });
  *value = PointerGetDatum(result);
}

void ClientAddrDatum(Datum* value, bool* is_null) {
  LOCAL_FCINFO(fcinfo, 0);
  InitFunctionCallInfoData(*fcinfo, nullptr, 0, InvalidOid, nullptr, nullptr);
  Datum result = inet_client_addr(fcinfo);
  *is_null = fcinfo->isnull;
  *value = fcinfo->isnull ? (Datum)0 : result;
}

}  // namespace

bool AuditSuppressed() {
  if (!audit_enabled || internal_sql_running) return true;
  if (creating_extension &&
      CurrentExtensionObject == get_extension_oid(kSchema, true)) {
    return true;
  }
  return false;
}

namespace {

bool OpenAuditTarget(AuditTarget* target) {
  Oid nsp = AuditNamespace();
  if (!OidIsValid(nsp)) return false;
  Oid relid = get_relname_relid("ddl_event", nsp);
  Oid seqid = get_relname_relid("ddl_event_event_id_seq", nsp);
  if (!OidIsValid(relid) || !OidIsValid(seqid)) return false;
  target->relation = table_open(relid, RowExclusiveLock);
  if (RelationGetDescr(target->relation)->natts != kAuditColumnCount) {
    elog(ERROR, "schema_guard.ddl_event has %d columns, expected %d",
         RelationGetDescr(target->relation)->natts, kAuditColumnCount);
  }
  target->indexes = CatalogOpenIndexes(target->relation);
  target->sequence = seqid;
  return true;
}

void CloseAuditTarget(AuditTarget* target) {
  CatalogCloseIndexes(target->indexes);
  table_close(target->relation, NoLock);
}

void PrepareEventContext(EventContext* context, const char* migration) {
  context->occurred_at = TimestampTzGetDatum(GetCurrentTimestamp());
  context->txid = FullTransactionIdGetDatum(GetTopFullTransactionId());
  context->role_name = TextDatum(GetUserNameFromId(GetSessionUserId(), false));
  context->current_role_name = TextDatum(GetUserNameFromId(GetUserId(), false));
  context->application_name_null =
      application_name == nullptr || application_name[0] == '\0';
  context->application_name =
      context->application_name_null ? (Datum)0 : TextDatum(application_name);
  ClientAddrDatum(&context->client_addr, &context->client_addr_null);
  context->backend_start = TimestampTzGetDatum(MyStartTimestamp);
  StatementDatum(&context->statement, &context->statement_null);
  context->migration_null = migration == nullptr;
  context->migration = migration == nullptr ? (Datum)0 : TextDatum(migration);
}

int64 NextEventId(AuditWriter* writer) {
  if (writer->next_id == writer->block_end) {
    writer->next_id = nextval_internal(writer->target.sequence, false);
    writer->block_end = writer->next_id + kEventIdBlock;
  }
  int64 event_id = writer->next_id++;
  if (session_first_event_id == 0) session_first_event_id = event_id;
  if (xact_first_event_id == 0) xact_first_event_id = event_id;
  return event_id;
}

void InsertAuditRow(AuditWriter* writer, const AuditObject* object) {
  const EventContext* context = &writer->context;
  Datum values[kAuditColumnCount];
  bool nulls[kAuditColumnCount] = {};
  values[kEventId] = Int64GetDatum(NextEventId(writer));
  values[kOccurredAt] = context->occurred_at;
  values[kTxid] = context->txid;
  values[kRoleName] = context->role_name;
  values[kCurrentRoleName] = context->current_role_name;
  values[kApplicationName] = context->application_name;
  nulls[kApplicationName] = context->application_name_null;
  values[kClientAddr] = context->client_addr;
  nulls[kClientAddr] = context->client_addr_null;
  values[kBackendPid] = Int32GetDatum(MyProcPid);
  values[kBackendStart] = context->backend_start;
  values[kCommandTag] = object->command_tag;
  values[kObjectType] = object->object_type;
  values[kSchemaName] = object->schema_name;
  nulls[kSchemaName] = object->schema_name_null;
  values[kObjectIdentity] = object->object_identity;
  values[kStatement] = context->statement;
  nulls[kStatement] = context->statement_null;
  values[kInExtension] = BoolGetDatum(object->in_extension);
  values[kRewrite] = BoolGetDatum(object->rewrite);
  values[kMigration] = context->migration;
  nulls[kMigration] = context->migration_null;

  HeapTuple tuple =
      heap_form_tuple(RelationGetDescr(writer->target.relation), values, nulls);
  CatalogTupleInsertWithInfo(writer->target.relation, tuple,
                             writer->target.indexes);
  heap_freetuple(tuple);
}

}  // namespace

void StartAuditWriter(AuditWriter* writer, const char* migration_label) {
  writer->migration_label = migration_label;
  writer->started = false;
  writer->unavailable = false;
}

void WriteAuditRow(AuditWriter* writer, const AuditObject* object) {
  if (writer->unavailable) return;
  if (!writer->started) {
    if (!OpenAuditTarget(&writer->target)) {
      writer->unavailable = true;
      return;
    }
    PrepareEventContext(&writer->context, writer->migration_label);
    writer->next_id = 0;
    writer->block_end = 0;
    writer->started = true;
  }
  InsertAuditRow(writer, object);
}

void FinishAuditWriter(AuditWriter* writer) {
  if (writer->started) CloseAuditTarget(&writer->target);
  writer->started = false;
}

void EnterOwnerContext(const char* relname, OwnerContext* saved) {
  Oid nsp = AuditNamespace();
  Oid relid = OidIsValid(nsp) ? get_relname_relid(relname, nsp) : InvalidOid;
  if (!OidIsValid(relid)) {
    elog(ERROR, "schema_guard.%s is missing", relname);
  }
  Oid owner = InvalidOid;
  {
    HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
    if (!HeapTupleIsValid(tuple))
      elog(ERROR, "cache lookup failed for %u", relid);
    owner = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relowner;
    ReleaseSysCache(tuple);
  }
  GetUserIdAndSecContext(&saved->user, &saved->security);
  SetUserIdAndSecContext(owner, saved->security | SECURITY_LOCAL_USERID_CHANGE |
                                    SECURITY_RESTRICTED_OPERATION);
  // The caller's search_path must not choose the functions and operators
  // that run with the owner's rights.
  saved->guc_level = NewGUCNestLevel();
  (void)set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET,
                          PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
}

void LeaveOwnerContext(const OwnerContext* saved) {
  SetUserIdAndSecContext(saved->user, saved->security);
  AtEOXact_GUC(true, saved->guc_level);
}

void RunInternalSql(const char* sql, int nargs, Oid* argtypes, Datum* values,
                    const char* nulls) {
  OwnerContext saved;
  EnterOwnerContext("ddl_event", &saved);
  bool saved_internal = internal_sql_running;
  internal_sql_running = true;
  PG_TRY();
  {
    if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
    int rc =
        SPI_execute_with_args(sql, nargs, argtypes, values, nulls, false, 0);
    if (rc < 0)
      elog(ERROR, "internal statement failed: %s", SPI_result_code_string(rc));
    SPI_finish();
  }
  PG_FINALLY();
  {
    internal_sql_running = saved_internal;
    SetUserIdAndSecContext(saved.user, saved.security);
  }
  PG_END_TRY();
  AtEOXact_GUC(true, saved.guc_level);
}

int64 SessionFirstEventId() { return session_first_event_id; }

int64 TransactionFirstEventId() { return xact_first_event_id; }

void ForgetTransactionEvents() { xact_first_event_id = 0; }

}  // namespace schema_guard::pg
