-- Privileges: who can read the audit (schema_guard_reader), that nobody but
-- a superuser can write, prune or switch it off, that a plain role's own DDL
-- is audited all the same, and that the trigger functions refuse direct
-- calls. Roles are created in this transaction and vanish with its rollback.
BEGIN;
SET client_min_messages = warning;
SELECT plan(80);

CREATE EXTENSION IF NOT EXISTS schema_guard;

CREATE ROLE sg_plain;
CREATE ROLE sg_reader_user;
GRANT schema_guard_reader TO sg_reader_user;
CREATE TABLE sg_hist_owned_by_postgres (version text, description text);
CREATE SCHEMA sg_plain_s AUTHORIZATION sg_plain;

------------------------------------------------------------------------
-- schema_guard_reader reads the audit, and only reads it
------------------------------------------------------------------------

SET ROLE sg_reader_user;
SELECT results_eq(
  $$SELECT command_tag, object_type, object_identity FROM schema_guard.ddl_event
    WHERE txid = pg_current_xact_id() ORDER BY event_id$$,
  $$VALUES ('CREATE TABLE', 'table', 'public.sg_hist_owned_by_postgres'),
           ('CREATE SCHEMA', 'schema', 'sg_plain_s')$$,
  'a schema_guard_reader member reads schema_guard.ddl_event');
SELECT results_eq(
  $$SELECT command_tag, object_identity FROM schema_guard.drift()
    WHERE txid = pg_current_xact_id() ORDER BY event_id$$,
  $$VALUES ('CREATE TABLE', 'public.sg_hist_owned_by_postgres'), ('CREATE SCHEMA', 'sg_plain_s')$$,
  'a schema_guard_reader member calls schema_guard.drift()');
SELECT lives_ok('SELECT * FROM schema_guard.migration_event',
  'a schema_guard_reader member reads schema_guard.migration_event');
SELECT is((SELECT count(*) FROM schema_guard.migration_event WHERE txid = pg_current_xact_id()), 0::bigint,
  'no migration recorded in this transaction');

SELECT lives_ok('SELECT * FROM schema_guard.ddl_capture',
  'a schema_guard_reader member reads schema_guard.ddl_capture, the rows behind ddl_event');
SELECT throws_ok($$INSERT INTO schema_guard.ddl_capture DEFAULT VALUES$$, '42501', NULL,
  'reader: INSERT INTO ddl_capture is denied');
SELECT throws_ok($$UPDATE schema_guard.ddl_capture SET migration = 'forged' WHERE txid = pg_current_xact_id()$$,
  '42501', NULL, 'reader: UPDATE ddl_capture is denied');
SELECT throws_ok($$DELETE FROM schema_guard.ddl_capture WHERE txid = pg_current_xact_id()$$, '42501', NULL,
  'reader: DELETE FROM ddl_capture is denied');
SELECT throws_ok($$TRUNCATE schema_guard.ddl_capture$$, '42501', NULL,
  'reader: TRUNCATE ddl_capture is denied');
-- The view ddl_event cannot be written by anyone.
SELECT throws_ok($$INSERT INTO schema_guard.ddl_event DEFAULT VALUES$$, '55000', NULL,
  'reader: INSERT INTO ddl_event is refused (the view is not updatable)');
SELECT throws_ok($$UPDATE schema_guard.ddl_event SET migration = 'forged' WHERE txid = pg_current_xact_id()$$,
  '55000', NULL, 'reader: UPDATE ddl_event is refused (the view is not updatable)');
SELECT throws_ok($$DELETE FROM schema_guard.ddl_event WHERE txid = pg_current_xact_id()$$, '55000', NULL,
  'reader: DELETE FROM ddl_event is refused (the view is not updatable)');
SELECT throws_ok($$TRUNCATE schema_guard.ddl_event$$, '42809', NULL,
  'reader: TRUNCATE ddl_event is refused (a view)');
SELECT throws_ok($$INSERT INTO schema_guard.migration_event DEFAULT VALUES$$, '42501', NULL,
  'reader: INSERT INTO migration_event is denied');
SELECT throws_ok($$UPDATE schema_guard.migration_event SET migration = 'forged'$$, '42501', NULL,
  'reader: UPDATE migration_event is denied');
