-- DDL capture: the rows of schema_guard.ddl_event that each kind of DDL
-- statement writes (command tag, object type, schema, identity, rewrite),
-- sub-objects, drops and CASCADE victims, statement text, session columns,
-- and what is not audited (temporary objects, ignored schemas, audit off,
-- rolled-back savepoints). Every assertion reads only rows this file wrote.
BEGIN;
SET client_min_messages = warning;
SET client_encoding = 'UTF8';
SELECT plan(88);

-- CREATE INDEX CONCURRENTLY cannot run in a transaction block, and over
-- dblink into this database it would wait for this very transaction to end
-- (it waits for every older snapshot in its database). So it runs in a
-- database of its own, created and dropped here. This comes before this
-- transaction's CREATE EXTENSION: that may create the role
-- schema_guard_reader, and the other database's CREATE EXTENSION would then
-- wait on the uncommitted role.
CREATE FUNCTION pg_temp.connstr(db text) RETURNS text LANGUAGE sql AS $$
  SELECT format('dbname=%s host=%s port=%s user=postgres', db,
                current_setting('unix_socket_directories'), current_setting('port'))
$$;
SELECT NULL::void FROM dblink_connect('cap_admin', pg_temp.connstr(current_database()));
SELECT NULL::void FROM dblink_exec('cap_admin', 'DROP DATABASE IF EXISTS sg_tap_capture_cic WITH (FORCE)');
SELECT NULL::void FROM dblink_exec('cap_admin', 'CREATE DATABASE sg_tap_capture_cic');
SELECT NULL::void FROM dblink_connect('cap_cic', pg_temp.connstr('sg_tap_capture_cic'));
SELECT NULL::void FROM dblink_exec('cap_cic', 'SET lock_timeout = ''30s''');
SELECT NULL::void FROM dblink_exec('cap_cic', 'CREATE EXTENSION schema_guard');
SELECT NULL::void FROM dblink_exec('cap_cic', 'CREATE TABLE cic_t (id int, v text)');
SELECT NULL::void FROM dblink_exec('cap_cic', 'CREATE INDEX CONCURRENTLY cic_t_v_idx ON cic_t (v)');
SELECT NULL::void FROM dblink_exec('cap_cic', 'CREATE UNIQUE INDEX CONCURRENTLY cic_t_id_idx ON cic_t (id)');
SELECT NULL::void FROM dblink_exec('cap_cic', 'DROP INDEX CONCURRENTLY cic_t_v_idx');
CREATE TEMP TABLE cic_events AS
  SELECT * FROM dblink('cap_cic',
    'SELECT e.event_id, e.command_tag, e.object_type, e.schema_name, e.object_identity,
            e.rewrite, e.statement, e.backend_pid = pg_backend_pid(), e.txid::text
     FROM schema_guard.ddl_event e ORDER BY e.event_id')
  AS t(event_id bigint, command_tag text, object_type text, schema_name text,
       object_identity text, rewrite boolean, statement text, own_backend boolean, txid text);
SELECT NULL::void FROM dblink_disconnect('cap_cic');
SELECT NULL::void FROM dblink_exec('cap_admin', 'DROP DATABASE sg_tap_capture_cic');
SELECT NULL::void FROM dblink_disconnect('cap_admin');

SELECT bag_eq(
  $$SELECT command_tag, object_type, schema_name, object_identity, rewrite, statement FROM cic_events$$,
  $$VALUES
    ('CREATE TABLE', 'table', 'public', 'public.cic_t', false, 'CREATE TABLE cic_t (id int, v text)'),
    ('CREATE INDEX', 'index', 'public', 'public.cic_t_v_idx', false,
     'CREATE INDEX CONCURRENTLY cic_t_v_idx ON cic_t (v)'),
    ('CREATE INDEX', 'index', 'public', 'public.cic_t_id_idx', false,
     'CREATE UNIQUE INDEX CONCURRENTLY cic_t_id_idx ON cic_t (id)'),
    ('DROP INDEX', 'index', 'public', 'public.cic_t_v_idx', false,
     'DROP INDEX CONCURRENTLY cic_t_v_idx')$$,
  'CREATE [UNIQUE] INDEX CONCURRENTLY and DROP INDEX CONCURRENTLY: one committed row each');
SELECT is(
  (SELECT count(DISTINCT txid) FROM cic_events WHERE own_backend),
  4::bigint,
  'the concurrent index commands are written by their own backend, each in a transaction of its own');

CREATE EXTENSION IF NOT EXISTS schema_guard;

-- take(): the audit rows written since the previous call, in event order;
-- they stay in pg_temp.batch for further checks. Temporary objects are not
-- audited, so none of this shows up in the audit.
CREATE TEMP TABLE mark AS
  SELECT coalesce(max(event_id), 0) AS first_event, coalesce(max(event_id), 0) AS last_event,
         0::bigint AS taken
  FROM schema_guard.ddl_event;
CREATE TEMP TABLE batch AS SELECT * FROM schema_guard.ddl_event WITH NO DATA;
CREATE FUNCTION pg_temp.take()
  RETURNS TABLE (command_tag text, object_type text, schema_name text, object_identity text, rewrite boolean)
  LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  DELETE FROM pg_temp.batch;
  INSERT INTO pg_temp.batch
    SELECT e.* FROM schema_guard.ddl_event e
    WHERE e.event_id > (SELECT m.last_event FROM pg_temp.mark m);
  UPDATE pg_temp.mark m
    SET last_event = coalesce((SELECT max(b.event_id) FROM pg_temp.batch b), m.last_event),
        taken = m.taken + (SELECT count(*) FROM pg_temp.batch);
  RETURN QUERY
    SELECT b.command_tag, b.object_type, b.schema_name, b.object_identity, b.rewrite
    FROM pg_temp.batch b ORDER BY b.event_id;
END
$$;
-- The distinct statement texts of the last batch.
CREATE FUNCTION pg_temp.statements() RETURNS text[] LANGUAGE sql AS $$
  SELECT array_agg(DISTINCT statement ORDER BY statement) FROM pg_temp.batch
$$;

------------------------------------------------------------------------
-- Tables, columns, constraints, indexes
------------------------------------------------------------------------

CREATE TABLE cap_parent (id serial PRIMARY KEY, code text UNIQUE);
SELECT results_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES
    ('CREATE SEQUENCE', 'sequence', 'public', 'public.cap_parent_id_seq', false),
    ('CREATE TABLE', 'table', 'public', 'public.cap_parent', false),
    ('CREATE INDEX', 'index', 'public', 'public.cap_parent_pkey', false),
    ('CREATE INDEX', 'table constraint', 'public', 'cap_parent_pkey on public.cap_parent', false),
    ('CREATE INDEX', 'index', 'public', 'public.cap_parent_code_key', false),
    ('CREATE INDEX', 'table constraint', 'public', 'cap_parent_code_key on public.cap_parent', false)$$,
  'CREATE TABLE with serial PRIMARY KEY and UNIQUE: sequence, table, indexes and their constraints, in order');

