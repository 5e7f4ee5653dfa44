#!/usr/bin/env bash
# docs/settings.md: before the library loads, SHOW schema_guard.* is an
# unknown parameter; LOAD defines the settings; with session_preload_libraries
# (set as the document shows, ALTER SYSTEM + reload) a new session has them
# from its first statement and refuses a bad value in its connection options.
# Runs against the cluster in PGHOST/PGPORT (scripts/test); prints TAP.
set -u
n=0
fails=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; return "$1"; }
db=sg_settings_preload
reset() { psql -X -q -d postgres -c "ALTER SYSTEM RESET session_preload_libraries" -c "SELECT pg_reload_conf()" >/dev/null 2>&1; }
trap 'reset; dropdb --if-exists $db >/dev/null 2>&1' EXIT
dropdb --if-exists $db >/dev/null 2>&1
createdb $db && psql -X -q -d $db -c "CREATE EXTENSION schema_guard" >/dev/null

echo "1..5"
out=$(psql -X -q -t -A -d $db -c "SHOW schema_guard.audit" 2>&1)
grep -q 'unrecognized configuration parameter "schema_guard.audit"' <<<"$out"
ok $? "a new session without the library: SHOW schema_guard.audit is unknown" || echo "# $out"
out=$(psql -X -q -t -A -d $db -c "LOAD 'schema_guard'" -c "SHOW schema_guard.audit" 2>&1)
[ "$out" = on ]
ok $? "LOAD 'schema_guard' defines the settings" || echo "# $out"

psql -X -q -d postgres -c "ALTER SYSTEM SET session_preload_libraries = 'schema_guard'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
out=$(psql -X -q -t -A -d $db -c "SHOW schema_guard.audit" 2>&1)
[ "$out" = on ]
ok $? "with session_preload_libraries, the first statement of a session sees the settings" || echo "# $out"
out=$(PGOPTIONS='-c schema_guard.guard=sometimes' psql -X -q -t -A -d $db -c "SELECT 1" 2>&1)
grep -q 'invalid value for parameter "schema_guard.guard": "sometimes"' <<<"$out"
ok $? "with session_preload_libraries, a bad value in the connection options is refused" || echo "# $out"
reset
sleep 0.5
out=$(psql -X -q -t -A -d $db -c "SHOW schema_guard.audit" 2>&1)
grep -q 'unrecognized configuration parameter' <<<"$out"
ok $? "ALTER SYSTEM RESET session_preload_libraries: back to loading on first use" || echo "# $out"
exit $((fails > 0))
