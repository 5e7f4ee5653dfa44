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
CREATE INDEX migration_event_without_ddl_idx
  ON @extschema@.migration_event (framework, migration)
  WHERE ddl_events = 0 AND operation = 'INSERT';

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

-- ---------------------------------------------------------------------
-- Staging (issue 11): batch ids from a sequence pg_dump carries, staged
-- payloads as json, a row trigger that serialises staging with applying,
-- payloads visible to their batch's role only, the feed functions,
-- retention.

-- stage_batches.batch_id: the identity's sequence is not in a dump, so
-- batch ids come from a plain sequence (continuing where the identity was).
DO $$
DECLARE
  last_id bigint;
  called boolean;
BEGIN
  SELECT s.last_value, s.is_called INTO last_id, called
  FROM @extschema@.stage_batches_batch_id_seq s;
  ALTER TABLE @extschema@.stage_batches ALTER COLUMN batch_id DROP IDENTITY;
  CREATE SEQUENCE @extschema@.stage_batches_batch_id_seq AS bigint;
  PERFORM pg_catalog.setval('@extschema@.stage_batches_batch_id_seq', last_id, called);
END
$$;
ALTER TABLE @extschema@.stage_batches ALTER COLUMN batch_id
  SET DEFAULT pg_catalog.nextval('@extschema@.stage_batches_batch_id_seq'::pg_catalog.regclass);
ALTER SEQUENCE @extschema@.stage_batches_batch_id_seq OWNED BY @extschema@.stage_batches.batch_id;
ALTER TABLE @extschema@.stage_batches
  ADD COLUMN last_staged_at timestamptz,
  ADD COLUMN purged_at timestamptz;
COMMENT ON COLUMN @extschema@.stage_batches.purged_at IS
  'when the staged rows of the applied batch were removed (schema_guard.stage_retention)';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.stage_batches_batch_id_seq', '');

-- staged_row: json payloads; seq through staged_seq(); the row trigger
-- becomes a CHECK constraint (COPY inserts in groups).
DROP TRIGGER staged_row_check ON @extschema@.staged_row;
DROP FUNCTION @extschema@.staged_row_check();
ALTER FUNCTION @extschema@.current_batch() STABLE;
ALTER TABLE @extschema@.staged_row ALTER COLUMN payload TYPE json USING payload::json;
CREATE FUNCTION @extschema@.staged_seq(value bigint) RETURNS bigint
  LANGUAGE c STABLE STRICT AS 'MODULE_PATHNAME', 'schema_guard_staged_seq';
CREATE FUNCTION @extschema@.staged_row_check(batch bigint, seq bigint) RETURNS boolean
  LANGUAGE c VOLATILE STRICT AS 'MODULE_PATHNAME', 'schema_guard_staged_row_batch_check';
ALTER TABLE @extschema@.staged_row ALTER COLUMN seq
  SET DEFAULT @extschema@.staged_seq(pg_catalog.nextval('@extschema@.staged_row_seq'::pg_catalog.regclass));
ALTER TABLE @extschema@.staged_row ADD CONSTRAINT staged_row_batch_open
  CHECK (@extschema@.staged_row_check(batch_id, seq));
COMMENT ON TABLE @extschema@.staged_row IS
  'staging: the rows of batches as JSON objects (column name -> value); COPY-able; read them through schema_guard.batch_rows';

-- stage_rejected: json payloads, the versions of superseded and stale rows.
ALTER TABLE @extschema@.stage_rejected
  ALTER COLUMN payload TYPE json USING payload::json,
  ADD COLUMN version text,
  ADD COLUMN kept_version text,
  ADD COLUMN kept_seq bigint;
COMMENT ON TABLE @extschema@.stage_rejected IS
  'staging: the quarantine, every staged row an apply did not write: rejected with its problem, superseded or stale';
COMMENT ON COLUMN @extschema@.stage_rejected.version IS
  'newer_wins: the row''s version_column value';
COMMENT ON COLUMN @extschema@.stage_rejected.kept_version IS
  'newer_wins: the version kept instead (the stored row''s for stale, the winner''s for superseded)';
COMMENT ON COLUMN @extschema@.stage_rejected.kept_seq IS
  'superseded: the seq of the row of the batch that won';

