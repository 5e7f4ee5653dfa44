#include "pg/settings.hpp"

#include <climits>
#include <cstdlib>
#include <cstring>

#include "core/migration.hpp"
#include "pg/bridge.hpp"

extern "C" {
#include "postgres.h"

#include "nodes/pg_list.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/varlena.h"
}

namespace schema_guard::pg {

bool audit_enabled = true;
int audit_max_statement_bytes = 65536;
char* migration_label = nullptr;
int guard_mode = kGuardWarn;
int guard_min_rows = 1000000;
int guard_min_kb = 1024 * 1024;
int lint_warning_rows = 10000;
int lint_warning_kb = 10 * 1024;
int lint_error_rows = 1000000;
int lint_error_kb = 1024 * 1024;
int stage_retention = 7 * 24 * 60;
int progress_interval_ms = 10 * 1000;

namespace {

char* ignore_schemas_setting = nullptr;

// The parsed schema_guard.audit_ignore_schemas: "extra" data owned by the GUC
// machinery (malloc'd), a count followed by NUL-terminated names.
struct IgnoreList {
  int count;
  char names[FLEXIBLE_ARRAY_MEMBER];
};
const IgnoreList* ignore_list = nullptr;

bool CheckIgnoreSchemas(char** newval, void** extra, GucSource /*source*/) {
  char* raw = pstrdup(*newval);
  List* names = NIL;
  if (!SplitIdentifierString(raw, ',', &names)) {
    GUC_check_errdetail("List syntax is invalid.");
    GUC_check_errhint(
        "Give a comma-separated list of schema names, such as "
        "'pg_temp, scratch'.");
    pfree(raw);
    list_free(names);
    return false;
  }
  Size size = offsetof(IgnoreList, names) + 1;
  ListCell* cell;
  foreach (cell, names) size += strlen(static_cast<char*>(lfirst(cell))) + 1;
  auto* list = static_cast<IgnoreList*>(malloc(size));
  if (list == nullptr) {
    pfree(raw);
    list_free(names);
    return false;
  }
  list->count = list_length(names);
  char* out = list->names;
  foreach (cell, names) {
    auto* name = static_cast<char*>(lfirst(cell));
    size_t len = strlen(name);
    memcpy(out, name, len + 1);
    out += len + 1;
  }
  pfree(raw);
  list_free(names);
  *extra = list;
  return true;
}

void AssignIgnoreSchemas(const char* /*newval*/, void* extra) {
  ignore_list = static_cast<const IgnoreList*>(extra);
}

// The source of each schema_guard.migration value travels as its "extra"
// data, so that the value a SET LOCAL falls back to at transaction end
// brings its own source back with it (the assign hook is called then too,
// the check hook is not).
struct LabelExtra {
  core::LabelSource source;
};
core::LabelSource label_source = core::LabelSource::kUnset;

core::LabelSource SourceOf(const char* label, GucSource source) {
  if (label == nullptr || label[0] == '\0') return core::LabelSource::kUnset;
  switch (source) {
    case PGC_S_CLIENT:
    case PGC_S_SESSION:
      return core::LabelSource::kSession;
    default:
      return core::LabelSource::kStored;
  }
}

bool CheckMigrationLabel(char** newval, void** extra, GucSource source) {
  const char* label = *newval == nullptr ? "" : *newval;
  ErrorReport report;
  if (Catch([&] { core::ValidateMigrationLabel(label); }, &report)) {
    auto* data = static_cast<LabelExtra*>(malloc(sizeof(LabelExtra)));
    if (data == nullptr) return false;
    data->source = SourceOf(label, source);
    *extra = data;
    return true;
  }
  GUC_check_errcode(report.sqlerrcode);
  GUC_check_errmsg("%s", report.message);
  if (report.detail[0] != '\0') GUC_check_errdetail("%s", report.detail);
  if (report.hint[0] != '\0') GUC_check_errhint("%s", report.hint);
  return false;
}

void AssignMigrationLabel(const char* /*newval*/, void* extra) {
  label_source = extra == nullptr ? core::LabelSource::kUnset
                                  : static_cast<LabelExtra*>(extra)->source;
}

const struct config_enum_entry kGuardModes[] = {
    {"off", kGuardOff, false},
    {"warn", kGuardWarn, false},
    {"block", kGuardBlock, false},
    {nullptr, 0, false},
};

void DefineLintSettings() {
  DefineCustomEnumVariable(
      "schema_guard.guard",
      "What the DDL guard does with lock-unsafe DDL on large tables.",
      "off, warn (a WARNING with the safe rewrite) or block (an ERROR). SET "
      "LOCAL schema_guard.guard = off lets one transaction through; it is "
      "recorded in schema_guard.guard_event.",
      &guard_mode, kGuardWarn, kGuardModes, PGC_USERSET, 0, nullptr, nullptr,
      nullptr);
  DefineCustomIntVariable(
      "schema_guard.guard_min_rows",
      "Rows from which the DDL guard acts on a table.",
      "The guard acts on a table with at least this many rows (the planner's "
      "estimate) or at least schema_guard.guard_min_bytes.",
      &guard_min_rows, 1000000, 0, INT_MAX, PGC_SUSET, 0, nullptr, nullptr,
      nullptr);
  DefineCustomIntVariable(
      "schema_guard.guard_min_bytes",
      "Size from which the DDL guard acts on a table.",
      "The table's heap and TOAST size; the guard acts on a table at least "
      "this large or with at least schema_guard.guard_min_rows rows.",
      &guard_min_kb, 1024 * 1024, 0, INT_MAX, PGC_SUSET, GUC_UNIT_KB, nullptr,
      nullptr, nullptr);
  DefineCustomIntVariable(
      "schema_guard.lint_warning_rows",
      "Rows from which a lint finding about a table is a warning.", nullptr,
      &lint_warning_rows, 10000, 0, INT_MAX, PGC_USERSET, 0, nullptr, nullptr,
      nullptr);
  DefineCustomIntVariable(
      "schema_guard.lint_warning_bytes",
      "Size from which a lint finding about a table is a warning.", nullptr,
      &lint_warning_kb, 10 * 1024, 0, INT_MAX, PGC_USERSET, GUC_UNIT_KB,
      nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "schema_guard.lint_error_rows",
      "Rows from which a lint finding about a table is an error.", nullptr,
      &lint_error_rows, 1000000, 0, INT_MAX, PGC_USERSET, 0, nullptr, nullptr,
      nullptr);
  DefineCustomIntVariable(
      "schema_guard.lint_error_bytes",
      "Size from which a lint finding about a table is an error.", nullptr,
      &lint_error_kb, 1024 * 1024, 0, INT_MAX, PGC_USERSET, GUC_UNIT_KB,
      nullptr, nullptr, nullptr);
}

}  // namespace

core::LabelSource MigrationLabelSource() { return label_source; }

bool IsIgnoredSchema(const char* schema_name) {
  if (schema_name == nullptr || ignore_list == nullptr) return false;
  bool is_temp = strncmp(schema_name, "pg_temp", 7) == 0 &&
                 (schema_name[7] == '\0' || schema_name[7] == '_');
  const char* name = ignore_list->names;
  for (int i = 0; i < ignore_list->count; ++i) {
    if (strcmp(name, schema_name) == 0) return true;
    if (is_temp && strcmp(name, "pg_temp") == 0) return true;
    name += strlen(name) + 1;
  }
  return false;
}

void DefineSettings() {
  DefineCustomBoolVariable(
      "schema_guard.audit",
      "Records every DDL statement in schema_guard.ddl_event.",
      "Only superusers can turn the audit off.", &audit_enabled, true,
      PGC_SUSET, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "schema_guard.audit_max_statement_bytes",
      "Longest statement text stored with an audit row.",
      "Longer statements are cut on a character boundary and marked as "
      "truncated.",
      &audit_max_statement_bytes, 65536, 64, 64 * 1024 * 1024, PGC_SUSET,
      GUC_UNIT_BYTE, nullptr, nullptr, nullptr);
  DefineCustomStringVariable(
      "schema_guard.audit_ignore_schemas",
      "Schemas whose objects are not audited.",
      "A comma-separated list; pg_temp stands for every temporary schema.",
      &ignore_schemas_setting, "pg_temp", PGC_SUSET, GUC_LIST_INPUT,
      CheckIgnoreSchemas, AssignIgnoreSchemas, nullptr);
  DefineCustomStringVariable(
      "schema_guard.migration",
      "Names the migration that the session's DDL belongs to.",
      "Migration runners may SET LOCAL it; audited DDL is then attributed to "
      "this label instead of being reported as drift, when the role may "
      "write the framework's history table.",
      &migration_label, "", PGC_USERSET, 0, CheckMigrationLabel,
      AssignMigrationLabel, nullptr);
  DefineLintSettings();
  DefineCustomIntVariable(
      "schema_guard.stage_retention",
      "How long the staged rows of an applied batch are kept.",
      "Older ones are removed by schema_guard.stage_purge(), which "
      "stage_open() calls; the batch log and the quarantine are kept. -1 "
      "keeps them for good.",
      &stage_retention, 7 * 24 * 60, -1, INT_MAX, PGC_SUSET, GUC_UNIT_MIN,
      nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "schema_guard.progress",
      "Time between two progress messages of a long operation.",
      "stage_validate(), stage_apply(), check(), check_json(), "
      "schema_check(), fix_script(), snapshot() and baseline() raise a "
      "NOTICE saying their phase and how far it has come at most once per "
      "interval. 0 turns the messages off.",
      &progress_interval_ms, 10 * 1000, 0, 24 * 60 * 60 * 1000, PGC_USERSET,
      GUC_UNIT_MS, nullptr, nullptr, nullptr);
#if PG_VERSION_NUM >= 150000
  MarkGUCPrefixReserved("schema_guard");
#else
  EmitWarningsOnPlaceholders("schema_guard");
#endif
}

}  // namespace schema_guard::pg