SELECT throws_ok($$DELETE FROM schema_guard.migration_event$$, '42501', NULL,
  'reader: DELETE FROM migration_event is denied');
SELECT throws_ok($$TRUNCATE schema_guard.migration_event$$, '42501', NULL,
  'reader: TRUNCATE migration_event is denied');
SELECT throws_ok($$SELECT setval('schema_guard.migration_event_event_id_seq', 1)$$, '42501', NULL,
  'reader: setval on the migration event id sequence is denied');
SELECT throws_ok($$SELECT schema_guard.prune_audit('1 day')$$, '42501', NULL,
  'reader: prune_audit is denied');
SELECT is(
  (SELECT string_agg(coalesce(migration, '(drift)'), ',') FROM schema_guard.ddl_event
   WHERE txid = pg_current_xact_id()),
  '(drift),(drift)',
  'the reader''s attempts changed nothing');
RESET ROLE;

------------------------------------------------------------------------
-- A role without schema_guard_reader sees nothing and writes nothing
------------------------------------------------------------------------

SET ROLE sg_plain;
SELECT throws_ok($$SELECT * FROM schema_guard.ddl_event$$, '42501', NULL,
  'plain: SELECT FROM ddl_event is denied');
SELECT throws_ok($$SELECT * FROM schema_guard.drift()$$, '42501', NULL,
  'plain: drift() is denied (it reads ddl_event with the caller''s rights)');
SELECT throws_ok($$SELECT * FROM schema_guard.ddl_capture$$, '42501', NULL,
  'plain: SELECT FROM ddl_capture is denied');
SELECT throws_ok($$INSERT INTO schema_guard.ddl_capture DEFAULT VALUES$$, '42501', NULL,
  'plain: INSERT INTO ddl_capture is denied');
SELECT throws_ok($$UPDATE schema_guard.ddl_capture SET migration = 'forged'$$, '42501', NULL,
  'plain: UPDATE ddl_capture is denied');
SELECT throws_ok($$DELETE FROM schema_guard.ddl_capture$$, '42501', NULL,
  'plain: DELETE FROM ddl_capture is denied');
SELECT throws_ok($$TRUNCATE schema_guard.ddl_capture$$, '42501', NULL,
  'plain: TRUNCATE ddl_capture is denied');
SELECT throws_ok($$INSERT INTO schema_guard.ddl_event DEFAULT VALUES$$, '55000', NULL,
  'plain: INSERT INTO ddl_event is refused (the view is not updatable)');
SELECT throws_ok($$UPDATE schema_guard.ddl_event SET migration = 'forged'$$, '55000', NULL,
  'plain: UPDATE ddl_event is refused (the view is not updatable)');
SELECT throws_ok($$DELETE FROM schema_guard.ddl_event$$, '55000', NULL,
  'plain: DELETE FROM ddl_event is refused (the view is not updatable)');
SELECT throws_ok($$TRUNCATE schema_guard.ddl_event$$, '42809', NULL,
  'plain: TRUNCATE ddl_event is refused (a view)');
SELECT throws_ok($$SELECT * FROM schema_guard.migration_event$$, '42501', NULL,
  'plain: SELECT FROM migration_event is denied');
SELECT throws_ok($$INSERT INTO schema_guard.migration_event DEFAULT VALUES$$, '42501', NULL,
  'plain: INSERT INTO migration_event is denied');
SELECT throws_ok($$UPDATE schema_guard.migration_event SET migration = 'forged'$$, '42501', NULL,
  'plain: UPDATE migration_event is denied');
SELECT throws_ok($$DELETE FROM schema_guard.migration_event$$, '42501', NULL,
  'plain: DELETE FROM migration_event is denied');
SELECT throws_ok($$TRUNCATE schema_guard.migration_event$$, '42501', NULL,
  'plain: TRUNCATE migration_event is denied');
SELECT throws_ok($$SELECT nextval('schema_guard.migration_event_event_id_seq')$$, '42501', NULL,
  'plain: nextval on the migration event id sequence is denied');
SELECT throws_ok($$SELECT setval('schema_guard.migration_event_event_id_seq', 1)$$, '42501', NULL,
  'plain: setval on the migration event id sequence is denied');

