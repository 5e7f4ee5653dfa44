#include "core/migration_graph.hpp"
#include "core/migration_check.hpp"
#include "core/django_loader.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/json.hpp"

namespace schema_guard::core {
namespace {

MigrationGraph Graph(const std::string& framework,
                     const std::string& migrations) {
  return ReadMigrationGraph(
      ParseJson(R"({"format": "schema_guard.migrations/1", "framework": ")" +
                framework + R"(", "migrations": )" + migrations + "}"));
}

AppliedMigration Row(std::string app, std::string name,
                     std::string applied_at = "2026-01-01 00:00:00") {
  AppliedMigration row;
  row.key = {std::move(app), std::move(name)};
  row.applied_at = std::move(applied_at);
  return row;
}

History Rows(std::vector<AppliedMigration> rows) {
  History h;
  h.table = "public.django_migrations";
  h.present = true;
  h.rows = std::move(rows);
  return h;
}

std::vector<std::string> Kinds(const MigrationCheck& check) {
  std::vector<std::string> kinds;
  for (const auto& f : check.findings) kinds.push_back(f.kind);
  std::sort(kinds.begin(), kinds.end());
  return kinds;
}

const Finding* Find(const MigrationCheck& check, const std::string& kind) {
  for (const auto& f : check.findings) {
    if (f.kind == kind) return &f;
  }
  return nullptr;
}

std::vector<std::string> PlanNames(const MigrationCheck& check) {
  std::vector<std::string> names;
  for (const auto& s : check.plan)
    names.push_back(s.key.app + "." + s.key.name);
  return names;
}

const char* kShop = R"([
  {"app": "core", "name": "0001_initial"},
  {"app": "core", "name": "0002_item", "dependencies": [["core", "0001_initial"]],
   "creates": {"tables": ["core_item"]}},
  {"app": "trade", "name": "0001_initial",
   "dependencies": [["core", "0002_item"]]},
  {"app": "trade", "name": "0002_price", "dependencies": ["0001_initial"],
   "creates": {"columns": [["trade_deal", "price"]]}}
])";

TEST(MigrationGraphAlgorithms, ApplyOrderIsTopologicalAndStableByKey) {
  // 0 <- 1 <- 3, 2 independent; keys order 2 before 1.
  Adjacency deps{{}, {0}, {}, {1}};
  std::vector<std::size_t> key{0, 2, 1, 3};
  EXPECT_EQ(ApplyOrder(deps, {true, true, true, true}, key),
            (std::vector<std::size_t>{0, 2, 1, 3}));
  // Applied dependencies are satisfied; pending ones are waited for.
  EXPECT_EQ(ApplyOrder(deps, {false, true, false, true}, key),
            (std::vector<std::size_t>{1, 3}));
}

TEST(MigrationGraphAlgorithms, CyclesAreFoundAndLeftOutOfTheOrder) {
  Adjacency deps{{1}, {2}, {0}, {}, {4}, {3}};
  auto cycles = DependencyCycles(deps);
  ASSERT_EQ(cycles.size(), 2u);
  EXPECT_EQ(cycles[0], (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_EQ(cycles[1], (std::vector<std::size_t>{4}));
  EXPECT_EQ(ApplyOrder(deps, std::vector<bool>(6, true), {0, 1, 2, 3, 4, 5}),
            (std::vector<std::size_t>{3, 5}));
  EXPECT_TRUE(DependencyCycles({{}, {0}, {0, 1}}).empty());
}

TEST(MigrationGraphAlgorithms, SquashRules) {
  EXPECT_EQ(ClassifySquash(3, 3), SquashUse::kAllApplied);
  EXPECT_EQ(ClassifySquash(3, 0), SquashUse::kNoneApplied);
  EXPECT_EQ(ClassifySquash(3, 1), SquashUse::kPartlyApplied);
}

TEST(MigrationGraphAlgorithms, FlywayVersionsCompareNumerically) {
  EXPECT_EQ(CanonicalVersion("01.1.0"), "1.1");
  EXPECT_EQ(CanonicalVersion("2_0_1"), "2.0.1");
  EXPECT_EQ(CanonicalVersion("0"), "0");
  EXPECT_TRUE(VersionLess("1.9", "1.10"));
  EXPECT_TRUE(VersionLess("1", "1.0.1"));
  EXPECT_FALSE(VersionLess("1.0", "1"));
  EXPECT_TRUE(VersionLess("2", "10"));
}

TEST(ReadMigrationGraph, ErrorsNameTheJsonPath) {
  auto message = [](const std::string& doc) {
    try {
      ReadMigrationGraph(ParseJson(doc));
    } catch (const Error& e) {
      return e.message();
    }
    return std::string("no error");
  };
  const std::string head =
      R"({"format": "schema_guard.migrations/1", "framework": "django", )";
  EXPECT_EQ(message(head + R"("migrations": [{"app": "core", "name": 7}]})"),
            "invalid migration graph: migrations[0].name: expected a string, "
            "found a number");
  EXPECT_EQ(message(head + R"("migrations": [{"app": "core", "name": "a",
            "dependencies": [["core"]]}]})"),
            "invalid migration graph: migrations[0].dependencies[0]: expected "
            "[\"app\", \"name\"] or \"name\", found another array");
  EXPECT_EQ(message(head + R"("migrations": [{"app": "c", "name": "a"},
            {"app": "c", "name": "a"}]})"),
            "invalid migration graph: migrations[1]: duplicate migration "
            "\"c.a\" (also migrations[0])");
  EXPECT_EQ(message(R"({"format": "schema_guard.migrations/1",
            "framework": "sqitch", "migrations": []})"),
            "invalid migration graph: framework: unknown framework \"sqitch\"; "
            "expected one of django, flyway, alembic, rails, liquibase");
  EXPECT_EQ(message(R"({"format": "x", "framework": "django",
            "migrations": []})"),
            "unsupported migration graph format \"x\"");
  EXPECT_EQ(message(head + R"("migrations": [{"app": "c", "name": "a\nb"}]})"),
            "invalid migration graph: migrations[0].name: must not contain "
            "control characters");
  EXPECT_EQ(message(head + R"("migrations": [], "extra": 1})"),
            "invalid migration graph: extra: unknown key");
}

