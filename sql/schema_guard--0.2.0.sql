-- schema_guard 0.2.0: install script.
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

-- The DDL audit is stored one row per event-trigger call (one statement's
-- created and altered objects, or its dropped ones) with the objects as
-- arrays: the statement, the session and the transaction are stored once,
-- not once per object, and a statement costs one heap and one index insert.
-- Written by the event triggers in the DDL's own transaction; append-only for
-- everyone but superusers (see prune_audit). Read it through the view
-- ddl_event below. Column order is relied upon by the event triggers:
-- upgrades must only append columns.
-- The objects of a row have the consecutive event ids first_event_id,
-- first_event_id + 1, ...; a transaction takes ids a block of 64 at a time
-- (the block after the highest id in the table, so ids increase but have
-- gaps, and continue after a restore), and a call with more objects than a
-- block holds takes several blocks and writes a row per block. No sequence:
-- nextval() would change the session's lastval().
CREATE TABLE @extschema@.ddl_capture (
  first_event_id    bigint      NOT NULL,
  occurred_at       timestamptz NOT NULL,
  txid              xid8        NOT NULL,
  role_name         text        NOT NULL,
  current_role_name text        NOT NULL,
  application_name  text,
  client_addr       inet,
  backend_pid       integer     NOT NULL,
  backend_start     timestamptz NOT NULL,
  statement         text,
  in_extension      boolean     NOT NULL,
  migration         text,
  -- One element per object, in event id order.
  command_tags      text[]      NOT NULL,
  object_types      text[]      NOT NULL,
  schema_names      text[]      NOT NULL,
  object_identities text[]      NOT NULL,
  -- The positions (1-based) of the objects that are rewritten tables; NULL
  -- when there are none.
  rewritten         integer[],
  CONSTRAINT ddl_capture_pkey PRIMARY KEY (first_event_id),
  -- 0.2.0: a schema_guard.migration label the session set that did not
  -- count (see "Migration attribution"); migration is then NULL.
  claimed_migration text
);
-- No index on txid: a transaction's own events are found through the
-- primary key from the first id it wrote (kept in the backend).

COMMENT ON TABLE @extschema@.ddl_capture IS
  'DDL audit storage: one row per event-trigger call, its objects as arrays; read it through schema_guard.ddl_event';

-- One row per object a DDL statement created, altered or dropped.
CREATE VIEW @extschema@.ddl_event AS
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

COMMENT ON VIEW @extschema@.ddl_event IS
  'DDL audit: one row per object a statement created, altered or dropped';
COMMENT ON COLUMN @extschema@.ddl_event.migration IS
  'the migration that made the change (see README, "Migration attribution"); NULL is drift';
COMMENT ON COLUMN @extschema@.ddl_event.claimed_migration IS
  'a migration label the session set that did not count: set outside the session, or by a role that may not write the framework''s history table';

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
  high_water       bigint      NOT NULL,
  -- 0.2.0: why the write attributed nothing (its role may not write the
  -- framework's history table); NULL when it counted.
  refused          text
);
CREATE INDEX migration_event_backend_idx
  ON @extschema@.migration_event (backend_pid, backend_start);
-- The migration check looks up the later writes of a migration.
CREATE INDEX migration_event_migration_idx
  ON @extschema@.migration_event (migration, event_id);
-- 0.2.0: the migration check finds the history writes the audit credited
-- no DDL to (migrate --fake and kin) without reading every write.
CREATE INDEX migration_event_without_ddl_idx
  ON @extschema@.migration_event (framework, migration)
  WHERE ddl_events = 0 AND operation = 'INSERT';

COMMENT ON TABLE @extschema@.migration_event IS
  'one row per migration recorded in a history table, with how many audited DDL events it was credited with';

REVOKE ALL ON @extschema@.ddl_capture, @extschema@.ddl_event, @extschema@.migration_event FROM PUBLIC;
REVOKE ALL ON SEQUENCE @extschema@.migration_event_event_id_seq FROM PUBLIC;
GRANT SELECT ON @extschema@.ddl_capture, @extschema@.ddl_event, @extschema@.migration_event TO schema_guard_reader;

-- pg_dump carries the audit.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ddl_capture', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.migration_event', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.migration_event_event_id_seq', '');

