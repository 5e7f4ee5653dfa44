#!/usr/bin/env bash
# A database with the extension, dumped and restored with plain commands and
# no special option (pg_dump -Fc + pg_restore -d, pg_dump + psql), keeps
# every row of every extension table, its schema intact (keys, indexes,
# constraints, history triggers), and an audit the restore's own DDL did not
# touch; afterwards event ids continue and attribution works. Also: history
# tables that exist before CREATE EXTENSION are watched, and DROP EXTENSION
# needs no CASCADE for the history triggers it attached.
# Runs against the cluster in PGHOST/PGPORT (scripts/test); prints TAP.
set -u
n=0
fails=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; return "$1"; }
q() { psql -X -q -t -A -v ON_ERROR_STOP=1 -d "$@"; }
src=sg_dump_src
tmp=$(mktemp -d /tmp/sg_dump.XXXXXX)
dbs="$src sg_dump_custom sg_dump_plain"
cleanup() { rm -rf "$tmp"; for d in $dbs; do dropdb --if-exists "$d" >/dev/null 2>&1; done; }
trap cleanup EXIT
for d in $dbs; do dropdb --if-exists "$d" >/dev/null 2>&1; done

echo "1..22"
createdb $src
q $src -c "CREATE TABLE django_migrations (id serial PRIMARY KEY, app text NOT NULL, name text NOT NULL, applied timestamptz NOT NULL)"
q $src -c "CREATE EXTENSION schema_guard"
[ "$(q $src -c "SELECT history_table::text || ':' || framework FROM schema_guard.history_tables")" = "django_migrations:django" ]
ok $? "a history table that existed before CREATE EXTENSION is watched"

q $src -f - <<'SQL' >/dev/null
BEGIN;
CREATE TABLE core_company (id bigserial PRIMARY KEY, name text NOT NULL UNIQUE);
CREATE TABLE core_invoice (id bigserial PRIMARY KEY, company_id bigint NOT NULL REFERENCES core_company,
                           total numeric(12, 2) CHECK (total >= 0), note text DEFAULT 'none');
CREATE INDEX core_invoice_company_idx ON core_invoice (company_id);
INSERT INTO django_migrations (app, name, applied) VALUES ('core', '0001_initial', now());
COMMIT;
ALTER TABLE core_company ADD COLUMN "note; --é" text;
CREATE INDEX core_company_name_idx ON core_company (name);
CREATE VIEW core_company_names AS SELECT name FROM core_company;
SELECT schema_guard.baseline('release 1');
SELECT schema_guard.ignore('token_blacklist_%', 'JWT blacklist');
SELECT schema_guard.declare_migrations('{"format": "schema_guard.migrations/1", "framework": "django",
  "migrations": [{"app": "core", "name": "0001_initial", "dependencies": []}]}');
SQL
# Every row of every table the extension owns, as count:md5.
all_rows() {
  q "$1" -c "SELECT c.relname FROM pg_class c JOIN pg_depend d ON d.objid = c.oid
             AND d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_extension'::regclass
             AND d.deptype = 'e' WHERE c.relkind = 'r' ORDER BY 1" | while read -r t; do
    echo "$t $(q "$1" -c "SELECT count(*) || ':' || md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM schema_guard.$t x")"
  done
}
# The user schema: keys, indexes, constraints, triggers, views, defaults.
user_schema() {
  q "$1" -c "SELECT count(*) FILTER (WHERE c.contype = 'p') || ' pk, ' ||
                    count(*) FILTER (WHERE c.contype = 'u') || ' unique, ' ||
                    count(*) FILTER (WHERE c.contype = 'f') || ' fk, ' ||
                    count(*) FILTER (WHERE c.contype = 'c') || ' check'
             FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public'"
  q "$1" -c "SELECT string_agg(pg_get_indexdef(i.indexrelid), '; ' ORDER BY pg_get_indexdef(i.indexrelid)) FROM pg_index i
             JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'"
  q "$1" -c "SELECT string_agg(pg_get_triggerdef(t.oid), '; ' ORDER BY pg_get_triggerdef(t.oid)) FROM pg_trigger t WHERE NOT t.tgisinternal"
  q "$1" -c "SELECT pg_get_viewdef('core_company_names'::regclass)"
}
src_rows=$(all_rows $src)
src_schema=$(user_schema $src)
audit_rows=$(q $src -c "SELECT count(*) FROM schema_guard.ddl_event")
[ "$audit_rows" -gt 10 ] && [ "$(q $src -c "SELECT count(*) FROM schema_guard.migration_event")" -ge 1 ]
ok $? "the source database has audit rows ($audit_rows) and a history event"

pg_dump -Fc -f "$tmp/dump.custom" $src && pg_dump -f "$tmp/dump.sql" $src
ok $? "pg_dump writes a custom and a plain dump"