TEST(CheckMigrations, ConsistentHistoryHasNoFindings) {
  MigrationGraph g = Graph("django", kShop);
  LiveObjects live;
  live.tables = {"core_item"};
  live.columns = {{"trade_deal", "price"}};
  MigrationCheck check =
      CheckMigrations(Framework::kDjango, &g,
                      Rows({Row("core", "0001_initial", "2026-01-01 00:00:01"),
                            Row("core", "0002_item", "2026-01-01 00:00:02"),
                            Row("trade", "0001_initial", "2026-01-01 00:00:03"),
                            Row("trade", "0002_price", "2026-01-01 00:00:04")}),
                      live);
  EXPECT_TRUE(check.findings.empty()) << check.findings[0].message;
  EXPECT_TRUE(check.plan.empty());
  ASSERT_EQ(check.apps.size(), 2u);
  EXPECT_EQ(check.apps[0].applied, 2u);
  EXPECT_NE(RenderMigrationReport({check}).find("everything is consistent"),
            std::string::npos);
}

TEST(CheckMigrations, RowsCarryingTheirGraphNodeCheckAsLookedUp) {
  MigrationGraph g = Graph("django", kShop);
  LiveObjects live;
  live.tables = {"core_item"};
  std::vector<AppliedMigration> rows = {
      Row("core", "0001_initial", "2026-01-01 00:00:03"),
      Row("core", "0002_item", "2026-01-01 00:00:02"),
      Row("trade", "0009_gone", "2026-01-01 00:00:04")};
  MigrationCheck looked_up =
      CheckMigrations(Framework::kDjango, &g, Rows(rows), live);
  // As ReadHistory leaves them: each row's node, or kNotDeclared.
  for (auto& row : rows) {
    row.graph_node = g.NodeOf(row.key).value_or(MigrationGraph::kNotDeclared);
  }
  EXPECT_NE(rows[0].graph_node, MigrationGraph::kNotDeclared);
  EXPECT_EQ(rows[2].graph_node, MigrationGraph::kNotDeclared);
  MigrationCheck carried =
      CheckMigrations(Framework::kDjango, &g, Rows(rows), live);
  // A node past the graph's end is not trusted: the key is looked up.
  rows[0].graph_node = g.migrations.size() + 7;
  MigrationCheck out_of_range =
      CheckMigrations(Framework::kDjango, &g, Rows(rows), live);
  const std::string report = RenderMigrationReport({looked_up});
  EXPECT_EQ(RenderMigrationReport({carried}), report);
  EXPECT_EQ(RenderMigrationReport({out_of_range}), report);
  EXPECT_EQ(Kinds(carried), Kinds(looked_up));
  // The rows do say something: out of order and a ghost row.
  EXPECT_NE(Find(looked_up, "applied_out_of_order"), nullptr);
  EXPECT_NE(Find(looked_up, "ghost_migration"), nullptr);
}

TEST(CheckMigrations, PendingMigrationsArePlannedAcrossApps) {
  MigrationGraph g = Graph("django", kShop);
  LiveObjects live;
  MigrationCheck check = CheckMigrations(
      Framework::kDjango, &g, Rows({Row("core", "0001_initial")}), live);
  EXPECT_EQ(PlanNames(check),
            (std::vector<std::string>{"core.0002_item", "trade.0001_initial",
                                      "trade.0002_price"}));
  EXPECT_EQ(Kinds(check),
            (std::vector<std::string>{"pending_migration", "pending_migration",
                                      "pending_migration"}));
  EXPECT_NE(check.findings[0].message.find("step 1 of 3"), std::string::npos);
  // The plan for trade includes the core migration it depends on.
  MigrationCheck trade = CheckMigrations(Framework::kDjango, &g,
                                         Rows({Row("core", "0001_initial")}),
                                         LiveObjects{}, "trade");
  EXPECT_EQ(trade.plan.size(), 3u);
  MigrationCheck core =
      CheckMigrations(Framework::kDjango, &g, Rows({}), LiveObjects{}, "core");
  EXPECT_EQ(PlanNames(core),
            (std::vector<std::string>{"core.0001_initial", "core.0002_item"}));
}

