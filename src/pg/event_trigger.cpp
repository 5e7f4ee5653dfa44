// The DDL audit's event triggers: ddl_command_end, sql_drop, table_rewrite.
//
// ddl_command_end records each object the statement created or
// altered, including the sub-objects of ALTER TABLE (columns, constraints)
// and the constraints behind indexes; sql_drop each dropped object;
// table_rewrite only notes which tables were rewritten, so that the
// ddl_command_end row of that table says rewrite = true.
#include <optional>

#include "core/error.hpp"
#include "core/migration.hpp"
#include "pg/attribution.hpp"
#include "pg/audit_store.hpp"
#include "pg/bridge.hpp"
#include "pg/guard.hpp"
#include "pg/history.hpp"
#include "pg/settings.hpp"

extern "C" {
#include "postgres.h"

#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/index.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_database.h"
#include "catalog/pg_foreign_data_wrapper.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_language.h"
#include "catalog/pg_largeobject.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_policy.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_rewrite.h"
#include "catalog/pg_tablespace.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "utils/aclchk_internal.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "funcapi.h"
#include "nodes/makefuncs.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "tcop/deparse_utility.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(schema_guard_ddl_command_end);
PG_FUNCTION_INFO_V1(schema_guard_sql_drop);
PG_FUNCTION_INFO_V1(schema_guard_table_rewrite);
}

