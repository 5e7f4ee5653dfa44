-- Configuration 3: pgaudit with pgaudit.log = 'ddl'.  The library is in
-- shared_preload_libraries for the whole cluster; the extension adds the
-- event triggers that give DDL log lines their object type and name (the
-- pgaudit README asks for CREATE EXTENSION before pgaudit.log is set).
-- The harness then runs ALTER DATABASE <db> SET pgaudit.log = 'ddl', which
-- applies to the (later) measured session.  Log lines go to the server log.
CREATE EXTENSION pgaudit;
