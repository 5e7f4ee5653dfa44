-- Bad values for schema_guard's settings get PostgreSQL's own errors, or
-- ours, with a detail and a hint; the 10 MB label is not echoed back.
CREATE EXTENSION IF NOT EXISTS schema_guard;
LOAD 'schema_guard';
SET schema_guard.audit = 'maybe';
SET schema_guard.audit_max_statement_bytes = 10;
SET schema_guard.audit_max_statement_bytes = '1GB';
SET schema_guard.audit_max_statement_bytes = 'lots';
SET schema_guard.audit_max_statement_bytes = '16kB';
SHOW schema_guard.audit_max_statement_bytes;
RESET schema_guard.audit_max_statement_bytes;
SET schema_guard.audit_ignore_schemas = '"unterminated';
SET schema_guard.audit_ignore_schemas = 'scratch, "Odd Schema", pg_temp';
SHOW schema_guard.audit_ignore_schemas;
RESET schema_guard.audit_ignore_schemas;
SELECT set_config('schema_guard.migration', repeat('x', 10 * 1024 * 1024), false);
\echo :LAST_ERROR_SQLSTATE
SELECT set_config('schema_guard.migration', repeat('x', 1025), false);
SELECT set_config('schema_guard.migration', E'core.0001\ninitial', false);
\echo :LAST_ERROR_SQLSTATE
SELECT set_config('schema_guard.migration', 'core.0003_"quoted" ünïcode', false);
RESET schema_guard.migration;
SET schema_guard.no_such_setting = 1;

-- Only superusers can turn the audit off or change what it keeps.
CREATE ROLE sg_settings_plain;
SET ROLE sg_settings_plain;
SET schema_guard.audit = off;
SET schema_guard.audit_max_statement_bytes = '1kB';
SET schema_guard.audit_ignore_schemas = 'public';
SET schema_guard.migration = 'core.0004_by_a_plain_role';
SHOW schema_guard.migration;
-- Any role sets schema_guard.progress: milliseconds, 0 (off) to a day.
SHOW schema_guard.progress;
SET schema_guard.progress = '250ms';
SHOW schema_guard.progress;
SET schema_guard.progress = 0;
SHOW schema_guard.progress;
SET schema_guard.progress = -1;
SET schema_guard.progress = '2d';
SET schema_guard.progress = 'often';
RESET schema_guard.progress;
RESET ROLE;
DROP ROLE sg_settings_plain;