-- The event triggers.
-- pg_event_trigger_ddl_commands() and pg_event_trigger_dropped_objects()
-- (the same built-in functions) declared to return SETOF record: the event
-- triggers call them with the built-ins' row type, built once per session,
-- where a call of the built-ins themselves rebuilds it from pg_proc every
-- time. Only callable inside event triggers, and only by superusers.
CREATE FUNCTION @extschema@.event_trigger_ddl_commands() RETURNS SETOF record
  LANGUAGE internal STABLE AS 'pg_event_trigger_ddl_commands';
CREATE FUNCTION @extschema@.event_trigger_dropped_objects() RETURNS SETOF record
  LANGUAGE internal STABLE AS 'pg_event_trigger_dropped_objects';
REVOKE ALL ON FUNCTION @extschema@.event_trigger_ddl_commands(),
                       @extschema@.event_trigger_dropped_objects() FROM PUBLIC;

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
REVOKE ALL ON FUNCTION @extschema@.prune_audit(interval) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.prune_audit(interval) IS
  'superuser only: remove audit rows older than the interval; returns how many DDL events were removed';

-- ---------------------------------------------------------------------
-- The schema check: the expected schema, ignore rules, findings.

-- The expected schema (one row): a manifest set by expect() or baseline().
CREATE TABLE @extschema@.expected_schema (
  id        integer     PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  manifest  jsonb       NOT NULL,
  -- The same as text, kept at write time: check() reads it without
  -- converting megabytes of jsonb on every call.
  manifest_text text    GENERATED ALWAYS AS (manifest::text) STORED,
  source    text,
  label     text,
  tables    integer     NOT NULL,
  set_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  set_by    text        NOT NULL DEFAULT session_user
);
COMMENT ON TABLE @extschema@.expected_schema IS
  'the schema this database is expected to have (schema_guard.expect, schema_guard.baseline)';

-- Orphans that are expected (LIKE patterns on "schema.table" or "table").
CREATE TABLE @extschema@.ignore_rule (
  pattern  text        PRIMARY KEY,
  reason   text        NOT NULL,
  added_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  added_by text        NOT NULL DEFAULT session_user
);

REVOKE ALL ON @extschema@.expected_schema, @extschema@.ignore_rule FROM PUBLIC;
GRANT SELECT ON @extschema@.expected_schema, @extschema@.ignore_rule TO schema_guard_reader;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.expected_schema', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ignore_rule', '');

CREATE TYPE @extschema@.finding AS (
  severity text,      -- error, warning, info
  kind     text,      -- stable machine name: missing_table, type_mismatch, ...
  app      text,
  object   text,
  message  text,
  expected text,
  actual   text,
  fix      text,      -- DDL that fixes it, or NULL
  hazards  text[],    -- what running the fix does: ACQUIRES_ACCESS_EXCLUSIVE_LOCK, ...
  cause    text       -- the finding this one follows from ("missing_table public.x"), or NULL
);

CREATE FUNCTION @extschema@.snapshot(schemas text[] DEFAULT NULL) RETURNS jsonb
  LANGUAGE c STABLE AS 'MODULE_PATHNAME', 'schema_guard_snapshot';
COMMENT ON FUNCTION @extschema@.snapshot(text[]) IS
  'the live schema as a manifest ("format": "schema_guard/1")';

CREATE FUNCTION @extschema@.expect(manifest jsonb, source text DEFAULT NULL) RETURNS integer
  LANGUAGE c AS 'MODULE_PATHNAME', 'schema_guard_expect';
COMMENT ON FUNCTION @extschema@.expect(jsonb, text) IS
  'set the expected schema from a manifest; returns the number of tables';

CREATE FUNCTION @extschema@.baseline(label text DEFAULT NULL) RETURNS integer
  LANGUAGE c AS 'MODULE_PATHNAME', 'schema_guard_baseline';
COMMENT ON FUNCTION @extschema@.baseline(text) IS
  'set the expected schema to the live schema as it is now';

