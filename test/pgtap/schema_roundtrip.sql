-- The online fix script, end to end: a schema drifts in every way that has
-- a fix, check() names each difference, and running fix_script(online =>
-- true, include_drops => true) statement by statement, outside a
-- transaction block, leaves check() with nothing to report.
--
-- The lock-safe forms (CREATE/DROP INDEX CONCURRENTLY) cannot run in a
-- transaction block, and over dblink into this database they would wait for
-- this very transaction to end (they wait for every older snapshot in their
-- database). So everything runs in a database of its own, sc_roundtrip_db,
-- created and dropped here; this transaction only holds the results.
BEGIN;
SET client_min_messages = warning;
SELECT plan(13);

CREATE FUNCTION pg_temp.connstr(db text) RETURNS text LANGUAGE sql AS $$
  SELECT format('dbname=%s host=%s port=%s user=postgres', db,
                current_setting('unix_socket_directories'), current_setting('port'))
$$;
SELECT NULL::void FROM dblink_connect('sc_admin', pg_temp.connstr(current_database()));
SELECT NULL::void FROM dblink_exec('sc_admin', 'DROP DATABASE IF EXISTS sc_roundtrip_db WITH (FORCE)');
SELECT NULL::void FROM dblink_exec('sc_admin', 'CREATE DATABASE sc_roundtrip_db');
SELECT NULL::void FROM dblink_connect('sc_rt', pg_temp.connstr('sc_roundtrip_db'));
SELECT NULL::void FROM dblink_exec('sc_rt', 'SET lock_timeout = ''30s''');
SELECT NULL::void FROM dblink_exec('sc_rt', 'SET statement_timeout = ''120s''');
SELECT NULL::void FROM dblink_exec('sc_rt', 'SET client_min_messages = warning');
SELECT NULL::void FROM dblink_exec('sc_rt', 'CREATE EXTENSION schema_guard');

-- The expected schema.
SELECT NULL::void FROM dblink_exec('sc_rt', $sql$
CREATE SCHEMA sc_rt;
CREATE TYPE sc_rt.size AS ENUM ('s', 'm', 'l');
CREATE TYPE sc_rt.shape AS ENUM ('round', 'square');
CREATE TABLE sc_rt.parent (id integer PRIMARY KEY, code text NOT NULL);
CREATE TABLE sc_rt.child (
  id integer NOT NULL,
  parent_id integer,
  other_id integer,
  name text NOT NULL,
  nick text,
  qty integer DEFAULT 1,
  label varchar(10),
  old_col date,
  dropped_col integer,
  CONSTRAINT child_pkey PRIMARY KEY (id),
  CONSTRAINT child_name_key UNIQUE (name),
  CONSTRAINT child_qty_check CHECK (qty > 0),
  CONSTRAINT child_qty_max CHECK (qty < 1000),
  CONSTRAINT child_nick_check CHECK (nick <> ''),
  CONSTRAINT child_parent_fk FOREIGN KEY (parent_id) REFERENCES sc_rt.parent (id) ON DELETE CASCADE,
  CONSTRAINT child_other_fk FOREIGN KEY (other_id) REFERENCES sc_rt.parent (id)
);
CREATE INDEX child_qty_idx ON sc_rt.child (qty);
CREATE INDEX child_label_idx ON sc_rt.child (label);
CREATE INDEX child_lower_name_idx ON sc_rt.child (lower(name)) WHERE qty > 0;
CREATE TABLE sc_rt.gone (id integer PRIMARY KEY, parent_id integer REFERENCES sc_rt.parent (id), note text);
CREATE INDEX gone_note_idx ON sc_rt.gone (note);
CREATE TABLE sc_rt.old_table (a integer, b text);
CREATE TABLE sc_rt.counter (n integer NOT NULL);
CREATE VIEW sc_rt.v AS SELECT id, code FROM sc_rt.parent WHERE id > 0;
INSERT INTO sc_rt.parent VALUES (1, 'one'), (2, 'two');
INSERT INTO sc_rt.child (id, parent_id, other_id, name, nick, qty, label)
  VALUES (1, 1, 2, 'a', 'x', 5, 'l1'), (2, 2, 1, 'b', NULL, 7, 'l2');
$sql$);
-- counter.n is expected to be a serial (a hand-written spelling): it has no
-- sequence yet.
SELECT is(n, 6, 'online: the expected schema has 6 tables and views') FROM dblink('sc_rt', $sql$
SELECT schema_guard.expect(
  jsonb_set(m, ARRAY['tables', (SELECT (i - 1)::text FROM jsonb_array_elements(m->'tables') WITH ORDINALITY e(t, i)
                                 WHERE t->>'name' = 'counter'), 'columns', '0', 'type'], '"serial"'),
  'online round trip')
FROM (SELECT schema_guard.snapshot(ARRAY['sc_rt']) AS m) s
$sql$) AS t(n integer);

