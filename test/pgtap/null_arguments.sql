-- Every function the extension owns, called with NULL in each argument
-- position (the others given an ordinary value of their type) and with
-- every argument NULL, as a superuser and as a role with every grant the
-- extension hands out: each call returns (NULL or a value) or fails with a
-- clean SQLSTATE, never an internal error (class XX) and never a crash.
-- The matrix is read from pg_proc, so a function added later is covered.
BEGIN;
SELECT plan(3 + 2 * (
  SELECT count(*)::integer FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'schema_guard'
  WHERE p.prokind IN ('f', 'p')));

-- An ordinary value of each argument type the extension uses; a type not
-- listed is passed as NULL in every position (and listed by the last test).
CREATE TEMPORARY TABLE sample_value (type regtype PRIMARY KEY, value text NOT NULL);
INSERT INTO sample_value VALUES
  ('text', '''x'''), ('text[]', '''{x}'''), ('bigint', '1'), ('integer', '1'),
  ('boolean', 'false'), ('jsonb', '''{}'''), ('json', '''{}'''),
  ('regclass', '''pg_catalog.pg_class'''), ('interval', '''1 day'''),
  ('timestamp with time zone', 'now()'), ('name', '''x'''),
  -- The staging feed's polymorphic arguments: no value can be cast to
  -- them, so each call fails cleanly (42804) before reaching the function.
  ('anyelement', '''x'''), ('"any"', '''x''');

CREATE FUNCTION pg_temp.calls(fn regprocedure) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
  p pg_proc;
  n integer;
  args text[];
  i integer;
  j integer;
BEGIN
  SELECT * INTO p FROM pg_proc WHERE oid = fn;
  n := p.pronargs;
  -- Position 0 means every argument NULL; 1..n that argument only.
  FOR i IN 0..n LOOP
    IF n = 0 AND i > 0 THEN EXIT; END IF;
    args := '{}';
    FOR j IN 1..n LOOP
      args := args || CASE
        WHEN i = 0 OR i = j THEN format('NULL::%s', format_type(p.proargtypes[j - 1], NULL))
        ELSE coalesce((SELECT s.value || '::' || format_type(p.proargtypes[j - 1], NULL)
                       FROM sample_value s WHERE s.type = p.proargtypes[j - 1]),
                      format('NULL::%s', format_type(p.proargtypes[j - 1], NULL)))
      END;
    END LOOP;
    RETURN NEXT format('%s %s.%I(%s)',
                       CASE WHEN p.prokind = 'p' THEN 'CALL' ELSE 'SELECT' END,
                       p.pronamespace::regnamespace, p.proname,
                       array_to_string(args, ', '));
  END LOOP;
END
$$;

-- Runs each call in its own subtransaction; returns the calls that failed
-- with an internal error, with the error.
CREATE FUNCTION pg_temp.internal_errors(fn regprocedure) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  call text;
  bad text := '';
  state text;
  msg text;
BEGIN
  FOR call IN SELECT pg_temp.calls(fn) LOOP
    BEGIN
      EXECUTE call;
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
      IF state LIKE 'XX%' THEN
        bad := bad || format('%s: %s %s; ', call, state, msg);
      END IF;
    END;
  END LOOP;
  RETURN bad;
END
$$;

CREATE TEMPORARY VIEW extension_function AS
  SELECT p.oid::regprocedure AS fn
  FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'schema_guard'
  WHERE p.prokind IN ('f', 'p');

SELECT cmp_ok((SELECT count(*)::integer FROM extension_function), '>=', 25,
              'the matrix covers the extension''s functions');

-- As a superuser.
SELECT is(pg_temp.internal_errors(fn), '',
          format('as a superuser, %s with NULL arguments: a result or a clean error', fn))
FROM extension_function ORDER BY fn::text;

-- As a role holding every grant the extension gives out.
CREATE ROLE sg_null_caller;
GRANT schema_guard_reader, schema_guard_sync TO sg_null_caller;
GRANT ALL ON SCHEMA public TO sg_null_caller;
GRANT SELECT ON sample_value, extension_function TO sg_null_caller;
SET ROLE sg_null_caller;
SELECT is(pg_temp.internal_errors(fn), '',
          format('as an ordinary role, %s with NULL arguments: a result or a clean error', fn))
FROM extension_function ORDER BY fn::text;
RESET ROLE;

SELECT is(
  (SELECT string_agg(DISTINCT format_type(t, NULL), ', ')
   FROM extension_function f, pg_proc p, unnest(p.proargtypes) t
   WHERE p.oid = f.fn AND t NOT IN (SELECT type FROM sample_value)),
  NULL, 'every argument type has a sample value');

-- The calls themselves are in the expected shape.
SELECT is(
  (SELECT array_agg(c ORDER BY c) FROM pg_temp.calls('schema_guard.watch_history_table(text, text)') c),
  ARRAY['SELECT schema_guard.watch_history_table(''x''::text, NULL::text)',
        'SELECT schema_guard.watch_history_table(NULL::text, ''x''::text)',
        'SELECT schema_guard.watch_history_table(NULL::text, NULL::text)'],
  'each position is NULL once, and all of them together');

SELECT * FROM finish();
ROLLBACK;
