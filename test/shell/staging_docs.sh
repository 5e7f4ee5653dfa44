#!/usr/bin/env bash
# docs/staging.md runs as written: its SQL blocks, in order, in one psql
# session at the top of the repository, in a new database; and the counts
# its comments promise are the ones the batch log records.
# Runs against the cluster in PGHOST/PGPORT (scripts/test); prints TAP.
set -u
n=0
fails=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; return "$1"; }
root=$(cd "$(dirname "$0")/../.." && pwd)
db=sg_staging_docs
tmp=$(mktemp -d /tmp/sg_staging_docs.XXXXXX)
cleanup() {
  rm -rf "$tmp"
  dropdb --if-exists $db >/dev/null 2>&1
  psql -X -q -d postgres -c "DROP ROLE IF EXISTS ge_sync" >/dev/null 2>&1
}
trap cleanup EXIT
cleanup
mkdir -p "$tmp"

echo "1..3"
awk '/^```sql$/ { on = 1; next } /^```$/ { on = 0; next } on' "$root/docs/staging.md" >"$tmp/docs.sql"
createdb $db
(cd "$root" && psql -X -q -v ON_ERROR_STOP=1 -d $db -f "$tmp/docs.sql") >"$tmp/out.log" 2>&1
ok $? "every SQL block of docs/staging.md runs ($(grep -c '^```sql$' "$root/docs/staging.md") blocks)" \
  || sed 's/^/# /' "$tmp/out.log" | tail -20
out=$(psql -X -q -t -A -d $db -c "SELECT string_agg(format('%s %s/%s/%s/%s/%s', source, inserted, updated, unchanged, superseded, rejected), '; ' ORDER BY batch_id) FROM schema_guard.stage_batches")
[ "$out" = "ge 7/0/0/1/5; ge 0/0/7/1/5; ge --license 0/1/0/0/0; tablet-7 1/0/0/1/0" ]
ok $? "the counts are those the comments give" || echo "# $out"
grep -q "superseded | 2026-01-31 14:30:00+00 | 2026-01-31 14:35:00+00" "$tmp/out.log" \
  || grep -qE "superseded \| .*14:30:00.* \| .*14:35:00" "$tmp/out.log"
ok $? "the quarantine lists the superseded sale with both versions" || sed 's/^/# /' "$tmp/out.log" | tail -5

exit $((fails > 0))
