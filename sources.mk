# The one list of sources, read by the PGXS Makefile and by CMakeLists.txt.
CORE_SOURCES = \
	src/core/migration.cpp \
	src/core/statement.cpp

PG_SOURCES = \
	src/pg/audit_store.cpp \
	src/pg/bridge.cpp \
	src/pg/event_trigger.cpp \
	src/pg/history.cpp \
	src/pg/module.cpp \
	src/pg/settings.cpp \
	src/pg/statement_capture.cpp