TEST(CheckMigrations, ReconcileTellsSafeToFakeFromPartlyPresent) {
  MigrationGraph g = Graph("django", R"([
    {"app": "core", "name": "0001_initial",
     "creates": {"tables": ["core_a", "core_b"]}},
    {"app": "core", "name": "0002_c", "dependencies": ["0001_initial"],
     "creates": {"tables": ["core_c"]}}])");
  LiveObjects live;
  live.tables = {"core_a", "core_b"};
  MigrationCheck check =
      CheckMigrations(Framework::kDjango, &g, Rows({}), live);
  ASSERT_EQ(check.reconcile.size(), 2u);
  EXPECT_EQ(check.reconcile[0].status, ReconcileStatus::kSafeToFake);
  EXPECT_EQ(check.reconcile[1].status, ReconcileStatus::kMustApply);
  EXPECT_EQ(check.findings[0].fix,
            "python manage.py migrate --fake core 0001_initial");
  live.tables = {"core_a"};
  check = CheckMigrations(Framework::kDjango, &g, Rows({}), live);
  EXPECT_EQ(check.reconcile[0].status, ReconcileStatus::kPartlyPresent);
  EXPECT_EQ(check.reconcile[0].missing, (std::vector<std::string>{"core_b"}));
  EXPECT_TRUE(check.findings[0].fix.empty());
}

TEST(CheckMigrations, InconsistentHistoryGhostsAndOutOfOrder) {
  MigrationGraph g = Graph("django", kShop);
  LiveObjects live;
  live.tables = {"core_item"};
  live.columns = {{"trade_deal", "price"}};
  MigrationCheck check = CheckMigrations(
      Framework::kDjango, &g,
      Rows({Row("core", "0001_initial", "2026-01-02 00:00:00"),
            Row("trade", "0001_initial", "2026-01-01 00:00:00"),
            Row("core", "0009_gone"), Row("admin", "0001_initial"),
            Row("admin", "0002_logentry")}),
      live);
  const Finding* inconsistent = Find(check, "inconsistent_history");
  ASSERT_NE(inconsistent, nullptr);
  EXPECT_EQ(inconsistent->object, "trade.0001_initial");
  EXPECT_EQ(inconsistent->expected, "core.0002_item");
  // core_item exists: recording the missing dependency is offered, as SQL
  // (Django refuses migrate --fake while the history is inconsistent).
  EXPECT_EQ(inconsistent->fix.rfind("INSERT INTO public.django_migrations", 0),
            0u);
  EXPECT_NE(inconsistent->fix.find("(VALUES ('core', '0002_item'))"),
            std::string::npos);
  std::vector<std::string> ghosts;
  for (const auto& f : check.findings) {
    if (f.kind == "ghost_migration") ghosts.push_back(f.object + " " + f.fix);
  }
  EXPECT_EQ(ghosts,
            (std::vector<std::string>{
                "admin DELETE FROM public.django_migrations WHERE app = "
                "'admin';",
                "core.0009_gone DELETE FROM public.django_migrations WHERE app "
                "= 'core' AND name = '0009_gone';"}));
  EXPECT_EQ(Find(check, "applied_out_of_order"), nullptr);  // no direct edge
  check =
      CheckMigrations(Framework::kDjango, &g,
                      Rows({Row("core", "0001_initial", "2026-01-02 00:00:00"),
                            Row("core", "0002_item", "2026-01-01 00:00:00")}),
                      live);
  ASSERT_NE(Find(check, "applied_out_of_order"), nullptr);
  EXPECT_EQ(Find(check, "applied_out_of_order")->object, "core.0002_item");
}

TEST(CheckMigrations, ConflictingLeavesDuplicateNumbersAndMerges) {
  const std::string two_leaves = R"([
    {"app": "trade", "name": "0001_initial"},
    {"app": "trade", "name": "0002_a", "dependencies": ["0001_initial"]},
    {"app": "trade", "name": "0002_b", "dependencies": ["0001_initial"]})";
  MigrationGraph g = Graph("django", two_leaves + "]");
  LiveObjects live;
  MigrationCheck check =
      CheckMigrations(Framework::kDjango, &g,
                      Rows({Row("trade", "0001_initial"),
                            Row("trade", "0002_a"), Row("trade", "0002_b")}),
                      live);
  // The duplicate number of the same two leaves is folded into the conflict.
  EXPECT_EQ(Kinds(check), (std::vector<std::string>{"conflicting_leaves"}));
  EXPECT_NE(Find(check, "conflicting_leaves")->message.find("numbered 0002"),
            std::string::npos);
  EXPECT_EQ(Find(check, "conflicting_leaves")->fix,
            "python manage.py makemigrations --merge --noinput trade");
  EXPECT_EQ(Find(check, "conflicting_leaves")->actual, "0002_a, 0002_b");
  // A merge migration settles both.
  g = Graph("django", two_leaves + R"(,
    {"app": "trade", "name": "0003_merge", "dependencies": ["0002_a", "0002_b"]}])");
  check = CheckMigrations(
      Framework::kDjango, &g,
      Rows({Row("trade", "0001_initial"), Row("trade", "0002_a"),
            Row("trade", "0002_b"), Row("trade", "0003_merge")}),
      live);
  EXPECT_TRUE(check.findings.empty());
}

