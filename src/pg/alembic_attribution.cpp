// Attribution of Alembic's version-table writes, which say less than the
// other frameworks' rows: alembic_version holds only the heads, and one
// migration step may write several rows (HeadMaintainer.update_to_step in
// alembic/runtime/migration.py). After a step's DDL Alembic writes:
//
//   upgrade          UPDATE parent -> rev, or INSERT rev (a new branch)
//   merge upgrade    DELETE the other parents, then UPDATE parent -> rev
//   downgrade        UPDATE rev -> parent, or DELETE rev (to base)
//   unmerge          INSERT the other parents, then UPDATE rev -> parent
//
// so the DDL belongs to the revision applied or reverted by the step's
// last write, an UPDATE, whose direction only the graph tells: an UPDATE
// from X to one of X's down revisions (or depends_on) reverts X, any other
// applies the new value. The DELETEs and INSERTs before it in the same
// step took the DDL first (each history write takes the transaction's
// unattributed DDL): the UPDATE takes it over from them when no DDL came
// between, they are the step's own kind of write (DELETEs before an UPDATE
// that applies, INSERTs before one that reverts), and the revision they
// wrote is one of the down revisions of the revision the UPDATE applies or
// reverts (any, when the graph does not declare that revision). An INSERT
// before an applying UPDATE is the step before it (a new branch's revision
// applied in the same transaction, `alembic upgrade head` over an empty
// merge) and keeps its DDL.
#include "pg/history.hpp"

#include "pg/audit_store.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/xid8.h"
#include "access/xact.h"
}

namespace schema_guard::pg {
namespace {

// The down revisions and dependencies the declared Alembic graph gives
// the revision in parameter %s (names; a reference is "rev" or ["app",
// "rev"]).
constexpr const char* kDownRevisions =
    "SELECT CASE pg_catalog.jsonb_typeof(d) WHEN 'string' THEN d #>> '{}' "
    "ELSE d ->> 1 END FROM schema_guard.migration_graph g, "
    "pg_catalog.jsonb_array_elements(g.graph -> 'migrations') m, "
    "pg_catalog.jsonb_array_elements(coalesce(m -> 'dependencies', '[]') "
    "OPERATOR(pg_catalog.||) coalesce(m -> 'depends_on', '[]')) d "
    "WHERE g.framework OPERATOR(pg_catalog.=) 'alembic' AND m ->> 'name' "
    "OPERATOR(pg_catalog.=) %s";

// Whether $2 is one of the down revisions of $1.
// A statement with the down-revision query of the revision in `param`
// put in, in TopMemoryContext: kept for the life of the backend.
const char* BuildStatement(const char* format, const char* param) {
  MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
  char* text = psprintf(format, psprintf(kDownRevisions, param));
  MemoryContextSwitchTo(old);
  return text;
}

// Statements are built once and live as long as the backend.
const char* RevertsSql() {
  static const char* sql = nullptr;
  if (sql == nullptr) {
    sql = BuildStatement("SELECT $2 OPERATOR(pg_catalog.=) ANY (ARRAY(%s))",
                         "$1");
  }
  return sql;
}

// $1 txid, $2 backend_pid, $3 backend_start, $4 the UPDATE's label, $5 the
// revision it applies or reverts, $6 the transaction's first event id, $7
// the operation of the writes it may take over from.
const char* HandOffSql() {
  static const char* sql = nullptr;
  if (sql == nullptr)
    sql = BuildStatement(R"SQL(
WITH cur AS (
  SELECT m.event_id, m.high_water FROM schema_guard.migration_event m
  WHERE m.backend_pid OPERATOR(pg_catalog.=) $2
    AND m.backend_start OPERATOR(pg_catalog.=) $3
    AND m.txid OPERATOR(pg_catalog.=) $1
  ORDER BY m.event_id DESC LIMIT 1),
downs AS (%s),
prior AS (
  SELECT m.event_id, m.migration FROM schema_guard.migration_event m, cur
  WHERE m.backend_pid OPERATOR(pg_catalog.=) $2
    AND m.backend_start OPERATOR(pg_catalog.=) $3
    AND m.txid OPERATOR(pg_catalog.=) $1
    AND m.event_id OPERATOR(pg_catalog.<) cur.event_id
    AND m.framework OPERATOR(pg_catalog.=) 'alembic'
    AND m.operation OPERATOR(pg_catalog.=) $7
    AND m.high_water OPERATOR(pg_catalog.=) cur.high_water
    AND m.ddl_events OPERATOR(pg_catalog.>) 0
    AND (NOT EXISTS (SELECT FROM downs)
         OR pg_catalog.substring(m.migration, '^alembic:(\S+)')
            OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT * FROM downs)))),
moved AS (
  UPDATE schema_guard.ddl_capture e SET migration = $4 FROM prior p
  WHERE e.migration OPERATOR(pg_catalog.=) p.migration
    AND e.txid OPERATOR(pg_catalog.=) $1 AND $6 OPERATOR(pg_catalog.>) 0
    AND e.first_event_id OPERATOR(pg_catalog.>=) $6
  RETURNING pg_catalog.cardinality(e.object_identities) AS objects),
cleared AS (
  UPDATE schema_guard.migration_event m SET ddl_events = 0 FROM prior p
  WHERE m.event_id OPERATOR(pg_catalog.=) p.event_id RETURNING m.event_id)
UPDATE schema_guard.migration_event m
SET ddl_events = m.ddl_events OPERATOR(pg_catalog.+)
    (SELECT coalesce(pg_catalog.sum(objects), 0) FROM moved)
FROM cur WHERE m.event_id OPERATOR(pg_catalog.=) cur.event_id
  AND EXISTS (SELECT FROM cleared)
)SQL",
                         "$5");
  return sql;
}

}  // namespace

