#include "core/lint.hpp"

#include <gtest/gtest.h>

#include "core/lint_text.hpp"

#include <map>
#include <string>
#include <vector>

namespace schema_guard::core {
namespace {

class FakeCatalog : public LintCatalog {
 public:
  std::map<LintName, LintTableSize> tables;
  std::map<std::pair<LintName, std::string>, LintType> columns;
  std::set<std::pair<LintName, std::string>> not_null_checks;
  int size_lookups = 0;

  std::optional<LintTableSize> TableSize(const LintName& table) override {
    ++size_lookups;
    auto it = tables.find(table);
    if (it == tables.end()) return std::nullopt;
    return it->second;
  }
  std::optional<LintType> ColumnType(const LintName& table,
                                     const std::string& column) override {
    auto it = columns.find({table, column});
    if (it == columns.end()) return std::nullopt;
    return it->second;
  }
  bool HasNotNullCheck(const LintName& table,
                       const std::string& column) override {
    return not_null_checks.count({table, column}) > 0;
  }
};

LintType Type(std::string name, std::vector<int> mods = {}) {
  LintType type;
  type.name = std::move(name);
  type.mods = std::move(mods);
  return type;
}

const LintName kBig{"public", "license_licensedetails"};
const LintName kSmall{"public", "core_schemecode"};
const LintName kEmpty{"public", "core_empty"};
const LintName kMissing{"public", "nowhere"};

class LintTest : public ::testing::Test {
 protected:
  void SetUp() override {
    catalog.tables[kBig] = {40e6, 12LL << 30, false};
    catalog.tables[kSmall] = {12, 8192, false};
    catalog.tables[kEmpty] = {0, 0, false};
  }

  std::vector<LintFinding> Run(const std::vector<LintStatement>& statements,
                               LintOptions options = {}) {
    Linter linter(options, &catalog);
    std::vector<LintFinding> out;
    int n = 0;
    for (LintStatement s : statements) {
      s.number = ++n;
      linter.Lint(s, &out);
    }
    return out;
  }

  static std::vector<std::string> Rules(const std::vector<LintFinding>& f) {
    std::vector<std::string> rules;
    for (const LintFinding& x : f) rules.push_back(x.rule);
    return rules;
  }

  static LintStatement Index(const LintName& table, bool concurrently = false) {
    LintStatement s;
    s.kind = StatementKind::kCreateIndex;
    s.tag = "CREATE INDEX";
    s.table = table;
    s.name = "some_idx";
    s.concurrently = concurrently;
    s.lock = concurrently ? LockMode::kShareUpdateExclusive : LockMode::kShare;
    return s;
  }

  static LintStatement Alter(const LintName& table, LintAction action,
                             LockMode lock = LockMode::kAccessExclusive) {
    LintStatement s;
    s.kind = StatementKind::kAlterTable;
    s.tag = "ALTER TABLE";
    s.table = table;
    s.lock = lock;
    s.actions.push_back(std::move(action));
    return s;
  }

  static LintStatement Simple(StatementKind kind, std::string tag) {
    LintStatement s;
    s.kind = kind;
    s.tag = std::move(tag);
    return s;
  }

  static LintStatement SetTimeout(bool on, bool local = false) {
    LintStatement s = Simple(StatementKind::kSetLockTimeout, "SET");
    s.lock_timeout_on = on;
    s.set_local = local;
    return s;
  }

  static LintAction AddColumn(std::string name, std::string type, bool not_null,
                              DefaultKind def) {
    LintAction a;
    a.kind = ActionKind::kAddColumn;
    a.name = name;
    a.column.name = name;
    a.column.type.name = std::move(type);
    a.column.not_null = not_null;
    a.column.default_kind = def;
    return a;
  }

  static LintAction AlterType(std::string column, LintType type) {
    LintAction a;
    a.kind = ActionKind::kAlterType;
    a.name = std::move(column);
    a.new_type = std::move(type);
    return a;
  }

  FakeCatalog catalog;
};

TEST_F(LintTest, IndexSeverityScalesWithTheLiveSize) {
  LintOptions timeout;
  timeout.lock_timeout_set = true;
  auto big = Run({Index(kBig)}, timeout);
  ASSERT_EQ(Rules(big),
            std::vector<std::string>{"require-concurrent-index-creation"});
  EXPECT_EQ(big[0].severity, Severity::kError);
  EXPECT_EQ(big[0].lock, LockMode::kShare);
  ASSERT_TRUE(big[0].size);
  EXPECT_EQ(big[0].size->bytes, 12LL << 30);
  EXPECT_EQ(big[0].message,
            "creating index \"some_idx\" without CONCURRENTLY blocks writes "
            "to table \"public.license_licensedetails\" while the index is "
            "built");

  auto small = Run({Index(kSmall)}, timeout);
  ASSERT_EQ(small.size(), 1u);
  EXPECT_EQ(small[0].severity, Severity::kInfo);

  auto missing = Run({Index(kMissing)}, timeout);
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0].severity, Severity::kWarning);
  EXPECT_FALSE(missing[0].size);

