-- Optional configuration (--configs ...,schema_guard_off): schema_guard
-- installed, but the harness then runs
-- ALTER DATABASE <db> SET schema_guard.audit = off, so its triggers fire and
-- return without recording: the extension's fixed cost when disabled.
CREATE EXTENSION schema_guard;
