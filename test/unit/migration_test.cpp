#include "core/migration.hpp"

#include <gtest/gtest.h>

#include <string>

#include "core/error.hpp"

namespace schema_guard::core {
namespace {

using Values = std::vector<std::optional<std::string>>;

TEST(ParseFramework, AcceptsEveryFrameworkInAnyCase) {
  EXPECT_EQ(ParseFramework("django"), Framework::kDjango);
  EXPECT_EQ(ParseFramework("Flyway"), Framework::kFlyway);
  EXPECT_EQ(ParseFramework("ALEMBIC"), Framework::kAlembic);
  EXPECT_EQ(ParseFramework("rails"), Framework::kRails);
  EXPECT_EQ(ParseFramework("liquibase"), Framework::kLiquibase);
}

TEST(ParseFramework, RejectsUnknownNamesWithTheAcceptedList) {
  try {
    ParseFramework("sqitch");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidParameterValue);
    EXPECT_EQ(e.message(), "unknown migration framework \"sqitch\"");
    EXPECT_NE(e.hint().find("django, flyway, alembic, rails, liquibase"),
              std::string::npos);
  }
  EXPECT_THROW(ParseFramework(""), Error);
  EXPECT_THROW(ParseFramework("djangoo"), Error);
}

TEST(HistoryTableFramework, KnowsTheDefaultHistoryTableNames) {
  EXPECT_EQ(HistoryTableFramework("django_migrations"), Framework::kDjango);
  EXPECT_EQ(HistoryTableFramework("flyway_schema_history"), Framework::kFlyway);
  EXPECT_EQ(HistoryTableFramework("alembic_version"), Framework::kAlembic);
  EXPECT_EQ(HistoryTableFramework("schema_migrations"), Framework::kRails);
  EXPECT_EQ(HistoryTableFramework("databasechangelog"), Framework::kLiquibase);
  EXPECT_FALSE(HistoryTableFramework("Django_Migrations"));
  EXPECT_FALSE(HistoryTableFramework("databasechangeloglock"));
  EXPECT_FALSE(HistoryTableFramework("core_invoice"));
}

TEST(BookkeepingTableFramework, AddsTheFrameworksOtherTables) {
  EXPECT_EQ(BookkeepingTableFramework("databasechangeloglock"),
            Framework::kLiquibase);
  EXPECT_EQ(BookkeepingTableFramework("ar_internal_metadata"),
            Framework::kRails);
  EXPECT_EQ(BookkeepingTableFramework("django_migrations"), Framework::kDjango);
  EXPECT_FALSE(BookkeepingTableFramework(""));
  EXPECT_FALSE(BookkeepingTableFramework("django_content_type"));
}

TEST(HistoryRowLabel, DjangoIsAppDotName) {
  EXPECT_EQ(HistoryRowLabel(Framework::kDjango,
                            Values{"core", "0002_add_invoice_models"}),
            "core.0002_add_invoice_models");
}

TEST(HistoryRowLabel, FlywayUsesVersionElseRepeatableDescription) {
  EXPECT_EQ(HistoryRowLabel(Framework::kFlyway, Values{"2.1", "add invoices"}),
            "flyway:2.1");
  EXPECT_EQ(HistoryRowLabel(Framework::kFlyway, Values{std::nullopt, "views"}),
            "flyway:R:views");
  EXPECT_FALSE(HistoryRowLabel(Framework::kFlyway, Values{std::nullopt, ""}));
}

TEST(HistoryRowLabel, AlembicRailsLiquibase) {
  EXPECT_EQ(HistoryRowLabel(Framework::kAlembic, Values{"3f2a9c1d4e5b"}),
            "alembic:3f2a9c1d4e5b");
  EXPECT_EQ(HistoryRowLabel(Framework::kRails, Values{"20260101120000"}),
            "rails:20260101120000");
  EXPECT_EQ(HistoryRowLabel(Framework::kLiquibase,
                            Values{"7", "anna", "db/changelog.xml"}),
            "liquibase:7::anna::db/changelog.xml");
}

TEST(HistoryRowLabel, MissingIdentifyingValuesGiveNoLabel) {
  EXPECT_FALSE(
      HistoryRowLabel(Framework::kDjango, Values{"core", std::nullopt}));
  EXPECT_FALSE(HistoryRowLabel(Framework::kDjango, Values{"", "0001_initial"}));
  EXPECT_FALSE(HistoryRowLabel(Framework::kAlembic, Values{std::nullopt}));
  EXPECT_FALSE(HistoryRowLabel(Framework::kLiquibase,
                               Values{"7", std::nullopt, "a.xml"}));
}

TEST(HistoryRowLabel, WrongValueCountIsAnInternalError) {
  EXPECT_THROW(HistoryRowLabel(Framework::kDjango, Values{"core"}), Error);
}

TEST(HistoryRowLabel, KeepsHostileTextVerbatim) {
  EXPECT_EQ(HistoryRowLabel(Framework::kDjango,
                            Values{"a\"b", "0001_'; DROP TABLE x; --é"}),
            "a\"b.0001_'; DROP TABLE x; --é");
}

TEST(HistoryColumns, MatchTheFrameworksTables) {
  EXPECT_EQ(HistoryColumns(Framework::kDjango),
            (std::vector<std::string_view>{"app", "name"}));
  EXPECT_EQ(HistoryColumns(Framework::kLiquibase),
            (std::vector<std::string_view>{"id", "author", "filename"}));
}

TEST(ValidateMigrationLabel, AcceptsOrdinaryLabels) {
  EXPECT_NO_THROW(ValidateMigrationLabel(""));
  EXPECT_NO_THROW(ValidateMigrationLabel("core.0002_add_invoice_models"));
  EXPECT_NO_THROW(ValidateMigrationLabel("flyway:2.1 \"quoted\" ünïcode"));
  EXPECT_NO_THROW(
      ValidateMigrationLabel(std::string(kMaxMigrationLabelBytes, 'x')));
}

TEST(ValidateMigrationLabel, RejectsOverlongLabelsWithTheirSize) {
  try {
    ValidateMigrationLabel(std::string(10 * 1024 * 1024, 'x'));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kStringDataTooLong);
    EXPECT_EQ(e.message(), "migration label is too long");
    EXPECT_EQ(e.detail(),
              "The label is 10485760 bytes long; the limit is 1024 bytes.");
  }
  EXPECT_THROW(
      ValidateMigrationLabel(std::string(kMaxMigrationLabelBytes + 1, 'x')),
      Error);
}