CREATE TABLE cap_child (id serial PRIMARY KEY, parent_id int REFERENCES cap_parent (id), name text UNIQUE);
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES
    ('CREATE SEQUENCE', 'sequence', 'public', 'public.cap_child_id_seq', false),
    ('CREATE TABLE', 'table', 'public', 'public.cap_child', false),
    ('CREATE INDEX', 'index', 'public', 'public.cap_child_pkey', false),
    ('CREATE INDEX', 'table constraint', 'public', 'cap_child_pkey on public.cap_child', false),
    ('CREATE INDEX', 'index', 'public', 'public.cap_child_name_key', false),
    ('CREATE INDEX', 'table constraint', 'public', 'cap_child_name_key on public.cap_child', false),
    ('ALTER TABLE', 'table constraint', 'public', 'cap_child_parent_id_fkey on public.cap_child', false)$$,
  'CREATE TABLE with REFERENCES: the foreign key constraint, without the internal ALTER TABLE and ALTER SEQUENCE rows');
SELECT is(pg_temp.statements(),
  ARRAY['CREATE TABLE cap_child (id serial PRIMARY KEY, parent_id int REFERENCES cap_parent (id), name text UNIQUE)'],
  'every row of a statement carries that statement''s text');

ALTER TABLE cap_child ADD COLUMN qty int, ALTER COLUMN name SET NOT NULL,
  ADD CONSTRAINT cap_qty_pos CHECK (qty > 0), ALTER COLUMN id TYPE bigint;
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES
    ('ALTER TABLE', 'table', 'public', 'public.cap_child', true),
    ('ALTER TABLE', 'table column', 'public', 'public.cap_child.id', false),
    ('ALTER TABLE', 'index', 'public', 'public.cap_child_pkey', false),
    ('ALTER TABLE', 'table column', 'public', 'public.cap_child.qty', false),
    ('ALTER TABLE', 'table column', 'public', 'public.cap_child.name', false),
    ('ALTER TABLE', 'table constraint', 'public', 'cap_qty_pos on public.cap_child', false)$$,
  'ALTER TABLE with four sub-commands: the table (rewritten by the type change) and each sub-command''s object');