  LintOptions low = timeout;
  low.thresholds.warning_rows = 10;
  auto scaled = Run({Index(kSmall)}, low);
  EXPECT_EQ(scaled[0].severity, Severity::kWarning);
}

TEST_F(LintTest, ATableCreatedEarlierInTheScriptCountsAsEmpty) {
  LintStatement create = Simple(StatementKind::kCreateTable, "CREATE TABLE");
  create.table = kMissing;
  auto f =
      Run({create, Index(kMissing),
           Alter(kMissing, AddColumn("x", "int8", true, DefaultKind::kNone))});
  EXPECT_TRUE(f.empty()) << f[0].rule;

  // The guard's equivalent: created in the current transaction.
  catalog.tables[kMissing] = {5e6, 1LL << 31, true};
  LintOptions guard;
  guard.in_current_transaction = true;
  EXPECT_TRUE(Run({Index(kMissing)}, guard).empty());
  EXPECT_EQ(Run({Index(kMissing)}).size(), 2u);
}

TEST_F(LintTest, ConcurrentIndexInsideATransactionBlock) {
  LintStatement begin = Simple(StatementKind::kBegin, "BEGIN");
  auto f = Run({begin, Index(kBig, true)});
  ASSERT_EQ(Rules(f), std::vector<std::string>{
                          "ban-concurrent-index-creation-in-transaction"});
  EXPECT_EQ(f[0].severity, Severity::kError);
  EXPECT_EQ(f[0].statement_no, 2);

  EXPECT_TRUE(Run({Index(kBig, true)}).empty());
  LintOptions assumed;
  assumed.assume_in_transaction = true;
  EXPECT_EQ(Run({Index(kBig, true)}, assumed).size(), 1u);
  // After COMMIT the block is over.
  LintStatement commit = Simple(StatementKind::kCommit, "COMMIT");
  EXPECT_TRUE(Run({begin, commit, Index(kBig, true)}).empty());
}

TEST_F(LintTest, BinaryCompatibleTypeChangesDoNotRewrite) {
  LintType varchar20 = Type("varchar", {20});
  LintType varchar50 = Type("varchar", {50});
  LintType varchar10 = Type("varchar", {10});
  LintType text = Type("text", {});
  LintType num10 = Type("numeric", {10, 2});
  LintType num12 = Type("numeric", {12, 2});
  LintType num12s3 = Type("numeric", {12, 3});
  LintType int4 = Type("int4", {});
  LintType int8 = Type("int8", {});
  EXPECT_TRUE(IsBinaryCompatibleChange(varchar20, text));
  EXPECT_TRUE(IsBinaryCompatibleChange(varchar20, varchar50));
  EXPECT_TRUE(IsBinaryCompatibleChange(varchar20, Type("varchar")));
  EXPECT_FALSE(IsBinaryCompatibleChange(varchar20, varchar10));
  EXPECT_FALSE(IsBinaryCompatibleChange(text, varchar20));
  EXPECT_TRUE(IsBinaryCompatibleChange(num10, num12));
  EXPECT_TRUE(IsBinaryCompatibleChange(num10, Type("numeric")));
  EXPECT_FALSE(IsBinaryCompatibleChange(num12, num10));
  EXPECT_FALSE(IsBinaryCompatibleChange(num10, num12s3));
  EXPECT_FALSE(IsBinaryCompatibleChange(int4, int8));
  EXPECT_TRUE(IsBinaryCompatibleChange(Type("cidr"), Type("inet")));

  LintOptions timeout;
  timeout.lock_timeout_set = true;
  catalog.columns[{kBig, "name"}] = varchar20;
  catalog.columns[{kBig, "amount"}] = num10;
  catalog.columns[{kBig, "n"}] = int4;
  EXPECT_TRUE(Run({Alter(kBig, AlterType("name", text))}, timeout).empty());
  EXPECT_TRUE(
      Run({Alter(kBig, AlterType("name", varchar50))}, timeout).empty());
  EXPECT_TRUE(Run({Alter(kBig, AlterType("amount", num12))}, timeout).empty());
  auto f = Run({Alter(kBig, AlterType("n", int8))}, timeout);
  ASSERT_EQ(Rules(f), std::vector<std::string>{"changing-column-type"});
  EXPECT_EQ(f[0].severity, Severity::kError);
  EXPECT_NE(f[0].message.find("from int4 to int8"), std::string::npos);
  // An unknown old type is assumed to rewrite.
  EXPECT_EQ(Run({Alter(kBig, AlterType("other", text))}, timeout).size(), 1u);
}

