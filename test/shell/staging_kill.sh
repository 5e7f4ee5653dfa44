#!/usr/bin/env bash
# A backend killed (pg_terminate_backend) in the middle of stage_apply
# leaves the target untouched, quarantines nothing, keeps the batch open,
# and the batch applies afterwards with the right counts. A trigger on the
# target holds the apply in the middle of its merge while it is killed.
# Runs against the cluster in PGHOST/PGPORT, in the database SG_TEST_DB
# (scripts/test); prints TAP.
set -u
n=0
fails=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; }
db=${SG_TEST_DB:-sg_tap}
q() { psql -X -q -t -A -v ON_ERROR_STOP=1 -d "$db" "$@"; }
log=$(mktemp /tmp/sg_kill.XXXXXX)
cleanup() {
  rm -f "$log"
  q -c "DROP TABLE IF EXISTS sg_kill_sale" >/dev/null 2>&1
  q -c "DROP FUNCTION IF EXISTS sg_kill_hold()" >/dev/null 2>&1
}
trap cleanup EXIT
cleanup

echo "1..8"
q >/dev/null <<'SQL'
CREATE TABLE sg_kill_sale (external_id uuid PRIMARY KEY, amount numeric(10, 2) NOT NULL, note text);
INSERT INTO sg_kill_sale
  SELECT ('00000000-0000-0000-0000-' || lpad(i::text, 12, '0'))::uuid, i, 'stored' FROM generate_series(1, 1000) i;
-- Holds the merge when it reaches the new row ...9999.
CREATE FUNCTION sg_kill_hold() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.external_id = '00000000-0000-0000-0000-000000009999' THEN
    PERFORM pg_sleep(60);
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER sg_kill_hold BEFORE INSERT ON sg_kill_sale FOR EACH ROW EXECUTE FUNCTION sg_kill_hold();
SQL
before=$(q -c "SELECT count(*) || ':' || md5(string_agg(s::text || s.xmin, ',' ORDER BY external_id)) FROM sg_kill_sale s")
batch=$(q -c "SELECT schema_guard.stage_open('sg_kill_sale', ARRAY['external_id'], 'kill test')")
q -c "SELECT schema_guard.stage_rows($batch, (SELECT jsonb_agg(jsonb_build_object('external_id', ('00000000-0000-0000-0000-' || lpad(i::text, 12, '0')), 'amount', i + 1, 'note', 'synced')) FROM generate_series(500, 1500) i) || '[{\"external_id\": \"00000000-0000-0000-0000-000000009999\", \"amount\": 1, \"note\": \"held\"}, {\"external_id\": \"00000000-0000-0000-0000-000000000001\", \"amount\": \"bad\"}]'::jsonb)" >/dev/null
[ "$(q -c "SELECT count(*) FROM schema_guard.staged_row WHERE batch_id = $batch")" = 1003 ]
ok $? "batch $batch has 1003 staged rows"

psql -X -q -d "$db" -c "SELECT * FROM schema_guard.stage_apply($batch)" >"$log" 2>&1 &
apply_client=$!
pid=""
for _ in $(seq 1 200); do
  pid=$(q -c "SELECT pid FROM pg_stat_activity WHERE query LIKE '%stage_apply($batch)%' AND wait_event = 'PgSleep' AND pid <> pg_backend_pid()")
  [ -n "$pid" ] && break
  sleep 0.1
done
[ -n "$pid" ]
ok $? "the apply is held in the middle of its merge (backend $pid)"
[ "$(q -c "SELECT pg_terminate_backend($pid)")" = t ]
ok $? "pg_terminate_backend kills it"
wait "$apply_client"
grep -q "terminating connection due to administrator command" "$log"
ok $? "the client sees the backend terminated"

[ "$(q -c "SELECT count(*) || ':' || md5(string_agg(s::text || s.xmin, ',' ORDER BY external_id)) FROM sg_kill_sale s")" = "$before" ]
ok $? "the target is untouched: same rows, same values, same xmin"
[ "$(q -c "SELECT status || ':' || coalesce(inserted::text, '-') || ':' || (SELECT count(*) FROM schema_guard.stage_rejected WHERE batch_id = $batch) FROM schema_guard.stage_batches WHERE batch_id = $batch")" = "open:-:0" ]
ok $? "the batch is still open, without counts, and nothing was quarantined"

q -c "DROP TRIGGER sg_kill_hold ON sg_kill_sale" >/dev/null
[ "$(q -c "SELECT format('%s %s %s %s', inserted, updated, unchanged, rejected) FROM schema_guard.stage_apply($batch)")" = "501 501 0 1" ]
ok $? "the batch applies afterwards: 501 inserted, 501 updated, 1 rejected"
[ "$(q -c "SELECT count(*) || ' ' || count(*) FILTER (WHERE note = 'synced') FROM sg_kill_sale")" = "1501 1001" ]
ok $? "the target holds exactly the merged rows"

exit $((fails > 0))