TEST(CheckMigrations, SquashesFollowDjangosRules) {
  const std::string graph = R"([
    {"app": "core", "name": "0001_initial"},
    {"app": "core", "name": "0002_b", "dependencies": ["0001_initial"]},
    {"app": "core", "name": "0001_squashed_0002", "replaces":
      [["core", "0001_initial"], ["core", "0002_b"]]},
    {"app": "core", "name": "0003_c", "dependencies": ["0002_b"]}])";
  MigrationGraph g = Graph("django", graph);
  LiveObjects live;
  // All replaced applied, squash row missing: ready, and 0003 is pending
  // after the squash.
  MigrationCheck check = CheckMigrations(
      Framework::kDjango, &g,
      Rows({Row("core", "0001_initial"), Row("core", "0002_b")}), live);
  EXPECT_EQ(Kinds(check),
            (std::vector<std::string>{"pending_migration", "squash_ready"}));
  EXPECT_EQ(PlanNames(check), (std::vector<std::string>{"core.0003_c"}));
  // None applied: the squash stands for both.
  check = CheckMigrations(Framework::kDjango, &g, Rows({}), live);
  EXPECT_EQ(PlanNames(check), (std::vector<std::string>{
                                  "core.0001_squashed_0002", "core.0003_c"}));
  EXPECT_TRUE(Find(check, "squash_partially_applied") == nullptr);
  // Some applied: the squash cannot be used.
  check = CheckMigrations(Framework::kDjango, &g,
                          Rows({Row("core", "0001_initial")}), live);
  ASSERT_NE(Find(check, "squash_partially_applied"), nullptr);
  EXPECT_EQ(Find(check, "squash_partially_applied")->severity,
            Severity::kWarning);
  EXPECT_EQ(PlanNames(check),
            (std::vector<std::string>{"core.0002_b", "core.0003_c"}));
  // Once the replaced files are deleted, a partly applied squash is stuck.
  g = Graph("django", R"([
    {"app": "core", "name": "0001_squashed_0002", "replaces":
      [["core", "0001_initial"], ["core", "0002_b"]]},
    {"app": "core", "name": "0003_c", "dependencies": ["0002_b"]}])");
  check = CheckMigrations(Framework::kDjango, &g,
                          Rows({Row("core", "0001_initial")}), live);
  EXPECT_EQ(Find(check, "squash_partially_applied")->severity,
            Severity::kError);
  EXPECT_EQ(Find(check, "unknown_dependency"), nullptr);
  EXPECT_EQ(Find(check, "ghost_migration"), nullptr);
}

TEST(CheckMigrations, BrokenGraphs) {
  MigrationGraph g = Graph("django", R"([
    {"app": "a", "name": "0001", "dependencies": [["a", "0002"]]},
    {"app": "a", "name": "0002", "dependencies": [["a", "0001"]]},
    {"app": "a", "name": "0003", "dependencies": [["b", "0001"]]}])");
  LiveObjects live;
  MigrationCheck check =
      CheckMigrations(Framework::kDjango, &g, Rows({}), live);
  ASSERT_NE(Find(check, "dependency_cycle"), nullptr);
  EXPECT_EQ(
      Find(check, "dependency_cycle")
          ->message.rfind(
              "dependency cycle: a.0001 -> a.0002 -> a.0001; Django cannot "
              "load the graph",
              0),
      0u);
  ASSERT_NE(Find(check, "unknown_dependency"), nullptr);
  EXPECT_EQ(Find(check, "unknown_dependency")->expected, "b.0001");
  // Django cannot load it: nothing is planned, and nothing says migrate.
  EXPECT_TRUE(PlanNames(check).empty());
  EXPECT_EQ(Find(check, "pending_migration"), nullptr);
  EXPECT_FALSE(check.unplannable.empty());
}

TEST(DjangoLoader, PlansInTheExecutorsOrder) {
  // Sorted leaves, each planned depth-first with its parents largest first.
  MigrationGraph g = Graph("django", R"([
    {"app": "a", "name": "0001"}, {"app": "b", "name": "0001"},
    {"app": "a", "name": "0002", "dependencies": [["a", "0001"], ["b", "0001"]]},
    {"app": "c", "name": "0001", "dependencies": [["a", "0001"]]}])");
  std::vector<bool> recorded(4, false);
  auto none = [](const MigrationKey&) { return false; };
  DjangoGraph dj = LoadDjangoGraph(g, recorded, none, std::nullopt);
  ASSERT_TRUE(dj.Loads());
  EXPECT_EQ(dj.plan, (std::vector<std::size_t>{1, 0, 2, 3}));
  dj = LoadDjangoGraph(g, recorded, none, std::string_view("c"));
  EXPECT_EQ(dj.plan, (std::vector<std::size_t>{0, 3}));
}

TEST(DjangoLoader, SquashRowAloneIsConsistentAndUnplanned) {
  MigrationGraph g = Graph("django", R"([
    {"app": "s", "name": "0001"},
    {"app": "s", "name": "0002", "dependencies": [["s", "0001"]]},
    {"app": "s", "name": "0001_squashed_0002", "replaces": [["s", "0001"], ["s", "0002"]]},
    {"app": "s", "name": "0003", "dependencies": [["s", "0002"]]}])");
  std::vector<bool> recorded{false, false, true, true};
  auto none = [](const MigrationKey&) { return false; };
  DjangoGraph dj = LoadDjangoGraph(g, recorded, none, std::nullopt);
  ASSERT_TRUE(dj.Loads());
  EXPECT_TRUE(dj.inconsistent.empty());
  EXPECT_TRUE(dj.plan.empty());
  EXPECT_FALSE(dj.applied[2]);  // what showmigrations prints
  EXPECT_FALSE(dj.in_graph[0]);
  EXPECT_EQ(dj.parents[3], (std::vector<std::size_t>{2}));
}

