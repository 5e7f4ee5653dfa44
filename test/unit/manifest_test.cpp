#include "core/manifest.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"

namespace schema_guard::core {
namespace {

std::string ErrorOf(const std::string& text) {
  try {
    ReadManifest(ParseJson(text));
  } catch (const Error& e) {
    return e.message();
  }
  return "(no error)";
}

TEST(ReadManifest, ReadsTablesColumnsKeysAndIndexes) {
  Schema s = ReadManifest(ParseJson(R"J({
    "format": "schema_guard/1",
    "tables": [{"name": "core_company", "app": "core",
      "columns": [{"name": "id", "type": "bigserial"},
                  {"name": "name", "type": "varchar(255)", "not_null": true, "default": "''"}],
      "primary_key": {"columns": ["id"]},
      "indexes": [{"keys": ["name"], "where": "(name <> '')"}],
      "foreign_keys": [{"columns": ["id"], "references": {"table": "x", "columns": ["id"]},
                        "on_delete": "cascade"}]}],
    "join_tables": ["core_company_users"],
    "ignore": [{"pattern": "token_blacklist_%", "reason": "JWT"}]})J"));
  ASSERT_EQ(s.tables.size(), 1u);
  const Table& t = s.tables[0];
  EXPECT_EQ(t.schema, "public");
  EXPECT_EQ(t.columns[0].type, "bigint");
  EXPECT_TRUE(t.columns[0].serial);
  EXPECT_TRUE(t.columns[0].not_null);
  EXPECT_EQ(t.columns[1].type, "character varying(255)");
  EXPECT_EQ(*t.columns[1].default_expr, "''");
  EXPECT_EQ(t.foreign_keys[0].ref_schema, "public");
  EXPECT_EQ(t.foreign_keys[0].on_delete, "cascade");
  EXPECT_EQ(t.indexes[0].method, "btree");
  EXPECT_EQ(s.ignore[0].pattern, "token_blacklist_%");
}

TEST(ReadManifest, NamesTheJsonPathOfEveryProblem) {
  EXPECT_EQ(
      ErrorOf(
          R"J({"format": "schema_guard/1", "tables": [{"name": "a", "columns": []},
    {"name": "b", "columns": []}, {"name": "c", "columns": []},
    {"name": "d", "columns": [{"name": "x", "type": "int"}, {"name": "y", "type": "int"},
                               {"name": "z", "type": 5}]}]})J"),
      "invalid manifest: tables[3].columns[2].type: expected a string, found a "
      "number");
  EXPECT_EQ(ErrorOf(R"J({"format": "schema_guard/1"})J"),
            "invalid manifest: tables: missing");
  EXPECT_EQ(ErrorOf(R"J({"format": "schema_guard/1", "tables": {}})J"),
            "invalid manifest: tables: expected an array, found an object");
  EXPECT_EQ(
      ErrorOf(R"J({"format": "schema_guard/1", "tables": [{"columns": []}]})J"),
      "invalid manifest: tables[0].name: missing");
  EXPECT_EQ(
      ErrorOf(
          R"J({"format": "schema_guard/1", "tables": [{"name": "a", "colums": []}]})J"),
      "invalid manifest: tables[0].colums: unknown key");
  EXPECT_EQ(
      ErrorOf(
          R"J({"format": "schema_guard/1", "tables": [{"name": "a", "columns": [],
    "kind": "cube"}]})J"),
      "invalid manifest: tables[0].kind: expected \"table\", \"partitioned "
      "table\", \"view\" or \"materialized view\"");
  EXPECT_EQ(ErrorOf(R"J([1])J"),
            "invalid manifest: (document): expected an object, found an array");
}

