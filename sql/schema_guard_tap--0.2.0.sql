-- schema_guard_tap 0.2.0: install script. pgTAP assertions over
-- schema_guard's checks for a user's own suite under pg_prove:
--   SELECT plan(2); SELECT schema_matches(); SELECT migrations_consistent();
-- Each returns one pgTAP "ok" line; a failing one is followed by
-- diagnostics naming every finding. They call pgTAP's ok() and diag(), so
-- the extension lives in pgTAP's schema.
\echo Use "CREATE EXTENSION schema_guard_tap" to load this file. \quit

DO $$
DECLARE
  pgtap_schema name;
BEGIN
  SELECT n.nspname INTO pgtap_schema
  FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace
  WHERE e.extname OPERATOR(pg_catalog.=) 'pgtap';
  IF pgtap_schema OPERATOR(pg_catalog.<>) '@extschema@' THEN
    RAISE EXCEPTION 'schema_guard_tap must be created in pgTAP''s schema "%"', pgtap_schema
      USING ERRCODE = '55000',
            DETAIL = 'Its assertions call pgTAP''s ok() and diag().',
            HINT = pg_catalog.format('CREATE EXTENSION schema_guard_tap SCHEMA %I;', pgtap_schema);
  END IF;
END
$$;

-- One finding as a diagnostic: "missing table public.core_schemecode (app
-- core)", its message on the next line; warnings and infos are marked.
CREATE FUNCTION @extschema@._sg_finding_diag(severity text, kind text, app text, object text,
                                              message text)
  RETURNS text
  LANGUAGE sql IMMUTABLE
  SET search_path = pg_catalog, pg_temp
AS $$
  SELECT pg_catalog.replace(kind, '_', ' ') OPERATOR(pg_catalog.||) ' '
         OPERATOR(pg_catalog.||) coalesce(object, '')
         OPERATOR(pg_catalog.||) coalesce(' (app ' OPERATOR(pg_catalog.||) app OPERATOR(pg_catalog.||) ')', '')
         OPERATOR(pg_catalog.||) CASE WHEN severity OPERATOR(pg_catalog.=) 'error' THEN ''
                                      ELSE ' [' OPERATOR(pg_catalog.||) severity OPERATOR(pg_catalog.||) ']' END
         OPERATOR(pg_catalog.||) coalesce(E'\n    ' OPERATOR(pg_catalog.||) message, '')
$$;

-- ok(passed, description), followed by the diagnostic lines when it failed.
-- pgTAP's functions call each other and reach their state unqualified, so
-- this one (alone) runs with pgTAP's schema on its search_path.
CREATE FUNCTION @extschema@._sg_ok(passed boolean, description text, problems text[])
  RETURNS text
  LANGUAGE sql
  SET search_path = pg_catalog, @extschema@, pg_temp
AS $$
  SELECT @extschema@.ok(passed, description)
         OPERATOR(pg_catalog.||) CASE WHEN passed THEN '' ELSE
           E'\n' OPERATOR(pg_catalog.||) @extschema@.diag(pg_catalog.array_to_string(problems, E'\n')) END
$$;

CREATE FUNCTION @extschema@.schema_matches(app text DEFAULT NULL, description text DEFAULT NULL)
  RETURNS text
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  problems text[];
BEGIN
  SELECT pg_catalog.array_agg(@extschema@._sg_finding_diag(f.severity, f.kind, f.app, f.object, f.message)
                              ORDER BY f.severity, f.app, f.kind, f.object)
  INTO problems
  FROM schema_guard.check(app) f
  WHERE f.severity OPERATOR(pg_catalog.<>) 'info';
  RETURN @extschema@._sg_ok(
    problems IS NULL,
    coalesce(description, 'the live schema matches the expected schema'
                          OPERATOR(pg_catalog.||) coalesce(' (app ' OPERATOR(pg_catalog.||) app OPERATOR(pg_catalog.||) ')', '')),
    problems);
END
$$;
COMMENT ON FUNCTION @extschema@.schema_matches(text, text) IS
  'pgTAP: schema_guard.check(app) has no error or warning';

