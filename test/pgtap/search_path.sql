-- Internal SQL never resolves a function or operator through the caller's
-- search_path. A role that may CREATE in a schema on a superuser's path
-- plants look-alikes of the functions and operators internal queries use
-- (=, <>, <, >=, *, +, -, ||, LIKE, casts' functions, lower, count, max,
-- sum, array_agg, string_agg, format, date_part, to_regclass, ...), each
-- logging that it ran; the superuser then uses every entry point with that
-- schema first on the path. None of the look-alikes runs.
BEGIN;
SELECT plan(6);
SET client_min_messages = warning;

CREATE ROLE sg_planter;
CREATE SCHEMA sg_evil AUTHORIZATION sg_planter;
CREATE TABLE sg_evil.ran (what text);
GRANT INSERT, SELECT ON sg_evil.ran TO PUBLIC;
SET ROLE sg_planter;

-- A logging function for each signature: it records its name and returns
-- what the real one would, so that a hijacked query still works and the
-- log is the only trace.
CREATE FUNCTION sg_evil.note(what text) RETURNS void LANGUAGE sql
  AS $$ INSERT INTO sg_evil.ran VALUES (what OPERATOR(pg_catalog.||) coalesce(' in ' OPERATOR(pg_catalog.||) pg_catalog.current_setting('sg.entry', true), '')) $$;
CREATE FUNCTION sg_evil.text_eq(a text, b text) RETURNS boolean LANGUAGE plpgsql
  AS $$ BEGIN PERFORM sg_evil.note('=(text,text)'); RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE FUNCTION sg_evil.text_ne(a text, b text) RETURNS boolean LANGUAGE plpgsql
  AS $$ BEGIN PERFORM sg_evil.note('<>(text,text)'); RETURN a OPERATOR(pg_catalog.<>) b; END $$;
CREATE FUNCTION sg_evil.int8_eq(a bigint, b bigint) RETURNS boolean LANGUAGE plpgsql
  AS $$ BEGIN PERFORM sg_evil.note('=(bigint,bigint)'); RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE FUNCTION sg_evil.int8_ge(a bigint, b bigint) RETURNS boolean LANGUAGE plpgsql
  AS $$ BEGIN PERFORM sg_evil.note('>=(bigint,bigint)'); RETURN a OPERATOR(pg_catalog.>=) b; END $$;
CREATE FUNCTION sg_evil.int8_gt(a bigint, b bigint) RETURNS boolean LANGUAGE plpgsql
  AS $$ BEGIN PERFORM sg_evil.note('>(bigint,bigint)'); RETURN a OPERATOR(pg_catalog.>) b; END $$;
CREATE FUNCTION sg_evil.int8_lt(a bigint, b bigint) RETURNS boolean LANGUAGE plpgsql
  AS $$ BEGIN PERFORM sg_evil.note('<(bigint,bigint)'); RETURN a OPERATOR(pg_catalog.<) b; END $$;
CREATE FUNCTION sg_evil.int8_plus(a bigint, b bigint) RETURNS bigint LANGUAGE plpgsql
  AS $$ BEGIN PERFORM sg_evil.note('+(bigint,bigint)'); RETURN a OPERATOR(pg_catalog.+) b; END $$;
CREATE FUNCTION sg_evil.int8_minus(a bigint, b bigint) RETURNS bigint LANGUAGE plpgsql
  AS $$ BEGIN PERFORM sg_evil.note('-(bigint,bigint)'); RETURN a OPERATOR(pg_catalog.-) b; END $$;
CREATE FUNCTION sg_evil.int4_eq(a integer, b integer) RETURNS boolean LANGUAGE plpgsql
  AS $$ BEGIN PERFORM sg_evil.note('=(integer,integer)'); RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE FUNCTION sg_evil.oid_eq(a oid, b oid) RETURNS boolean LANGUAGE plpgsql
  AS $$ BEGIN PERFORM sg_evil.note('=(oid,oid)'); RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE FUNCTION sg_evil.float_times_int(a double precision, b integer) RETURNS double precision LANGUAGE plpgsql
  AS $$ BEGIN PERFORM sg_evil.note('*(double precision,integer)'); RETURN a OPERATOR(pg_catalog.*) b; END $$;
