-- Staging: who may stage and apply, who may read staged rows, hostile names
-- and key values stored faithfully, composite keys. A sync-job role that is
-- a member of schema_guard_sync and may write the target stages and applies
-- without superuser; nobody writes a table through an apply that they could
-- not write themselves, nobody reads another role's staged rows, and no
-- object the caller owns is read while staging runs as the extension's
-- owner. Roles vanish with this file's rollback.
BEGIN;
SET client_min_messages = warning;
SELECT plan(44);

CREATE SCHEMA stg_p;
SET search_path = stg_p, public;
\i test/fixtures/sales_app.sql
CREATE ROLE sg_sync_job;
CREATE ROLE sg_other_job;
CREATE ROLE sg_no_sync;
CREATE ROLE sg_reader_user;
GRANT schema_guard_sync TO sg_sync_job, sg_other_job;
GRANT schema_guard_reader TO sg_reader_user;
GRANT USAGE ON SCHEMA stg_p TO sg_sync_job, sg_other_job, sg_no_sync, sg_reader_user;
GRANT SELECT, INSERT, UPDATE ON app_sale TO sg_sync_job;
GRANT SELECT ON app_product TO sg_sync_job;
GRANT SELECT ON app_sale TO sg_other_job;

------------------------------------------------------------------------
-- A sync job without superuser
------------------------------------------------------------------------

SET ROLE sg_sync_job;
SELECT schema_guard.stage_open('app_sale', ARRAY['external_id'], 'tab-9') AS job \gset
SELECT is((SELECT opened_by FROM schema_guard.stage_batches WHERE batch_id = :job), 'sg_sync_job',
  'a sync job opens a batch; the log names its role');
SELECT lives_ok(format($$INSERT INTO schema_guard.staged_row (batch_id, payload) VALUES
  (%1$s, '{"external_id": "aaaaaaaa-0000-0000-0000-000000000001", "product_id": 1, "quantity": 1, "total_amount": 1}'),
  (%1$s, '{"external_id": "aaaaaaaa-0000-0000-0000-000000000002", "product_id": 7, "quantity": 1, "total_amount": 1}')$$, :job),
  'a sync job stages rows into its batch (as \copy would)');
SELECT results_eq(format('SELECT inserted, rejected FROM schema_guard.stage_apply(%s)', :job),
  $$VALUES (1::bigint, 1::bigint)$$, 'a sync job applies its batch without superuser');
SELECT throws_ok($$UPDATE schema_guard.staged_row SET payload = '{}'$$, '42501', NULL,
  'staged rows cannot be changed');
SELECT throws_ok(format($$INSERT INTO schema_guard.staged_row (batch_id, payload, seq) VALUES (%s, '{}', 1)$$, :job),
  '42501', NULL, 'a sync job cannot choose a staged row''s seq');
SELECT throws_ok($$DELETE FROM schema_guard.staged_row$$, '42501', NULL, 'staged rows cannot be deleted');
SELECT throws_ok($$UPDATE schema_guard.stage_batches SET status = 'open'$$, '42501', NULL,
  'the batch log cannot be rewritten');
SELECT throws_ok($$DELETE FROM schema_guard.stage_rejected$$, '42501', NULL,
  'the quarantine cannot be emptied by a sync job');
SELECT is((SELECT count(*) FROM schema_guard.stage_rejected WHERE batch_id = :job), 1::bigint,
  'a sync job reads its quarantine');
SELECT is((SELECT count(*) FROM schema_guard.batch_rows WHERE batch_id = :job), 2::bigint,
  'a sync job reads its staged rows through schema_guard.batch_rows');
SELECT throws_ok($$SELECT payload FROM schema_guard.staged_row$$, '42501', NULL,
  'but not the staged_row table, which holds every role''s rows');
SELECT schema_guard.stage_open('app_sale', ARRAY['external_id'], 'tab-9') AS job2 \gset
SELECT FROM schema_guard.stage_rows(:job2, '[{"external_id": "aaaaaaaa-0000-0000-0000-000000000003", "product_id": 1, "quantity": 1, "total_amount": 1}]');
RESET ROLE;