-- Deliberately without a pinned search_path: a graph's unqualified "creates"
-- tables are looked up through the caller's search_path, as a direct call of
-- migration_check() does. Everything here is qualified.
CREATE FUNCTION @extschema@.migrations_consistent(framework text DEFAULT 'django',
                                                  description text DEFAULT NULL)
  RETURNS text
  LANGUAGE plpgsql
AS $$
DECLARE
  problems text[];
BEGIN
  IF framework IS NULL THEN
    RAISE EXCEPTION 'framework must not be NULL'
      USING ERRCODE = '22004',
            HINT = 'Pass ''django'', ''flyway'', ''alembic'', ''rails'' or ''liquibase''.';
  END IF;
  IF NOT EXISTS (SELECT FROM schema_guard.migration_graph g WHERE g.framework OPERATOR(pg_catalog.=) $1)
     AND NOT EXISTS (SELECT FROM schema_guard.history_tables h WHERE h.framework OPERATOR(pg_catalog.=) $1) THEN
    problems := ARRAY[pg_catalog.format(
      'no %s migration graph is declared and no %s history table is watched: nothing to check', $1, $1)];
  ELSE
    SELECT pg_catalog.array_agg(@extschema@._sg_finding_diag(f.severity, f.kind, f.app, f.object, f.message)
                                ORDER BY f.severity, f.app, f.kind, f.object)
    INTO problems
    FROM schema_guard.migration_check($1) f
    WHERE f.severity OPERATOR(pg_catalog.<>) 'info';
  END IF;
  RETURN @extschema@._sg_ok(
    problems IS NULL,
    coalesce(description, pg_catalog.format('the %s migration history is consistent with its graph', $1)),
    problems);
END
$$;
COMMENT ON FUNCTION @extschema@.migrations_consistent(text, text) IS
  'pgTAP: schema_guard.migration_check(framework) has no error or warning';

CREATE FUNCTION @extschema@.no_drift_since(since timestamptz, description text DEFAULT NULL)
  RETURNS text
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  problems text[];
BEGIN
  -- One diagnostic per statement: what it touched, who, when, and its text.
  SELECT pg_catalog.array_agg(s.line ORDER BY s.first_event)
  INTO problems
  FROM (
    SELECT pg_catalog.min(d.event_id) AS first_event,
           pg_catalog.format('%s %s by %s at %s',
                             (pg_catalog.array_agg(d.command_tag ORDER BY d.event_id))[1],
                             pg_catalog.array_to_string((pg_catalog.array_agg(d.object_identity ORDER BY d.event_id))[1:5], ', ')
                             OPERATOR(pg_catalog.||) CASE WHEN pg_catalog.count(*) OPERATOR(pg_catalog.>) 5
                               THEN pg_catalog.format(' and %s more', pg_catalog.count(*) OPERATOR(pg_catalog.-) 5) ELSE '' END,
                             d.role_name, d.occurred_at)
           OPERATOR(pg_catalog.||) coalesce(E'\n    ' OPERATOR(pg_catalog.||)
                                            pg_catalog.left(d.statement, 200), '') AS line
    FROM schema_guard.drift(since) d
    GROUP BY d.txid, d.occurred_at, d.backend_pid, d.role_name, d.statement
    -- Installing the test tooling itself is not drift.
    HAVING NOT pg_catalog.bool_or(d.object_type OPERATOR(pg_catalog.=) 'extension'
                                  AND d.object_identity OPERATOR(pg_catalog.=) ANY ('{pgtap,schema_guard_tap}'::text[]))
  ) s;
  RETURN @extschema@._sg_ok(
    problems IS NULL,
    coalesce(description, 'no DDL outside migrations'
                          OPERATOR(pg_catalog.||) coalesce(' since ' OPERATOR(pg_catalog.||) since::text, '')),
    problems);
END
$$;
COMMENT ON FUNCTION @extschema@.no_drift_since(timestamptz, text) IS
  'pgTAP: schema_guard.drift(since) is empty but for installing pgtap and schema_guard_tap (NULL: since the audit began)';

CREATE FUNCTION @extschema@.staged_batch_clean(batch bigint, description text DEFAULT NULL)
  RETURNS text
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  state text;
  problems text[];
