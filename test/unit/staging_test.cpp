#include "core/staging.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.hpp"

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

std::string ErrorOf(std::string_view options) {
  try {
    ParseStageOptions(options);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidParameterValue);
    EXPECT_FALSE(e.detail().empty());
    EXPECT_FALSE(e.hint().empty());
    return e.message();
  }
  return "no error";
}

TEST(StageOptions, DefaultsAndEveryOption) {
  StageOptions d = ParseStageOptions("{}");
  EXPECT_EQ(d.conflict, ConflictRule::kIncomingWins);
  EXPECT_TRUE(d.check_structure);
  EXPECT_TRUE(d.version_column.empty());
  EXPECT_TRUE(d.touch_column.empty());

  StageOptions o = ParseStageOptions(
      R"({"conflict": "newer_wins", "version_column": "client_timestamp",
          "touch_column": "synced_at", "check_structure": false,
          "ignore_columns": ["raw", "etag"]})");
  EXPECT_EQ(o.conflict, ConflictRule::kNewerWins);
  EXPECT_EQ(o.version_column, "client_timestamp");
  EXPECT_EQ(o.touch_column, "synced_at");
  EXPECT_FALSE(o.check_structure);
  EXPECT_EQ(o.ignore_columns, (std::vector<std::string>{"raw", "etag"}));
  EXPECT_EQ(ParseStageOptions(R"({"conflict": "keep_existing"})").conflict,
            ConflictRule::kKeepExisting);
}

TEST(StageOptions, RoundTripsThroughTheBatchLog) {
  StageOptions o = ParseStageOptions(
      R"({"conflict": "newer_wins", "version_column": "v",
          "ignore_columns": ["x"]})");
  std::string stored = StageOptionsJson(o);
  EXPECT_EQ(stored, R"({"conflict": "newer_wins", "version_column": "v", )"
                    R"("touch_column": null, "check_structure": true, )"
                    R"("ignore_columns": ["x"]})");
  StageOptions again = ParseStageOptions(stored);
  EXPECT_EQ(again.conflict, o.conflict);
  EXPECT_EQ(again.version_column, "v");
  EXPECT_EQ(again.ignore_columns, o.ignore_columns);
  EXPECT_EQ(ParseStageOptions(StageOptionsJson(StageOptions{})).conflict,
            ConflictRule::kIncomingWins);
}

TEST(StageOptions, ErrorsNameTheJsonPath) {
  EXPECT_EQ(ErrorOf("[]"),
            "invalid staging options: (document): expected an object, found an "
            "array");
  EXPECT_EQ(ErrorOf(R"({"conflict": "last"})"),
            "invalid staging options: conflict: unknown conflict rule "
            "\"last\"");
  EXPECT_EQ(ErrorOf(R"({"conflict": 1})"),
            "invalid staging options: conflict: expected a string, "
            "found a number");
  EXPECT_EQ(ErrorOf(R"({"touch": "synced_at"})"),
            "invalid staging options: touch: unknown key");
  EXPECT_EQ(ErrorOf(R"({"check_structure": "yes"})"),
            "invalid staging options: check_structure: expected a "
            "boolean, found a string");
  EXPECT_EQ(ErrorOf(R"({"ignore_columns": ["a", 2]})"),
            "invalid staging options: ignore_columns[1]: expected a "
            "string, found a number");
  EXPECT_EQ(ErrorOf(R"({"touch_column": ""})"),
            "invalid staging options: touch_column: must not be "
            "empty");
  EXPECT_EQ(ErrorOf(R"({"conflict": "newer_wins"})"),
            "invalid staging options: version_column: \"newer_wins\" "
            "needs a version column, such as \"client_timestamp\"");
  EXPECT_EQ(ErrorOf(R"({"version_column": "v"})"),
            "invalid staging options: version_column: only "
            "\"newer_wins\" compares versions");
  EXPECT_THROW(ParseStageOptions("{"), Error);
}

std::vector<StageColumn> SaleColumns() {
  StageColumn id{"external_id", "uuid", true, false, false, false, true, false};
  StageColumn ts{"client_timestamp",
                 "timestamp with time zone",
                 false,
                 false,
                 false,
                 false,
                 true,
                 true};
  StageColumn synced{
      "synced_at", "timestamp with time zone", false, false, false, false, true,
      true};
  StageColumn note{"note", "json", false, false, false, false, false, false};
  StageColumn total{"total", "numeric", false, false, true, false, true, false};
  return {id, ts, synced, note, total};
}

