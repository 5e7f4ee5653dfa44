#!/usr/bin/env bash
# pg_dump carries the audit: a database with audit rows, dumped and restored
# into a new database, keeps every row, the history-table triggers and the
# event id sequence. Also: history tables that exist before CREATE EXTENSION
# are watched, and DROP EXTENSION ... CASCADE leaves a working database.
# Runs against the cluster in PGHOST/PGPORT (scripts/test); prints TAP.
set -u
n=0
fails=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; }
q() { psql -X -q -t -A -v ON_ERROR_STOP=1 -d "$@"; }
src=sg_dump_src
dst=sg_dump_dst
dump=$(mktemp /tmp/sg_dump.XXXXXX)
trap 'rm -f "$dump"; dropdb --if-exists $src >/dev/null 2>&1; dropdb --if-exists $dst >/dev/null 2>&1' EXIT
dropdb --if-exists $src >/dev/null 2>&1
dropdb --if-exists $dst >/dev/null 2>&1

echo "1..9"
createdb $src
q $src -c "CREATE TABLE django_migrations (id serial PRIMARY KEY, app text NOT NULL, name text NOT NULL, applied timestamptz NOT NULL)"
q $src -c "CREATE EXTENSION schema_guard"
[ "$(q $src -c "SELECT history_table::text || ':' || framework FROM schema_guard.history_tables")" = "django_migrations:django" ]
ok $? "a history table that existed before CREATE EXTENSION is watched"

q $src -f - <<'SQL' >/dev/null
BEGIN;
CREATE TABLE core_company (id bigserial PRIMARY KEY, name text NOT NULL);
INSERT INTO django_migrations (app, name, applied) VALUES ('core', '0001_initial', now());
COMMIT;
ALTER TABLE core_company ADD COLUMN "note; --é" text;
CREATE INDEX core_company_name_idx ON core_company (name);
SQL
rows="SELECT count(*) || ':' || md5(string_agg(e::text, '|' ORDER BY event_id)) FROM schema_guard.ddl_event e"
marks="SELECT count(*) || ':' || md5(string_agg(m::text, '|' ORDER BY event_id)) FROM schema_guard.migration_event m"
src_rows=$(q $src -c "$rows")
src_marks=$(q $src -c "$marks")
[ "${src_rows%%:*}" -gt 5 ]
ok $? "the source database has audit rows ($src_rows)"

pg_dump -Fc -f "$dump" $src
ok $? "pg_dump succeeds"
createdb $dst
PGOPTIONS='-c schema_guard.audit=off' pg_restore --exit-on-error -d $dst "$dump"
ok $? "pg_restore with the audit off succeeds"
[ "$(q $dst -c "$rows")" = "$src_rows" ]
ok $? "every audit row is restored, identical"
[ "$(q $dst -c "$marks")" = "$src_marks" ]
ok $? "every history event is restored, identical"

q $dst -c "INSERT INTO django_migrations (app, name, applied) VALUES ('core', '0002_x', now())" >/dev/null
q $dst -c "CREATE TABLE after_restore (id integer)" >/dev/null
[ "$(q $dst -c "SELECT count(*) FROM schema_guard.migration_event WHERE migration = 'core.0002_x'")" = 1 ] \
  && [ "$(q $dst -c "SELECT count(*) FROM schema_guard.ddl_event WHERE object_identity = 'public.after_restore' AND event_id > (SELECT max(event_id) FROM schema_guard.ddl_event WHERE object_identity <> 'public.after_restore')")" = 1 ]
ok $? "after the restore the history trigger fires and event ids continue"

out=$(q $src -c "DROP EXTENSION schema_guard" 2>&1)
[ $? -ne 0 ] && grep -q "depends on function schema_guard.history_row()" <<<"$out"
ok $? "DROP EXTENSION names the history trigger that depends on it"
q $src -c "DROP EXTENSION schema_guard CASCADE" >/dev/null 2>&1 \
  && q $src -c "CREATE TABLE after_drop (id integer); DROP TABLE after_drop; INSERT INTO django_migrations (app, name, applied) VALUES ('core', '0003_y', now())" >/dev/null
ok $? "after DROP EXTENSION ... CASCADE, DDL and history writes work"

exit $((fails > 0))
