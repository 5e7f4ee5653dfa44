-- Staging synced rows: the messages a sync job and its operator see. Offline
-- sales (test/fixtures/sales_app.sql) keyed by external_id.
CREATE EXTENSION IF NOT EXISTS schema_guard;
CREATE SCHEMA stg;
SET search_path = stg;
\set ECHO none
\i test/fixtures/sales_app.sql
\set ECHO all

-- COPY before any batch is open in the session.
COPY schema_guard.staged_row (payload) FROM stdin;
{"external_id": "00000000-0000-0000-0000-000000000001"}
\.

-- Opening a batch: what goes wrong.
SELECT schema_guard.stage_open('app_sale', ARRAY['source_device']);
SELECT schema_guard.stage_open('app_sale', ARRAY['externalid']);
SELECT schema_guard.stage_open('app_sale', ARRAY['external_id'], 'tab', '{"conflict": "newer_wins"}');
SELECT schema_guard.stage_open('app_sale', ARRAY['external_id'], 'tab', '{"conflict": "newest"}');
SELECT schema_guard.stage_open('app_sale', ARRAY['external_id'], 'tab', '{"touch": "synced_at"}');
SELECT schema_guard.stage_open('app_sale', ARRAY['external_id'], 'tab', '{"ignore_columns": ["a", ""]}');
SELECT schema_guard.stage_open('app_sale', ARRAY['external_id'], 'tab', '{"touch_column": "source_device"}');
SELECT schema_guard.stage_open('app_sale', NULL);

-- A batch from two tablets, newest wins.
SELECT schema_guard.stage_open('app_sale', ARRAY['external_id'], 'tablets',
  '{"conflict": "newer_wins", "version_column": "client_timestamp", "touch_column": "synced_at", "check_structure": false}') AS batch \gset
SELECT schema_guard.stage_rows(:batch, '{"external_id": "x"}');
SELECT schema_guard.stage_rows(:batch, '[{"external_id": "x"}, "y"]');
SELECT schema_guard.stage_rows(:batch, $$[
  {"external_id": "550e8400-e29b-41d4-a716-446655440000", "product_id": 1, "quantity": 2, "total_amount": 8.5,
   "source_device": "tab-1", "client_timestamp": "2026-01-31T14:30:00Z"},
  {"external_id": "550e8400-e29b-41d4-a716-446655440000", "product_id": 1, "quantity": 3, "total_amount": 12.75,
   "source_device": "tab-2", "client_timestamp": "2026-01-31T14:35:00Z"},
  {"external_id": "550e8400-e29b-41d4-a716-446655440001", "product_id": 2, "quantity": "two", "total_amount": 8,
   "client_timestamp": "2026-01-31T14:31:00Z"},
  {"external_id": "550e8400-e29b-41d4-a716-446655440002", "product_id": 3, "quantity": 1, "total_amount": 4,
   "client_timestamp": "2026-01-31T14:32:00Z", "cashier": "asha"},
  {"external_id": "550e8400-e29b-41d4-a716-446655440003", "product_id": 2, "quantity": 1, "total_amount": 4,
   "client_timestamp": "2026-01-31T14:33:00Z"}]$$);
COPY schema_guard.staged_row (payload) FROM stdin;
{"external_id": "550e8400-e29b-41d4-a716-446655440004", "product_id": 2, "quantity": 1, "total_amount": 4, "client_timestamp": "2026-01-31T14:34:00Z"}
\.
SELECT (SELECT count(*) FROM schema_guard.staged_row r WHERE r.batch_id = :batch AND r.seq <= v.seq) AS row,
       key, problem, detail
FROM schema_guard.stage_validate(:batch) v;
SELECT * FROM schema_guard.stage_apply(:batch, dry_run => true);
SELECT * FROM schema_guard.stage_apply(:batch);
SELECT external_id, quantity, total_amount, source_device, synced_at IS NOT NULL AS synced
FROM app_sale ORDER BY external_id;
SELECT key, problem, detail, payload->>'cashier' AS cashier FROM schema_guard.stage_rejected
WHERE batch_id = :batch ORDER BY seq;
SELECT source, target, key_columns, status, staged, inserted, updated, unchanged, stale, superseded, rejected
FROM schema_guard.stage_batches WHERE batch_id = :batch;

-- Applying twice writes nothing (the detail names the time of the apply).
\set VERBOSITY terse
SELECT * FROM schema_guard.stage_apply(:batch);
\set VERBOSITY default
INSERT INTO schema_guard.staged_row (batch_id, payload) VALUES (:batch, '{}');

-- One sale again, synced on its own.
SELECT schema_guard.stage_open('app_sale', ARRAY['external_id'], 'tab-2', '{"check_structure": false}') AS again \gset
SELECT schema_guard.stage_rows(:again, $$[
  {"external_id": "550e8400-e29b-41d4-a716-446655440000", "quantity": 4, "total_amount": 17},
  {"external_id": "550e8400-e29b-41d4-a716-446655440003", "quantity": 9, "total_amount": 36}]$$);
SELECT * FROM schema_guard.stage_apply(:again, false, ARRAY['550e8400-e29b-41d4-a716-446655440000']);

-- With an expected schema the target drifted from.
BEGIN;
SELECT schema_guard.baseline() > 0 AS baseline_set;
ALTER TABLE app_sale ALTER COLUMN total_amount TYPE numeric(12, 2);
SELECT schema_guard.stage_open('app_sale', ARRAY['external_id'], 'tab-3') AS full \gset
SELECT * FROM schema_guard.stage_apply(:full);
ROLLBACK;

DROP SCHEMA stg CASCADE;