std::string SetupError(const StageOptions& options,
                       const std::vector<std::string>& keys) {
  try {
    CheckStageSetup("public.app_sale", options, keys, SaleColumns());
  } catch (const Error& e) {
    return e.message();
  }
  return "no error";
}

TEST(StageSetup, ChecksKeysAndOptionColumns) {
  StageOptions o;
  EXPECT_EQ(SetupError(o, {"external_id"}), "no error");
  EXPECT_EQ(SetupError(o, {}), "key columns must not be empty");
  EXPECT_EQ(SetupError(o, {"externalid"}),
            "column \"externalid\" of relation \"public.app_sale\" does not "
            "exist");
  EXPECT_EQ(SetupError(o, {"external_id", "external_id"}),
            "key column \"external_id\" is named twice");
  EXPECT_EQ(SetupError(o, {"total"}),
            "key column \"total\" is a generated column");
  StageOptions newer;
  newer.conflict = ConflictRule::kNewerWins;
  newer.version_column = "client_timestamp";
  newer.touch_column = "synced_at";
  EXPECT_EQ(SetupError(newer, {"external_id"}), "no error");
  newer.version_column = "note";
  EXPECT_EQ(SetupError(newer, {"external_id"}),
            "version column \"note\" of type json cannot be ordered");
  newer.version_column = "external_id";
  EXPECT_EQ(SetupError(newer, {"external_id"}),
            "version column \"external_id\" is a key column");
  StageOptions touch;
  touch.touch_column = "note";
  EXPECT_EQ(SetupError(touch, {"external_id"}),
            "touch column \"note\" has type json");
  touch.touch_column = "total";
  EXPECT_EQ(SetupError(touch, {"external_id"}),
            "touch column \"total\" cannot be set by the apply");
  std::vector<StageColumn> reserved = SaleColumns();
  reserved[3].name = "?seq";
  EXPECT_THROW(CheckStageSetup("t", o, {"external_id"}, reserved), Error);
  StageOptions ignore;
  ignore.ignore_columns = {"external_id"};
  EXPECT_EQ(SetupError(ignore, {"external_id"}),
            "column \"external_id\" cannot be ignored");
}

TEST(RenderKey, OneColumnIsTheValueSeveralAreARecord) {
  EXPECT_EQ(RenderKey({std::string("0310837893")}), "0310837893");
  EXPECT_EQ(RenderKey({std::nullopt}), "");
  EXPECT_EQ(RenderKey({std::string("tab-1"), std::string("5")}), "(tab-1,5)");
  EXPECT_EQ(RenderKey({std::string("a,b"), std::string("")}), "(\"a,b\",\"\")");
  EXPECT_EQ(RenderKey({std::string("say \"hi\\\""), std::nullopt}),
            "(\"say \"\"hi\\\\\"\"\",)");
  EXPECT_EQ(RenderKey({std::string("ключ 🔑"), std::string("x)")}),
            "(\"ключ 🔑\",\"x)\")");
  EXPECT_EQ(RenderKey({std::string("it's;--")}), "it's;--");
}

TEST(ConversionProblem, OverLengthIsTooLong) {
  EXPECT_STREQ(ConversionProblem("22001"), "too_long");
  EXPECT_STREQ(ConversionProblem("22P02"), "invalid_value");
  EXPECT_STREQ(ConversionProblem("22008"), "invalid_value");
}

MergePlan SalePlan(ConflictRule rule) {
  MergePlan plan;
  plan.target = "public.app_sale";
  plan.staged = "pg_temp.s1";
  plan.key_columns = {"external_id"};
  plan.columns = {"Qty", "note"};
  plan.compare_as_text = {false, true};
  plan.options.conflict = rule;
  if (rule == ConflictRule::kNewerWins) {
    plan.options.version_column = "client_timestamp";
  }
  plan.options.touch_column = "synced_at";
  return plan;
}

TEST(MergeSql, OneUpsertUpdatingOnlyRowsThatDiffer) {
  std::string sql = MergeSql(SalePlan(ConflictRule::kIncomingWins), Q);
  EXPECT_EQ(
      sql,
      "WITH merged AS (INSERT INTO public.app_sale AS t (external_id, "
      "\"Qty\", note, synced_at) SELECT s.external_id, s.\"Qty\", s.note, $1 "
      "FROM pg_temp.s1 s ON CONFLICT (external_id) DO UPDATE SET \"Qty\" = "
      "EXCLUDED.\"Qty\", note = EXCLUDED.note, synced_at = "
      "EXCLUDED.synced_at WHERE (t.\"Qty\", t.note::pg_catalog.text) IS "
      "DISTINCT FROM (EXCLUDED.\"Qty\", EXCLUDED.note::pg_catalog.text) "
      "RETURNING (t.xmax = 0) AS inserted) SELECT pg_catalog.count(*) FILTER "
      "(WHERE inserted), pg_catalog.count(*) FILTER (WHERE NOT inserted) FROM "
      "merged");
}