TEST_F(LintTest, TypmodsDecodeAsWritten) {
  EXPECT_EQ(TypeFromTypmod("varchar", 24, false).mods, std::vector<int>{20});
  EXPECT_EQ(TypeFromTypmod("numeric", ((12 << 16) | 2) + 4, false).mods,
            (std::vector<int>{12, 2}));
  EXPECT_TRUE(TypeFromTypmod("text", -1, false).mods.empty());
}

TEST_F(LintTest, AddingColumns) {
  LintOptions timeout;
  timeout.lock_timeout_set = true;
  auto required = Run(
      {Alter(kBig, AddColumn("x", "int8", true, DefaultKind::kNone))}, timeout);
  ASSERT_EQ(Rules(required), std::vector<std::string>{"adding-required-field"});
  EXPECT_EQ(required[0].severity, Severity::kError);
  auto empty =
      Run({Alter(kEmpty, AddColumn("x", "int8", true, DefaultKind::kNone))},
          timeout);
  EXPECT_EQ(empty[0].severity, Severity::kInfo);
  EXPECT_TRUE(
      Run({Alter(kBig, AddColumn("x", "int8", true, DefaultKind::kConstant))},
          timeout)
          .empty());
  auto volatile_default =
      Run({Alter(kBig, AddColumn("x", "uuid", false, DefaultKind::kVolatile))},
          timeout);
  EXPECT_EQ(Rules(volatile_default),
            std::vector<std::string>{"adding-field-with-default"});
  LintAction serial_pk = AddColumn("id", "int8", true, DefaultKind::kSerial);
  serial_pk.column.primary_key = true;
  EXPECT_EQ(
      Rules(Run({Alter(kBig, serial_pk)}, timeout)),
      (std::vector<std::string>{"prefer-identity", "adding-field-with-default",
                                "adding-serial-primary-key-field"}));
  auto int4 =
      Run({Alter(kSmall, AddColumn("n", "int4", false, DefaultKind::kNone))},
          timeout);
  ASSERT_EQ(Rules(int4), std::vector<std::string>{"prefer-bigint-over-int"});
  EXPECT_EQ(int4[0].severity, Severity::kInfo);
}

TEST_F(LintTest, SetNotNullIsSafeAfterAValidatedCheck) {
  LintAction set;
  set.kind = ActionKind::kSetNotNull;
  set.name = "code";
  LintOptions timeout;
  timeout.lock_timeout_set = true;
  EXPECT_EQ(Rules(Run({Alter(kBig, set)}, timeout)),
            std::vector<std::string>{"setting-not-nullable-field"});

  LintAction check;
  check.kind = ActionKind::kAddCheck;
  check.name = "code_not_null";
  check.not_null_column = "code";
  check.not_valid = true;
  LintAction validate;
  validate.kind = ActionKind::kValidateConstraint;
  validate.name = "code_not_null";
  auto two_phase = Run({Alter(kBig, check, LockMode::kShareRowExclusive),
                        Alter(kBig, validate, LockMode::kShareUpdateExclusive),
                        Alter(kBig, set)},
                       timeout);
  EXPECT_TRUE(two_phase.empty()) << two_phase[0].rule;
  // Not validated: SET NOT NULL still scans.
  EXPECT_EQ(Run({Alter(kBig, check), Alter(kBig, set)}, timeout).size(), 1u);
  catalog.not_null_checks.insert({kBig, "code"});
  EXPECT_TRUE(Run({Alter(kBig, set)}, timeout).empty());
}

