-- The schema check with a declared migration graph: a missing table or
-- column that a pending migration creates says which migration and how to
-- apply it, instead of hand-written DDL; one that a faked migration (recorded,
-- never run) creates says so too; the table's indexes and foreign keys come
-- with it.
BEGIN;
SET client_min_messages = warning;
SELECT plan(7);

CREATE SCHEMA mg;
SET LOCAL search_path = mg, public;
CREATE TABLE mg.django_migrations (id serial PRIMARY KEY, app varchar(255) NOT NULL,
                                   name varchar(255) NOT NULL, applied timestamptz NOT NULL);
CREATE TABLE mg.core_company (id bigint PRIMARY KEY, name text, iec text);
CREATE TABLE mg.core_invoiceentity (id bigint PRIMARY KEY, company_id bigint REFERENCES mg.core_company);
CREATE INDEX core_invoiceentity_company ON mg.core_invoiceentity (company_id);
CREATE TABLE mg.core_note (id bigint PRIMARY KEY);
SELECT NULL::void FROM schema_guard.expect(schema_guard.snapshot(ARRAY['mg']), 'models');
DROP TABLE mg.core_invoiceentity, mg.core_note;
ALTER TABLE mg.core_company DROP COLUMN iec;
INSERT INTO mg.django_migrations (app, name, applied)
  VALUES ('core', '0001_initial', now()), ('core', '0002_iec', now());
SELECT NULL::void FROM schema_guard.declare_migrations($${"format": "schema_guard.migrations/1", "framework": "django",
  "history_table": "mg.django_migrations", "migrations": [
  {"app": "core", "name": "0001_initial", "creates": {"tables": ["core_company"]}},
  {"app": "core", "name": "0002_iec", "dependencies": [["core", "0001_initial"]],
   "creates": {"columns": [["core_company", "iec"]]}},
  {"app": "core", "name": "0003_invoiceentity", "dependencies": [["core", "0002_iec"]],
   "creates": {"tables": ["core_invoiceentity"]}}]}$$);

CREATE TEMP TABLE f AS SELECT * FROM schema_guard.check();
SELECT is((SELECT fix FROM f WHERE kind = 'missing_table' AND object = 'mg.core_invoiceentity'),
  '-- created by core.0003_invoiceentity, which is not applied: run `python manage.py migrate core`',
  'a table a pending migration creates: apply the migration, not DDL');
SELECT is((SELECT message FROM f WHERE kind = 'missing_table' AND object = 'mg.core_invoiceentity'),
  'table mg.core_invoiceentity is missing (created by core.0003_invoiceentity, which is not applied)',
  'the message says which migration');
SELECT is((SELECT array_agg(fix ORDER BY kind) FROM f WHERE cause = 'missing_table mg.core_invoiceentity'),
  ARRAY['-- created with mg.core_invoiceentity by core.0003_invoiceentity',
        '-- created with mg.core_invoiceentity by core.0003_invoiceentity'],
  'its foreign key and index come with the migration');
SELECT alike((SELECT fix FROM f WHERE kind = 'missing_column'),
  '-- created by core.0002_iec, which is recorded as applied but did not run: delete its row from the history table and run `python manage.py migrate core`',
  'a column a faked migration creates says so');
SELECT alike((SELECT fix FROM f WHERE kind = 'missing_table' AND object = 'mg.core_note'),
  'CREATE TABLE mg.core_note%', 'a table no migration creates gets its DDL');
SELECT is((SELECT hazards FROM f WHERE kind = 'missing_table' AND object = 'mg.core_invoiceentity'),
  '{}'::text[], 'applying a migration has no hazard schema_guard can name');
SELECT alike(schema_check(),
  '%table mg.core_invoiceentity is missing (created by core.0003_invoiceentity, which is not applied), with 1 index and 1 foreign key%',
  'the report says it, folded');

SELECT * FROM finish();
ROLLBACK;