CREATE FUNCTION sg_evil.text_cat(a text, b text) RETURNS text LANGUAGE plpgsql
  AS $$ BEGIN PERFORM sg_evil.note('||(text,text)'); RETURN a OPERATOR(pg_catalog.||) b; END $$;
CREATE FUNCTION sg_evil.text_like(a text, b text) RETURNS boolean LANGUAGE plpgsql
  AS $$ BEGIN PERFORM sg_evil.note('~~(text,text)'); RETURN a OPERATOR(pg_catalog.~~) b; END $$;
CREATE OPERATOR sg_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = sg_evil.text_eq);
CREATE OPERATOR sg_evil.<> (LEFTARG = text, RIGHTARG = text, FUNCTION = sg_evil.text_ne);
CREATE OPERATOR sg_evil.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = sg_evil.int8_eq);
CREATE OPERATOR sg_evil.>= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = sg_evil.int8_ge);
CREATE OPERATOR sg_evil.> (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = sg_evil.int8_gt);
CREATE OPERATOR sg_evil.< (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = sg_evil.int8_lt);
CREATE OPERATOR sg_evil.+ (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = sg_evil.int8_plus);
CREATE OPERATOR sg_evil.- (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = sg_evil.int8_minus);
CREATE OPERATOR sg_evil.= (LEFTARG = integer, RIGHTARG = integer, FUNCTION = sg_evil.int4_eq);
CREATE OPERATOR sg_evil.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = sg_evil.oid_eq);
CREATE OPERATOR sg_evil.* (LEFTARG = double precision, RIGHTARG = integer, FUNCTION = sg_evil.float_times_int);
CREATE OPERATOR sg_evil.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = sg_evil.text_cat);
CREATE OPERATOR sg_evil.~~ (LEFTARG = text, RIGHTARG = text, FUNCTION = sg_evil.text_like);

CREATE FUNCTION sg_evil.lower(a text) RETURNS text LANGUAGE plpgsql
  AS $$ BEGIN PERFORM sg_evil.note('lower(text)'); RETURN pg_catalog.lower(a); END $$;
CREATE FUNCTION sg_evil.format(f text, VARIADIC a text[]) RETURNS text LANGUAGE plpgsql
  AS $$ BEGIN PERFORM sg_evil.note('format(text,text[])'); RETURN pg_catalog.format(f, VARIADIC a); END $$;
CREATE FUNCTION sg_evil.date_part(f text, t timestamptz) RETURNS double precision LANGUAGE plpgsql
  AS $$ BEGIN PERFORM sg_evil.note('date_part(text,timestamptz)'); RETURN pg_catalog.date_part(f, t); END $$;
CREATE FUNCTION sg_evil.to_regclass(t text) RETURNS regclass LANGUAGE plpgsql
  AS $$ BEGIN PERFORM sg_evil.note('to_regclass(text)'); RETURN pg_catalog.to_regclass(t); END $$;
CREATE FUNCTION sg_evil.cardinality(a anyarray) RETURNS integer LANGUAGE plpgsql
  AS $$ BEGIN PERFORM sg_evil.note('cardinality(anyarray)'); RETURN pg_catalog.cardinality(a); END $$;
CREATE FUNCTION sg_evil.quote_ident(t text) RETURNS text LANGUAGE plpgsql
  AS $$ BEGIN PERFORM sg_evil.note('quote_ident(text)'); RETURN pg_catalog.quote_ident(t); END $$;
CREATE FUNCTION sg_evil.jsonb_typeof(j jsonb) RETURNS text LANGUAGE plpgsql
  AS $$ BEGIN PERFORM sg_evil.note('jsonb_typeof(jsonb)'); RETURN pg_catalog.jsonb_typeof(j); END $$;
CREATE FUNCTION sg_evil.has_table_privilege(r oid, t oid, p text) RETURNS boolean LANGUAGE plpgsql
  AS $$ BEGIN PERFORM sg_evil.note('has_table_privilege(oid,oid,text)'); RETURN pg_catalog.has_table_privilege(r, t, p); END $$;
CREATE FUNCTION sg_evil.has_table_privilege(t text, p text) RETURNS boolean LANGUAGE plpgsql
  AS $$ BEGIN PERFORM sg_evil.note('has_table_privilege(text,text)'); RETURN pg_catalog.has_table_privilege(t, p); END $$;