SELECT is(pg_temp.statements(),
  ARRAY[E'ALTER TABLE cap_child ADD COLUMN qty int, ALTER COLUMN name SET NOT NULL,\n  ADD CONSTRAINT cap_qty_pos CHECK (qty > 0), ALTER COLUMN id TYPE bigint'],
  'a statement over two lines is kept whole, without its semicolon');

ALTER TABLE cap_child ADD COLUMN note text;
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES
    ('ALTER TABLE', 'table', 'public', 'public.cap_child', false),
    ('ALTER TABLE', 'table column', 'public', 'public.cap_child.note', false)$$,
  'ADD COLUMN: the table and the new column, no rewrite');

ALTER TABLE cap_child ADD COLUMN noise float8 DEFAULT random();
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES
    ('ALTER TABLE', 'table', 'public', 'public.cap_child', true),
    ('ALTER TABLE', 'table column', 'public', 'public.cap_child.noise', false)$$,
  'ADD COLUMN with a volatile default rewrites the table');

ALTER TABLE cap_child DROP COLUMN note;
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES
    ('ALTER TABLE', 'table column', 'public', 'public.cap_child.note', false),
    ('ALTER TABLE', 'table', 'public', 'public.cap_child', false)$$,
  'DROP COLUMN: the dropped column (sql_drop) and the table, nothing else');

ALTER TABLE cap_child RENAME COLUMN qty TO quantity;
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('ALTER TABLE', 'table column', 'public', 'public.cap_child.quantity', false)$$,
  'RENAME COLUMN: the column under its new name');

ALTER TABLE cap_child RENAME TO cap_kid;
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('ALTER TABLE', 'table', 'public', 'public.cap_kid', false)$$,
  'RENAME TABLE: the table under its new name');

CREATE INDEX cap_kid_name_idx ON cap_kid (name);
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('CREATE INDEX', 'index', 'public', 'public.cap_kid_name_idx', false)$$,
  'CREATE INDEX: the index');

CREATE UNIQUE INDEX cap_kid_quantity_uidx ON cap_kid (quantity);
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('CREATE INDEX', 'index', 'public', 'public.cap_kid_quantity_uidx', false)$$,
  'CREATE UNIQUE INDEX: the index, and no constraint (it implements none)');

DROP INDEX cap_kid_name_idx;
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('DROP INDEX', 'index', 'public', 'public.cap_kid_name_idx', false)$$,
  'DROP INDEX: the index');

ALTER TABLE cap_kid ADD CONSTRAINT cap_kid_parent2_fk FOREIGN KEY (parent_id) REFERENCES cap_parent (id) NOT VALID;
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES
    ('ALTER TABLE', 'table', 'public', 'public.cap_kid', false),
    ('ALTER TABLE', 'table constraint', 'public', 'cap_kid_parent2_fk on public.cap_kid', false)$$,
  'ADD CONSTRAINT FOREIGN KEY NOT VALID: the table and the constraint');

ALTER TABLE cap_kid VALIDATE CONSTRAINT cap_kid_parent2_fk;
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES
    ('ALTER TABLE', 'table', 'public', 'public.cap_kid', false),
    ('ALTER TABLE', 'table constraint', 'public', 'cap_kid_parent2_fk on public.cap_kid', false)$$,
  'VALIDATE CONSTRAINT: the table and the constraint');

-- A statement that fails after the table_rewrite event leaves no row and no
-- stale rewrite mark for the next statement on that table.
INSERT INTO cap_parent (code) VALUES ('p1');
INSERT INTO cap_kid (parent_id, name, quantity) SELECT id, 'k1', 1 FROM cap_parent;
SELECT throws_ok(
  'ALTER TABLE cap_kid ALTER COLUMN quantity TYPE bigint USING (quantity / 0)',
  '22012',
  NULL,
  'a rewrite that fails midway raises its own error');
ALTER TABLE cap_kid ADD COLUMN extra int;
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES
    ('ALTER TABLE', 'table', 'public', 'public.cap_kid', false),
    ('ALTER TABLE', 'table column', 'public', 'public.cap_kid.extra', false)$$,
  'after a failed rewrite: no row from it, and the next ALTER TABLE is not marked rewrite');

------------------------------------------------------------------------
-- Sequences, views, materialized views
------------------------------------------------------------------------

CREATE SEQUENCE cap_seq START 5;
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('CREATE SEQUENCE', 'sequence', 'public', 'public.cap_seq', false)$$,
  'CREATE SEQUENCE');

ALTER SEQUENCE cap_seq INCREMENT BY 2;
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('ALTER SEQUENCE', 'sequence', 'public', 'public.cap_seq', false)$$,
  'ALTER SEQUENCE');