namespace schema_guard::pg {
namespace {

// Tables rewritten by the current statement (table_rewrite events), kept in
// TopMemoryContext until ddl_command_end consumes them or the transaction
// ends.
Oid* rewritten = nullptr;
int rewritten_count = 0;
int rewritten_capacity = 0;

void NoteRewrite(Oid relid) {
  for (int i = 0; i < rewritten_count; ++i) {
    if (rewritten[i] == relid) return;
  }
  if (rewritten_count == rewritten_capacity) {
    int capacity = rewritten_capacity == 0 ? 8 : rewritten_capacity * 2;
    rewritten =
        rewritten == nullptr
            ? static_cast<Oid*>(
                  MemoryContextAlloc(TopMemoryContext, capacity * sizeof(Oid)))
            : static_cast<Oid*>(repalloc(rewritten, capacity * sizeof(Oid)));
    rewritten_capacity = capacity;
  }
  rewritten[rewritten_count++] = relid;
}

bool TakeRewrite(Oid relid) {
  for (int i = 0; i < rewritten_count; ++i) {
    if (rewritten[i] == relid) {
      rewritten[i] = rewritten[--rewritten_count];
      return true;
    }
  }
  return false;
}

void ForgetRewrites() { rewritten_count = 0; }

// Whether this transaction holds the catalog locks of KeepCatalogLocks().
bool catalog_locks_kept = false;

// pg_event_trigger_ddl_commands() opens the catalog of each object it
// reports (pg_class, mostly) with AccessShareLock and closes it again,
// releasing the lock. Once a transaction holds more than 16 relation locks
// (a migration that creates many tables in one transaction), each such
// lock and unlock goes through the shared lock table. Holding the lock to
// the end of the transaction, as the DDL itself holds its locks on the
// catalogs it writes, makes those a local count. A rolled-back savepoint
// releases them; they are taken again on the next call.
void KeepCatalogLocks() {
  if (catalog_locks_kept) return;
  LockRelationOid(RelationRelationId, AccessShareLock);
  catalog_locks_kept = true;
}

void OnXactEvent(XactEvent /*event*/, void* /*arg*/) {
  ForgetRewrites();
  GuardStatementEnd();
  ForgetTransactionEvents();
  ForgetInternalSql();
  ForgetClaims();
  catalog_locks_kept = false;
}

void OnSubXactEvent(SubXactEvent event, SubTransactionId /*sub*/,
                    SubTransactionId /*parent*/, void* /*arg*/) {
  if (event == SUBXACT_EVENT_ABORT_SUB) {
    ForgetRewrites();
    ForgetEventBlock();
    ForgetInternalSql();
    ForgetClaims();
    catalog_locks_kept = false;
  }
}

}  // namespace

void RequireEventTrigger(FunctionCallInfo fcinfo) {
  if (CALLED_AS_EVENT_TRIGGER(fcinfo)) return;
  Guarded([] {
    throw core::Error(core::ErrorCode::kTriggerProtocolViolated,
                      "function can only be called as an event trigger",
                      "It is installed by CREATE EXTENSION schema_guard.",
                      "Do not call it directly.");
  });
}

namespace {

// A built-in event-trigger set-returning function, and schema_guard's
// declaration of it as returning SETOF record. Called through the
// declaration with the built-in's row type as the expected one (built once
// per session from the built-in's pg_proc row), the function takes that row
// type as it is; called as itself it rebuilds it from pg_proc on every call.
// The declaration's FmgrInfo is kept: finding a LANGUAGE internal
// function's code takes a search of all built-ins by name.
struct EventTriggerSrf {
  Oid builtin;
  const char* declared_name;  // in schema schema_guard
  Oid declared_oid;           // InvalidOid: not looked up (again) yet
  uint32 declared_hash;       // its pg_proc syscache hash value
  FmgrInfo declared;          // of declared_oid
  TupleDesc row_type;         // in TopMemoryContext; null until first use
};

EventTriggerSrf ddl_commands_srf = {F_PG_EVENT_TRIGGER_DDL_COMMANDS,
                                    "event_trigger_ddl_commands",
                                    InvalidOid,
                                    0,
                                    {},
                                    nullptr};
EventTriggerSrf dropped_objects_srf = {F_PG_EVENT_TRIGGER_DROPPED_OBJECTS,
                                       "event_trigger_dropped_objects",
                                       InvalidOid,
                                       0,
                                       {},
                                       nullptr};

// Forgets a declaration when its pg_proc row changes (or all rows do), not
// on every CREATE FUNCTION.
void OnProcInvalidation(Datum /*arg*/, int /*cache_id*/, uint32 hash) {
  for (EventTriggerSrf* srf : {&ddl_commands_srf, &dropped_objects_srf}) {
    if (hash == 0 || hash == srf->declared_hash) srf->declared_oid = InvalidOid;
  }
}

// The function to call: the declaration if it is there (it is not while
// the extension is being dropped), else the built-in (looked up in
// *builtin).
const FmgrInfo* SrfToCall(EventTriggerSrf* srf, FmgrInfo* builtin) {
  if (srf->row_type == nullptr) {
    TupleDesc desc = nullptr;
    if (get_func_result_type(srf->builtin, nullptr, &desc) !=
        TYPEFUNC_COMPOSITE) {
      elog(ERROR, "function %u does not return a row type", srf->builtin);
    }
    MemoryContext caller = MemoryContextSwitchTo(TopMemoryContext);
    srf->row_type = CreateTupleDescCopy(desc);
    MemoryContextSwitchTo(caller);
  }
  if (!OidIsValid(srf->declared_oid)) {
    List* name = list_make2(makeString(pstrdup("schema_guard")),
                            makeString(pstrdup(srf->declared_name)));
    Oid oid = LookupFuncName(name, 0, nullptr, true);
    if (!OidIsValid(oid)) {
      fmgr_info(srf->builtin, builtin);
      return builtin;
    }
    fmgr_info_cxt(oid, &srf->declared, TopMemoryContext);
    srf->declared_hash = GetSysCacheHashValue1(PROCOID, ObjectIdGetDatum(oid));
    srf->declared_oid = oid;
  }
  return &srf->declared;
}

// Calls a materializing event-trigger set-returning function.
Tuplestorestate* CallMaterializedSrf(EventTriggerSrf* srf,
                                     ExprContext* econtext, TupleDesc* desc) {
  FmgrInfo builtin;
  FmgrInfo flinfo = *SrfToCall(srf, &builtin);
  ReturnSetInfo rsinfo;
  memset(&rsinfo, 0, sizeof(rsinfo));
  rsinfo.type = T_ReturnSetInfo;
  rsinfo.econtext = econtext;
  rsinfo.expectedDesc = srf->row_type;
  rsinfo.allowedModes = SFRM_Materialize;
  rsinfo.returnMode = SFRM_ValuePerCall;
  LOCAL_FCINFO(fcinfo, 0);
  InitFunctionCallInfoData(*fcinfo, &flinfo, 0, InvalidOid, nullptr,
                           reinterpret_cast<Node*>(&rsinfo));
  (void)FunctionCallInvoke(fcinfo);
  *desc = rsinfo.setDesc;
  return rsinfo.setResult;
}

bool TextEquals(Datum value, const char* literal) {
  text* t = DatumGetTextPP(value);
  size_t len = strlen(literal);
  return VARSIZE_ANY_EXHDR(t) == len &&
         memcmp(VARDATA_ANY(t), literal, len) == 0;
}

bool TextStartsWith(Datum value, const char* prefix) {
  text* t = DatumGetTextPP(value);
  size_t len = strlen(prefix);
  return VARSIZE_ANY_EXHDR(t) >= len &&
         memcmp(VARDATA_ANY(t), prefix, len) == 0;
}

// The framework whose bookkeeping table (or an index on it) this pg_class
// object is, if any.
std::optional<core::Framework> BookkeepingFramework(Oid relid, Oid* table) {
  char relkind = get_rel_relkind(relid);
  *table = relid;
  if (relkind == RELKIND_INDEX || relkind == RELKIND_PARTITIONED_INDEX) {
    *table = IndexGetRelation(relid, true);
  } else if (relkind != RELKIND_RELATION &&
             relkind != RELKIND_PARTITIONED_TABLE) {
    return std::nullopt;
  }
  char* name = OidIsValid(*table) ? get_rel_name(*table) : nullptr;
  if (name == nullptr) return std::nullopt;
  std::optional<core::Framework> framework;
  Guarded([&] { framework = core::BookkeepingTableFramework(name); });
  return framework;
}

// Triggers, policies and rules belong to a table but PostgreSQL reports
// them without a schema; their identity's first part is the table's schema.
bool IsTableSubObjectClass(Oid classid) {
  return classid == TriggerRelationId || classid == PolicyRelationId ||
         classid == RewriteRelationId;
}

char* TableSubObjectSchema(const ObjectAddress* address) {
  List* names = NIL;
  List* args = NIL;
#if PG_VERSION_NUM >= 140000
  if (getObjectIdentityParts(address, &names, &args, true) == nullptr)
    return nullptr;
#else
  getObjectIdentityParts(address, &names, &args);
#endif
  return names != NIL ? static_cast<char*>(linitial(names)) : nullptr;
}

bool IsDropColumn(AlterTableType subtype) {
#if PG_VERSION_NUM < 160000
  if (subtype == AT_DropColumnRecurse) return true;
#endif
  return subtype == AT_DropColumn;
}

// The catalog holding the objects a GRANT or REVOKE names.
Oid GrantClassId(ObjectType objtype) {
  switch (objtype) {
    case OBJECT_TABLE:
    case OBJECT_SEQUENCE:
    case OBJECT_VIEW:
    case OBJECT_MATVIEW:
    case OBJECT_FOREIGN_TABLE:
      return RelationRelationId;
    case OBJECT_FUNCTION:
    case OBJECT_PROCEDURE:
    case OBJECT_ROUTINE:
      return ProcedureRelationId;
    case OBJECT_SCHEMA:
      return NamespaceRelationId;
    case OBJECT_TYPE:
    case OBJECT_DOMAIN:
      return TypeRelationId;
    case OBJECT_DATABASE:
      return DatabaseRelationId;
    case OBJECT_LANGUAGE:
      return LanguageRelationId;
    case OBJECT_FDW:
      return ForeignDataWrapperRelationId;
    case OBJECT_FOREIGN_SERVER:
      return ForeignServerRelationId;
    case OBJECT_TABLESPACE:
      return TableSpaceRelationId;
    case OBJECT_LARGEOBJECT:
      return LargeObjectRelationId;
    default:
      return InvalidOid;
  }
}

// ddl_command_end columns (pg_event_trigger_ddl_commands()).
enum DdlColumn {
  kDdlClassId,
  kDdlObjId,
  kDdlObjSubId,
  kDdlCommandTag,
  kDdlObjectType,
  kDdlSchemaName,
  kDdlObjectIdentity,
  kDdlInExtension,
  kDdlCommand,
};

struct HistoryCreation {
  bool found;
  core::Framework framework;
  Oid history_table;  // InvalidOid unless a history table itself was created
};

// First pass: does this statement create a framework's bookkeeping table?
HistoryCreation FindHistoryCreation(Tuplestorestate* store,
                                    TupleTableSlot* slot) {
  HistoryCreation result{false, core::Framework::kDjango, InvalidOid};
  while (tuplestore_gettupleslot(store, true, false, slot)) {
    slot_getsomeattrs(slot, kDdlCommandTag + 1);
    if (DatumGetObjectId(slot->tts_values[kDdlClassId]) != RelationRelationId ||
        DatumGetInt32(slot->tts_values[kDdlObjSubId]) != 0 ||
        !TextStartsWith(slot->tts_values[kDdlCommandTag], "CREATE ")) {
      continue;
    }
    Oid table = InvalidOid;
    std::optional<core::Framework> framework = BookkeepingFramework(
        DatumGetObjectId(slot->tts_values[kDdlObjId]), &table);
    if (!framework) continue;
    result.found = true;
    result.framework = *framework;
    char* name = get_rel_name(table);
    std::optional<core::Framework> history;
    Guarded([&] { history = core::HistoryTableFramework(name); });
    if (history && table == DatumGetObjectId(slot->tts_values[kDdlObjId])) {
      result.history_table = table;
    }
  }
  tuplestore_rescan(store);
  return result;
}

// A CREATE INDEX command (CREATE [UNIQUE] INDEX itself, or the index of a
// PRIMARY KEY, UNIQUE or EXCLUDE constraint of CREATE TABLE).
bool IsIndexStmt(const CollectedCommand* command) {
  return command->type == SCT_Simple && command->parsetree != nullptr &&
         IsA(command->parsetree, IndexStmt);
}

// The index of a constraint: DefineIndex() created the constraint with it.
bool IsConstraintIndex(const CollectedCommand* command) {
  return castNode(IndexStmt, command->parsetree)->isconstraint;
}

bool IsAddColumn(AlterTableType subtype) {
#if PG_VERSION_NUM < 160000
  if (subtype == AT_AddColumnRecurse) return true;
#endif
  return subtype == AT_AddColumn;
}

// The name of the column an ALTER TABLE ... ADD COLUMN sub-command added, or
// null for another sub-command.
const char* AddedColumnName(Node* parsetree) {
  if (parsetree == nullptr || !IsA(parsetree, AlterTableCmd)) return nullptr;
  auto* cmd = castNode(AlterTableCmd, parsetree);
  if (!IsAddColumn(cmd->subtype) || cmd->def == nullptr ||
      !IsA(cmd->def, ColumnDef)) {
    return nullptr;
  }
  return castNode(ColumnDef, cmd->def)->colname;
}

// A relation's identity as getObjectIdentity() gives it ("schema.name",
// quoted where needed), or null if it is gone.
char* RelationIdentity(Oid relid) {
  HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
  if (!HeapTupleIsValid(tuple)) return nullptr;
  auto* form = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
  char* identity = quote_qualified_identifier(
      get_namespace_name_or_temp(form->relnamespace), NameStr(form->relname));
  ReleaseSysCache(tuple);
  return identity;
}

// The type and identity of a column the parent relation's ADD COLUMN added,
// or of a table constraint, built as getObjectTypeDescription() and
// getObjectIdentity() build them: "<parent type> column" and
// "<parent>.<column>"; "table constraint" and "<constraint> on <table>",
// with the parent's identity when the table is the parent (which the event
// trigger has already). Saves looking up the relation again, for a new
// column its attribute (a catalog scan), and for a constraint the opening
// of pg_constraint. False for any other object.
bool ParentSubObject(const AuditObject* parent, Oid parent_id,
                     const ObjectAddress* address, Node* parsetree, char** type,
                     char** identity) {
  if (address->classId == RelationRelationId &&
      address->objectId == parent_id && address->objectSubId > 0) {
    const char* column = AddedColumnName(parsetree);
    if (column == nullptr) return false;
    *type = psprintf("%s column", TextDatumGetCString(parent->object_type));
    *identity = psprintf("%s.%s", TextDatumGetCString(parent->object_identity),
                         quote_identifier(column));
    return true;
  }
  if (address->classId == ConstraintRelationId) {
    HeapTuple tuple =
        SearchSysCache1(CONSTROID, ObjectIdGetDatum(address->objectId));
    if (!HeapTupleIsValid(tuple)) return false;
    auto* form = reinterpret_cast<Form_pg_constraint>(GETSTRUCT(tuple));
    const char* table = nullptr;
    if (OidIsValid(form->conrelid)) {
      table = form->conrelid == parent_id
                  ? TextDatumGetCString(parent->object_identity)
                  : RelationIdentity(form->conrelid);
    }
    if (table != nullptr) {
      *type = pstrdup("table constraint");
      *identity =
          psprintf("%s on %s", quote_identifier(NameStr(form->conname)), table);
    }
    ReleaseSysCache(tuple);
    return table != nullptr;
  }
  return false;
}

// The constraint a constraint index was created for: index_create() names
// it after the index, on the index's table, so its type and identity are
// "table constraint" and "<index name> on <table>" (as
// getObjectIdentity() gives them), with no pg_depend scan to find it.
void AddIndexConstraint(AuditWriter* writer, const AuditObject* index,
                        Oid index_id) {
  char* name = get_rel_name(index_id);
  Oid table_id = IndexGetRelation(index_id, true);
  char* table = OidIsValid(table_id) ? RelationIdentity(table_id) : nullptr;
  if (name == nullptr || table == nullptr) return;  // dropped meanwhile
  AuditObject object = *index;
  object.object_type = CStringGetTextDatum("table constraint");
  object.object_identity =
      CStringGetTextDatum(psprintf("%s on %s", quote_identifier(name), table));
  object.rewrite = false;
  AddAuditObject(writer, &object);
}

// parent_id is the parent object's pg_class OID, or InvalidOid when it is
// no relation; parsetree the sub-command, or null.
void InsertSubObject(AuditWriter* writer, const AuditObject* parent,
                     Oid parent_id, const ObjectAddress* address,
                     Node* parsetree) {
  char* type = nullptr;
  char* identity = nullptr;
  if (!ParentSubObject(parent, parent_id, address, parsetree, &type,
                       &identity)) {
#if PG_VERSION_NUM >= 140000
    type = getObjectTypeDescription(address, true);
    identity = getObjectIdentity(address, true);
#else
    type = getObjectTypeDescription(address);
    identity = getObjectIdentity(address);
#endif
  }
  if (type == nullptr || identity == nullptr) return;  // dropped meanwhile
  AuditObject object = *parent;
  if (IsTableSubObjectClass(address->classId)) {
    char* schema = TableSubObjectSchema(address);
    object.schema_name_null = schema == nullptr;
    object.schema_name =
        schema == nullptr ? (Datum)0 : CStringGetTextDatum(schema);
  }
  object.object_type = CStringGetTextDatum(type);
  object.object_identity = CStringGetTextDatum(identity);
  object.rewrite = false;
  AddAuditObject(writer, &object);
}

// The schema of an object a GRANT or REVOKE names, or InvalidOid: only
// relations, routines and types have one. (get_object_namespace() knows
// no large objects: their GRANT names pg_largeobject, a catalog without an
// entry in its table of object classes.)
Oid GrantObjectNamespace(Oid classid, Oid objid) {
  if (classid == RelationRelationId) return get_rel_namespace(objid);
  if (classid == ProcedureRelationId) return get_func_namespace(objid);
  if (classid == TypeRelationId) {
    HeapTuple tuple = SearchSysCache1(TYPEOID, ObjectIdGetDatum(objid));
    if (!HeapTupleIsValid(tuple)) return InvalidOid;
    Oid nsp = reinterpret_cast<Form_pg_type>(GETSTRUCT(tuple))->typnamespace;
    ReleaseSysCache(tuple);
    return nsp;
  }
  return InvalidOid;
}

// GRANT and REVOKE are reported as one command without an object; write a
// row for each object they name.
void AuditGrant(AuditWriter* writer, InternalGrant* grant, Datum command_tag) {
  Oid classid = GrantClassId(grant->objtype);
  if (!OidIsValid(classid)) return;
  ListCell* cell;
  foreach (cell, grant->objects) {
    ObjectAddress address;
    ObjectAddressSet(address, classid, lfirst_oid(cell));
    Oid nsp = GrantObjectNamespace(classid, address.objectId);
    char* schema = OidIsValid(nsp) ? get_namespace_name(nsp) : nullptr;
    if (schema != nullptr && IsIgnoredSchema(schema)) continue;
#if PG_VERSION_NUM >= 140000
    char* type = getObjectTypeDescription(&address, true);
    char* identity = getObjectIdentity(&address, true);
#else
    char* type = getObjectTypeDescription(&address);
    char* identity = getObjectIdentity(&address);
#endif
    if (type == nullptr || identity == nullptr) continue;
    AuditObject object;
    object.command_tag = command_tag;
    object.object_type = CStringGetTextDatum(type);
    object.schema_name_null = schema == nullptr;
    object.schema_name =
        schema == nullptr ? (Datum)0 : CStringGetTextDatum(schema);
    object.object_identity = CStringGetTextDatum(identity);
    object.in_extension = creating_extension;
    object.rewrite = false;
    AddAuditObject(writer, &object);
  }
}

// ALTER DEFAULT PRIVILEGES is reported without an identity (PostgreSQL
// has one only for a pg_default_acl entry, which a REVOKE of a built-in
// default does not create): write a row for each role and schema it names,
// identified as getObjectIdentity() identifies a default ACL ("for role r
// in schema s on tables"). `objects` is the command's object type as
// pg_event_trigger_ddl_commands() gives it ("tables", "types", ...).
void AuditDefaultPrivileges(AuditWriter* writer,
                            const CollectedCommand* command, Datum command_tag,
                            Datum objects) {
  if (command->parsetree == nullptr ||
      !IsA(command->parsetree, AlterDefaultPrivilegesStmt)) {
    return;
  }
  auto* stmt = castNode(AlterDefaultPrivilegesStmt, command->parsetree);
  List* roles = NIL;
  List* schemas = NIL;
  ListCell* cell;
  foreach (cell, stmt->options) {
    auto* option = lfirst_node(DefElem, cell);
    if (strcmp(option->defname, "roles") == 0) {
      roles = castNode(List, option->arg);
    } else if (strcmp(option->defname, "schemas") == 0) {
      schemas = castNode(List, option->arg);
    }
  }
  List* role_names = NIL;
  foreach (cell, roles) {
    role_names =
        lappend(role_names, get_rolespec_name(lfirst_node(RoleSpec, cell)));
  }
  if (role_names == NIL) {
    role_names = list_make1(GetUserNameFromId(GetUserId(), false));
  }
  // "TABLES" as the command reports it, "tables" as the identity of a
  // default ACL has it.
  char* on = TextDatumGetCString(objects);
  for (char* c = on; *c != '\0'; ++c)
    *c = static_cast<char>(pg_ascii_tolower(static_cast<unsigned char>(*c)));
  ListCell* role;
  foreach (role, role_names) {
    int schema_count = list_length(schemas);
    for (int i = 0; i < (schema_count == 0 ? 1 : schema_count); ++i) {
      const char* schema =
          schema_count == 0 ? nullptr : strVal(list_nth(schemas, i));
      if (schema != nullptr && IsIgnoredSchema(schema)) continue;
      AuditObject object;
      object.command_tag = command_tag;
      object.object_type = CStringGetTextDatum("default acl");
      object.schema_name_null = schema == nullptr;
      object.schema_name =
          schema == nullptr ? (Datum)0 : CStringGetTextDatum(schema);
      object.object_identity = CStringGetTextDatum(
          schema == nullptr
              ? psprintf("for role %s on %s",
                         quote_identifier(static_cast<char*>(lfirst(role))), on)
              : psprintf("for role %s in schema %s on %s",
                         quote_identifier(static_cast<char*>(lfirst(role))),
                         quote_identifier(schema), on));
      object.in_extension = command->in_extension;
      object.rewrite = false;
      AddAuditObject(writer, &object);
    }
  }
}

void AuditDdlCommands(EventTriggerData* trigdata) {
  KeepCatalogLocks();
  ExprContext* econtext = CreateStandaloneExprContext();
  TupleDesc desc;
  Tuplestorestate* store =
      CallMaterializedSrf(&ddl_commands_srf, econtext, &desc);
  TupleTableSlot* slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);

