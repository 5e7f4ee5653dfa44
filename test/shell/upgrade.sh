#!/usr/bin/env bash
# ALTER EXTENSION schema_guard UPDATE: a database installed at 0.1.0 (the
# kept install script) and filled through the 0.1.0 functions is updated to
# the current version. Afterwards it has exactly the objects of a fresh
# install (extension members, their definitions, grants, comments, event
# triggers, the tables pg_dump carries), every row it had, and works.
# Runs against the cluster in PGHOST/PGPORT (scripts/test); prints TAP.
set -u
n=0
fails=0
ok() { if [ "$1" = 0 ]; then echo "ok $((++n)) - $2"; else echo "not ok $((++n)) - $2"; fails=$((fails + 1)); fi; return "$1"; }
q() { psql -X -q -t -A -v ON_ERROR_STOP=1 -d "$@"; }
old=sg_upgrade_old
new=sg_upgrade_new
tmp=$(mktemp -d /tmp/sg_upgrade.XXXXXX)
cleanup() { rm -rf "$tmp"; dropdb --if-exists $old >/dev/null 2>&1; dropdb --if-exists $new >/dev/null 2>&1; }
trap cleanup EXIT
dropdb --if-exists $old >/dev/null 2>&1
dropdb --if-exists $new >/dev/null 2>&1
current=$(sed -nE "s/^default_version = '([^']+)'/\1/p" "$(dirname "$0")/../../schema_guard.control")

echo "1..10"
createdb $old
createdb $new

# What a database at 0.1.0 holds after some use.
q $old -v ON_ERROR_STOP=1 -f - >"$tmp/fill.log" 2>&1 <<'SQL'
CREATE TABLE django_migrations (id serial PRIMARY KEY, app varchar(255) NOT NULL,
                                name varchar(255) NOT NULL, applied timestamptz NOT NULL);
CREATE EXTENSION schema_guard VERSION '0.1.0';
BEGIN;
CREATE TABLE core_company (id bigserial PRIMARY KEY, name varchar(255) NOT NULL);
INSERT INTO django_migrations (app, name, applied) VALUES ('core', '0001_initial', now());
COMMIT;
ALTER TABLE core_company ADD COLUMN note text;
CREATE INDEX core_company_name_idx ON core_company (name);
SELECT schema_guard.baseline('before the update');
SELECT schema_guard.ignore('token_blacklist_%', 'JWT blacklist');
SELECT schema_guard.declare_migrations('{"format": "schema_guard.migrations/1", "framework": "django",
  "migrations": [{"app": "core", "name": "0001_initial", "dependencies": []},
                 {"app": "core", "name": "0002_note", "dependencies": [["core", "0001_initial"]]}]}');
CREATE TABLE core_licence (licence_no text PRIMARY KEY, holder text NOT NULL, updated_at timestamptz);
SELECT schema_guard.stage_open('core_licence', '{licence_no}', 'ge') AS applied_batch \gset
SELECT schema_guard.stage_rows(:applied_batch, '[{"licence_no": "L-1", "holder": "Acme"},
                                               {"licence_no": "L-2", "holder": null}]');
-- This library applies batches only once the update has run (see below);
-- the batch is recorded as 0.1.0's stage_apply recorded it.
INSERT INTO core_licence (licence_no, holder) VALUES ('L-1', 'Acme');
UPDATE schema_guard.stage_batches SET status = 'applied', applied_at = now(), applied_by = current_user,
  staged = 2, inserted = 1, updated = 0, unchanged = 0, stale = 0, superseded = 0, rejected = 1, skipped = 0
WHERE batch_id = :applied_batch;
INSERT INTO schema_guard.stage_rejected (batch_id, seq, key, problem, detail, payload)
SELECT batch_id, seq, payload->>'licence_no', 'not_null',
       'null value in column "holder" of relation "core_licence" violates not-null constraint', payload
FROM schema_guard.staged_row WHERE batch_id = :applied_batch AND payload->>'licence_no' = 'L-2';
SELECT schema_guard.stage_open('core_licence', '{licence_no}', 'ge') AS open_batch \gset
SELECT schema_guard.stage_rows(:open_batch, '[{"licence_no": "L-3", "holder": "Beta"}]');
SQL
ok $? "a 0.1.0 database is installed and filled through its functions" || cat "$tmp/fill.log"

