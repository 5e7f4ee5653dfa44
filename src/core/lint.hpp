// Migration lint: a small model of the DDL statements that matter for lock
// safety, the rules over it, and severity scaled by the live table size.
// The boundary (src/pg/lint_reader.cpp) builds the model from PostgreSQL's
// own parse tree and answers the size questions (LintCatalog); lint() runs
// it over a script, the DDL guard over the one statement about to run.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/finding.hpp"

namespace schema_guard::core {

// PostgreSQL's table lock levels, weakest first (the order of LOCKMODE).
enum class LockMode {
  kNone,
  kAccessShare,
  kRowShare,
  kRowExclusive,
  kShareUpdateExclusive,
  kShare,
  kShareRowExclusive,
  kExclusive,
  kAccessExclusive,
};
// "ACCESS EXCLUSIVE", ...; empty for kNone.
std::string_view LockModeName(LockMode mode);

// A relation name; schema is empty when the script left it unqualified and
// the boundary could not tell where it lives.
struct LintName {
  std::string schema;
  std::string name;
  std::string Display() const;  // schema.name or name, quoted where needed
  bool operator<(const LintName& other) const;
  bool operator==(const LintName& other) const;
};

// A type as pg_type names it (int4, varchar, numeric, ...) with its type
// modifiers as written (varchar(20): {20}; numeric(10,2): {10, 2}).
struct LintType {
  std::string name;
  std::vector<int> mods;
  bool array = false;
  std::string display;  // as format_type spells it, when the boundary knows
  std::string Display() const;
};

// A type from its pg_type name and the typmod PostgreSQL stores (-1: none),
// the modifiers decoded as they were written.
LintType TypeFromTypmod(std::string name, int typmod, bool array);

// Whether changing a column from `from` to `to` keeps the stored bytes, so
// PostgreSQL neither rewrites the table nor rebuilds its indexes: varchar to
// text, a longer or unbounded varchar, a numeric with more precision and the
// same scale, cidr to inet.
bool IsBinaryCompatibleChange(const LintType& from, const LintType& to);

enum class DefaultKind {
  kNone,
  kConstant,   // not volatile: PostgreSQL 11+ stores it without a rewrite
  kVolatile,   // evaluated per row: a rewrite
  kSerial,     // serial types: nextval() per row
  kIdentity,   // GENERATED ... AS IDENTITY
  kGenerated,  // GENERATED ALWAYS AS (...) STORED
};

struct LintColumn {
  std::string name;
  LintType type;
  bool not_null = false;
  DefaultKind default_kind = DefaultKind::kNone;
  bool primary_key = false;
  bool unique = false;
  std::optional<LintName> references;  // an inline REFERENCES
};

enum class ActionKind {
  kAddColumn,
  kDropColumn,
  kAlterType,
  kSetNotNull,
  kAddCheck,
  kAddForeignKey,
  kAddUnique,
  kAddPrimaryKey,
  kValidateConstraint,
  kOther,
};

// One ALTER TABLE sub-command.
struct LintAction {
  ActionKind kind = ActionKind::kOther;
  std::string name;   // column, or constraint (may be empty when unnamed)
  LintColumn column;  // kAddColumn
  LintType new_type;  // kAlterType
  bool not_valid = false;
  bool using_index = false;            // ADD CONSTRAINT ... USING INDEX
  std::optional<LintName> references;  // kAddForeignKey
  std::string not_null_column;  // kAddCheck of the form CHECK (c IS NOT NULL)
};

enum class StatementKind {
  kOther,
  kParseError,
  kCreateTable,
  kCreateIndex,
  kDropIndex,
  kReindex,
  kAlterTable,
  kRenameTable,
  kRenameColumn,
  kDropTable,
  kDropDatabase,
  kBegin,
  kCommit,  // COMMIT, ROLLBACK, END, ABORT
  kSetLockTimeout,
  kResetLockTimeout,
  kOtherLocking,  // TRUNCATE, CLUSTER, VACUUM FULL, ...: only its lock counts
};

struct LintStatement {
  StatementKind kind = StatementKind::kOther;
  int number = 0;   // 1-based, in the script
  int line = 0;     // 1-based line of its first token
  std::string tag;  // "ALTER TABLE", "CREATE INDEX", ...
  // The table the statement locks (ALTER TABLE's, the indexed table, the
  // dropped or renamed table; the first of several), and the lock taken.
  std::optional<LintName> table;
  LockMode lock = LockMode::kNone;
  std::vector<LintName> tables;  // every table of DROP TABLE
  std::string name;              // index, column or database name
  std::string new_name;          // RENAME ... TO
  bool concurrently = false;
  bool temporary = false;  // CREATE TEMP TABLE, or the table is temporary
  std::vector<LintColumn> columns;   // CREATE TABLE
  std::vector<LintAction> actions;   // ALTER TABLE
  bool lock_timeout_on = false;      // kSetLockTimeout: the value is not 0
  bool set_local = false;            // kSetLockTimeout: SET LOCAL
  std::string error;                 // kParseError: the parser's message
  std::vector<std::string> ignored;  // rules its ignore comments name
};

// The size of an existing table. `rows` is the planner's estimate.
struct LintTableSize {
  double rows = 0;
  std::int64_t bytes = 0;
  // Created by the current transaction: no other session can see it.
  bool new_in_transaction = false;
};

// What only the live database knows; implemented by the boundary.
class LintCatalog {
 public:
  virtual ~LintCatalog() = default;
  // Nothing when the table does not exist.
  virtual std::optional<LintTableSize> TableSize(const LintName& table) = 0;
  // The current type of a column of an existing table.
  virtual std::optional<LintType> ColumnType(const LintName& table,
                                             const std::string& column) = 0;
  // Whether the table has a validated CHECK (column IS NOT NULL), which lets
  // SET NOT NULL skip its scan.
  virtual bool HasNotNullCheck(const LintName& table,
                               const std::string& column) = 0;
};

// Severity thresholds: a table at least this large (rows or bytes) makes a
// size-scaled finding a warning, or an error.
struct LintThresholds {
  double warning_rows = 10000;
  std::int64_t warning_bytes = 10LL << 20;
  double error_rows = 1000000;
  std::int64_t error_bytes = 1LL << 30;
};

struct LintOptions {
  LintThresholds thresholds;
  // A migration tool wraps the script in a transaction.
  bool assume_in_transaction = false;
  // lock_timeout is already set when the script starts (the session's,
  // database's or role's setting).
  bool lock_timeout_set = false;
  // The statements run in the current transaction (the guard): a table
  // this transaction created is new, like one the script created.
  bool in_current_transaction = false;
};

struct LintFinding {
  int statement_no = 0;
  int line = 0;
  std::string rule;
  Severity severity = Severity::kWarning;
  std::string object;
  std::string message;
  std::string hint;
  LockMode lock = LockMode::kNone;
  std::optional<LintTableSize> size;  // of the table it is about
};

// Bytes as pg_size_pretty() prints them: "8192 bytes", "85 MB", "12 GB".
std::string PrettyBytes(std::int64_t bytes);

// The guard's detail for a finding: the table's size and the lock the
// statement takes, e.g. "Table "public.t" has about 40000000 rows
// (12 GB); CREATE INDEX takes a SHARE lock on it."
std::string GuardDetail(const LintFinding& finding, std::string_view table,
                        std::string_view tag);

// Every rule name, in documentation order.
const std::vector<std::string_view>& LintRuleNames();

// The rule an ignore comment names: the name itself, or the rule a squawk
// name stands for (adding-not-nullable-field is squawk's name for what
// setting-not-nullable-field checks). Empty when unknown.
std::string_view CanonicalRuleName(std::string_view name);

// The rules named by "schema_guard:ignore" directives in comment texts
// (without their -- or /* */ markers): names separated by commas or
// spaces, up to the end of the comment. Unknown names are returned as
// they are (the linter reports them).
std::vector<std::string> IgnoreDirectives(std::string_view comment);

// Lints statements one after another, keeping what a script establishes as
// it goes: tables it created, the transaction block, lock_timeout.
class Linter {
 public:
  Linter(LintOptions options, LintCatalog* catalog);

