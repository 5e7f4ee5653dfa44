-- The audit never makes valid DDL fail and leaves no trace in the session's
-- visible state: GRANT and REVOKE on large objects, lastval() across
-- audited DDL, and ALTER DEFAULT PRIVILEGES in both directions recorded.
BEGIN;
SELECT plan(12);

CREATE TEMP TABLE mark AS
  SELECT coalesce(max(event_id), 0) AS first_event FROM schema_guard.ddl_event;

-- Large objects.
SELECT NULL FROM lo_create(4343);
SELECT lives_ok($$GRANT SELECT ON LARGE OBJECT 4343 TO PUBLIC$$,
  'GRANT on a large object works with the audit on');
SELECT lives_ok($$REVOKE SELECT ON LARGE OBJECT 4343 FROM PUBLIC$$,
  'REVOKE on a large object works with the audit on');
SELECT results_eq(
  $$SELECT command_tag, object_type, schema_name, object_identity FROM schema_guard.ddl_event
    WHERE object_type = 'large object' AND event_id > (SELECT first_event FROM mark) ORDER BY event_id$$,
  $$VALUES ('GRANT', 'large object', NULL::text, '4343'), ('REVOKE', 'large object', NULL, '4343')$$,
  'both are audited, identified as PostgreSQL identifies a large object');

-- lastval() is the session's own. (pgTAP's own functions call nextval(),
-- so what the session sees is captured before the next pgTAP call.)
CREATE SEQUENCE sg_side_s1;
CREATE TEMP TABLE seen (what text, value text);
DO $$
BEGIN
  PERFORM nextval('sg_side_s1');
  CREATE TABLE sg_side_t (a integer);
  INSERT INTO seen VALUES ('after CREATE TABLE', lastval()::text);
  ALTER TABLE sg_side_t ADD COLUMN b integer;
  INSERT INTO seen VALUES ('currval after ALTER TABLE', currval('sg_side_s1')::text);
  INSERT INTO seen VALUES ('after ALTER TABLE', lastval()::text);
  DROP SEQUENCE sg_side_s1;
  BEGIN
    INSERT INTO seen VALUES ('after DROP SEQUENCE', lastval()::text);
  EXCEPTION WHEN object_not_in_prerequisite_state THEN
    INSERT INTO seen VALUES ('after DROP SEQUENCE', SQLERRM);
  END;
END
$$;
SELECT is((SELECT value FROM seen WHERE what = 'after CREATE TABLE'), '1',
  'lastval() after audited DDL is the session''s last nextval()');
SELECT is((SELECT value FROM seen WHERE what = 'currval after ALTER TABLE'), '1', 'currval() too');
SELECT is((SELECT value FROM seen WHERE what = 'after ALTER TABLE'), '1', 'and again after more DDL');
SELECT is((SELECT value FROM seen WHERE what = 'after DROP SEQUENCE'), 'lastval is not yet defined in this session',
  'after DROP SEQUENCE lastval() is undefined, as without the audit');

-- ALTER DEFAULT PRIVILEGES, whether or not it leaves a pg_default_acl entry.
CREATE SCHEMA sg_side_acl;
ALTER DEFAULT PRIVILEGES REVOKE USAGE ON TYPES FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA sg_side_acl GRANT SELECT ON TABLES TO PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA sg_side_acl, public REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
SELECT results_eq(
  $$SELECT object_type, schema_name, object_identity FROM schema_guard.ddl_event
    WHERE command_tag = 'ALTER DEFAULT PRIVILEGES' AND event_id > (SELECT first_event FROM mark)
    ORDER BY event_id$$,
  $$VALUES ('default acl', NULL::text, 'for role postgres on types'),
           ('default acl', 'sg_side_acl', 'for role postgres in schema sg_side_acl on tables'),
           ('default acl', 'sg_side_acl', 'for role postgres in schema sg_side_acl on functions'),
           ('default acl', 'public', 'for role postgres in schema public on functions')$$,
  'every ALTER DEFAULT PRIVILEGES is audited, a row per role and schema');
SELECT is(
  (SELECT object_identity FROM schema_guard.ddl_event
   WHERE command_tag = 'ALTER DEFAULT PRIVILEGES' AND schema_name = 'sg_side_acl' AND object_identity LIKE '%tables'
     AND event_id > (SELECT first_event FROM mark)),
  (SELECT (pg_identify_object('pg_default_acl'::regclass, d.oid, 0)).identity
   FROM pg_default_acl d WHERE d.defaclnamespace = 'sg_side_acl'::regnamespace AND d.defaclobjtype = 'r'),
  'the identity is the one PostgreSQL gives the pg_default_acl entry');
SELECT is(
  (SELECT count(*)::int FROM schema_guard.drift() WHERE command_tag = 'ALTER DEFAULT PRIVILEGES'
     AND event_id > (SELECT first_event FROM mark)),
  4, 'made by hand, they are drift');

-- A statement the audit refuses nothing: event triggers still see every
-- object, and the DDL itself is unchanged.
SELECT has_table('sg_side_t', 'the audited table exists');
SELECT has_column('sg_side_t', 'b', 'with its added column');

SELECT * FROM finish();
ROLLBACK;
