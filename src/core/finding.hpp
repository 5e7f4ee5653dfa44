// A finding: one difference the schema check or the migration check
// reports, with the DDL that fixes it (where one exists) and its hazards.
// check() and migration_check() return the same row type.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace schema_guard::core {

enum class Severity { kError, kWarning, kInfo };
std::string_view SeverityName(Severity severity);

// Hazards named in fixes and fix scripts.
inline constexpr std::string_view kAccessExclusiveLock =
    "ACQUIRES_ACCESS_EXCLUSIVE_LOCK";
inline constexpr std::string_view kIndexBuild = "INDEX_BUILD";
inline constexpr std::string_view kShareLock = "ACQUIRES_SHARE_LOCK";
inline constexpr std::string_view kDeletesData = "DELETES_DATA";
inline constexpr std::string_view kTableRewrite = "TABLE_REWRITE";
inline constexpr std::string_view kValidationScan = "VALIDATION_SCAN";

// The order fixes run in: schemas and types before the tables that use
// them, tables before their partitions and the keys that reference them,
// views after the columns they read, destructive changes last.
enum class FixPhase {
  kSchema,
  kType,
  kCreate,
  kPartition,
  kAlter,
  kConstraint,
  kIndex,
  kView,
  kDrop,
  kNone
};

struct Finding {
  Severity severity = Severity::kError;
  std::string kind;  // stable machine name: missing_table, type_mismatch, ...
  std::string app;
  std::string object;  // schema.table, schema.table.column, index schema.name
  std::string message;
  std::string expected;
  std::string actual;
  std::string fix;  // DDL, empty when none
  std::vector<std::string> hazards;
  FixPhase phase = FixPhase::kNone;
  bool destructive = false;  // fix_script comments it out unless asked
  // A pending migration's step in the apply plan (1-based); 0 otherwise.
  std::size_t plan_step = 0;
};

}  // namespace schema_guard::core
