// The schema_guard.* settings (GUCs).
#pragma once

#include "core/migration.hpp"

namespace schema_guard::pg {

extern bool audit_enabled;             // schema_guard.audit
extern int audit_max_statement_bytes;  // schema_guard.audit_max_statement_bytes
extern char* migration_label;          // schema_guard.migration
extern int stage_retention;  // schema_guard.stage_retention, minutes; -1: keep
// schema_guard.progress, milliseconds between two progress NOTICEs; 0: none.
extern int progress_interval_ms;

// Where the current schema_guard.migration value came from.
core::LabelSource MigrationLabelSource();

// The DDL guard (schema_guard.guard) and its size thresholds.
enum GuardMode { kGuardOff, kGuardWarn, kGuardBlock };
extern int guard_mode;
extern int guard_min_rows;  // schema_guard.guard_min_rows
extern int guard_min_kb;    // schema_guard.guard_min_bytes, in kB
// Lint severity thresholds (schema_guard.lint_warning_rows, ...).
extern int lint_warning_rows;
extern int lint_warning_kb;
extern int lint_error_rows;
extern int lint_error_kb;

// True when objects in this schema are not audited
// (schema_guard.audit_ignore_schemas; "pg_temp" matches every temporary
// schema).
bool IsIgnoredSchema(const char* schema_name);

void DefineSettings();

}  // namespace schema_guard::pg
