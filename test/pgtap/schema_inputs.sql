-- What the schema check refuses instead of answering wrongly: an app filter
-- that names no app (a typo would otherwise read as a clean schema), and a
-- manifest column type PostgreSQL cannot read (it would otherwise become
-- ALTER ... TYPE intt in the fix script).
BEGIN;
SELECT plan(16);
SET client_min_messages = warning;

CREATE SCHEMA sg_in;
CREATE TABLE sg_in.core_company (id integer PRIMARY KEY, name text);
CREATE TABLE sg_in.trade_deal (id integer PRIMARY KEY);
SELECT schema_guard.expect(schema_guard.snapshot(ARRAY['sg_in']), 'inputs');
CREATE TABLE sg_in.token_blacklist (id integer);

-- An app that matches nothing.
SELECT throws_ok($$SELECT * FROM schema_guard.check('noapp')$$, '42704',
  'app "noapp" is not in the expected schema', 'check(): an unknown app is an error');
SELECT throws_ok($$SELECT schema_check('noapp')$$, '42704',
  'app "noapp" is not in the expected schema', 'schema_check(): an unknown app is an error');
SELECT throws_ok($$SELECT schema_guard.fix_script('noapp')$$, '42704',
  'app "noapp" is not in the expected schema', 'fix_script(): an unknown app is an error');
SELECT throws_ok($$SELECT schema_guard.check_json('noapp')$$, '42704',
  'app "noapp" is not in the expected schema', 'check_json(): an unknown app is an error');
CREATE FUNCTION pg_temp.error_detail(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  detail text;
BEGIN
  EXECUTE sql;
  RETURN NULL;
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
  RETURN detail;
END
$$;
SELECT is(pg_temp.error_detail($$SELECT * FROM schema_guard.check('noapp')$$),
  'The known apps are: core, token, trade.', 'the error names the known apps, an orphan''s too');
SELECT is((SELECT count(*) FROM schema_guard.check('core')), 0::bigint,
  'a known app without findings is clean');
SELECT is((SELECT count(*) FROM schema_guard.check('token')), 1::bigint,
  'an app that only an orphan has is known');

-- Types PostgreSQL cannot read.
CREATE FUNCTION pg_temp.manifest(types text[]) RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object('format', 'schema_guard/1', 'tables', jsonb_build_array(
    jsonb_build_object('schema', 'sg_in', 'name', 'x', 'columns',
      (SELECT jsonb_agg(jsonb_build_object('name', 'c' || i, 'type', t))
       FROM unnest(types) WITH ORDINALITY u(t, i)))))
$$;
SELECT throws_ok($$SELECT schema_guard.expect(pg_temp.manifest(ARRAY['integer', 'intt']))$$, '22023',
  'invalid manifest: tables[0].columns[1].type: type "intt" does not exist in this database and the manifest does not declare it',
  'expect(): an unknown type is refused with its JSON path');
SELECT throws_ok($$SELECT schema_guard.expect(pg_temp.manifest(ARRAY['varchar(x']))$$, '22023',
  'invalid manifest: tables[0].columns[0].type: PostgreSQL cannot read the type "varchar(x": syntax error at or near "x"',
  'expect(): a type that does not parse is refused with PostgreSQL''s message');
SELECT throws_ok($$SELECT schema_guard.expect(pg_temp.manifest(ARRAY['numeric(2000)']))$$, '22023',
  'invalid manifest: tables[0].columns[0].type: PostgreSQL cannot read the type "numeric(2000)": NUMERIC precision 2000 must be between 1 and 1000',
  'expect(): a bad type modifier is refused');
SELECT is(schema_guard.expect(pg_temp.manifest(ARRAY['int', 'varchar(10)[]', 'timestamptz(3)', 'bigserial',
                                                     'double precision', 'pg_catalog.int8', 'jsonb'])),
  1, 'every spelling PostgreSQL accepts is accepted');
SELECT is(schema_guard.expect(pg_temp.manifest(ARRAY['status']) ||
                              '{"enums": [{"schema": "sg_in", "name": "status", "labels": ["a"]}]}'),
  1, 'an enum the manifest declares need not exist yet');
CREATE TYPE sg_in.mood AS ENUM ('ok');
SELECT is(schema_guard.expect(pg_temp.manifest(ARRAY['mood[]'])),
  1, 'a type of a schema not on search_path exists');
SELECT is(schema_guard.expect(pg_temp.manifest(ARRAY['sg_in.mood'])),
  1, 'a schema-qualified type exists');
SELECT throws_ok($$SELECT schema_guard.expect(pg_temp.manifest(ARRAY['nosuchschema.mood']))$$, '22023', NULL,
  'a type in a schema that does not exist is refused');
SELECT is((SELECT manifest -> 'tables' -> 0 -> 'columns' -> 0 ->> 'type' FROM schema_guard.expected_schema),
  'sg_in.mood', 'a refused manifest leaves the expected schema as it was');

SELECT * FROM finish();
ROLLBACK;