CREATE FUNCTION @extschema@.ignore(pattern text, reason text) RETURNS void
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF pattern IS NULL OR pattern = '' THEN
    RAISE EXCEPTION 'ignore pattern must not be empty'
      USING ERRCODE = '22023',
            DETAIL = 'The pattern is matched with LIKE against "schema.table" and "table".',
            HINT = 'Pass a pattern such as ''token_blacklist_%''.';
  END IF;
  IF reason IS NULL OR reason = '' THEN
    RAISE EXCEPTION 'ignore pattern "%" needs a reason', pattern
      USING ERRCODE = '22023',
            DETAIL = 'The reason is shown next to every table the pattern matches.',
            HINT = 'Say why these tables are expected, such as ''JWT token blacklist''.';
  END IF;
  INSERT INTO @extschema@.ignore_rule (pattern, reason) VALUES (pattern, reason)
  ON CONFLICT ON CONSTRAINT ignore_rule_pkey DO UPDATE SET reason = EXCLUDED.reason;
END
$$;
COMMENT ON FUNCTION @extschema@.ignore(text, text) IS
  'report tables matching this LIKE pattern as expected orphans';

CREATE FUNCTION @extschema@.check(app text DEFAULT NULL) RETURNS SETOF @extschema@.finding
  LANGUAGE c STABLE AS 'MODULE_PATHNAME', 'schema_guard_check';
COMMENT ON FUNCTION @extschema@.check(text) IS
  'how the live schema differs from the expected schema, one row per finding';

CREATE FUNCTION @extschema@.check_json(app text DEFAULT NULL) RETURNS jsonb
  LANGUAGE c STABLE AS 'MODULE_PATHNAME', 'schema_guard_check_json';

CREATE FUNCTION @extschema@.fix_script(app text DEFAULT NULL, online boolean DEFAULT true,
                                       include_drops boolean DEFAULT false) RETURNS text
  LANGUAGE c STABLE AS 'MODULE_PATHNAME', 'schema_guard_fix_script';
COMMENT ON FUNCTION @extschema@.fix_script(text, boolean, boolean) IS
  'paste-able DDL that makes the live schema match the expected one';

-- Callable as plain schema_check() from any search_path.
CREATE FUNCTION pg_catalog.schema_check(app text DEFAULT NULL, verbose boolean DEFAULT false)
  RETURNS text LANGUAGE c STABLE AS 'MODULE_PATHNAME', 'schema_guard_schema_check';
COMMENT ON FUNCTION pg_catalog.schema_check(text, boolean) IS
  'schema_guard: the schema check as a report for psql';

REVOKE ALL ON FUNCTION @extschema@.expect(jsonb, text), @extschema@.baseline(text),
                       @extschema@.ignore(text, text) FROM PUBLIC;

-- ---------------------------------------------------------------------
-- The migration check: declared graphs against the history tables.

-- One declared graph per framework ("format": "schema_guard.migrations/1").
CREATE TABLE @extschema@.migration_graph (
  framework   text        PRIMARY KEY
              CHECK (framework IN ('django', 'flyway', 'alembic', 'rails', 'liquibase')),
  graph       jsonb       NOT NULL,
  graph_text  text        NOT NULL,   -- the same, as read back by the check
  migrations  integer     NOT NULL,
  declared_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  declared_by text        NOT NULL DEFAULT session_user,
  -- The same graph in the binary form a check loads without parsing JSON
  -- (NULL for a graph declared by 0.1.0: the check parses graph_text).
  graph_digest bytea
);
-- Stored uncompressed: a session's first check reads it whole.
ALTER TABLE @extschema@.migration_graph ALTER COLUMN graph_digest SET STORAGE EXTERNAL;
COMMENT ON TABLE @extschema@.migration_graph IS
  'the migrations the code base declares, per framework (schema_guard.declare_migrations)';
REVOKE ALL ON @extschema@.migration_graph FROM PUBLIC;
GRANT SELECT ON @extschema@.migration_graph TO schema_guard_reader;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.migration_graph', '');

CREATE FUNCTION @extschema@.declare_migrations(graph jsonb) RETURNS integer
  LANGUAGE c AS 'MODULE_PATHNAME', 'schema_guard_declare_migrations';
COMMENT ON FUNCTION @extschema@.declare_migrations(jsonb) IS
  'store the migration graph of one framework (replacing its previous one); returns the number of migrations';
REVOKE ALL ON FUNCTION @extschema@.declare_migrations(jsonb) FROM PUBLIC;

