# The one list of sources, read by the PGXS Makefile and by CMakeLists.txt.
CORE_SOURCES = \
	src/core/alembic_check.cpp \
	src/core/diff.cpp \
	src/core/django_check.cpp \
	src/core/django_loader.cpp \
	src/core/generic_check.cpp \
	src/core/json.cpp \
	src/core/json_reader.cpp \
	src/core/lint.cpp \
	src/core/lint_rules.cpp \
	src/core/lint_table_rules.cpp \
	src/core/lint_text.cpp \
	src/core/manifest.cpp \
	src/core/migration.cpp \
	src/core/migration_check.cpp \
	src/core/migration_graph.cpp \
	src/core/migration_graph_digest.cpp \
	src/core/migration_report.cpp \
	src/core/report.cpp \
	src/core/schema.cpp \
	src/core/staging.cpp \
	src/core/staging_payload.cpp \
	src/core/staging_rows.cpp \
	src/core/staging_sql.cpp \
	src/core/statement.cpp

PG_SOURCES = \
	src/pg/alembic_attribution.cpp \
	src/pg/attribution.cpp \
	src/pg/audit_store.cpp \
	src/pg/bridge.cpp \
	src/pg/catalog_reader.cpp \
	src/pg/datum.cpp \
	src/pg/event_trigger.cpp \
	src/pg/guard.cpp \
	src/pg/history.cpp \
	src/pg/lint_catalog.cpp \
	src/pg/lint_functions.cpp \
	src/pg/lint_reader.cpp \
	src/pg/lint_script.cpp \
	src/pg/migration_functions.cpp \
	src/pg/migration_reads.cpp \
	src/pg/module.cpp \
	src/pg/schema_functions.cpp \
	src/pg/settings.cpp \
	src/pg/spi.cpp \
	src/pg/staging_batch.cpp \
	src/pg/staging_convert.cpp \
	src/pg/staging_feed.cpp \
	src/pg/staging_feed_functions.cpp \
	src/pg/staging_functions.cpp \
	src/pg/staging_held.cpp \
	src/pg/staging_problems.cpp \
	src/pg/staging_run.cpp \
	src/pg/staging_scan_cache.cpp \
	src/pg/staging_target.cpp \
	src/pg/statement_capture.cpp
