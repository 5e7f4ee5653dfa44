-- schema_guard 0.1.0: the DDL audit.
\echo Use "CREATE EXTENSION schema_guard" to load this file. \quit

-- Readers of the audit. Roles are cluster-wide: another database may have
-- created it already.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'schema_guard_reader') THEN
    CREATE ROLE schema_guard_reader NOLOGIN;
  END IF;
END
$$;

GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;

-- One row per object a DDL statement created, altered or dropped. Written by
-- the event triggers in the DDL's own transaction; append-only for everyone
-- but superusers (see prune_audit). Column order is relied upon by the
-- event triggers: upgrades must only append columns.
CREATE SEQUENCE @extschema@.ddl_event_event_id_seq;
CREATE TABLE @extschema@.ddl_event (
  event_id          bigint      NOT NULL DEFAULT pg_catalog.nextval('@extschema@.ddl_event_event_id_seq'),
  occurred_at       timestamptz NOT NULL,
  txid              xid8        NOT NULL,
  role_name         text        NOT NULL,
  current_role_name text        NOT NULL,
  application_name  text,
  client_addr       inet,
  backend_pid       integer     NOT NULL,
  backend_start     timestamptz NOT NULL,
  command_tag       text        NOT NULL,
  object_type       text        NOT NULL,
  schema_name       text,
  object_identity   text        NOT NULL,
  statement         text,
  in_extension      boolean     NOT NULL,
  rewrite           boolean     NOT NULL,
  migration         text,
  CONSTRAINT ddl_event_pkey PRIMARY KEY (event_id)
);
ALTER SEQUENCE @extschema@.ddl_event_event_id_seq OWNED BY @extschema@.ddl_event.event_id;
CREATE INDEX ddl_event_txid_idx ON @extschema@.ddl_event (txid);

COMMENT ON TABLE @extschema@.ddl_event IS
  'DDL audit: one row per object a statement created, altered or dropped';
COMMENT ON COLUMN @extschema@.ddl_event.migration IS
  'the migration that made the change (see README, "Migration attribution"); NULL is drift';

-- One row per write to a migration history table.
CREATE TABLE @extschema@.migration_event (
  event_id         bigserial   PRIMARY KEY,
  occurred_at      timestamptz NOT NULL,
  txid             xid8        NOT NULL,
  backend_pid      integer     NOT NULL,
  backend_start    timestamptz NOT NULL,
  role_name        text        NOT NULL,
  application_name text,
  framework        text        NOT NULL,
  history_table    text        NOT NULL,
  operation        text        NOT NULL,
  migration        text        NOT NULL,
  ddl_events       bigint      NOT NULL,
  high_water       bigint      NOT NULL
);
CREATE INDEX migration_event_backend_idx
  ON @extschema@.migration_event (backend_pid, backend_start);

COMMENT ON TABLE @extschema@.migration_event IS
  'one row per migration recorded in a history table, with how many audited DDL events it was credited with';

REVOKE ALL ON @extschema@.ddl_event, @extschema@.migration_event FROM PUBLIC;
REVOKE ALL ON SEQUENCE @extschema@.ddl_event_event_id_seq,
              @extschema@.migration_event_event_id_seq FROM PUBLIC;
GRANT SELECT ON @extschema@.ddl_event, @extschema@.migration_event TO schema_guard_reader;

-- pg_dump carries the audit.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ddl_event', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ddl_event_event_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.migration_event', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.migration_event_event_id_seq', '');

-- The event triggers.
CREATE FUNCTION @extschema@.ddl_command_end() RETURNS event_trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'schema_guard_ddl_command_end';
CREATE FUNCTION @extschema@.sql_drop() RETURNS event_trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'schema_guard_sql_drop';
CREATE FUNCTION @extschema@.table_rewrite() RETURNS event_trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'schema_guard_table_rewrite';

CREATE EVENT TRIGGER schema_guard_ddl_command_end ON ddl_command_end
  EXECUTE FUNCTION @extschema@.ddl_command_end();
CREATE EVENT TRIGGER schema_guard_sql_drop ON sql_drop
  EXECUTE FUNCTION @extschema@.sql_drop();
CREATE EVENT TRIGGER schema_guard_table_rewrite ON table_rewrite
  EXECUTE FUNCTION @extschema@.table_rewrite();

-- Migration attribution through history tables.
CREATE FUNCTION @extschema@.history_row() RETURNS trigger
  LANGUAGE c AS 'MODULE_PATHNAME', 'schema_guard_history_row';
REVOKE ALL ON FUNCTION @extschema@.history_row() FROM PUBLIC;

CREATE FUNCTION @extschema@.watch_history_table(table_name text, framework text DEFAULT NULL)
  RETURNS boolean LANGUAGE c AS 'MODULE_PATHNAME', 'schema_guard_watch_history_table';
COMMENT ON FUNCTION @extschema@.watch_history_table(text, text) IS
  'attribute DDL to the migrations recorded in this history table';

CREATE FUNCTION @extschema@.watch_history_tables() RETURNS integer
  LANGUAGE c AS 'MODULE_PATHNAME', 'schema_guard_watch_history_tables';
COMMENT ON FUNCTION @extschema@.watch_history_tables() IS
  'watch every table with a history table''s default name; returns how many were newly watched';

CREATE VIEW @extschema@.history_tables AS
  SELECT t.tgrelid::regclass AS history_table,
         pg_catalog.split_part(pg_catalog.encode(t.tgargs, 'escape'), '\000', 1) AS framework,
         t.tgenabled <> 'D' AS enabled
  FROM pg_catalog.pg_trigger t
  WHERE t.tgfoid = '@extschema@.history_row()'::pg_catalog.regprocedure;
GRANT SELECT ON @extschema@.history_tables TO PUBLIC;

-- The audit read back.
CREATE FUNCTION @extschema@.drift(since timestamptz DEFAULT NULL)
  RETURNS SETOF @extschema@.ddl_event
  LANGUAGE sql STABLE
  SET search_path = pg_catalog, pg_temp
AS $$
  SELECT e.*
  FROM @extschema@.ddl_event e
  WHERE e.migration IS NULL
    AND NOT e.in_extension
    AND (since IS NULL OR e.occurred_at >= since)
  ORDER BY e.event_id
$$;
COMMENT ON FUNCTION @extschema@.drift(timestamptz) IS
  'audited DDL that no migration made';

CREATE FUNCTION @extschema@.prune_audit(older_than interval)
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
  IF older_than IS NULL OR older_than < interval '0' THEN
    RAISE EXCEPTION 'invalid retention interval: %', coalesce(older_than::text, 'NULL')
      USING ERRCODE = '22023',
            DETAIL = 'Rows older than this interval are removed; it must not be negative.',
            HINT = 'Pass an interval such as ''90 days''.';
  END IF;
  DELETE FROM @extschema@.ddl_event WHERE occurred_at < now() - older_than;
  GET DIAGNOSTICS removed = ROW_COUNT;
  DELETE FROM @extschema@.migration_event WHERE occurred_at < now() - older_than;
  RETURN removed;
END
$$;
REVOKE ALL ON FUNCTION @extschema@.prune_audit(interval) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.prune_audit(interval) IS
  'superuser only: remove audit rows older than the interval; returns how many DDL events were removed';

-- History tables that exist already.
SELECT @extschema@.watch_history_tables();
