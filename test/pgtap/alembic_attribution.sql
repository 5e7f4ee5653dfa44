-- Attribution of Alembic's version-table writes (pg/alembic_attribution.cpp):
-- the writes each kind of migration step makes, as Alembic 1.8's
-- HeadMaintainer makes them (DDL first, then DELETE/INSERT, then UPDATE).
-- test/shell/alembic.sh drives the real alembic command through the same.
-- Every step runs in a dblink session of its own and commits.
BEGIN;
SELECT plan(10);

CREATE TEMP TABLE mark AS
  SELECT coalesce(max(event_id), 0) AS first_event,
         (SELECT coalesce(max(event_id), 0) FROM schema_guard.migration_event) AS first_write
  FROM schema_guard.ddl_event;
CREATE FUNCTION pg_temp.step(sql text) RETURNS void
LANGUAGE sql AS $$
  SELECT NULL::void FROM dblink_connect('alembic_step', format('dbname=%s host=%s port=%s user=postgres',
    current_database(), current_setting('unix_socket_directories'), current_setting('port')));
  SELECT NULL::void FROM dblink_exec('alembic_step', 'SET search_path = sg_alembic; ' || sql);
  SELECT NULL::void FROM dblink_disconnect('alembic_step');
$$;
CREATE FUNCTION pg_temp.migration_of(identity text, tag text DEFAULT NULL) RETURNS text
LANGUAGE sql AS $$
  SELECT string_agg(coalesce(migration, '(drift)'), ',' ORDER BY event_id)
  FROM schema_guard.ddl_event
  WHERE object_identity = identity AND event_id > (SELECT first_event FROM pg_temp.mark)
    AND (tag IS NULL OR command_tag = tag)
$$;
CREATE FUNCTION pg_temp.credited(label text) RETURNS text
LANGUAGE sql AS $$
  SELECT string_agg(operation || '=' || ddl_events, ',' ORDER BY event_id)
  FROM schema_guard.migration_event WHERE migration = label AND history_table = 'sg_alembic.alembic_version'
    AND event_id > (SELECT first_write FROM pg_temp.mark)
$$;

SELECT pg_temp.step($$
  DROP SCHEMA IF EXISTS sg_alembic CASCADE;
  CREATE SCHEMA sg_alembic;
  CREATE TABLE alembic_version (version_num varchar(32) NOT NULL PRIMARY KEY);
$$);
SELECT pg_temp.step($$INSERT INTO alembic_version VALUES ('aaa'), ('bbb')$$);
UPDATE mark SET first_event = (SELECT max(event_id) FROM schema_guard.ddl_event);

-- The issue's reproducer, without a declared graph: a merge step.
SELECT pg_temp.step($$
  BEGIN; CREATE TABLE merged_thing (id int);
  DELETE FROM alembic_version WHERE version_num = 'aaa';
  UPDATE alembic_version SET version_num = 'ccc' WHERE version_num = 'bbb'; COMMIT;
$$);
SELECT is(pg_temp.migration_of('sg_alembic.merged_thing'), 'alembic:ccc',
  'a merge step''s DDL goes to the merge revision, not to the deleted parent');
SELECT is(pg_temp.credited('alembic:aaa (reverted)') || ' ' || pg_temp.credited('alembic:ccc'),
  'DELETE=0 UPDATE=1', 'migration_event credits the merge revision, and the DELETE with nothing');

-- The graph: ccc -> ddd; eee depends on fff (another base).
-- (declared in a session of its own: the steps must see it)
SELECT pg_temp.step($$DO $d$ BEGIN PERFORM schema_guard.declare_migrations('{"format": "schema_guard.migrations/1",
  "framework": "alembic", "history_table": "sg_alembic.alembic_version", "migrations": [
  {"name": "aaa"}, {"name": "bbb"}, {"name": "ccc", "dependencies": ["aaa", "bbb"]},
  {"name": "ddd", "dependencies": ["ccc"]}, {"name": "fff"},
  {"name": "eee", "dependencies": ["ddd"], "depends_on": ["fff"]}]}'); END $d$;
$$);

-- Upgrade ccc -> ddd, then downgrade -1: the DROP reverts ddd.
SELECT pg_temp.step($$
  BEGIN; ALTER TABLE merged_thing ADD COLUMN x int;
  UPDATE alembic_version SET version_num = 'ddd' WHERE version_num = 'ccc'; COMMIT;
$$);
SELECT pg_temp.step($$
  BEGIN; ALTER TABLE merged_thing DROP COLUMN x;
  UPDATE alembic_version SET version_num = 'ccc' WHERE version_num = 'ddd'; COMMIT;
$$);
SELECT is(pg_temp.migration_of('sg_alembic.merged_thing.x'), 'alembic:ddd,alembic:ddd (reverted)',
  'downgrade -1: an UPDATE from a revision to its parent reverts the revision (the graph tells)');

