// Staging synced rows: the batch options, the checks a batch's set-up must
// pass, key rendering, problem names and the SQL an apply runs. No
// PostgreSQL here: src/pg/staging.cpp reads the catalog and runs the SQL.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace schema_guard::core {

enum class ConflictRule { kIncomingWins, kNewerWins, kKeepExisting };

const char* ConflictRuleName(ConflictRule rule);

// The options of stage_open(), e.g.
// {"conflict": "newer_wins", "version_column": "client_timestamp",
//  "touch_column": "synced_at", "check_structure": false,
//  "ignore_columns": ["raw_html"]}
struct StageOptions {
  ConflictRule conflict = ConflictRule::kIncomingWins;
  std::string version_column;  // newer_wins only
  std::string touch_column;    // set to the apply time on written rows
  bool check_structure = true;
  std::vector<std::string> ignore_columns;  // payload keys that are not data
};

// Parses the options' JSON text; throws Error(kInvalidParameterValue) naming
// the JSON path of the problem ("options.conflict: ...").
StageOptions ParseStageOptions(std::string_view json_text);

// The options as stored in the batch log, every option spelled out.
std::string StageOptionsJson(const StageOptions& options);

// A column of the target table, as stage_open() and the apply see it.
struct StageColumn {
  std::string name;
  std::string type;  // format_type()
  bool not_null = false;
  bool has_default = false;  // a default, an identity or a serial
  bool generated = false;    // GENERATED ALWAYS AS (...) STORED
  bool identity_always = false;
  bool orderable = false;  // has a btree ordering (version_column)
  bool timestamp = false;  // timestamptz, timestamp or date (touch_column)
};

// Checks the key and option columns against the target's columns; throws
// Error(kUndefinedColumn / kInvalidParameterValue) with a hint.
void CheckStageSetup(std::string_view target, const StageOptions& options,
                     const std::vector<std::string>& key_columns,
                     const std::vector<StageColumn>& columns);

// The text of an external key: the value itself for a one-column key, the
// row's text form "(a,b)" (as PostgreSQL prints a record) for several. A
// missing value renders as nothing, like a NULL in a record.
std::string RenderKey(const std::vector<std::optional<std::string>>& values);

// The problem name for a value its type's input function refused.
const char* ConversionProblem(std::string_view sqlstate);

using QuoteFn = std::function<std::string(std::string_view)>;

// What one apply merges: the target, the batch's converted rows (a table or
// a parenthesised query with the columns "?seq", "?bucket" and the staged
// columns, named as in the target) and which columns take part.
struct MergePlan {
  std::string target;  // quoted, schema-qualified
  std::string staged;  // a relation for FROM ... s
  std::vector<std::string> key_columns;
  std::vector<std::string> columns;   // staged non-key columns
  std::vector<bool> compare_as_text;  // per column: no equality operator
  StageOptions options;
  // When set, a table of the "bucket" values that may hold duplicates: only
  // staged rows in those buckets are grouped by key.
  std::string candidates;
};

// The SQL text of a row's key: col::text or ROW(a, b)::text, over `alias`.
std::string KeyTextSql(const std::vector<std::string>& key_columns,
                       std::string_view alias, const QuoteFn& quote);

// The in-batch duplicates among plan.staged's rows that the last (or
// newest) row of their key supersedes: (seq, key, winner). With
// plan.candidates, only rows in the candidate buckets are grouped.
std::string SupersedeSql(const MergePlan& plan, const QuoteFn& quote);

// How many staged rows are older than the stored row (newer_wins only).
std::string StaleCountSql(const MergePlan& plan, const QuoteFn& quote);

// The merge: one INSERT ... ON CONFLICT over the staged table; returns one
// row (inserted, updated). $1 is the apply time for the touch column.
std::string MergeSql(const MergePlan& plan, const QuoteFn& quote);

// What the merge would do, without writing: one row (inserted, updated,
// unchanged, stale).
std::string DryRunSql(const MergePlan& plan, const QuoteFn& quote);

}  // namespace schema_guard::core
