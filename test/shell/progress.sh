#!/usr/bin/env bash
# Progress NOTICEs (schema_guard.progress): with a 1 ms interval a staging
# validate and apply of a few thousand rows and a check of a few hundred
# tables say their phases and totals; 0 turns them off; client_min_messages
# hides them like any NOTICE. The NOTICEs are read from psql's stderr.
# Runs against the cluster in PGHOST/PGPORT (scripts/test); prints TAP.
set -u
n=0
fails=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; return "$1"; }
db=sg_progress
q() { psql -X -q -t -A -v ON_ERROR_STOP=1 -d $db "$@"; }
tmp=$(mktemp -d /tmp/sg_progress.XXXXXX)
cleanup() { rm -rf "$tmp"; dropdb --if-exists $db >/dev/null 2>&1; }
trap cleanup EXIT
[ -n "${SG_KEEP:-}" ] && trap - EXIT
dropdb --if-exists $db >/dev/null 2>&1
# Prints the NOTICEs (stderr) of a psql session running the SQL on stdin.
notices() { psql -X -q -t -A -v ON_ERROR_STOP=1 -d $db 2>&1 >/dev/null; }
# Whether a line of file $1 matches the extended regular expression $2.
has() { grep -Eq -- "$2" "$1"; }
show() { sed 's/^/# /' "$1" | head -${2:-20}; }

echo "1..14"
createdb $db
q >/dev/null <<'SQL'
CREATE EXTENSION schema_guard;
CREATE TABLE licence (code text PRIMARY KEY, holder text NOT NULL,
                      amount integer NOT NULL CHECK (amount >= 0));
SQL

# A batch of 6000 rows: 3000 keys staged once, 1500 keys staged twice (3000
# rows held back for deduplication: 1500 superseded), 1500 of the single
# rows with an amount that does not convert (rejected).
stage() {
  q -c "SELECT schema_guard.stage_open('licence', ARRAY['code'])" >"$tmp/batch"
  q -c "INSERT INTO schema_guard.staged_row (batch_id, payload)
        SELECT $(cat "$tmp/batch"), pg_catalog.json_build_object(
          'code', 'k' || (CASE WHEN i <= 3000 THEN i ELSE 3001 + (i - 3001) % 1500 END),
          'holder', 'h' || i,
          'amount', CASE WHEN i <= 1500 THEN 'x' ELSE i::text END)
        FROM pg_catalog.generate_series(1, 6000) i" >/dev/null
}

stage
batch=$(cat "$tmp/batch")
notices >"$tmp/validate.log" <<SQL
SET schema_guard.progress = '1ms';
SELECT count(*) FROM schema_guard.stage_validate($batch);
SQL
has "$tmp/validate.log" "^NOTICE:  validating batch $batch: scanning, [0-9]+ rows, [0-9]+\.[0-9] s$"
ok $? "stage_validate reports the first pass (scanning, rows read so far)" || show "$tmp/validate.log"
has "$tmp/validate.log" "^NOTICE:  validating batch $batch: converting, [0-9]+ of 6000 rows \([0-9]+%\), [0-9]+\.[0-9] s$"
ok $? "stage_validate reports converting, of the batch's 6000 rows" || show "$tmp/validate.log"

notices >"$tmp/apply.log" <<SQL
SET schema_guard.progress = '1ms';
SELECT inserted, superseded, rejected FROM schema_guard.stage_apply($batch);
SQL
has "$tmp/apply.log" "^NOTICE:  applying batch $batch: converting, [0-9]+ of 6000 rows \([0-9]+%\), [0-9.]+ s$"
ok $? "stage_apply reports converting, of 6000 rows" || show "$tmp/apply.log"
has "$tmp/apply.log" "^NOTICE:  applying batch $batch: deduplicating, [0-9]+ of 3000 rows \([0-9]+%\), [0-9.]+ s$"
ok $? "stage_apply reports deduplicating, of the 3000 rows whose key repeats" || show "$tmp/apply.log"
has "$tmp/apply.log" "^NOTICE:  applying batch $batch: quarantining, [0-9]+ of 3000 rows \([0-9]+%\), [0-9.]+ s$"
ok $? "stage_apply reports quarantining, of the 1500 rejected and 1500 superseded rows" || show "$tmp/apply.log"
[ "$(q -c "SELECT count(*) FROM schema_guard.stage_rejected WHERE batch_id = $batch")" = 3000 ] &&
  [ "$(q -c "SELECT count(*) FROM licence")" = 3000 ]
