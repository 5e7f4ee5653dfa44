#include "core/diff.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/report.hpp"

namespace schema_guard::core {
namespace {

DiffOptions Options(bool online = true) {
  DiffOptions o;
  o.online = online;
  o.quote = [](std::string_view s) { return "\"" + std::string(s) + "\""; };
  return o;
}

Table MakeTable(std::string name, std::vector<Column> columns) {
  Table t;
  t.schema = "public";
  t.name = std::move(name);
  t.app = t.name.substr(0, t.name.find('_'));
  t.columns = std::move(columns);
  return t;
}

Column Col(std::string name, std::string type, bool not_null = false) {
  Column c;
  c.name = std::move(name);
  c.type = std::move(type);
  c.not_null = not_null;
  return c;
}

std::vector<std::string> Kinds(const std::vector<Finding>& findings) {
  std::vector<std::string> kinds;
  for (const auto& f : findings) kinds.push_back(f.kind);
  std::sort(kinds.begin(), kinds.end());
  return kinds;
}

TEST(Diff, IdenticalSchemasHaveNoFindings) {
  Schema s;
  s.tables.push_back(MakeTable("core_company", {Col("id", "bigint", true)}));
  EXPECT_TRUE(Diff(s, s, Options()).empty());
}

TEST(Diff, MissingAndOrphanTables) {
  Schema e, a;
  e.tables.push_back(
      MakeTable("core_invoiceentity", {Col("id", "bigint", true)}));
  a.tables.push_back(
      MakeTable("token_blacklist_outstandingtoken", {Col("jti", "text")}));
  a.tables.push_back(MakeTable("core_company_users", {Col("id", "bigint")}));
  a.tables.push_back(MakeTable("stray", {Col("x", "text")}));
  e.ignore.push_back({"token_blacklist_%", "JWT blacklist"});
  e.join_tables.push_back("core_company_users");
  auto findings = Diff(e, a, Options());
  EXPECT_EQ(Kinds(findings),
            (std::vector<std::string>{"missing_table", "orphan_table",
                                      "orphan_table", "orphan_table"}));
  int info = 0;
  for (const auto& f : findings) {
    if (f.kind == "orphan_table" && f.severity == Severity::kInfo) ++info;
    if (f.kind == "missing_table") {
      EXPECT_EQ(f.fix,
                "CREATE TABLE \"public\".\"core_invoiceentity\" (\n    \"id\" "
                "bigint NOT NULL\n);");
    }
    if (f.object == "public.stray") {
      EXPECT_EQ(f.severity, Severity::kWarning);
      EXPECT_TRUE(f.destructive);
    }
  }
  EXPECT_EQ(info, 2);
  Summary s = Summarize(e, findings);
  EXPECT_EQ(s.tables_missing, 1u);
  EXPECT_EQ(s.orphans, 3u);
  EXPECT_EQ(s.orphans_expected, 2u);
}

TEST(Diff, SameShapeMissingAndOrphanIsAPossibleRename) {
  Schema e, a;
  e.tables.push_back(
      MakeTable("trade_licensetrade", {Col("id", "bigint"), Col("n", "text")}));
  a.tables.push_back(
      MakeTable("trade_licencetrade", {Col("n", "text"), Col("id", "bigint")}));
  auto findings = Diff(e, a, Options());
  ASSERT_EQ(Kinds(findings), std::vector<std::string>{"possible_rename"});
  EXPECT_EQ(findings[0].fix,
            "ALTER TABLE \"public\".\"trade_licencetrade\" RENAME TO "
            "\"trade_licensetrade\";");
}

TEST(Diff, ColumnDifferences) {
  Schema e, a;
  Table et =
      MakeTable("core_company", {Col("id", "bigint", true),
                                 Col("name", "character varying(255)", true),
                                 Col("iec", "text"), Col("note", "text")});
  et.columns[3].default_expr = "''::text";
  Table at = MakeTable(
      "core_company",
      {Col("id", "bigint", true), Col("name", "character varying(300)", false),
       Col("note", "text"), Col("legacy", "integer")});
  e.tables.push_back(et);
  a.tables.push_back(at);
  auto findings = Diff(e, a, Options());
  EXPECT_EQ(Kinds(findings),
            (std::vector<std::string>{"default_mismatch", "extra_column",
                                      "missing_column", "nullability_mismatch",
                                      "type_mismatch"}));
  for (const auto& f : findings) {
    if (f.kind == "nullability_mismatch") {
      EXPECT_NE(f.fix.find("CHECK (\"name\" IS NOT NULL) NOT VALID"),
                std::string::npos);
      EXPECT_NE(f.fix.find("SET NOT NULL"), std::string::npos);
    }
    if (f.kind == "type_mismatch") {
      EXPECT_EQ(f.hazards,
                (std::vector<std::string>{"ACQUIRES_ACCESS_EXCLUSIVE_LOCK",
                                          "TABLE_REWRITE"}));
    }
  }
}

TEST(Diff, SerialMatchesASequenceDefaultAndIdentityIsLowSeverity) {
  Schema e, a, b;
  Column serial = Col("id", "integer", true);
  serial.serial = true;
  e.tables.push_back(MakeTable("core_x", {serial}));
  Column nextval = Col("id", "integer", true);
  nextval.default_expr = "nextval('core_x_id_seq'::regclass)";
  a.tables.push_back(MakeTable("core_x", {nextval}));
  EXPECT_TRUE(Diff(e, a, Options()).empty());
  Column identity = Col("id", "integer", true);
  identity.identity = "by_default";
  b.tables.push_back(MakeTable("core_x", {identity}));
  auto findings = Diff(e, b, Options());
  ASSERT_EQ(Kinds(findings), std::vector<std::string>{"identity_mismatch"});
  EXPECT_EQ(findings[0].severity, Severity::kInfo);
}

TEST(Diff, IndexesAndConstraintsIgnoreAutoGeneratedNames) {
  Schema e, a;
  Table et =
      MakeTable("core_x", {Col("id", "bigint", true), Col("ref", "bigint")});
  et.indexes.push_back({"core_x_ref_1a2b", {"ref"}, false, "btree", "", {}});
  et.foreign_keys.push_back({"core_x_ref_fk_123",
                             {"ref"},
                             "public",
                             "core_y",
                             {"id"},
                             "cascade",
                             "no action",
                             false,
                             false,
                             true});
  et.checks.push_back({"core_x_positive", "CHECK ((ref > 0))", true});
  Table at = et;
  at.indexes[0].name = "core_x_ref_idx";
  at.foreign_keys[0].name = "core_x_ref_fkey";
  e.tables.push_back(et);
  a.tables.push_back(at);
  EXPECT_TRUE(Diff(e, a, Options()).empty());
  e.names_matter = true;
  EXPECT_EQ(Kinds(Diff(e, a, Options())),
            (std::vector<std::string>{"constraint_mismatch", "extra_index",
                                      "missing_index"}));
}

TEST(Diff, ConstraintBodiesActionsAndValidation) {
  Schema e, a;
  Table et = MakeTable("core_x", {Col("ref", "bigint")});
  et.foreign_keys.push_back({"fk",
                             {"ref"},
                             "public",
                             "core_y",
                             {"id"},
                             "cascade",
                             "no action",
                             false,
                             false,
                             true});
  et.checks.push_back({"positive", "CHECK ((ref > 0))", true});
  et.checks.push_back({"small", "CHECK ((ref < 100))", true});
  Table at = et;
  at.foreign_keys[0].on_delete = "set null";
  at.checks[0].expression = "CHECK ((ref >= 0))";
  at.checks[1].validated = false;
  e.tables.push_back(et);
  a.tables.push_back(at);
  auto findings = Diff(e, a, Options());
  EXPECT_EQ(Kinds(findings), (std::vector<std::string>{
                                 "constraint_mismatch", "constraint_mismatch",
                                 "not_validated_constraint"}));
  for (const auto& f : findings) {
    if (f.object == "public.core_x.fk") {
      EXPECT_NE(f.fix.find("ON DELETE CASCADE NOT VALID"), std::string::npos)
          << f.fix;
      EXPECT_NE(f.fix.find("VALIDATE CONSTRAINT \"fk\""), std::string::npos);
    }
  }
}

TEST(Diff, OnlineAndOfflineIndexFixes) {
  Schema e, a;
  Table et = MakeTable("core_x", {Col("ref", "bigint")});
  et.indexes.push_back({"core_x_ref", {"ref"}, false, "btree", "", {}});
  e.tables.push_back(et);
  a.tables.push_back(MakeTable("core_x", {Col("ref", "bigint")}));
  EXPECT_EQ(Diff(e, a, Options(true))[0].fix,
            "CREATE INDEX CONCURRENTLY \"core_x_ref\" ON \"public\".\"core_x\" "
            "USING btree (ref);");
  auto offline = Diff(e, a, Options(false));
  EXPECT_EQ(offline[0].fix,
            "CREATE INDEX \"core_x_ref\" ON \"public\".\"core_x\" USING btree "
            "(ref);");
  EXPECT_EQ(offline[0].hazards,
            (std::vector<std::string>{"ACQUIRES_SHARE_LOCK", "INDEX_BUILD"}));
}

TEST(Diff, EnumsAndViews) {
  Schema e, a;
  e.enums.push_back({"public", "status", {"draft", "sent", "paid"}});
  a.enums.push_back({"public", "status", {"draft", "sent"}});
  Table ev = MakeTable("core_v", {Col("id", "bigint")});
  ev.kind = TableKind::kView;
  ev.view_definition = " SELECT 1 AS id;";
  Table av = ev;
  av.view_definition = " SELECT 2 AS id;";
  e.tables.push_back(ev);
  a.tables.push_back(av);
  auto findings = Diff(e, a, Options());
  EXPECT_EQ(Kinds(findings),
            (std::vector<std::string>{"enum_mismatch", "view_mismatch"}));
  for (const auto& f : findings) {
    if (f.kind == "enum_mismatch") {
      EXPECT_EQ(f.fix,
                "ALTER TYPE \"public\".\"status\" ADD VALUE IF NOT EXISTS "
                "'paid' AFTER 'sent';");
    }
  }
}

TEST(RenderFixScript, OrdersPhasesAndCommentsOutDrops) {
  Schema e, a;
  Table et = MakeTable("core_x", {Col("id", "bigint")});
  et.foreign_keys.push_back({"fk",
                             {"id"},
                             "public",
                             "core_y",
                             {"id"},
                             "no action",
                             "no action",
                             false,
                             false,
                             true});
  e.tables.push_back(et);
  e.tables.push_back(MakeTable("core_y", {Col("id", "bigint")}));
  a.tables.push_back(MakeTable("stray", {Col("q", "text")}));
  auto findings = Diff(e, a, Options());
  std::string script =
      RenderFixScript(findings, {"test", "now", ""}, true, false);
  auto create_x = script.find("CREATE TABLE \"public\".\"core_x\"");
  auto create_y = script.find("CREATE TABLE \"public\".\"core_y\"");
  auto fk = script.find("ADD CONSTRAINT \"fk\"");
  auto drop = script.find("-- DROP TABLE \"public\".\"stray\";");
  ASSERT_NE(create_x, std::string::npos);
  ASSERT_NE(create_y, std::string::npos);
  ASSERT_NE(fk, std::string::npos);
  ASSERT_NE(drop, std::string::npos);
  // What goes goes first (a name it frees may be needed), then tables,
  // then the foreign keys between them.
  EXPECT_LT(drop, create_x);
  EXPECT_LT(create_y, fk);
  // A new, empty table gets its foreign key directly, not NOT VALID.
  EXPECT_EQ(script.find("NOT VALID"), std::string::npos);
  std::string with_drops =
      RenderFixScript(findings, {"test", "now", ""}, true, true);
  EXPECT_NE(with_drops.find("\nDROP TABLE \"public\".\"stray\";"),
            std::string::npos);
}

TEST(RenderSchemaReport, GroupsByAppAndEndsWithTheSummaryLine) {
  Schema e, a;
  e.tables.push_back(MakeTable("core_a", {Col("id", "bigint")}));
  e.tables.push_back(MakeTable("trade_b", {Col("id", "bigint")}));
  a.tables.push_back(MakeTable("trade_b", {Col("id", "integer")}));
  auto findings = Diff(e, a, Options());
  std::string report = RenderSchemaReport(findings, Summarize(e, findings),
                                          {"ci", "2026-11-21", ""}, nullptr);
  EXPECT_NE(report.find("[core]\n  missing tables (1):\n    table "
                        "public.core_a is missing\n"),
            std::string::npos)
      << report;
  EXPECT_NE(report.find("[trade]\n  column differences (1):"),
            std::string::npos);
  EXPECT_NE(report.find("2 tables expected, 1 present, 1 missing, 0 orphaned "
                        "(0 expected), 1 column differences"),
            std::string::npos);
}

TEST(Diff, SerialColumnsKeepTheirSequence) {
  Schema e, a;
  Table et = MakeTable("core_x", {Col("id", "integer", true)});
  et.columns[0].default_expr = "nextval('core_x_id_seq'::regclass)";
  et.sequences.push_back({"id", "core_x_id_seq"});
  e.tables.push_back(et);
  // Missing table: recreated as serial, so the sequence comes with it.
  auto missing = Diff(e, a, Options());
  ASSERT_EQ(Kinds(missing), std::vector<std::string>{"missing_table"});
  EXPECT_NE(missing[0].fix.find("\"id\" serial NOT NULL"), std::string::npos)
      << missing[0].fix;
  // Default and sequence gone: one finding, whose fix creates the sequence.
  a.tables.push_back(MakeTable("core_x", {Col("id", "integer", true)}));
  auto lost = Diff(e, a, Options());
  ASSERT_EQ(Kinds(lost), std::vector<std::string>{"missing_sequence"});
  EXPECT_NE(lost[0].fix.find("CREATE SEQUENCE IF NOT EXISTS"),
            std::string::npos);
}

TEST(Diff, AnExtraPrimaryKeyIsDroppedWithItsNotNull) {
  Schema e, a;
  e.tables.push_back(MakeTable("core_x", {Col("id", "integer")}));
  Table at = MakeTable("core_x", {Col("id", "integer", true)});
  at.primary_key = KeyConstraint{"core_x_pkey", {"id"}};
  a.tables.push_back(at);
  auto findings = Diff(e, a, Options());
  ASSERT_EQ(Kinds(findings), std::vector<std::string>{"extra_constraint"});
  EXPECT_EQ(
      findings[0].fix,
      "ALTER TABLE \"public\".\"core_x\" DROP CONSTRAINT \"core_x_pkey\";\n"
      "ALTER TABLE \"public\".\"core_x\" ALTER COLUMN \"id\" DROP NOT NULL;");
}

TEST(Diff, EnumLabelsAreAddedInPlace) {
  Schema e, a;
  e.enums.push_back({"public", "level", {"low", "mid", "high"}});
  a.enums.push_back({"public", "level", {"low", "high"}});
  auto findings = Diff(e, a, Options());
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].fix,
            "ALTER TYPE \"public\".\"level\" ADD VALUE IF NOT EXISTS 'mid' "
            "BEFORE 'high';");
  EXPECT_EQ(findings[0].steps[0].phase, FixPhase::kType);
}

