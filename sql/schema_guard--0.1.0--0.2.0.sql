-- schema_guard 0.1.0 -> 0.2.0. Each change to schema_guard--0.2.0.sql has its
-- counterpart here; test/shell/upgrade.sh checks that an updated 0.1.0
-- database has exactly the objects of a fresh 0.2.0 install, and its data.
-- Tables only gain columns at the end, as the fresh script declares them.
\echo Use "ALTER EXTENSION schema_guard UPDATE TO '0.2.0'" to load this file. \quit

-- The audit takes event ids from the table itself, not from a sequence: a
-- nextval() changed the session's lastval().
ALTER EXTENSION schema_guard DROP SEQUENCE @extschema@.ddl_event_event_id_seq;
DROP SEQUENCE @extschema@.ddl_event_event_id_seq;

-- Claims of a migration that did not count.
ALTER TABLE @extschema@.ddl_capture ADD COLUMN claimed_migration text;
CREATE OR REPLACE VIEW @extschema@.ddl_event AS
  SELECT c.first_event_id + o.n - 1 AS event_id,
         c.occurred_at, c.txid, c.role_name, c.current_role_name,
         c.application_name, c.client_addr, c.backend_pid, c.backend_start,
         o.command_tag, o.object_type, o.schema_name, o.object_identity,
         c.statement, c.in_extension,
         coalesce(o.n OPERATOR(pg_catalog.=) ANY (c.rewritten), false) AS rewrite,
         c.migration, c.claimed_migration
  FROM @extschema@.ddl_capture c
  CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(c.command_tags),
                                pg_catalog.unnest(c.object_types),
                                pg_catalog.unnest(c.schema_names),
                                pg_catalog.unnest(c.object_identities))
    WITH ORDINALITY AS o(command_tag, object_type, schema_name, object_identity, n);
COMMENT ON COLUMN @extschema@.ddl_event.claimed_migration IS
  'a migration label the session set that did not count: set outside the session, or by a role that may not write the framework''s history table';
ALTER TABLE @extschema@.migration_event ADD COLUMN refused text;

CREATE OR REPLACE FUNCTION @extschema@.prune_audit(older_than interval)
  RETURNS bigint
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  removed bigint;
BEGIN
  IF NOT (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user) THEN
    RAISE EXCEPTION 'permission denied to prune the audit'
      USING ERRCODE = '42501',
            DETAIL = 'Audit rows can only be removed by a superuser.',
            HINT = 'Ask a superuser to run schema_guard.prune_audit().';
  END IF;
  IF older_than IS NULL THEN
    RAISE EXCEPTION 'retention interval must not be null'
      USING ERRCODE = '22004',
            DETAIL = 'Rows older than this interval are removed.',
            HINT = 'Pass an interval such as ''90 days''.';
  END IF;
  IF older_than < interval '0' THEN
    RAISE EXCEPTION 'invalid retention interval: %', older_than
      USING ERRCODE = '22023',
            DETAIL = 'Rows older than this interval are removed; it must not be negative.',
            HINT = 'Pass an interval such as ''90 days''.';
  END IF;
  WITH gone AS (
    DELETE FROM @extschema@.ddl_capture WHERE occurred_at < now() - older_than
    RETURNING pg_catalog.cardinality(object_identities) AS objects)
  SELECT coalesce(sum(objects), 0) INTO removed FROM gone;
  DELETE FROM @extschema@.migration_event WHERE occurred_at < now() - older_than;
  RETURN removed;
END
$$;

-- The declared graph's binary form: a session's first check loads it
-- without parsing the JSON document (graphs declared by 0.1.0 keep NULL and
-- are parsed from graph_text until they are declared again).
ALTER TABLE @extschema@.migration_graph ADD COLUMN graph_digest bytea;
ALTER TABLE @extschema@.migration_graph ALTER COLUMN graph_digest SET STORAGE EXTERNAL;

-- ---------------------------------------------------------------------
-- Migration lint and the DDL guard (docs/lint.md).

CREATE FUNCTION @extschema@.lint(sql text, assume_in_transaction boolean DEFAULT false)
  RETURNS TABLE (statement_no integer, line integer, rule text, severity text,
                 object text, message text, hint text, lock text,
                 table_rows bigint, table_bytes bigint)
  LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'schema_guard_lint';
COMMENT ON FUNCTION @extschema@.lint(text, boolean) IS
  'lock-safety findings of a migration script, scaled by the live sizes of the tables it touches';

-- Statements the DDL guard flagged that ran all the same: warned
-- (schema_guard.guard = warn) or overridden (the session turned the guard
-- off). A blocked statement leaves no row: its transaction rolls back; its
-- ERROR names the rule (docs/lint.md).
CREATE TABLE @extschema@.guard_event (
  event_id     bigserial   PRIMARY KEY,
  occurred_at  timestamptz NOT NULL,
  txid         xid8        NOT NULL,
  role_name    text        NOT NULL,
  action       text        NOT NULL CHECK (action IN ('warned', 'overridden')),
  rule         text        NOT NULL,
  object       text,
  lock         text,
  table_rows   bigint,
  table_bytes  bigint,
  statement    text,
  migration    text
);
COMMENT ON TABLE @extschema@.guard_event IS
  'DDL guard: flagged statements that ran, warned or with the guard turned off';
REVOKE ALL ON @extschema@.guard_event FROM PUBLIC;
REVOKE ALL ON SEQUENCE @extschema@.guard_event_event_id_seq FROM PUBLIC;
GRANT SELECT ON @extschema@.guard_event TO schema_guard_reader;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.guard_event', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.guard_event_event_id_seq', '');

-- The guard: the lint rules on the statement about to run (and, through
-- the audit's table_rewrite trigger, on every table a statement rewrites).
-- Only the command tags some rule is about fire it.
CREATE FUNCTION @extschema@.ddl_command_start() RETURNS event_trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'schema_guard_ddl_command_start';
CREATE EVENT TRIGGER schema_guard_ddl_command_start ON ddl_command_start
  WHEN TAG IN ('ALTER TABLE', 'CREATE INDEX', 'DROP INDEX', 'DROP TABLE')
  EXECUTE FUNCTION @extschema@.ddl_command_start();

-- A finding names the finding it follows from (a missing table's indexes
-- and foreign keys follow from the missing table).
ALTER TYPE @extschema@.finding ADD ATTRIBUTE cause text;
