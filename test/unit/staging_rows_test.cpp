#include "core/staging_rows.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace schema_guard::core {
namespace {

StageColumn Column(std::string name, std::string type, bool not_null = false,
                   bool has_default = false) {
  StageColumn c;
  c.name = std::move(name);
  c.type = std::move(type);
  c.not_null = not_null;
  c.has_default = has_default;
  c.orderable = true;
  return c;
}

// app_sale, as in test/fixtures/sales_app.sql.
StageTarget Sales() {
  StageTarget t;
  t.display = "public.app_sale";
  t.name = "app_sale";
  t.quoted = "public.app_sale";
  StageColumn id = Column("id", "bigint", true, true);
  id.identity_always = true;
  StageColumn doc = Column("doc", "jsonb");
  doc.is_json = true;
  doc.comparable = false;
  StageColumn total = Column("total", "numeric", false, true);
  total.generated = true;
  StageColumn synced = Column("synced_at", "timestamp with time zone");
  synced.timestamp = true;
  t.columns = {id,
               Column("external_id", "uuid"),
               Column("quantity", "numeric(10,3)", true),
               Column("source_device", "character varying(128)", true, true),
               doc,
               total,
               synced,
               Column("note", "text")};
  t.checks = {
      {"app_sale_quantity_check", "(quantity > (0)::numeric)", {"quantity"}},
      {"app_sale_note_check", "(note <> ''::text)", {"note"}}};
  StageForeignKey fk;
  fk.name = "app_sale_device_fkey";
  fk.referenced = "public.device";
  fk.referenced_name = "device";
  fk.columns = {"source_device"};
  fk.referenced_columns = {"name"};
  fk.operators = {"OPERATOR(pg_catalog.=)"};
  t.foreign_keys = {fk};
  return t;
}

StageOptions Options() {
  StageOptions o;
  o.touch_column = "synced_at";
  o.ignore_columns = {"raw"};
  return o;
}

struct Mapped {
  std::unique_ptr<TextArena> arena = std::make_unique<TextArena>();
  MappedRow row;
  std::vector<std::string> problems;  // "name: detail", in order
};

Mapped Map(const RowPlan& plan, std::string_view payload) {
  PayloadScanner scanner;
  Mapped m;
  plan.Map(payload, &scanner, m.arena.get(), &m.row);
  std::vector<RowProblem> sorted = m.row.problems;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const RowProblem& a, const RowProblem& b) {
                     return a.order < b.order;
                   });
  for (const auto& p : sorted) {
    m.problems.push_back(std::string(ProblemName(p.problem)) + ": " + p.detail);
  }
  return m;
}

RowPlan Plan(const std::vector<std::int64_t>& named, std::int64_t objects) {
  RowPlan plan(Sales(), {"external_id"}, Options());
  plan.SetCarried(named, objects);
  return plan;
}

// Every payload names external_id, quantity and doc; one in two names note.
RowPlan SalesPlan() { return Plan({0, 10, 10, 0, 10, 0, 0, 5}, 10); }

TEST(RowPlan, MapsFieldsOntoColumnsWithTheirText) {
  RowPlan plan = SalesPlan();
  Mapped m = Map(plan, R"({"external_id": "a-1", "quantity": 2.50,
                          "doc": {"x": [1]}, "note": "caf\u00e9", "raw": 7})");
  EXPECT_TRUE(m.problems.empty());
  EXPECT_TRUE(m.row.keyed);
  EXPECT_STREQ(m.row.texts[1], "a-1");
  EXPECT_STREQ(m.row.texts[2], "2.50");
  EXPECT_STREQ(m.row.texts[4], R"({"x": [1]})");  // JSON columns take JSON
  EXPECT_STREQ(m.row.texts[7], "café");
  EXPECT_EQ(m.row.fields[7], 3);
  EXPECT_EQ(m.row.slots[3], Slot::kAbsent);
  EXPECT_EQ(plan.KeyText(m.row), "a-1");
  m = Map(plan, R"({"external_id": "a-2", "quantity": 1, "doc": "s"})");
  EXPECT_STREQ(m.row.texts[4], "\"s\"");
}