DROP SEQUENCE cap_seq;
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('DROP SEQUENCE', 'sequence', 'public', 'public.cap_seq', false)$$,
  'DROP SEQUENCE');

CREATE VIEW cap_view AS SELECT id FROM cap_parent;
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('CREATE VIEW', 'view', 'public', 'public.cap_view', false)$$,
  'CREATE VIEW');

CREATE OR REPLACE VIEW cap_view AS SELECT id, code FROM cap_parent;
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES
    ('CREATE VIEW', 'view', 'public', 'public.cap_view', false),
    ('CREATE VIEW', 'view', 'public', 'public.cap_view', false),
    ('CREATE VIEW', 'view column', 'public', 'public.cap_view.code', false)$$,
  'CREATE OR REPLACE VIEW adding a column: PostgreSQL reports the view twice (replace, add column) and the column');

CREATE MATERIALIZED VIEW cap_mv AS SELECT id FROM cap_parent;
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('CREATE MATERIALIZED VIEW', 'materialized view', 'public', 'public.cap_mv', false)$$,
  'CREATE MATERIALIZED VIEW');

REFRESH MATERIALIZED VIEW cap_mv;
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('REFRESH MATERIALIZED VIEW', 'materialized view', 'public', 'public.cap_mv', false)$$,
  'REFRESH MATERIALIZED VIEW is reported (not as a rewrite: no table_rewrite event)');

------------------------------------------------------------------------
-- Types, domains, functions, triggers
------------------------------------------------------------------------

CREATE TYPE cap_comp AS (a int, b text);
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('CREATE TYPE', 'type', 'public', 'public.cap_comp', false)$$,
  'CREATE TYPE (composite)');

CREATE TABLE cap_typed OF cap_comp;
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('CREATE TABLE', 'table', 'public', 'public.cap_typed', false)$$,
  'CREATE TABLE OF a composite type');

ALTER TYPE cap_comp ALTER ATTRIBUTE a TYPE bigint CASCADE;
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES
    ('ALTER TYPE', 'composite type', 'public', 'public.cap_comp', false),
    ('ALTER TYPE', 'composite type column', 'public', 'public.cap_comp.a', false),
    ('ALTER TYPE', 'table column', 'public', 'public.cap_typed.a', false),
    ('ALTER TYPE', 'table', 'public', 'public.cap_typed', true)$$,
  'ALTER TYPE ... CASCADE: the type, its attribute, the typed table''s column, and a rewrite row for the table');

CREATE TYPE cap_mood AS ENUM ('sad', 'ok');
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('CREATE TYPE', 'type', 'public', 'public.cap_mood', false)$$,
  'CREATE TYPE AS ENUM');

ALTER TYPE cap_mood ADD VALUE 'happy';
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('ALTER TYPE', 'type', 'public', 'public.cap_mood', false)$$,
  'ALTER TYPE ADD VALUE (allowed in a transaction block since PostgreSQL 12)');

CREATE DOMAIN cap_posint AS int CHECK (VALUE > 0);
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('CREATE DOMAIN', 'type', 'public', 'public.cap_posint', false)$$,
  'CREATE DOMAIN: object type "type"');

CREATE FUNCTION cap_inc(a int) RETURNS int LANGUAGE sql AS 'SELECT a + 1';
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('CREATE FUNCTION', 'function', 'public', 'public.cap_inc(integer)', false)$$,
  'CREATE FUNCTION: identity with argument types');

ALTER FUNCTION cap_inc(int) IMMUTABLE;
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('ALTER FUNCTION', 'function', 'public', 'public.cap_inc(integer)', false)$$,
  'ALTER FUNCTION');

DROP FUNCTION cap_inc(int);
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('DROP FUNCTION', 'function', 'public', 'public.cap_inc(integer)', false)$$,
  'DROP FUNCTION');

CREATE FUNCTION cap_trg_fn() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
CREATE TABLE cap_trg_t (id int);
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES
    ('CREATE FUNCTION', 'function', 'public', 'public.cap_trg_fn()', false),
    ('CREATE TABLE', 'table', 'public', 'public.cap_trg_t', false)$$,
  'trigger function and table');

CREATE TRIGGER cap_trg BEFORE INSERT ON cap_trg_t FOR EACH ROW EXECUTE FUNCTION cap_trg_fn();
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('CREATE TRIGGER', 'trigger', 'public', 'cap_trg on public.cap_trg_t', false)$$,
  'CREATE TRIGGER: schema_name is the table''s schema (PostgreSQL reports none)');