-- The drift.
SELECT NULL::void FROM dblink_exec('sc_rt', $sql$
DROP TABLE sc_rt.gone;
CREATE TABLE sc_rt.stray (x integer);
ALTER TABLE sc_rt.old_table RENAME TO new_table;
ALTER TABLE sc_rt.child DROP COLUMN dropped_col;
ALTER TABLE sc_rt.child ADD COLUMN extra_col text;
ALTER TABLE sc_rt.child ALTER COLUMN label TYPE varchar(20);
ALTER TABLE sc_rt.child ALTER COLUMN name DROP NOT NULL;
ALTER TABLE sc_rt.child ALTER COLUMN qty SET DEFAULT 2;
ALTER TABLE sc_rt.child RENAME COLUMN old_col TO new_col;
UPDATE sc_rt.child SET nick = 'y' WHERE nick IS NULL;
ALTER TABLE sc_rt.child ALTER COLUMN nick SET NOT NULL;
DROP INDEX sc_rt.child_qty_idx;
DROP INDEX sc_rt.child_lower_name_idx;
CREATE INDEX child_lower_name_idx ON sc_rt.child (lower(name));
CREATE INDEX child_extra_idx ON sc_rt.child (other_id, qty);
ALTER TABLE sc_rt.child DROP CONSTRAINT child_pkey;
ALTER TABLE sc_rt.child DROP CONSTRAINT child_name_key;
ALTER TABLE sc_rt.child DROP CONSTRAINT child_qty_check;
ALTER TABLE sc_rt.child DROP CONSTRAINT child_other_fk;
ALTER TABLE sc_rt.child DROP CONSTRAINT child_qty_max, ADD CONSTRAINT child_qty_max CHECK (qty < 500);
ALTER TABLE sc_rt.child DROP CONSTRAINT child_parent_fk,
  ADD CONSTRAINT child_parent_fk FOREIGN KEY (parent_id) REFERENCES sc_rt.parent (id) ON DELETE SET NULL;
ALTER TABLE sc_rt.child DROP CONSTRAINT child_nick_check,
  ADD CONSTRAINT child_nick_check CHECK (nick <> '') NOT VALID;
ALTER TABLE sc_rt.child ADD CONSTRAINT child_extra_check CHECK (id > 0);
ALTER TABLE sc_rt.child ADD CONSTRAINT child_extra_uq UNIQUE (other_id, qty);
ALTER TABLE sc_rt.child ADD CONSTRAINT child_extra_fk FOREIGN KEY (id) REFERENCES sc_rt.parent (id);
CREATE OR REPLACE VIEW sc_rt.v AS SELECT id, code FROM sc_rt.parent WHERE id > 10;
DROP TYPE sc_rt.size;
CREATE TYPE sc_rt.size AS ENUM ('s', 'm');
DROP TYPE sc_rt.shape;
$sql$);

