#include "pg/audit_store.hpp"

#include <algorithm>
#include <string>

#include "core/statement.hpp"
#include "pg/bridge.hpp"
#include "pg/settings.hpp"
#include "pg/spi.hpp"
#include "pg/statement_capture.hpp"

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/itup.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "catalog/pg_class.h"
#include "storage/lmgr.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/xid8.h"
}

namespace schema_guard::pg {
namespace {

// Column numbers of schema_guard.ddl_capture (see the install script;
// upgrade scripts must keep this order).
enum AuditColumn {
  kFirstEventId,
  kOccurredAt,
  kTxid,
  kRoleName,
  kCurrentRoleName,
  kApplicationName,
  kClientAddr,
  kBackendPid,
  kBackendStart,
  kStatement,
  kInExtension,
  kMigration,
  kCommandTags,
  kObjectTypes,
  kSchemaNames,
  kObjectIdentities,
  kRewritten,
  kClaimedMigration,  // 0.2.0
  kAuditColumnCount
};
// 0.1.0's table ends before claimed_migration; the library serves both
// until ALTER EXTENSION ... UPDATE has run.
constexpr int kAuditColumnsV010 = kClaimedMigration;

struct AuditTarget {
  Relation relation;
  CatalogIndexState indexes;
  int natts;
  bool locked_allocation;  // holds the id allocation lock (see TakeEventIds)
};

// What every object of one event-trigger call shares (palloc'd Datums).
struct EventContext {
  Datum occurred_at;
  Datum txid;
  Datum role_name;
  Datum current_role_name;
  Datum application_name;  // (Datum) 0 with application_name_null
  bool application_name_null;
  Datum client_addr;
  bool client_addr_null;
  Datum backend_start;
  Datum statement;
  bool statement_null;
  Datum migration;
  bool migration_null;
  Datum claimed;
  bool claimed_null;
};

constexpr const char* kSchema = "schema_guard";

bool internal_sql_running = false;
int64 session_first_event_id = 0;
int64 xact_first_event_id = 0;
// The transaction's current block of event ids: [block_next, block_end).
// A transaction takes ids a block at a time, not a block per statement.
int64 block_next = 0;
int64 block_end = 0;
Oid block_relation = InvalidOid;  // the audit table the block belongs to

// The OID of the audit table, looked up once and forgotten on any relcache
// invalidation of it (DROP EXTENSION, a rename) or of everything.
struct AuditRelations {
  bool valid;
  Oid relation;
};
AuditRelations audit_relations = {false, InvalidOid};

void OnRelcacheInvalidation(Datum /*arg*/, Oid relid) {
  if (relid == InvalidOid || relid == audit_relations.relation) {
    audit_relations.valid = false;
  }
}

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

bool InternalDdl() {
  if (internal_sql_running) return true;
  return creating_extension &&
         CurrentExtensionObject == get_extension_oid(kSchema, true);
}

bool AuditSuppressed() {
  return !audit_enabled || InternalDdl() || InRestoreSession();
}

bool InRestoreSession() {
  if (!superuser()) return false;
  auto setting_is = [](const char* name, const char* value) {
    const char* current = GetConfigOption(name, true, false);
    return current != nullptr && strcmp(current, value) == 0;
  };
  return setting_is("row_security", "off") &&
         setting_is("check_function_bodies", "off") &&
         setting_is("xmloption", "content") && setting_is("search_path", "");
}

namespace {

// Opens the audit table, or returns false when it is not there: the
// extension is being dropped, possibly by another session that committed
// while this one waited for the table's lock (try_table_open checks for the
// relation again once it holds the lock).
bool OpenAuditTarget(AuditTarget* target) {
  if (!audit_relations.valid) {
    Oid nsp = AuditNamespace();
    if (!OidIsValid(nsp)) return false;
    Oid relid = get_relname_relid("ddl_capture", nsp);
    if (!OidIsValid(relid)) return false;
    audit_relations = {true, relid};
  }
  target->relation = try_table_open(audit_relations.relation, RowExclusiveLock);
  if (target->relation == nullptr) {
    audit_relations.valid = false;
    return false;
  }
  target->natts = RelationGetDescr(target->relation)->natts;
  if (target->natts != kAuditColumnCount &&
      target->natts != kAuditColumnsV010) {
    elog(ERROR, "schema_guard.ddl_capture has %d columns, expected %d",
         target->natts, kAuditColumnCount);
  }
  target->indexes = CatalogOpenIndexes(target->relation);
  target->locked_allocation = false;
  return true;
}

void CloseAuditTarget(AuditTarget* target) {
  CatalogCloseIndexes(target->indexes);
  table_close(target->relation, NoLock);
}

// The lock that serialises taking a new block of event ids: an object lock
// on the audit table's pg_class entry with a sub-id no relation lock uses,
// held from reading the highest id to inserting the row that claims the
// next block.
void LockIdAllocation(Oid relid) {
  LockDatabaseObject(RelationRelationId, relid, 1, ExclusiveLock);
}
void UnlockIdAllocation(Oid relid) {
  UnlockDatabaseObject(RelationRelationId, relid, 1, ExclusiveLock);
}

// The highest first_event_id in the audit table's primary key, counting
// rows of transactions still in progress (and dead ones not yet vacuumed),
// or 0 when it is empty.
int64 HighestEventId(Relation relation) {
  Oid pkey = RelationGetPrimaryKeyIndex(relation);
  if (!OidIsValid(pkey)) elog(ERROR, "schema_guard.ddl_capture has no key");
  Relation index = index_open(pkey, AccessShareLock);
  IndexScanDesc scan = index_beginscan(relation, index, SnapshotAny, 0, 0);
  scan->xs_want_itup = true;
  index_rescan(scan, nullptr, 0, nullptr, 0);
  int64 highest = 0;
  if (index_getnext_tid(scan, BackwardScanDirection) != nullptr) {
    bool isnull = false;
    Datum value = index_getattr(scan->xs_itup, 1, scan->xs_itupdesc, &isnull);
    if (!isnull) highest = DatumGetInt64(value);
  }
  index_endscan(scan);
  index_close(index, AccessShareLock);
  return highest;
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

// Takes up to `wanted` consecutive event ids from the transaction's block
// (taking a new block when it is used up): the first one, and in *granted
// how many. Blocks are [64k + 1, 64k + 64]. A new block is the one after
// the block of the highest id in the table, taken under the allocation
// lock, which stays held until the row that claims it is inserted
// (ReleaseEventIds): so two transactions never take the same block, and no
// sequence is involved (a nextval() would change the session's lastval()).
int64 TakeEventIds(AuditTarget* target, int wanted, int* granted) {
  Oid relid = RelationGetRelid(target->relation);
  if (block_next >= block_end || block_relation != relid) {
    LockIdAllocation(relid);
    target->locked_allocation = true;
    int64 highest = HighestEventId(target->relation);
    int64 block = highest <= 0 ? 0 : (highest - 1) / kEventIdBlock + 1;
    block_next = block * kEventIdBlock + 1;
    block_end = block_next + kEventIdBlock;
    block_relation = relid;
  }
  int64 first = block_next;
  *granted = static_cast<int>(std::min<int64>(wanted, block_end - first));
  block_next = first + *granted;
  if (session_first_event_id == 0) session_first_event_id = first;
  if (xact_first_event_id == 0) xact_first_event_id = first;
  return first;
}

Datum TextArray(Datum* elems, bool* nulls, int count) {
  int dims[1] = {count};
  int lbs[1] = {1};
  return PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs, TEXTOID,
                                            -1, false, TYPALIGN_INT));
}

// Writes objects [first, first + count) of the writer as one row whose
// event ids start at first_event_id.
void InsertCaptureRow(const AuditTarget* target, const EventContext* context,
                      const AuditObject* objects, int count,
                      int64 first_event_id) {
  Datum* tags = static_cast<Datum*>(palloc(sizeof(Datum) * 4 * count));
  Datum* types = tags + count;
  Datum* schemas = types + count;
  Datum* identities = schemas + count;
  bool* schema_nulls = static_cast<bool*>(palloc(count * sizeof(bool)));
  Datum* rewritten = nullptr;
  int rewritten_count = 0;
  bool any_schema_null = false;
  for (int i = 0; i < count; ++i) {
    tags[i] = objects[i].command_tag;
    types[i] = objects[i].object_type;
    schemas[i] = objects[i].schema_name;
    schema_nulls[i] = objects[i].schema_name_null;
    any_schema_null |= objects[i].schema_name_null;
    identities[i] = objects[i].object_identity;
    if (objects[i].rewrite) {
      if (rewritten == nullptr)
        rewritten = static_cast<Datum*>(palloc(count * sizeof(Datum)));
      rewritten[rewritten_count++] = Int32GetDatum(i + 1);
    }
  }

  Datum values[kAuditColumnCount];
  bool nulls[kAuditColumnCount] = {};
  values[kFirstEventId] = Int64GetDatum(first_event_id);
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
  values[kStatement] = context->statement;
  nulls[kStatement] = context->statement_null;
  values[kInExtension] = BoolGetDatum(objects[0].in_extension);
  values[kMigration] = context->migration;
  nulls[kMigration] = context->migration_null;
  values[kCommandTags] = TextArray(tags, nullptr, count);
  values[kObjectTypes] = TextArray(types, nullptr, count);
  values[kSchemaNames] =
      TextArray(schemas, any_schema_null ? schema_nulls : nullptr, count);
  values[kObjectIdentities] = TextArray(identities, nullptr, count);
  if (rewritten == nullptr) {
    nulls[kRewritten] = true;
    values[kRewritten] = (Datum)0;
  } else {
    values[kRewritten] =
        PointerGetDatum(construct_array(rewritten, rewritten_count, INT4OID,
                                        sizeof(int32), true, TYPALIGN_INT));
  }
  values[kClaimedMigration] = context->claimed;
  nulls[kClaimedMigration] = context->claimed_null;

  HeapTuple tuple =
      heap_form_tuple(RelationGetDescr(target->relation), values, nulls);
  CatalogTupleInsertWithInfo(target->relation, tuple, target->indexes);
  heap_freetuple(tuple);
}

}  // namespace

void StartAuditWriter(AuditWriter* writer, const char* migration_label,
                      const char* claimed_label) {
  writer->migration_label = migration_label;
  writer->claimed_label = claimed_label;
  writer->objects = nullptr;
  writer->count = 0;
  writer->capacity = 0;
}

void AddAuditObject(AuditWriter* writer, const AuditObject* object) {
  if (writer->count == writer->capacity) {
    int capacity = writer->capacity == 0 ? 16 : writer->capacity * 2;
    size_t size = capacity * sizeof(AuditObject);
    writer->objects = static_cast<AuditObject*>(
        writer->objects == nullptr ? palloc(size)
                                   : repalloc(writer->objects, size));
    writer->capacity = capacity;
  }
  // Arrays hold their elements untoasted with 4-byte headers: copy them so
  // now, once.
  AuditObject* copy = &writer->objects[writer->count++];
  *copy = *object;
  copy->command_tag =
      PointerGetDatum(PG_DETOAST_DATUM_COPY(object->command_tag));
  copy->object_type =
      PointerGetDatum(PG_DETOAST_DATUM_COPY(object->object_type));
  copy->schema_name =
      object->schema_name_null
          ? (Datum)0
          : PointerGetDatum(PG_DETOAST_DATUM_COPY(object->schema_name));
  copy->object_identity =
      PointerGetDatum(PG_DETOAST_DATUM_COPY(object->object_identity));
}

void FinishAuditWriter(AuditWriter* writer) {
  if (writer->count == 0) return;
  AuditTarget target;
  if (!OpenAuditTarget(&target)) return;  // the extension is being dropped
  EventContext context;
  PrepareEventContext(&context, writer->migration_label);
  context.claimed_null = writer->claimed_label == nullptr;
  context.claimed =
      context.claimed_null ? (Datum)0 : TextDatum(writer->claimed_label);
  // A row per run of objects that share in_extension and fit in what is
  // left of the block of ids.
  int done = 0;
  while (done < writer->count) {
    const AuditObject* run = &writer->objects[done];
    int wanted = 1;
    while (done + wanted < writer->count &&
           run[wanted].in_extension == run[0].in_extension) {
      ++wanted;
    }
    int count = 0;
    int64 first_id = TakeEventIds(&target, wanted, &count);
    InsertCaptureRow(&target, &context, run, count, first_id);
    if (target.locked_allocation) {
      UnlockIdAllocation(RelationGetRelid(target.relation));
      target.locked_allocation = false;
    }
    done += count;
  }
  CloseAuditTarget(&target);
  writer->count = 0;
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
  saved->guc_level = PinSearchPath();
}

void LeaveOwnerContext(const OwnerContext* saved) {
  SetUserIdAndSecContext(saved->user, saved->security);
  UnpinSearchPath(saved->guc_level);
}

namespace {

// Runs one internal statement as the audit table's owner with the audit
// suppressed; its rows, if any, are in SPI_tuptable until SPI_finish. No
// PG_TRY: an error aborts the (sub)transaction, whose abort restores the
// role and search_path, and the abort callbacks reset internal_sql_running.
void ExecuteInternal(const char* sql, int nargs, Oid* argtypes, Datum* values,
                     const char* nulls, bool read_only) {
  if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
  int rc = SPI_execute_with_args(sql, nargs, argtypes, values, nulls, read_only,
                                 read_only ? 1 : 0);
  if (rc < 0)
    elog(ERROR, "internal statement failed: %s", SPI_result_code_string(rc));
}

}  // namespace

void RunInternalSql(const char* sql, int nargs, Oid* argtypes, Datum* values,
                    const char* nulls) {
  OwnerContext saved;
  EnterOwnerContext("ddl_capture", &saved);
  bool saved_internal = internal_sql_running;
  internal_sql_running = true;
  ExecuteInternal(sql, nargs, argtypes, values, nulls, false);
  SPI_finish();
  internal_sql_running = saved_internal;
  LeaveOwnerContext(&saved);
}

bool RunInternalQueryBool(const char* sql, int nargs, Oid* argtypes,
                          Datum* values, const char* nulls, bool* is_null) {
  OwnerContext saved;
  EnterOwnerContext("ddl_capture", &saved);
  bool saved_internal = internal_sql_running;
  internal_sql_running = true;
  ExecuteInternal(sql, nargs, argtypes, values, nulls, true);
  bool result = false;
  *is_null = true;
  if (SPI_processed > 0 && SPI_tuptable != nullptr) {
    Datum value =
        SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, is_null);
    result = !*is_null && DatumGetBool(value);
  }
  SPI_finish();
  internal_sql_running = saved_internal;
  LeaveOwnerContext(&saved);
  return result;
}

void ForgetInternalSql() { internal_sql_running = false; }

int64 SessionFirstEventId() { return session_first_event_id; }

int64 TransactionFirstEventId() { return xact_first_event_id; }

void ForgetTransactionEvents() {
  xact_first_event_id = 0;
  ForgetEventBlock();
}

void ForgetEventBlock() {
  block_next = 0;
  block_end = 0;
}

void RegisterAuditStoreCallbacks() {
  CacheRegisterRelcacheCallback(OnRelcacheInvalidation, (Datum)0);
}

}  // namespace schema_guard::pg