CREATE FUNCTION sg_evil.now() RETURNS timestamptz LANGUAGE plpgsql
  AS $$ BEGIN PERFORM sg_evil.note('now()'); RETURN pg_catalog.now(); END $$;
CREATE FUNCTION sg_evil.count_step(n bigint) RETURNS bigint LANGUAGE plpgsql
  AS $$ BEGIN PERFORM sg_evil.note('count(*)'); RETURN n OPERATOR(pg_catalog.+) 1; END $$;
CREATE AGGREGATE sg_evil.count(*) (SFUNC = sg_evil.count_step, STYPE = bigint, INITCOND = '0');
CREATE FUNCTION sg_evil.max_step(s bigint, v bigint) RETURNS bigint LANGUAGE plpgsql
  AS $$ BEGIN PERFORM sg_evil.note('max(bigint)'); RETURN pg_catalog.int8larger(s, v); END $$;
CREATE AGGREGATE sg_evil.max(bigint) (SFUNC = sg_evil.max_step, STYPE = bigint);
CREATE FUNCTION sg_evil.sum_step(s bigint, v bigint) RETURNS bigint LANGUAGE plpgsql
  AS $$ BEGIN PERFORM sg_evil.note('sum(bigint)'); RETURN coalesce(s, 0) OPERATOR(pg_catalog.+) v; END $$;
CREATE AGGREGATE sg_evil.sum(bigint) (SFUNC = sg_evil.sum_step, STYPE = bigint);
CREATE FUNCTION sg_evil.agg_step(s text, v text, d text) RETURNS text LANGUAGE plpgsql
  AS $$ BEGIN PERFORM sg_evil.note('string_agg(text,text)'); RETURN coalesce(s OPERATOR(pg_catalog.||) d, '') OPERATOR(pg_catalog.||) v; END $$;
CREATE AGGREGATE sg_evil.string_agg(text, text) (SFUNC = sg_evil.agg_step, STYPE = text);
RESET ROLE;

-- The planted look-alikes do run for a query that resolves through the path.
SET search_path = sg_evil, pg_catalog, public;
CREATE TEMP TABLE sanity AS SELECT count(*) AS n FROM pg_catalog.pg_class c WHERE c.relname::text = 'pg_class';
SET search_path = pg_catalog, public;
SELECT is((SELECT count(DISTINCT what)::int FROM sg_evil.ran), 2,
  'the look-alikes are first on this path: a plain query runs them');
DELETE FROM sg_evil.ran;

-- A small project, used through every entry point with the path planted.
SET search_path = pg_catalog, public;
CREATE TABLE public.django_migrations (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  app varchar(255) NOT NULL, name varchar(255) NOT NULL, applied timestamptz NOT NULL);
CREATE TABLE public.sp_company (id bigint PRIMARY KEY, name text NOT NULL, external_id text UNIQUE);
SET search_path = sg_evil, pg_catalog, public;

