#include "core/staging.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.hpp"

namespace schema_guard::core {
namespace {

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
  StageColumn id;
  id.name = "external_id";
  id.type = "uuid";
  id.not_null = true;
  id.orderable = true;
  StageColumn ts;
  ts.name = "client_timestamp";
  ts.type = "timestamp with time zone";
  ts.orderable = true;
  ts.timestamp = true;
  StageColumn synced = ts;
  synced.name = "synced_at";
  StageColumn note;
  note.name = "note";
  note.type = "json";
  note.is_json = true;
  note.comparable = false;
  StageColumn total;
  total.name = "total";
  total.type = "numeric";
  total.generated = true;
  total.orderable = true;
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

}  // namespace
}  // namespace schema_guard::core