ok $? "the apply itself is unchanged: 3000 rows written, 3000 quarantined"
! grep -Ev '^NOTICE:  (validating|applying) batch' "$tmp/apply.log" "$tmp/validate.log" | grep -q CONTEXT
ok $? "progress NOTICEs carry no CONTEXT (the merge statement)" || show "$tmp/apply.log"

# The percentage grows and never passes 100.
awk -F'[(%]' '/converting, .* of 6000 rows/ { if ($2 + 0 > 100 || $2 + 0 < last) bad = 1; last = $2 + 0 } END { exit bad }' "$tmp/apply.log"
ok $? "within a phase the percentage only grows, up to 100"

# Off and hidden.
stage
batch=$(cat "$tmp/batch")
notices >"$tmp/off.log" <<SQL
SET schema_guard.progress = 0;
SELECT count(*) FROM schema_guard.stage_validate($batch);
SELECT inserted FROM schema_guard.stage_apply($batch, dry_run => true);
SELECT inserted FROM schema_guard.stage_apply($batch);
SQL
! has "$tmp/off.log" "(validating|applying|dry run of) batch" && ! has "$tmp/off.log" ERROR
ok $? "schema_guard.progress = 0: no progress NOTICE" || show "$tmp/off.log"
stage
batch=$(cat "$tmp/batch")
notices >"$tmp/hidden.log" <<SQL
SET schema_guard.progress = '1ms';
SET client_min_messages = warning;
SELECT inserted FROM schema_guard.stage_apply($batch);
SQL
! has "$tmp/hidden.log" "(validating|applying|dry run of) batch" && ! has "$tmp/hidden.log" ERROR
ok $? "client_min_messages = warning hides them" || show "$tmp/hidden.log"

# A schema of 400 tables, each with defaults to print.
q >/dev/null <<'SQL'
DROP TABLE licence;
DO $$
BEGIN
  FOR i IN 1..400 LOOP
    EXECUTE pg_catalog.format(
      'CREATE TABLE app_t%s (id integer PRIMARY KEY, name text NOT NULL '
      'DEFAULT ''x'', n integer DEFAULT 0 CHECK (n >= 0), at timestamptz '
      'DEFAULT pg_catalog.now())', i);
  END LOOP;
END $$;
SELECT schema_guard.baseline();
SQL
notices >"$tmp/check.log" <<'SQL'
SET schema_guard.progress = '1ms';
SELECT count(*) FROM schema_guard.check();
SELECT length(schema_guard.check_json()::text) > 0;
SELECT length(schema_check()) > 0;
SELECT length(schema_guard.fix_script()) > 0;
SQL
! has "$tmp/check.log" ERROR
ok $? "the four calls run" || show "$tmp/check.log"
# One report per call at least: three named "schema check", one "fix script".
n_check=$(grep -cE "^NOTICE:  schema check: reading catalogs, [0-9]+ of 400 relations \([0-9]+%\), [0-9.]+ s$" "$tmp/check.log")
n_fix=$(grep -cE "^NOTICE:  fix script: reading catalogs, [0-9]+ of 400 relations \([0-9]+%\), [0-9.]+ s$" "$tmp/check.log")
[ "$n_check" -ge 3 ] && [ "$n_fix" -ge 1 ]
ok $? "check(), check_json(), schema_check() and fix_script() report reading catalogs, of the 400 relations" || show "$tmp/check.log" 40
# Comparing and rendering are single calls: reported when they start, if
# the interval has passed by then (at 1 ms it has, for some of the four).
has "$tmp/check.log" "^NOTICE:  (schema check|fix script): (comparing|rendering, [0-9]+ findings), [0-9.]+ s$"
ok $? "the single-call phases are reported when the interval has passed" || show "$tmp/check.log" 40
notices >"$tmp/check_off.log" <<'SQL'
SET schema_guard.progress = 0;
SELECT count(*) FROM schema_guard.check();
SELECT length(schema_check()) > 0;
SET schema_guard.progress = '1ms';
SET client_min_messages = warning;
SELECT length(schema_guard.fix_script()) > 0;
SQL
! has "$tmp/check_off.log" "(schema check|fix script): " && ! has "$tmp/check_off.log" ERROR
ok $? "check: none with progress = 0 or client_min_messages = warning" || show "$tmp/check_off.log"

exit $((fails > 0))