CREATE TEMP TABLE rt_before AS
  SELECT * FROM dblink('sc_rt', 'SELECT severity, kind, object, fix FROM schema_guard.check()')
    AS t(severity text, kind text, object text, fix text);
SELECT bag_eq($$SELECT kind, object, severity FROM rt_before$$,
  $$VALUES ('missing_table', 'sc_rt.gone', 'error'),
           ('missing_constraint', 'sc_rt.gone.gone_parent_id_fkey', 'error'),
           ('missing_index', 'index sc_rt.gone_note_idx', 'error'),
           ('orphan_table', 'sc_rt.stray', 'warning'),
           ('possible_rename', 'sc_rt.old_table', 'warning'),
           ('missing_column', 'sc_rt.child.dropped_col', 'error'),
           ('extra_column', 'sc_rt.child.extra_col', 'warning'),
           ('type_mismatch', 'sc_rt.child.label', 'error'),
           ('nullability_mismatch', 'sc_rt.child.name', 'error'),
           ('nullability_mismatch', 'sc_rt.child.nick', 'error'),
           ('default_mismatch', 'sc_rt.child.qty', 'warning'),
           ('possible_rename', 'sc_rt.child.old_col', 'warning'),
           ('missing_index', 'index sc_rt.child_qty_idx', 'error'),
           ('index_mismatch', 'index sc_rt.child_lower_name_idx', 'warning'),
           ('extra_index', 'index sc_rt.child_extra_idx', 'warning'),
           ('missing_constraint', 'sc_rt.child', 'error'),
           ('missing_constraint', 'sc_rt.child.child_name_key', 'error'),
           ('missing_constraint', 'sc_rt.child.child_qty_check', 'error'),
           ('missing_constraint', 'sc_rt.child.child_other_fk', 'error'),
           ('constraint_mismatch', 'sc_rt.child.child_qty_max', 'error'),
           ('constraint_mismatch', 'sc_rt.child.child_parent_fk', 'error'),
           ('not_validated_constraint', 'sc_rt.child.child_nick_check', 'warning'),
           ('extra_constraint', 'sc_rt.child.child_extra_check', 'warning'),
           ('extra_constraint', 'sc_rt.child.child_extra_uq', 'warning'),
           ('extra_constraint', 'sc_rt.child.child_extra_fk', 'warning'),
           ('view_mismatch', 'sc_rt.v', 'warning'),
           ('enum_mismatch', 'sc_rt.size', 'error'),
           ('enum_mismatch', 'sc_rt.shape', 'error'),
           ('missing_sequence', 'sc_rt.counter.n', 'warning')$$,
  'online: every fixable drift is one finding');
SELECT is_empty($$SELECT kind, object FROM rt_before WHERE fix IS NULL$$,
  'online: every finding has a fix');

-- The online fix script, split into statements (comment lines removed,
-- statements end with ";" at the end of a line).
CREATE TEMP TABLE rt_script AS
  SELECT script FROM dblink('sc_rt', 'SELECT schema_guard.fix_script(NULL, true, true)') AS t(script text);
SELECT alike((SELECT script FROM rt_script),
  '%CREATE INDEX CONCURRENTLY child_qty_idx ON sc_rt.child USING btree (qty);%',
  'online: missing indexes are built concurrently');
SELECT alike((SELECT script FROM rt_script),
  E'%DROP INDEX CONCURRENTLY sc_rt.child_lower_name_idx;\n%CREATE INDEX CONCURRENTLY child_lower_name_idx ON sc_rt.child USING btree (lower(name)) WHERE qty > 0;%',
  'online: a changed index is dropped and rebuilt concurrently');
SELECT alike((SELECT script FROM rt_script),
  E'%ALTER TABLE sc_rt.child ADD CONSTRAINT child_other_fk FOREIGN KEY (other_id) REFERENCES sc_rt.parent (id) NOT VALID;\n' ||
  'ALTER TABLE sc_rt.child VALIDATE CONSTRAINT child_other_fk;%',
  'online: a missing foreign key is added NOT VALID, then validated');
