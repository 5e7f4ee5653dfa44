-- Values a sync job sends as text become exactly what 'text'::type gives:
-- UUIDs and ISO timestamps, which staging reads without the type's input
-- function when they are spelled the common way, and every other spelling
-- of them, which goes to the input function (or to the quarantine with the
-- error it raises). Checked under two TimeZone/DateStyle settings.
BEGIN;
SET client_min_messages = warning;
SELECT plan(8);

CREATE SCHEMA sv;
CREATE TABLE sv.v (
  k   integer PRIMARY KEY,
  u   uuid,
  tz  timestamptz,
  ts  timestamp,
  tz2 timestamptz(2),
  ts0 timestamp(0)
);

-- One sample per row: the column it goes into and its text.
CREATE TABLE sv.sample (k integer PRIMARY KEY, col text, txt text);
INSERT INTO sv.sample (k, col, txt)
SELECT row_number() OVER (), col, txt FROM (VALUES
  ('u', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
  ('u', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A12'),
  ('u', '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a13}'),
  ('u', 'a0eebc999c0b4ef8bb6d6bb9bd380a14'),
  ('u', 'a0eebc99-9c0b4ef8-bb6d6bb9-bd380a15'),
  ('u', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1'),
  ('u', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1g'),
  ('u', ' a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a16'),
  ('u', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a17 '),
  ('tz', '2026-01-01T00:00:00+00:00'),
  ('tz', '2026-01-01 00:00:00+00'),
  ('tz', '2026-01-01T00:00:00Z'),
  ('tz', '2026-03-29T02:30:00+05:30'),
  ('tz', '1999-12-31T23:59:59.999999-03:30'),
  ('tz', '2024-02-29T12:00:00.5+14'),
  ('tz', '0001-01-01T00:00:00Z'),
  ('tz', '9999-12-31T23:59:59Z'),
  ('tz', '2026-01-01T00:00:00'),
  ('tz', '2026-01-01T00:00:00+15'),
  ('tz', '2026-01-01T00:00:00+0530'),
  ('tz', '2026-01-01T00:00:00 UTC'),
  ('tz', '2026-01-01T00:00:00 Europe/Paris'),
  ('tz', '2026-01-01T24:00:00Z'),
  ('tz', '2026-12-31T23:59:60Z'),
  ('tz', '2026-01-01T00:00:00.1234567Z'),
  ('tz', '2023-02-29T00:00:00Z'),
  ('tz', '2026-04-31T00:00:00Z'),
  ('tz', '0000-01-01T00:00:00Z'),
  ('tz', '01/02/2026 10:00:00+01'),
  ('tz', 'epoch'),
  ('tz', 'infinity'),
  ('tz', 'not a time'),
  ('ts', '2026-01-01T00:00:00'),
  ('ts', '2026-01-01 12:34:56.789'),
  ('ts', '2026-01-01T00:00:00Z'),
  ('ts', '2026-01-01T00:00:00+05'),
  ('ts', '2023-02-29T00:00:00'),
  ('tz2', '2026-01-01T00:00:00.12Z'),
  ('tz2', '2026-01-01T00:00:00.125Z'),
  ('tz2', '2026-01-01T00:00:00.999Z'),
  ('ts0', '2026-01-01T00:00:00'),
  ('ts0', '2026-01-01T00:00:00.5'),
  ('ts0', '2026-01-01T23:59:59.6')
) s(col, txt);

-- The sample's value as 'txt'::type gives it, as text; the SQLSTATE when
-- the cast fails.
CREATE FUNCTION sv.cast(col text, txt text, OUT value text, OUT state text)
LANGUAGE plpgsql AS $$
DECLARE typ text;
BEGIN
  SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) INTO STRICT typ
    FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = 'sv.v'::regclass AND a.attname = col;
  EXECUTE format('SELECT $1::%s::text', typ) INTO value USING txt;
EXCEPTION WHEN OTHERS THEN
  state := SQLSTATE;
END $$;
-- The row of the target for a sample, the sample's column as text.
CREATE FUNCTION sv.stored(k integer, col text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
  EXECUTE format('SELECT %I::text FROM sv.v WHERE k = $1', col) INTO r USING k;
  RETURN r;
END $$;
-- Stages every sample into a new batch and applies it.
CREATE FUNCTION sv.sync() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE b bigint;
BEGIN
  DELETE FROM sv.v;
  b := schema_guard.stage_open('sv.v', ARRAY['k']);
  PERFORM schema_guard.stage_rows(b, pg_catalog.jsonb_agg(
            pg_catalog.jsonb_build_object('k', k, col, txt) ORDER BY k))
    FROM sv.sample;
  PERFORM schema_guard.stage_apply(b);
  RETURN b;
END $$;

-- What differs from the cast: a value stored that is not the cast's, a
-- sample the cast refuses that was written, one it accepts that was not.
CREATE FUNCTION sv.differences(batch bigint)
RETURNS TABLE (k integer, txt text, cast_gives text, stored text, quarantined text)
LANGUAGE sql AS $$
  SELECT s.k, s.txt, coalesce(c.value, 'error ' || c.state),
         sv.stored(s.k, s.col), r.problem
  FROM sv.sample s
  CROSS JOIN LATERAL sv.cast(s.col, s.txt) c
  LEFT JOIN schema_guard.stage_rejected r
    ON r.batch_id = batch AND (r.payload ->> 'k')::integer = s.k
  WHERE CASE WHEN c.state IS NULL
             THEN sv.stored(s.k, s.col) IS DISTINCT FROM c.value OR r.problem IS NOT NULL
             ELSE EXISTS (SELECT 1 FROM sv.v WHERE v.k = s.k) OR r.problem IS NULL END
$$;

SET TimeZone = 'UTC';
SET DateStyle = 'ISO, MDY';
SELECT sv.sync() AS b1 \gset
SELECT is_empty('SELECT * FROM sv.differences(' || :b1 || ')',
  'UTC, ISO/MDY: every sample is stored as its cast gives it, or quarantined when the cast fails');
SELECT is((SELECT count(*) FROM sv.v), 34::bigint,
  'UTC: the 34 samples the casts accept are written');
SELECT is((SELECT count(*) FROM schema_guard.stage_rejected WHERE batch_id = :b1),
  (SELECT count(*) FROM sv.sample s WHERE (sv.cast(s.col, s.txt)).state IS NOT NULL),
  'UTC: the samples the casts refuse are quarantined');
SELECT is((SELECT detail ~ 'invalid input syntax for type uuid'
           FROM schema_guard.stage_rejected r JOIN sv.sample s ON s.k = (r.payload ->> 'k')::integer
           WHERE r.batch_id = :b1 AND s.txt = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1g'),
  true, 'a bad UUID is quarantined with the error uuid_in raises');

SET TimeZone = 'Asia/Kolkata';
SET DateStyle = 'SQL, DMY';
SELECT sv.sync() AS b2 \gset
SELECT is_empty('SELECT * FROM sv.differences(' || :b2 || ')',
  'Asia/Kolkata, SQL/DMY: every sample is stored as its cast gives it, or quarantined');
SELECT is((SELECT sv.stored(s.k, 'tz') FROM sv.sample s WHERE txt = '2026-01-01T00:00:00+00:00'),
  '01/01/2026 05:30:00 IST', 'an explicit zone is kept whatever the session''s TimeZone');
SELECT is((SELECT tz FROM sv.v v JOIN sv.sample s USING (k) WHERE s.col = 'tz' AND s.txt = '2026-01-01T00:00:00'),
  timestamptz '2025-12-31 18:30:00+00', 'a timestamp without a zone is read in the session''s TimeZone');
SELECT is((SELECT count(*) FROM sv.v), (SELECT count(*) FROM sv.sample s WHERE (sv.cast(s.col, s.txt)).state IS NULL),
  'Asia/Kolkata: as many rows written as the casts accept');

SELECT * FROM finish();
ROLLBACK;
