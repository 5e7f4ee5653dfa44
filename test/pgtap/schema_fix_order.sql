-- The reproducers of issue 14: fix_script() in dependency order, partitions
-- without their inherited findings, views made again with what they had,
-- a fix (or an instruction) for every error, schemas the manifest does not
-- name, and the smaller ones (enum to enum, identity to plain, a serial made
-- plain, a collation the script must create). Each scenario builds the
-- expected schema A in a schema of its own, sets it, turns it into B, and
-- runs the transactional fix script (fix_script(NULL, false, true)) in this
-- transaction: afterwards check() must have nothing left. The online script
-- is run by schema_roundtrip.sql and test/roundtrip.
BEGIN;
SET client_min_messages = warning;
SELECT plan(45);

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
-- Where a statement starts in the transactional script (0 when absent).
CREATE FUNCTION pg_temp.at(statement text) RETURNS integer LANGUAGE sql AS $$
  SELECT strpos(schema_guard.fix_script(NULL, false, true), statement)
$$;

------------------------------------------------------------------------
-- 1. Dependency order
------------------------------------------------------------------------

-- A: t2 alone. B: a table t and a view v on it; t2 gone.
CREATE SCHEMA fo_dep;
CREATE TABLE fo_dep.t2 (a integer);
SELECT pg_temp.set_expected('fo_dep');
DROP TABLE fo_dep.t2;
CREATE TABLE fo_dep.t (id integer);
CREATE VIEW fo_dep.v AS SELECT id FROM fo_dep.t;
SELECT is(pg_temp.findings(),
  '{"missing_table fo_dep.t2","orphan_table fo_dep.t","orphan_table fo_dep.v"}',
  'a view on an orphan table: both orphans, and the missing table');
SELECT ok(pg_temp.at('DROP VIEW fo_dep.v;') BETWEEN 1 AND pg_temp.at('DROP TABLE fo_dep.t;'),
  'the view is dropped before the table it reads');
SELECT lives_ok('SELECT pg_temp.fix()', 'the script runs');
SELECT is(pg_temp.findings(), '{}', 'and leaves nothing behind');

-- A: products without price; parents without children; a key nobody uses.
CREATE SCHEMA fo_dep2;
CREATE TABLE fo_dep2.product (id integer);
CREATE TABLE fo_dep2.p (id integer);
CREATE TABLE fo_dep2.c (pid integer);
SELECT pg_temp.set_expected('fo_dep2');
ALTER TABLE fo_dep2.product ADD COLUMN price integer, ADD CONSTRAINT x CHECK (price > 0);
CREATE TABLE fo_dep2.par (a integer);
CREATE TABLE fo_dep2.chi (b integer) INHERITS (fo_dep2.par);
ALTER TABLE fo_dep2.p ADD PRIMARY KEY (id);
ALTER TABLE fo_dep2.c ADD CONSTRAINT c_pid_fkey FOREIGN KEY (pid) REFERENCES fo_dep2.p (id);
SELECT is(pg_temp.findings(),
  '{"extra_column fo_dep2.product.price","extra_constraint fo_dep2.c.c_pid_fkey","extra_constraint fo_dep2.p.p_pkey","extra_constraint fo_dep2.product.x","orphan_table fo_dep2.chi","orphan_table fo_dep2.par"}',
  'an extra column with its CHECK, a parent and its child, a key with its foreign key');
SELECT ok(pg_temp.at('DROP CONSTRAINT x;') < pg_temp.at('DROP COLUMN price;'),
  'the CHECK goes before its column (not after, when the column took it along)');
SELECT ok(pg_temp.at('DROP TABLE fo_dep2.chi;') < pg_temp.at('DROP TABLE fo_dep2.par;'),
  'the inheritance child goes before its parent');
SELECT ok(pg_temp.at('DROP CONSTRAINT c_pid_fkey;') < pg_temp.at('DROP CONSTRAINT p_pkey;'),
  'the foreign key goes before the key it uses');
SELECT lives_ok('SELECT pg_temp.fix()', 'the script runs');
SELECT is(pg_temp.findings(), '{}', 'and leaves nothing behind');

------------------------------------------------------------------------
-- 2. Partitions: what a partition inherits is its parent's finding
------------------------------------------------------------------------