  // Appends the statement's findings (suppressed ones left out).
  void Lint(const LintStatement& statement, std::vector<LintFinding>* out);

  // The severity of a size-scaled finding on a table of this size.
  Severity Scaled(const std::optional<LintTableSize>& size) const;

  struct Context;

 private:
  void Rules(const LintStatement& statement, std::vector<LintFinding>* out);
  void AlterTableRules(const LintStatement& statement, Context* context,
                       std::vector<LintFinding>* out);
  void AddColumnRules(const LintStatement& statement, const LintAction& action,
                      Context* context, std::vector<LintFinding>* out);
  void ConstraintRules(const LintStatement& statement, const LintAction& action,
                       Context* context, std::vector<LintFinding>* out);
  void TransactionRules(const LintStatement& statement,
                        std::vector<LintFinding>* out);
  void LockTimeoutRule(const LintStatement& statement, Context* context,
                       std::vector<LintFinding>* out);
  void Track(const LintStatement& statement);
  void LookUp(Context* context);
  void Emit(Context* context, std::optional<Severity> fixed,
            std::string_view rule, std::string object, std::string message,
            std::string hint, std::vector<LintFinding>* out);
  void PreferRules(const LintStatement& statement, const LintColumn& column,
                   std::vector<LintFinding>* out);
  void IndexRules(const LintStatement& statement, Context* context,
                  bool in_transaction, std::vector<LintFinding>* out);

  struct Check {  // a CHECK (c IS NOT NULL) added NOT VALID
    LintName table;
    std::string constraint;
    std::string column;
  };

  LintOptions options_;
  LintCatalog* catalog_;
  std::set<LintName> created_;  // tables the script created
  std::set<std::pair<LintName, std::string>> not_null_checks_;
  std::vector<Check> unvalidated_checks_;
  bool in_block_ = false;       // BEGIN seen and not ended
  bool lock_timeout_ = false;   // SET lock_timeout (session level)
  bool local_timeout_ = false;  // SET LOCAL lock_timeout (until the block ends)
};

}  // namespace schema_guard::core
