-- Bad and extreme input: statements of several MB, a cut inside a multibyte
-- character, a 10 MB migration label, and DDL while another session holds
-- the audit table locked. Cases that need their own transactions run over
-- dblink; this file's transaction runs no audited DDL.
BEGIN;
SELECT plan(12);

CREATE FUNCTION pg_temp.conn(name text) RETURNS void
LANGUAGE sql AS $$
  SELECT NULL::void FROM dblink_connect(name, format('dbname=%s host=%s port=%s user=postgres',
    current_database(), current_setting('unix_socket_directories'), current_setting('port')))
$$;
CREATE FUNCTION pg_temp.run(name text, sql text) RETURNS void
LANGUAGE sql AS $$ SELECT NULL::void FROM dblink_exec(name, sql) $$;
CREATE FUNCTION pg_temp.done(name text) RETURNS void
LANGUAGE sql AS $$ SELECT NULL::void FROM dblink_disconnect(name) $$;
SELECT pg_temp.conn('big');
SELECT pg_temp.run('big', 'DROP TABLE IF EXISTS sg_big_default, sg_big_full, sg_clip, sg_locked');

-- DDL while another session holds the audit table: with a lock timeout the
-- DDL fails with the lock error and leaves nothing behind; once the lock is
-- released it is recorded. (First in this file: once this transaction
-- reads the audit table, its own lock would keep the locker waiting.)
SELECT pg_temp.conn('locker');
SELECT pg_temp.run('locker', 'SET lock_timeout = ''10s''');
SELECT pg_temp.run('locker', 'BEGIN');
SELECT pg_temp.run('locker', 'LOCK TABLE schema_guard.ddl_event IN ACCESS EXCLUSIVE MODE');
SELECT pg_temp.run('big', 'SET lock_timeout = ''200ms''');
SELECT throws_ok(
  $$SELECT dblink_exec('big', 'CREATE TABLE sg_locked (id integer)')$$,
  '55P03', NULL, 'DDL waits for the audit table and fails with the lock timeout');
SELECT pg_temp.run('locker', 'ROLLBACK');
SELECT is(
  (SELECT count(*) FROM dblink('big', 'SELECT 1 FROM pg_class WHERE relname = ''sg_locked''') AS t(x integer)),
  0::bigint, 'the DDL did not happen without its audit row');
SELECT pg_temp.run('big', 'RESET lock_timeout');
SELECT pg_temp.run('big', 'CREATE TABLE sg_locked (id integer)');
SELECT is(
  (SELECT count(*) FROM schema_guard.ddl_event WHERE object_identity = 'public.sg_locked'),
  1::bigint, 'after the lock is released the DDL and its row commit together');

CREATE FUNCTION pg_temp.statement_of(identity text) RETURNS text
LANGUAGE sql AS $$
  SELECT statement FROM schema_guard.ddl_event
  WHERE object_identity = identity AND object_type = 'table' ORDER BY event_id DESC LIMIT 1
$$;

-- A 3 MB statement under the default 64 kB limit: cut, with a marker.
SELECT pg_temp.run('big', 'CREATE TABLE sg_big_default (id integer) /* ' || repeat('x', 3 * 1024 * 1024) || ' */');
SELECT is(octet_length(pg_temp.statement_of('public.sg_big_default')),
  65536 + octet_length(' ... [truncated: 3145775 bytes in all]'),
  'a 3 MB statement is kept to 64 kB plus the marker');
SELECT ok(pg_temp.statement_of('public.sg_big_default') LIKE 'CREATE TABLE sg_big_default (id integer) /* xxx%',
  'the kept part is the start of the statement');
SELECT ok(pg_temp.statement_of('public.sg_big_default') LIKE '% ... [truncated: 3145775 bytes in all]',
  'the marker gives the full size');

-- With the limit raised, the statement is kept whole.
SELECT pg_temp.run('big', 'SET schema_guard.audit_max_statement_bytes = ''16MB''');
SELECT pg_temp.run('big', 'CREATE TABLE sg_big_full (id integer) /* ' || repeat('y', 3 * 1024 * 1024) || ' */');
SELECT is(pg_temp.statement_of('public.sg_big_full'),
  'CREATE TABLE sg_big_full (id integer) /* ' || repeat('y', 3 * 1024 * 1024) || ' */',
  'below the limit a 3 MB statement is stored byte for byte');
SELECT pg_temp.run('big', 'RESET schema_guard.audit_max_statement_bytes');

-- The cut never splits a multibyte character: a 31-byte prefix, then
-- two-byte characters; 65536 would split one, so 65535 bytes are kept.
SELECT pg_temp.run('big', 'CREATE TABLE sg_clip (id integer) /* ' || repeat('é', 40000) || ' */');
SELECT is(octet_length(split_part(pg_temp.statement_of('public.sg_clip'), ' ... [truncated:', 1)),
  65535, 'the cut falls on a character boundary');
SELECT is(right(split_part(pg_temp.statement_of('public.sg_clip'), ' ... [truncated:', 1), 1), 'é',
  'the last kept character is whole');

-- A 10 MB migration label is refused with a short message, and the DDL
-- that follows is audited as usual.
SELECT throws_ok(
  $$SELECT set_config('schema_guard.migration', repeat('m', 10 * 1024 * 1024), true)$$,
  '22001', 'migration label is too long', 'a 10 MB migration label is refused');
SELECT is(current_setting('schema_guard.migration'), '', 'the label is unchanged after the refusal');

-- Hostile text in a history row is stored verbatim as the label.
SELECT pg_temp.run('big', $$
  DROP SCHEMA IF EXISTS sg_hostile CASCADE;
  CREATE SCHEMA sg_hostile;
  CREATE TABLE sg_hostile.django_migrations (id serial PRIMARY KEY, app text NOT NULL, name text NOT NULL, applied timestamptz NOT NULL);
  BEGIN;
  CREATE TABLE sg_hostile."we""ird; DROP TABLE x; --" (id integer);
  INSERT INTO sg_hostile.django_migrations (app, name, applied) VALUES ('a"b', '0001_''; DROP TABLE x; --é', now());
  COMMIT;
$$);
SELECT is(
  (SELECT migration FROM schema_guard.ddl_event
   WHERE object_identity = 'sg_hostile."we""ird; DROP TABLE x; --"'),
  'a"b.0001_''; DROP TABLE x; --é', 'quotes, semicolons and unicode survive in labels and identities');

SELECT pg_temp.run('big', 'DROP TABLE sg_big_default, sg_big_full, sg_clip, sg_locked; DROP SCHEMA sg_hostile CASCADE');
SELECT pg_temp.done('locker');
SELECT pg_temp.done('big');

SELECT * FROM finish();
ROLLBACK;