-- Nor can it take the audit apart.
SELECT throws_ok($$CREATE TABLE schema_guard.planted (id int)$$, '42501', NULL,
  'plain: cannot create objects in schema schema_guard');
SELECT throws_ok($$ALTER EVENT TRIGGER schema_guard_ddl_command_end DISABLE$$, '42501', NULL,
  'plain: cannot disable the event triggers');
SELECT throws_ok($$DROP EVENT TRIGGER schema_guard_sql_drop$$, '42501', NULL,
  'plain: cannot drop the event triggers');
SELECT throws_ok($$DROP EXTENSION schema_guard$$, '42501', NULL,
  'plain: cannot drop the extension');
SELECT throws_ok($$ALTER TABLE schema_guard.ddl_capture DISABLE TRIGGER ALL$$, '42501', NULL,
  'plain: cannot alter the audit table');
SELECT throws_ok($$ALTER VIEW schema_guard.ddl_event RENAME TO forged$$, '42501', NULL,
  'plain: cannot alter the audit view');

-- Settings: only schema_guard.migration is the user's.
SELECT throws_ok($$SET schema_guard.audit = off$$, '42501', NULL,
  'plain: SET schema_guard.audit = off is denied');
SELECT throws_ok($$SET LOCAL schema_guard.audit = off$$, '42501', NULL,
  'plain: SET LOCAL schema_guard.audit = off is denied');
SELECT throws_ok($$SELECT set_config('schema_guard.audit', 'off', true)$$, '42501', NULL,
  'plain: set_config(''schema_guard.audit'', ''off'') is denied');
SELECT throws_ok($$SET schema_guard.audit_ignore_schemas = 'sg_plain_s'$$, '42501', NULL,
  'plain: SET schema_guard.audit_ignore_schemas is denied');
SELECT throws_ok($$SET schema_guard.audit_max_statement_bytes = '1kB'$$, '42501', NULL,
  'plain: SET schema_guard.audit_max_statement_bytes is denied');
SELECT is(current_setting('schema_guard.audit'), 'on', 'the audit is still on');
SELECT lives_ok($$SET schema_guard.migration = 'plain.0001_init'$$,
  'plain: SET schema_guard.migration is allowed');
SELECT is(current_setting('schema_guard.migration'), 'plain.0001_init',
  'plain: the migration label is set');

------------------------------------------------------------------------
-- A plain role's own DDL is audited, though it cannot write the table
------------------------------------------------------------------------

CREATE TABLE sg_plain_s.labelled (id int);
RESET schema_guard.migration;
CREATE TABLE sg_plain_s.plain_t (id int PRIMARY KEY);
ALTER TABLE sg_plain_s.plain_t ADD COLUMN v text;
DROP TABLE sg_plain_s.labelled;
RESET ROLE;

SELECT bag_eq(
  $$SELECT command_tag, object_type, object_identity, migration, claimed_migration
    FROM schema_guard.ddl_event
    WHERE txid = pg_current_xact_id() AND current_role_name = 'sg_plain'$$,
  $$VALUES
    ('CREATE TABLE', 'table', 'sg_plain_s.labelled', NULL, 'plain.0001_init'),
    ('CREATE TABLE', 'table', 'sg_plain_s.plain_t', NULL, NULL),
    ('CREATE INDEX', 'index', 'sg_plain_s.plain_t_pkey', NULL, NULL),
    ('CREATE INDEX', 'table constraint', 'plain_t_pkey on sg_plain_s.plain_t', NULL, NULL),
    ('ALTER TABLE', 'table', 'sg_plain_s.plain_t', NULL, NULL),
    ('ALTER TABLE', 'table column', 'sg_plain_s.plain_t.v', NULL, NULL),
    ('DROP TABLE', 'table', 'sg_plain_s.labelled', NULL, NULL)$$,
  'a plain role''s DDL is audited with current_role_name = sg_plain; its migration label, which it may not claim (it cannot write a history table), is kept as claimed_migration and the DDL stays drift');
