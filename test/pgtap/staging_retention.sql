-- Retention: the staged rows of applied batches are removed once they are
-- older than schema_guard.stage_retention, by stage_purge() and by
-- stage_open(); open batches, the batch log and the quarantine are kept.
BEGIN;
SET client_min_messages = warning;
SELECT plan(16);

CREATE SCHEMA stg_r;
SET search_path = stg_r, public;
CREATE TABLE code (code text PRIMARY KEY, label text NOT NULL);
CREATE ROLE sg_retention_job;
CREATE ROLE sg_retention_plain;
GRANT schema_guard_sync TO sg_retention_job;
GRANT USAGE ON SCHEMA stg_r TO sg_retention_job;
GRANT SELECT, INSERT, UPDATE ON code TO sg_retention_job;

CREATE FUNCTION pg_temp.batch(rows jsonb, apply boolean) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE b bigint;
BEGIN
  b := schema_guard.stage_open('stg_r.code', ARRAY['code']);
  PERFORM schema_guard.stage_rows(b, rows);
  IF apply THEN PERFORM * FROM schema_guard.stage_apply(b); END IF;
  RETURN b;
END $$;
CREATE FUNCTION pg_temp.staged(b bigint) RETURNS bigint
LANGUAGE sql AS $$ SELECT count(*) FROM schema_guard.staged_row WHERE batch_id = b $$;
CREATE FUNCTION pg_temp.age(b bigint, days integer) RETURNS void
LANGUAGE sql AS $$
  UPDATE schema_guard.stage_batches SET applied_at = now() - days * interval '1 day' WHERE batch_id = b
$$;

SELECT is(current_setting('schema_guard.stage_retention'), '7d', 'staged rows are kept 7 days by default');

SELECT pg_temp.batch('[{"code": "a", "label": "A"}, {"code": "b"}]', true) AS old \gset
SELECT pg_temp.batch('[{"code": "c", "label": "C"}]', true) AS recent \gset
SELECT pg_temp.batch('[{"code": "d", "label": "D"}]', false) AS open \gset
SELECT pg_temp.age(:old, 8);
SELECT pg_temp.age(:recent, 1);

SELECT is(schema_guard.stage_purge(), 2::bigint, 'stage_purge() removes the rows of a batch applied 8 days ago');
SELECT results_eq(
  format('SELECT pg_temp.staged(%s), pg_temp.staged(%s), pg_temp.staged(%s)', :old, :recent, :open),
  $$VALUES (0::bigint, 1::bigint, 1::bigint)$$,
  'the rows of a batch applied yesterday and of an open batch are kept');
SELECT results_eq(
  format('SELECT status, staged, inserted, rejected, purged_at IS NOT NULL FROM schema_guard.stage_batches WHERE batch_id = %s', :old),
  $$VALUES ('applied', 2::bigint, 1::bigint, 1::bigint, true)$$,
  'the batch log keeps the purged batch, its counts and when it was purged');
SELECT results_eq(
  format('SELECT key, problem, payload::text FROM schema_guard.stage_rejected WHERE batch_id = %s', :old),
  $$VALUES ('b', 'not_null', '{"code": "b"}')$$,
  'the quarantine keeps the purged batch''s rejected row and its payload');
SELECT is(schema_guard.stage_purge(), 0::bigint, 'purging again removes nothing');
SELECT is((SELECT purged_at IS NULL FROM schema_guard.stage_batches WHERE batch_id = :recent), true,
  'a batch within the retention period is not marked purged');

SET schema_guard.stage_retention = -1;
SELECT pg_temp.age(:recent, 400);
SELECT is(schema_guard.stage_purge(), 0::bigint, 'with retention -1 nothing is purged');
SET schema_guard.stage_retention = '2h';
SELECT is(current_setting('schema_guard.stage_retention'), '2h', 'retention takes a unit');
SELECT is(schema_guard.stage_purge(), 1::bigint, 'an older batch is purged under a shorter retention');
RESET schema_guard.stage_retention;

-- stage_open purges.
SELECT pg_temp.batch('[{"code": "e", "label": "E"}]', true) AS aged \gset
SELECT pg_temp.age(:aged, 30);
SELECT pg_temp.batch('[{"code": "f", "label": "F"}]', false) AS next \gset
SELECT is(pg_temp.staged(:aged), 0::bigint, 'opening a batch purges batches past the retention period');
SELECT is(pg_temp.staged(:open), 1::bigint, '... and never an open one');

-- Who may purge and set the retention.
SELECT pg_temp.batch('[{"code": "g", "label": "G"}]', true) AS mine \gset
SELECT pg_temp.age(:mine, 30);
SET ROLE sg_retention_job;
SELECT is(schema_guard.stage_purge(), 1::bigint, 'a sync job may purge');
SELECT throws_ok($$SET schema_guard.stage_retention = 0$$, '42501', NULL,
  'only a superuser sets the retention');
RESET ROLE;
SET ROLE sg_retention_plain;
SELECT throws_ok($$SELECT schema_guard.stage_purge()$$, '42501', NULL,
  'a role outside schema_guard_sync may not purge');
RESET ROLE;
SELECT is((SELECT count(*) FROM schema_guard.stage_batches WHERE batch_id IN (:old, :recent, :open, :aged, :next, :mine)),
  6::bigint, 'every batch stays in the log');

SELECT * FROM finish();
ROLLBACK;
