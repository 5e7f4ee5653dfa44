-- Staging synced rows: a GE licence feed (test/fixtures/ge_licences.jsonl)
-- into the licence project's license_licensedetail, and offline sales into
-- the sales app's app_sale. Every validation problem, the conflict rules,
-- dedup inside a batch, dry runs, only_keys, idempotent re-apply,
-- check_structure, the quarantine, bad arguments. One rolled-back
-- transaction; concurrency is in staging_concurrency.sql, privileges in
-- staging_privileges.sql.
BEGIN;
SET client_min_messages = warning;
SELECT plan(86);

CREATE SCHEMA stg;
SET search_path = stg, public;
\i test/fixtures/licence_project.sql
\i test/fixtures/sales_app.sql
INSERT INTO core_company (id, iec, name) VALUES
  (1, '0300000001', 'Acme Exports'), (2, '0300000002', 'Bharat Traders'),
  (3, '0300000003', 'Coastal Agro');
INSERT INTO core_schemecode (id, code) VALUES (1, 'EPCG'), (2, 'ADVANCE');
-- A staged row's position in its batch (1 for the first staged).
CREATE FUNCTION pg_temp.rel(batch bigint, seq bigint) RETURNS bigint
LANGUAGE sql STRICT AS $$
  SELECT count(*) FROM schema_guard.staged_row s WHERE s.batch_id = batch AND s.seq <= rel.seq
$$;
CREATE FUNCTION pg_temp.counts(batch bigint, dry boolean DEFAULT false, keys text[] DEFAULT NULL)
RETURNS text LANGUAGE sql AS $$
  SELECT format('%s inserted, %s updated, %s unchanged, %s stale, %s superseded, %s rejected',
                inserted, updated, unchanged, stale, superseded, rejected)
  FROM schema_guard.stage_apply(batch, dry, keys)