BEGIN
  IF batch IS NULL THEN
    RAISE EXCEPTION 'batch must not be NULL'
      USING ERRCODE = '22004',
            HINT = 'Pass the batch id stage_open() returned.';
  END IF;
  SELECT b.status INTO state FROM schema_guard.stage_batches b WHERE b.batch_id OPERATOR(pg_catalog.=) batch;
  IF state IS NULL THEN
    problems := ARRAY[pg_catalog.format('batch %s does not exist', batch)];
  ELSIF state OPERATOR(pg_catalog.=) 'applied' THEN
    -- Applied: its quarantine, but for the rows it lists as superseded (a
    -- later row of the batch won) or stale (the stored row is newer): not
    -- faults of the feed.
    SELECT pg_catalog.array_agg(pg_catalog.format('row %s%s: %s: %s', r.seq,
                                                  coalesce(' (key ' OPERATOR(pg_catalog.||) r.key OPERATOR(pg_catalog.||) ')', ''),
                                                  r.problem, r.detail) ORDER BY r.seq)
    INTO problems
    FROM schema_guard.stage_rejected r
    WHERE r.batch_id OPERATOR(pg_catalog.=) batch
      AND r.problem OPERATOR(pg_catalog.<>) ALL ('{superseded,stale}'::text[]);
  ELSE
    -- Not applied yet: what an apply would reject (superseding is not a fault).
    SELECT pg_catalog.array_agg(pg_catalog.format('row %s%s: %s: %s', v.seq,
                                                  coalesce(' (key ' OPERATOR(pg_catalog.||) v.key OPERATOR(pg_catalog.||) ')', ''),
                                                  v.problem, v.detail) ORDER BY v.seq, v.problem)
    INTO problems
    FROM schema_guard.stage_validate(batch) v
    WHERE v.problem OPERATOR(pg_catalog.<>) ALL ('{superseded,stale}'::text[]);
  END IF;
  RETURN @extschema@._sg_ok(
    problems IS NULL,
    coalesce(description, pg_catalog.format('staged batch %s has no rejected rows', batch)),
    problems);
END
$$;
COMMENT ON FUNCTION @extschema@.staged_batch_clean(bigint, text) IS
  'pgTAP: the staged batch has no rejected rows (applied) or none an apply would reject (open); superseded and stale rows are no fault';

-- The migration script has no lint finding above info (schema_guard.lint()).
-- Deliberately without a pinned search_path: the script's unqualified table
-- names are looked up through the caller's search_path, as a direct call of
-- lint() does. Everything here is qualified.
CREATE FUNCTION @extschema@.lint_clean(sql text, description text DEFAULT NULL)
  RETURNS text
  LANGUAGE plpgsql
AS $$
DECLARE
  problems text[];
BEGIN
  IF sql IS NULL THEN
    RAISE EXCEPTION 'sql must not be NULL'
      USING ERRCODE = '22004',
            HINT = 'Pass the text of the migration script to lint.';
  END IF;
  -- One diagnostic per finding: rule, object, where, then the message and
  -- the safe rewrite.
  SELECT pg_catalog.array_agg(
           l.rule OPERATOR(pg_catalog.||) coalesce(' ' OPERATOR(pg_catalog.||) l.object, '')
           OPERATOR(pg_catalog.||) pg_catalog.format(' (statement %s, line %s)', l.statement_no, l.line)
           OPERATOR(pg_catalog.||) CASE WHEN l.severity OPERATOR(pg_catalog.=) 'error' THEN ''
                                        ELSE ' [' OPERATOR(pg_catalog.||) l.severity OPERATOR(pg_catalog.||) ']' END
           OPERATOR(pg_catalog.||) E'\n    ' OPERATOR(pg_catalog.||) l.message
           OPERATOR(pg_catalog.||) coalesce(E'\n    ' OPERATOR(pg_catalog.||) l.hint, '')
           ORDER BY l.statement_no, l.line, l.rule)
  INTO problems
  FROM schema_guard.lint(sql) l
  WHERE l.severity OPERATOR(pg_catalog.<>) 'info';
  RETURN @extschema@._sg_ok(
    problems IS NULL,
    coalesce(description, 'the migration script is lock-safe'),
    problems);
END
$$;
COMMENT ON FUNCTION @extschema@.lint_clean(text, text) IS
  'pgTAP: schema_guard.lint(sql) has no error or warning';
