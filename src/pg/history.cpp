// Migration attribution through the history tables.
//
// A migration runner records what it applied in a history table
// (django_migrations, flyway_schema_history, alembic_version,
// schema_migrations, databasechangelog). schema_guard attaches an AFTER ROW
// trigger, schema_guard_attribution, to each such table: when a row is
// written, the DDL audited in the same transaction is attributed to that
// migration (atomic migrations), and so is the DDL that the same backend
// session, with the same application_name, ran since its previous history
// write (non-atomic migrations, whose DDL commits before the history row).
// Every history write is itself kept in schema_guard.migration_event.
#include "pg/history.hpp"

#include <fmt/format.h>

#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "pg/attribution.hpp"
#include "pg/audit_store.hpp"
#include "pg/bridge.hpp"
#include "pg/datum.hpp"
#include "pg/settings.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "access/genam.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_trigger.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "parser/parse_func.h"
#include "utils/fmgroids.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"
#include "utils/xid8.h"

PG_FUNCTION_INFO_V1(schema_guard_history_row);
PG_FUNCTION_INFO_V1(schema_guard_watch_history_table);
PG_FUNCTION_INFO_V1(schema_guard_watch_history_tables);
}

namespace schema_guard::pg {
namespace {

constexpr const char* kTriggerName = "schema_guard_attribution";

// A table's name quoted for SQL, and as error messages show it
// ("schema.table", unquoted inside the double quotes).
struct TableNames {
  std::string quoted;
  std::string shown;
};

TableNames NamesOf(Oid relid) {
  const char* nspname = nullptr;
  const char* relname = nullptr;
  const char* quoted = nullptr;
  PgTry([&]() noexcept {
    nspname = get_namespace_name(get_rel_namespace(relid));
    relname = get_rel_name(relid);
    if (nspname != nullptr && relname != nullptr) {
      quoted = quote_qualified_identifier(nspname, relname);
    }
  });
  if (quoted == nullptr) {
    throw core::Error(core::ErrorCode::kInternal,
                      fmt::format("relation {} vanished", relid));
  }
  return {quoted, fmt::format("\"{}.{}\"", nspname, relname)};
}

bool HasTrigger(Oid relid) {
  bool found = false;
  PgTry([&]() noexcept {
    Relation rel = table_open(relid, AccessShareLock);
    TriggerDesc* triggers = rel->trigdesc;
    for (int i = 0; triggers != nullptr && i < triggers->numtriggers; ++i) {
      if (strcmp(triggers->triggers[i].tgname, kTriggerName) == 0) found = true;
    }
    table_close(rel, AccessShareLock);
  });
  return found;
}

}  // namespace

void TieHistoryTrigger(Oid trigger) {
  Oid extension = get_extension_oid("schema_guard", true);
  if (!OidIsValid(extension)) return;
  deleteDependencyRecordsForSpecific(TriggerRelationId, trigger,
                                     DEPENDENCY_AUTO, ExtensionRelationId,
                                     extension);
  ObjectAddress depender;
  ObjectAddress referenced;
  ObjectAddressSet(depender, TriggerRelationId, trigger);
  ObjectAddressSet(referenced, ExtensionRelationId, extension);
  recordDependencyOn(&depender, &referenced, DEPENDENCY_AUTO);
}

bool IsHistoryTrigger(Oid trigger) {
  HeapTuple tuple = nullptr;
  Relation rel = table_open(TriggerRelationId, AccessShareLock);
  ScanKeyData key;
  ScanKeyInit(&key, Anum_pg_trigger_oid, BTEqualStrategyNumber, F_OIDEQ,
              ObjectIdGetDatum(trigger));
  SysScanDesc scan =
      systable_beginscan(rel, TriggerOidIndexId, true, nullptr, 1, &key);
  tuple = systable_getnext(scan);
  bool found = false;
  if (HeapTupleIsValid(tuple)) {
    Oid function = reinterpret_cast<Form_pg_trigger>(GETSTRUCT(tuple))->tgfoid;
    List* name = list_make2(makeString(pstrdup("schema_guard")),
                            makeString(pstrdup("history_row")));
    found = function == LookupFuncName(name, 0, nullptr, true);
  }
  systable_endscan(scan);
  table_close(rel, AccessShareLock);
  return found;
}

bool AttachHistoryTrigger(Oid relid, core::Framework framework,
                          bool explicit_request) {
  TableNames names = NamesOf(relid);
  const std::string& table = names.quoted;
  const std::string& shown = names.shown;
  for (std::string_view column : HistoryColumns(framework)) {
    std::string name(column);
    AttrNumber attnum = InvalidAttrNumber;
    PgTry([&]() noexcept { attnum = get_attnum(relid, name.c_str()); });
    if (attnum != InvalidAttrNumber) continue;
    std::string message =
        fmt::format("table {} has no column \"{}\" of a {} history table",
                    shown, name, core::FrameworkName(framework));
    std::string hint = fmt::format(
        "Its DDL is audited, but writes to it are not used to attribute "
        "migrations. If it belongs to another framework, call "
        "schema_guard.watch_history_table('{}', framework).",
        table);
    if (explicit_request) {
      throw core::Error(
          core::ErrorCode::kUndefinedColumn, message,
          "The label of each migration is built from that column.",
          "Name the framework the table belongs to.");
    }
    PgTry([&]() noexcept {
      ereport(NOTICE,
              (errmsg("%s", message.c_str()), errhint("%s", hint.c_str())));
    });
    return false;
  }
  if (HasTrigger(relid)) return false;
  std::string sql = fmt::format(
      "CREATE TRIGGER {} AFTER INSERT OR UPDATE OR DELETE ON {} FOR EACH ROW "
      "EXECUTE FUNCTION schema_guard.history_row('{}')",
      kTriggerName, table, core::FrameworkName(framework));
  PgTry([&]() noexcept {
    RunInternalSql(sql.c_str(), 0, nullptr, nullptr, nullptr);
    TieHistoryTrigger(get_trigger_oid(relid, kTriggerName, false));
  });
  return true;
}

namespace {

bool WatchByName(text* table_name, text* framework_name) {
  Oid relid = InvalidOid;
  PgTry([&]() noexcept {
    List* names = textToQualifiedNameList(table_name);
    relid = RangeVarGetRelid(makeRangeVarFromNameList(names), AccessShareLock,
                             false);
  });
  TableNames names = NamesOf(relid);
  const std::string& table = names.quoted;
  const std::string& shown = names.shown;
  char relkind = '\0';
  bool owner = false;
  const char* relname = nullptr;
  PgTry([&]() noexcept {
    relkind = get_rel_relkind(relid);
#if PG_VERSION_NUM >= 160000
    owner = object_ownercheck(RelationRelationId, relid, GetUserId());
#else
    owner = pg_class_ownercheck(relid, GetUserId());
#endif
    relname = get_rel_name(relid);
  });
  if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE) {
    throw core::Error(
        core::ErrorCode::kWrongObjectType,
        fmt::format("{} is not a table", shown),
        "Only tables can be migration history tables.",
        "Name the table the migration tool writes its history to.");
  }
  if (!owner) {
    throw core::Error(core::ErrorCode::kInsufficientPrivilege,
                      fmt::format("must be owner of table {}", shown),
                      "Watching a history table attaches a trigger to it.",
                      "Ask the table's owner or a superuser to run it.");
  }
  std::optional<core::Framework> framework;
  if (framework_name != nullptr) {
    framework = core::ParseFramework(std::string_view(
        VARDATA_ANY(framework_name), VARSIZE_ANY_EXHDR(framework_name)));
  } else {
    framework = core::HistoryTableFramework(relname);
    if (!framework) {
      throw core::Error(
          core::ErrorCode::kInvalidParameterValue,
          fmt::format("cannot tell which framework table {} belongs to", shown),
          "Only the default history table names identify their framework.",
          fmt::format(
              "Name it: schema_guard.watch_history_table('{}', 'flyway').",
              table));
    }
  }
  return AttachHistoryTrigger(relid, *framework, true);
}

int WatchKnownTables() {
  // Tables with a history table's default name, outside system schemas,
  // that the caller owns.
  static const char* kFind =
      "SELECT c.oid, c.relname::text FROM pg_catalog.pg_class c "
      "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
      "WHERE c.relkind IN ('r', 'p') AND c.relname IN ('django_migrations', "
      "'flyway_schema_history', 'alembic_version', 'schema_migrations', "
      "'databasechangelog') AND n.nspname NOT IN ('pg_catalog', "
      "'information_schema') AND n.nspname NOT LIKE 'pg\\_temp\\_%' "
      "AND n.nspname NOT LIKE 'pg\\_toast%' "
      "AND pg_catalog.pg_has_role(c.relowner, 'USAGE') "
      "ORDER BY n.nspname, c.relname";
  std::vector<std::pair<Oid, std::string>> found;
  {
    SpiSession spi;
    QueryResult rows = spi.Query(kFind);
    for (std::size_t i = 0; i < rows.rows(); ++i) {
      found.emplace_back(static_cast<Oid>(std::stoul(rows.Text(i, 0))),
                         rows.Text(i, 1));
    }
    spi.Finish();
  }
  int attached = 0;
  for (const auto& [relid, name] : found) {
    std::optional<core::Framework> framework =
        core::HistoryTableFramework(name);
    if (framework && AttachHistoryTrigger(relid, *framework, false)) ++attached;
  }
  return attached;
}

// The attribution statement run for every history write. $1 backend_pid,
// $2 backend_start, $3 txid, $4 label, $5 application_name, $6 the first
// event id this backend wrote (0: none), $7 framework, $8 history table,
// $9 operation, $10 session role, $11 the first event id this transaction
// wrote (0: none), $12 the role writing (current_user), $13 the framework's
// default history table name.
// It works on the rows of ddl_capture, whose objects share their migration;
// ddl_events counts objects. A backend's ids increase and the high-water
// mark is always the last id of one of its rows, so a row lies wholly above
// it or not at all. DDL of an earlier transaction (a non-atomic migration)
// counts only when the same role ran it: a pooled server connection serves
// other clients between a migration's statements.
// The write attributes nothing unless its role may write the framework's
// history table (see attribution.hpp); migration_event then says why, in
// its column "refused", which 0.1.0's table lacks: `with_refused` picks the
// statement.
std::string AttributionSql(bool with_refused) {
  std::string table = HistoryTableExpression("$7", "$13");
  std::string refused =
      with_refused
          ? fmt::format(
                ",\n       CASE WHEN NOT (SELECT ok FROM allowed) THEN "
                "pg_catalog.format('role %I may not write the %s history "
                "table %s', pg_catalog.pg_get_userbyid($12), $7, "
                "coalesce({}::text, '(none in this database)')) END",
                table)
          : std::string();
  return fmt::format(R"SQL(
WITH prev AS (
  SELECT coalesce(max(m.high_water), 0) AS hw
  FROM schema_guard.migration_event m
  WHERE m.backend_pid = $1 AND m.backend_start = $2),
allowed AS (
  SELECT coalesce(pg_catalog.has_table_privilege($12, {0}, 'INSERT'), false) AS ok),
attributed AS (
  UPDATE schema_guard.ddl_capture e SET migration = $4
  WHERE (SELECT ok FROM allowed) AND e.migration IS NULL
    AND (($11 > 0 AND e.first_event_id >= $11 AND e.txid = $3)
         OR ($6 > 0 AND e.first_event_id >= $6
             AND e.first_event_id > (SELECT hw FROM prev)
             AND e.backend_pid = $1 AND e.backend_start = $2
             AND e.application_name IS NOT DISTINCT FROM $5
             AND e.current_role_name = pg_catalog.pg_get_userbyid($12)))
  RETURNING pg_catalog.cardinality(e.object_identities) AS objects)
INSERT INTO schema_guard.migration_event
  (occurred_at, txid, backend_pid, backend_start, role_name, application_name,
   framework, history_table, operation, migration, ddl_events, high_water{1})
SELECT pg_catalog.clock_timestamp(), $3, $1, $2, $10, $5, $7, $8, $9, $4,
       (SELECT coalesce(sum(a.objects), 0) FROM attributed a),
       greatest((SELECT hw FROM prev),
                coalesce((SELECT max(e.first_event_id
                                     + pg_catalog.cardinality(e.object_identities) - 1)
                          FROM schema_guard.ddl_capture e
                          WHERE $6 > 0 AND e.first_event_id >= $6
                            AND e.backend_pid = $1 AND e.backend_start = $2), 0)){2}
)SQL",
                     table, with_refused ? ", refused" : "", refused);
}

