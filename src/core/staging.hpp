// Staging synced rows: the batch options, what staging knows of a target
// table, the checks a batch's set-up must pass and key rendering. The rules
// for one staged row are in staging_rows.hpp, the SQL an apply runs in
// staging_sql.hpp. No PostgreSQL here: src/pg/staging_*.cpp read the
// catalog, convert values and run the SQL.
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
  bool has_default = false;      // a default, an identity or a serial
  bool generated = false;        // GENERATED ALWAYS AS (...) STORED
  bool identity_always = false;  // GENERATED ALWAYS AS IDENTITY
  bool orderable = false;        // has a btree ordering (version_column)
  bool timestamp = false;  // timestamptz, timestamp or date (touch_column)
  bool is_json = false;    // json or jsonb: takes a payload value as JSON
  bool comparable = true;  // has an equality operator (else compared as text)
  // The default as SQL (names qualified), or empty: what a row that lacks
  // the column inserts.
  std::string default_sql;
};

// A CHECK constraint of the target: its expression as pg_get_expr() prints
// it (names qualified as the search_path staging pins requires) and the
// columns it reads.
struct StageCheck {
  std::string name;
  std::string expression;
  std::vector<std::string> columns;
};

// A foreign key of the target.
struct StageForeignKey {
  std::string name;
  std::string referenced;       // quoted, schema-qualified
  std::string referenced_name;  // the referenced table's name, unquoted
  bool self = false;            // the target refers to itself
  std::vector<std::string> columns;
  std::vector<std::string> referenced_columns;
  // Per column pair: the constraint's equality operator, schema-qualified
  // ("OPERATOR(pg_catalog.=)").
  std::vector<std::string> operators;
};

// What staging needs to know of a target table.
struct StageTarget {
  std::string display;  // schema.name, unquoted (messages name it so)
  std::string name;     // the table's name, unquoted
  std::string quoted;   // schema-qualified and quoted
  std::vector<StageColumn> columns;           // in attribute order
  std::vector<StageCheck> checks;             // by name
  std::vector<StageForeignKey> foreign_keys;  // by name

  const StageColumn* Find(std::string_view column) const;
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

using QuoteFn = std::function<std::string(std::string_view)>;

}  // namespace schema_guard::core