TEST(ValidateMigrationLabel, RejectsControlCharacters) {
  try {
    ValidateMigrationLabel("core.0001\ninitial");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidParameterValue);
    EXPECT_EQ(e.detail(), "Byte 10 of the label is 0x0A.");
  }
  EXPECT_THROW(ValidateMigrationLabel(std::string("a\tb")), Error);
  EXPECT_THROW(ValidateMigrationLabel(std::string("a\x7f")), Error);
}

TEST(LabelAtEvent, SessionLabelWinsThenBookkeepingThenNone) {
  EXPECT_EQ(LabelAtEvent("core.0003_x", Framework::kDjango), "core.0003_x");
  EXPECT_EQ(LabelAtEvent("", Framework::kFlyway), "flyway:history_table");
  EXPECT_EQ(LabelAtEvent("", Framework::kLiquibase), "liquibase:history_table");
  EXPECT_FALSE(LabelAtEvent("", std::nullopt));
  EXPECT_EQ(LabelAtEvent("x", std::nullopt), "x");
}

TEST(ReadHistoryRow, FlywayTypesAndSuccess) {
  auto row = [](std::vector<std::optional<std::string>> cells) {
    return ReadHistoryRow(Framework::kFlyway, cells, 7, "flyway");
  };
  AppliedMigration v =
      row({"1.01", "init", "SQL", "123", "true", "3", "1767225600000000"});
  EXPECT_EQ(v.key.name, "1.1");
  EXPECT_EQ(v.state, HistoryState::kApplied);
  EXPECT_EQ(v.rank, 3);
  EXPECT_EQ(v.checksum, std::optional<std::string>("123"));
  EXPECT_EQ(v.applied_at, "2026-01-01 00:00:00.000000");
  EXPECT_EQ(row({"2", "x", "SQL", "1", "false", "4", std::nullopt}).state,
            HistoryState::kFailed);
  AppliedMigration r =
      row({std::nullopt, "views", "SQL", "9", "true", "5", std::nullopt});
  EXPECT_EQ(r.key.name, "R:views");
  EXPECT_EQ(r.state, HistoryState::kIgnored);
  EXPECT_EQ(row({"1", "b", "BASELINE", std::nullopt, "true", "1", std::nullopt})
                .state,
            HistoryState::kBaseline);
  EXPECT_EQ(row({"3", "u", "UNDO_SQL", std::nullopt, "true", "6", std::nullopt})
                .state,
            HistoryState::kIgnored);
}

