// The schema_guard.* settings (GUCs).
#pragma once

#include "core/migration.hpp"

namespace schema_guard::pg {

extern bool audit_enabled;             // schema_guard.audit
extern int audit_max_statement_bytes;  // schema_guard.audit_max_statement_bytes
extern char* migration_label;          // schema_guard.migration

// Where the current schema_guard.migration value came from.
core::LabelSource MigrationLabelSource();

// True when objects in this schema are not audited
// (schema_guard.audit_ignore_schemas; "pg_temp" matches every temporary
// schema).
bool IsIgnoredSchema(const char* schema_name);

void DefineSettings();

}  // namespace schema_guard::pg
