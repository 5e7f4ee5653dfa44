-- The wall between C++ and PostgreSQL, driven both ways through
-- schema_guard.watch_history_table(), whose C++ code resolves the table
-- through PostgreSQL and validates the framework in the core.
CREATE EXTENSION IF NOT EXISTS schema_guard;
CREATE TABLE deploy_history (version text, description text);
CREATE VIEW deploy_history_view AS SELECT * FROM deploy_history;

-- A core error (unknown framework) surfaces as 22023 with detail and hint.
SELECT schema_guard.watch_history_table('deploy_history', 'sqitch');
\echo :LAST_ERROR_SQLSTATE

-- PostgreSQL errors raised under C++ code keep their own SQLSTATE:
-- a missing relation (42P01) ...
SELECT schema_guard.watch_history_table('no_such_history', 'flyway');
\echo :LAST_ERROR_SQLSTATE
-- ... a malformed name (42602) ...
SELECT schema_guard.watch_history_table('"unterminated', 'flyway');
\echo :LAST_ERROR_SQLSTATE
-- ... and a missing schema (3F000).
SELECT schema_guard.watch_history_table('nowhere.deploy_history', 'flyway');
\echo :LAST_ERROR_SQLSTATE

-- Core errors after catalog lookups: a view (42809), missing columns (42703),
-- a table whose name names no framework (22023).
SELECT schema_guard.watch_history_table('deploy_history_view', 'flyway');
\echo :LAST_ERROR_SQLSTATE
SELECT schema_guard.watch_history_table('deploy_history', 'django');
\echo :LAST_ERROR_SQLSTATE
SELECT schema_guard.watch_history_table('deploy_history');
\echo :LAST_ERROR_SQLSTATE

-- The backend still serves queries, and a savepoint recovers from the error.
SELECT 1 AS still_serving;
BEGIN;
SAVEPOINT before_error;
SELECT schema_guard.watch_history_table('no_such_history', 'flyway');
ROLLBACK TO SAVEPOINT before_error;
SELECT schema_guard.watch_history_table('deploy_history', 'flyway') AS attached;
COMMIT;
SELECT schema_guard.watch_history_table('deploy_history', 'flyway') AS attached_again;
SELECT history_table, framework, enabled FROM schema_guard.history_tables
  WHERE history_table = 'deploy_history'::regclass;

-- The trigger and event trigger functions refuse direct calls.
SELECT schema_guard.history_row();

DROP VIEW deploy_history_view;
DROP TABLE deploy_history;