# The library is shared by both versions: until the update runs, 0.1.0's
# SQL calls the new C functions. None of them crashes on NULL arguments.
psql -X -q -d $old -c "CREATE EXTENSION IF NOT EXISTS pgtap" >/dev/null 2>&1
PGDATABASE=$old pg_prove "$(dirname "$0")/../pgtap/null_arguments.sql" >"$tmp/null.log" 2>&1
ok $? "0.1.0's functions, served by this library, take NULL in every argument without an internal error" \
  || grep -E "^not ok|^#|Parse|Dubious" "$tmp/null.log" | head -20 | sed 's/^/# /'
psql -X -q -d $old -c "DROP EXTENSION pgtap" >/dev/null 2>&1

# The library is shared by both versions: 0.1.0's SQL calling this
# library's stage_apply gets a clean error until the update.
out=$(q $old -c "SELECT * FROM schema_guard.stage_apply((SELECT max(batch_id) FROM schema_guard.stage_batches))" 2>&1)
grep -q "ERROR:  schema_guard's staging tables are at version 0.1.0" <<<"$out" \
  && [ "$(psql -X -q -t -A -d $old -v VERBOSITY=verbose -c "SELECT * FROM schema_guard.stage_apply(1)" 2>&1 | grep -o '55000' | head -1)" = 55000 ]
ok $? "before the update, 0.1.0's stage_apply is refused with 55000, naming ALTER EXTENSION" || echo "# $out"

# Every row of every table the extension owns, in a stable order. The
# update is DDL, so the audit gains rows: ddl_capture is compared up to the
# last event id before it ($2).
rows() {
  q "$1" -c "SELECT c.relname FROM pg_class c JOIN pg_depend d ON d.objid = c.oid AND d.classid = 'pg_class'::regclass
             AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
             WHERE c.relkind = 'r' ORDER BY 1" | while read -r t; do
    where=
    [ "$t" = ddl_capture ] && where="WHERE x.first_event_id <= $2"
    echo "$t: $(q "$1" -c "SELECT count(*) || ' ' || md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM schema_guard.$t x $where")"
  done
}
last_event=$(q $old -c "SELECT max(first_event_id) FROM schema_guard.ddl_capture")
rows $old "$last_event" >"$tmp/rows.before"

q $old -c "ALTER EXTENSION schema_guard UPDATE" >"$tmp/update.log" 2>&1
ok $? "ALTER EXTENSION schema_guard UPDATE succeeds" || cat "$tmp/update.log"
[ "$(q $old -c "SELECT extversion FROM pg_extension WHERE extname = 'schema_guard'")" = "$current" ]
ok $? "the database is at $current"

q $new -c "CREATE EXTENSION schema_guard" >/dev/null

# The objects of the extension as a fresh install and an update must leave
# them: names, definitions, grants, comments, configuration dumps.
cat >"$tmp/objects.sql" <<'SQL'
WITH m AS (
  SELECT d.classid, d.objid, d.objsubid
  FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
  WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND e.extname = 'schema_guard')
SELECT pg_describe_object(m.classid, m.objid, m.objsubid) || ' ' || coalesce(
  CASE m.classid
    WHEN 'pg_proc'::regclass THEN
      (SELECT pg_get_functiondef(p.oid) || ' acl=' || coalesce(p.proacl::text, '-')
       FROM pg_proc p WHERE p.oid = m.objid AND p.prokind <> 'a')
    WHEN 'pg_class'::regclass THEN
      (SELECT c.relkind::text || ' acl=' || coalesce(c.relacl::text, '-') || ' ' ||
              coalesce(pg_get_viewdef(c.oid), '') ||
              coalesce((SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) ||
                                          CASE WHEN a.attnotnull THEN ' not null' ELSE '' END ||
                                          coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '') ||
                                          CASE WHEN a.attidentity <> '' THEN ' identity ' || a.attidentity::text ELSE '' END ||
                                          CASE WHEN a.attgenerated <> '' THEN ' generated' ELSE '' END ||
                                          coalesce(' acl=' || a.attacl::text, ''),
                                          ', ' ORDER BY a.attnum)
                        FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
                        WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '') ||
              coalesce((SELECT ' ' || string_agg(pg_get_indexdef(i.indexrelid), '; ' ORDER BY pg_get_indexdef(i.indexrelid))
                        FROM pg_index i WHERE i.indrelid = c.oid), '') ||
              coalesce((SELECT ' ' || string_agg(co.conname || ' ' || pg_get_constraintdef(co.oid), '; ' ORDER BY co.conname)
                        FROM pg_constraint co WHERE co.conrelid = c.oid), '') ||
              coalesce((SELECT ' ' || string_agg(pg_get_triggerdef(t.oid), '; ' ORDER BY t.tgname)
                        FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal), '') ||
              coalesce((SELECT ' policy ' || string_agg(po.polname || ' ' || po.polcmd::text || ' ' ||
                                                       coalesce(pg_get_expr(po.polqual, po.polrelid), '') || ' ' ||
                                                       coalesce(pg_get_expr(po.polwithcheck, po.polrelid), ''), '; ' ORDER BY po.polname)
                        FROM pg_policy po WHERE po.polrelid = c.oid), '') ||
              CASE WHEN c.relrowsecurity THEN ' rls' ELSE '' END ||
              CASE WHEN c.relkind = 'S' THEN (SELECT ' ' || s.seqtypid::regtype || ' ' || s.seqincrement || ' ' || s.seqstart
                                              FROM pg_sequence s WHERE s.seqrelid = c.oid) ELSE '' END
       FROM pg_class c WHERE c.oid = m.objid)
    WHEN 'pg_type'::regclass THEN
      (SELECT coalesce((SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
                        FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0), t.typtype::text)
       FROM pg_type t WHERE t.oid = m.objid)
    WHEN 'pg_event_trigger'::regclass THEN
      (SELECT evtevent || ' ' || evtfoid::regproc || ' ' || evtenabled::text || ' ' || coalesce(evttags::text, '')
       FROM pg_event_trigger WHERE oid = m.objid)
  END, '') || coalesce(' comment=' || obj_description(m.objid, m.classid::regclass::name), '')
