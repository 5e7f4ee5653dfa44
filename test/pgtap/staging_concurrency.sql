-- Staging under concurrency, over dblink sessions to this database: two
-- applies to one target serialise and end with exactly the right rows; a
-- concurrent writer of a key neither duplicates nor loses it; one batch
-- applied by two sessions at once is applied once. This file's transaction
-- only reads, so it holds no lock the sessions need; the target is a
-- committed table the sessions create and drop.
BEGIN;
SET client_min_messages = warning;
SELECT plan(14);

CREATE FUNCTION pg_temp.conn(name text) RETURNS void
LANGUAGE sql AS $$
  SELECT NULL::void FROM dblink_connect(name, format('dbname=%s host=%s port=%s user=postgres',
    current_database(), current_setting('unix_socket_directories'), current_setting('port')))
$$;
CREATE FUNCTION pg_temp.run(name text, sql text) RETURNS void
LANGUAGE sql AS $$ SELECT NULL::void FROM dblink_exec(name, sql) $$;
CREATE FUNCTION pg_temp.val(name text, sql text) RETURNS text
LANGUAGE sql AS $$ SELECT v FROM dblink(name, sql) AS t(v text) $$;
CREATE FUNCTION pg_temp.pid(name text) RETURNS integer
LANGUAGE sql AS $$ SELECT p FROM dblink(name, 'SELECT pg_backend_pid()') AS t(p integer) $$;
-- Sends an apply without waiting for it.
CREATE FUNCTION pg_temp.send_apply(name text, batch text) RETURNS void
LANGUAGE sql AS $$
  SELECT NULL::void FROM dblink_send_query(name, format(
    'SELECT format(''%%s inserted, %%s updated, %%s unchanged'', inserted, updated, unchanged) FROM schema_guard.stage_apply(%s)', batch))
$$;
CREATE FUNCTION pg_temp.result(name text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
  SELECT v INTO r FROM dblink_get_result(name) AS t(v text);
  PERFORM * FROM dblink_get_result(name) AS t(v text);  -- the end of the results
  RETURN r;
END $$;
-- Waits (up to 20 s) until the backend waits for a lock.
CREATE FUNCTION pg_temp.blocked(backend integer) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..200 LOOP
    PERFORM pg_stat_clear_snapshot();
    IF EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = backend AND wait_event_type = 'Lock') THEN
      RETURN true;
    END IF;
    PERFORM pg_sleep(0.1);
  END LOOP;
  RETURN false;
END $$;
CREATE FUNCTION pg_temp.open(name text, rows text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE b text;
BEGIN
  b := pg_temp.val(name, $q$SELECT schema_guard.stage_open('sg_conc_sale', ARRAY['code'], 'concurrency')::text$q$);
  PERFORM pg_temp.val(name, format('SELECT schema_guard.stage_rows(%s, %L)::text', b, rows));
  RETURN b;
END $$;

SELECT pg_temp.conn('setup');
SELECT pg_temp.run('setup', 'DROP TABLE IF EXISTS sg_conc_sale');
SELECT pg_temp.run('setup', 'CREATE TABLE sg_conc_sale (code text PRIMARY KEY, amount integer NOT NULL, source text)');
SELECT pg_temp.conn('a');
SELECT pg_temp.conn('b');
SELECT pg_temp.pid('b') AS pid_b \gset

------------------------------------------------------------------------
-- Two applies to one target
------------------------------------------------------------------------

SELECT pg_temp.open('a', '[{"code": "k1", "amount": 1, "source": "a"}, {"code": "k2", "amount": 1, "source": "a"},
                           {"code": "k3", "amount": 1, "source": "a"}]') AS batch_a \gset
SELECT pg_temp.open('b', '[{"code": "k2", "amount": 2, "source": "b"}, {"code": "k3", "amount": 2, "source": "b"},
                           {"code": "k4", "amount": 2, "source": "b"}]') AS batch_b \gset
SELECT pg_temp.run('a', 'BEGIN');
SELECT is(pg_temp.val('a', format('SELECT inserted::text FROM schema_guard.stage_apply(%s)', :batch_a)), '3',
  'session a applies its batch and keeps its transaction open');
SELECT pg_temp.send_apply('b', :'batch_b');
SELECT ok(pg_temp.blocked(:pid_b), 'session b''s apply to the same target waits');
SELECT ok(EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted),
  'it waits on the target''s advisory lock');