CREATE SCHEMA fo_part;
CREATE TABLE fo_part.m (d date NOT NULL, extra text) PARTITION BY RANGE (d);
CREATE TABLE fo_part.m1 PARTITION OF fo_part.m FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
CREATE INDEX m_d_idx ON fo_part.m (d);
SELECT pg_temp.set_expected('fo_part');
ALTER TABLE fo_part.m DROP COLUMN extra;
DROP INDEX fo_part.m_d_idx;
SELECT is(pg_temp.findings(), '{"missing_column fo_part.m.extra","missing_index index fo_part.m_d_idx"}',
  'one missing column and one missing index, on the partitioned table only');
SELECT unalike(schema_guard.fix_script(NULL, true, true), '%INDEX CONCURRENTLY m_d_idx%',
  'the online script builds the index of a partitioned table without CONCURRENTLY');
SELECT lives_ok('SELECT pg_temp.fix()', 'the script runs');
SELECT is(pg_temp.findings(), '{}', 'and leaves nothing behind');

------------------------------------------------------------------------
-- 3. Views made again keep their triggers, grants and comments
------------------------------------------------------------------------

CREATE SCHEMA fo_view;
CREATE ROLE fo_view_reader NOLOGIN;
CREATE TABLE fo_view.t (id integer PRIMARY KEY, price numeric(10,2), name text);
CREATE VIEW fo_view.v AS SELECT id, price, name FROM fo_view.t;
CREATE VIEW fo_view.w AS SELECT id, price FROM fo_view.v WHERE price > 0;
CREATE VIEW fo_view.narrow AS SELECT id, name FROM fo_view.t;
CREATE FUNCTION fo_view.v_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO fo_view.t VALUES (NEW.id, NEW.price, NEW.name); RETURN NEW; END $$;
CREATE TRIGGER v_insert INSTEAD OF INSERT ON fo_view.v FOR EACH ROW EXECUTE FUNCTION fo_view.v_insert();
GRANT SELECT ON fo_view.v TO fo_view_reader;
COMMENT ON VIEW fo_view.v IS 'prices';
SELECT pg_temp.set_expected('fo_view');
-- B: price was an integer (so v and w read other types), and narrow lost a column.
DROP VIEW fo_view.w, fo_view.v;
ALTER TABLE fo_view.t ALTER COLUMN price TYPE integer;
CREATE VIEW fo_view.v AS SELECT id, price, name FROM fo_view.t;
CREATE VIEW fo_view.w AS SELECT id, price FROM fo_view.v WHERE price > 0;
CREATE TRIGGER v_insert INSTEAD OF INSERT ON fo_view.v FOR EACH ROW EXECUTE FUNCTION fo_view.v_insert();
GRANT SELECT ON fo_view.v TO fo_view_reader;
COMMENT ON VIEW fo_view.v IS 'prices';
CREATE OR REPLACE VIEW fo_view.narrow AS SELECT id, name FROM fo_view.t;
DROP VIEW fo_view.narrow;
CREATE VIEW fo_view.narrow AS SELECT id FROM fo_view.t;
SELECT is(pg_temp.findings(),
  '{"type_mismatch fo_view.t.price","view_mismatch fo_view.narrow","view_mismatch fo_view.w"}',
  'a retyped column under two views, and a view that lost a column');
SELECT alike(schema_guard.fix_script(NULL, false, true),
  E'%CREATE OR REPLACE VIEW fo_view.narrow AS%',
  'a view whose columns only grow is replaced in place');
SELECT ok(pg_temp.at('DROP VIEW fo_view.w;') BETWEEN 1 AND pg_temp.at('DROP VIEW fo_view.v;'),
  'dependent views are dropped dependants first');
SELECT ok(pg_temp.at('ALTER TABLE fo_view.t ALTER COLUMN price TYPE') < pg_temp.at('CREATE VIEW fo_view.v AS'),
  'the column changes between the drop and the new view');
SELECT lives_ok('SELECT pg_temp.fix()', 'the script runs');
SELECT is(pg_temp.findings(), '{}', 'and leaves nothing behind');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgrelid = 'fo_view.v'::regclass AND tgname = 'v_insert'),
  1::bigint, 'the view made again has its INSTEAD OF trigger');
SELECT ok(has_table_privilege('fo_view_reader', 'fo_view.v', 'SELECT'), 'and its grant');
SELECT is(obj_description('fo_view.v'::regclass, 'pg_class'), 'prices', 'and its comment');

------------------------------------------------------------------------
-- 4. Every error has DDL or an instruction
------------------------------------------------------------------------