TEST(DjangoLoader, PartlyAppliedSquashWithGoneFilesDoesNotLoad) {
  MigrationGraph g = Graph("django", R"([
    {"app": "m", "name": "1"}, {"app": "m", "name": "2", "dependencies": ["1"]},
    {"app": "m", "name": "3_squashed_5", "dependencies": ["2"],
     "replaces": ["3", "4", "5"]},
    {"app": "m", "name": "6", "dependencies": ["5"]}])");
  std::vector<bool> recorded{true, true, false, false};
  auto only_3 = [](const MigrationKey& k) { return k.name == "3"; };
  DjangoGraph dj = LoadDjangoGraph(g, recorded, only_3, std::nullopt);
  EXPECT_FALSE(dj.Loads());
  ASSERT_EQ(dj.missing.size(), 1u);
  EXPECT_EQ(dj.missing_keys[dj.missing[0].first - 4].name, "5");
  EXPECT_TRUE(dj.plan.empty());
}

TEST(MigrationGraphDigest, RoundTripsAndRefusesDamage) {
  MigrationGraph g = Graph("django", kShop);
  std::string bytes = EncodeMigrationGraph(g);
  MigrationGraph back = DecodeMigrationGraph(bytes);
  ASSERT_EQ(back.migrations.size(), g.migrations.size());
  EXPECT_EQ(back.migrations[3].key.name, "0002_price");
  EXPECT_EQ(back.migrations[3].creates_columns,
            g.migrations[3].creates_columns);
  EXPECT_EQ(back.dependency_index, g.dependency_index);
  EXPECT_EQ(back.index.size(), g.index.size());
  EXPECT_THROW(DecodeMigrationGraph(bytes.substr(0, bytes.size() - 3)), Error);
  EXPECT_THROW(DecodeMigrationGraph("SGMG\x07"), Error);
  EXPECT_THROW(DecodeMigrationGraph(""), Error);
}

// The stored form comes back from a table (and a restored dump): any byte
// changed or any cut either decodes into a graph whose indexes are in range
// or is refused, never read out of bounds (ASan).
// The key index grows past its first tables, keeps the first of a key
// declared twice, finds replaced keys apart from declared ones, and stays
// valid in a copy of the graph (it holds node numbers, not pointers).
TEST(MigrationKeyIndex, FindsEveryKeyAfterGrowthAndInACopy) {
  std::vector<DeclaredMigration> migrations;
  MigrationKeyIndex index;
  MigrationKeyIndex replaced;
  for (int i = 0; i < 1000; ++i) {
    DeclaredMigration m;
    m.key = {"app" + std::to_string(i % 7), "m" + std::to_string(i)};
    if (i % 10 == 0)
      m.replaces.push_back({m.key.app, "old" + std::to_string(i)});
    migrations.push_back(m);
    EXPECT_FALSE(index.Add(migrations, migrations.size() - 1,
                           MigrationKeyIndex::kOwnKey));
    if (!m.replaces.empty()) {
      EXPECT_FALSE(replaced.Add(migrations, migrations.size() - 1, 0));
    }
  }
  migrations.push_back(migrations[5]);  // the key of node 5 again
  EXPECT_EQ(index.Add(migrations, 1000, MigrationKeyIndex::kOwnKey),
            std::optional<std::size_t>(5));
  EXPECT_EQ(index.size(), 1000u);
  std::vector<DeclaredMigration> copy = migrations;
  for (int i = 0; i < 1000; ++i) {
    std::string app = "app" + std::to_string(i % 7);
    EXPECT_EQ(index.Find(copy, app, "m" + std::to_string(i)),
              std::optional<std::size_t>(i));
    EXPECT_FALSE(index.Find(copy, app, "old" + std::to_string(i)));
    EXPECT_EQ(replaced.Find(copy, app, "old" + std::to_string(i)).has_value(),
              i % 10 == 0);
  }
  // App and name are told apart, not compared as one run of bytes.
  EXPECT_FALSE(index.Find(copy, "app1m", "1"));
  EXPECT_FALSE(index.Find(copy, "app3", "m1"));
}

TEST(MigrationGraphDigest, EveryDamagedByteIsRefusedOrInRange) {
  MigrationGraph g = Graph("django", kShop);
  std::string bytes = EncodeMigrationGraph(g);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    for (unsigned char value : {0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff}) {
      std::string damaged = bytes;
      damaged[i] = static_cast<char>(value);
      try {
        MigrationGraph back = DecodeMigrationGraph(damaged);
        std::size_t n = back.migrations.size();
        for (const auto& deps : back.dependency_index) {
          for (std::size_t d : deps) {
            EXPECT_TRUE(d < n || d == MigrationGraph::kNotDeclared);
          }
        }
        for (const auto& [later, earlier] : back.duplicate_versions) {
          EXPECT_LT(later, n);
          EXPECT_LT(earlier, n);
        }
        for (const auto& group : back.duplicate_numbers) {
          for (std::size_t node : group) EXPECT_LT(node, n);
        }
      } catch (const Error&) {
      }
    }
    EXPECT_THROW(DecodeMigrationGraph(bytes.substr(0, i)), Error);
  }
}