DROP TABLE cap_trg_t;
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES
    ('DROP TABLE', 'table', 'public', 'public.cap_trg_t', false),
    ('DROP TABLE', 'trigger', 'public', 'cap_trg on public.cap_trg_t', false)$$,
  'DROP TABLE: the table and its user trigger (only foreign keys'' internal triggers are left out)');

------------------------------------------------------------------------
-- Schemas and CASCADE
------------------------------------------------------------------------

CREATE SCHEMA cap_sx;
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('CREATE SCHEMA', 'schema', NULL, 'cap_sx', false)$$,
  'CREATE SCHEMA: no schema_name of its own');

CREATE TABLE cap_sx.a (id serial PRIMARY KEY, v text);
CREATE INDEX cap_sx_a_v_idx ON cap_sx.a (v);
CREATE VIEW cap_sx.va AS SELECT * FROM cap_sx.a;
CREATE TYPE cap_sx.e AS ENUM ('x');
CREATE FUNCTION cap_sx.fx() RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE SEQUENCE cap_sx.s;
SELECT bag_eq(
  $$SELECT command_tag, object_identity FROM pg_temp.take()$$,
  $$VALUES
    ('CREATE SEQUENCE', 'cap_sx.a_id_seq'), ('CREATE TABLE', 'cap_sx.a'),
    ('CREATE INDEX', 'cap_sx.a_pkey'), ('CREATE INDEX', 'a_pkey on cap_sx.a'),
    ('CREATE INDEX', 'cap_sx.cap_sx_a_v_idx'),
    ('CREATE VIEW', 'cap_sx.va'), ('CREATE TYPE', 'cap_sx.e'), ('CREATE FUNCTION', 'cap_sx.fx()'),
    ('CREATE SEQUENCE', 'cap_sx.s')$$,
  'objects created in a schema are audited under it');

DROP SCHEMA cap_sx CASCADE;
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES
    ('DROP SCHEMA', 'schema', NULL, 'cap_sx', false),
    ('DROP SCHEMA', 'table', 'cap_sx', 'cap_sx.a', false),
    ('DROP SCHEMA', 'sequence', 'cap_sx', 'cap_sx.a_id_seq', false),
    ('DROP SCHEMA', 'default value', 'cap_sx', 'for cap_sx.a.id', false),
    ('DROP SCHEMA', 'table constraint', 'cap_sx', 'a_pkey on cap_sx.a', false),
    ('DROP SCHEMA', 'index', 'cap_sx', 'cap_sx.a_pkey', false),
    ('DROP SCHEMA', 'index', 'cap_sx', 'cap_sx.cap_sx_a_v_idx', false),
    ('DROP SCHEMA', 'view', 'cap_sx', 'cap_sx.va', false),
    ('DROP SCHEMA', 'rule', 'cap_sx', '"_RETURN" on cap_sx.va', false),
    ('DROP SCHEMA', 'type', 'cap_sx', 'cap_sx.e', false),
    ('DROP SCHEMA', 'function', 'cap_sx', 'cap_sx.fx()', false),
    ('DROP SCHEMA', 'sequence', 'cap_sx', 'cap_sx.s', false)$$,
  'DROP SCHEMA CASCADE: every dropped object, without row/array types');
SELECT is(pg_temp.statements(), ARRAY['DROP SCHEMA cap_sx CASCADE'],
  'CASCADE victims carry the DROP statement');

------------------------------------------------------------------------
-- Extensions
------------------------------------------------------------------------

CREATE EXTENSION citext;
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take() WHERE command_tag = 'CREATE EXTENSION'$$,
  $$VALUES ('CREATE EXTENSION', 'extension', NULL, 'citext', false)$$,
  'CREATE EXTENSION: one row for the extension itself');
SELECT results_eq(
  $$SELECT in_extension, command_tag = 'CREATE EXTENSION', count(*) > 0
    FROM pg_temp.batch GROUP BY 1, 2 ORDER BY 1, 2$$,
  $$VALUES (false, true, true), (true, false, true)$$,
  'the extension row has in_extension = false, every member row in_extension = true');
SELECT set_eq(
  $$SELECT object_type, object_identity FROM pg_temp.batch WHERE in_extension$$,
  $$SELECT (pg_identify_object(d.classid, d.objid, d.objsubid)).type,
           (pg_identify_object(d.classid, d.objid, d.objsubid)).identity
    FROM pg_depend d
    WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
      AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'citext')$$,
  'the in_extension rows are exactly the extension''s member objects');
SELECT is(pg_temp.statements(), ARRAY['CREATE EXTENSION citext'],
  'member objects carry the CREATE EXTENSION statement, not the script''s');

------------------------------------------------------------------------
-- Partitions
------------------------------------------------------------------------

