-- schema_check() on a Django licence-management project: the models (the
-- expected schema, as a Django export would give it) against a production
-- database that drifted: three model tables never created, JWT blacklist
-- tables nobody modelled, a widened column and a hand-added one.
CREATE EXTENSION IF NOT EXISTS schema_guard;
-- The demo's migration graph is another project's: with it declared, a
-- missing table that one of its migrations creates would point at that
-- migration (see schema_migrations.sql).
DELETE FROM schema_guard.migration_graph;
CREATE SCHEMA lic;
SET search_path = lic;
\set ECHO none
\i test/fixtures/licence_project.sql
\set ECHO all

-- The models: every table but the many-to-many join tables, which Django
-- creates for the models and the manifest lists as join tables. Like a
-- Django export, the manifest covers no "kinds" beyond tables (functions,
-- owners, grants, comments ... are not specified, so not compared).
SELECT schema_guard.expect(
  jsonb_set(m - 'kinds', '{tables}',
            (SELECT jsonb_agg(t) FROM jsonb_array_elements(m -> 'tables') t
             WHERE NOT (m -> 'join_tables') ? ('lic.' || (t ->> 'name')))),
  'django models (manage.py schema_guard_export)')
FROM schema_guard.snapshot(ARRAY['lic']) AS m;
SELECT jsonb_array_length(manifest -> 'join_tables') AS join_tables
FROM schema_guard.expected_schema;
UPDATE schema_guard.expected_schema SET set_at = '2026-11-01 09:00:00+00';

-- Production as it is.
DROP TABLE core_invoiceentity, license_invoiceitem, license_invoice, trade_licensetradeline,
           trade_licensetrade;
CREATE TABLE token_blacklist_outstandingtoken (id bigserial PRIMARY KEY, jti varchar(255) NOT NULL UNIQUE);
CREATE TABLE token_blacklist_blacklistedtoken (id bigserial PRIMARY KEY,
  token_id bigint NOT NULL UNIQUE REFERENCES token_blacklist_outstandingtoken (id));
SELECT schema_guard.ignore('token_blacklist_%', 'JWT blacklist (djangorestframework-simplejwt)');
ALTER TABLE core_company ALTER COLUMN name TYPE varchar(300);
ALTER TABLE license_licensedetail ADD COLUMN legacy_ref text;

SELECT schema_check();
SELECT schema_check('trade');
SELECT schema_check('bill_of_entry', true);

SELECT severity, kind, app, object, cause FROM schema_guard.check() ORDER BY app, kind, object;
SELECT jsonb_pretty(schema_guard.check_json('core') -> 'summary');
SELECT schema_guard.fix_script('trade');
SELECT schema_guard.fix_script('core', online => false, include_drops => true);

-- Without an expected schema.
DELETE FROM schema_guard.expected_schema;
SELECT schema_check();
SELECT * FROM schema_guard.check();

RESET search_path;
DROP SCHEMA lic CASCADE;
DELETE FROM schema_guard.ignore_rule;
