-- The DDL guard: warn and block modes on a table with real rows, the
-- thresholds, the escape hatch (SET LOCAL schema_guard.guard = off) and its
-- record in schema_guard.guard_event, a rewrite only table_rewrite sees,
-- ignore comments, and what the guard leaves alone. The guarded DDL runs
-- over dblink in a database of its own: the guard treats tables created by
-- the current transaction as new (no other session can see them), so the
-- table must be committed before the DDL runs.
BEGIN;
SET client_min_messages = warning;
SELECT plan(17);

CREATE FUNCTION pg_temp.connstr(db text) RETURNS text LANGUAGE sql AS $$
  SELECT format('dbname=%s host=%s port=%s user=postgres', db,
                current_setting('unix_socket_directories'), current_setting('port'))
$$;
SELECT NULL::void FROM dblink_connect('guard_admin', pg_temp.connstr(current_database()));
SELECT NULL::void FROM dblink_exec('guard_admin', 'DROP DATABASE IF EXISTS sg_tap_guard WITH (FORCE)');
SELECT NULL::void FROM dblink_exec('guard_admin', 'CREATE DATABASE sg_tap_guard');
SELECT NULL::void FROM dblink_connect('g', pg_temp.connstr('sg_tap_guard'));
SELECT NULL::void FROM dblink_exec('g', 'CREATE EXTENSION schema_guard');
SELECT NULL::void FROM dblink_exec('g', $$
  CREATE TABLE orders (id bigint PRIMARY KEY, n integer, code varchar(20));
  INSERT INTO orders SELECT g, g, 'c' || g FROM generate_series(1, 30000) g;
  CREATE TABLE tiny (id bigint PRIMARY KEY, n integer);
  INSERT INTO tiny VALUES (1, 1);
  ANALYZE orders, tiny$$);
SELECT NULL::void FROM dblink_exec('g', 'SET schema_guard.guard_min_rows = 10000');

CREATE FUNCTION pg_temp.events() RETURNS text LANGUAGE sql AS $$
  SELECT coalesce(string_agg(action || ' ' || rule, ', ' ORDER BY event_id), '')
  FROM dblink('g', 'SELECT event_id, action, rule FROM schema_guard.guard_event')
    AS e(event_id bigint, action text, rule text)
$$;
CREATE FUNCTION pg_temp.forget() RETURNS void LANGUAGE sql AS $$
  SELECT NULL::void FROM dblink_exec('g', 'DELETE FROM schema_guard.guard_event')
$$;

-- warn (the default): the statement runs; what was flagged is recorded.
SELECT is((SELECT s FROM dblink('g', 'SHOW schema_guard.guard') AS t(s text)), 'warn',
  'warn is the default');
SELECT lives_ok($$SELECT dblink_exec('g', 'CREATE INDEX orders_n ON orders (n)')$$,
  'warn: CREATE INDEX on 30,000 rows runs');
SELECT is(pg_temp.events(),
  'warned require-concurrent-index-creation, warned require-lock-timeout',
  'warn: the statement is recorded with its rules');
SELECT is((SELECT format('%s %s %s', object, lock, table_rows)
           FROM dblink('g', 'SELECT object, lock, table_rows FROM schema_guard.guard_event ORDER BY event_id LIMIT 1')
             AS e(object text, lock text, table_rows bigint)),
  'orders_n SHARE 30000', 'with the object, the lock and the live row count');
SELECT pg_temp.forget();
SELECT NULL::void FROM dblink_exec('g', 'CREATE INDEX tiny_n ON tiny (n)');
SELECT is(pg_temp.events(), '', 'a table below the thresholds is left alone');
SELECT NULL::void FROM dblink_exec('g', 'CREATE TEMP TABLE scratch AS SELECT * FROM orders');
SELECT NULL::void FROM dblink_exec('g', 'CREATE INDEX ON scratch (n)');
SELECT is(pg_temp.events(), '', 'so is a temporary table');