CREATE SCHEMA fo_kind;
CREATE TABLE fo_kind.base (id integer PRIMARY KEY, n integer);
CREATE VIEW fo_kind.vm AS SELECT id FROM fo_kind.base;
CREATE MATERIALIZED VIEW fo_kind.mv AS SELECT id, n FROM fo_kind.base;
CREATE INDEX mv_id ON fo_kind.mv (id);
CREATE VIEW fo_kind.tv AS SELECT n FROM fo_kind.base;
CREATE TABLE fo_kind.vt (a integer, b text);
CREATE TABLE fo_kind.pt (d date NOT NULL, x integer) PARTITION BY RANGE (d);
CREATE TABLE fo_kind.pt_2020 PARTITION OF fo_kind.pt FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
CREATE TYPE fo_kind.mood AS ENUM ('sad', 'ok');
CREATE TABLE fo_kind.feel (id integer, m fo_kind.mood DEFAULT 'ok');
CREATE VIEW fo_kind.feel_v AS SELECT id, m FROM fo_kind.feel;
SELECT pg_temp.set_expected('fo_kind');
DROP VIEW fo_kind.vm, fo_kind.tv, fo_kind.feel_v;
DROP MATERIALIZED VIEW fo_kind.mv;
DROP TABLE fo_kind.vt, fo_kind.pt, fo_kind.feel;
DROP TYPE fo_kind.mood;
CREATE MATERIALIZED VIEW fo_kind.vm AS SELECT id FROM fo_kind.base;
CREATE VIEW fo_kind.mv AS SELECT id, n FROM fo_kind.base;
CREATE TABLE fo_kind.tv (n integer);
CREATE VIEW fo_kind.vt AS SELECT 1 AS a, 'x'::text AS b;
CREATE TABLE fo_kind.pt (d date NOT NULL, x integer);
CREATE TYPE fo_kind.mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE fo_kind.feel (id integer, m fo_kind.mood DEFAULT 'ok');
CREATE VIEW fo_kind.feel_v AS SELECT id, m FROM fo_kind.feel;
INSERT INTO fo_kind.feel VALUES (1, 'sad');
SELECT is(pg_temp.findings(),
  '{"enum_mismatch fo_kind.mood","missing_table fo_kind.pt_2020","type_mismatch fo_kind.mv","type_mismatch fo_kind.pt","type_mismatch fo_kind.tv","type_mismatch fo_kind.vm","type_mismatch fo_kind.vt"}',
  'view and materialized view, table and view, table and partitioned table, a removed enum label');
SELECT is_empty($$SELECT object FROM schema_guard.check() WHERE severity <> 'info' AND fix IS NULL$$,
  'every one has a fix');
SELECT unalike(schema_guard.fix_script(NULL, false, true), '%Nothing to fix%',
  'and the script is not empty');
SELECT alike(schema_guard.fix_script(NULL, false, true),
  '%-- PostgreSQL cannot turn a table into a partitioned table in place: fo_kind.pt is dropped and made again and its rows are lost%',
  'what a rebuild loses is said in the script');
SELECT lives_ok('SELECT pg_temp.fix()', 'the script runs');
SELECT is(pg_temp.findings(), '{}', 'and leaves nothing behind');
SELECT is((SELECT m::text FROM fo_kind.feel), 'sad', 'the rebuilt enum column kept its rows');

------------------------------------------------------------------------
-- 5. Schemas the manifest does not name
------------------------------------------------------------------------

-- The expected schema of the whole database, with an empty schema.
CREATE SCHEMA fo_empty;
SELECT NULL::void FROM schema_guard.baseline('fo');
DROP SCHEMA fo_empty;
CREATE SCHEMA fo_other;
CREATE TABLE fo_other.t (a integer);
SELECT is(pg_temp.findings(),
  '{"extra_schema fo_other","missing_schema fo_empty","orphan_table fo_other.t"}',
  'an empty schema is expected; a table in an unexpected schema is an orphan');
SELECT is((SELECT cause FROM schema_guard.check() WHERE kind = 'orphan_table'),
  'extra_schema fo_other', 'the orphan follows from its schema');
SELECT alike(schema_check(), '%schema fo_other is not in the expected schema, with 1 table%',
  'the report folds the orphan under its schema');
SELECT lives_ok('SELECT pg_temp.fix()', 'the script runs');
SELECT is(pg_temp.findings(), '{}', 'and leaves nothing behind');

------------------------------------------------------------------------
-- 6. Enum to enum, identity to plain, a serial made plain, a collation
------------------------------------------------------------------------

