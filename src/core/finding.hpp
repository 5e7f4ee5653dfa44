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

// The order fix steps run in. First what must go before anything it
// depends on changes: dependent views, triggers and policies, then foreign
// keys, other constraints, indexes, columns and tables (dependants first).
// Then what is made, each after what it needs: schemas, extensions,
// collations, types, sequences, functions (bodies are not checked),
// tables (parents first), partitions, columns, keys, checks, foreign keys,
// indexes, views (in dependency order), triggers, policies, owners and
// grants, comments. Last the drops of what nothing uses any more:
// sequences, functions, types, extensions, schemas.
enum class FixPhase {
  kDropDependent,
  kDropForeignKey,
  kDropConstraint,
  kDropIndex,
  kDropColumn,
  kDropTable,
  kSchema,
  kExtension,
  kCollation,
  kType,
  kSequence,
  kFunction,
  kCreate,
  kPartition,
  kAlter,
  kConstraint,
  kForeignKey,
  kIndex,
  kView,
  kTrigger,
  kPolicy,
  kAccess,
  kComment,
  kFinalDrop,
  kNone
};

// One statement group of a fix, placed in the script by phase, then rank
// (dependency depth within the phase), then the order findings came in.
struct FixStep {
  FixPhase phase = FixPhase::kNone;
  int rank = 0;
  std::string sql;
  // A comment line that says what must be done by hand and why, when
  // there is no DDL (sql empty) or as a warning above it.
  std::string note;
};

struct Finding {
  Severity severity = Severity::kError;
  std::string kind;  // stable machine name: missing_table, type_mismatch, ...
  std::string app;
  std::string object;  // schema.table, schema.table.column, index schema.name
  std::string message;
  std::string expected;
  std::string actual;
  std::string fix;  // DDL, empty when none: the steps' SQL in script order
  std::vector<std::string> hazards;
  std::vector<FixStep> steps;
  bool destructive = false;  // fix_script comments it out unless asked
  // A pending migration's step in the apply plan (1-based); 0 otherwise.
  std::size_t plan_step = 0;
  // The root finding this one follows from ("missing_table public.x"), or
  // "": reports fold it under its cause.
  std::string cause;
};

// "kind object": how a finding is named as another's cause.
std::string FindingName(const Finding& f);

}  // namespace schema_guard::core