TEST_F(LintTest, Constraints) {
  LintOptions timeout;
  timeout.lock_timeout_set = true;
  LintAction fk;
  fk.kind = ActionKind::kAddForeignKey;
  fk.name = "fk";
  fk.references = kSmall;
  EXPECT_EQ(
      Rules(Run({Alter(kBig, fk, LockMode::kShareRowExclusive)}, timeout)),
      (std::vector<std::string>{"constraint-missing-not-valid",
                                "adding-foreign-key-constraint"}));
  fk.not_valid = true;
  EXPECT_TRUE(Run({Alter(kBig, fk)}, timeout).empty());
  LintAction unique;
  unique.kind = ActionKind::kAddUnique;
  EXPECT_EQ(Rules(Run({Alter(kBig, unique)}, timeout)),
            std::vector<std::string>{"disallowed-unique-constraint"});
  unique.using_index = true;
  EXPECT_TRUE(Run({Alter(kBig, unique)}, timeout).empty());
  LintAction pk;
  pk.kind = ActionKind::kAddPrimaryKey;
  EXPECT_EQ(Rules(Run({Alter(kBig, pk)}, timeout)),
            std::vector<std::string>{"adding-serial-primary-key-field"});
}

TEST_F(LintTest, LockTimeoutIsRequiredBeforeStrongLocksOnTablesWithRows) {
  auto f = Run({Index(kBig)});
  EXPECT_EQ(Rules(f),
            (std::vector<std::string>{"require-concurrent-index-creation",
                                      "require-lock-timeout"}));
  EXPECT_EQ(f[1].message,
            "CREATE INDEX takes a SHARE lock on table "
            "\"public.license_licensedetails\" with no lock_timeout: while it "
            "waits for the lock, every query on the table waits behind it");
  // Not on an empty table, nor after SET lock_timeout.
  EXPECT_EQ(Run({Index(kEmpty)}).size(), 1u);
  EXPECT_EQ(Run({SetTimeout(true), Index(kBig)}).size(), 1u);
  // SET LOCAL lasts until the block ends; SET ... = 0 turns it off.
  LintStatement begin = Simple(StatementKind::kBegin, "BEGIN");
  LintStatement commit = Simple(StatementKind::kCommit, "COMMIT");
  EXPECT_EQ(Run({begin, SetTimeout(true, true), Index(kBig)}).size(), 1u);
  EXPECT_EQ(Run({begin, SetTimeout(true, true), commit, Index(kBig)}).size(),
            2u);
  EXPECT_EQ(Run({SetTimeout(true), SetTimeout(false), Index(kBig)}).size(), 2u);
  // Weaker locks need none.
  EXPECT_TRUE(Run({Index(kBig, true)}).empty());
}

TEST_F(LintTest, DropsRenamesAndTransactions) {
  LintStatement drop = Simple(StatementKind::kDropTable, "DROP TABLE");
  drop.tables = {kSmall, kMissing};
  drop.table = kSmall;
  drop.lock = LockMode::kAccessExclusive;
  auto f = Run({drop});
  EXPECT_EQ(Rules(f),
            (std::vector<std::string>{"ban-drop-table", "ban-drop-table",
                                      "require-lock-timeout"}));
  LintStatement rename = Simple(StatementKind::kRenameColumn, "ALTER TABLE");
  rename.table = kSmall;
  rename.name = "a";
  rename.new_name = "b";
  LintOptions timeout;
  timeout.lock_timeout_set = true;
  auto r = Run({rename}, timeout);
  ASSERT_EQ(Rules(r), std::vector<std::string>{"renaming-column"});
  EXPECT_EQ(r[0].object, "public.core_schemecode.a");

  LintStatement begin = Simple(StatementKind::kBegin, "BEGIN");
  EXPECT_EQ(Rules(Run({begin, begin})),
            std::vector<std::string>{"transaction-nesting"});
  LintOptions assumed;
  assumed.assume_in_transaction = true;
  EXPECT_EQ(Run({Simple(StatementKind::kCommit, "COMMIT")}, assumed).size(),
            1u);
  LintStatement dropdb = Simple(StatementKind::kDropDatabase, "DROP DATABASE");
  dropdb.name = "prod";
  EXPECT_EQ(Run({dropdb})[0].severity, Severity::kError);
}

TEST_F(LintTest, IgnoreCommentsSuppressNamedRules) {
  LintStatement index = Index(kBig);
  index.ignored = {"require-concurrent-index-creation"};
  EXPECT_EQ(Rules(Run({index})),
            std::vector<std::string>{"require-lock-timeout"});
  LintAction set;
  set.kind = ActionKind::kSetNotNull;
  set.name = "code";
  LintStatement alter = Alter(kBig, set);
  alter.ignored = {"adding-not-nullable-field", "require-lock-timeout"};
  EXPECT_TRUE(Run({alter}).empty());
  index.ignored = {"require-concurent-index-creation"};
  auto typo = Run({index});
  EXPECT_EQ(Rules(typo),
            (std::vector<std::string>{"require-concurrent-index-creation",
                                      "require-lock-timeout",
                                      "invalid-ignore-comment"}));
}