TEST(Diff, ViewsComeAfterTablesAndTypesBefore) {
  Schema e, a;
  Table view = MakeTable("a_view", {Col("id", "bigint")});
  view.kind = TableKind::kView;
  view.view_definition = " SELECT id FROM z_base;";
  e.tables.push_back(view);
  e.tables.push_back(MakeTable("z_base", {Col("id", "bigint")}));
  e.enums.push_back({"public", "mood", {"ok"}});
  auto findings = Diff(e, a, Options());
  std::string script = RenderFixScript(findings, {"t", "now", ""}, true, false);
  EXPECT_LT(script.find("CREATE TYPE"), script.find("CREATE TABLE"));
  EXPECT_LT(script.find("CREATE TABLE"), script.find("CREATE VIEW"));
}

TEST(Diff, MissingSchemaIsReportedOnceWhenSchemasAreKnown) {
  Schema e, a;
  Table t = MakeTable("core_x", {Col("id", "bigint")});
  t.schema = "billing";
  e.tables.push_back(t);
  a.schemas = {"public"};
  a.schemas_known = true;
  auto findings = Diff(e, a, Options());
  EXPECT_EQ(Kinds(findings),
            (std::vector<std::string>{"missing_schema", "missing_table"}));
}

TEST(Diff, HandWrittenLiteralDefaultsMatchCastOnes) {
  Schema e, a;
  Table et = MakeTable("core_x", {Col("status", "character varying(10)")});
  et.columns[0].default_expr = "'draft'";
  Table at = et;
  at.columns[0].default_expr = "'draft'::character varying";
  e.tables.push_back(et);
  a.tables.push_back(at);
  EXPECT_TRUE(Diff(e, a, Options()).empty());
}

}  // namespace
}  // namespace schema_guard::core