SELECT pg_temp.run('a', 'COMMIT');
SELECT is(pg_temp.result('b'), '1 inserted, 2 updated, 0 unchanged',
  'once a commits, b sees a''s rows and updates them');
SELECT results_eq(
  $$SELECT * FROM dblink('setup', 'SELECT code, amount, source FROM sg_conc_sale ORDER BY code') AS t(code text, amount integer, source text)$$,
  $$VALUES ('k1', 1, 'a'), ('k2', 2, 'b'), ('k3', 2, 'b'), ('k4', 2, 'b')$$,
  'the target ends with exactly one row per key, the later apply winning');

------------------------------------------------------------------------
-- A concurrent writer of a staged key
------------------------------------------------------------------------

SELECT pg_temp.open('b', '[{"code": "k5", "amount": 3, "source": "sync"}, {"code": "k6", "amount": 3, "source": "sync"}]') AS batch_c \gset
SELECT pg_temp.run('a', 'BEGIN');
SELECT pg_temp.run('a', $$INSERT INTO sg_conc_sale VALUES ('k5', 9, 'writer')$$);
SELECT pg_temp.send_apply('b', :'batch_c');
SELECT ok(pg_temp.blocked(:pid_b), 'an apply waits for a writer that inserted one of its keys');
SELECT pg_temp.run('a', 'COMMIT');
SELECT is(pg_temp.result('b'), '1 inserted, 1 updated, 0 unchanged',
  'after the writer commits, the apply updates its row instead of failing or duplicating it');
SELECT results_eq(
  $$SELECT * FROM dblink('setup', 'SELECT code, amount, source FROM sg_conc_sale WHERE code IN (''k5'', ''k6'') ORDER BY code') AS t(code text, amount integer, source text)$$,
  $$VALUES ('k5', 3, 'sync'), ('k6', 3, 'sync')$$, 'one row per key, with the staged values');

SELECT pg_temp.open('b', '[{"code": "k7", "amount": 4, "source": "sync"}]') AS batch_d \gset
SELECT pg_temp.run('a', 'BEGIN');
SELECT pg_temp.run('a', $$INSERT INTO sg_conc_sale VALUES ('k7', 9, 'writer')$$);
SELECT pg_temp.send_apply('b', :'batch_d');
SELECT ok(pg_temp.blocked(:pid_b), 'an apply waits for a writer that may roll back');
SELECT pg_temp.run('a', 'ROLLBACK');
SELECT is(pg_temp.result('b'), '1 inserted, 0 updated, 0 unchanged',
  'after the writer rolls back, the apply inserts the row: nothing is lost');

------------------------------------------------------------------------
-- One batch, two sessions
------------------------------------------------------------------------

SELECT pg_temp.open('a', '[{"code": "k8", "amount": 5, "source": "twice"}]') AS batch_e \gset
SELECT pg_temp.run('a', 'BEGIN');
SELECT is(pg_temp.val('a', format('SELECT inserted::text FROM schema_guard.stage_apply(%s)', :batch_e)), '1',
  'session a applies a batch');
SELECT pg_temp.send_apply('b', :'batch_e');
SELECT ok(pg_temp.blocked(:pid_b), 'session b applying the same batch waits');
SELECT pg_temp.run('a', 'COMMIT');
SELECT is(pg_temp.result('b'), '0 inserted, 0 updated, 0 unchanged',
  'and then finds it applied: zeros');
SELECT is(
  (SELECT v FROM dblink('setup', format('SELECT status || '' '' || inserted FROM schema_guard.stage_batches WHERE batch_id = %s', :'batch_e')) AS t(v text)),
  'applied 1', 'the batch log keeps the one apply''s counts');

SELECT pg_temp.run('setup', 'DROP TABLE sg_conc_sale');
SELECT FROM dblink_disconnect('a') a, dblink_disconnect('b') b, dblink_disconnect('setup') s;
SELECT * FROM finish();
ROLLBACK;
