// The lint rules. A rule about a lock or a table scan is scaled by the
// table's live size; a table the script created (or the transaction, for
// the guard) is empty and invisible to other sessions, so it gets none.
#include <fmt/format.h>

#include <algorithm>

#include "core/lint.hpp"

#include "core/lint_rules_internal.hpp"

namespace schema_guard::core {

Linter::Linter(LintOptions options, LintCatalog* catalog)
    : options_(options),
      catalog_(catalog),
      lock_timeout_(options.lock_timeout_set) {}

Severity Linter::Scaled(const std::optional<LintTableSize>& size) const {
  if (!size) return Severity::kWarning;  // no such table here: size unknown
  const LintThresholds& t = options_.thresholds;
  if (size->rows >= t.error_rows || size->bytes >= t.error_bytes) {
    return Severity::kError;
  }
  if (size->rows >= t.warning_rows || size->bytes >= t.warning_bytes) {
    return Severity::kWarning;
  }
  return Severity::kInfo;
}

void Linter::LookUp(Context* context) {
  if (context->looked_up) return;
  context->looked_up = true;
  const LintStatement& statement = context->statement;
  if (!statement.table || statement.temporary) {
    context->is_new = statement.temporary;
    return;
  }
  if (created_.count(*statement.table) > 0) {
    context->is_new = true;
    return;
  }
  context->size = catalog_->TableSize(*statement.table);
  context->is_new = options_.in_current_transaction && context->size &&
                    context->size->new_in_transaction;
}

// A finding on the statement's table, unless the table is new: scaled by
// its size, or of a fixed severity.
void Linter::Emit(Context* context, std::optional<Severity> fixed,
                  std::string_view rule, std::string object,
                  std::string message, std::string hint,
                  std::vector<LintFinding>* out) {
  LookUp(context);
  if (context->is_new) return;
  LintFinding finding = MakeFinding(
      context->statement, rule, fixed ? *fixed : Scaled(context->size),
      std::move(object), std::move(message), std::move(hint));
  finding.size = context->size;
  out->push_back(std::move(finding));
}

void Linter::Rules(const LintStatement& statement,
                   std::vector<LintFinding>* out) {
  Context context(statement);
  bool in_transaction = in_block_ || options_.assume_in_transaction;
  const std::string table = TableText(statement);
  switch (statement.kind) {
    case StatementKind::kParseError:
      out->push_back(MakeFinding(
          statement, kSyntax, Severity::kError, {}, statement.error,
          "Fix the statement; the rest of the script is linted without it."));
      return;
    case StatementKind::kCreateTable:
      if (!statement.temporary) {
        for (const LintColumn& column : statement.columns) {
          PreferRules(statement, column, out);
        }
      }
      break;
    case StatementKind::kCreateIndex:
    case StatementKind::kDropIndex:
    case StatementKind::kReindex:
      IndexRules(statement, &context, in_transaction, out);
      break;
    case StatementKind::kAlterTable:
      AlterTableRules(statement, &context, out);
      break;
    case StatementKind::kRenameTable:
      Emit(&context, Severity::kWarning, kRenameTable, table,
           fmt::format("renaming table \"{}\" to \"{}\" breaks clients that "
                       "still use the old name",
                       table, statement.new_name),
           "Deploy code that uses the new name first, or keep the old name "
           "as a view until every client has moved.",
           out);
      break;
    case StatementKind::kRenameColumn:
      Emit(&context, Severity::kWarning, kRenameColumn,
           ColumnObject(statement, statement.name),
           fmt::format("renaming column \"{}\" of table \"{}\" to \"{}\" "
                       "breaks clients that still use the old name",
                       statement.name, table, statement.new_name),
           "Add the new column, write both, move the readers, then drop the "
           "old one (Django: SeparateDatabaseAndState).",
           out);
      break;
    case StatementKind::kDropTable:
      for (const LintName& dropped : statement.tables) {
        LintStatement one = statement;
        one.table = dropped;
        Context each(one);
        Emit(&each, Severity::kWarning, kDropTable, dropped.Display(),
             fmt::format("dropping table \"{}\" breaks clients that still use "
                         "it and cannot be undone",
                         dropped.Display()),
             "Deploy code that no longer uses the table first, and keep a "
             "backup of its rows.",
             out);
      }
      break;
    case StatementKind::kDropDatabase:
      out->push_back(MakeFinding(
          statement, kDropDatabase, Severity::kError, statement.name,
          fmt::format("dropping database \"{}\" cannot be undone",
                      statement.name),
          "Do not drop databases in a migration."));
      break;
    default:
      break;
  }
  TransactionRules(statement, out);
  LockTimeoutRule(statement, &context, out);
}

void Linter::PreferRules(const LintStatement& statement,
                         const LintColumn& column,
                         std::vector<LintFinding>* out) {
  std::string object = ColumnObject(statement, column.name);
  if (column.default_kind == DefaultKind::kSerial) {
    out->push_back(MakeFinding(
        statement, kIdentity, Severity::kInfo, object,
        fmt::format("column \"{}\" is a serial column", column.name),
        "Use GENERATED BY DEFAULT AS IDENTITY: its sequence belongs to the "
        "column, with no separate grants or ownership."));
  }
  if (IsInt4(column.type)) {
    out->push_back(MakeFinding(
        statement, kBigint, Severity::kInfo, object,
        fmt::format("column \"{}\" is a 32-bit integer, which ends at "
                    "2147483647",
                    column.name),
        "Use bigint; changing the type later rewrites the table."));
  }
}

void Linter::IndexRules(const LintStatement& statement, Context* context,
                        bool in_transaction, std::vector<LintFinding>* out) {
  std::string index =
      statement.name.empty() ? std::string("(unnamed)") : statement.name;
  const std::string table = TableText(statement);
  if (statement.concurrently) {
    if (in_transaction) {
      out->push_back(MakeFinding(
          statement, kConcurrentInTransaction, Severity::kError, index,
          fmt::format("{} CONCURRENTLY cannot run inside a transaction block",
                      statement.tag),
          "Run it on its own, outside BEGIN ... COMMIT (Django: a migration "
          "with atomic = False)."));
    }
    return;
  }
  if (statement.kind == StatementKind::kCreateIndex) {
    Emit(context, std::nullopt, kIndexCreation, index,
         fmt::format("creating index \"{}\" without CONCURRENTLY blocks "
                     "writes to table \"{}\" while the index is built",
                     index, table),
         "Use CREATE INDEX CONCURRENTLY outside a transaction block (Django: "
         "AddIndexConcurrently in a migration with atomic = False).",
         out);
  } else if (statement.kind == StatementKind::kDropIndex) {
    Emit(context, std::nullopt, kIndexDeletion, index,
         fmt::format("dropping index \"{}\" without CONCURRENTLY takes an "
                     "ACCESS EXCLUSIVE lock on table \"{}\"",
                     index, table),
         "Use DROP INDEX CONCURRENTLY outside a transaction block (Django: "
         "RemoveIndexConcurrently).",
         out);
  }
}

void Linter::Lint(const LintStatement& statement,
                  std::vector<LintFinding>* out) {
  std::size_t first = out->size();
  Rules(statement, out);
  // Suppression: the statement's ignore comments.
  std::vector<std::string_view> ignored;
  for (const std::string& name : statement.ignored) {
    std::string_view rule = CanonicalRuleName(name);
    if (!rule.empty()) {
      ignored.push_back(rule);
      continue;
    }
    LintFinding finding;
    finding.statement_no = statement.number;
    finding.line = statement.line;
    finding.rule = kBadIgnore;
    finding.severity = Severity::kWarning;
    finding.message =
        fmt::format("ignore comment names unknown rule \"{}\"", name);
    finding.hint =
        "Name rules as schema_guard.lint() reports them, such as "
        "require-concurrent-index-creation; separate several with commas.";
    out->push_back(std::move(finding));
  }
  if (!ignored.empty()) {
    out->erase(
        std::remove_if(out->begin() + static_cast<long>(first), out->end(),
                       [&](const LintFinding& f) {
                         return std::find(ignored.begin(), ignored.end(),
                                          f.rule) != ignored.end();
                       }),
        out->end());
  }
  Track(statement);
}

void Linter::TransactionRules(const LintStatement& statement,
                              std::vector<LintFinding>* out) {
  if (statement.kind == StatementKind::kBegin &&
      (in_block_ || options_.assume_in_transaction)) {
    out->push_back(MakeFinding(
        statement, kNesting, Severity::kWarning, {},
        in_block_ ? std::string("BEGIN inside a transaction block that is "
                                "already open")
                  : std::string("BEGIN inside the transaction the migration "
                                "tool opens"),
        "Remove it: one migration runs in one transaction."));
  } else if (statement.kind == StatementKind::kCommit &&
             options_.assume_in_transaction) {
    out->push_back(MakeFinding(
        statement, kNesting, Severity::kWarning, {},
        fmt::format("{} ends the transaction the migration tool opens",
                    statement.tag),
        "Remove it, or mark the migration as non-atomic (Django: atomic = "
        "False) and manage its transactions yourself."));
  }
}

void Linter::LockTimeoutRule(const LintStatement& statement, Context* context,
                             std::vector<LintFinding>* out) {
  if (statement.lock < LockMode::kShare || !statement.table) return;
  if (lock_timeout_ || local_timeout_) return;
  LookUp(context);
  if (context->is_new) return;
  if (context->size && context->size->rows <= 0 && context->size->bytes <= 0) {
    return;  // empty: the lock is held for no time
  }
  Emit(context, std::nullopt, kLockTimeout, TableText(statement),
       fmt::format("{} takes a{} {} lock on table \"{}\" with no lock_timeout: "
                   "while it waits for the lock, every query on the table "
                   "waits behind it",
                   statement.tag,
                   statement.lock == LockMode::kAccessExclusive ? "n" : "",
                   LockModeName(statement.lock), TableText(statement)),
       "SET lock_timeout (for example SET LOCAL lock_timeout = '5s') before "
       "the statement, and retry when it times out.",
       out);
}

void Linter::Track(const LintStatement& statement) {
  switch (statement.kind) {
    case StatementKind::kCreateTable:
      if (statement.table) created_.insert(*statement.table);
      break;
    case StatementKind::kBegin:
      in_block_ = true;
      break;
    case StatementKind::kCommit:
      in_block_ = false;
      local_timeout_ = false;
      break;
    case StatementKind::kSetLockTimeout:
      if (statement.set_local) {
        if (in_block_ || options_.assume_in_transaction) {
          local_timeout_ = statement.lock_timeout_on;
        }
      } else {
        lock_timeout_ = statement.lock_timeout_on;
        local_timeout_ = false;
      }
      break;
    case StatementKind::kResetLockTimeout:
      lock_timeout_ = options_.lock_timeout_set;
      local_timeout_ = false;
      break;
    case StatementKind::kRenameTable:
      if (statement.table && created_.erase(*statement.table) > 0) {
        created_.insert(LintName{statement.table->schema, statement.new_name});
      }
      break;
    case StatementKind::kAlterTable:
      if (!statement.table) break;
      for (const LintAction& action : statement.actions) {
        if (action.kind == ActionKind::kAddCheck &&
            !action.not_null_column.empty()) {
          if (action.not_valid) {
            unvalidated_checks_.push_back(
                {*statement.table, action.name, action.not_null_column});
          } else {
            not_null_checks_.insert({*statement.table, action.not_null_column});
          }
        } else if (action.kind == ActionKind::kValidateConstraint) {
          for (const Check& check : unvalidated_checks_) {
            if (check.table == *statement.table &&
                check.constraint == action.name) {
              not_null_checks_.insert({check.table, check.column});
            }
          }
        }
      }
      break;
    default:
      break;
  }
}

}  // namespace schema_guard::core