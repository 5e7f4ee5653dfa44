-- The kinds a manifest covers beyond tables ("kinds"): functions, triggers,
-- row-level security and policies, privileges and owners, standalone
-- sequences, extensions, comments, composite types and domains, exclusion
-- constraints, persistence, collations. For each: the finding kinds, their
-- app, the ignore rules for what is extra, the fix, and that the
-- transactional fix script leaves nothing behind. A manifest that does not
-- list a kind does not compare it.
BEGIN;
SET client_min_messages = warning;
SELECT plan(29);

CREATE FUNCTION pg_temp.set_expected(s text) RETURNS void LANGUAGE sql AS $$
  SELECT NULL::void FROM schema_guard.expect(schema_guard.snapshot(ARRAY[s]), 'test ' || s)
$$;
CREATE FUNCTION pg_temp.findings() RETURNS text[] LANGUAGE sql AS $$
  SELECT coalesce(array_agg(kind || ' ' || object ORDER BY kind, object), '{}')
  FROM schema_guard.check()
$$;
CREATE FUNCTION pg_temp.fix() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE schema_guard.fix_script(NULL, false, true);
END
$$;
CREATE ROLE kn_reader NOLOGIN;
CREATE ROLE kn_owner NOLOGIN;

-- A: every kind once.
CREATE SCHEMA kn;
CREATE EXTENSION citext WITH SCHEMA kn;
CREATE COLLATION kn.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE DOMAIN kn.posint AS integer DEFAULT 1 CHECK (VALUE > 0);
CREATE TYPE kn.pair AS (x integer, y text);
CREATE SEQUENCE kn.ticket INCREMENT BY 5;
CREATE TABLE kn.core_order (
  id integer PRIMARY KEY,
  qty kn.posint,
  slot int4range,
  note kn.citext,
  CONSTRAINT core_order_slot_excl EXCLUDE USING gist (slot WITH &&)
);
CREATE UNLOGGED TABLE kn.core_scratch (a integer);
CREATE FUNCTION kn.core_total(a integer) RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT a * 2 $$;
CREATE FUNCTION kn.core_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER core_order_touch BEFORE UPDATE ON kn.core_order FOR EACH ROW EXECUTE FUNCTION kn.core_touch();
ALTER TABLE kn.core_order ENABLE ROW LEVEL SECURITY;
CREATE POLICY core_order_own ON kn.core_order FOR SELECT TO kn_reader USING (id > 0);
GRANT SELECT ON kn.core_order TO kn_reader;
GRANT USAGE ON SEQUENCE kn.ticket TO kn_reader;
REVOKE ALL ON FUNCTION kn.core_total(integer) FROM PUBLIC;
GRANT USAGE ON SCHEMA kn TO kn_reader;
ALTER TABLE kn.core_scratch OWNER TO kn_owner;
COMMENT ON TABLE kn.core_order IS 'orders';
COMMENT ON COLUMN kn.core_order.qty IS 'how many';
COMMENT ON FUNCTION kn.core_total(integer) IS 'doubles';
SELECT pg_temp.set_expected('kn');
SELECT is((SELECT manifest -> 'kinds' FROM schema_guard.expected_schema),
  '["extensions", "types", "collations", "sequences", "functions", "triggers", "policies", "privileges", "owners", "comments", "exclusions", "persistence"]'::jsonb,
  'a snapshot of chosen schemas covers every kind but the list of schemas');
SELECT is(pg_temp.findings(), '{}', 'an identical schema has no finding');