TEST(ReadManifest, RejectsOtherFormatsAndDuplicates) {
  EXPECT_EQ(ErrorOf(R"J({"format": "schema_guard/2", "tables": []})J"),
            "unsupported manifest format \"schema_guard/2\"");
  EXPECT_EQ(ErrorOf(R"J({"tables": []})J"),
            "invalid manifest: format: missing");
  EXPECT_EQ(
      ErrorOf(
          R"J({"format": "schema_guard/1", "tables": [{"name": "a", "columns": []},
    {"schema": "public", "name": "a", "columns": []}]})J"),
      "invalid manifest: tables[1]: duplicate table \"public.a\" (also "
      "tables[0])");
  EXPECT_EQ(
      ErrorOf(
          R"J({"format": "schema_guard/1", "tables": [{"name": "a", "columns": [
    {"name": "x", "type": "int"}, {"name": "x", "type": "int"}]}]})J"),
      "invalid manifest: tables[0].columns[1]: duplicate column \"x\" (also "
      "columns[0])");
}

TEST(ReadManifest, AsksTheCheckerAboutUndeclaredTypesOnce) {
  std::vector<std::string> asked;
  TypeChecker check = [&](const std::string& type) {
    asked.push_back(type);
    TypeVerdict verdict;
    if (type == "intt") verdict.kind = TypeVerdict::Kind::kUnknown;
    if (type == "numeric(2000)") {
      verdict.kind = TypeVerdict::Kind::kInvalid;
      verdict.problem = "NUMERIC precision 2000 must be between 1 and 1000";
    }
    return verdict;
  };
  auto read = [&](const std::string& types) {
    try {
      ReadManifest(
          ParseJson(R"J({"format": "schema_guard/1", "tables": [{"name": "t",
            "columns": [)J" +
                    types + R"J(]}],
            "enums": [{"name": "status", "labels": ["a"]}]})J"),
          check);
    } catch (const Error& e) {
      return e.message();
    }
    return std::string("(no error)");
  };
  EXPECT_EQ(
      read(R"J({"name": "a", "type": "int4"}, {"name": "b", "type": "integer"},
                     {"name": "c", "type": "status[]"}, {"name": "d", "type": "public.status"})J"),
      "(no error)");
  EXPECT_EQ(asked, std::vector<std::string>{"integer"});
  EXPECT_EQ(
      read(R"J({"name": "a", "type": "int"}, {"name": "b", "type": "intt"})J"),
      "invalid manifest: tables[0].columns[1].type: type \"intt\" does "
      "not exist in this database and the manifest does not declare it");
  EXPECT_EQ(read(R"J({"name": "a", "type": "numeric(2000)"})J"),
            "invalid manifest: tables[0].columns[0].type: PostgreSQL cannot "
            "read the type \"numeric(2000)\": NUMERIC precision 2000 must be "
            "between 1 and 1000");
}

TEST(WriteManifest, RoundTrips) {
  Schema s;
  Table t;
  t.name = "core_company";
  t.schema = "public";
  t.app = "core";
  t.columns.push_back({"id", "bigint", true,
                       std::string("nextval('x'::regclass)"), "", "", "",
                       false});
  t.columns.push_back({"note", "text", false, std::nullopt, "", "", "", false});
  t.primary_key = KeyConstraint{"core_company_pkey", {"id"}};
  t.indexes.push_back(
      {"i", {"lower(note)"}, false, "btree", "(note IS NOT NULL)", {}});
  s.tables.push_back(t);
  s.enums.push_back({"public", "mood", {"sad", "ok"}});
  Schema back = ReadManifest(ParseJson(ToJsonText(WriteManifest(s))));
  ASSERT_EQ(back.tables.size(), 1u);
  EXPECT_EQ(back.tables[0].columns[0].default_expr, t.columns[0].default_expr);
  EXPECT_FALSE(back.tables[0].columns[1].default_expr.has_value());
  EXPECT_EQ(back.tables[0].indexes[0].predicate, "(note IS NOT NULL)");
  EXPECT_EQ(back.enums[0].labels, (std::vector<std::string>{"sad", "ok"}));
  EXPECT_EQ(ToJsonText(WriteManifest(back)), ToJsonText(WriteManifest(s)));
}

}  // namespace
}  // namespace schema_guard::core
