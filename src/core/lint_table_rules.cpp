// The ALTER TABLE rules: columns (added, dropped, re-typed, made NOT
// NULL) and constraints.
#include <fmt/format.h>

#include "core/lint.hpp"
#include "core/lint_rules_internal.hpp"

namespace schema_guard::core {

void Linter::AlterTableRules(const LintStatement& statement, Context* context,
                             std::vector<LintFinding>* out) {
  const std::string table = TableText(statement);
  for (const LintAction& action : statement.actions) {
    switch (action.kind) {
      case ActionKind::kAddColumn:
        AddColumnRules(statement, action, context, out);
        break;
      case ActionKind::kDropColumn:
        Emit(context, Severity::kWarning, kDropColumn,
             ColumnObject(statement, action.name),
             fmt::format("dropping column \"{}\" of table \"{}\" breaks "
                         "clients that still use it",
                         action.name, table),
             "Deploy code that no longer reads or writes the column first "
             "(Django: SeparateDatabaseAndState), then drop it.",
             out);
        break;
      case ActionKind::kAlterType: {
        LookUp(context);
        if (context->is_new) break;
        std::optional<LintType> old;
        if (context->size && statement.table) {
          old = catalog_->ColumnType(*statement.table, action.name);
        }
        if (old && IsBinaryCompatibleChange(*old, action.new_type)) break;
        std::string from =
            old ? fmt::format(" from {}", old->Display()) : std::string();
        Emit(context, std::nullopt, kColumnType,
             ColumnObject(statement, action.name),
             fmt::format("changing the type of column \"{}\" of table \"{}\"{} "
                         "to {} rewrites the table and its indexes under an "
                         "ACCESS EXCLUSIVE lock",
                         action.name, table, from, action.new_type.Display()),
             "Add a column of the new type, backfill it in batches and switch "
             "over; changes that keep the bytes (varchar to text, a longer "
             "varchar, more numeric precision) do not rewrite.",
             out);
        break;
      }
      case ActionKind::kSetNotNull: {
        LookUp(context);
        if (context->is_new || !statement.table) break;
        if (not_null_checks_.count({*statement.table, action.name}) > 0 ||
            (context->size &&
             catalog_->HasNotNullCheck(*statement.table, action.name))) {
          break;
        }
        Emit(context, std::nullopt, kSettingNotNull,
             ColumnObject(statement, action.name),
             fmt::format("setting column \"{}\" of table \"{}\" NOT NULL scans "
                         "the whole table under an ACCESS EXCLUSIVE lock",
                         action.name, table),
             fmt::format("First ADD CONSTRAINT ... CHECK (\"{}\" IS NOT NULL) "
                         "NOT VALID and VALIDATE it in a separate transaction; "
                         "SET NOT NULL then skips the scan.",
                         action.name),
             out);
        break;
      }
      case ActionKind::kAddCheck:
      case ActionKind::kAddForeignKey:
      case ActionKind::kAddUnique:
      case ActionKind::kAddPrimaryKey:
        ConstraintRules(statement, action, context, out);
        break;
      default:
        break;
    }
  }
}

void Linter::AddColumnRules(const LintStatement& statement,
                            const LintAction& action, Context* context,
                            std::vector<LintFinding>* out) {
  const LintColumn& column = action.column;
  const std::string table = TableText(statement);
  std::string object = ColumnObject(statement, column.name);
  PreferRules(statement, column, out);
  if (column.not_null && column.default_kind == DefaultKind::kNone) {
    LookUp(context);
    Severity severity = Severity::kWarning;  // size unknown
    if (context->size) {
      severity = context->size->rows > 0 || context->size->bytes > 0
                     ? Severity::kError
                     : Severity::kInfo;
    }
    Emit(context, severity, kRequiredField, object,
         fmt::format("adding column \"{}\" to table \"{}\" as NOT NULL "
                     "without a default fails if the table has rows, and "
                     "breaks inserts that do not set it",
                     column.name, table),
         "Add it as NULL (or with a non-volatile DEFAULT), backfill it, then "
         "make it NOT NULL through a validated CHECK constraint.",
         out);
  }
  std::string_view why;
  switch (column.default_kind) {
    case DefaultKind::kVolatile:
      why = "with a volatile default";
      break;
    case DefaultKind::kSerial:
      why = "as a serial column";
      break;
    case DefaultKind::kIdentity:
      why = "as an identity column";
      break;
    case DefaultKind::kGenerated:
      why = "as a stored generated column";
      break;
    default:
      break;
  }
  if (!why.empty()) {
    Emit(context, std::nullopt, kFieldWithDefault, object,
         fmt::format("adding column \"{}\" to table \"{}\" {} rewrites the "
                     "table under an ACCESS EXCLUSIVE lock",
                     column.name, table, why),
         "Add the column without a default, set the default for new rows "
         "with ALTER COLUMN ... SET DEFAULT, and backfill the existing rows "
         "in batches.",
         out);
  }
  LintAction constraint;
  constraint.name = column.name;
  if (column.primary_key) {
    constraint.kind = ActionKind::kAddPrimaryKey;
    ConstraintRules(statement, constraint, context, out);
  } else if (column.unique) {
    constraint.kind = ActionKind::kAddUnique;
    ConstraintRules(statement, constraint, context, out);
  }
  if (column.references) {
    constraint.kind = ActionKind::kAddForeignKey;
    constraint.references = column.references;
    constraint.name.clear();
    ConstraintRules(statement, constraint, context, out);
  }
}

void Linter::ConstraintRules(const LintStatement& statement,
                             const LintAction& action, Context* context,
                             std::vector<LintFinding>* out) {
  const std::string table = TableText(statement);
  std::string what = ConstraintText(action.name);
  switch (action.kind) {
    case ActionKind::kAddCheck:
    case ActionKind::kAddForeignKey:
      if (action.not_valid) break;
      Emit(context, std::nullopt, kNotValid, table,
           fmt::format("adding {} to table \"{}\" without NOT VALID scans the "
                       "whole table while holding a lock that blocks writes",
                       what, table),
           "Add it with NOT VALID, then run ALTER TABLE ... VALIDATE "
           "CONSTRAINT in a separate transaction.",
           out);
      if (action.kind == ActionKind::kAddForeignKey) {
        std::string target =
            action.references ? action.references->Display() : "?";
        Emit(context, std::nullopt, kForeignKey, table,
             fmt::format("adding foreign key {}on table \"{}\" takes a SHARE "
                         "ROW EXCLUSIVE lock on it and on table \"{}\" while "
                         "every row is checked",
                         action.name.empty()
                             ? std::string()
                             : fmt::format("\"{}\" ", action.name),
                         table, target),
             "Add it with NOT VALID, then VALIDATE CONSTRAINT in a separate "
             "transaction (a weaker lock, and writes continue).",
             out);
      }
      break;
    case ActionKind::kAddUnique:
      if (action.using_index) break;
      Emit(context, std::nullopt, kUnique, table,
           fmt::format("adding a unique constraint to table \"{}\" builds its "
                       "index under an ACCESS EXCLUSIVE lock",
                       table),
           "CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT ... "
           "UNIQUE USING INDEX.",
           out);
      break;
    case ActionKind::kAddPrimaryKey:
      if (action.using_index) break;
      Emit(context, std::nullopt, kPrimaryKey, table,
           fmt::format("adding a primary key to table \"{}\" builds its index "
                       "under an ACCESS EXCLUSIVE lock",
                       table),
           "CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT ... "
           "PRIMARY KEY USING INDEX.",
           out);
      break;
    default:
      break;
  }
}

}  // namespace schema_guard::core