CREATE TABLE cap_meas (id int, d date) PARTITION BY RANGE (d);
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('CREATE TABLE', 'table', 'public', 'public.cap_meas', false)$$,
  'CREATE TABLE PARTITION BY RANGE');

CREATE TABLE cap_meas_2024 PARTITION OF cap_meas FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('CREATE TABLE', 'table', 'public', 'public.cap_meas_2024', false)$$,
  'CREATE TABLE PARTITION OF');

CREATE TABLE cap_meas_2025 (id int, d date);
ALTER TABLE cap_meas ATTACH PARTITION cap_meas_2025 FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES
    ('CREATE TABLE', 'table', 'public', 'public.cap_meas_2025', false),
    ('ALTER TABLE', 'table', 'public', 'public.cap_meas', false)$$,
  'ATTACH PARTITION: the partitioned table (PostgreSQL gives no address for the partition)');

ALTER TABLE cap_meas DETACH PARTITION cap_meas_2024;
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('ALTER TABLE', 'table', 'public', 'public.cap_meas', false)$$,
  'DETACH PARTITION: the partitioned table');

------------------------------------------------------------------------
-- Comments, privileges, row-level security
------------------------------------------------------------------------

COMMENT ON TABLE cap_parent IS 'parents';
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('COMMENT', 'table', 'public', 'public.cap_parent', false)$$,
  'COMMENT ON TABLE');

COMMENT ON COLUMN cap_parent.code IS 'the code';
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('COMMENT', 'table column', 'public', 'public.cap_parent.code', false)$$,
  'COMMENT ON COLUMN');

-- pg_event_trigger_ddl_commands() reports a GRANT/REVOKE as one command
-- with object_type 'TABLE' (upper case) and NULL schema and identity; the
-- audit writes one row per object it names.
GRANT SELECT ON cap_parent, cap_kid TO PUBLIC;
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('GRANT', 'table', 'public', 'public.cap_parent', false),
           ('GRANT', 'table', 'public', 'public.cap_kid', false)$$,
  'GRANT on two tables: one row per table');

REVOKE SELECT ON cap_parent FROM PUBLIC;
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('REVOKE', 'table', 'public', 'public.cap_parent', false)$$,
  'REVOKE on a table');

GRANT EXECUTE ON FUNCTION cap_trg_fn() TO PUBLIC;
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('GRANT', 'function', 'public', 'public.cap_trg_fn()', false)$$,
  'GRANT on a function');

ALTER TABLE cap_parent ENABLE ROW LEVEL SECURITY;
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('ALTER TABLE', 'table', 'public', 'public.cap_parent', false)$$,
  'ALTER TABLE ENABLE ROW LEVEL SECURITY');

CREATE POLICY cap_pol ON cap_parent USING (id > 0);
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('CREATE POLICY', 'policy', 'public', 'cap_pol on public.cap_parent', false)$$,
  'CREATE POLICY: schema_name is the table''s schema (PostgreSQL reports none)');

------------------------------------------------------------------------
-- Statement text of nested DDL
------------------------------------------------------------------------

DO $$ BEGIN CREATE TABLE cap_in_do (id int); END $$;
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('CREATE TABLE', 'table', 'public', 'public.cap_in_do', false)$$,
  'DDL inside a DO block is audited');
SELECT is(pg_temp.statements(), ARRAY['DO $$ BEGIN CREATE TABLE cap_in_do (id int); END $$'],
  'DDL inside a DO block: statement is the DO statement');

CREATE FUNCTION cap_make_table() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  CREATE TABLE cap_in_fn (id int);
END
$$;
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('CREATE FUNCTION', 'function', 'public', 'public.cap_make_table()', false)$$,
  'CREATE FUNCTION (plpgsql, DDL inside)');
SELECT cap_make_table();
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('CREATE TABLE', 'table', 'public', 'public.cap_in_fn', false)$$,
  'DDL inside a function called by SELECT is audited');
SELECT is(pg_temp.statements(), ARRAY['SELECT cap_make_table()'],
  'DDL inside a function called by SELECT: statement is the SELECT');

------------------------------------------------------------------------
-- What is not audited
------------------------------------------------------------------------

SAVEPOINT cap_sp;
CREATE TABLE cap_rolled_back (id int PRIMARY KEY);
ROLLBACK TO SAVEPOINT cap_sp;
CREATE TABLE cap_kept (id int);
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('CREATE TABLE', 'table', 'public', 'public.cap_kept', false)$$,
  'DDL rolled back to a savepoint leaves no row; DDL after it does');

