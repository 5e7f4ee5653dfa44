-- How the audit is stored: schema_guard.ddl_capture holds a row per
-- event-trigger call with the objects as arrays, ddl_event unnests it; event
-- ids are consecutive within a row, unique, and increase through a
-- transaction, also when a statement has more objects than a block of ids
-- (64) holds; a rolled-back savepoint leaves no row; DROP and CREATE
-- EXTENSION in one transaction start the ids anew without a clash.
BEGIN;
SET client_min_messages = warning;
SELECT plan(16);

CREATE EXTENSION IF NOT EXISTS schema_guard;

CREATE TEMP TABLE mark AS
  SELECT coalesce(max(event_id), 0) AS first_event FROM schema_guard.ddl_event;
CREATE TEMP VIEW mine AS
  SELECT e.* FROM schema_guard.ddl_event e WHERE e.event_id > (SELECT first_event FROM mark);
CREATE TEMP VIEW my_captures AS
  SELECT c.* FROM schema_guard.ddl_capture c
  WHERE c.first_event_id > (SELECT first_event FROM mark);

-- One statement, one row.
CREATE TABLE st_one (id int PRIMARY KEY, code text UNIQUE);
SELECT is((SELECT count(*) FROM my_captures), 1::bigint,
  'CREATE TABLE with two indexes writes one ddl_capture row');
SELECT is(
  (SELECT array_agg(object_identity ORDER BY event_id) FROM mine),
  ARRAY['public.st_one', 'public.st_one_pkey', 'st_one_pkey on public.st_one',
        'public.st_one_code_key', 'st_one_code_key on public.st_one'],
  'ddl_event shows its five objects in order');
SELECT is(
  (SELECT array_agg(event_id - (SELECT min(event_id) FROM mine) ORDER BY event_id) FROM mine),
  ARRAY[0, 1, 2, 3, 4]::bigint[],
  'their event ids are consecutive');
SELECT is(
  (SELECT count(*) FROM my_captures
   WHERE cardinality(command_tags) = cardinality(object_identities)
     AND cardinality(object_types) = cardinality(object_identities)
     AND cardinality(schema_names) = cardinality(object_identities)
     AND rewritten IS NULL),
  1::bigint, 'the arrays are parallel, and nothing was rewritten');

-- More objects than a block of ids holds: 1 table + 40 indexes + 40 constraints.
DO $$
BEGIN
  EXECUTE 'CREATE TABLE st_wide (' ||
    (SELECT string_agg(format('c%s int UNIQUE', i), ', ') FROM generate_series(1, 40) i) || ')';
END
$$;
SELECT is((SELECT count(*) FROM mine WHERE statement LIKE 'DO %'), 81::bigint,
  'a statement with 81 objects shows all of them in ddl_event');
SELECT is((SELECT count(DISTINCT event_id) FROM mine), (SELECT count(*) FROM mine),
  'event ids stay unique');
SELECT cmp_ok((SELECT count(*) FROM my_captures WHERE statement LIKE 'DO %'), '>=', 2::bigint,
  'objects that do not fit in the block of ids go to a row of their own');
SELECT is(
  (SELECT count(*) FROM my_captures c
   WHERE EXISTS (SELECT 1 FROM my_captures d
                 WHERE d.first_event_id > c.first_event_id
                   AND d.first_event_id < c.first_event_id + cardinality(c.object_identities))),
  0::bigint, 'no two rows share an event id');
CREATE TABLE st_later (id int);
SELECT cmp_ok((SELECT event_id FROM mine WHERE object_identity = 'public.st_later'), '>',
  (SELECT max(event_id) FROM mine WHERE statement LIKE 'DO %'),
  'the next statement''s ids come after it');

-- A rolled-back savepoint leaves no row; later ids still increase.
SAVEPOINT sp;
CREATE TABLE st_gone (id int);
ROLLBACK TO SAVEPOINT sp;
CREATE TABLE st_after (id int);
SELECT is((SELECT count(*) FROM mine WHERE object_identity = 'public.st_gone'), 0::bigint,
  'DDL of a rolled-back savepoint is not in the audit');
SELECT is((SELECT max(event_id) FROM mine),
  (SELECT event_id FROM mine WHERE object_identity = 'public.st_after'),
  'DDL after the rollback gets the highest id so far');

-- Drops: every dropped object in one row.
DROP TABLE st_one;
SELECT is((SELECT count(*) FROM my_captures WHERE 'DROP TABLE' = ANY (command_tags)), 1::bigint,
  'DROP TABLE writes one row');
SELECT bag_eq(
  $$SELECT object_type, object_identity FROM mine WHERE command_tag = 'DROP TABLE'$$,
  $$VALUES ('table', 'public.st_one'), ('index', 'public.st_one_pkey'),
           ('table constraint', 'st_one_pkey on public.st_one'),
           ('index', 'public.st_one_code_key'),
           ('table constraint', 'st_one_code_key on public.st_one')$$,
  'and ddl_event shows each dropped object');

-- Re-created extension in the same transaction: its sequence starts at 1,
-- and the ids this transaction took from the old one are not reused.
DROP EXTENSION schema_guard CASCADE;
CREATE EXTENSION schema_guard;
SELECT lives_ok($$CREATE TABLE st_new_ext (id int)$$,
  'DDL right after DROP and CREATE EXTENSION in one transaction is audited without error');
SELECT is((SELECT array_agg(event_id ORDER BY event_id) FROM schema_guard.ddl_event),
  ARRAY[1]::bigint[], 'its event id comes from the new sequence');
SELECT lives_ok($$CREATE TABLE st_new_ext2 (id int PRIMARY KEY)$$,
  'and the next statement takes the following ids');

SELECT * FROM finish();
ROLLBACK;