// Fields are looked up first where the previous payload had them: other
// orders, other keys and keys at new positions map as by name.
TEST(RowPlan, MapsWhateverOrderThePayloadsNameTheirFieldsIn) {
  RowPlan plan = SalesPlan();
  Mapped m = Map(plan, R"({"external_id": "a-1", "quantity": 1, "doc": 2})");
  EXPECT_STREQ(m.row.texts[1], "a-1");
  EXPECT_STREQ(m.row.texts[2], "1");
  m = Map(plan, R"({"quantity": 3, "external_id": "a-2", "note": "n",
                    "doc": 4})");
  EXPECT_TRUE(m.problems.empty());
  EXPECT_STREQ(m.row.texts[1], "a-2");
  EXPECT_STREQ(m.row.texts[2], "3");
  EXPECT_STREQ(m.row.texts[7], "n");
  EXPECT_STREQ(m.row.texts[4], "4");
  m = Map(plan, R"({"quantity": 3, "cashier": "x", "raw": "n",
                    "external_id": "a-3", "doc": 4})");
  EXPECT_EQ(m.problems,
            (std::vector<std::string>{"unknown_column: column \"cashier\" "
                                      "does not exist in table \"app_sale\""}));
  EXPECT_STREQ(m.row.texts[1], "a-3");
  EXPECT_EQ(m.row.slots[7], Slot::kAbsent);  // "raw" is ignored
  m = Map(plan, R"({"": 1, "quantity": 3, "external_id": "a-4", "doc": 4})");
  EXPECT_EQ(m.problems,
            (std::vector<std::string>{"unknown_column: column \"\" does not "
                                      "exist in table \"app_sale\""}));
  EXPECT_STREQ(m.row.texts[1], "a-4");
}

TEST(RowPlan, ProblemsNamedAndInPayloadOrder) {
  RowPlan plan = SalesPlan();
  Mapped m = Map(plan, R"({"total": 1, "quantity": 1, "cashier": "asha",
                          "synced_at": "2026-01-01", "id": 5,
                          "external_id": "k"})");
  EXPECT_EQ(m.problems,
            (std::vector<std::string>{
                "generated_column: column \"total\" is generated and cannot "
                "be written",
                "unknown_column: column \"cashier\" does not exist in table "
                "\"app_sale\"",
                "touch_column: column \"synced_at\" is set by the apply "
                "(touch_column) and cannot be staged",
                "generated_column: column \"id\" is an identity column "
                "generated always and cannot be written"}));
  EXPECT_TRUE(m.row.keyed);  // other problems do not take its key away
}

TEST(RowPlan, StructureAndKeys) {
  RowPlan plan = SalesPlan();
  Mapped m = Map(plan, "[1]");
  EXPECT_EQ(m.problems,
            (std::vector<std::string>{"not_an_object: The payload is not a "
                                      "JSON object of column names and "
                                      "values."}));
  EXPECT_FALSE(m.row.keyed);
  m = Map(plan, R"({"external_id": "k", "quantity": 1, "quantity": 2})");
  EXPECT_EQ(m.problems,
            (std::vector<std::string>{
                "duplicate_field: field \"quantity\" appears more than once "
                "in the payload"}));
  EXPECT_FALSE(m.row.keyed);
  m = Map(plan, R"({"quantity": 1})");
  EXPECT_EQ(m.problems, (std::vector<std::string>{
                            "missing_key: key column \"external_id\" is "
                            "missing"}));
  EXPECT_EQ(plan.KeyText(m.row), "");
  m = Map(plan, R"({"external_id": null, "quantity": 1})");
  EXPECT_EQ(m.problems,
            (std::vector<std::string>{
                "missing_key: key column \"external_id\" is null"}));
  m = Map(plan, R"({"external_id": "a\u0000", "quantity": 1})");
  EXPECT_EQ(m.problems,
            (std::vector<std::string>{
                "invalid_value: column \"external_id\": \\u0000 cannot be "
                "converted to text",
                "missing_key: key column \"external_id\" is null"}));
  EXPECT_FALSE(m.row.keyed);
}