-- Rights are checked when the apply writes, not only when the batch opens.
REVOKE UPDATE ON app_sale FROM sg_sync_job;
SET ROLE sg_sync_job;
SELECT throws_ok(format('SELECT * FROM schema_guard.stage_apply(%s)', :job2), '42501', NULL,
  'an apply runs with the caller''s rights: without UPDATE it fails');
RESET ROLE;
SELECT is((SELECT count(*) FROM app_sale WHERE external_id = 'aaaaaaaa-0000-0000-0000-000000000003'), 0::bigint,
  'the refused apply wrote nothing');
SELECT is((SELECT status FROM schema_guard.stage_batches WHERE batch_id = :job2), 'open',
  'the refused batch stays open');

------------------------------------------------------------------------
-- Other roles
------------------------------------------------------------------------

SET ROLE sg_other_job;
SELECT throws_ok($$SELECT schema_guard.stage_open('app_sale', ARRAY['external_id'])$$, '42501',
  'permission denied for table app_sale', 'opening a batch needs INSERT and UPDATE on the target');
SELECT throws_ok(format('SELECT * FROM schema_guard.stage_apply(%s)', :job2), '42501',
  format('permission denied for batch %s', :job2), 'another sync role cannot apply someone else''s batch');
SELECT throws_ok(format('SELECT * FROM schema_guard.stage_validate(%s)', :job2), '42501',
  format('permission denied for batch %s', :job2), '... nor validate it');
SELECT throws_ok(format($$SELECT schema_guard.stage_rows(%s, '[{}]')$$, :job2), '42501',
  format('permission denied for batch %s', :job2), '... nor stage into it');
SELECT throws_ok(format($$INSERT INTO schema_guard.staged_row (batch_id, payload) VALUES (%s, '{}')$$, :job2), '42501',
  format('permission denied to stage rows into batch %s', :job2), '... nor COPY into it');
SELECT throws_ok($$SELECT payload FROM schema_guard.staged_row$$, '42501', NULL,
  '... nor read the staged rows');
SELECT is((SELECT count(*) FROM schema_guard.batch_rows WHERE batch_id IN (:job, :job2)), 0::bigint,
  '... nor see them through batch_rows');
SELECT is((SELECT count(*) FROM schema_guard.stage_rejected WHERE batch_id = :job), 0::bigint,
  '... nor its quarantine');
RESET ROLE;

-- Salaries staged by one sync job: another sync job, without rights on the
-- table, reads none of them anywhere.
CREATE TABLE app_salary (employee text PRIMARY KEY, salary numeric NOT NULL);
GRANT SELECT, INSERT, UPDATE ON app_salary TO sg_sync_job;
SET ROLE sg_sync_job;
SELECT schema_guard.stage_open('app_salary', ARRAY['employee'], 'payroll') AS payroll \gset
SELECT FROM schema_guard.stage_rows(:payroll, '[{"employee": "asha", "salary": 91000}, {"employee": "ravi", "salary": "lots"}]');
SELECT is((SELECT format('%s inserted, %s rejected', inserted, rejected) FROM schema_guard.stage_apply(:payroll)),
  '1 inserted, 1 rejected', 'a sync job applies a payroll batch');
RESET ROLE;
SET ROLE sg_other_job;
SELECT is(
  (SELECT count(*) FROM schema_guard.batch_rows WHERE payload::text LIKE '%salary%')
  + (SELECT count(*) FROM schema_guard.stage_rejected WHERE payload::text LIKE '%salary%'), 0::bigint,
  'another sync job sees no salary: not in staged rows, not in the quarantine');
SELECT is((SELECT staged FROM schema_guard.stage_batches WHERE batch_id = :payroll), 2::bigint,
  'it sees the batch log''s counts');
RESET ROLE;

SET ROLE sg_no_sync;
SELECT throws_ok($$SELECT schema_guard.stage_open('app_sale', ARRAY['external_id'])$$, '42501', NULL,
  'a role outside schema_guard_sync cannot open batches');