struct HistoryWrite {
  char* label;         // palloc'd; null when the row names no migration
  char* framework;     // palloc'd
  char* default_name;  // palloc'd: the framework's history table name
};

// The attribution statement for the installed tables, built once per
// backend for each shape (the text lives as long as the backend).
const char* AttributionStatement(bool with_refused) {
  static const char* statements[2] = {nullptr, nullptr};
  const char*& statement = statements[with_refused ? 1 : 0];
  if (statement == nullptr) {
    Guarded([&] {
      std::string sql = AttributionSql(with_refused);
      statement = strdup(sql.c_str());
      if (statement == nullptr) throw std::bad_alloc();
    });
  }
  return statement;
}

// Whether schema_guard.migration_event has the column "refused" (0.2.0).
bool EventsHaveRefused() {
  Oid nsp = get_namespace_oid("schema_guard", true);
  Oid relid =
      OidIsValid(nsp) ? get_relname_relid("migration_event", nsp) : InvalidOid;
  return OidIsValid(relid) && get_attnum(relid, "refused") != InvalidAttrNumber;
}

HistoryWrite LabelOfRow(TriggerData* trigdata, HeapTuple tuple) {
  HistoryWrite out{nullptr, nullptr, nullptr};
  Trigger* trigger = trigdata->tg_trigger;
  Relation rel = trigdata->tg_relation;
  TupleDesc desc = RelationGetDescr(rel);
  const char* framework_arg =
      trigger->tgnargs > 0 ? trigger->tgargs[0] : nullptr;
  const char* relname = RelationGetRelationName(rel);
  Guarded([&] {
    core::Framework framework =
        framework_arg != nullptr
            ? core::ParseFramework(framework_arg)
            : core::HistoryTableFramework(relname).value_or(
                  core::Framework::kDjango);
    std::vector<std::optional<std::string>> values;
    for (std::string_view column : HistoryColumns(framework)) {
      std::string name(column);
      char* value = nullptr;
      PgTry([&]() noexcept {
        int attnum = SPI_fnumber(desc, name.c_str());
        value = attnum > 0 ? SPI_getvalue(tuple, desc, attnum) : nullptr;
      });
      values.emplace_back(value == nullptr ? std::nullopt
                                           : std::optional<std::string>(value));
    }
    std::optional<std::string> label = core::HistoryRowLabel(framework, values);
    if (label && TRIGGER_FIRED_BY_DELETE(trigdata->tg_event)) {
      *label += " (reverted)";
    }
    if (label) out.label = PallocCopy(*label);
    out.framework = PallocCopy(core::FrameworkName(framework));
    out.default_name = PallocCopy(core::HistoryTableName(framework));
  });
  return out;
}

}  // namespace
}  // namespace schema_guard::pg

