-- Staging under concurrency, over dblink sessions to this database: two
-- applies to one target serialise and end with exactly the right rows; a
-- concurrent writer of a key neither duplicates nor loses it; one batch
-- applied by two sessions at once is applied once; staging into a batch and
-- applying it serialise, so every row staged is applied or refused with an
-- error; the target dropped while a batch is staged or applied. This file's
-- transaction only reads, so it holds no lock the sessions need; the target
-- is a committed table the sessions create and drop.
BEGIN;
SET client_min_messages = warning;
SELECT plan(31);

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
-- The error a sent query ended with ('' if none), its results consumed.
CREATE FUNCTION pg_temp.failure(name text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
  PERFORM * FROM dblink_get_result(name, false) AS t(v text);
  r := dblink_error_message(name);
  PERFORM * FROM dblink_get_result(name, false) AS t(v text);
  RETURN CASE WHEN r = 'OK' THEN '' ELSE r END;
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

------------------------------------------------------------------------
-- Staging into a batch while it is applied
------------------------------------------------------------------------

-- Rows staged first, committed while the apply waits: applied.
SELECT pg_temp.open('a', '[{"code": "r1", "amount": 1, "source": "race"}]') AS batch_f \gset
SELECT pg_temp.run('a', 'BEGIN');
SELECT pg_temp.run('a', format($$INSERT INTO schema_guard.staged_row (batch_id, payload) VALUES (%s, '{"code": "r2", "amount": 2, "source": "race"}')$$, :'batch_f'));
SELECT pg_temp.send_apply('b', :'batch_f');
SELECT ok(pg_temp.blocked(:pid_b), 'an apply waits for a transaction staging rows into its batch');
SELECT pg_temp.run('a', 'COMMIT');
SELECT is(pg_temp.result('b'), '2 inserted, 0 updated, 0 unchanged',
  'once the staging commits, the apply applies its rows too');

-- The apply first: staging into the batch waits, then is refused.
SELECT pg_temp.pid('a') AS pid_a \gset
SELECT pg_temp.open('b', '[{"code": "r3", "amount": 3, "source": "race"}]') AS batch_g \gset
SELECT pg_temp.run('b', 'BEGIN');
SELECT is(pg_temp.val('b', format('SELECT inserted::text FROM schema_guard.stage_apply(%s)', :batch_g)), '1',
  'session b applies a batch and keeps its transaction open');
SELECT NULL::void FROM dblink_send_query('a', format(
  $$INSERT INTO schema_guard.staged_row (batch_id, payload) VALUES (%s, '{"code": "r4", "amount": 4}')$$, :'batch_g'));
SELECT ok(pg_temp.blocked(:pid_a), 'staging into a batch being applied waits');
SELECT pg_temp.run('b', 'COMMIT');
SELECT ok(pg_temp.failure('a') LIKE '%batch ' || :'batch_g' || ' is already applied%',
  'then the staging statement fails with "batch is already applied": the row is refused, not lost');
SELECT is((SELECT v FROM dblink('setup', format('SELECT count(*)::text FROM schema_guard.staged_row WHERE batch_id = %s', :'batch_g')) AS t(v text)),
  '1', 'the refused row is not in the batch');

-- In one statement: staged, then applied in the same snapshot of work.
SELECT pg_temp.val('a', $q$SELECT schema_guard.stage_open('sg_conc_sale', ARRAY['code'], 'one statement')::text$q$) AS batch_h \gset
SELECT is(pg_temp.val('a', format($$SELECT s::text || ' staged, ' || (SELECT inserted FROM schema_guard.stage_apply(%1$s)) || ' inserted' FROM schema_guard.stage_rows(%1$s, '[{"code": "r5", "amount": 5}]') s$$, :batch_h)),
  '1 staged, 1 inserted', 'rows staged earlier in the statement that applies the batch are applied');
SELECT pg_temp.val('a', $q$SELECT schema_guard.stage_open('sg_conc_sale', ARRAY['code'], 'one statement')::text$q$) AS batch_i \gset
SELECT NULL::void FROM dblink_send_query('a', format(
  $$SELECT (SELECT inserted FROM schema_guard.stage_apply(%1$s)), schema_guard.stage_rows(%1$s, '[{"code": "r6", "amount": 6}]')$$, :batch_i));
SELECT ok(pg_temp.failure('a') LIKE '%is already applied%',
  'rows staged later in the statement that applied the batch are refused with an error');
SELECT is((SELECT v FROM dblink('setup', $$SELECT count(*)::text FROM sg_conc_sale WHERE code IN ('r5', 'r6')$$) AS t(v text)),
  '1', 'every row staged is in the target or was refused');

-- REPEATABLE READ: a row staged after the apply's snapshot fails the apply.
SELECT pg_temp.open('a', '[{"code": "r7", "amount": 7}]') AS batch_j \gset
SELECT pg_temp.run('b', 'BEGIN ISOLATION LEVEL REPEATABLE READ');
SELECT NULL::void FROM pg_temp.val('b', 'SELECT 1::text');
SELECT pg_temp.run('a', format($$INSERT INTO schema_guard.staged_row (batch_id, payload) VALUES (%s, '{"code": "r8", "amount": 8}')$$, :'batch_j'));
SELECT NULL::void FROM dblink_send_query('b', format('SELECT inserted FROM schema_guard.stage_apply(%s)', :'batch_j'));
SELECT ok(pg_temp.failure('b') LIKE '%could not serialize access%',
  'under REPEATABLE READ, an apply whose snapshot misses staged rows fails with a serialization error');
SELECT pg_temp.run('b', 'ROLLBACK');
SELECT is(pg_temp.val('b', format('SELECT inserted::text FROM schema_guard.stage_apply(%s)', :'batch_j')), '2',
  'retried, it applies both rows');

------------------------------------------------------------------------
-- The target dropped
------------------------------------------------------------------------

SELECT pg_temp.pid('setup') AS pid_setup \gset
SELECT pg_temp.open('a', '[{"code": "d1", "amount": 1}]') AS batch_k \gset
SELECT pg_temp.run('a', 'BEGIN');
SELECT is(pg_temp.val('a', format('SELECT inserted::text FROM schema_guard.stage_apply(%s)', :batch_k)), '1',
  'session a applies a batch and keeps its transaction open');
SELECT NULL::void FROM dblink_send_query('setup', 'DROP TABLE sg_conc_sale');
SELECT ok(pg_temp.blocked(:pid_setup), 'DROP TABLE of the target waits for the apply');
SELECT pg_temp.run('a', 'COMMIT');
SELECT is(pg_temp.failure('setup'), '', 'and then drops it');
SELECT is((SELECT v FROM dblink('a', format('SELECT status FROM schema_guard.stage_batches WHERE batch_id = %s', :batch_k)) AS t(v text)),
  'applied', 'the batch applied before the drop stays applied');

SELECT pg_temp.run('setup', 'CREATE TABLE sg_conc_sale (code text PRIMARY KEY, amount integer NOT NULL, source text)');
SELECT pg_temp.open('a', '[{"code": "d2", "amount": 2}]') AS batch_l \gset
SELECT pg_temp.run('setup', 'DROP TABLE sg_conc_sale');
SELECT NULL::void FROM dblink_send_query('a', format('SELECT inserted FROM schema_guard.stage_apply(%s)', :batch_l));
SELECT ok(pg_temp.failure('a') LIKE '%relation with OID % does not exist%',
  'applying a batch whose target was dropped fails cleanly: the table does not exist');
SELECT is((SELECT v FROM dblink('setup', format('SELECT status || '' '' || (SELECT count(*) FROM schema_guard.staged_row WHERE batch_id = %1$s) FROM schema_guard.stage_batches WHERE batch_id = %1$s', :batch_l)) AS t(v text)),
  'open 1', 'the batch stays open with its staged row');

SELECT FROM dblink_disconnect('a') a, dblink_disconnect('b') b, dblink_disconnect('setup') s;
SELECT * FROM finish();
ROLLBACK;