  HistoryCreation creation = FindHistoryCreation(store, slot);
  SessionClaim claim = CurrentClaim();
  // Creating a framework's bookkeeping tables is set-up, not drift, when
  // the role may write that framework's history table, or there is none
  // yet (a look-alike of an existing one in another schema is drift).
  bool bookkeeping =
      creation.found &&
      MayWriteHistory(creation.framework, creation.history_table, true);
  const char* label = nullptr;
  Guarded([&] {
    std::optional<std::string> at_event = core::LabelAtEvent(
        claim.counted == nullptr ? "" : claim.counted,
        bookkeeping ? std::optional<core::Framework>(creation.framework)
                    : std::nullopt);
    if (at_event) label = PallocCopy(*at_event);
  });
  AuditWriter writer;
  StartAuditWriter(&writer, label, claim.refused);

  while (tuplestore_gettupleslot(store, true, false, slot)) {
    slot_getallattrs(slot);
    Datum* values = slot->tts_values;
    bool* nulls = slot->tts_isnull;
    auto* command = nulls[kDdlCommand]
                        ? nullptr
                        : reinterpret_cast<CollectedCommand*>(
                              DatumGetPointer(values[kDdlCommand]));
    if (command != nullptr && command->type == SCT_Grant) {
      AuditGrant(&writer, command->d.grant.istmt, values[kDdlCommandTag]);
      continue;
    }
    if (command != nullptr && command->type == SCT_AlterDefaultPrivileges &&
        nulls[kDdlObjectIdentity] && !nulls[kDdlObjectType]) {
      AuditDefaultPrivileges(&writer, command, values[kDdlCommandTag],
                             values[kDdlObjectType]);
      continue;
    }
    if (nulls[kDdlObjectIdentity] || nulls[kDdlObjectType]) continue;
    Oid classid = DatumGetObjectId(values[kDdlClassId]);
    Oid objid = DatumGetObjectId(values[kDdlObjId]);
    int32 objsubid = DatumGetInt32(values[kDdlObjSubId]);
    if (nulls[kDdlSchemaName] && IsTableSubObjectClass(classid)) {
      ObjectAddress address;
      ObjectAddressSubSet(address, classid, objid, objsubid);
      char* schema = TableSubObjectSchema(&address);
      if (schema != nullptr) {
        values[kDdlSchemaName] = CStringGetTextDatum(schema);
        nulls[kDdlSchemaName] = false;
      }
    }
    if (!nulls[kDdlSchemaName] &&
        IsIgnoredSchema(TextDatumGetCString(values[kDdlSchemaName]))) {
      continue;
    }
    AuditObject object;
    object.command_tag = values[kDdlCommandTag];
    object.object_type = values[kDdlObjectType];
    object.schema_name =
        nulls[kDdlSchemaName] ? (Datum)0 : values[kDdlSchemaName];
    object.schema_name_null = nulls[kDdlSchemaName];
    object.object_identity = values[kDdlObjectIdentity];
    object.in_extension = DatumGetBool(values[kDdlInExtension]);
    object.rewrite =
        classid == RelationRelationId && objsubid == 0 && TakeRewrite(objid);
    // CREATE TABLE runs internal commands of its own: ALTER SEQUENCE ...
    // OWNED BY for serial and identity columns, and ALTER TABLE to add its
    // foreign keys. The table, sequence and constraints have rows of their
    // own; these two would only repeat them.
    bool internal = trigdata->tag == CMDTAG_CREATE_TABLE &&
                    (TextEquals(object.command_tag, "ALTER SEQUENCE") ||
                     (TextEquals(object.command_tag, "ALTER TABLE") &&
                      classid == RelationRelationId && objsubid == 0));
    if (!internal) AddAuditObject(&writer, &object);

    if (command == nullptr) continue;
    if (command->type == SCT_AlterTable) {
      ListCell* cell;
      foreach (cell, command->d.alterTable.subcmds) {
        auto* sub = static_cast<CollectedATSubcmd*>(lfirst(cell));
        const ObjectAddress* address = &sub->address;
        if (!OidIsValid(address->objectId)) continue;
        if (address->classId == RelationRelationId &&
            address->objectId == objid && address->objectSubId == 0) {
          continue;
        }
        // A dropped column is recorded by sql_drop.
        if (sub->parsetree != nullptr && IsA(sub->parsetree, AlterTableCmd) &&
            IsDropColumn(castNode(AlterTableCmd, sub->parsetree)->subtype)) {
          continue;
        }
        InsertSubObject(
            &writer, &object,
            classid == RelationRelationId && objsubid == 0 ? objid : InvalidOid,
            address, sub->parsetree);
      }
    } else if (classid == RelationRelationId && objsubid == 0 &&
               TextEquals(object.command_tag, "CREATE INDEX") &&
               TextEquals(object.object_type, "index")) {
      // The primary key, unique or exclusion constraint the index
      // implements.
      if (IsIndexStmt(command)) {
        if (IsConstraintIndex(command))
          AddIndexConstraint(&writer, &object, objid);
        continue;
      }
      Oid constraint = get_index_constraint(objid);
      if (OidIsValid(constraint)) {
        ObjectAddress address;
        ObjectAddressSet(address, ConstraintRelationId, constraint);
        InsertSubObject(&writer, &object, InvalidOid, &address, nullptr);
      }
    }
  }