TEST(RowPlan, NotNullDependsOnWhatTheBatchAndTheRowCarry) {
  RowPlan plan = SalesPlan();
  // quantity is carried by every row: null is refused.
  Mapped m = Map(plan, R"({"external_id": "k", "quantity": null})");
  EXPECT_EQ(m.problems,
            (std::vector<std::string>{
                "not_null: null value in column \"quantity\" of relation "
                "\"app_sale\" violates not-null constraint"}));
  // source_device has a default and no row carries it: fine.
  m = Map(plan, R"({"external_id": "k", "quantity": 1})");
  EXPECT_TRUE(m.problems.empty());
  // A NOT NULL column without default the batch does not carry.
  RowPlan none = Plan({0, 10, 0, 0, 0, 0, 0, 0}, 10);
  m = Map(none, R"({"external_id": "k"})");
  EXPECT_EQ(m.problems,
            (std::vector<std::string>{
                "not_null: column \"quantity\" of relation \"app_sale\" is "
                "not null and has no default, and the batch does not carry "
                "it"}));
  // ... that only some rows carry.
  RowPlan some = Plan({0, 10, 4, 0, 0, 0, 0, 0}, 10);
  m = Map(some, R"({"external_id": "k"})");
  EXPECT_EQ(m.problems,
            (std::vector<std::string>{
                "not_null: column \"quantity\" of relation \"app_sale\" is "
                "not null and has no default, and the row does not carry "
                "it"}));
  EXPECT_TRUE(some.partial(2));
  EXPECT_FALSE(SalesPlan().partial(2));
}

TEST(RowPlan, WritesCarriedColumnsAndChecksWhatTheyCover) {
  RowPlan plan = SalesPlan();
  EXPECT_EQ(plan.MergeColumns(),
            (std::vector<std::string>{"quantity", "doc", "note"}));
  ASSERT_EQ(plan.checks().size(), 2u);       // quantity and note are carried
  EXPECT_TRUE(plan.foreign_keys().empty());  // source_device is not
  EXPECT_EQ(plan.ConstraintProblem(1, "").detail,
            "new row for relation \"app_sale\" violates check constraint "
            "\"app_sale_note_check\"");
  RowPlan with_device = Plan({0, 10, 10, 10, 0, 0, 0, 0}, 10);
  ASSERT_EQ(with_device.checks().size(), 1u);
  ASSERT_EQ(with_device.foreign_keys().size(), 1u);
  RowProblem fk = with_device.ConstraintProblem(1, "tab-9");
  EXPECT_EQ(fk.problem, Problem::kForeignKeyViolation);
  EXPECT_EQ(fk.detail,
            "key (source_device)=(tab-9) is not present in table \"device\" "
            "(foreign key \"app_sale_device_fkey\")");
  EXPECT_LT(ProblemOrder(Problem::kNotNull, 7), fk.order);
}