CREATE SCHEMA fo_small;
CREATE TYPE fo_small.e1 AS ENUM ('a', 'b');
CREATE TYPE fo_small.e0 AS ENUM ('a', 'b', 'c');
CREATE COLLATION fo_small.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE fo_small.t (c fo_small.e1 DEFAULT 'a', n integer DEFAULT 7, s integer, name text COLLATE fo_small.ci);
SELECT pg_temp.set_expected('fo_small');
ALTER TABLE fo_small.t ALTER COLUMN c DROP DEFAULT,
  ALTER COLUMN c TYPE fo_small.e0 USING c::text::fo_small.e0, ALTER COLUMN c SET DEFAULT 'b';
ALTER TABLE fo_small.t ALTER COLUMN n DROP DEFAULT, ALTER COLUMN n SET NOT NULL,
  ALTER COLUMN n ADD GENERATED BY DEFAULT AS IDENTITY;
CREATE SEQUENCE fo_small.t_s_seq OWNED BY fo_small.t.s;
ALTER TABLE fo_small.t ALTER COLUMN s SET DEFAULT nextval('fo_small.t_s_seq');
ALTER TABLE fo_small.t ALTER COLUMN name TYPE text COLLATE "C";
DROP COLLATION fo_small.ci;
SELECT is(pg_temp.findings(),
  '{"collation_mismatch fo_small.t.name","default_mismatch fo_small.t.s","extra_sequence fo_small.t_s_seq","identity_mismatch fo_small.t.n","missing_collation fo_small.ci","nullability_mismatch fo_small.t.n","type_mismatch fo_small.t.c"}',
  'enum to enum, identity to plain, a serial made plain, a collation gone');
SELECT alike((SELECT fix FROM schema_guard.check() WHERE kind = 'type_mismatch'),
  '%USING c::text::fo_small.e1%', 'enum to enum casts through text');
SELECT ok(pg_temp.at('CREATE COLLATION fo_small.ci') BETWEEN 1 AND pg_temp.at('COLLATE fo_small.ci;'),
  'the collation is made before the column uses it');
SELECT lives_ok('SELECT pg_temp.fix()', 'the script runs');
SELECT is(pg_temp.findings(), '{}', 'and leaves nothing behind in one round');
-- A manifest that does not cover collations: the script says what to do.
SELECT NULL::void FROM schema_guard.expect(schema_guard.snapshot(ARRAY['fo_small']) - 'kinds' - 'collations');
ALTER TABLE fo_small.t ALTER COLUMN name TYPE text COLLATE "C";
DROP COLLATION fo_small.ci;
SELECT alike((SELECT fix FROM schema_guard.check() WHERE kind = 'collation_mismatch'),
  '-- collation fo_small.ci does not exist in this database: create it first%',
  'a collation the script cannot make is an instruction, not DDL that fails');

-- A type change PostgreSQL has no cast for: the values cannot be kept.
CREATE SCHEMA fo_cast;
CREATE TABLE fo_cast.t (flag smallint NOT NULL);
SELECT pg_temp.set_expected('fo_cast');
ALTER TABLE fo_cast.t ALTER COLUMN flag TYPE boolean USING flag <> 0;
SELECT is((SELECT fix FROM schema_guard.check() WHERE kind = 'type_mismatch'),
  E'-- PostgreSQL has no cast from boolean to smallint: the values of fo_cast.t.flag are lost below; to keep them, write the USING expression that converts them instead of NULL\n' ||
  E'ALTER TABLE fo_cast.t ALTER COLUMN flag DROP NOT NULL, ALTER COLUMN flag TYPE smallint USING NULL;\n' ||
  'ALTER TABLE fo_cast.t ALTER COLUMN flag SET NOT NULL;',
  'a type without a cast: the script says the values are lost and how to keep them');
SELECT is((SELECT hazards FROM schema_guard.check() WHERE kind = 'type_mismatch'),
  '{ACQUIRES_ACCESS_EXCLUSIVE_LOCK,TABLE_REWRITE,DELETES_DATA}'::text[], 'it deletes data');
SELECT alike(schema_guard.fix_script(NULL, false, false), '%-- ALTER TABLE fo_cast.t ALTER COLUMN flag DROP NOT NULL%',
  'so it is commented out unless drops are asked for');
SELECT lives_ok('SELECT pg_temp.fix()', 'with them, the script runs on the empty table');

SELECT * FROM finish();
ROLLBACK;