TEST(CheckMigrations, FakedMigrationsByCatalogAndByAudit) {
  MigrationGraph g = Graph("django", kShop);
  LiveObjects live;
  live.columns = {{"trade_deal", "price"}};
  AppliedMigration audited = Row("trade", "0002_price");
  audited.audit_saw_ddl = false;
  MigrationCheck check = CheckMigrations(
      Framework::kDjango, &g,
      Rows({Row("core", "0001_initial"), Row("core", "0002_item"),
            Row("trade", "0001_initial"), audited}),
      live);
  std::vector<std::pair<std::string, Severity>> faked;
  for (const auto& f : check.findings) {
    if (f.kind == "faked_migration") faked.emplace_back(f.object, f.severity);
  }
  EXPECT_EQ(faked, (std::vector<std::pair<std::string, Severity>>{
                       {"core.0002_item", Severity::kError},
                       {"trade.0002_price", Severity::kInfo}}));
}

TEST(CheckMigrations, FlywayFailedChecksumBaselineAndDuplicates) {
  MigrationGraph g = Graph("flyway", R"([
    {"name": "1", "checksum": 11}, {"name": "1.1", "checksum": 12},
    {"name": "2", "checksum": 20}, {"name": "2.0", "checksum": 21},
    {"name": "3"}])");
  EXPECT_EQ(g.duplicate_versions.size(), 1u);
  History h;
  h.table = "public.flyway_schema_history";
  h.present = true;
  AppliedMigration base;
  base.key = {"flyway", "1"};
  base.state = HistoryState::kBaseline;
  base.rank = 1;
  AppliedMigration v11;
  v11.key = {"flyway", "1.1"};
  v11.checksum = "99";
  v11.rank = 2;
  AppliedMigration v2;
  v2.key = {"flyway", "2"};
  v2.state = HistoryState::kFailed;
  v2.rank = 3;
  h.rows = {base, v11, v2};
  LiveObjects live;
  MigrationCheck check = CheckMigrations(Framework::kFlyway, &g, h, live);
  EXPECT_EQ(Kinds(check),
            (std::vector<std::string>{"checksum_mismatch", "duplicate_version",
                                      "failed_migration", "pending_migration",
                                      "pending_migration"}));
  EXPECT_EQ(Find(check, "checksum_mismatch")->actual, "99");
  EXPECT_EQ(Find(check, "failed_migration")->fix, "flyway repair");
  EXPECT_EQ(PlanNames(check),
            (std::vector<std::string>{"flyway.2", "flyway.3"}));
  // Without a graph only the rows are checked.
  check = CheckMigrations(Framework::kFlyway, nullptr, h, live);
  EXPECT_EQ(Kinds(check), (std::vector<std::string>{"failed_migration"}));
}

TEST(CheckMigrations, FlywayOutOfOrderAndRepairedGhosts) {
  MigrationGraph g = Graph("flyway", R"([
    {"name": "1"}, {"name": "1.5"}, {"name": "2"}, {"name": "3"}])");
  History h;
  h.table = "public.flyway_schema_history";
  h.present = true;
  auto row = [](std::string version, HistoryState state, long long rank) {
    AppliedMigration r;
    r.key = {"flyway", std::move(version)};
    r.state = state;
    r.rank = rank;
    return r;
  };
  h.rows = {row("1", HistoryState::kApplied, 1),
            row("2", HistoryState::kApplied, 2),
            row("9", HistoryState::kApplied, 3)};
  LiveObjects live;
  MigrationCheck check = CheckMigrations(Framework::kFlyway, &g, h, live);
  // 1.5 is below the latest applied version: Flyway ignores it and
  // validate fails; 3 is an ordinary pending migration.
  EXPECT_EQ(Kinds(check),
            (std::vector<std::string>{"ghost_migration", "pending_migration",
                                      "pending_migration"}));
  for (const auto& f : check.findings) {
    if (f.object == "flyway:1.5") {
      EXPECT_EQ(f.severity, Severity::kError);
      EXPECT_EQ(f.fix, "flyway migrate -outOfOrder=true");
    } else if (f.object == "flyway:3") {
      EXPECT_EQ(f.severity, Severity::kWarning);
      EXPECT_EQ(f.fix, "flyway migrate");
    } else {
      EXPECT_EQ(f.fix, "flyway repair");  // the ghost, version 9
    }
  }
  // flyway repair marks the missing version deleted: no ghost any more.
  h.rows.push_back(row("9", HistoryState::kDeleted, 4));
  check = CheckMigrations(Framework::kFlyway, &g, h, live);
  EXPECT_EQ(Kinds(check), (std::vector<std::string>{"pending_migration",
                                                    "pending_migration"}));
}

