#!/usr/bin/env bash
# The audit under concurrency: sessions doing DDL at the same time (with
# savepoints rolled back, and a VACUUM of the audit table meanwhile) all get
# their rows with ids of their own; DDL while another session holds DROP
# EXTENSION schema_guard open proceeds, whether that session commits or
# rolls back, with no internal error.
# Runs against the cluster in PGHOST/PGPORT (scripts/test); prints TAP.
set -u
n=0
fails=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; return "$1"; }
q() { psql -X -q -t -A -v ON_ERROR_STOP=1 -d "$@"; }
db=sg_audit_concurrency
tmp=$(mktemp -d /tmp/sg_concurrency.XXXXXX)
cleanup() { rm -rf "$tmp"; dropdb --if-exists $db >/dev/null 2>&1; }
trap cleanup EXIT
dropdb --if-exists $db >/dev/null 2>&1

echo "1..8"
createdb $db
q $db -c "CREATE EXTENSION schema_guard"

# Four sessions, 100 transactions each: three tables created and one dropped
# per transaction, and a savepoint whose DDL is rolled back. A fifth session
# vacuums the audit table (removing the rolled-back rows) meanwhile.
workers=4
rounds=100
for w in $(seq 1 $workers); do
  {
    for i in $(seq 1 $rounds); do
      echo "BEGIN;"
      echo "CREATE TABLE w${w}_a$i (id integer PRIMARY KEY);"
      echo "SAVEPOINT s; CREATE TABLE w${w}_gone$i (id integer); ROLLBACK TO s;"
      echo "CREATE TABLE w${w}_b$i (id integer REFERENCES w${w}_a$i);"
      echo "DROP TABLE w${w}_b$i;"
      echo "COMMIT;"
    done
  } >"$tmp/w$w.sql"
  psql -X -q -v ON_ERROR_STOP=1 -d $db -f "$tmp/w$w.sql" >"$tmp/w$w.log" 2>&1 &
done
(for i in $(seq 1 20); do q $db -c "VACUUM schema_guard.ddl_capture"; sleep 0.1; done) >"$tmp/vacuum.log" 2>&1 &
wait
cat "$tmp"/w*.log "$tmp/vacuum.log" >"$tmp/all.log"
[ ! -s "$tmp/all.log" ]
ok $? "$workers sessions x $rounds transactions of DDL with savepoints and a concurrent VACUUM: no error" \
  || sed 's/^/# /' "$tmp/all.log" | head -20
expected=$((workers * rounds))
[ "$(q $db -c "SELECT count(*) FROM schema_guard.ddl_event WHERE object_identity LIKE 'public.w%\_a%' AND object_type = 'table'")" = "$expected" ] \
  && [ "$(q $db -c "SELECT count(*) FROM schema_guard.ddl_event WHERE object_identity LIKE 'public.w%\_b%' AND object_type = 'table'")" = "$((2 * expected))" ]
ok $? "every committed CREATE and DROP has its row ($expected tables kept)"
[ "$(q $db -c "SELECT count(*) FROM schema_guard.ddl_event WHERE object_identity LIKE 'public.w%\_gone%'")" = 0 ]
ok $? "no rolled-back DDL left a row"
[ "$(q $db -c "SELECT count(*) = count(DISTINCT event_id) FROM schema_guard.ddl_event")" = t ]
ok $? "event ids are unique"
[ "$(q $db -c "SELECT bool_and(a.event_id < b.event_id) FROM schema_guard.ddl_event a JOIN schema_guard.ddl_event b
               ON b.object_identity = replace(a.object_identity, '_a', '_b') AND b.command_tag = 'CREATE TABLE'
               AND b.object_type = 'table' WHERE a.object_identity LIKE 'public.w%\_a%' AND a.object_type = 'table'")" = t ]
ok $? "within a transaction ids increase statement by statement"

# DDL while another session has DROP EXTENSION open.
ddl_against_drop() {  # $1: COMMIT or ROLLBACK
  psql -X -q -d $db >"$tmp/dropper.log" 2>&1 <<SQL &
BEGIN;
DROP EXTENSION schema_guard;
SELECT pg_sleep(1);
$1;
SQL
  local dropper=$!
  sleep 0.3
  q $db -c "CREATE TABLE during_drop_$1 (id integer)" >"$tmp/ddl.log" 2>&1
  local rc=$?
  wait $dropper
  return $rc
}
ddl_against_drop ROLLBACK
ok $? "DDL waiting on a DROP EXTENSION that rolls back succeeds" || sed 's/^/# /' "$tmp/ddl.log"
[ "$(q $db -c "SELECT count(*) FROM schema_guard.ddl_event WHERE object_identity = 'public.during_drop_rollback'")" = 1 ]
ok $? "and is audited"
ddl_against_drop COMMIT
ok $? "DDL waiting on a DROP EXTENSION that commits succeeds, unaudited, with no internal error" \
  || sed 's/^/# /' "$tmp/ddl.log"

exit $((fails > 0))
