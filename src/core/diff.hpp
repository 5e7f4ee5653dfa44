// The diff engine: expected schema vs live schema -> findings, each with
// the DDL that fixes it (where one exists) and that DDL's hazards.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/schema.hpp"

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
};

struct DiffOptions {
  bool online = true;  // lock-safe fix forms
  // Quotes an identifier for SQL (the boundary passes PostgreSQL's
  // quote_identifier).
  std::function<std::string(std::string_view)> quote;
};

std::vector<Finding> Diff(const Schema& expected, const Schema& actual,
                          const DiffOptions& options);

struct Summary {
  std::size_t tables_expected = 0;
  std::size_t tables_present = 0;
  std::size_t tables_missing = 0;
  std::size_t orphans = 0;
  std::size_t orphans_expected = 0;
  std::size_t column_differences = 0;
  std::size_t errors = 0;
  std::size_t warnings = 0;
};

Summary Summarize(const Schema& expected, const std::vector<Finding>& findings);

}  // namespace schema_guard::core