CREATE FUNCTION @extschema@.migration_check(framework text DEFAULT NULL)
  RETURNS SETOF @extschema@.finding
  LANGUAGE c STABLE AS 'MODULE_PATHNAME', 'schema_guard_migration_check';
COMMENT ON FUNCTION @extschema@.migration_check(text) IS
  'how the migration history tables differ from the declared graphs, one row per finding';

CREATE FUNCTION @extschema@.migration_plan(app text DEFAULT NULL)
  RETURNS TABLE (step integer, framework text, app text, name text)
  LANGUAGE c STABLE AS 'MODULE_PATHNAME', 'schema_guard_migration_plan';
COMMENT ON FUNCTION @extschema@.migration_plan(text) IS
  'pending migrations in a valid apply order (for one app: with the migrations it depends on)';

CREATE FUNCTION @extschema@.migration_reconcile()
  RETURNS TABLE (framework text, app text, name text, status text,
                 present text[], missing text[])
  LANGUAGE c STABLE AS 'MODULE_PATHNAME', 'schema_guard_migration_reconcile';
COMMENT ON FUNCTION @extschema@.migration_reconcile() IS
  'for pending migrations that declare what they create: safe_to_fake, partly_present or must_apply';

-- Callable as plain migration_check() from any search_path.
CREATE FUNCTION pg_catalog.migration_check(framework text DEFAULT NULL)
  RETURNS text LANGUAGE c STABLE AS 'MODULE_PATHNAME', 'schema_guard_migration_check_report';
COMMENT ON FUNCTION pg_catalog.migration_check(text) IS
  'schema_guard: the migration check as a report for psql';

-- ---------------------------------------------------------------------
-- Staging synced rows: batches, staged rows, the quarantine.

