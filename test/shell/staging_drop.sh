#!/usr/bin/env bash
# DROP EXTENSION in one session while another stages rows or applies a
# batch: the drop waits for the staging or the apply to commit, and a
# staging or apply that comes after a drop in progress waits for it and then
# fails cleanly. Nothing is half done: the target holds the applied rows or
# none, the extension's tables are all there or all gone.
# Runs against the cluster in PGHOST/PGPORT (scripts/test); prints TAP.
set -u
n=0
fails=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; return "$1"; }
db=sg_stage_drop
q() { psql -X -q -t -A -v ON_ERROR_STOP=1 -d $db "$@"; }
tmp=$(mktemp -d /tmp/sg_stage_drop.XXXXXX)
cleanup() { rm -rf "$tmp"; dropdb --if-exists $db >/dev/null 2>&1; }
trap cleanup EXIT
dropdb --if-exists $db >/dev/null 2>&1

# Waits (up to 20 s) until a backend running `pattern` waits for a lock.
waiting() {
  for _ in $(seq 1 200); do
    [ -n "$(q -c "SELECT 1 FROM pg_stat_activity WHERE query LIKE '$1' AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")" ] && return 0
    sleep 0.1
  done
  return 1
}
setup() {
  q -f - >/dev/null <<'SQL'
CREATE EXTENSION IF NOT EXISTS schema_guard;
DROP TABLE IF EXISTS sale;
CREATE TABLE sale (code text PRIMARY KEY, amount integer NOT NULL);
SQL
}

echo "1..8"
createdb $db
setup

# 1. A staging transaction open: DROP EXTENSION waits for it.
batch=$(q -c "SELECT schema_guard.stage_open('sale', ARRAY['code'])")
{ echo "BEGIN;"
  echo "INSERT INTO schema_guard.staged_row (batch_id, payload) VALUES ($batch, '{\"code\": \"a\", \"amount\": 1}');"
  echo "SELECT pg_sleep(2);"
  echo "COMMIT;"; } | psql -X -q -d $db >"$tmp/stage.log" 2>&1 &
stager=$!
sleep 0.5
psql -X -q -d $db -c "DROP EXTENSION schema_guard" >"$tmp/drop.log" 2>&1 &
dropper=$!
waiting 'DROP EXTENSION%'
ok $? "DROP EXTENSION waits for a transaction staging rows"
wait $stager
wait $dropper
[ "$(q -c "SELECT count(*) FROM pg_extension WHERE extname = 'schema_guard'")" = 0 ] && ! grep -q ERROR "$tmp/stage.log"
ok $? "the staging commits, then the extension and its tables are dropped" || sed 's/^/# /' "$tmp/stage.log" "$tmp/drop.log"

# 2. An apply in progress (held by a trigger on the target): the drop waits,
# the apply commits whole.
setup
q -f - >/dev/null <<'SQL'
CREATE FUNCTION hold() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.code = 'held' THEN PERFORM pg_sleep(2); END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER hold BEFORE INSERT ON sale FOR EACH ROW EXECUTE FUNCTION hold();
SQL
batch=$(q -c "SELECT schema_guard.stage_open('sale', ARRAY['code'])")
q -c "SELECT schema_guard.stage_rows($batch, '[{\"code\": \"b\", \"amount\": 1}, {\"code\": \"held\", \"amount\": 2}, {\"code\": \"bad\", \"amount\": \"x\"}]')" >/dev/null
psql -X -q -t -A -d $db -c "SELECT inserted || ' ' || rejected FROM schema_guard.stage_apply($batch)" >"$tmp/apply.log" 2>&1 &
applier=$!
for _ in $(seq 1 100); do
  [ -n "$(q -c "SELECT 1 FROM pg_stat_activity WHERE query LIKE '%stage_apply%' AND wait_event = 'PgSleep'")" ] && break
  sleep 0.1
done
psql -X -q -d $db -c "DROP EXTENSION schema_guard" >"$tmp/drop.log" 2>&1 &
dropper=$!
waiting 'DROP EXTENSION%'
ok $? "DROP EXTENSION waits for an apply in progress"
wait $applier
wait $dropper
[ "$(cat "$tmp/apply.log")" = "2 1" ] && [ "$(q -c "SELECT string_agg(code, ',' ORDER BY code) FROM sale")" = "b,held" ]
ok $? "the apply commits whole (2 inserted, 1 rejected) before the drop" || sed 's/^/# /' "$tmp/apply.log"
[ "$(q -c "SELECT count(*) FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = 'schema_guard'")" = 0 ]
ok $? "then the extension's tables are gone together"

# 3. A drop in progress: staging and applying wait, then fail cleanly.
setup
q -c "DROP TRIGGER IF EXISTS hold ON sale" >/dev/null
batch=$(q -c "SELECT schema_guard.stage_open('sale', ARRAY['code'])")
q -c "SELECT schema_guard.stage_rows($batch, '[{\"code\": \"c\", \"amount\": 1}]')" >/dev/null
{ echo "BEGIN;"
  echo "DROP EXTENSION schema_guard;"
  echo "SELECT pg_sleep(2);"
  echo "COMMIT;"; } | psql -X -q -d $db >"$tmp/drop.log" 2>&1 &
dropper=$!
sleep 0.5
psql -X -q -d $db -c "SELECT * FROM schema_guard.stage_apply($batch)" >"$tmp/apply.log" 2>&1 &
applier=$!
psql -X -q -d $db -c "INSERT INTO schema_guard.staged_row (batch_id, payload) VALUES ($batch, '{}')" >"$tmp/stage.log" 2>&1 &
stager=$!
waiting '%stage_apply%'
ok $? "an apply waits for a DROP EXTENSION in progress"
wait $dropper
wait $applier
wait $stager
grep -qE 'ERROR:  (function|relation|schema) "?schema_guard' "$tmp/apply.log" && grep -q 'ERROR:' "$tmp/stage.log" \
  && ! grep -qiE 'internal|XX000|server closed' "$tmp/apply.log" "$tmp/stage.log"
ok $? "after the drop, the apply and the staging fail with a clean error" || sed 's/^/# /' "$tmp/apply.log" "$tmp/stage.log"
[ "$(q -c "SELECT count(*) FROM sale")" = 0 ]
ok $? "the target was not written"

exit $((fails > 0))
