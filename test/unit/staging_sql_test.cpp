#include "core/staging_sql.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace schema_guard::core {
namespace {

std::string Q(std::string_view name) {
  // quote_identifier's rule, enough for the tests: quote unless lowercase.
  bool plain = !name.empty();
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      plain = false;
    }
  }
  if (plain) return std::string(name);
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

StageColumn Column(std::string name, std::string type) {
  StageColumn c;
  c.name = std::move(name);
  c.type = std::move(type);
  c.orderable = true;
  return c;
}

StageTarget Sales() {
  StageTarget t;
  t.display = "public.app_sale";
  t.name = "app_sale";
  t.quoted = "public.app_sale";
  StageColumn note = Column("note", "json");
  note.comparable = false;
  StageColumn device = Column("device", "text");
  device.has_default = true;
  device.default_sql = "'web'::text";
  t.columns = {Column("external_id", "uuid"),
               Column("Qty", "integer"),
               note,
               Column("client_timestamp", "timestamp with time zone"),
               Column("synced_at", "timestamp with time zone"),
               device};
  t.checks = {{"qty_check", "(\"Qty\" > 0)", {"Qty"}}};
  return t;
}

RowPlan SalesPlan(ConflictRule rule,
                  std::vector<std::int64_t> named = {4, 4, 4, 4, 0, 0}) {
  StageOptions o;
  o.conflict = rule;
  if (rule == ConflictRule::kNewerWins) o.version_column = "client_timestamp";
  o.touch_column = "synced_at";
  RowPlan plan(Sales(), {"external_id"}, o);
  plan.SetCarried(named, 4);
  return plan;
}

TEST(FeedSql, RowsOfTheTargetTypeAndWhatOnlySqlChecks) {
  RowPlan plan = SalesPlan(ConflictRule::kIncomingWins);
  FeedQuery q{&plan, false};
  EXPECT_EQ(FeedSql(q, Q),
            "SELECT s.* FROM (SELECT (x.r).* FROM (SELECT "
            "schema_guard.stage_feed($2, NULL::public.app_sale) AS r) x) s "
            "WHERE schema_guard.stage_feed_keep($2, ARRAY[CASE WHEN "
            "((\"Qty\" > 0)) IS FALSE THEN '' END]::pg_catalog.text[], true)");
  q.only_keys = true;
  EXPECT_NE(FeedSql(q, Q).find("s.external_id = ANY ($3::uuid[]))"),
            std::string::npos);
  // Nothing to check: the feed's rows as they are.
  RowPlan bare = SalesPlan(ConflictRule::kIncomingWins, {4, 0, 4, 4, 0, 0});
  EXPECT_EQ(FeedSql({&bare, false}, Q),
            "SELECT (x.r).* FROM (SELECT schema_guard.stage_feed($2, "
            "NULL::public.app_sale) AS r) x");
  EXPECT_EQ(
      ValidateSql({&bare, false}, Q),
      "SELECT pg_catalog.count(*) FROM (" + FeedSql({&bare, false}, Q) + ") f");
}

TEST(FeedSql, ForeignKeysProbeTheReferencedTable) {
  StageTarget t = Sales();
  t.checks.clear();
  StageForeignKey fk;
  fk.name = "sale_device_fkey";
  fk.referenced = "public.device";
  fk.referenced_name = "device";
  fk.columns = {"device"};
  fk.referenced_columns = {"name"};
  fk.operators = {"OPERATOR(pg_catalog.=)"};
  t.foreign_keys = {fk};
  RowPlan plan(t, {"external_id"}, StageOptions{});
  plan.SetCarried({4, 0, 0, 0, 0, 4}, 4);
  EXPECT_NE(FeedSql({&plan, false}, Q)
                .find("ARRAY[CASE WHEN s.device IS NOT NULL AND NOT EXISTS "
                      "(SELECT 1 FROM public.device r WHERE r.name "
                      "OPERATOR(pg_catalog.=) s.device) THEN "
                      "pg_catalog.concat_ws(', ', s.device::pg_catalog.text) "
                      "END]"),
            std::string::npos)
      << FeedSql({&plan, false}, Q);
}

TEST(FeedSql, ASelfReferenceToTheKeyMayBeInTheBatch) {
  StageTarget t;
  t.display = t.name = t.quoted = "node";
  t.columns = {Column("id", "text"), Column("parent", "text"),
               Column("other", "integer")};
  StageForeignKey fk;
  fk.name = "node_parent_fkey";
  fk.referenced = "node";
  fk.referenced_name = "node";
  fk.self = true;
  fk.columns = {"parent"};
  fk.referenced_columns = {"id"};
  fk.operators = {"OPERATOR(pg_catalog.=)"};
  RowPlan plan(t, {"id"}, StageOptions{});
  EXPECT_EQ(InBatchColumns(plan, fk), std::vector<std::string>{"parent"});
  t.foreign_keys = {fk};
  RowPlan with_fk(t, {"id"}, StageOptions{});
  with_fk.SetCarried({2, 2, 0}, 2);
  EXPECT_NE(FeedSql({&with_fk, false}, Q)
                .find("AND NOT schema_guard.stage_feed_in_batch($2, "
                      "s.parent)"),
            std::string::npos);
  fk.columns = {"other"};  // another type than the key's
  EXPECT_TRUE(InBatchColumns(plan, fk).empty());
  fk.self = false;
  fk.columns = {"parent"};
  EXPECT_TRUE(InBatchColumns(plan, fk).empty());
}

