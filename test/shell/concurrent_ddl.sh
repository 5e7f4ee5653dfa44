#!/usr/bin/env bash
# The schema check under concurrent DDL: while a second session loops
# CREATE / ALTER / DROP TABLE (with views, a materialized view, a partitioned
# table, indexes, CHECK and foreign-key constraints, defaults, triggers and
# policies), 1,000 calls of check(), snapshot(), schema_check(),
# fix_script() and check_json() run against the same schema. None may fail:
# a relation dropped while it is being read is simply not there. No call may
# crash the server, and no snapshot may hold a half-read relation (a churned
# table without its columns or its key, a view without its definition).
# Runs against the cluster in PGHOST/PGPORT (scripts/test) in a database of
# its own; prints TAP.
set -u
n=0
fails=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fails=$((fails + 1)); fi; }
db=sg_concurrent
calls=${SG_CONCURRENT_CALLS:-1000}
q() { psql -X -q -t -A -v ON_ERROR_STOP=1 -d "$db" "$@"; }
tmp=$(mktemp -d /tmp/sg_concurrent.XXXXXX)
churn_pid=""
cleanup() {
  if [ -n "$churn_pid" ]; then kill "$churn_pid" 2>/dev/null; wait "$churn_pid" 2>/dev/null; fi
  rm -rf "$tmp"
  dropdb --if-exists --force $db >/dev/null 2>&1
}
trap cleanup EXIT
dropdb --if-exists --force $db >/dev/null 2>&1

echo "1..6"
createdb $db
q >/dev/null <<'SQL'
CREATE EXTENSION schema_guard;
CREATE SCHEMA cc;
CREATE TABLE cc.base (id integer PRIMARY KEY, name text NOT NULL DEFAULT 'b');
INSERT INTO cc.base SELECT i, 'n' || i FROM generate_series(1, 10) i;
CREATE FUNCTION cc.touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
SELECT schema_guard.baseline('before the churn');
CREATE TABLE public.cc_snapshots (n serial, manifest jsonb);

-- One committed transaction per step, looping until the deadline: each
-- step creates, alters or drops one of eight table groups.
CREATE PROCEDURE public.cc_churn(seconds integer) LANGUAGE plpgsql AS $$
DECLARE
  deadline timestamptz := clock_timestamp() + make_interval(secs => seconds);
  i integer := 0;
  k integer;
BEGIN
  WHILE clock_timestamp() < deadline LOOP
    k := i % 8;
    CASE (i / 8) % 3
    WHEN 0 THEN
      EXECUTE format($f$
        CREATE TABLE cc.t_%1$s (
          id integer PRIMARY KEY,
          a integer NOT NULL DEFAULT 1 CHECK (a > 0),
          b text DEFAULT 'x' || 'y',
          c timestamptz DEFAULT now(),
          ref integer REFERENCES cc.base (id) ON DELETE CASCADE,
          g integer GENERATED ALWAYS AS (a * 2) STORED,
          CONSTRAINT t_%1$s_b_check CHECK (b <> ''));
        CREATE INDEX t_%1$s_lower_b ON cc.t_%1$s (lower(b)) WHERE a > 1;
        CREATE UNIQUE INDEX t_%1$s_a_ref ON cc.t_%1$s (a, ref);
        CREATE VIEW cc.v_%1$s AS SELECT id, a, b FROM cc.t_%1$s WHERE a > 0;
        CREATE VIEW cc.w_%1$s AS SELECT id, upper(b) AS ub FROM cc.v_%1$s;
        CREATE MATERIALIZED VIEW cc.m_%1$s AS SELECT a, count(*) AS n FROM cc.t_%1$s GROUP BY a;
        CREATE INDEX m_%1$s_a ON cc.m_%1$s (a);
        CREATE TABLE cc.p_%1$s (d date NOT NULL, v integer DEFAULT 0 CHECK (v >= 0)) PARTITION BY RANGE (d);
        CREATE TABLE cc.p_%1$s_2020 PARTITION OF cc.p_%1$s FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
        CREATE INDEX p_%1$s_d ON cc.p_%1$s (d);
        CREATE TRIGGER t_%1$s_touch BEFORE UPDATE ON cc.t_%1$s FOR EACH ROW EXECUTE FUNCTION cc.touch();
        ALTER TABLE cc.t_%1$s ENABLE ROW LEVEL SECURITY;
        CREATE POLICY t_%1$s_own ON cc.t_%1$s USING (a > 0);
        COMMENT ON TABLE cc.t_%1$s IS 'churned';
      $f$, k);
    WHEN 1 THEN
      EXECUTE format($f$
        ALTER TABLE cc.t_%1$s ADD COLUMN e integer DEFAULT 5, ADD CONSTRAINT t_%1$s_e_check CHECK (e < 100);
        ALTER TABLE cc.t_%1$s ALTER COLUMN a SET DEFAULT 2;
        CREATE OR REPLACE VIEW cc.v_%1$s AS SELECT id, a, b, e FROM cc.t_%1$s WHERE a > 1;
        DROP INDEX cc.t_%1$s_lower_b;
        CREATE INDEX t_%1$s_lower_b ON cc.t_%1$s (lower(b), e) WHERE e > 1;
        ALTER TABLE cc.t_%1$s DROP CONSTRAINT t_%1$s_b_check;
      $f$, k);
    ELSE
      EXECUTE format('DROP TABLE cc.t_%1$s, cc.p_%1$s CASCADE', k);
    END CASE;
    -- Django's content types, which name the apps, come and go too.
    IF i % 16 = 5 THEN
      CREATE TABLE cc.django_content_type (id integer PRIMARY KEY, app_label text NOT NULL);
      INSERT INTO cc.django_content_type VALUES (1, 't'), (2, 'p');
    ELSIF i % 16 = 13 THEN
      DROP TABLE cc.django_content_type;
    END IF;
    COMMIT;
    i := i + 1;
  END LOOP;