CREATE TEMP TABLE cap_tmp (id int PRIMARY KEY, v int);
CREATE INDEX cap_tmp_v_idx ON cap_tmp (v);
ALTER TABLE cap_tmp ADD COLUMN w int, ALTER COLUMN v TYPE bigint;
COMMENT ON TABLE cap_tmp IS 'temporary';
GRANT SELECT ON cap_tmp TO PUBLIC;
DROP TABLE cap_tmp;
SELECT is_empty($$SELECT * FROM pg_temp.take()$$,
  'temporary tables, their indexes, changes, grants and drops are not audited');

-- Triggers, policies and rules have no schema of their own in what
-- PostgreSQL reports; they belong to a temporary table all the same.
CREATE TEMP TABLE cap_tmp2 (id int);
CREATE TRIGGER cap_tmp2_trg BEFORE INSERT ON cap_tmp2 FOR EACH ROW EXECUTE FUNCTION cap_trg_fn();
CREATE POLICY cap_tmp2_pol ON cap_tmp2 USING (true);
CREATE RULE cap_tmp2_rule AS ON UPDATE TO cap_tmp2 DO INSTEAD NOTHING;
CREATE TEMP VIEW cap_tmp_view AS SELECT id FROM cap_tmp2;
DROP VIEW cap_tmp_view;
DROP TABLE cap_tmp2;
SELECT is_empty($$SELECT * FROM pg_temp.take()$$,
  'triggers, policies and rules of temporary tables and views are not audited either, nor dropped with them');

SET LOCAL schema_guard.audit = off;
CREATE TABLE cap_unaudited (id int PRIMARY KEY);
ALTER TABLE cap_kid ALTER COLUMN extra TYPE bigint;
DROP TABLE cap_unaudited;
SELECT is_empty($$SELECT * FROM pg_temp.take()$$,
  'SET LOCAL schema_guard.audit = off: nothing is audited');
SET LOCAL schema_guard.audit = on;
ALTER TABLE cap_kid ADD COLUMN extra2 int;
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES
    ('ALTER TABLE', 'table', 'public', 'public.cap_kid', false),
    ('ALTER TABLE', 'table column', 'public', 'public.cap_kid.extra2', false)$$,
  'audit back on: audited again, and the rewrite made while it was off does not leak into this row');

CREATE SCHEMA cap_scratch;
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('CREATE SCHEMA', 'schema', NULL, 'cap_scratch', false)$$,
  'CREATE SCHEMA cap_scratch (before it is ignored)');
SET LOCAL schema_guard.audit_ignore_schemas = 'cap_scratch, pg_temp';
CREATE TABLE cap_scratch.t (id int PRIMARY KEY, v int);
CREATE INDEX cap_scratch_t_v_idx ON cap_scratch.t (v);
ALTER TABLE cap_scratch.t ADD COLUMN w int, ALTER COLUMN v TYPE bigint;
COMMENT ON TABLE cap_scratch.t IS 'scratch';
GRANT SELECT ON cap_scratch.t TO PUBLIC;
CREATE TABLE cap_not_ignored (id int);
DROP INDEX cap_scratch.cap_scratch_t_v_idx;
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('CREATE TABLE', 'table', 'public', 'public.cap_not_ignored', false)$$,
  'SET LOCAL schema_guard.audit_ignore_schemas: objects in that schema are not audited, others are');
CREATE TRIGGER cap_scratch_trg BEFORE INSERT ON cap_scratch.t FOR EACH ROW EXECUTE FUNCTION cap_trg_fn();
CREATE POLICY cap_scratch_pol ON cap_scratch.t USING (true);
DROP TABLE cap_scratch.t;
SELECT is_empty($$SELECT * FROM pg_temp.take()$$,
  'triggers and policies on a table in an ignored schema are not audited, nor its drop');
RESET schema_guard.audit_ignore_schemas;
CREATE TABLE cap_scratch.after_reset (id int);
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('CREATE TABLE', 'table', 'cap_scratch', 'cap_scratch.after_reset', false)$$,
  'after RESET the schema is audited again');

------------------------------------------------------------------------
-- Identifiers that need quoting
------------------------------------------------------------------------

CREATE SCHEMA "cap Odd ""Schema"" ü";
CREATE TABLE "cap Odd ""Schema"" ü"."we""ird
name ü" ("col umn" int PRIMARY KEY);
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$SELECT v.* FROM (SELECT 'cap Odd "Schema" ü'::text AS s, E'we"ird\nname ü'::text AS t) n
    CROSS JOIN LATERAL (VALUES
      ('CREATE SCHEMA', 'schema', NULL, quote_ident(s), false),
      ('CREATE TABLE', 'table', s, format('%I.%I', s, t), false),
      ('CREATE INDEX', 'index', s, format('%I.%I', s, t || '_pkey'), false),
      ('CREATE INDEX', 'table constraint', s, format('%I on %I.%I', t || '_pkey', s, t), false))
      AS v(command_tag, object_type, schema_name, object_identity, rewrite)$$,
  'quotes, a newline, spaces and non-ASCII: identities quoted as quote_ident does, schema_name raw');