  // Tables rewritten on behalf of another object (ALTER TYPE ... rewriting
  // the tables that use the type) get a row of their own.
  while (rewritten_count > 0) {
    Oid relid = rewritten[--rewritten_count];
    ObjectAddress address;
    ObjectAddressSet(address, RelationRelationId, relid);
    char* nspname = get_namespace_name(get_rel_namespace(relid));
    if (nspname != nullptr && IsIgnoredSchema(nspname)) continue;
    AuditObject object;
    object.command_tag = CStringGetTextDatum(GetCommandTagName(trigdata->tag));
    object.object_type = CStringGetTextDatum("table");
    object.schema_name_null = nspname == nullptr;
    object.schema_name =
        nspname == nullptr ? (Datum)0 : CStringGetTextDatum(nspname);
    object.in_extension = creating_extension;
    object.rewrite = true;
#if PG_VERSION_NUM >= 140000
    char* identity = getObjectIdentity(&address, true);
#else
    char* identity = getObjectIdentity(&address);
#endif
    if (identity == nullptr) continue;
    object.object_identity = CStringGetTextDatum(identity);
    AddAuditObject(&writer, &object);
  }

  ExecDropSingleTupleTableSlot(slot);
  tuplestore_end(store);
  FreeExprContext(econtext, true);
  FinishAuditWriter(&writer);