END
$$;
SQL
ok $? "the schema and the churn procedure are set up"

started=$(q -c "SELECT pg_postmaster_start_time()")
PGOPTIONS="-c schema_guard.audit=off" psql -X -q -d $db -c "CALL public.cc_churn(3600)" >"$tmp/churn.log" 2>&1 &
churn_pid=$!
sleep 1

# The calls, in a few sessions one after the other; every error is printed
# with its SQLSTATE (VERBOSITY verbose) and the session goes on.
{
  echo '\set VERBOSITY verbose'
  for i in $(seq 1 "$calls"); do
    case $((i % 5)) in
      0) echo "SELECT count(*) FROM schema_guard.check();" ;;
      1) echo "INSERT INTO public.cc_snapshots (manifest) SELECT schema_guard.snapshot(ARRAY['cc']);" ;;
      2) echo "SELECT length(schema_check()) > 0;" ;;
      3) echo "SELECT length(schema_guard.fix_script(NULL, true, true)) > 0;" ;;
      4) echo "SELECT jsonb_typeof(schema_guard.check_json());" ;;
    esac
  done
} >"$tmp/calls.sql"
psql -X -q -t -A -d $db -f "$tmp/calls.sql" >"$tmp/calls.out" 2>"$tmp/calls.err"
psql_rc=$?

churn_alive=0
kill -0 "$churn_pid" 2>/dev/null || churn_alive=1
ok $churn_alive "the churn session was still running at the end (it loops DDL throughout)"
kill "$churn_pid" 2>/dev/null
wait "$churn_pid" 2>/dev/null
churn_pid=""

internal=$(grep -c 'ERROR:  XX000' "$tmp/calls.err")
errors=$(grep -c 'ERROR:' "$tmp/calls.err")
if [ "$internal" != 0 ] || [ "$errors" != 0 ]; then
  grep 'ERROR:' "$tmp/calls.err" | sort | uniq -c | sort -rn | head -10 | sed 's/^/# /'
fi
[ "$internal" = 0 ]
ok $? "no internal error (XX000) in $calls calls ($internal)"
answers=$(( $(wc -l <"$tmp/calls.out") + $(q -c "SELECT count(*) FROM public.cc_snapshots" 2>/dev/null || echo 0) ))
[ "$errors" = 0 ] && [ "$answers" = "$calls" ]
ok $? "no error at all in $calls calls ($errors), each answered ($answers)"

[ "$psql_rc" = 0 ] && [ "$(q -c "SELECT pg_postmaster_start_time()")" = "$started" ] \
  && ! grep -q 'server closed the connection' "$tmp/calls.err"
ok $? "no crash: every call returned and the server never restarted"

# Every churned table in a snapshot is whole: its columns, its key, its
# CHECK; every view has its definition and columns.
half=$(q <<'SQL'
SELECT count(*) FROM public.cc_snapshots s,
       jsonb_array_elements(s.manifest -> 'tables') t
WHERE (t ->> 'name' ~ '^t_[0-9]$'
       AND (jsonb_array_length(t -> 'columns') < 6 OR t -> 'primary_key' IS NULL
            OR jsonb_array_length(coalesce(t -> 'checks', '[]')) < 1
            OR jsonb_array_length(coalesce(t -> 'indexes', '[]')) < 2))
   OR (t ->> 'kind' IN ('view', 'materialized view')
       AND (coalesce(t ->> 'view', '') = '' OR jsonb_array_length(t -> 'columns') = 0))
   OR (t ->> 'name' ~ '^p_[0-9]_2020$' AND coalesce(t ->> 'partition_bound', '') = '')
SQL
)
total=$(q -c "SELECT count(*) FROM public.cc_snapshots s, jsonb_array_elements(s.manifest -> 'tables') t WHERE t ->> 'name' <> 'base'")
[ "$half" = 0 ] && [ "${total:-0}" -gt 0 ]
ok $? "no half-read relation in $(q -c 'SELECT count(*) FROM public.cc_snapshots') snapshots ($half of $total churned relations)"

exit $((fails > 0))