$$;
CREATE FUNCTION pg_temp.xmins(tbl regclass) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
  EXECUTE format('SELECT coalesce(string_agg(xmin::text || '':'' || ctid::text, '','' ORDER BY ctid), '''') FROM %s', tbl) INTO r;
  RETURN r;
END $$;

------------------------------------------------------------------------
-- The GE licence feed: open, \copy, validate, dry run, apply
------------------------------------------------------------------------

SELECT schema_guard.stage_open('license_licensedetail', ARRAY['license_number'], 'ge') AS ge \gset
SELECT results_eq(
  $$SELECT status, source, target::text, opened_by = current_user, options->>'conflict', (options->>'check_structure')::boolean
    FROM schema_guard.stage_batches WHERE batch_id = $$ || :ge,
  $$VALUES ('open', 'ge', 'license_licensedetail', true, 'incoming_wins', true)$$,
  'stage_open logs an open batch with its source, target, role and options');
SELECT is(schema_guard.current_batch(), :'ge'::bigint, 'current_batch() is the batch just opened');

\copy schema_guard.staged_row (payload) FROM 'test/fixtures/ge_licences.jsonl' WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02')
SELECT is((SELECT count(*) FROM schema_guard.staged_row WHERE batch_id = :ge), 13::bigint,
  '\copy of JSON lines stages every line into the session''s batch');

SELECT results_eq(
  $$SELECT pg_temp.rel($$ || :ge || $$, seq)::int, key, problem FROM schema_guard.stage_validate($$ || :ge || $$)$$,
  $$VALUES (2, '0310837894', 'superseded'), (8, '0310837899', 'invalid_value'),
           (9, '0310837900', 'foreign_key_violation'), (10, '0310837901', 'check_violation'),
           (11, '0310837902', 'unknown_column'), (12, '', 'missing_key')$$,
  'stage_validate reports each bad row and the superseded duplicate, in staging order');
SELECT results_eq(
  $$SELECT problem, detail FROM schema_guard.stage_validate($$ || :ge || $$) ORDER BY seq$$,
  $$VALUES ('superseded', 'the row with seq ' || (SELECT seq FROM schema_guard.staged_row WHERE batch_id = $$ || :ge || $$ ORDER BY seq OFFSET 6 LIMIT 1) || ' has the same key and was staged later'),
           ('invalid_value', 'column "license_date": date/time field value out of range: "2024-13-01"'),
           ('foreign_key_violation', 'key (exporter_id)=(42) is not present in table "core_company" (foreign key "license_licensedetail_exporter_id_fkey")'),
           ('check_violation', 'new row for relation "license_licensedetail" violates check constraint "license_licensedetail_cif_value_check"'),
           ('unknown_column', 'column "ge_portal_ref" does not exist in table "license_licensedetail"'),
           ('missing_key', 'key column "license_number" is missing')$$,
  'each problem says what is wrong, with the type''s own message for a bad value');
SELECT is((SELECT count(*) FROM license_licensedetail), 0::bigint, 'stage_validate writes nothing to the target');
SELECT is((SELECT count(*) FROM schema_guard.stage_rejected WHERE batch_id = :ge), 0::bigint,
  'stage_validate quarantines nothing');

SELECT is(pg_temp.counts(:ge, true), '7 inserted, 0 updated, 0 unchanged, 0 stale, 1 superseded, 5 rejected',
  'a dry run reports what the apply would do');
SELECT is((SELECT count(*) FROM license_licensedetail), 0::bigint, 'the dry run wrote no row');
SELECT is((SELECT count(*) FROM schema_guard.stage_rejected WHERE batch_id = :ge), 0::bigint,
  'the dry run quarantined nothing');
SELECT results_eq(
  $$SELECT status, inserted, rejected FROM schema_guard.stage_batches WHERE batch_id = $$ || :ge,
  $$VALUES ('dry_run', 7::bigint, 5::bigint)$$, 'the batch log keeps the dry run''s counts');

SELECT is(pg_temp.counts(:ge), '7 inserted, 0 updated, 0 unchanged, 0 stale, 1 superseded, 5 rejected',
  'stage_apply merges the valid rows and counts the rest');
SELECT results_eq(
  $$SELECT license_number, license_date, exporter_id, scheme_code_id, cif_value, is_restricted
    FROM license_licensedetail ORDER BY license_number$$,
  $$VALUES ('0310837893'::varchar, date '2024-04-01', 1::bigint, 1::bigint, 125000.50::numeric, false),
           ('0310837894', date '2024-04-03', 2, 2, 99500.00, false),
           ('0310837895', date '2024-05-11', 1, NULL, 43000.25, true),
           ('0310837896', date '2024-06-30', 3, 1, 0.00, false),
           ('0310837897', date '2024-07-15', 2, 2, 77700.75, false),
           ('0310837898', date '2024-08-02', 1, 1, 5100.00, true),
           ('0310837903', date '2024-10-01', 2, 1, 1000.00, false)$$,
  'the target holds exactly the valid rows, the later duplicate winning, numbers and strings converted by type');
SELECT results_eq(
  $$SELECT pg_temp.rel($$ || :ge || $$, seq)::int, key, problem FROM schema_guard.stage_rejected
    WHERE batch_id = $$ || :ge || $$ ORDER BY seq$$,
  $$VALUES (2, '0310837894', 'superseded'), (8, '0310837899', 'invalid_value'),
           (9, '0310837900', 'foreign_key_violation'), (10, '0310837901', 'check_violation'),
           (11, '0310837902', 'unknown_column'), (12, '', 'missing_key')$$,
  'the quarantine keeps every row not written, rejected or superseded, with its problem and batch');
SELECT ok((SELECT bool_and(r.payload::text = s.payload::text) AND count(*) = 6
           FROM schema_guard.stage_rejected r JOIN schema_guard.staged_row s USING (batch_id, seq)
           WHERE r.batch_id = :ge),
  'the quarantine keeps each rejected row''s payload as staged');
SELECT results_eq(
  $$SELECT status, staged, inserted, updated, unchanged, stale, superseded, rejected, applied_by = current_user, applied_at IS NOT NULL
    FROM schema_guard.stage_batches WHERE batch_id = $$ || :ge,
  $$VALUES ('applied', 13::bigint, 7::bigint, 0::bigint, 0::bigint, 0::bigint, 1::bigint, 5::bigint, true, true)$$,
  'the batch log records the apply: status, role, time and counts');

-- Idempotence.
SELECT pg_temp.xmins('license_licensedetail') AS before_reapply \gset
SELECT is(pg_temp.counts(:ge), '0 inserted, 0 updated, 0 unchanged, 0 stale, 0 superseded, 0 rejected',
  'applying the batch again returns zeros');
SELECT is(pg_temp.xmins('license_licensedetail'), :'before_reapply', 're-applying rewrote no row (xmin, ctid)');
SELECT is((SELECT count(*) FROM schema_guard.stage_rejected WHERE batch_id = :ge), 6::bigint,
  're-applying quarantined nothing twice');
SELECT results_eq(
  $$SELECT status, inserted FROM schema_guard.stage_batches WHERE batch_id = $$ || :ge,
  $$VALUES ('applied', 7::bigint)$$, 'the first apply''s counts stay in the batch log');
SELECT throws_ok(
  format('INSERT INTO schema_guard.staged_row (batch_id, payload) VALUES (%s, ''{}'')', :ge),
  '55000', NULL, 'an applied batch takes no more rows');

SELECT schema_guard.stage_open('license_licensedetail', ARRAY['license_number'], 'ge') AS ge2 \gset
\copy schema_guard.staged_row (payload) FROM 'test/fixtures/ge_licences.jsonl' WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02')
SELECT is(pg_temp.counts(:ge2), '0 inserted, 0 updated, 7 unchanged, 0 stale, 1 superseded, 5 rejected',
  'the same feed staged again in a new batch is unchanged');
SELECT is(pg_temp.xmins('license_licensedetail'), :'before_reapply', 'and no row was rewritten');

SELECT schema_guard.stage_open('license_licensedetail', ARRAY['license_number'], 'ge') AS ge3 \gset
SELECT is(schema_guard.stage_rows(:ge3, $$[
  {"license_number": "0310837893", "license_date": "2024-04-01", "exporter_id": 1, "scheme_code_id": 1, "cif_value": 125000.5, "is_restricted": true},
  {"license_number": "0310837897", "license_date": "2024-07-15", "exporter_id": 2, "scheme_code_id": 2, "cif_value": 77700.75, "is_restricted": false}]$$),
  2::bigint, 'stage_rows stages a JSON array and returns how many rows');
SELECT (SELECT xmin::text FROM license_licensedetail WHERE license_number = '0310837897') AS xmin_897 \gset
SELECT is(pg_temp.counts(:ge3), '0 inserted, 1 updated, 1 unchanged, 0 stale, 0 superseded, 0 rejected',
  'only a row whose values differ is updated');
SELECT is((SELECT is_restricted FROM license_licensedetail WHERE license_number = '0310837893'), true,
  'the changed value is written');
SELECT is((SELECT xmin::text FROM license_licensedetail WHERE license_number = '0310837897'), :'xmin_897',
  'the identical row was not rewritten');

------------------------------------------------------------------------
-- only_keys (sync one licence)
------------------------------------------------------------------------

SELECT schema_guard.stage_open('license_licensedetail', ARRAY['license_number'], 'ge --license') AS one \gset
SELECT FROM schema_guard.stage_rows(:one, $$[
  {"license_number": "0310837893", "license_date": "2024-04-01", "exporter_id": 1, "scheme_code_id": 2, "cif_value": 1, "is_restricted": true},
  {"license_number": "0310837894", "license_date": "2024-04-03", "exporter_id": 2, "scheme_code_id": 2, "cif_value": 2, "is_restricted": false},
  {"license_number": "0310837950", "license_date": "2024-04-03", "exporter_id": 2, "scheme_code_id": 2, "cif_value": 3, "is_restricted": false}]$$);
SELECT is(pg_temp.counts(:one, true, ARRAY['0310837894']), '0 inserted, 1 updated, 0 unchanged, 0 stale, 0 superseded, 0 rejected',
  'a dry run with only_keys counts only those keys');
SELECT is(pg_temp.counts(:one, false, ARRAY['0310837894']), '0 inserted, 1 updated, 0 unchanged, 0 stale, 0 superseded, 0 rejected',
  'only_keys applies only those keys');
SELECT results_eq(
  $$SELECT license_number, cif_value FROM license_licensedetail WHERE license_number IN ('0310837893', '0310837894', '0310837950') ORDER BY 1$$,
  $$VALUES ('0310837893'::varchar, 125000.50::numeric), ('0310837894', 2.00)$$,
  'rows outside only_keys are not written');
SELECT results_eq(
  $$SELECT skipped, only_keys FROM schema_guard.stage_batches WHERE batch_id = $$ || :one,
  $$VALUES (2::bigint, ARRAY['0310837894'])$$, 'the batch log records only_keys and how many rows it left out');

------------------------------------------------------------------------
-- check_structure (the old --full / --data-only)
------------------------------------------------------------------------

SELECT FROM schema_guard.baseline('before drift');
SET CONSTRAINTS ALL IMMEDIATE;
ALTER TABLE license_licensedetail ALTER COLUMN cif_value TYPE numeric(16, 2);
SELECT schema_guard.stage_open('license_licensedetail', ARRAY['license_number'], 'ge --full') AS full \gset
SELECT FROM schema_guard.stage_rows(:full, '[{"license_number": "0310837960", "license_date": "2024-01-01", "exporter_id": 1, "cif_value": 5}]');
SELECT throws_ok(format('SELECT * FROM schema_guard.stage_apply(%s)', :full), '55000',
  'table "stg.license_licensedetail" does not match the expected schema',
  'check_structure refuses a target that drifted from the expected schema');
SELECT is((SELECT status FROM schema_guard.stage_batches WHERE batch_id = :full), 'open',
  'the refused batch stays open');
SELECT schema_guard.stage_open('license_licensedetail', ARRAY['license_number'], 'ge --data-only',
                               '{"check_structure": false}') AS data_only \gset
SELECT FROM schema_guard.stage_rows(:data_only, '[{"license_number": "0310837960", "license_date": "2024-01-01", "exporter_id": 1, "cif_value": 5}]');
SELECT is(pg_temp.counts(:data_only), '1 inserted, 0 updated, 0 unchanged, 0 stale, 0 superseded, 0 rejected',
  '"check_structure": false applies data only');
DELETE FROM schema_guard.expected_schema;
SELECT is(pg_temp.counts(:full), '0 inserted, 0 updated, 1 unchanged, 0 stale, 0 superseded, 0 rejected',
  'with no expected schema set, check_structure does not block');

------------------------------------------------------------------------
-- Conflict rules on offline sales
------------------------------------------------------------------------

INSERT INTO app_sale (external_id, product_id, quantity, total_amount, source_device, client_timestamp, synced_at) VALUES
  ('11111111-1111-1111-1111-111111111111', 1, 1, 10.00, 'tab-1', '2026-01-31 14:30+00', '2026-01-31 15:00+00'),
  ('22222222-2222-2222-2222-222222222222', 1, 2, 20.00, 'tab-1', '2026-01-31 14:30+00', '2026-01-31 15:00+00');

SELECT schema_guard.stage_open('app_sale', ARRAY['external_id'], 'tab-2',
  '{"conflict": "newer_wins", "version_column": "client_timestamp", "touch_column": "synced_at"}') AS newer \gset
SELECT FROM schema_guard.stage_rows(:newer, $$[
  {"external_id": "11111111-1111-1111-1111-111111111111", "product_id": 1, "quantity": 5, "total_amount": 50, "source_device": "tab-2", "client_timestamp": "2026-01-31T14:00:00Z"},
  {"external_id": "22222222-2222-2222-2222-222222222222", "product_id": 1, "quantity": 3, "total_amount": 30, "source_device": "tab-2", "client_timestamp": "2026-01-31T16:00:00Z"},
  {"external_id": "33333333-3333-3333-3333-333333333333", "product_id": 2, "quantity": 1, "total_amount": 5, "source_device": "tab-2", "client_timestamp": "2026-02-01T09:00:00Z"},
  {"external_id": "33333333-3333-3333-3333-333333333333", "product_id": 2, "quantity": 9, "total_amount": 45, "source_device": "tab-2", "client_timestamp": "2026-02-01T08:00:00Z"}]$$);
SELECT results_eq(
  $$SELECT pg_temp.rel($$ || :newer || $$, seq)::int, problem FROM schema_guard.stage_validate($$ || :newer || $$)$$,
  $$VALUES (4, 'superseded')$$,
  'newer_wins: of two rows with one key the newer wins even if staged first');
SELECT is(pg_temp.counts(:newer), '1 inserted, 1 updated, 0 unchanged, 1 stale, 1 superseded, 0 rejected',
  'newer_wins: an incoming row older than the stored one is stale');
SELECT results_eq(
  $$SELECT external_id::text, quantity, source_device, synced_at = now() FROM app_sale ORDER BY external_id$$,
  $$VALUES ('11111111-1111-1111-1111-111111111111', 1.000::numeric, 'tab-1'::varchar, false),
           ('22222222-2222-2222-2222-222222222222', 3.000, 'tab-2', true),
           ('33333333-3333-3333-3333-333333333333', 1.000, 'tab-2', true)$$,
  'newer_wins: the stale row is not written; touch_column is set on written rows only');
SELECT results_eq(
  $$SELECT pg_temp.rel($$ || :newer || $$, seq)::int, key, problem, version::timestamptz, kept_version::timestamptz,
           pg_temp.rel($$ || :newer || $$, kept_seq)::int
    FROM schema_guard.stage_rejected WHERE batch_id = $$ || :newer || $$ ORDER BY seq$$,
  $$VALUES (1, '11111111-1111-1111-1111-111111111111', 'stale', timestamptz '2026-01-31 14:00+00', timestamptz '2026-01-31 14:30+00', NULL::int),
           (4, '33333333-3333-3333-3333-333333333333', 'superseded', timestamptz '2026-02-01 08:00+00', timestamptz '2026-02-01 09:00+00', 3)$$,
  'newer_wins: the stale and the superseded row are listed with their key and both versions');
SELECT is((SELECT detail FROM schema_guard.stage_rejected WHERE batch_id = :newer AND problem = 'stale'),
  format('the stored row''s "client_timestamp" (%s) is newer than the staged row''s (%s)',
         timestamptz '2026-01-31 14:30+00', timestamptz '2026-01-31 14:00+00'),
  'the stale row''s detail names the version column and both versions');
SELECT results_eq(
  $$SELECT stale, superseded, rejected FROM schema_guard.stage_batches WHERE batch_id = $$ || :newer,
  $$VALUES (1::bigint, 1::bigint, 0::bigint)$$, 'stale and superseded rows are counted, not rejected');

SELECT schema_guard.stage_open('app_sale', ARRAY['external_id'], 'tab-3') AS incoming \gset
SELECT FROM schema_guard.stage_rows(:incoming, $$[
  {"external_id": "11111111-1111-1111-1111-111111111111", "product_id": 1, "quantity": 7, "total_amount": 70, "client_timestamp": "2020-01-01T00:00:00Z"}]$$);
SELECT is(pg_temp.counts(:incoming), '0 inserted, 1 updated, 0 unchanged, 0 stale, 0 superseded, 0 rejected',
  'incoming_wins (the default) writes the incoming row whatever its version');
SELECT results_eq(
  $$SELECT quantity, source_device FROM app_sale WHERE external_id = '11111111-1111-1111-1111-111111111111'$$,
  $$VALUES (7.000::numeric, 'tab-1'::varchar)$$,
  'columns the batch does not carry keep their stored values');

SELECT schema_guard.stage_open('app_sale', ARRAY['external_id'], 'tab-4', '{"conflict": "keep_existing"}') AS keep \gset
SELECT FROM schema_guard.stage_rows(:keep, $$[
  {"external_id": "11111111-1111-1111-1111-111111111111", "product_id": 1, "quantity": 8, "total_amount": 80},
  {"external_id": "44444444-4444-4444-4444-444444444444", "product_id": 1, "quantity": 4, "total_amount": 40}]$$);
SELECT is(pg_temp.counts(:keep), '1 inserted, 0 updated, 1 unchanged, 0 stale, 0 superseded, 0 rejected',
  'keep_existing inserts new keys and leaves stored rows as they are');
SELECT is((SELECT quantity FROM app_sale WHERE external_id = '11111111-1111-1111-1111-111111111111'), 7.000,
  'keep_existing did not overwrite the stored row');

------------------------------------------------------------------------
-- More validation problems on sales
------------------------------------------------------------------------

SELECT schema_guard.stage_open('app_sale', ARRAY['external_id'], 'tab-5', '{"touch_column": "synced_at"}') AS bad \gset
SELECT FROM schema_guard.stage_rows(:bad, ($$[
  {"external_id": "55555555-5555-5555-5555-555555555555", "product_id": 1, "quantity": 1, "total_amount": null},
  {"external_id": "55555555-5555-5555-5555-555555555556", "product_id": 1, "quantity": 1, "total_amount": 1, "source_device": "$$ || repeat('x', 129) || $$"},
  {"external_id": "55555555-5555-5555-5555-555555555557", "product_id": 1, "quantity": 0, "total_amount": 1},
  {"external_id": "55555555-5555-5555-5555-555555555558", "product_id": 9, "quantity": 1, "total_amount": 1},
  {"external_id": "not-a-uuid", "product_id": 1, "quantity": 1, "total_amount": 1},
  {"external_id": null, "product_id": 1, "quantity": 1, "total_amount": 1},
  {"external_id": "55555555-5555-5555-5555-555555555559", "product_id": 1, "quantity": "many", "total_amount": 1, "synced_at": "2026-01-01"},
  {"external_id": "55555555-5555-5555-5555-55555555555a", "product_id": 1, "quantity": 2, "total_amount": 2}]$$)::jsonb);
INSERT INTO schema_guard.staged_row (batch_id, payload) VALUES (:bad, '[1, 2]'), (:bad, '"text"');
SELECT results_eq(
  $$SELECT pg_temp.rel($$ || :bad || $$, seq)::int, problem FROM schema_guard.stage_validate($$ || :bad || $$)$$,
  $$VALUES (1, 'not_null'), (2, 'too_long'), (3, 'check_violation'), (4, 'foreign_key_violation'),
           (5, 'invalid_value'), (6, 'missing_key'), (7, 'invalid_value'), (7, 'touch_column'),
           (9, 'not_an_object'), (10, 'not_an_object')$$,
  'NOT NULL, over-length, CHECK, foreign key, bad key, null key, every bad value of a row, touch column, non-objects');
SELECT results_eq(
  $$SELECT detail FROM schema_guard.stage_validate($$ || :bad || $$) WHERE pg_temp.rel($$ || :bad || $$, seq) IN (1, 2, 5, 6, 9) ORDER BY seq$$,
  $$VALUES ('null value in column "total_amount" of relation "app_sale" violates not-null constraint'),
           ('column "source_device": value too long for type character varying(128)'),
           ('column "external_id": invalid input syntax for type uuid: "not-a-uuid"'),
           ('key column "external_id" is null'),
           ('The payload is not a JSON object of column names and values.')$$,
  'the details name the column and quote the type''s own message');
SELECT is(pg_temp.counts(:bad), '1 inserted, 0 updated, 0 unchanged, 0 stale, 0 superseded, 9 rejected',
  'one valid row among nine bad ones is applied');
SELECT is((SELECT count(*) FROM schema_guard.stage_rejected WHERE batch_id = :bad), 9::bigint,
  'nothing staged is dropped: every bad row is in the quarantine');

-- A NOT NULL column without default that the batch does not carry: the
-- proposed row of INSERT ... ON CONFLICT would violate it, so every row is
-- rejected (with the reason), even one whose key exists.
CREATE TABLE nn_target (code text PRIMARY KEY, label text NOT NULL, note text);
INSERT INTO nn_target VALUES ('a', 'A', NULL);
SELECT schema_guard.stage_open('nn_target', ARRAY['code']) AS nn \gset
SELECT FROM schema_guard.stage_rows(:nn, '[{"code": "a", "note": "n1"}, {"code": "b", "note": "n2"}]');
SELECT is(pg_temp.counts(:nn), '0 inserted, 0 updated, 0 unchanged, 0 stale, 0 superseded, 2 rejected',
  'rows that lack a NOT NULL column without default are rejected');
SELECT is((SELECT min(detail) FROM schema_guard.stage_rejected WHERE batch_id = :nn),
  'column "label" of relation "nn_target" is not null and has no default, and the batch does not carry it',
  'the quarantine says which column the batch lacks');

-- A validate's conversion is kept for the apply only while nothing it
-- depends on changed: rows staged since, the target's types.
CREATE TABLE keep_target (code text PRIMARY KEY, label text NOT NULL);
SELECT schema_guard.stage_open('keep_target', ARRAY['code']) AS keep1 \gset
SELECT FROM schema_guard.stage_rows(:keep1, '[{"code": "k1", "label": "one"}]');
SELECT is((SELECT count(*) FROM schema_guard.stage_validate(:keep1)), 0::bigint, 'a clean batch validates');
SELECT FROM schema_guard.stage_rows(:keep1, '[{"code": "k2", "label": "two"}, {"code": "k1", "label": "uno"}]');
SELECT is(pg_temp.counts(:keep1), '2 inserted, 0 updated, 0 unchanged, 0 stale, 1 superseded, 0 rejected',
  'rows staged after the validate are applied too');
SELECT is((SELECT label FROM keep_target WHERE code = 'k1'), 'uno', 'the row staged last wins');
SELECT schema_guard.stage_open('keep_target', ARRAY['code']) AS keep2 \gset
SELECT FROM schema_guard.stage_rows(:keep2, '[{"code": "k3", "label": "three"}]');
SELECT is((SELECT count(*) FROM schema_guard.stage_validate(:keep2)), 0::bigint, 'validated before the target changed');
ALTER TABLE keep_target ALTER COLUMN label TYPE varchar(3);
SELECT is(pg_temp.counts(:keep2), '0 inserted, 0 updated, 0 unchanged, 0 stale, 0 superseded, 1 rejected',
  'after the target''s column type changed, the apply converts again');
SAVEPOINT before_validate;
SELECT schema_guard.stage_open('keep_target', ARRAY['code']) AS keep3 \gset
SELECT FROM schema_guard.stage_rows(:keep3, '[{"code": "k4", "label": "four"}]');
SELECT FROM schema_guard.stage_validate(:keep3);
ROLLBACK TO SAVEPOINT before_validate;
SELECT schema_guard.stage_open('keep_target', ARRAY['code']) AS keep4 \gset
SELECT FROM schema_guard.stage_rows(:keep4, '[{"code": "k5", "label": "fiv"}]');
SELECT is(pg_temp.counts(:keep4), '1 inserted, 0 updated, 0 unchanged, 0 stale, 0 superseded, 0 rejected',
  'a validate rolled back leaves nothing behind for the next batch');

-- A field sent twice in one payload: jsonb would keep the last one
-- silently; the staged json text keeps both, and the row is quarantined.
SELECT schema_guard.stage_open('app_sale', ARRAY['external_id']) AS twice \gset
INSERT INTO schema_guard.staged_row (batch_id, payload) VALUES
  (:twice, '{"external_id": "66666666-6666-6666-6666-666666666661", "product_id": 1, "quantity": 1, "quantity": 5, "total_amount": 1}'),
  (:twice, '{"external_id": "66666666-6666-6666-6666-666666666662", "product_id": 1, "quantity": 2, "total_amount": 2}');
SELECT results_eq(
  format('SELECT problem, detail FROM schema_guard.stage_validate(%s)', :twice),
  $$VALUES ('duplicate_field', 'field "quantity" appears more than once in the payload')$$,
  'a field sent twice in a payload is a problem');
SELECT is(pg_temp.counts(:twice), '1 inserted, 0 updated, 0 unchanged, 0 stale, 0 superseded, 1 rejected',
  'the row with a field sent twice is rejected, the other applied');
SELECT is((SELECT payload::text FROM schema_guard.stage_rejected WHERE batch_id = :twice),
  '{"external_id": "66666666-6666-6666-6666-666666666661", "product_id": 1, "quantity": 1, "quantity": 5, "total_amount": 1}',
  'the quarantine keeps the payload as sent, both fields');

-- Columns only some rows carry: a row that lacks one keeps the stored value
-- on update and takes the column's default on insert.
INSERT INTO app_sale (external_id, product_id, quantity, total_amount, source_device) VALUES
  ('77777777-7777-7777-7777-777777777771', 1, 1, 1, 'tab-1');
SELECT schema_guard.stage_open('app_sale', ARRAY['external_id']) AS partial \gset
SELECT FROM schema_guard.stage_rows(:partial, $$[
  {"external_id": "77777777-7777-7777-7777-777777777771", "product_id": 1, "quantity": 2, "total_amount": 2},
  {"external_id": "77777777-7777-7777-7777-777777777772", "product_id": 1, "quantity": 1, "total_amount": 1, "source_device": "tab-7", "client_timestamp": null},
  {"external_id": "77777777-7777-7777-7777-777777777773", "product_id": 1, "quantity": 1, "total_amount": 1}]$$);
SELECT is(pg_temp.counts(:partial, true), '2 inserted, 1 updated, 0 unchanged, 0 stale, 0 superseded, 0 rejected',
  'a dry run counts rows that lack a column some rows carry');
SELECT is(pg_temp.counts(:partial), '2 inserted, 1 updated, 0 unchanged, 0 stale, 0 superseded, 0 rejected',
  'rows that lack a column some rows carry are applied');
SELECT results_eq(
  $$SELECT external_id::text, quantity, source_device FROM app_sale WHERE external_id::text LIKE '7777%' ORDER BY 1$$,
  $$VALUES ('77777777-7777-7777-7777-777777777771', 2.000::numeric, 'tab-1'::varchar),
           ('77777777-7777-7777-7777-777777777772', 1.000, 'tab-7'),
           ('77777777-7777-7777-7777-777777777773', 1.000, 'web')$$,
  'a lacking column keeps the stored value on update and takes the default on insert');
SELECT schema_guard.stage_open('app_sale', ARRAY['external_id']) AS partial2 \gset
SELECT FROM schema_guard.stage_rows(:partial2, $$[
  {"external_id": "77777777-7777-7777-7777-777777777771", "product_id": 1, "quantity": 2, "total_amount": 2},
  {"external_id": "77777777-7777-7777-7777-777777777772", "source_device": "tab-7", "quantity": 1, "product_id": 1, "total_amount": 1}]$$);
SELECT is(pg_temp.counts(:partial2), '0 inserted, 0 updated, 2 unchanged, 0 stale, 0 superseded, 0 rejected',
  'a row equal to the stored one in the columns it carries is unchanged');

-- A table that refers to itself: a row may refer to a key of its batch.
CREATE TABLE node (id text PRIMARY KEY, parent text REFERENCES node (id), label text);
INSERT INTO node VALUES ('root', NULL, 'root');
SELECT schema_guard.stage_open('node', ARRAY['id']) AS tree \gset
SELECT FROM schema_guard.stage_rows(:tree, $$[
  {"id": "leaf", "parent": "branch", "label": "leaf"},
  {"id": "branch", "parent": "root", "label": "branch"},
  {"id": "stray", "parent": "nowhere", "label": "stray"}]$$);
SELECT is(pg_temp.counts(:tree), '2 inserted, 0 updated, 0 unchanged, 0 stale, 0 superseded, 1 rejected',
  'a child staged before its parent is applied; a row whose parent exists nowhere is rejected');
SELECT results_eq($$SELECT key, problem, detail FROM schema_guard.stage_rejected WHERE batch_id = $$ || :tree,
  $$VALUES ('stray', 'foreign_key_violation', 'key (parent)=(nowhere) is not present in table "node" (foreign key "node_parent_fkey")')$$,
  'the quarantine names the missing parent');

-- Columns named like staging's own bookkeeping.
CREATE TABLE seq_target (seq bigint PRIMARY KEY, bucket text, winner text);
SELECT schema_guard.stage_open('seq_target', ARRAY['seq']) AS seqb \gset
SELECT FROM schema_guard.stage_rows(:seqb, '[{"seq": 1, "bucket": "a"}, {"seq": 2, "bucket": "b"}, {"seq": 1, "bucket": "c", "winner": "yes"}]');
SELECT is(pg_temp.counts(:seqb), '2 inserted, 0 updated, 0 unchanged, 0 stale, 1 superseded, 0 rejected',
  'a target with columns named seq, bucket and winner');
SELECT results_eq($$SELECT seq, bucket, winner FROM seq_target ORDER BY seq$$,
  $$VALUES (1::bigint, 'c', 'yes'), (2, 'b', NULL)$$, 'its rows are merged like any other');

------------------------------------------------------------------------
-- Bad arguments
------------------------------------------------------------------------

SELECT throws_ok($$SELECT schema_guard.stage_open('nn_target', ARRAY['note'])$$, '42P10',
  'table "stg.nn_target" has no unique index on (note)', 'the key needs a unique index');
SELECT throws_ok($$SELECT schema_guard.stage_open('nn_target', ARRAY['nope'])$$, '42703',
  'column "nope" of relation "stg.nn_target" does not exist', 'an unknown key column');
SELECT throws_ok($$SELECT schema_guard.stage_open('nn_target', ARRAY['code'], NULL, '{"conflict": "last"}')$$, '22023',
  'invalid staging options: conflict: unknown conflict rule "last"', 'an unknown conflict rule');
SELECT throws_ok($$SELECT schema_guard.stage_open('nn_target', ARRAY['code'], NULL, '{"conflict": "newer_wins"}')$$, '22023',
  'invalid staging options: version_column: "newer_wins" needs a version column, such as "client_timestamp"',
  'newer_wins without a version column');
SELECT throws_ok($$SELECT schema_guard.stage_open('nn_target', ARRAY['code'], NULL, '{"ignore_columns": ["x", 1]}')$$, '22023',
  'invalid staging options: ignore_columns[1]: expected a string, found a number', 'a JSON path names the bad option');
SELECT throws_ok($$SELECT schema_guard.stage_open('nn_target', ARRAY['code'], NULL, '{"touch_column": "label"}')$$, '22023',
  'touch column "label" has type text', 'the touch column must be a timestamp');
SELECT throws_ok($$SELECT schema_guard.stage_open('schema_guard.history_tables', ARRAY['x'])$$, '42809',
  '"schema_guard.history_tables" is not a table', 'a view is not a target');
SELECT throws_ok(format($$SELECT schema_guard.stage_rows(%s, '{"code": "a"}')$$, :nn), '22023',
  'rows must be a JSON array', 'stage_rows takes an array');
SELECT throws_ok(format($$SELECT schema_guard.stage_rows(%s, '[{"code": "c"}, 3]')$$, :nn), '22023',
  'element 2 of rows is not a JSON object', 'stage_rows names the element that is not an object');
SELECT throws_ok($$SELECT * FROM schema_guard.stage_apply(-1)$$, '42704', 'batch -1 does not exist', 'an unknown batch');
SELECT throws_ok($$INSERT INTO schema_guard.staged_row (batch_id, payload) VALUES (-1, '{}')$$, '42704',
  'batch -1 does not exist', 'staging into an unknown batch');
SELECT throws_ok($$SELECT * FROM schema_guard.stage_apply(NULL)$$, '22004', 'batch must not be null', 'a NULL batch');
SELECT schema_guard.stage_open('app_sale', ARRAY['external_id']) AS only_bad \gset
SELECT throws_ok(format($$SELECT * FROM schema_guard.stage_apply(%s, false, ARRAY['nope'])$$, :only_bad), '22P02',
  NULL, 'only_keys are keys of the key column''s type');
SELECT throws_ok($$SELECT schema_guard.stage_open('pg_catalog.pg_class', ARRAY['oid'])$$, '42809',
  '"pg_catalog.pg_class" is a system catalog', 'a system catalog is not a target');
SELECT throws_ok($$SELECT schema_guard.stage_open('schema_guard.stage_batches', ARRAY['batch_id'])$$, '42809',
  '"schema_guard.stage_batches" belongs to schema_guard', 'schema_guard''s own tables are not targets');
CREATE TABLE part_sale (code text, region text, PRIMARY KEY (code, region)) PARTITION BY LIST (region);
SELECT throws_ok($$SELECT schema_guard.stage_open('part_sale', ARRAY['code', 'region'])$$, '0A000',
  'partitioned table "stg.part_sale" cannot take staged rows', 'a partitioned table is refused');
CREATE TEMPORARY TABLE temp_sale (code text PRIMARY KEY);
SELECT throws_ok($$SELECT schema_guard.stage_open('temp_sale', ARRAY['code'])$$, '0A000',
  NULL, 'a temporary table is refused');
CREATE VIEW sale_view AS SELECT * FROM nn_target;
SELECT throws_ok($$SELECT schema_guard.stage_open('sale_view', ARRAY['code'])$$, '42809',
  '"stg.sale_view" is not a table', 'a view is refused');

SELECT * FROM finish();
ROLLBACK;