  if (OidIsValid(creation.history_table)) {
    Oid table = creation.history_table;
    core::Framework framework = creation.framework;
    Guarded([&] { AttachHistoryTrigger(table, framework, false); });
  }
}

// sql_drop columns (pg_event_trigger_dropped_objects()).
enum DropColumn {
  kDropClassId,
  kDropObjId,
  kDropObjSubId,
  kDropOriginal,
  kDropNormal,
  kDropIsTemporary,
  kDropObjectType,
  kDropSchemaName,
  kDropObjectName,
  kDropObjectIdentity,
  kDropAddressNames,
};

void AuditDroppedObjects(EventTriggerData* trigdata) {
  ExprContext* econtext = CreateStandaloneExprContext();
  TupleDesc desc;
  Tuplestorestate* store =
      CallMaterializedSrf(&dropped_objects_srf, econtext, &desc);
  TupleTableSlot* slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
  SessionClaim claim = CurrentClaim();
  AuditWriter writer;
  StartAuditWriter(&writer, claim.counted, claim.refused);
  Datum command_tag = CStringGetTextDatum(GetCommandTagName(trigdata->tag));

  while (tuplestore_gettupleslot(store, true, false, slot)) {
    slot_getallattrs(slot);
    Datum* values = slot->tts_values;
    bool* nulls = slot->tts_isnull;
    if (nulls[kDropObjectIdentity] || nulls[kDropObjectType]) continue;
    bool original = DatumGetBool(values[kDropOriginal]);
    bool normal = DatumGetBool(values[kDropNormal]);
    // A relation's own row and array types, its TOAST table and the
    // internal triggers of foreign keys go with their owner; no statement of
    // their own created them.
    if (!original && !normal && TextEquals(values[kDropObjectType], "type")) {
      continue;
    }
    if (TextStartsWith(values[kDropObjectIdentity],
                       "\"RI_ConstraintTrigger_")) {
      continue;
    }
    Oid classid = DatumGetObjectId(values[kDropClassId]);
    if (nulls[kDropSchemaName] && IsTableSubObjectClass(classid) &&
        !nulls[kDropAddressNames]) {
      ArrayType* names = DatumGetArrayTypeP(values[kDropAddressNames]);
      Datum* elems;
      bool* elem_nulls;
      int count;
      deconstruct_array(names, TEXTOID, -1, false, TYPALIGN_INT, &elems,
                        &elem_nulls, &count);
      if (count > 0 && !elem_nulls[0]) {
        values[kDropSchemaName] = elems[0];
        nulls[kDropSchemaName] = false;
      }
    }
    if (!nulls[kDropSchemaName]) {
      char* schema = TextDatumGetCString(values[kDropSchemaName]);
      if (strcmp(schema, "pg_toast") == 0 || IsIgnoredSchema(schema)) continue;
    }
    if (DatumGetBool(values[kDropIsTemporary]) && IsIgnoredSchema("pg_temp")) {
      continue;
    }
    AuditObject object;
    object.command_tag = command_tag;
    object.object_type = values[kDropObjectType];
    object.schema_name =
        nulls[kDropSchemaName] ? (Datum)0 : values[kDropSchemaName];
    object.schema_name_null = nulls[kDropSchemaName];
    object.object_identity = values[kDropObjectIdentity];
    object.in_extension = creating_extension;
    object.rewrite = false;
    AddAuditObject(&writer, &object);
  }

  ExecDropSingleTupleTableSlot(slot);
  tuplestore_end(store);
  FreeExprContext(econtext, true);
  FinishAuditWriter(&writer);
}

// CREATE TRIGGER of schema_guard.history_row() (by hand, or by a restore
// re-creating an attribution trigger): tie the trigger to the extension, so
// that DROP EXTENSION needs no CASCADE. Done whether or not the statement
// is audited.
void TieCreatedHistoryTriggers() {
  ExprContext* econtext = CreateStandaloneExprContext();
  TupleDesc desc;
  Tuplestorestate* store =
      CallMaterializedSrf(&ddl_commands_srf, econtext, &desc);
  TupleTableSlot* slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
  while (tuplestore_gettupleslot(store, true, false, slot)) {
    slot_getsomeattrs(slot, kDdlObjId + 1);
    if (slot->tts_isnull[kDdlClassId] ||
        DatumGetObjectId(slot->tts_values[kDdlClassId]) != TriggerRelationId) {
      continue;
    }
    Oid trigger = DatumGetObjectId(slot->tts_values[kDdlObjId]);
    if (IsHistoryTrigger(trigger)) TieHistoryTrigger(trigger);
  }
  ExecDropSingleTupleTableSlot(slot);
  tuplestore_end(store);
  FreeExprContext(econtext, true);
}

// Runs an audit step in a short-lived memory context.
template <typename Fn>
void InAuditContext(Fn fn) {
  MemoryContext audit_context = AllocSetContextCreate(
      CurrentMemoryContext, "schema_guard audit", ALLOCSET_DEFAULT_SIZES);
  MemoryContext caller = MemoryContextSwitchTo(audit_context);
  fn();
  MemoryContextSwitchTo(caller);
  MemoryContextDelete(audit_context);
}

}  // namespace

