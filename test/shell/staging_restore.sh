#!/usr/bin/env bash
# A database with staged batches (applied, dry-run and open ones, with
# quarantined, superseded and stale rows), dumped and restored with plain
# commands and no special option (pg_dump -Fc + pg_restore -d, pg_dump +
# psql): every staging table comes back with identical rows and no error,
# batch ids and staging order continue where they were, the open batch
# still applies, and an applied batch still takes no more rows.
# Runs against the cluster in PGHOST/PGPORT (scripts/test); prints TAP.
set -u
n=0
fails=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; return "$1"; }
q() { psql -X -q -t -A -v ON_ERROR_STOP=1 -d "$@"; }
src=sg_stage_dump_src
tmp=$(mktemp -d /tmp/sg_stage_dump.XXXXXX)
dbs="$src sg_stage_dump_custom sg_stage_dump_plain"
cleanup() { rm -rf "$tmp"; for d in $dbs; do dropdb --if-exists "$d" >/dev/null 2>&1; done; }
trap cleanup EXIT
for d in $dbs; do dropdb --if-exists "$d" >/dev/null 2>&1; done

echo "1..17"
createdb $src
q $src -f - >"$tmp/fill.log" 2>&1 <<'SQL'
CREATE EXTENSION schema_guard;
CREATE TABLE licence (licence_no text PRIMARY KEY, holder text NOT NULL, amount numeric(10, 2),
                      modified_at timestamptz, synced_at timestamptz);
INSERT INTO licence VALUES ('L-9', 'Stored', 9, '2026-03-01 00:00+00', NULL);
-- Applied: a rejected, a superseded and a stale row.
SELECT schema_guard.stage_open('licence', ARRAY['licence_no'], 'ge',
  '{"conflict": "newer_wins", "version_column": "modified_at", "touch_column": "synced_at"}') AS applied \gset
SELECT schema_guard.stage_rows(:applied, '[
  {"licence_no": "L-1", "holder": "Acme", "amount": 1, "modified_at": "2026-01-01T00:00:00Z"},
  {"licence_no": "L-1", "holder": "Acme Ltd", "amount": 2, "modified_at": "2026-01-02T00:00:00Z"},
  {"licence_no": "L-2", "holder": null, "amount": 3, "modified_at": "2026-01-01T00:00:00Z"},
  {"licence_no": "L-9", "holder": "Old", "amount": 4, "modified_at": "2026-01-01T00:00:00Z"}]');
SELECT * FROM schema_guard.stage_apply(:applied);
-- A dry run.
SELECT schema_guard.stage_open('licence', ARRAY['licence_no'], 'ge') AS dry \gset
SELECT schema_guard.stage_rows(:dry, '[{"licence_no": "L-3", "holder": "Dry"}]');
SELECT * FROM schema_guard.stage_apply(:dry, true);
-- Open, by COPY (its text format halves backslashes).
SELECT schema_guard.stage_open('licence', ARRAY['licence_no'], 'ge') AS open \gset
COPY schema_guard.staged_row (payload) FROM stdin;
{"licence_no": "L-4", "holder": "Beta", "amount": 4.5}
{"licence_no": "L-5", "holder": "Gamma \\"quoted\\" é", "amount": 5}
\.
SQL
[ $? = 0 ] && [ "$(q $src -c "SELECT string_agg(status, ',' ORDER BY batch_id) FROM schema_guard.stage_batches")" = "applied,dry_run,open" ] \
  && [ "$(q $src -c "SELECT string_agg(problem, ',' ORDER BY seq) FROM schema_guard.stage_rejected")" = "superseded,not_null,stale" ]
ok $? "the source has an applied batch (rejected, superseded and stale rows), a dry run and an open batch" \
  || sed 's/^/# /' "$tmp/fill.log"

