// Shared by the lint rule files (lint_rules.cpp, lint_table_rules.cpp):
// rule names, the per-statement context, and finding helpers.
#pragma once

#include <fmt/format.h>

#include <optional>
#include <string>
#include <string_view>

#include "core/lint.hpp"

namespace schema_guard::core {

// What one statement's rules share: its table and that table's size,
// looked up at most once and only when a rule needs it.
struct Linter::Context {
  explicit Context(const LintStatement& s) : statement(s) {}
  const LintStatement& statement;
  bool looked_up = false;
  bool is_new = false;  // created by the script or the current transaction
  std::optional<LintTableSize> size;
};

inline constexpr std::string_view kIndexCreation =
    "require-concurrent-index-creation";
inline constexpr std::string_view kIndexDeletion =
    "require-concurrent-index-deletion";
inline constexpr std::string_view kConcurrentInTransaction =
    "ban-concurrent-index-creation-in-transaction";
inline constexpr std::string_view kRequiredField = "adding-required-field";
inline constexpr std::string_view kSettingNotNull =
    "setting-not-nullable-field";
inline constexpr std::string_view kColumnType = "changing-column-type";
inline constexpr std::string_view kFieldWithDefault =
    "adding-field-with-default";
inline constexpr std::string_view kPrimaryKey =
    "adding-serial-primary-key-field";
inline constexpr std::string_view kNotValid = "constraint-missing-not-valid";
inline constexpr std::string_view kForeignKey = "adding-foreign-key-constraint";
inline constexpr std::string_view kUnique = "disallowed-unique-constraint";
inline constexpr std::string_view kRenameColumn = "renaming-column";
inline constexpr std::string_view kRenameTable = "renaming-table";
inline constexpr std::string_view kDropColumn = "ban-drop-column";
inline constexpr std::string_view kDropTable = "ban-drop-table";
inline constexpr std::string_view kDropDatabase = "ban-drop-database";
inline constexpr std::string_view kLockTimeout = "require-lock-timeout";
inline constexpr std::string_view kBigint = "prefer-bigint-over-int";
inline constexpr std::string_view kIdentity = "prefer-identity";
inline constexpr std::string_view kNesting = "transaction-nesting";
inline constexpr std::string_view kSyntax = "syntax-error";
inline constexpr std::string_view kBadIgnore = "invalid-ignore-comment";

inline std::string ColumnObject(const LintStatement& statement,
                                const std::string& column) {
  std::string table = statement.table ? statement.table->Display() : "";
  return table.empty() ? column : fmt::format("{}.{}", table, column);
}

inline std::string TableText(const LintStatement& statement) {
  return statement.table ? statement.table->Display() : std::string("?");
}

// "constraint "x"", or "a constraint" when it has no name.
inline std::string ConstraintText(const std::string& name) {
  return name.empty() ? std::string("a constraint")
                      : fmt::format("constraint \"{}\"", name);
}

inline bool IsInt4(const LintType& type) {
  return !type.array && type.name == "int4";
}

inline LintFinding MakeFinding(const LintStatement& statement,
                               std::string_view rule, Severity severity,
                               std::string object, std::string message,
                               std::string hint) {
  LintFinding finding;
  finding.statement_no = statement.number;
  finding.line = statement.line;
  finding.rule = rule;
  finding.severity = severity;
  finding.object = std::move(object);
  finding.message = std::move(message);
  finding.hint = std::move(hint);
  finding.lock = statement.lock;
  return finding;
}

}  // namespace schema_guard::core