void RegisterEventTriggerCallbacks() {
  RegisterXactCallback(OnXactEvent, nullptr);
  RegisterSubXactCallback(OnSubXactEvent, nullptr);
  RegisterAuditStoreCallbacks();
  CacheRegisterSyscacheCallback(PROCOID, OnProcInvalidation, (Datum)0);
}

}  // namespace schema_guard::pg

using schema_guard::pg::AuditSuppressed;

extern "C" Datum schema_guard_ddl_command_end(PG_FUNCTION_ARGS) {
  schema_guard::pg::RequireEventTrigger(fcinfo);
  schema_guard::pg::GuardStatementEnd();
  auto* trigdata = reinterpret_cast<EventTriggerData*>(fcinfo->context);
  if (trigdata->tag == CMDTAG_CREATE_TRIGGER) {
    schema_guard::pg::InAuditContext(
        [] { schema_guard::pg::TieCreatedHistoryTriggers(); });
  }
  if (AuditSuppressed()) {
    schema_guard::pg::ForgetRewrites();
    PG_RETURN_VOID();
  }
  schema_guard::pg::InAuditContext(
      [&] { schema_guard::pg::AuditDdlCommands(trigdata); });
  PG_RETURN_VOID();
}

extern "C" Datum schema_guard_sql_drop(PG_FUNCTION_ARGS) {
  schema_guard::pg::RequireEventTrigger(fcinfo);
  if (AuditSuppressed()) PG_RETURN_VOID();
  auto* trigdata = reinterpret_cast<EventTriggerData*>(fcinfo->context);
  schema_guard::pg::InAuditContext(
      [&] { schema_guard::pg::AuditDroppedObjects(trigdata); });
  PG_RETURN_VOID();
}

extern "C" Datum schema_guard_table_rewrite(PG_FUNCTION_ARGS) {
  schema_guard::pg::RequireEventTrigger(fcinfo);
  bool audit = !AuditSuppressed();
  if (!audit && !schema_guard::pg::GuardWanted()) PG_RETURN_VOID();
  LOCAL_FCINFO(inner, 0);
  InitFunctionCallInfoData(*inner, nullptr, 0, InvalidOid, nullptr, nullptr);
  Oid relid = DatumGetObjectId(pg_event_trigger_table_rewrite_oid(inner));
  if (audit) schema_guard::pg::NoteRewrite(relid);
  int reason = DatumGetInt32(pg_event_trigger_table_rewrite_reason(inner));
  auto* trigdata = reinterpret_cast<EventTriggerData*>(fcinfo->context);
  schema_guard::pg::GuardTableRewrite(relid, reason,
                                      GetCommandTagName(trigdata->tag));
  PG_RETURN_VOID();
}