TEST(Problems, StableNamesAndOrder) {
  EXPECT_STREQ(ProblemName(Problem::kTooLong), "too_long");
  EXPECT_STREQ(ProblemName(Problem::kSuperseded), "superseded");
  EXPECT_STREQ(ProblemName(Problem::kStale), "stale");
  EXPECT_FALSE(Rejects(Problem::kStale));
  EXPECT_TRUE(Rejects(Problem::kNotNull));
  EXPECT_LT(ProblemOrder(Problem::kInvalidValue, 40),
            ProblemOrder(Problem::kMissingKey, 0));
  EXPECT_LT(ProblemOrder(Problem::kMissingKey, 3),
            ProblemOrder(Problem::kNotNull, 0));
  EXPECT_LT(ProblemOrder(Problem::kForeignKeyViolation, 9),
            ProblemOrder(Problem::kSuperseded, 0));
  EXPECT_LT(ProblemOrder(Problem::kSuperseded, 0),
            ProblemOrder(Problem::kStale, 0));
  RowProblem p = ConversionProblem("source_device", 4, "22001",
                                   "value too long for type character "
                                   "varying(128)");
  EXPECT_EQ(p.problem, Problem::kTooLong);
  EXPECT_EQ(p.order, 4);
  EXPECT_EQ(ConversionProblem("q", 0, "22P02", "bad").problem,
            Problem::kInvalidValue);
  EXPECT_EQ(SupersededProblem(ConflictRule::kIncomingWins, 12).detail,
            "the row with seq 12 has the same key and was staged later");
  EXPECT_EQ(SupersededProblem(ConflictRule::kNewerWins, 3).detail,
            "the row with seq 3 has the same key and a newer version");
  EXPECT_EQ(StaleProblem("client_timestamp", "2026-02-01", "").detail,
            "the stored row's \"client_timestamp\" (2026-02-01) is newer "
            "than the staged row's (null)");
}

TEST(RowPlan, CompositeKeysAndFirstPass) {
  StageTarget t = Sales();
  RowPlan plan(t, {"source_device", "external_id"}, Options());
  PayloadScanner scanner;
  TextArena arena;
  MappedRow row;
  std::vector<std::int64_t> named(t.columns.size(), 0);
  EXPECT_TRUE(plan.MapKeys(R"({"external_id": "7", "source_device": "t,1",
                              "note": "x", "note": "y"})",
                           &scanner, &arena, &row, &named));
  EXPECT_FALSE(row.keyed);  // a field named twice
  EXPECT_EQ(named[7], 1);   // counted once
  EXPECT_TRUE(plan.MapKeys(R"({"external_id": "7", "source_device": "t,1"})",
                           &scanner, &arena, &row, &named));
  EXPECT_TRUE(row.keyed);
  EXPECT_EQ(plan.KeyText(row), "(\"t,1\",7)");
  EXPECT_FALSE(plan.MapKeys("[]", &scanner, &arena, &row, &named));
  EXPECT_EQ(named[1], 2);
}

TEST(WinnerOrder, NewestVersionThenLatestStaged) {
  StageOptions o;
  EXPECT_EQ(WinnerOrder(o), std::vector<WinnerKey>{WinnerKey::kSeqLatestFirst});
  o.conflict = ConflictRule::kKeepExisting;
  EXPECT_EQ(WinnerOrder(o), std::vector<WinnerKey>{WinnerKey::kSeqLatestFirst});
  o.conflict = ConflictRule::kNewerWins;
  o.version_column = "client_timestamp";
  EXPECT_EQ(WinnerOrder(o),
            (std::vector<WinnerKey>{WinnerKey::kVersionNewestFirst,
                                    WinnerKey::kSeqLatestFirst}));
}

TEST(SettleCounts, TheUnchangedAreTheRest) {
  StageCounts c;
  c.inserted = 3;
  c.updated = 2;
  c.stale = 1;
  SettleCounts(10, &c);
  EXPECT_EQ(c.unchanged, 4);
  EXPECT_THROW(SettleCounts(5, &c), Error);
}

TEST(TextArena, KeepsEveryTextUntilReset) {
  TextArena arena;
  std::vector<const char*> texts;
  for (int i = 0; i < 5000; ++i) {
    texts.push_back(
        arena.Copy(std::string(100, static_cast<char>('a' + i % 26))));
  }
  const char* big = arena.Copy(std::string(200000, 'z'));
  EXPECT_EQ(std::string(texts[4999]), std::string(100, 'a' + 4999 % 26));
  EXPECT_EQ(std::string(big).size(), 200000u);
  arena.Reset();
  EXPECT_STREQ(arena.Copy("again"), "again");
}

}  // namespace
}  // namespace schema_guard::core
