#!/usr/bin/env bash
# Errors keep the location of the code that raised them, across the wall:
# a refusal of schema_guard's own names its C++ file, a PostgreSQL error
# raised inside PgTry names PostgreSQL's, never the bridge that re-raises
# both. (VERBOSITY verbose shows LOCATION.) Prints TAP.
set -u
n=0
fails=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; return "$1"; }
db=${SG_TEST_DB:-postgres}
location() { psql -X -q -d "$db" -v VERBOSITY=verbose -c "$1" 2>&1 | sed -n 's/^LOCATION: *//p'; }
echo "1..3"
where=$(location "SELECT schema_guard.watch_history_table(NULL)")
grep -q "datum.cpp:[0-9]" <<<"$where"
ok $? "a NULL refused by RequireArg is located in datum.cpp ($where)"
where=$(location "SELECT schema_guard.declare_migrations('{\"format\": 1}')")
grep -qE "\.cpp:[0-9]" <<<"$where" && ! grep -q "bridge.cpp" <<<"$where"
ok $? "a core error is located where core threw it ($where)"
where=$(location "SELECT schema_guard.watch_history_table('sg_no_such_table')")
grep -qE "\.c:[0-9]" <<<"$where" && ! grep -q "bridge.cpp" <<<"$where"
ok $? "a PostgreSQL error raised under PgTry keeps PostgreSQL's location ($where)"
exit $((fails > 0))