-- A batch's rows are visible to the role that opened it only.
CREATE VIEW @extschema@.batch_rows WITH (security_barrier) AS
  SELECT r.batch_id, r.seq, r.payload
  FROM @extschema@.staged_row r
  WHERE EXISTS (
    SELECT 1 FROM @extschema@.stage_batches b
    JOIN pg_catalog.pg_roles o ON o.rolname OPERATOR(pg_catalog.=) b.opened_by
    WHERE b.batch_id OPERATOR(pg_catalog.=) r.batch_id
      AND pg_catalog.pg_has_role(o.oid, 'MEMBER'));
COMMENT ON VIEW @extschema@.batch_rows IS
  'staging: the staged rows of your batches';
ALTER TABLE @extschema@.stage_rejected ENABLE ROW LEVEL SECURITY;
CREATE POLICY stage_rejected_opener ON @extschema@.stage_rejected FOR SELECT
  USING (EXISTS (
    SELECT 1 FROM @extschema@.stage_batches b
    JOIN pg_catalog.pg_roles o ON o.rolname OPERATOR(pg_catalog.=) b.opened_by
    WHERE b.batch_id OPERATOR(pg_catalog.=) stage_rejected.batch_id
      AND pg_catalog.pg_has_role(o.oid, 'MEMBER')));
REVOKE ALL ON @extschema@.batch_rows FROM PUBLIC;
REVOKE SELECT ON @extschema@.staged_row FROM schema_guard_sync;
REVOKE SELECT ON @extschema@.stage_rejected FROM schema_guard_reader;
GRANT SELECT ON @extschema@.batch_rows TO schema_guard_sync;

CREATE FUNCTION @extschema@.stage_purge() RETURNS bigint
  LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'schema_guard_stage_purge';
COMMENT ON FUNCTION @extschema@.stage_purge() IS
  'remove the staged rows of batches applied longer ago than schema_guard.stage_retention; returns how many';
CREATE FUNCTION @extschema@.stage_feed(token bigint, shape anyelement)
  RETURNS SETOF anyelement LANGUAGE c VOLATILE
  AS 'MODULE_PATHNAME', 'schema_guard_stage_feed';
CREATE FUNCTION @extschema@.stage_feed_keep(token bigint, failed text[], selected boolean)
  RETURNS boolean LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'schema_guard_stage_feed_keep';
CREATE FUNCTION @extschema@.stage_feed_fresh(token bigint, stale boolean, stored text, incoming text)
  RETURNS boolean LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'schema_guard_stage_feed_fresh';
CREATE FUNCTION @extschema@.stage_feed_written(token bigint)
  RETURNS boolean LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'schema_guard_stage_feed_written';
CREATE FUNCTION @extschema@.stage_feed_in_batch(token bigint, VARIADIC key "any")
  RETURNS boolean LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'schema_guard_stage_feed_in_batch';
CREATE FUNCTION @extschema@.stage_feed_carries(token bigint, column_number integer)
  RETURNS boolean LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'schema_guard_stage_feed_carries';
COMMENT ON FUNCTION @extschema@.stage_feed(bigint, anyelement) IS
  'internal: the converted rows of the batch stage_validate() or stage_apply() is reading';