using schema_guard::pg::Guarded;

extern "C" Datum schema_guard_history_row(PG_FUNCTION_ARGS) {
  bool as_trigger = CALLED_AS_TRIGGER(fcinfo);
  auto* trigdata =
      as_trigger ? reinterpret_cast<TriggerData*>(fcinfo->context) : nullptr;
  bool after_row = as_trigger && TRIGGER_FIRED_AFTER(trigdata->tg_event) &&
                   TRIGGER_FIRED_FOR_ROW(trigdata->tg_event);
  Guarded([&] {
    if (!as_trigger) {
      throw schema_guard::core::Error(
          schema_guard::core::ErrorCode::kTriggerProtocolViolated,
          "function can only be called as a trigger",
          "It attributes DDL to the migration a history row records.",
          "Attach it with schema_guard.watch_history_table().");
    }
    if (!after_row) {
      throw schema_guard::core::Error(
          schema_guard::core::ErrorCode::kTriggerProtocolViolated,
          "history trigger must be an AFTER ... FOR EACH ROW trigger",
          "It was fired at another time.",
          "Attach it with schema_guard.watch_history_table().");
    }
  });
  if (!schema_guard::pg::audit_enabled ||
      schema_guard::pg::InRestoreSession()) {
    return PointerGetDatum(nullptr);
  }
  HeapTuple tuple = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event)
                        ? trigdata->tg_newtuple
                        : trigdata->tg_trigtuple;
  schema_guard::pg::HistoryWrite write =
      schema_guard::pg::LabelOfRow(trigdata, tuple);
  schema_guard::pg::AlembicUpdate alembic{nullptr, nullptr, false};
  if (write.label != nullptr && strcmp(write.framework, "alembic") == 0 &&
      TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event)) {
    alembic = schema_guard::pg::ReadAlembicUpdate(trigdata);
    if (alembic.label != nullptr) write.label = alembic.label;
  }
  Relation rel = trigdata->tg_relation;
  char* table =
      quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
                                 RelationGetRelationName(rel));
  if (write.label == nullptr) {
    ereport(WARNING,
            (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
             errmsg("history row in %s names no migration", table),
             errdetail("The columns a %s migration is named by are empty.",
                       write.framework),
             errhint("DDL of this transaction stays unattributed and shows as "
                     "drift.")));
    return PointerGetDatum(nullptr);
  }
  const char* operation = TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) ? "INSERT"
                          : TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event)
                              ? "UPDATE"
                              : "DELETE";
  Oid types[13] = {INT4OID, TIMESTAMPTZOID, XID8OID, TEXTOID, TEXTOID,
                   INT8OID, TEXTOID,        TEXTOID, TEXTOID, TEXTOID,
                   INT8OID, OIDOID,         TEXTOID};
  bool app_null = application_name == nullptr || application_name[0] == '\0';
  Datum values[13] = {
      Int32GetDatum(MyProcPid),
      TimestampTzGetDatum(MyStartTimestamp),
      FullTransactionIdGetDatum(GetTopFullTransactionId()),
      CStringGetTextDatum(write.label),
      app_null ? (Datum)0 : CStringGetTextDatum(application_name),
      Int64GetDatum(schema_guard::pg::SessionFirstEventId()),
      CStringGetTextDatum(write.framework),
      CStringGetTextDatum(table),
      CStringGetTextDatum(operation),
      CStringGetTextDatum(GetUserNameFromId(GetSessionUserId(), false)),
      Int64GetDatum(schema_guard::pg::TransactionFirstEventId()),
      ObjectIdGetDatum(GetUserId()),
      CStringGetTextDatum(write.default_name),
  };
  char nulls[13] = {' ', ' ', ' ', ' ', app_null ? 'n' : ' ',
                    ' ', ' ', ' ', ' ', ' ',
                    ' ', ' ', ' '};
  schema_guard::pg::RunInternalSql(schema_guard::pg::AttributionStatement(
                                       schema_guard::pg::EventsHaveRefused()),
                                   13, types, values, nulls);
  if (alembic.label != nullptr) {
    schema_guard::pg::AlembicHandOff(alembic);
  }
  return PointerGetDatum(nullptr);
}

extern "C" Datum schema_guard_watch_history_table(PG_FUNCTION_ARGS) {
  Guarded([&] {
    schema_guard::pg::RequireArg(
        fcinfo, 0, "table_name",
        "Pass the history table's name, such as 'django_migrations'.");
  });
  text* table_name = PG_GETARG_TEXT_PP(0);
  text* framework = PG_ARGISNULL(1) ? nullptr : PG_GETARG_TEXT_PP(1);
  bool attached = false;
  Guarded(
      [&] { attached = schema_guard::pg::WatchByName(table_name, framework); });
  PG_RETURN_BOOL(attached);
}

extern "C" Datum schema_guard_watch_history_tables(PG_FUNCTION_ARGS) {
  (void)fcinfo;
  int attached = 0;
  Guarded([&] { attached = schema_guard::pg::WatchKnownTables(); });
  PG_RETURN_INT32(attached);
}