FROM m ORDER BY 1;
SELECT 'config dump ' || c.relname || ' ' || coalesce(e.extcondition[i], '')
FROM pg_extension e, generate_subscripts(e.extconfig, 1) i, pg_class c
WHERE e.extname = 'schema_guard' AND c.oid = e.extconfig[i] ORDER BY 1;
SELECT 'role ' || rolname FROM pg_roles WHERE rolname LIKE 'schema_guard%' ORDER BY 1;
SQL
q $old -f "$tmp/objects.sql" >"$tmp/objects.updated"
q $new -f "$tmp/objects.sql" >"$tmp/objects.fresh"
[ -s "$tmp/objects.fresh" ] && diff -u "$tmp/objects.fresh" "$tmp/objects.updated" >"$tmp/objects.diff"
ok $? "the updated database has the objects of a fresh install ($(wc -l <"$tmp/objects.fresh") lines compared)" \
  || sed 's/^/# /' "$tmp/objects.diff" | head -60

# Rows are kept (the columns an update appends are compared as they were).
rows $old "$last_event" >"$tmp/rows.after"
cut -d' ' -f1-2 "$tmp/rows.before" >"$tmp/counts.before"
# A table the update adds (guard_event) starts empty and is left out.
cut -d' ' -f1-2 "$tmp/rows.after" \
  | awk 'NR == FNR { seen[$1] = 1; next } ($1 in seen) || $2 != "0"' "$tmp/counts.before" - \
  >"$tmp/counts.after"
diff -u "$tmp/counts.before" "$tmp/counts.after" >"$tmp/rows.diff"
ok $? "every table keeps its row count across the update (tables it adds are empty)" || sed 's/^/# /' "$tmp/rows.diff"

# The updated database works: audit, checks and staging.
out=$(q $old -f - 2>&1 <<'SQL'
CREATE TABLE after_update (id integer);
SELECT count(*) FROM schema_guard.ddl_event WHERE object_identity = 'public.after_update';
SELECT count(*) FROM schema_guard.check() WHERE kind = 'orphan_table';
SQL
)
[ "$out" = "$(printf '1\n2')" ]
ok $? "after the update the audit records DDL and check() sees the new tables" || echo "# $out"
out=$(q $old -c "SELECT inserted FROM schema_guard.stage_apply((SELECT max(batch_id) FROM schema_guard.stage_batches))" 2>&1)
[ "$out" = 1 ]
ok $? "a batch left open by 0.1.0 is applied after the update" || echo "# $out"
out=$(q $old -f - 2>&1 <<'SQL'
SELECT schema_guard.stage_open('core_licence', '{licence_no}', 'after') - (SELECT max(batch_id) FROM schema_guard.stage_batches WHERE source = 'ge');
SELECT count(*) FROM schema_guard.stage_rejected WHERE payload->>'licence_no' = 'L-2' AND problem = 'not_null';
SQL
)
[ "$out" = "$(printf '1\n1')" ]
ok $? "after the update batch ids continue and 0.1.0's quarantine reads as json" || echo "# $out"

exit $((fails > 0))