SELECT is(
  (SELECT count(*) FROM schema_guard.ddl_event
   WHERE txid = pg_current_xact_id() AND current_role_name = 'sg_plain'
     AND role_name = session_user::text AND statement IS NOT NULL),
  7::bigint,
  'the plain role''s rows carry the session user as role_name, and the statement');
SELECT is(
  (SELECT statement FROM schema_guard.ddl_event
   WHERE txid = pg_current_xact_id() AND object_identity = 'sg_plain_s.plain_t.v'),
  'ALTER TABLE sg_plain_s.plain_t ADD COLUMN v text',
  'the plain role''s statement text is recorded');

------------------------------------------------------------------------
-- prune_audit: superuser only, and only what is older than asked
------------------------------------------------------------------------

SET ROLE sg_plain;
SELECT throws_ok($$SELECT schema_guard.prune_audit('1 day')$$, '42501',
  'permission denied for function prune_audit',
  'plain: prune_audit is not executable (EXECUTE revoked from PUBLIC)');
RESET ROLE;
GRANT EXECUTE ON FUNCTION schema_guard.prune_audit(interval) TO sg_plain;
SET ROLE sg_plain;
SELECT throws_ok($$SELECT schema_guard.prune_audit('1 day')$$, '42501',
  'permission denied to prune the audit',
  'plain with EXECUTE granted: prune_audit still refuses a non-superuser');
RESET ROLE;

SELECT throws_ok($$SELECT schema_guard.prune_audit(interval '-1 day')$$, '22023', NULL,
  'prune_audit with a negative interval is refused');
SELECT throws_ok($$SELECT schema_guard.prune_audit(NULL)$$, '22004', NULL,
  'prune_audit(NULL) is refused');

CREATE TEMP TABLE counts AS
  SELECT (SELECT count(*) FROM schema_guard.ddl_event) AS all_events,
         (SELECT count(*) FROM schema_guard.ddl_event WHERE txid = pg_current_xact_id()) AS my_events,
         (SELECT count(*) FROM schema_guard.ddl_event WHERE occurred_at < now()) AS old_events;
SELECT is(schema_guard.prune_audit('100 years'), 0::bigint,
  'prune_audit(''100 years'') removes nothing');
SELECT is((SELECT count(*) FROM schema_guard.ddl_event), (SELECT all_events FROM counts),
  'after prune_audit(''100 years'') every row is still there');
SELECT is(schema_guard.prune_audit('0 seconds'), (SELECT old_events FROM counts),
  'prune_audit(''0 seconds'') removes exactly the rows from before this transaction');
SELECT is((SELECT count(*) FROM schema_guard.ddl_event WHERE txid = pg_current_xact_id()),
  (SELECT my_events FROM counts),
  'rows written in this transaction (occurred_at >= now()) are kept');
SELECT is((SELECT count(*) FROM schema_guard.ddl_event), (SELECT all_events - old_events FROM counts),
  'nothing else was removed');
SELECT is((SELECT count(*) FROM schema_guard.migration_event WHERE occurred_at < now()), 0::bigint,
  'older migration events are removed too');

------------------------------------------------------------------------
-- Trigger functions refuse direct calls
------------------------------------------------------------------------

SELECT throws_ok($$SELECT schema_guard.ddl_command_end()$$, '39P01',
  'function can only be called as an event trigger', 'ddl_command_end() called directly');
SELECT throws_ok($$SELECT schema_guard.sql_drop()$$, '39P01',
  'function can only be called as an event trigger', 'sql_drop() called directly');
SELECT throws_ok($$SELECT schema_guard.table_rewrite()$$, '39P01',
  'function can only be called as an event trigger', 'table_rewrite() called directly');
SELECT throws_ok($$SELECT schema_guard.history_row()$$, '39P01',
  'function can only be called as a trigger', 'history_row() called directly');
SET ROLE sg_plain;
SELECT throws_ok($$SELECT schema_guard.ddl_command_end()$$, '39P01',
  'function can only be called as an event trigger', 'plain: ddl_command_end() called directly');
SELECT throws_ok($$SELECT schema_guard.history_row()$$, '42501', NULL,
  'plain: history_row() is not executable');
RESET ROLE;

------------------------------------------------------------------------
-- Watching history tables needs ownership
------------------------------------------------------------------------