# Every row of the staging tables, as count:md5, and where the sequences are.
staging_rows() {
  for t in stage_batches staged_row stage_rejected; do
    echo "$t $(q "$1" -c "SELECT count(*) || ':' || md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM schema_guard.$t x")"
  done
}
src_rows=$(staging_rows $src)
max_batch=$(q $src -c "SELECT max(batch_id) FROM schema_guard.stage_batches")
max_seq=$(q $src -c "SELECT max(seq) FROM schema_guard.staged_row")
open_batch=$(q $src -c "SELECT batch_id FROM schema_guard.stage_batches WHERE status = 'open'")
applied_batch=$(q $src -c "SELECT batch_id FROM schema_guard.stage_batches WHERE status = 'applied'")

pg_dump -Fc -f "$tmp/dump.custom" $src && pg_dump -f "$tmp/dump.sql" $src
ok $? "pg_dump writes a custom and a plain dump"

createdb sg_stage_dump_custom
pg_restore -d sg_stage_dump_custom "$tmp/dump.custom" >"$tmp/custom.log" 2>&1
[ $? = 0 ] && ! grep -q ERROR "$tmp/custom.log"
ok $? "pg_restore -d of the custom dump: no error" || sed 's/^/# /' "$tmp/custom.log" | head -20
createdb sg_stage_dump_plain
psql -X -q -d sg_stage_dump_plain -f "$tmp/dump.sql" >"$tmp/plain.log" 2>&1
[ $? = 0 ] && ! grep -q ERROR "$tmp/plain.log"
ok $? "psql of the plain dump: no error" || sed 's/^/# /' "$tmp/plain.log" | head -20

for dst in sg_stage_dump_custom sg_stage_dump_plain; do
  diff <(echo "$src_rows") <(staging_rows $dst) >"$tmp/rows.diff"
  ok $? "$dst: the batch log, the staged rows of every batch and the quarantine are the source's" \
    || sed 's/^/# /' "$tmp/rows.diff"
  out=$(q $dst -c "SELECT schema_guard.stage_open('licence', ARRAY['licence_no'], 'after restore')" 2>&1)
  [ "$out" = $((max_batch + 1)) ]
  ok $? "$dst: the next batch id follows the restored ones" || echo "# $out"
  out=$(q $dst -f - 2>&1 <<SQL
INSERT INTO schema_guard.staged_row (batch_id, payload) VALUES ($open_batch, '{"licence_no": "L-6", "holder": "Delta"}');
SELECT seq > $max_seq FROM schema_guard.staged_row WHERE payload->>'licence_no' = 'L-6';
SELECT inserted || ' ' || rejected FROM schema_guard.stage_apply($open_batch);
SQL
)
  [ "$out" = "$(printf 't\n3 0')" ]
  ok $? "$dst: the open batch takes rows after the restored ones and applies all three" || echo "# $out"
  out=$(q $dst -c "INSERT INTO schema_guard.staged_row (batch_id, payload) VALUES ($applied_batch, '{\"licence_no\": \"L-7\", \"holder\": \"X\"}')" 2>&1)
  grep -q "batch $applied_batch is already applied" <<<"$out"
  ok $? "$dst: the restored applied batch takes no more rows" || echo "# $out"
  [ "$(q $dst -c "SELECT count(*) FROM schema_guard.batch_rows")" = "$(q $dst -c "SELECT count(*) FROM schema_guard.staged_row")" ]
  ok $? "$dst: the restored rows read through batch_rows"
  [ "$(q $dst -c "SELECT holder FROM licence WHERE licence_no = 'L-5'")" = 'Gamma "quoted" é' ]
  ok $? "$dst: payloads restored byte for byte"
done

q $src -c "DROP EXTENSION schema_guard" >/dev/null 2>&1 \
  && q $src -c "CREATE EXTENSION schema_guard" -c "SELECT schema_guard.stage_open('licence', ARRAY['licence_no'])" >/dev/null
ok $? "DROP EXTENSION drops the staging tables; a new install stages again"

exit $((fails > 0))