TEST(CheckMigrations, AlembicHeadsAndAncestors) {
  MigrationGraph g = Graph("alembic", R"([
    {"name": "a1"}, {"name": "b2", "dependencies": ["a1"]},
    {"name": "c3", "dependencies": ["b2"]}, {"name": "d4", "dependencies": ["b2"]}])");
  History h;
  h.table = "public.alembic_version";
  h.present = true;
  AppliedMigration head;
  head.key = {"alembic", "c3"};
  h.rows = {head};
  LiveObjects live;
  MigrationCheck check = CheckMigrations(Framework::kAlembic, &g, h, live);
  EXPECT_EQ(Kinds(check), (std::vector<std::string>{"alembic_multiple_heads",
                                                    "pending_migration"}));
  EXPECT_EQ(PlanNames(check), (std::vector<std::string>{"alembic.d4"}));
  EXPECT_EQ(Find(check, "alembic_multiple_heads")->fix, "alembic merge heads");
  EXPECT_EQ(Find(check, "alembic_multiple_heads")->severity,
            Severity::kWarning);
}

History AlembicRows(std::vector<std::string> heads) {
  History h;
  h.table = "public.alembic_version";
  h.present = true;
  for (auto& name : heads) {
    AppliedMigration row;
    row.key = {"alembic", std::move(name)};
    h.rows.push_back(std::move(row));
  }
  return h;
}

TEST(CheckMigrations, AlembicDependsOnLeavesAHead) {
  // c3 descends from b2 and depends on d1, a base of its own: Alembic's
  // heads are c3 and d1, and d1 is applied once c3 is.
  MigrationGraph g = Graph("alembic", R"([
    {"name": "a1"}, {"name": "b2", "dependencies": ["a1"]},
    {"name": "d1", "branch_labels": ["other"]},
    {"name": "c3", "dependencies": ["b2"], "depends_on": ["other"]}])");
  EXPECT_EQ(g.depends_on_index[3], (std::vector<std::size_t>{2}));
  LiveObjects live;
  MigrationCheck check =
      CheckMigrations(Framework::kAlembic, &g, AlembicRows({"b2"}), live);
  EXPECT_EQ(Kinds(check), (std::vector<std::string>{"alembic_multiple_heads",
                                                    "pending_migration",
                                                    "pending_migration"}));
  EXPECT_NE(Find(check, "alembic_multiple_heads")
                ->message.find("d1 only named "
                               "by depends_on"),
            std::string::npos);
  EXPECT_EQ(PlanNames(check),
            (std::vector<std::string>{"alembic.d1", "alembic.c3"}));
  EXPECT_EQ(Find(check, "pending_migration")->fix, "alembic upgrade heads");
  check = CheckMigrations(Framework::kAlembic, &g, AlembicRows({"c3"}), live);
  EXPECT_EQ(Kinds(check), (std::vector<std::string>{"alembic_multiple_heads"}));
  EXPECT_EQ(check.apps.at(0).applied, 4u);
}

TEST(CheckMigrations, AlembicUnknownHeadPlansNothing) {
  MigrationGraph g = Graph("alembic", R"([
    {"name": "a1", "creates": {"tables": ["t1"]}},
    {"name": "b2", "dependencies": ["a1"], "creates": {"tables": ["t2"]}},
    {"name": "c3", "dependencies": ["b2"], "creates": {"tables": ["t3"]}}])");
  LiveObjects live;
  live.tables = {"t1", "t2"};
  MigrationCheck check =
      CheckMigrations(Framework::kAlembic, &g, AlembicRows({"e2d3"}), live);
  EXPECT_EQ(Kinds(check), (std::vector<std::string>{"ghost_migration"}));
  EXPECT_TRUE(check.plan.empty());
  EXPECT_NE(check.unplannable.find("cannot locate revision e2d3"),
            std::string::npos);
  EXPECT_EQ(Find(check, "ghost_migration")->fix, "alembic stamp --purge b2");
  // The schema cannot tell: no stamp is guessed.
  live.tables = {"t1", "t3"};
  check = CheckMigrations(Framework::kAlembic, &g, AlembicRows({"e2d3"}), live);
  EXPECT_EQ(Find(check, "ghost_migration")->fix, "");
}

TEST(CheckMigrations, AlembicStampedRevisionWithoutItsObjects) {
  MigrationGraph g = Graph("alembic", R"([
    {"name": "a1", "creates": {"tables": ["t1"]}},
    {"name": "b2", "dependencies": ["a1"], "creates": {"columns": [["t1", "c"]]}},
    {"name": "c3", "dependencies": ["b2"], "creates": {"tables": ["t3"]}},
    {"name": "d4", "dependencies": ["c3"], "creates": {"tables": ["t4"]}}])");
  LiveObjects live;
  live.tables = {"t1", "t4"};
  MigrationCheck check =
      CheckMigrations(Framework::kAlembic, &g, AlembicRows({"b2"}), live);
  EXPECT_EQ(Kinds(check),
            (std::vector<std::string>{"faked_migration", "pending_migration",
                                      "pending_migration"}));
  EXPECT_EQ(Find(check, "faked_migration")->object, "alembic:b2");
  // d4's objects exist but c3's do not: stamping d4 would skip c3.
  for (const auto& f : check.findings) {
    if (f.kind == "pending_migration") {
      EXPECT_EQ(f.fix, "alembic upgrade head");
    }
  }
}