TEST(MergeSql, NewerWinsWritesOnlyNewerRows) {
  std::string sql = MergeSql(SalePlan(ConflictRule::kNewerWins), Q);
  EXPECT_NE(sql.find(" AND NOT (t.client_timestamp IS NOT NULL AND "
                     "(EXCLUDED.client_timestamp IS NULL OR "
                     "EXCLUDED.client_timestamp < t.client_timestamp))"),
            std::string::npos)
      << sql;
  std::string stale = StaleCountSql(SalePlan(ConflictRule::kNewerWins), Q);
  EXPECT_EQ(stale,
            "SELECT pg_catalog.count(*) FROM pg_temp.s1 s JOIN "
            "public.app_sale t ON t.external_id = s.external_id WHERE "
            "(t.client_timestamp IS NOT NULL AND (s.client_timestamp IS NULL "
            "OR s.client_timestamp < t.client_timestamp))");
}

TEST(MergeSql, KeepExistingAndKeyOnlyBatchesDoNothingOnConflict) {
  EXPECT_NE(MergeSql(SalePlan(ConflictRule::kKeepExisting), Q)
                .find("ON CONFLICT (external_id) DO NOTHING"),
            std::string::npos);
  MergePlan keys_only = SalePlan(ConflictRule::kIncomingWins);
  keys_only.columns.clear();
  keys_only.compare_as_text.clear();
  EXPECT_NE(MergeSql(keys_only, Q).find("DO NOTHING"), std::string::npos);
}

TEST(DryRunSql, CountsWithoutWriting) {
  std::string sql = DryRunSql(SalePlan(ConflictRule::kKeepExisting), Q);
  EXPECT_EQ(sql.find("INSERT"), std::string::npos);
  EXPECT_NE(sql.find("LEFT JOIN public.app_sale t ON t.external_id = "
                     "s.external_id"),
            std::string::npos);
  EXPECT_NE(sql.find("FILTER (WHERE t.ctid IS NOT NULL AND true AND false)"),
            std::string::npos)
      << sql;
}

TEST(SupersedeSql, LastOrNewestRowOfAKeyWins) {
  MergePlan plan = SalePlan(ConflictRule::kIncomingWins);
  plan.key_columns = {"device", "Local Id"};
  std::string sql = SupersedeSql(plan, Q);
  EXPECT_NE(sql.find("GROUP BY s.device, s.\"Local Id\" HAVING"),
            std::string::npos)
      << sql;
  EXPECT_NE(sql.find("ORDER BY s.\"?seq\" DESC"), std::string::npos);
  EXPECT_NE(sql.find("GROUP BY s.device, s.\"Local Id\" HAVING "
                     "pg_catalog.count(*) > 1), ranked AS (SELECT s.\"?seq\" "
                     "AS seq, ROW(s.device, s.\"Local Id\")::pg_catalog.text "
                     "AS key, pg_catalog.first_value(s.\"?seq\") OVER w AS "
                     "winner, pg_catalog.row_number() OVER w AS rn FROM "
                     "pg_temp.s1 s JOIN dup d"),
            std::string::npos)
      << sql;
  EXPECT_EQ(sql.find("MATERIALIZED"), std::string::npos);
  plan.candidates = "pg_temp.b1";
  std::string filtered = SupersedeSql(plan, Q);
  EXPECT_EQ(filtered.rfind("WITH c AS MATERIALIZED (SELECT s.* FROM "
                           "pg_temp.s1 s WHERE s.\"?bucket\" IN (SELECT "
                           "bucket FROM pg_temp.b1)), dup AS (SELECT "
                           "s.device, s.\"Local Id\" FROM c s GROUP BY",
                           0),
            0u)
      << filtered;
  EXPECT_NE(filtered.find("FROM c s JOIN dup d"), std::string::npos);
  EXPECT_NE(filtered.find("SELECT seq, key, winner FROM ranked WHERE rn > 1"),
            std::string::npos);
  EXPECT_EQ(filtered.find("DELETE"), std::string::npos);
  std::string newer = SupersedeSql(SalePlan(ConflictRule::kNewerWins), Q);
  EXPECT_NE(newer.find("ORDER BY s.client_timestamp DESC NULLS LAST, "
                       "s.\"?seq\" DESC"),
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