CREATE TABLE sg_plain_s.plain_hist (version text, description text);
ALTER TABLE sg_plain_s.plain_hist OWNER TO sg_plain;
-- A table with a history table's default name that no trigger watches yet.
CREATE SCHEMA sg_priv_s;
GRANT USAGE ON SCHEMA sg_priv_s TO sg_plain;
SET LOCAL schema_guard.audit = off;
CREATE TABLE sg_priv_s.flyway_schema_history (version text, description text);
SET LOCAL schema_guard.audit = on;

SET ROLE sg_plain;
SELECT throws_ok($$SELECT schema_guard.watch_history_table('sg_hist_owned_by_postgres', 'flyway')$$,
  '42501', 'must be owner of table "public.sg_hist_owned_by_postgres"',
  'plain: watch_history_table on a table it does not own is denied');
SELECT throws_ok(
  $$CREATE TRIGGER forged AFTER INSERT ON sg_plain_s.plain_hist
    FOR EACH ROW EXECUTE FUNCTION schema_guard.history_row('flyway')$$,
  '42501', NULL,
  'plain: cannot attach history_row() by hand');
SELECT is(schema_guard.watch_history_table('sg_plain_s.plain_hist', 'flyway'), true,
  'plain: watch_history_table on its own table works');
DO $$
BEGIN
  PERFORM schema_guard.watch_history_tables();
EXCEPTION WHEN insufficient_privilege THEN
  NULL;
END
$$;
RESET ROLE;
SELECT set_eq(
  $$SELECT history_table::text FROM schema_guard.history_tables
    WHERE history_table::text IN ('sg_hist_owned_by_postgres', 'sg_plain_s.plain_hist',
                                  'sg_priv_s.flyway_schema_history')$$,
  $$VALUES ('sg_plain_s.plain_hist')$$,
  'plain: watch_history_tables() does not attach the trigger to tables the role does not own');

-- The event triggers' declarations of pg_event_trigger_ddl_commands() and
-- pg_event_trigger_dropped_objects(): superusers only, event triggers only.
SET ROLE sg_plain;
SELECT throws_ok($$SELECT * FROM schema_guard.event_trigger_ddl_commands() AS t(classid oid)$$,
  '42501', NULL, 'plain: event_trigger_ddl_commands() is not executable');
SELECT throws_ok($$SELECT * FROM schema_guard.event_trigger_dropped_objects() AS t(classid oid)$$,
  '42501', NULL, 'plain: event_trigger_dropped_objects() is not executable');
RESET ROLE;
SELECT throws_ok($$SELECT * FROM schema_guard.event_trigger_ddl_commands() AS t(classid oid)$$,
  '39P03', NULL, 'event_trigger_ddl_commands() outside an event trigger is refused');

-- The attribution SQL runs with the audit table owner's rights; the
-- caller's search_path must not be able to slip an operator into it.
CREATE SCHEMA sg_evil AUTHORIZATION sg_plain;
SET ROLE sg_plain;
CREATE TABLE sg_evil.log (who text);
CREATE FUNCTION sg_evil.xid8_eq(xid8, xid8) RETURNS boolean LANGUAGE sql
  AS $$ INSERT INTO sg_evil.log VALUES (current_user); SELECT $1::text = $2::text $$;
CREATE OPERATOR sg_evil.= (LEFTARG = xid8, RIGHTARG = xid8, FUNCTION = sg_evil.xid8_eq);
CREATE TABLE sg_evil.django_migrations (id serial PRIMARY KEY, app text NOT NULL,
  name text NOT NULL, applied timestamptz NOT NULL);
SET search_path = sg_evil, pg_catalog;
INSERT INTO sg_evil.django_migrations (app, name, applied) VALUES ('evil', '0001_hijack', now());
RESET search_path;
RESET ROLE;
SELECT is((SELECT count(*) FROM schema_guard.migration_event WHERE migration = 'evil.0001_hijack'),
  1::bigint, 'hijack attempt: the history write is still recorded');
SELECT is((SELECT count(*) FROM sg_evil.log), 0::bigint,
  'hijack attempt: an operator on the caller''s search_path never runs with the owner''s rights');

SELECT * FROM finish();
ROLLBACK;