-- Sync jobs: members may open batches, stage rows and apply them to tables
-- they may INSERT into and UPDATE themselves (the merge runs with the
-- caller's rights). Cluster-wide, like schema_guard_reader.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'schema_guard_sync') THEN
    CREATE ROLE schema_guard_sync NOLOGIN;
  END IF;
END
$$;

-- The batch most recently opened in this session: the default batch of
-- rows COPY'd into staged_row.
CREATE FUNCTION @extschema@.current_batch() RETURNS bigint
  LANGUAGE c STABLE AS 'MODULE_PATHNAME', 'schema_guard_current_batch';
COMMENT ON FUNCTION @extschema@.current_batch() IS
  'the batch last opened by stage_open() in this session';

-- The batch log: one row per batch, written only by the staging functions.
-- Every statement that stages rows into a batch updates its row
-- (last_staged_at), and an apply holds it FOR UPDATE: staging into a batch
-- and applying it serialise.
CREATE SEQUENCE @extschema@.stage_batches_batch_id_seq AS bigint;
CREATE TABLE @extschema@.stage_batches (
  batch_id     bigint      NOT NULL
               DEFAULT pg_catalog.nextval('@extschema@.stage_batches_batch_id_seq'::pg_catalog.regclass)
               PRIMARY KEY,
  source       text,
  target       regclass    NOT NULL,
  target_name  text        NOT NULL,
  key_columns  text[]      NOT NULL,
  options      jsonb       NOT NULL,
  status       text        NOT NULL DEFAULT 'open'
               CHECK (status IN ('open', 'applied', 'failed', 'dry_run')),
  opened_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  opened_by    text        NOT NULL DEFAULT current_user,
  applied_at   timestamptz,
  applied_by   text,
  only_keys    text[],
  staged       bigint,
  inserted     bigint,
  updated      bigint,
  unchanged    bigint,
  stale        bigint,
  superseded   bigint,
  rejected     bigint,
  skipped      bigint,
  last_staged_at timestamptz,
  purged_at    timestamptz
);
ALTER SEQUENCE @extschema@.stage_batches_batch_id_seq OWNED BY @extschema@.stage_batches.batch_id;
COMMENT ON TABLE @extschema@.stage_batches IS
  'staging: one row per batch, its target, options, status and the counts of its last apply or dry run';
COMMENT ON COLUMN @extschema@.stage_batches.skipped IS
  'valid rows left out of an apply by only_keys';
COMMENT ON COLUMN @extschema@.stage_batches.purged_at IS
  'when the staged rows of the applied batch were removed (schema_guard.stage_retention)';

-- The default of staged_row.seq passes nextval() through staged_seq(),
-- which remembers the value for staged_row_check() (a row with any other
-- seq was given its seq by the owner or a superuser, as a restore does).
-- Neither default is volatile (nextval() aside), and the check is a CHECK
-- constraint, not a row trigger: COPY then inserts its rows in groups, as
-- into a plain table, where a BEFORE ROW trigger or a volatile default
-- makes it insert them one by one.
CREATE FUNCTION @extschema@.staged_seq(value bigint) RETURNS bigint
  LANGUAGE c STABLE STRICT AS 'MODULE_PATHNAME', 'schema_guard_staged_seq';
-- A staged row must go to an open batch of the caller's; the first row of a
-- batch in a (sub)transaction locks the batch's row (see stage_batches).
CREATE FUNCTION @extschema@.staged_row_check(batch bigint, seq bigint) RETURNS boolean
  LANGUAGE c VOLATILE STRICT AS 'MODULE_PATHNAME', 'schema_guard_staged_row_batch_check';

-- Staged rows, appended by stage_rows() or by COPY: the JSON text as sent
-- (json: validated at COPY, kept as written, so a field sent twice is seen).
-- seq orders the rows of a batch: among rows with the same key, the last
-- one staged wins.
CREATE SEQUENCE @extschema@.staged_row_seq;
CREATE TABLE @extschema@.staged_row (
  batch_id  bigint NOT NULL DEFAULT @extschema@.current_batch(),
  payload   json   NOT NULL,
  seq       bigint NOT NULL
            DEFAULT @extschema@.staged_seq(pg_catalog.nextval('@extschema@.staged_row_seq'::pg_catalog.regclass)),
  CONSTRAINT staged_row_batch_open CHECK (@extschema@.staged_row_check(batch_id, seq))
);
ALTER SEQUENCE @extschema@.staged_row_seq OWNED BY @extschema@.staged_row.seq;
-- Batches are appended in id order: a BRIN index finds a batch's rows and
-- costs next to nothing on COPY.
CREATE INDEX staged_row_batch_idx ON @extschema@.staged_row USING brin (batch_id);
COMMENT ON TABLE @extschema@.staged_row IS
  'staging: the rows of batches as JSON objects (column name -> value); COPY-able; read them through schema_guard.batch_rows';

-- Rows that were not written, kept with the reason: rejected rows, and the
-- superseded and stale ones with the versions involved.
CREATE TABLE @extschema@.stage_rejected (
  batch_id     bigint      NOT NULL REFERENCES @extschema@.stage_batches,
  seq          bigint      NOT NULL,
  key          text,
  problem      text        NOT NULL,
  detail       text        NOT NULL,
  payload      json        NOT NULL,
  rejected_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  version      text,
  kept_version text,
  kept_seq     bigint,
  PRIMARY KEY (batch_id, seq)
);
COMMENT ON TABLE @extschema@.stage_rejected IS
  'staging: the quarantine, every staged row an apply did not write: rejected with its problem, superseded or stale';
COMMENT ON COLUMN @extschema@.stage_rejected.version IS
  'newer_wins: the row''s version_column value';
COMMENT ON COLUMN @extschema@.stage_rejected.kept_version IS
  'newer_wins: the version kept instead (the stored row''s for stale, the winner''s for superseded)';
COMMENT ON COLUMN @extschema@.stage_rejected.kept_seq IS
  'superseded: the seq of the row of the batch that won';

-- A batch's rows are visible to the role that opened it (and its members)
-- only: staged payloads through this view, the quarantine through its
-- policy. Superusers see everything; schema_guard_reader sees the batch log.
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

REVOKE ALL ON @extschema@.stage_batches, @extschema@.staged_row,
              @extschema@.stage_rejected, @extschema@.batch_rows FROM PUBLIC;
REVOKE ALL ON SEQUENCE @extschema@.staged_row_seq FROM PUBLIC;
GRANT SELECT ON @extschema@.stage_batches TO schema_guard_reader, schema_guard_sync;
GRANT SELECT ON @extschema@.stage_rejected, @extschema@.batch_rows TO schema_guard_sync;
-- Not seq: every staged row takes the sequence's next value.
GRANT INSERT (batch_id, payload) ON @extschema@.staged_row TO schema_guard_sync;
GRANT USAGE ON SEQUENCE @extschema@.staged_row_seq TO schema_guard_sync;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.stage_batches', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.stage_batches_batch_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.staged_row', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.staged_row_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.stage_rejected', '');

CREATE FUNCTION @extschema@.stage_open(target regclass, key_columns text[],
                                       source text DEFAULT NULL,
                                       options jsonb DEFAULT '{}')
  RETURNS bigint LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'schema_guard_stage_open';
COMMENT ON FUNCTION @extschema@.stage_open(regclass, text[], text, jsonb) IS
  'open a batch of rows for a target table, deduplicated by its key columns; returns the batch id';

CREATE FUNCTION @extschema@.stage_rows(batch bigint, rows jsonb)
  RETURNS bigint LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'schema_guard_stage_rows';
COMMENT ON FUNCTION @extschema@.stage_rows(bigint, jsonb) IS
  'stage a JSON array of objects (column name -> value) into a batch; returns how many';

CREATE FUNCTION @extschema@.stage_validate(batch bigint)
  RETURNS TABLE (seq bigint, key text, problem text, detail text)
  LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'schema_guard_stage_validate';
COMMENT ON FUNCTION @extschema@.stage_validate(bigint) IS
  'what applying the batch would reject or supersede, without writing the target';

CREATE FUNCTION @extschema@.stage_apply(batch bigint, dry_run boolean DEFAULT false,
                                        only_keys text[] DEFAULT NULL)
  RETURNS TABLE (inserted bigint, updated bigint, unchanged bigint, stale bigint,
                 superseded bigint, rejected bigint)
  LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'schema_guard_stage_apply';
COMMENT ON FUNCTION @extschema@.stage_apply(bigint, boolean, text[]) IS
  'validate the batch, quarantine bad rows and merge the rest into the target in one statement';

CREATE FUNCTION @extschema@.stage_purge() RETURNS bigint
  LANGUAGE c VOLATILE AS 'MODULE_PATHNAME', 'schema_guard_stage_purge';
COMMENT ON FUNCTION @extschema@.stage_purge() IS
  'remove the staged rows of batches applied longer ago than schema_guard.stage_retention; returns how many';

-- The feed: the statements stage_validate() and stage_apply() run read the
-- batch's rows, converted, from stage_feed() and report back through its
-- companions. Each refuses to serve anything but the statement its feed
-- was opened for (a random token).
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

REVOKE ALL ON FUNCTION @extschema@.current_batch(),
                       @extschema@.staged_seq(bigint),
                       @extschema@.staged_row_check(bigint, bigint),
                       @extschema@.stage_open(regclass, text[], text, jsonb),
                       @extschema@.stage_rows(bigint, jsonb),
                       @extschema@.stage_validate(bigint),
                       @extschema@.stage_apply(bigint, boolean, text[]),
                       @extschema@.stage_purge(),
                       @extschema@.stage_feed(bigint, anyelement),
                       @extschema@.stage_feed_keep(bigint, text[], boolean),
                       @extschema@.stage_feed_fresh(bigint, boolean, text, text),
                       @extschema@.stage_feed_written(bigint),
                       @extschema@.stage_feed_in_batch(bigint, "any"),
                       @extschema@.stage_feed_carries(bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.current_batch(),
                          @extschema@.staged_seq(bigint),
                          @extschema@.staged_row_check(bigint, bigint),
                          @extschema@.stage_open(regclass, text[], text, jsonb),
                          @extschema@.stage_rows(bigint, jsonb),
                          @extschema@.stage_validate(bigint),
                          @extschema@.stage_apply(bigint, boolean, text[]),
                          @extschema@.stage_purge(),
                          @extschema@.stage_feed(bigint, anyelement),
                          @extschema@.stage_feed_keep(bigint, text[], boolean),
                          @extschema@.stage_feed_fresh(bigint, boolean, text, text),
                          @extschema@.stage_feed_written(bigint),
                          @extschema@.stage_feed_in_batch(bigint, "any"),
                          @extschema@.stage_feed_carries(bigint, integer) TO schema_guard_sync;

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

-- History tables that exist already.
SELECT @extschema@.watch_history_tables();

-- ---------------------------------------------------------------------
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
