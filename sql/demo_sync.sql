-- schema_guard demo, part 2: the GE licence sync. Licences pulled from the
-- government e-commerce server ("GE") as JSON lines are staged into a
-- batch, validated against license_licensedetail, deduplicated by the
-- licence number and merged; nothing staged is dropped silently. Runs after
-- sql/demo.sql (scripts/demo; the last pg_regress test).

-- A migration gives the licence table what the sync needs: GE's
-- modification time (newer versions win) and when a row was last synced.
BEGIN;
ALTER TABLE license_licensedetail ADD COLUMN ge_modified_at timestamptz,
                                  ADD COLUMN synced_at timestamptz;
INSERT INTO django_migrations (app, name, applied) VALUES ('license', '0004_ge_sync', now());
COMMIT;
INSERT INTO core_company (id, iec, name) VALUES (1, '0300000001', 'Acme Exports'),
                                                (2, '0300000002', 'Bharat Traders');
-- A licence the office corrected by hand after GE's last change.
INSERT INTO license_licensedetail (license_number, license_date, exporter_id, cif_value, ge_modified_at)
  VALUES ('0310837895', '2024-05-11', 1, 43000.25, '2024-12-01 10:00+00');

-- The sync job's role: it may stage and apply, write the licences and see
-- the companies they refer to; nothing more.
CREATE ROLE ge_sync;
GRANT schema_guard_sync TO ge_sync;
GRANT SELECT, INSERT, UPDATE ON license_licensedetail TO ge_sync;
GRANT SELECT ON core_company TO ge_sync;
SET ROLE ge_sync;

-- Run 1. A batch keyed by the licence number: newer GE versions win.
SELECT schema_guard.stage_open('license_licensedetail', ARRAY['license_number'], 'ge',
  '{"conflict": "newer_wins", "version_column": "ge_modified_at", "touch_column": "synced_at"}') AS batch \gset
COPY schema_guard.staged_row (payload) FROM stdin;
{"license_number": "0310837893", "license_date": "2024-04-01", "exporter_id": 1, "cif_value": 125000.5, "ge_modified_at": "2024-11-02T09:00:00Z"}
{"license_number": "0310837894", "license_date": "2024-04-03", "exporter_id": 2, "cif_value": 98000, "ge_modified_at": "2024-11-02T09:00:00Z"}
{"license_number": "0310837894", "license_date": "2024-04-03", "exporter_id": 2, "cif_value": 99500, "ge_modified_at": "2024-11-03T09:00:00Z"}
{"license_number": "0310837895", "license_date": "2024-05-11", "exporter_id": 1, "cif_value": 41000, "ge_modified_at": "2024-11-02T09:00:00Z"}
{"license_number": "0310837899", "license_date": "2024-13-01", "exporter_id": 1, "cif_value": 100, "ge_modified_at": "2024-11-02T09:00:00Z"}
{"license_number": "0310837896", "license_date": "2024-06-30", "exporter_id": 2, "cif_value": 0, "ge_modified_at": "2024-11-02T09:00:00Z"}
\.

-- What an apply would reject or supersede (the batch's own rows, through
-- schema_guard.batch_rows: a sync job reads no other role's payloads).
SELECT (SELECT count(*) FROM schema_guard.batch_rows r WHERE r.batch_id = :batch AND r.seq <= v.seq) AS row,
       v.key, v.problem, v.detail
FROM schema_guard.stage_validate(:batch) v ORDER BY v.seq;

-- A dry run counts without writing; then the apply.
SELECT * FROM schema_guard.stage_apply(:batch, dry_run => true);
SELECT * FROM schema_guard.stage_apply(:batch);

-- The licences, and every staged row that was not written, with why.
SELECT license_number, license_date, exporter_id, cif_value, synced_at IS NOT NULL AS synced
FROM license_licensedetail ORDER BY license_number;
SELECT key, problem, detail FROM schema_guard.stage_rejected WHERE batch_id = :batch ORDER BY seq;

-- Run 2, the next day: the same feed again. Nothing changed: no row is
-- rewritten.
SELECT schema_guard.stage_open('license_licensedetail', ARRAY['license_number'], 'ge',
  '{"conflict": "newer_wins", "version_column": "ge_modified_at", "touch_column": "synced_at"}') AS again \gset
INSERT INTO schema_guard.staged_row (batch_id, payload)
SELECT :again, payload FROM schema_guard.batch_rows WHERE batch_id = :batch ORDER BY seq;
SELECT * FROM schema_guard.stage_apply(:again);

-- Run 3: one licence synced on its own (sync_from_ge_server --license).
SELECT schema_guard.stage_open('license_licensedetail', ARRAY['license_number'], 'ge --license',
  '{"conflict": "newer_wins", "version_column": "ge_modified_at", "touch_column": "synced_at"}') AS one \gset
SELECT schema_guard.stage_rows(:one, $$[
  {"license_number": "0310837893", "license_date": "2024-04-01", "exporter_id": 1, "cif_value": 126000, "ge_modified_at": "2024-11-05T09:00:00Z"},
  {"license_number": "0310837896", "license_date": "2024-06-30", "exporter_id": 2, "cif_value": 500, "ge_modified_at": "2024-11-05T09:00:00Z"}]$$);
SELECT * FROM schema_guard.stage_apply(:one, only_keys => ARRAY['0310837893']);
SELECT license_number, cif_value FROM license_licensedetail
WHERE license_number IN ('0310837893', '0310837896') ORDER BY 1;

-- The batch log.
SELECT batch_id - :batch + 1 AS run, source, status, staged, inserted, updated, unchanged, stale,
       superseded, rejected, skipped
FROM schema_guard.stage_batches WHERE batch_id >= :batch ORDER BY batch_id;
RESET ROLE;

-- (The demo's cluster is thrown away; this keeps the test re-runnable.)
DROP OWNED BY ge_sync;
DROP ROLE ge_sync;
