-- Configuration 2: schema_guard (C event triggers + ProcessUtility hook).
-- schema_guard.audit defaults to on.
CREATE EXTENSION schema_guard;