CREATE TEMP TABLE calls (n serial, what text, outcome text);
CREATE FUNCTION pg_temp.try(what text, sql text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_catalog.set_config('sg.entry', what, true);
  EXECUTE sql;
  INSERT INTO calls (what, outcome) VALUES (what, 'ok');
EXCEPTION WHEN OTHERS THEN
  INSERT INTO calls (what, outcome) VALUES (what, SQLSTATE || ' ' || SQLERRM);
END
$$;

-- The audit and attribution: DDL and a history write.
SELECT pg_temp.try('DDL', $$CREATE TABLE public.sp_t (id integer PRIMARY KEY, v text DEFAULT 'x')$$);
SELECT pg_temp.try('ALTER', $$ALTER TABLE public.sp_t ADD COLUMN w integer$$);
SELECT pg_temp.try('history write', $$INSERT INTO public.django_migrations (app, name, applied) VALUES ('core', '0001_initial', pg_catalog.now())$$);
SELECT pg_temp.try('SET migration + DDL', $$SELECT set_config('schema_guard.migration', 'core.0002_x', true)$$);
SELECT pg_temp.try('DDL with label', $$CREATE INDEX sp_t_v_idx ON public.sp_t (v)$$);
SELECT pg_temp.try('watch', $$SELECT schema_guard.watch_history_tables()$$);
SELECT pg_temp.try('drift', $$SELECT pg_catalog.count(*) FROM schema_guard.drift()$$);
-- The schema check.
SELECT pg_temp.try('snapshot', $$SELECT schema_guard.snapshot()$$);
SELECT pg_temp.try('baseline', $$SELECT schema_guard.baseline('sp')$$);
SELECT pg_temp.try('expect', $$SELECT schema_guard.expect(schema_guard.snapshot(ARRAY['public']), 'sp')$$);
SELECT pg_temp.try('ignore', $$SELECT schema_guard.ignore('sp_ignored_%', 'test')$$);
SELECT pg_temp.try('check', $$SELECT pg_catalog.count(*) FROM schema_guard.check()$$);
SELECT pg_temp.try('check_json', $$SELECT schema_guard.check_json()$$);
SELECT pg_temp.try('fix_script', $$SELECT schema_guard.fix_script()$$);
SELECT pg_temp.try('schema_check', $$SELECT pg_catalog.schema_check()$$);
-- The migration check.
SELECT pg_temp.try('declare_migrations', $$SELECT schema_guard.declare_migrations('{"format": "schema_guard.migrations/1",
  "framework": "django", "migrations": [{"app": "core", "name": "0001_initial", "dependencies": []},
  {"app": "core", "name": "0002_x", "dependencies": [["core", "0001_initial"]],
   "creates": {"tables": ["public.sp_t"]}}]}')$$);
SELECT pg_temp.try('migration_check', $$SELECT pg_catalog.count(*) FROM schema_guard.migration_check()$$);
SELECT pg_temp.try('migration_check report', $$SELECT pg_catalog.migration_check()$$);
SELECT pg_temp.try('migration_plan', $$SELECT pg_catalog.count(*) FROM schema_guard.migration_plan()$$);
SELECT pg_temp.try('migration_reconcile', $$SELECT pg_catalog.count(*) FROM schema_guard.migration_reconcile()$$);
-- Staging.
SELECT pg_temp.try('stage_open', $$SELECT schema_guard.stage_open('public.sp_company', ARRAY['id'], 'sp')$$);
SELECT pg_temp.try('stage_rows', $$SELECT schema_guard.stage_rows(schema_guard.current_batch(),
    '[{"id": 1, "name": "Acme", "external_id": "A-1"}, {"id": 2, "name": null}]')$$);
SELECT pg_temp.try('stage_validate', $$SELECT pg_catalog.count(*) FROM schema_guard.stage_validate(schema_guard.current_batch())$$);
SELECT pg_temp.try('stage_apply dry run', $$SELECT * FROM schema_guard.stage_apply(schema_guard.current_batch(), true)$$);
SELECT pg_temp.try('stage_apply', $$SELECT * FROM schema_guard.stage_apply(schema_guard.current_batch())$$);
SELECT pg_temp.try('stage_purge', $$SELECT schema_guard.stage_purge()$$);
-- CI.
SELECT pg_temp.try('assert_clean', $$SELECT schema_guard.assert_clean()$$);
SELECT pg_temp.try('assert_clean raising', $sql$DO $do$ BEGIN PERFORM schema_guard.assert_clean('warning');
  EXCEPTION WHEN SQLSTATE 'SG001' THEN NULL; END $do$$sql$);
-- Clean-up functions.
SELECT pg_temp.try('prune_audit', $$SELECT schema_guard.prune_audit('100 years')$$);
SET search_path = pg_catalog, public;

SELECT is((SELECT string_agg(what || ': ' || outcome, '; ' ORDER BY n) FROM calls WHERE outcome <> 'ok'), NULL,
  'every entry point works with the planted path first');
SELECT is((SELECT count(*)::int FROM calls), 29, 'all of them ran');
SELECT is((SELECT string_agg(DISTINCT what, ', ') FROM sg_evil.ran), NULL,
  'no planted function, operator or aggregate ran');
SELECT ok((SELECT count(*) > 0 FROM schema_guard.ddl_event WHERE object_identity = 'public.sp_t'),
  'the audit recorded the DDL');
SELECT is((SELECT inserted FROM schema_guard.stage_batches WHERE source = 'sp' AND status = 'applied'), 1::bigint,
  'the batch was applied');

SELECT * FROM finish();
ROLLBACK;