REVOKE ALL ON FUNCTION @extschema@.staged_seq(bigint),
                       @extschema@.staged_row_check(bigint, bigint),
                       @extschema@.stage_purge(),
                       @extschema@.stage_feed(bigint, anyelement),
                       @extschema@.stage_feed_keep(bigint, text[], boolean),
                       @extschema@.stage_feed_fresh(bigint, boolean, text, text),
                       @extschema@.stage_feed_written(bigint),
                       @extschema@.stage_feed_in_batch(bigint, "any"),
                       @extschema@.stage_feed_carries(bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.staged_seq(bigint),
                          @extschema@.staged_row_check(bigint, bigint),
                          @extschema@.stage_purge(),
                          @extschema@.stage_feed(bigint, anyelement),
                          @extschema@.stage_feed_keep(bigint, text[], boolean),
                          @extschema@.stage_feed_fresh(bigint, boolean, text, text),
                          @extschema@.stage_feed_written(bigint),
                          @extschema@.stage_feed_in_batch(bigint, "any"),
                          @extschema@.stage_feed_carries(bigint, integer) TO schema_guard_sync;

-- CI: one call that fails when the checks do.

-- Raises SQLSTATE SG001 (class SG is schema_guard's own) when the schema
-- check or the migration check has findings at or above fail_on, so
-- psql -v ON_ERROR_STOP=1 -c 'SELECT schema_guard.assert_clean()' exits
-- non-zero. The schema is checked when an expected schema is set, the
-- migrations always (failed rows and duplicates need no graph); with
-- neither an expected schema nor a declared graph nor a watched history
-- table there is nothing to check, and that is an error too (55000).
-- Deliberately without a pinned search_path: a graph's unqualified "creates"
-- tables are looked up through the caller's search_path, as a direct call of
-- migration_check() does. So every function and operator here is qualified
-- (no simple CASE: it compares with an unqualified =), and the function runs
-- with the caller's rights (test/pgtap/search_path.sql plants look-alikes).
CREATE FUNCTION @extschema@.assert_clean(fail_on text DEFAULT 'error')
  RETURNS text
  LANGUAGE plpgsql
AS $$
DECLARE
  threshold integer;
  has_schema boolean;
  has_migrations boolean;
  found text[];
  shown integer := 50;
BEGIN
  threshold := CASE WHEN fail_on OPERATOR(pg_catalog.=) 'error' THEN 2
                    WHEN fail_on OPERATOR(pg_catalog.=) 'warning' THEN 1
                    WHEN fail_on OPERATOR(pg_catalog.=) 'info' THEN 0 END;
  IF threshold IS NULL THEN
    RAISE EXCEPTION 'invalid severity "%"', coalesce(fail_on, 'NULL')
      USING ERRCODE = '22023',
            DETAIL = 'Findings at or above this severity fail the check.',
            HINT = 'Pass ''error'', ''warning'' or ''info''.';
  END IF;
  has_schema := EXISTS (SELECT FROM @extschema@.expected_schema);
  has_migrations := EXISTS (SELECT FROM @extschema@.migration_graph)
                    OR EXISTS (SELECT FROM @extschema@.history_tables);
  IF NOT has_schema AND NOT has_migrations THEN
    RAISE EXCEPTION 'nothing to check'
      USING ERRCODE = '55000',
            DETAIL = 'No expected schema is set, no migration graph is declared and no migration history table is watched.',
            HINT = 'Load the expected schema with schema_guard.expect() or schema_guard.baseline() and the graph with schema_guard.declare_migrations() first.';
  END IF;
  WITH f AS (
    SELECT 1 AS part, c.severity, c.kind, c.app, c.object, c.message
    FROM @extschema@.check() c WHERE has_schema
    UNION ALL
    SELECT 2, m.severity, m.kind, m.app, m.object, m.message
    FROM @extschema@.migration_check() m
  ), ranked AS (
    SELECT f.*, CASE WHEN f.severity OPERATOR(pg_catalog.=) 'error' THEN 2
                     WHEN f.severity OPERATOR(pg_catalog.=) 'warning' THEN 1 ELSE 0 END AS rank
    FROM f
  )
  SELECT pg_catalog.array_agg(pg_catalog.format('%s %s %s%s: %s', f.severity, f.kind, f.object,
                                     coalesce(' (app ' OPERATOR(pg_catalog.||) f.app OPERATOR(pg_catalog.||) ')', ''),
                                     f.message)
                   ORDER BY f.part, f.rank DESC, f.kind, f.object)
  INTO found
  FROM ranked f
  WHERE f.rank OPERATOR(pg_catalog.>=) threshold;
  IF found IS NOT NULL THEN
    RAISE EXCEPTION '% finding% at or above %', pg_catalog.cardinality(found),
                    CASE WHEN pg_catalog.cardinality(found) OPERATOR(pg_catalog.=) 1 THEN '' ELSE 's' END,
                    fail_on
      USING ERRCODE = 'SG001',
            DETAIL = pg_catalog.array_to_string(found[1:shown], E'\n')
                     OPERATOR(pg_catalog.||)
                     CASE WHEN pg_catalog.cardinality(found) OPERATOR(pg_catalog.>) shown
                          THEN pg_catalog.format(E'\n... and %s more', pg_catalog.cardinality(found) OPERATOR(pg_catalog.-) shown)
                          ELSE '' END,
            HINT = 'SELECT schema_check(); and SELECT migration_check(); show the reports and the fixes.';
  END IF;
  RETURN pg_catalog.format('schema_guard: no findings at or above %s (%s)', fail_on,
                           CASE WHEN has_schema THEN 'schema and migrations checked'
                                ELSE 'migrations checked; no expected schema is set' END);
END
$$;
COMMENT ON FUNCTION @extschema@.assert_clean(text) IS
  'raise SQLSTATE SG001 when the schema or migration check has findings at or above fail_on';

-- A finding names the finding it follows from (a missing table's indexes
-- and foreign keys follow from the missing table).
ALTER TYPE @extschema@.finding ADD ATTRIBUTE cause text;