TEST(ReadHistoryRow, LiquibaseExectypesAlembicAndRails) {
  auto lb = [](const char* exectype) {
    return ReadHistoryRow(Framework::kLiquibase,
                          {"1", "ana", "db/changelog.xml",
                           std::string(exectype), "9:a", "2", std::nullopt},
                          1, "liquibase");
  };
  EXPECT_EQ(lb("EXECUTED").key.name, "1::ana::db/changelog.xml");
  EXPECT_EQ(lb("EXECUTED").state, HistoryState::kApplied);
  EXPECT_EQ(lb("MARK_RAN").state, HistoryState::kMarkedRan);
  EXPECT_EQ(lb("FAILED").state, HistoryState::kFailed);
  EXPECT_EQ(lb("SKIPPED").state, HistoryState::kIgnored);
  EXPECT_EQ(lb("EXECUTED").rank, 2);
  AppliedMigration head =
      ReadHistoryRow(Framework::kAlembic, {"3f2a9c"}, 1, "alembic");
  EXPECT_EQ(head.key.app, "alembic");
  EXPECT_EQ(head.key.name, "3f2a9c");
  EXPECT_EQ(ReadHistoryRow(Framework::kRails, {"20260101120000"}, 2, "rails")
                .key.name,
            "20260101120000");
  EXPECT_NE(HistoryQuery(Framework::kFlyway, "public.flyway_schema_history")
                .find("ORDER BY h.installed_rank"),
            std::string::npos);
}

}  // namespace
}  // namespace schema_guard::core

namespace schema_guard::core {
namespace {

TEST(LabelFramework, PrefixNamesTheFramework) {
  EXPECT_EQ(LabelFramework("flyway:2.1"), Framework::kFlyway);
  EXPECT_EQ(LabelFramework("alembic:3f2a9c1d4e5b"), Framework::kAlembic);
  EXPECT_EQ(LabelFramework("rails:20260101120000"), Framework::kRails);
  EXPECT_EQ(LabelFramework("liquibase:1::me::a.xml"), Framework::kLiquibase);
  EXPECT_EQ(LabelFramework("core.0002_add_invoice"), Framework::kDjango);
  // A prefix without its colon, or a bare prefix, is no framework of its own.
  EXPECT_EQ(LabelFramework("flyway"), Framework::kDjango);
  EXPECT_EQ(LabelFramework("flywayish:1"), Framework::kDjango);
  EXPECT_EQ(LabelFramework("flyway:"), Framework::kDjango);
}

TEST(ClaimCounts, OnlySessionClaimsOfRolesThatMayWriteTheHistory) {
  EXPECT_TRUE(ClaimCounts(LabelSource::kSession, true));
  EXPECT_FALSE(ClaimCounts(LabelSource::kSession, false));
  EXPECT_FALSE(ClaimCounts(LabelSource::kStored, true));
  EXPECT_FALSE(ClaimCounts(LabelSource::kUnset, true));
}

}  // namespace
}  // namespace schema_guard::core