-- block: an ERROR with SQLSTATE 55000, nothing runs, nothing is recorded.
SELECT NULL::void FROM dblink_exec('g', 'SET schema_guard.guard = block');
SELECT throws_ok($$SELECT dblink_exec('g', 'CREATE INDEX orders_code ON orders (code)')$$,
  '55000',
  'creating index "orders_code" without CONCURRENTLY blocks writes to table "public.orders" while the index is built',
  'block: CREATE INDEX on a large table fails');
SELECT is((SELECT count(*) FROM dblink('g', $$SELECT 1 FROM pg_class WHERE relname = 'orders_code'$$) AS t(x int)),
  0::bigint, 'and the index was not built');
SELECT throws_ok($$SELECT dblink_exec('g', 'ALTER TABLE orders ALTER COLUMN n TYPE bigint')$$,
  '55000', NULL, 'block: a rewriting type change fails');
SELECT lives_ok($$SELECT dblink_exec('g', 'SET lock_timeout = ''5s''; ALTER TABLE orders ALTER COLUMN code TYPE text')$$,
  'block: a binary-compatible type change with a lock_timeout runs');
SELECT throws_ok($$SELECT dblink_exec('g', 'ALTER TABLE orders SET UNLOGGED')$$,
  '55000', 'ALTER TABLE rewrites table "public.orders" under an ACCESS EXCLUSIVE lock',
  'block: a rewrite only table_rewrite sees (SET UNLOGGED) fails there');
SELECT lives_ok($$SELECT dblink_exec('g',
    'CREATE INDEX /* schema_guard:ignore require-concurrent-index-creation */ orders_code ON orders (code)')$$,
  'an ignore comment in the statement lets it through');
SELECT is(pg_temp.events(), '', 'blocked statements leave no row (their transaction rolled back)');

-- The escape hatch: SET LOCAL schema_guard.guard = off, recorded.
SELECT lives_ok($$SELECT dblink_exec('g',
    'BEGIN; SET LOCAL schema_guard.guard = off; SET LOCAL schema_guard.migration = ''shop.0007_big_index''; '
    'CREATE INDEX orders_n_code ON orders (n, code); COMMIT')$$,
  'SET LOCAL schema_guard.guard = off lets the statement run');
SELECT is((SELECT string_agg(format('%s %s %s', action, rule, migration), ', ' ORDER BY event_id)
           FROM dblink('g', 'SELECT event_id, action, rule, migration FROM schema_guard.guard_event')
             AS e(event_id bigint, action text, rule text, migration text)),
  'overridden require-concurrent-index-creation shop.0007_big_index',
  'the override is recorded with its rule and migration');
SELECT pg_temp.forget();

-- Off where the database says so: nothing is checked or recorded.
SELECT NULL::void FROM dblink_exec('guard_admin', 'ALTER DATABASE sg_tap_guard SET schema_guard.guard = off');
SELECT NULL::void FROM dblink_connect('g_off', pg_temp.connstr('sg_tap_guard'));
SELECT NULL::void FROM dblink_exec('g_off', 'SET schema_guard.guard_min_rows = 10000');
SELECT NULL::void FROM dblink_exec('g_off', 'CREATE INDEX orders_n2 ON orders (n)');
SELECT is(pg_temp.events(), '', 'guard = off by default: no override is recorded');
SELECT is((SELECT count(*) FROM dblink('g', $$SELECT 1 FROM schema_guard.ddl_event
                                              WHERE object_identity = 'public.orders_n_code'$$) AS t(x int)),
  1::bigint, 'the audit records the overridden statement as usual');

SELECT NULL::void FROM dblink_disconnect('g_off');
SELECT NULL::void FROM dblink_disconnect('g');
SELECT NULL::void FROM dblink_exec('guard_admin', 'DROP DATABASE sg_tap_guard WITH (FORCE)');
SELECT NULL::void FROM dblink_disconnect('guard_admin');

SELECT * FROM finish();
ROLLBACK;