TEST(IgnoreDirectives, ParsesNamesUpToFreeText) {
  EXPECT_EQ(IgnoreDirectives(" schema_guard:ignore ban-drop-column"),
            std::vector<std::string>{"ban-drop-column"});
  EXPECT_EQ(IgnoreDirectives(" schema_guard:ignore ban-drop-column, "
                             "Renaming-Table because we deploy first"),
            (std::vector<std::string>{"ban-drop-column", "renaming-table"}));
  EXPECT_TRUE(
      IgnoreDirectives(" just a comment about ban-drop-column").empty());
  EXPECT_TRUE(IgnoreDirectives(" schema_guard:ignore").empty());
}

TEST(CanonicalRuleName, KnowsSquawksNames) {
  EXPECT_EQ(CanonicalRuleName("adding-not-nullable-field"),
            "setting-not-nullable-field");
  EXPECT_EQ(CanonicalRuleName("ban-drop-table"), "ban-drop-table");
  EXPECT_TRUE(CanonicalRuleName("no-such-rule").empty());
}

TEST_F(LintTest, SizesAreLookedUpOnlyWhenARuleNeedsThem) {
  LintStatement create = Simple(StatementKind::kCreateTable, "CREATE TABLE");
  create.table = kBig;
  Run({create, Simple(StatementKind::kOther, "SELECT")});
  EXPECT_EQ(catalog.size_lookups, 0);
}

}  // namespace
}  // namespace schema_guard::core

namespace schema_guard::core {
namespace {

TEST(FindComments, SkipsQuotedText) {
  std::string_view sql =
      "SELECT '-- not a comment', $x$ /* nor */ $x$, \"a--b\" -- one\n"
      "/* two /* nested */ still */ E'\\' -- no' /* three */";
  auto comments = FindComments(sql);
  ASSERT_EQ(comments.size(), 3u);
  EXPECT_EQ(comments[0].text, " one");
  EXPECT_EQ(comments[1].text, " two /* nested */ still ");
  EXPECT_EQ(comments[2].text, " three ");
}

TEST(SkipBlanksAndComments, FindsTheFirstToken) {
  std::string_view sql = "\n  -- lead\n/* block */ CREATE";
  EXPECT_EQ(sql.substr(SkipBlanksAndComments(sql, 0)), "CREATE");
}

TEST(LineIndex, CountsFromOne) {
  LineIndex lines("a\nb\n\nc");
  EXPECT_EQ(lines.LineOf(0), 1);
  EXPECT_EQ(lines.LineOf(2), 2);
  EXPECT_EQ(lines.LineOf(5), 4);
}

TEST(AttachComments, TrailingCommentsBelongToTheStatementBefore) {
  std::string_view sql =
      "CREATE INDEX a ON t (x); -- mine\n"
      "-- next\n"
      "DROP TABLE t;";
  std::vector<StatementSpan> spans = {{0, 23}, {24, 52}};
  auto comments = FindComments(sql);
  ASSERT_EQ(comments.size(), 2u);
  EXPECT_EQ(AttachComments(sql, spans, comments), (std::vector<int>{0, 1}));
  // After the statement's first token, a comment is the statement's own.
  std::string_view inline_comment = "SET x = 1; DROP TABLE t /* mine */";
  EXPECT_EQ(AttachComments(inline_comment, {{0, 9}, {10, 34}},
                           FindComments(inline_comment)),
            std::vector<int>{1});
}

}  // namespace
}  // namespace schema_guard::core

namespace schema_guard::core {
namespace {

TEST(PrettyBytes, MatchesPgSizePretty) {
  EXPECT_EQ(PrettyBytes(8192), "8192 bytes");
  EXPECT_EQ(PrettyBytes(10240), "10 kB");
  EXPECT_EQ(PrettyBytes(85LL << 20), "85 MB");
  EXPECT_EQ(PrettyBytes(12LL << 30), "12 GB");
}

TEST(GuardDetail, NamesTheSizeTheLockAndTheRule) {
  LintFinding finding;
  finding.rule = "require-concurrent-index-creation";
  finding.lock = LockMode::kShare;
  finding.size = LintTableSize{40e6, 12LL << 30, false};
  EXPECT_EQ(
      GuardDetail(finding, "public.t", "CREATE INDEX"),
      "Table \"public.t\" has about 40000000 rows (12 GB). CREATE INDEX "
      "takes a SHARE lock on it. Rule: require-concurrent-index-creation.");
}

}  // namespace
}  // namespace schema_guard::core