TEST(CheckMigrations, AlembicUnknownDownRevisionFailsTheMap) {
  MigrationGraph g = Graph("alembic", R"([
    {"name": "a1"}, {"name": "b2", "depends_on": ["zz"]}])");
  LiveObjects live;
  MigrationCheck check =
      CheckMigrations(Framework::kAlembic, &g, AlembicRows({"a1"}), live);
  EXPECT_EQ(Kinds(check), (std::vector<std::string>{"alembic_multiple_heads",
                                                    "unknown_dependency"}));
  EXPECT_TRUE(check.plan.empty());
  EXPECT_FALSE(check.unplannable.empty());
}

TEST(ReadMigrationGraph, AlembicEdgesAndFilesRoundTrip) {
  MigrationGraph g = Graph("alembic", R"([
    {"name": "a1", "file": "versions/a1_init.py", "branch_labels": ["core"]},
    {"name": "b2", "depends_on": ["core"]}])");
  MigrationGraph back = DecodeMigrationGraph(EncodeMigrationGraph(g));
  EXPECT_EQ(back.migrations[0].file, "versions/a1_init.py");
  EXPECT_EQ(back.migrations[0].branch_labels,
            (std::vector<std::string>{"core"}));
  EXPECT_EQ(back.migrations[1].depends_on.at(0).name, "core");
  EXPECT_EQ(back.depends_on_index[1], (std::vector<std::size_t>{0}));
  try {
    Graph("rails", R"([{"name": "1", "depends_on": ["2"]}])");
    FAIL() << "depends_on outside Alembic was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "invalid migration graph: migrations[0].depends_on: only "
              "Alembic revisions have it");
  }
  try {
    Graph("alembic",
          R"([{"name": "a", "branch_labels": ["x"]}, {"name": "x"}])");
    FAIL() << "a branch label named like a revision was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is also a revision"),
              std::string::npos);
  }
}

// A graph stored by 0.2.0 before depends_on, branch_labels and file
// (stored form 1) is still read.
TEST(MigrationGraphDigest, ReadsFormOne) {
  auto u32 = [](std::size_t v) {
    std::string out;
    for (int k = 0; k < 4; ++k) out += static_cast<char>((v >> (8 * k)) & 0xFF);
    return out;
  };
  auto str = [&](const std::string& text) { return u32(text.size()) + text; };
  std::string bytes = "SGMG";
  bytes += '\x01';                                  // form 1
  bytes += static_cast<char>(Framework::kAlembic);  // framework
  bytes += str("") + u32(2);  // history table, 2 migrations
  bytes += str("alembic") + str("a1") + u32(0) + u32(0) + u32(0);
  bytes += std::string(2, '\0') + u32(0) + u32(0);
  bytes += str("alembic") + str("b2") + u32(1) + str("alembic") + str("a1");
  bytes +=
      u32(0) + u32(0) + u32(0);  // its dependency index, replaces, run_before
  bytes += std::string(2, '\0') + u32(0) + u32(0);
  bytes += u32(0) + u32(0);  // duplicate versions, duplicate numbers
  MigrationGraph g = DecodeMigrationGraph(bytes);
  ASSERT_EQ(g.migrations.size(), 2u);
  EXPECT_EQ(g.migrations[1].dependencies.at(0).name, "a1");
  EXPECT_EQ(g.dependency_index[1], (std::vector<std::size_t>{0}));
  EXPECT_TRUE(g.migrations[1].depends_on.empty());
  EXPECT_EQ(g.migrations[1].file, "");
  EXPECT_EQ(g.depends_on_index.size(), 2u);
}

TEST(CheckMigrations, RailsDuplicateVersionNamesTheFiles) {
  MigrationGraph g = Graph("rails", R"([
    {"name": "20260101000000", "file": "db/migrate/20260101000000_a.rb"},
    {"name": "20260101000000", "file": "db/migrate/20260101000000_b.rb"},
    {"name": "20260102000000", "file": "db/migrate/20260102000000_c.rb"}])");
  History h;
  h.table = "public.schema_migrations";
  h.present = true;
  LiveObjects live;
  MigrationCheck check = CheckMigrations(Framework::kRails, &g, h, live);
  const Finding* f = Find(check, "duplicate_version");
  ASSERT_NE(f, nullptr);
  EXPECT_NE(f->message.find("db/migrate/20260101000000_a.rb and "
                            "db/migrate/20260101000000_b.rb"),
            std::string::npos);
  EXPECT_EQ(f->fix,
            "mv db/migrate/20260101000000_b.rb "
            "db/migrate/20260102000001_b.rb");
}

TEST(TimestampText, IsSortableUtcWithMicroseconds) {
  EXPECT_EQ(TimestampText(0), "1970-01-01 00:00:00.000000");
  EXPECT_EQ(TimestampText(1795262400250000LL), "2026-11-21 12:00:00.250000");
  EXPECT_EQ(TimestampText(951782400000000LL), "2000-02-29 00:00:00.000000");
  EXPECT_EQ(TimestampText(-1500000), "1969-12-31 23:59:58.500000");
}

TEST(QuoteLiteral, DoublesQuotesAndEscapesBackslashes) {
  EXPECT_EQ(QuoteLiteral("it's"), "'it''s'");
  EXPECT_EQ(QuoteLiteral("a\\b"), "E'a\\\\b'");
}

}  // namespace
}  // namespace schema_guard::core