SELECT is(pg_temp.statements(),
  ARRAY['CREATE SCHEMA "cap Odd ""Schema"" ü"',
        E'CREATE TABLE "cap Odd ""Schema"" ü"."we""ird\nname ü" ("col umn" int PRIMARY KEY)'],
  'the statement texts are kept byte for byte, newline included');

ALTER TABLE "cap Odd ""Schema"" ü"."we""ird
name ü" RENAME COLUMN "col umn" TO "Ünï ""cöl""";
SELECT bag_eq(
  $$SELECT object_type, object_identity FROM pg_temp.take()$$,
  $$VALUES ('table column', format('%I.%I.%I', 'cap Odd "Schema" ü', E'we"ird\nname ü', 'Ünï "cöl"'))$$,
  'a column identity with quotes and non-ASCII');

------------------------------------------------------------------------
-- Who: session role, current role, backend
------------------------------------------------------------------------

CREATE ROLE sg_capture_role;
CREATE SCHEMA cap_role_s AUTHORIZATION sg_capture_role;
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('CREATE SCHEMA', 'schema', NULL, 'cap_role_s', false)$$,
  'CREATE ROLE is not audited (a global object); CREATE SCHEMA AUTHORIZATION is');
SELECT is(
  (SELECT string_agg(format('%s / %s', role_name, current_role_name), ', ') FROM pg_temp.batch),
  format('%s / %s', session_user, session_user),
  'without SET ROLE, role_name and current_role_name are both the session user');
SET ROLE sg_capture_role;
CREATE TABLE cap_role_s.owned (id int);
RESET ROLE;
SELECT bag_eq(
  $$SELECT * FROM pg_temp.take()$$,
  $$VALUES ('CREATE TABLE', 'table', 'cap_role_s', 'cap_role_s.owned', false)$$,
  'DDL under SET ROLE is audited');
SELECT is(
  (SELECT string_agg(format('%s / %s', role_name, current_role_name), ', ') FROM pg_temp.batch),
  format('%s / %s', session_user, 'sg_capture_role'),
  'after SET ROLE: current_role_name is that role, role_name stays the session user');

------------------------------------------------------------------------
-- Columns every row of this file shares
------------------------------------------------------------------------

CREATE TEMP VIEW mine AS
  SELECT e.* FROM schema_guard.ddl_event e WHERE e.event_id > (SELECT first_event FROM mark);
SELECT is((SELECT count(*) FROM mine), (SELECT taken FROM mark),
  'every row this file wrote was checked by one of the tests above');
SELECT cmp_ok((SELECT count(*) FROM mine), '>', 200::bigint, 'this file wrote over 200 rows');
SELECT is((SELECT count(*) FROM mine WHERE txid IS DISTINCT FROM pg_current_xact_id()), 0::bigint,
  'txid is this transaction''s id');
SELECT is((SELECT count(*) FROM mine WHERE backend_pid IS DISTINCT FROM pg_backend_pid()), 0::bigint,
  'backend_pid is this backend');
SELECT is((SELECT count(*) FROM mine
           WHERE backend_start IS DISTINCT FROM
                 (SELECT a.backend_start FROM pg_stat_activity a WHERE a.pid = pg_backend_pid())),
  0::bigint, 'backend_start is this backend''s start');
SELECT is((SELECT count(*) FROM mine
           WHERE occurred_at IS NULL OR occurred_at < now() OR occurred_at > clock_timestamp()),
  0::bigint, 'occurred_at is set, within this transaction');
SELECT is((SELECT count(*) FROM (
             SELECT occurred_at < lag(occurred_at) OVER (ORDER BY event_id) AS backwards FROM mine) x
           WHERE backwards), 0::bigint,
  'occurred_at never goes backwards in event order');
SELECT is((SELECT count(*) FROM mine
           WHERE application_name IS DISTINCT FROM nullif(current_setting('application_name'), '')
              OR client_addr IS DISTINCT FROM inet_client_addr()),
  0::bigint, 'application_name and client_addr are this session''s');
SELECT is((SELECT count(*) FROM mine WHERE role_name <> session_user::text), 0::bigint,
  'role_name is the session user on every row');
SELECT is((SELECT count(*) FROM mine WHERE migration IS NOT NULL OR statement IS NULL), 0::bigint,
  'no migration label (drift), and a statement on every row');

SELECT * FROM finish();
ROLLBACK;