-- B: each kind drifts.
CREATE OR REPLACE FUNCTION kn.core_total(a integer) RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT a * 3 $$;
CREATE FUNCTION kn.stray_fn() RETURNS integer LANGUAGE sql AS $$ SELECT 1 $$;
CREATE FUNCTION kn.legacy_fn() RETURNS integer LANGUAGE sql AS $$ SELECT 1 $$;
ALTER TABLE kn.core_order DISABLE TRIGGER core_order_touch;
CREATE TRIGGER core_order_extra BEFORE INSERT ON kn.core_order FOR EACH ROW EXECUTE FUNCTION kn.core_touch();
DROP POLICY core_order_own ON kn.core_order;
ALTER TABLE kn.core_order FORCE ROW LEVEL SECURITY;
REVOKE SELECT ON kn.core_order FROM kn_reader;
GRANT INSERT ON kn.core_order TO kn_reader;
ALTER TABLE kn.core_scratch OWNER TO postgres;
ALTER SEQUENCE kn.ticket INCREMENT BY 7;
CREATE SEQUENCE kn.extra_seq;
COMMENT ON TABLE kn.core_order IS 'all orders';
COMMENT ON COLUMN kn.core_order.qty IS NULL;
ALTER DOMAIN kn.posint SET DEFAULT 2;
ALTER TYPE kn.pair ADD ATTRIBUTE z integer;
ALTER TABLE kn.core_order DROP CONSTRAINT core_order_slot_excl;
ALTER TABLE kn.core_scratch SET LOGGED;
REVOKE USAGE ON SCHEMA kn FROM kn_reader;
CREATE EXTENSION hstore WITH SCHEMA kn;
SELECT schema_guard.ignore('kn.legacy_%', 'kept for old clients');

CREATE TEMP TABLE k AS SELECT * FROM schema_guard.check();
SELECT bag_eq($$SELECT kind, object, severity FROM k$$,
  $$VALUES ('function_mismatch', 'kn.core_total(integer)', 'error'),
           ('extra_function', 'kn.stray_fn()', 'warning'),
           ('extra_function', 'kn.legacy_fn()', 'info'),
           ('trigger_mismatch', 'kn.core_order.core_order_touch', 'warning'),
           ('extra_trigger', 'kn.core_order.core_order_extra', 'warning'),
           ('missing_policy', 'kn.core_order.core_order_own', 'error'),
           ('row_security_mismatch', 'kn.core_order', 'error'),
           ('privilege_mismatch', 'kn.core_order', 'warning'),
           ('owner_mismatch', 'kn.core_scratch', 'warning'),
           ('privilege_mismatch', 'schema kn', 'warning'),
           ('sequence_mismatch', 'kn.ticket', 'warning'),
           ('extra_sequence', 'kn.extra_seq', 'warning'),
           ('comment_mismatch', 'kn.core_order', 'info'),
           ('comment_mismatch', 'column kn.core_order.qty', 'info'),
           ('type_mismatch', 'kn.posint', 'error'),
           ('type_mismatch', 'kn.pair', 'error'),
           ('missing_constraint', 'kn.core_order.core_order_slot_excl', 'error'),
           ('persistence_mismatch', 'kn.core_scratch', 'warning'),
           ('extra_extension', 'extension hstore', 'warning')$$,
  'every kind that drifts is one finding; an ignored extra function is info');
SELECT is((SELECT app FROM k WHERE kind = 'function_mismatch'), 'core',
  'a function is grouped under the app its name starts with');
SELECT is((SELECT fix FROM k WHERE kind = 'extra_function' AND severity = 'info'), NULL,
  'an ignored extra function has nothing to fix');
SELECT alike((SELECT fix FROM k WHERE kind = 'function_mismatch'),
  'CREATE OR REPLACE FUNCTION kn.core_total(a integer)%a * 2%', 'a changed body is replaced in place');
SELECT is((SELECT fix FROM k WHERE kind = 'trigger_mismatch'),
  'ALTER TABLE kn.core_order ENABLE TRIGGER core_order_touch;', 'a disabled trigger is enabled');
SELECT is((SELECT fix FROM k WHERE kind = 'missing_policy'),
  'CREATE POLICY core_order_own ON kn.core_order AS PERMISSIVE FOR SELECT TO kn_reader USING (id > 0);',
  'a missing policy is made');
SELECT is((SELECT fix FROM k WHERE kind = 'row_security_mismatch'),
  E'ALTER TABLE kn.core_order ENABLE ROW LEVEL SECURITY;\nALTER TABLE kn.core_order NO FORCE ROW LEVEL SECURITY;',
  'row-level security is set as expected');
SELECT is((SELECT fix FROM k WHERE kind = 'privilege_mismatch' AND object = 'kn.core_order'),
  E'REVOKE ALL ON TABLE kn.core_order FROM kn_reader;\nGRANT SELECT ON TABLE kn.core_order TO kn_reader;',
  'privileges are revoked and granted per grantee');
SELECT is((SELECT fix FROM k WHERE kind = 'owner_mismatch'),
  'ALTER TABLE kn.core_scratch OWNER TO kn_owner;', 'the owner is given back');