SELECT alike((SELECT script FROM rt_script),
  E'%ALTER TABLE sc_rt.child ADD CONSTRAINT child_name_not_null CHECK (name IS NOT NULL) NOT VALID;\n' ||
  E'ALTER TABLE sc_rt.child VALIDATE CONSTRAINT child_name_not_null;\n' ||
  E'ALTER TABLE sc_rt.child ALTER COLUMN name SET NOT NULL;\n' ||
  'ALTER TABLE sc_rt.child DROP CONSTRAINT child_name_not_null;%',
  'online: NOT NULL goes through a validated CHECK');

CREATE TEMP TABLE rt_stmt AS
  SELECT n, btrim(stmt, E' \n') AS stmt
  FROM rt_script,
       regexp_split_to_table(regexp_replace(script, '^--[^\n]*$', '', 'gn'), E';\n') WITH ORDINALITY AS x(stmt, n)
  WHERE btrim(stmt, E' \n') <> '';
CREATE TEMP TABLE rt_run (n bigint, stmt text, status text, error text);
DO $$
DECLARE
  s record;
  status text;
BEGIN
  FOR s IN SELECT n, stmt FROM rt_stmt ORDER BY n LOOP
    -- A fix may hold a SELECT (setval after creating a sequence), which
    -- dblink_exec refuses; send those as queries.
    IF btrim(s.stmt, E' \n') ILIKE 'SELECT %' THEN
      BEGIN
        PERFORM * FROM dblink('sc_rt', s.stmt) AS t(v text);
        status := 'OK';
      EXCEPTION WHEN OTHERS THEN
        status := 'ERROR';
      END;
    ELSE
      status := dblink_exec('sc_rt', s.stmt, false);
    END IF;
    INSERT INTO rt_run VALUES (s.n, s.stmt, status,
      CASE WHEN status = 'ERROR' THEN dblink_error_message('sc_rt') END);
  END LOOP;
END
$$;

SELECT cmp_ok((SELECT count(*) FROM rt_run), '>=', (SELECT count(*) FROM rt_before),
  'online: the fix script has at least one statement per finding');
SELECT is((SELECT coalesce(array_agg(stmt || ' => ' || error ORDER BY n), '{}') FROM rt_run WHERE status = 'ERROR'),
  '{}'::text[], 'online: every statement of the fix script runs outside a transaction block');
SELECT is_empty($$SELECT stmt FROM rt_run WHERE stmt LIKE '%;%'$$,
  'online: the split found no statement glued to another');

CREATE TEMP TABLE rt_after AS
  SELECT * FROM dblink('sc_rt', 'SELECT severity, kind, object FROM schema_guard.check()')
    AS t(severity text, kind text, object text);
SELECT is((SELECT coalesce(array_agg(kind || ' ' || object ORDER BY kind, object), '{}') FROM rt_after
           WHERE severity = 'error'),
  '{}'::text[], 'online: after the fix script, no error');
SELECT is((SELECT coalesce(array_agg(kind || ' ' || object ORDER BY kind, object), '{}') FROM rt_after),
  '{}'::text[], 'online: after the fix script with drops, no finding at all');
SELECT results_eq(
  $$SELECT * FROM dblink('sc_rt', 'SELECT id, parent_id, name, nick, qty FROM sc_rt.child ORDER BY id')
      AS t(id integer, parent_id integer, name text, nick text, qty integer)$$,
  $$VALUES (1, 1, 'a', 'x', 5), (2, 2, 'b', 'y', 7)$$,
  'online: the rows survive the fix script');

SELECT NULL::void FROM dblink_disconnect('sc_rt');
SELECT NULL::void FROM dblink_exec('sc_admin', 'DROP DATABASE sc_roundtrip_db WITH (FORCE)');
SELECT NULL::void FROM dblink_disconnect('sc_admin');

SELECT * FROM finish();
ROLLBACK;
