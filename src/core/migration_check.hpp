// The migration check: a declared graph against a framework's history table
// (pending, ghost, stale, inconsistent, conflicting, duplicate, squashed,
// faked, failed and tampered migrations), the apply plan, and the psql
// report. The boundary reads the history table, the audit and the live
// catalog into History and LiveObjects; CheckMigrations does the rest
// without a server. For Django, everything Django decides itself follows
// Django's own functions (core/django_loader.hpp).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/finding.hpp"
#include "core/migration.hpp"
#include "core/migration_graph.hpp"

namespace schema_guard::core {

struct AppSummary {
  std::string app;
  std::size_t declared = 0;
  std::size_t applied = 0;
  std::size_t pending = 0;
  std::size_t problems = 0;  // errors and warnings other than pending
};

enum class ReconcileStatus { kSafeToFake, kPartlyPresent, kMustApply };
std::string_view ReconcileStatusName(ReconcileStatus status);

struct ReconcileRow {
  MigrationKey key;
  ReconcileStatus status = ReconcileStatus::kMustApply;
  std::vector<std::string> present;  // "table" or "table.column"
  std::vector<std::string> missing;
};

struct PlanStep {
  MigrationKey key;
  std::vector<std::size_t> pending_dependencies;  // indexes into the plan
};

struct MigrationCheck {
  Framework framework = Framework::kDjango;
  bool graph_declared = false;
  // Why the graph cannot be planned (Django cannot load it, a cycle); empty
  // when it can.
  std::string unplannable;
  History history;
  std::vector<Finding> findings;
  std::vector<PlanStep> plan;  // pending migrations in apply order
  std::vector<AppSummary> apps;
  std::vector<ReconcileRow> reconcile;  // pending migrations with `creates`
};

// `graph` may be null (no declaration: only the checks that need none).
// `plan_app`: the plan is what brings that app up to date (Django:
// `migrate <app>`), else everything.
MigrationCheck CheckMigrations(Framework framework, const MigrationGraph* graph,
                               History history, const LiveObjects& live,
                               std::optional<std::string_view> plan_app = {});

// The psql report of migration_check(): per framework and app, applied /
// pending / problems, each problem, then the next steps in the order they
// are to be run (the fixes of the findings, each once).
std::string RenderMigrationReport(const std::vector<MigrationCheck>& checks);

// Severity order: errors first.
int SeverityRank(Severity severity);

}  // namespace schema_guard::core