-- A depends_on revision's row leaves the table: fff is a head beside ddd;
-- upgrading eee deletes one and updates the other.
SELECT pg_temp.step($$
  UPDATE alembic_version SET version_num = 'ddd' WHERE version_num = 'ccc';
  INSERT INTO alembic_version VALUES ('fff');
$$);
SELECT pg_temp.step($$
  BEGIN; CREATE TABLE eee_thing (id int); CREATE INDEX eee_thing_idx ON eee_thing (id);
  DELETE FROM alembic_version WHERE version_num = 'ddd';
  UPDATE alembic_version SET version_num = 'eee' WHERE version_num = 'fff'; COMMIT;
$$);
SELECT is(pg_temp.migration_of('sg_alembic.eee_thing') || ' ' || pg_temp.migration_of('sg_alembic.eee_thing_idx'),
  'alembic:eee alembic:eee', 'depends_on: the DDL goes to the revision applied, not to the deleted head');

-- Unmerge (downgrade of a merge): INSERT a parent, UPDATE the merge to the other.
SELECT pg_temp.step($$
  DELETE FROM alembic_version; INSERT INTO alembic_version VALUES ('ccc');
$$);
SELECT pg_temp.step($$
  BEGIN; DROP TABLE merged_thing;
  INSERT INTO alembic_version VALUES ('aaa');
  UPDATE alembic_version SET version_num = 'bbb' WHERE version_num = 'ccc'; COMMIT;
$$);
SELECT is(pg_temp.migration_of('sg_alembic.merged_thing', 'DROP TABLE'), 'alembic:ccc (reverted)',
  'unmerge: the DROP reverts the merge revision, not the re-inserted parent');

-- A DELETE whose revision the UPDATE's revision does not descend from keeps
-- its DDL: a branch downgraded to base, then an empty step on another.
SELECT pg_temp.step($$
  DELETE FROM alembic_version; INSERT INTO alembic_version VALUES ('fff'), ('ddd');
$$);
SELECT pg_temp.step($$
  BEGIN; CREATE TABLE fff_gone (id int);
  DELETE FROM alembic_version WHERE version_num = 'fff';
  UPDATE alembic_version SET version_num = 'ccc' WHERE version_num = 'ddd'; COMMIT;
$$);
SELECT is(pg_temp.migration_of('sg_alembic.fff_gone'), 'alembic:fff (reverted)',
  'a DELETE the UPDATE''s revision does not name keeps its DDL');

-- DDL between the DELETE and the UPDATE belongs to the UPDATE alone.
SELECT pg_temp.step($$
  DELETE FROM alembic_version; INSERT INTO alembic_version VALUES ('aaa'), ('bbb');
$$);
SELECT pg_temp.step($$
  BEGIN; CREATE TABLE before_delete (id int);
  DELETE FROM alembic_version WHERE version_num = 'aaa';
  CREATE TABLE after_delete (id int);
  UPDATE alembic_version SET version_num = 'ccc' WHERE version_num = 'bbb'; COMMIT;
$$);
SELECT is(pg_temp.migration_of('sg_alembic.before_delete') || ' ' || pg_temp.migration_of('sg_alembic.after_delete'),
  'alembic:aaa (reverted) alembic:ccc', 'no hand-over when DDL came between the writes');

-- `alembic upgrade head` over an empty merge, one transaction: the branch
-- revision aaa is applied (its DDL, INSERT aaa), then the merge ccc writes
-- DELETE aaa and UPDATE bbb -> ccc with no DDL of its own. aaa keeps its DDL.
SELECT pg_temp.step($$
  DELETE FROM alembic_version; INSERT INTO alembic_version VALUES ('bbb');
$$);
SELECT pg_temp.step($$
  BEGIN; CREATE TABLE aaa_branch (id int);
  INSERT INTO alembic_version VALUES ('aaa');
  DELETE FROM alembic_version WHERE version_num = 'aaa';
  UPDATE alembic_version SET version_num = 'ccc' WHERE version_num = 'bbb'; COMMIT;
$$);
SELECT is(pg_temp.migration_of('sg_alembic.aaa_branch'), 'alembic:aaa',
  'an empty merge applied after a branch revision in one transaction leaves the branch its DDL');

-- Plain upgrades are unchanged: INSERT of a base, UPDATE to a child.
SELECT pg_temp.step($$
  DELETE FROM alembic_version;
  BEGIN; CREATE TABLE base_thing (id int); INSERT INTO alembic_version VALUES ('aaa'); COMMIT;
$$);
SELECT is(pg_temp.migration_of('sg_alembic.base_thing'), 'alembic:aaa', 'an INSERT applies its revision');
SELECT pg_temp.step($$DROP SCHEMA sg_alembic CASCADE;
  DELETE FROM schema_guard.migration_graph WHERE framework = 'alembic'$$);
SELECT is((SELECT sum(ddl_events) FROM schema_guard.migration_event WHERE history_table = 'sg_alembic.alembic_version'
           AND event_id > (SELECT first_write FROM mark))::bigint,
  (SELECT count(*) FROM schema_guard.ddl_event WHERE object_identity LIKE 'sg_alembic.%' AND migration LIKE 'alembic:%'
     AND event_id > (SELECT first_event FROM mark)),
  'every attributed audit row is counted by exactly one history write');

SELECT * FROM finish();
ROLLBACK;
