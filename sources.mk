# The one list of sources, read by the PGXS Makefile and by CMakeLists.txt.
CORE_SOURCES = \
	src/core/ddl.cpp \
	src/core/diff.cpp \
	src/core/diff_access.cpp \
	src/core/diff_columns.cpp \
	src/core/diff_constraints.cpp \
	src/core/diff_dependents.cpp \
	src/core/diff_objects.cpp \
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
	src/core/manifest_write.cpp \
	src/core/migration.cpp \
	src/core/migration_check.cpp \
	src/core/migration_graph.cpp \
	src/core/migration_hints.cpp \
	src/core/migration_report.cpp \
	src/core/report.cpp \
	src/core/schema.cpp \
	src/core/staging.cpp \
	src/core/statement.cpp

PG_SOURCES = \
	src/pg/attribution.cpp \
	src/pg/audit_store.cpp \
	src/pg/bridge.cpp \
	src/pg/catalog_consistency.cpp \
	src/pg/catalog_extras.cpp \
	src/pg/catalog_objects.cpp \
	src/pg/catalog_print.cpp \
	src/pg/catalog_reader.cpp \
	src/pg/catalog_scans.cpp \
	src/pg/catalog_types.cpp \
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
	src/pg/staging.cpp \
	src/pg/statement_capture.cpp \
	src/pg/type_check.cpp