bool AlembicUpdateReverts(const char* from_revision, const char* to_revision) {
  Oid types[2] = {TEXTOID, TEXTOID};
  Datum values[2] = {CStringGetTextDatum(from_revision),
                     CStringGetTextDatum(to_revision)};
  bool is_null = true;
  return RunInternalQueryBool(RevertsSql(), 2, types, values, nullptr,
                              &is_null);
}

AlembicUpdate ReadAlembicUpdate(TriggerData* trigdata) {
  AlembicUpdate out{nullptr, nullptr, false};
  TupleDesc desc = RelationGetDescr(trigdata->tg_relation);
  int attnum = SPI_fnumber(desc, "version_num");
  if (attnum <= 0) return out;
  char* from = SPI_getvalue(trigdata->tg_trigtuple, desc, attnum);
  char* to = SPI_getvalue(trigdata->tg_newtuple, desc, attnum);
  if (from == nullptr || to == nullptr) return out;
  if (strcmp(from, to) != 0 && AlembicUpdateReverts(from, to)) {
    out.label = psprintf("alembic:%s (reverted)", from);
    out.revision = from;
    out.reverts = true;
  } else {
    out.label = psprintf("alembic:%s", to);
    out.revision = to;
  }
  return out;
}

void AlembicHandOff(const AlembicUpdate& update) {
  Oid types[7] = {XID8OID, INT4OID, TIMESTAMPTZOID, TEXTOID,
                  TEXTOID, INT8OID, TEXTOID};
  Datum values[7] = {FullTransactionIdGetDatum(GetTopFullTransactionId()),
                     Int32GetDatum(MyProcPid),
                     TimestampTzGetDatum(MyStartTimestamp),
                     CStringGetTextDatum(update.label),
                     CStringGetTextDatum(update.revision),
                     Int64GetDatum(TransactionFirstEventId()),
                     CStringGetTextDatum(update.reverts ? "INSERT" : "DELETE")};
  RunInternalSql(HandOffSql(), 7, types, values, nullptr);
}

}  // namespace schema_guard::pg