SELECT throws_ok($$SELECT * FROM schema_guard.staged_row$$, '42501', NULL,
  'nor read staged rows');
RESET ROLE;

SET ROLE sg_reader_user;
SELECT lives_ok($$SELECT * FROM schema_guard.stage_batches$$, 'schema_guard_reader reads the batch log');
SELECT throws_ok($$SELECT * FROM schema_guard.stage_rejected$$, '42501', NULL,
  'schema_guard_reader does not read the quarantine''s payloads');
SELECT throws_ok($$SELECT * FROM schema_guard.staged_row$$, '42501', NULL,
  'schema_guard_reader does not read staged payloads');
SELECT throws_ok($$SELECT * FROM schema_guard.batch_rows$$, '42501', NULL,
  '... not even through batch_rows');
RESET ROLE;

------------------------------------------------------------------------
-- The caller's temporary objects are never read as the owner
------------------------------------------------------------------------

-- A sync job replaces what it can of the apply's working objects with
-- temporary views over its own function, which would record the role it
-- runs as and try to make the job a superuser.
CREATE TABLE escalation (role_name text, superuser boolean);
GRANT SELECT, INSERT ON escalation TO sg_sync_job;
GRANT UPDATE ON app_sale TO sg_sync_job;
SET ROLE sg_sync_job;
CREATE FUNCTION pg_temp.grab() RETURNS TABLE (seq bigint, key text, problem text, detail text, ord integer)
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO stg_p.escalation SELECT current_user, r.rolsuper FROM pg_roles r WHERE r.rolname = current_user;
  BEGIN
    EXECUTE 'ALTER ROLE sg_sync_job SUPERUSER';
  EXCEPTION WHEN insufficient_privilege THEN NULL;
  END;
  RETURN;
END $$;
SELECT schema_guard.stage_open('app_sale', ARRAY['external_id'], 'swap') AS swap \gset
SELECT FROM set_config('sg.swap', :'swap', false);
SELECT FROM schema_guard.stage_rows(:swap, '[{"external_id": "bbbbbbbb-0000-0000-0000-000000000001", "product_id": 1, "quantity": 1, "total_amount": 1},
                                            {"external_id": "bbbbbbbb-0000-0000-0000-000000000002", "product_id": 1, "quantity": "x", "total_amount": 1}]');
SELECT FROM schema_guard.stage_validate(:swap);
SELECT is((SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema() AND relname LIKE 'schema_guard%'), 0::bigint,
  'a validate leaves no temporary table behind for the caller to replace');
DO $$
DECLARE
  t record;
BEGIN
  -- What a validate left behind, swapped for views ...
  FOR t IN SELECT c.relname FROM pg_class c
           WHERE c.relnamespace = pg_my_temp_schema() AND c.relname LIKE 'schema_guard_converting%' AND c.relkind = 'r' LOOP
    EXECUTE format('DROP TABLE pg_temp.%I', t.relname);
    EXECUTE format('CREATE VIEW pg_temp.%I AS SELECT * FROM pg_temp.grab()', t.relname);
  END LOOP;
  -- ... and the names a conversion would take.
  FOR i IN 1..60 LOOP
    IF to_regclass(format('pg_temp.schema_guard_converting_%s_%s', current_setting('sg.swap'), i)) IS NULL THEN
      EXECUTE format('CREATE VIEW pg_temp.%I AS SELECT * FROM pg_temp.grab()',
                     format('schema_guard_converting_%s_%s', current_setting('sg.swap'), i));
    END IF;
  END LOOP;
END $$;
SELECT is((SELECT format('%s inserted, %s rejected', inserted, rejected) FROM schema_guard.stage_apply(:swap)),
  '1 inserted, 1 rejected', 'the apply works around the views');
RESET ROLE;
SELECT is((SELECT count(*) FROM escalation), 0::bigint,
  'no staging function read the caller''s temporary views: the function never ran');
SELECT is((SELECT rolsuper FROM pg_roles WHERE rolname = 'sg_sync_job'), false,
  'the sync job did not become a superuser');