SELECT is((SELECT fix FROM k WHERE kind = 'sequence_mismatch'),
  'ALTER SEQUENCE kn.ticket AS bigint INCREMENT BY 5 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1 NO CYCLE;',
  'a sequence gets its parameters');
SELECT is((SELECT fix FROM k WHERE kind = 'comment_mismatch' AND object LIKE 'column%'),
  'COMMENT ON COLUMN kn.core_order.qty IS ''how many'';', 'a column comment is set');
SELECT is((SELECT fix FROM k WHERE kind = 'type_mismatch' AND object = 'kn.posint'),
  'ALTER DOMAIN kn.posint SET DEFAULT 1;', 'a domain default is set');
SELECT is((SELECT fix FROM k WHERE kind = 'type_mismatch' AND object = 'kn.pair'),
  'ALTER TYPE kn.pair DROP ATTRIBUTE z;', 'a composite type loses the attribute it should not have');
SELECT is((SELECT fix FROM k WHERE kind = 'missing_constraint'),
  'ALTER TABLE kn.core_order ADD CONSTRAINT core_order_slot_excl EXCLUDE USING gist (slot WITH &&);',
  'an exclusion constraint is added');
SELECT is((SELECT fix FROM k WHERE kind = 'persistence_mismatch'),
  'ALTER TABLE kn.core_scratch SET UNLOGGED;', 'persistence is set');
SELECT is((SELECT fix FROM k WHERE kind = 'extra_extension'), 'DROP EXTENSION hstore;',
  'an extra extension is dropped (commented out unless drops are asked for)');
SELECT alike(schema_check(), '%[core]%functions (1):%triggers and policies (4):%owners, privileges and comments (4):%[kn]%',
  'the report has a section for functions, one for triggers and policies, one for owners, privileges and comments');
SELECT lives_ok('SELECT pg_temp.fix()', 'the fix script runs');
SELECT is(pg_temp.findings(), '{"extra_function kn.legacy_fn()"}', 'and leaves only the ignored function');

-- Missing objects of each kind are made, with owner, grants and comment.
DROP TABLE kn.core_order;
DROP FUNCTION kn.core_total(integer);
DROP SEQUENCE kn.ticket;
DROP DOMAIN kn.posint CASCADE;
DROP TYPE kn.pair;
DROP COLLATION kn.ci;
DROP EXTENSION citext CASCADE;
SELECT bag_eq($$SELECT kind, object FROM schema_guard.check() WHERE severity <> 'info'$$,
  $$VALUES ('missing_table', 'kn.core_order'), ('missing_function', 'kn.core_total(integer)'),
           ('missing_sequence', 'kn.ticket'), ('missing_type', 'kn.posint'), ('missing_type', 'kn.pair'),
           ('missing_collation', 'kn.ci'), ('missing_extension', 'extension citext')$$,
  'missing objects of each kind');
SELECT alike(schema_guard.fix_script(NULL, false, true),
  '%CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA kn VERSION%CREATE DOMAIN kn.posint AS integer%CREATE TABLE kn.core_order%',
  'made in order: the extension and the domain before the table that uses them');
SELECT lives_ok('SELECT pg_temp.fix()', 'the fix script runs');
SELECT is(pg_temp.findings(), '{"extra_function kn.legacy_fn()"}', 'and makes each whole');
SELECT is(obj_description('kn.core_total(integer)'::regprocedure, 'pg_proc'), 'doubles',
  'a function made again has its comment');
SELECT ok(NOT has_function_privilege('public', 'kn.core_total(integer)', 'EXECUTE'),
  'and its privileges');
SELECT ok(has_table_privilege('kn_reader', 'kn.core_order', 'SELECT'), 'a table made again has its grants');

-- A manifest without "kinds" compares none of them.
SELECT NULL::void FROM schema_guard.expect(schema_guard.snapshot(ARRAY['kn']) - 'kinds');
CREATE OR REPLACE FUNCTION kn.core_total(a integer) RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT a * 4 $$;
ALTER TABLE kn.core_order DISABLE TRIGGER core_order_touch;
REVOKE SELECT ON kn.core_order FROM kn_reader;
COMMENT ON TABLE kn.core_order IS 'changed';
ALTER TABLE kn.core_scratch OWNER TO kn_owner;
SELECT is(pg_temp.findings(), '{}', 'what the manifest does not list is not specified, not compared');

SELECT * FROM finish();
ROLLBACK;