createdb sg_dump_custom
pg_restore --exit-on-error -d sg_dump_custom "$tmp/dump.custom" >"$tmp/custom.log" 2>&1
ok $? "pg_restore -d of the custom dump succeeds with no error" || sed 's/^/# /' "$tmp/custom.log"
createdb sg_dump_plain
psql -X -q -v ON_ERROR_STOP=1 -d sg_dump_plain -f "$tmp/dump.sql" >"$tmp/plain.log" 2>&1
ok $? "psql of the plain dump succeeds with no error" || sed 's/^/# /' "$tmp/plain.log"

for dst in sg_dump_custom sg_dump_plain; do
  diff <(echo "$src_rows") <(all_rows $dst) >"$tmp/rows.diff"
  ok $? "$dst: every extension table has the source's rows, identical (the restore's DDL was not recorded)" \
    || sed 's/^/# /' "$tmp/rows.diff"
  diff <(echo "$src_schema") <(user_schema $dst) >"$tmp/schema.diff"
  ok $? "$dst: keys, indexes, constraints, triggers and views are intact" || sed "s/^/# /" "$tmp/schema.diff"
  [ "$(q $dst -c "SELECT count(*) FROM schema_guard.check()")" = 0 ]
  ok $? "$dst: check() against the restored baseline finds nothing"
  [ "$(q $dst -c "SELECT count(*) FROM schema_guard.drift()")" = "$(q $src -c "SELECT count(*) FROM schema_guard.drift()")" ]
  ok $? "$dst: drift() is the source's"
  q $dst -c "INSERT INTO django_migrations (app, name, applied) VALUES ('core', '0002_x', now())" >/dev/null
  q $dst -c "CREATE TABLE after_restore (id integer)" >/dev/null
  [ "$(q $dst -c "SELECT count(*) FROM schema_guard.migration_event WHERE migration = 'core.0002_x'")" = 1 ] \
    && [ "$(q $dst -c "SELECT count(*) FROM schema_guard.ddl_event WHERE object_identity = 'public.after_restore'
                        AND event_id > (SELECT max(event_id) FROM schema_guard.ddl_event WHERE object_identity <> 'public.after_restore')")" = 1 ]
  ok $? "$dst: afterwards the history trigger fires and event ids continue after the restored ones"
done

# The audit leaves the session's sequence state alone.
out=$(q $src -c "CREATE SEQUENCE s1" -c "SELECT nextval('s1')" -c "CREATE TABLE after_seq (a integer)" -c "SELECT lastval()" 2>&1)
[ "$out" = "$(printf '1\n1')" ]
ok $? "lastval() after audited DDL is still the session's own" || echo "# $out"
out=$(q $src -c "SELECT nextval('s1')" -c "DROP SEQUENCE s1" -c "SELECT lastval()" 2>&1)
grep -q "lastval is not yet defined in this session" <<<"$out"
ok $? "after DROP SEQUENCE, lastval() is undefined as without the audit" || echo "# $out"

# A session that looks like a restore but is not a superuser's is audited.
q $src -c "CREATE ROLE sg_dump_user LOGIN" -c "GRANT CREATE ON SCHEMA public TO sg_dump_user" >/dev/null
psql -X -q -d $src -U sg_dump_user -c "SET row_security = off" -c "SET check_function_bodies = false" \
  -c "SET xmloption = content" -c "SELECT pg_catalog.set_config('search_path', '', false)" \
  -c "CREATE TABLE public.looks_like_restore (a integer)" >/dev/null
[ "$(q $src -c "SELECT count(*) FROM schema_guard.drift() WHERE object_identity = 'public.looks_like_restore'")" = 1 ]
ok $? "an ordinary role's DDL with pg_dump's settings is still audited as drift"

# DROP EXTENSION takes the history triggers it attached with it.
q $src -c "DROP OWNED BY sg_dump_user" -c "DROP ROLE sg_dump_user" >/dev/null
out=$(q $src -c "DROP EXTENSION schema_guard" 2>&1)
ok $? "DROP EXTENSION schema_guard needs no CASCADE for the history triggers" || echo "# $out"
[ "$(q $src -c "SELECT count(*) FROM pg_trigger WHERE tgname = 'schema_guard_attribution'")" = 0 ] \
  && [ "$(q $src -c "SELECT count(*) FROM django_migrations")" = 1 ]
ok $? "the triggers are gone, the history table and its rows stay"
q $src -c "CREATE TABLE after_drop (id integer); DROP TABLE after_drop; INSERT INTO django_migrations (app, name, applied) VALUES ('core', '0003_y', now())" >/dev/null 2>&1
ok $? "after DROP EXTENSION, DDL and history writes work"
out=$(q sg_dump_plain -c "DROP EXTENSION schema_guard" 2>&1)
ok $? "DROP EXTENSION without CASCADE works in a restored database too" || echo "# $out"

exit $((fails > 0))