SELECT is((SELECT count(*) FROM schema_guard.stage_rejected WHERE batch_id = :swap), 1::bigint,
  'the quarantine holds the one bad row');
SET ROLE sg_sync_job;
SELECT is((SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema() AND relkind = 'r' AND relname LIKE 'schema_guard%'), 0::bigint,
  'validating and applying leave no temporary table behind');
RESET ROLE;

------------------------------------------------------------------------
-- Hostile names and key values
------------------------------------------------------------------------

CREATE TABLE "we""ird; tbl" (
  "key; DROP TABLE app_sale;--" text PRIMARY KEY,
  "ünï 'q"" col" integer,
  "Mixed Case" text
);
SELECT schema_guard.stage_open('"we""ird; tbl"', ARRAY['key; DROP TABLE app_sale;--']) AS hostile \gset
SELECT FROM schema_guard.stage_rows(:hostile, $j$[
  {"key; DROP TABLE app_sale;--": "it's; DROP TABLE app_sale; --", "ünï 'q\" col": 1, "Mixed Case": "a\"b\\c"},
  {"key; DROP TABLE app_sale;--": "ключ 🔑 \"quoted\"", "ünï 'q\" col": 2, "Mixed Case": "e\u00e9\n"},
  {"key; DROP TABLE app_sale;--": "bad'); --", "ünï 'q\" col": "zwei"}]$j$);
SELECT is(
  (SELECT format('%s inserted, %s rejected', inserted, rejected) FROM schema_guard.stage_apply(:hostile)),
  '2 inserted, 1 rejected', 'a table and columns with quotes, semicolons and unicode in their names');
SELECT results_eq(
  $$SELECT "key; DROP TABLE app_sale;--", "ünï 'q"" col", "Mixed Case" FROM "we""ird; tbl" ORDER BY 2$$,
  $$VALUES ('it''s; DROP TABLE app_sale; --', 1, 'a"b\c'), ('ключ 🔑 "quoted"', 2, E'eé\n')$$,
  'hostile key values and values are stored exactly as staged');
SELECT results_eq(
  $$SELECT key, problem, detail FROM schema_guard.stage_rejected WHERE batch_id = $$ || :hostile,
  $$VALUES ('bad''); --', 'invalid_value', 'column "ünï ''q" col": invalid input syntax for type integer: "zwei"')$$,
  'the quarantine keeps a hostile key and column name faithfully');
SELECT has_table('stg_p', 'app_sale', 'no staged text was ever run as SQL');

------------------------------------------------------------------------
-- Composite keys
------------------------------------------------------------------------

CREATE TABLE device_sale (device text, local_id integer, amount numeric(8, 2), PRIMARY KEY (device, local_id));
SELECT schema_guard.stage_open('device_sale', ARRAY['device', 'local_id']) AS composite \gset
SELECT FROM schema_guard.stage_rows(:composite, $$[
  {"device": "tab-1", "local_id": 1, "amount": 1},
  {"device": "tab,2 \"x\"", "local_id": 1, "amount": 2},
  {"device": "tab-1", "local_id": 1, "amount": 3},
  {"device": "tab-1", "local_id": "one", "amount": 4}]$$);
SELECT results_eq(
  format('SELECT key, problem FROM schema_guard.stage_validate(%s)', :composite),
  $$VALUES ('(tab-1,1)', 'superseded'), ('(tab-1,one)', 'invalid_value')$$,
  'a composite key is shown as PostgreSQL prints a row');
SELECT is(
  (SELECT format('%s inserted, %s superseded, %s rejected', inserted, superseded, rejected)
   FROM schema_guard.stage_apply(:composite, false, ARRAY['("tab,2 ""x""",1)'])),
  '1 inserted, 1 superseded, 1 rejected', 'only_keys matches a composite key in its row form');
SELECT results_eq($$SELECT device, local_id, amount FROM device_sale$$,
  $$VALUES ('tab,2 "x"', 1, 2.00::numeric)$$, 'only that key was written');

SELECT * FROM finish();
ROLLBACK;
