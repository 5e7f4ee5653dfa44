#include "core/migration_hints.hpp"

#include <gtest/gtest.h>

namespace schema_guard::core {
namespace {

Finding MakeFinding(std::string kind, std::string object,
                    std::string cause = "") {
  Finding f;
  f.kind = std::move(kind);
  f.object = std::move(object);
  f.message = f.kind + " " + f.object;
  f.cause = std::move(cause);
  f.fix = "CREATE ...;";
  f.steps.push_back({FixPhase::kCreate, 0, "CREATE ...;", ""});
  f.hazards = {"INDEX_BUILD"};
  return f;
}

TEST(AttributeToMigrations, PendingAndFakedMigrationsReplaceTheDdl) {
  MigrationCheck check;
  check.framework = Framework::kDjango;
  ReconcileRow pending;
  pending.key = {"core", "0004_invoice"};
  pending.status = ReconcileStatus::kMustApply;
  pending.missing = {"core_invoice", "core_company.iec"};
  check.reconcile.push_back(pending);
  Finding faked;
  faked.kind = "faked_migration";
  faked.severity = Severity::kError;
  faked.object = "trade.0002_port";
  faked.expected = "trade_port, trade_deal.port_id";
  check.findings.push_back(faked);

  std::vector<Finding> findings = {
      MakeFinding("missing_table", "public.core_invoice"),
      MakeFinding("missing_index", "index public.core_invoice_a",
                  "missing_table public.core_invoice"),
      MakeFinding("missing_column", "public.core_company.iec"),
      MakeFinding("missing_table", "public.trade_port"),
      MakeFinding("missing_table", "public.other"),
  };
  AttributeToMigrations({check}, &findings);
  EXPECT_EQ(findings[0].fix,
            "-- created by core.0004_invoice, which is not applied: run "
            "`python manage.py migrate core`");
  EXPECT_TRUE(findings[0].hazards.empty());
  EXPECT_EQ(findings[1].fix,
            "-- created with public.core_invoice by core.0004_invoice");
  EXPECT_NE(findings[2].fix.find("core.0004_invoice"), std::string::npos);
  EXPECT_NE(findings[3].fix.find("recorded as applied but did not run"),
            std::string::npos);
  EXPECT_EQ(findings[4].fix, "CREATE ...;");
}

TEST(AttributeToMigrations, NothingWithoutAGraph) {
  std::vector<Finding> findings = {MakeFinding("missing_table", "public.x")};
  AttributeToMigrations({}, &findings);
  EXPECT_EQ(findings[0].fix, "CREATE ...;");
}

}  // namespace
}  // namespace schema_guard::core