TEST(MergeSql, OneUpsertUpdatingOnlyRowsThatDiffer) {
  RowPlan plan = SalesPlan(ConflictRule::kIncomingWins, {4, 4, 4, 0, 0, 0});
  std::string sql = MergeSql({&plan, false}, Q);
  EXPECT_EQ(
      sql,
      "WITH merged AS (INSERT INTO public.app_sale AS t (external_id, "
      "\"Qty\", note, synced_at) SELECT f.external_id, f.\"Qty\", f.note, $1 "
      "FROM (" +
          FeedSql({&plan, false}, Q) +
          ") f ON CONFLICT (external_id) DO UPDATE SET \"Qty\" = "
          "EXCLUDED.\"Qty\", note = EXCLUDED.note, synced_at = "
          "EXCLUDED.synced_at WHERE (t.\"Qty\", t.note::pg_catalog.text) IS "
          "DISTINCT FROM (EXCLUDED.\"Qty\", (EXCLUDED.note)::pg_catalog.text) "
          "RETURNING (t.xmax = 0) AS inserted) SELECT pg_catalog.count(*) "
          "FILTER (WHERE inserted), pg_catalog.count(*) FILTER (WHERE NOT "
          "inserted) FROM merged");
}

TEST(MergeSql, NewerWinsAsksTheFeedAboutStaleRows) {
  RowPlan plan = SalesPlan(ConflictRule::kNewerWins);
  std::string sql = MergeSql({&plan, false}, Q);
  EXPECT_NE(sql.find("WHERE schema_guard.stage_feed_fresh($2, "
                     "(t.client_timestamp IS NOT NULL AND "
                     "(EXCLUDED.client_timestamp IS NULL OR "
                     "EXCLUDED.client_timestamp < t.client_timestamp)), "
                     "t.client_timestamp::pg_catalog.text, "
                     "EXCLUDED.client_timestamp::pg_catalog.text) AND "),
            std::string::npos)
      << sql;
  EXPECT_NE(sql.find("RETURNING (t.xmax = 0) AS inserted, "
                     "schema_guard.stage_feed_written($2) AS written"),
            std::string::npos);
}

TEST(MergeSql, PartialColumnsKeepStoredValuesAndTakeDefaults) {
  // device is named by some payloads only, note by none.
  RowPlan plan = SalesPlan(ConflictRule::kIncomingWins, {4, 4, 0, 0, 0, 2});
  std::string sql = MergeSql({&plan, false}, Q);
  EXPECT_NE(sql.find("SELECT f.external_id, f.\"Qty\", CASE WHEN "
                     "schema_guard.stage_feed_carries($2, 5) THEN f.device "
                     "ELSE ('web'::text) END, $1 FROM"),
            std::string::npos)
      << sql;
  EXPECT_NE(sql.find("device = CASE WHEN schema_guard.stage_feed_carries($2, "
                     "5) THEN EXCLUDED.device ELSE t.device END"),
            std::string::npos);
  EXPECT_NE(sql.find("(t.\"Qty\", t.device) IS DISTINCT FROM "
                     "(EXCLUDED.\"Qty\", CASE WHEN "
                     "schema_guard.stage_feed_carries($2, 5) THEN "
                     "EXCLUDED.device ELSE t.device END)"),
            std::string::npos);
}

TEST(MergeSql, KeepExistingAndKeyOnlyBatchesDoNothingOnConflict) {
  RowPlan keep = SalesPlan(ConflictRule::kKeepExisting);
  EXPECT_NE(MergeSql({&keep, false}, Q)
                .find("ON CONFLICT (external_id) DO NOTHING RETURNING"),
            std::string::npos);
  RowPlan keys = SalesPlan(ConflictRule::kIncomingWins, {4, 0, 0, 0, 0, 0});
  EXPECT_NE(MergeSql({&keys, false}, Q).find("DO NOTHING"), std::string::npos);
}

TEST(DryRunSql, CountsWithoutWritingReadingTheFeedInOrder) {
  RowPlan plan = SalesPlan(ConflictRule::kNewerWins);
  std::string sql = DryRunSql({&plan, false}, Q);
  EXPECT_EQ(sql.find("INSERT"), std::string::npos);
  EXPECT_NE(sql.find("s LEFT JOIN LATERAL (SELECT t.*, t.ctid FROM "
                     "public.app_sale t WHERE t.external_id = s.external_id) "
                     "t ON true"),
            std::string::npos)
      << sql;
  EXPECT_NE(sql.find("FILTER (WHERE t.ctid IS NOT NULL AND "
                     "(t.client_timestamp IS NOT NULL AND "
                     "(s.client_timestamp IS NULL OR s.client_timestamp < "
                     "t.client_timestamp)))"),
            std::string::npos);
}

TEST(KeyTextSql, OneColumnOrARow) {
  EXPECT_EQ(KeyTextSql({"external_id"}, "s", Q),
            "s.external_id::pg_catalog.text");
  EXPECT_EQ(KeyTextSql({"a", "B"}, "x", Q),
            "ROW(x.a, x.\"B\")::pg_catalog.text");
}

}  // namespace
}  // namespace schema_guard::core
