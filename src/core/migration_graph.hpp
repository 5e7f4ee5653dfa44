// The declared migration graph and its checks against a framework's history
// table: pending, ghost, inconsistent, conflicting, duplicate, squashed,
// faked, failed and tampered migrations, and the apply plan.
//
// The graph document ("format": "schema_guard.migrations/1") is read by
// ReadMigrationGraph; the boundary reads the history table, the audit and
// the live catalog into History and LiveObjects; CheckMigrations does the
// rest without a server.
#pragma once

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/finding.hpp"
#include "core/json.hpp"
#include "core/migration.hpp"

namespace schema_guard::core {

inline constexpr std::string_view kMigrationGraphFormat =
    "schema_guard.migrations/1";
// Larger graph documents are refused before they are parsed.
inline constexpr std::size_t kMaxMigrationGraphBytes =
    std::size_t{8} * 1024 * 1024;
inline constexpr std::size_t kMaxDeclaredMigrations = 100000;

struct MigrationKey {
  std::string app;
  std::string name;
  bool operator==(const MigrationKey& o) const {
    return app == o.app && name == o.name;
  }
  bool operator<(const MigrationKey& o) const {
    return app != o.app ? app < o.app : name < o.name;
  }
};

struct DeclaredMigration {
  MigrationKey key;
  std::vector<MigrationKey> dependencies;
  std::vector<MigrationKey> replaces;  // a squash: the migrations it replaces
  std::optional<std::string> checksum;
  std::optional<bool> atomic;
  std::vector<std::string> creates_tables;  // "table" or "schema.table"
  std::vector<std::pair<std::string, std::string>> creates_columns;
  bool DeclaresSchemaChanges() const {
    return !creates_tables.empty() || !creates_columns.empty();
  }
};

struct MigrationGraph {
  Framework framework = Framework::kDjango;
  std::string history_table;  // empty: the default name, via search_path
  std::vector<DeclaredMigration> migrations;
  // Flyway and Rails: a version declared twice, as (index, earlier index).
  std::vector<std::pair<std::size_t, std::size_t>> duplicate_versions;
  // Built by ReadMigrationGraph, keyed by MigrationKeyText: the index of
  // each migration (its first declaration), and of the squash that
  // replaces a migration.
  std::unordered_map<std::string, std::size_t> index;
  std::unordered_map<std::string, std::size_t> replaced_by;
  // dependency_index[i][k]: the index of migrations[i].dependencies[k], or
  // kNotDeclared.
  std::vector<std::vector<std::size_t>> dependency_index;
  static constexpr std::size_t kNotDeclared = static_cast<std::size_t>(-1);
  // Django: migrations of one app sharing a number prefix that no merge
  // migration reconciles (duplicate_number findings).
  std::vector<std::vector<std::size_t>> duplicate_numbers;
};

// The key of MigrationGraph's maps: app, unit separator, name. Writes into
// *buffer (reusing its storage) and returns it.
const std::string& MigrationKeyText(const MigrationKey& key,
                                    std::string* buffer);

// Reads and validates a graph document; errors name the JSON path.
MigrationGraph ReadMigrationGraph(const Json& document);

// Flyway's version identity: "1.01", "01.1" and "1.1.0" are version 1.1;
// "_" separates like ".".
std::string CanonicalVersion(std::string_view version);

// Orders two canonical versions numerically, segment by segment.
bool VersionLess(std::string_view a, std::string_view b);

// How a migration reads in findings: "core.0002_add_invoice" for Django,
// "flyway:2.1", "alembic:3f2a9c", "rails:20260101120000" and
// "liquibase:<id>::<author>::<file>" for the others (the audit's labels).
std::string MigrationObject(Framework framework, const MigrationKey& key);

enum class HistoryState {
  kApplied,
  kFailed,     // Flyway success = false, Liquibase FAILED
  kMarkedRan,  // Liquibase MARK_RAN: recorded without running
  kBaseline,   // Flyway BASELINE: versions up to it count as applied
  kIgnored,    // rows that record nothing applied (Flyway DELETE, ...)
};

struct AppliedMigration {
  MigrationKey key;
  std::string applied_at;  // sortable text; empty when unknown
  long long rank = 0;      // history order (installed_rank, orderexecuted)
  std::optional<std::string> checksum;
  HistoryState state = HistoryState::kApplied;
  // Whether the audit credited any DDL to the (last) write of this row;
  // unset when the audit has no record of the write.
  std::optional<bool> audit_saw_ddl;
};

struct History {
  std::string table;  // quoted, qualified; empty when there is none
  bool present = false;
  std::vector<AppliedMigration> rows;
};

// What the live catalog has of the tables and columns the graph declares.
struct LiveObjects {
  std::unordered_set<std::string> tables;  // as written in the graph
  std::set<std::pair<std::string, std::string>> columns;
};

// --- graph algorithms over nodes 0..n-1; deps[n] are n's dependencies ---
using Adjacency = std::vector<std::vector<std::size_t>>;

// One cycle (as a path, first node not repeated) per strongly connected
// component that has one.
std::vector<std::vector<std::size_t>> DependencyCycles(const Adjacency& deps);

// The nodes with pending[n] in an order where each comes after its pending
// dependencies; among ready nodes the one with the lowest order_key first.
// Nodes that wait on a cycle are left out.
std::vector<std::size_t> ApplyOrder(const Adjacency& deps,
                                    const std::vector<bool>& pending,
                                    const std::vector<std::size_t>& order_key);

// How Django treats a squash S that replaces R1..Rn: all Ri applied -> S
// counts as applied and stands for them; none applied -> S stands for them
// (and is pending); some applied -> S cannot be used and the Ri stay.
enum class SquashUse { kAllApplied, kNoneApplied, kPartlyApplied };
SquashUse ClassifySquash(std::size_t replaced, std::size_t replaced_applied);

// --- the check ---
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
  History history;
  std::vector<Finding> findings;
  std::vector<PlanStep> plan;  // pending migrations in apply order
  std::vector<AppSummary> apps;
  std::vector<ReconcileRow> reconcile;  // pending migrations with `creates`
};

// `graph` may be null (no declaration: only the checks that need none).
MigrationCheck CheckMigrations(Framework framework, const MigrationGraph* graph,
                               History history, const LiveObjects& live);

// The plan steps that bring `app` up to date: its own pending migrations
// and the pending migrations they depend on, in plan order.
std::vector<std::size_t> PlanForApp(const MigrationCheck& check,
                                    std::string_view app);

// Microseconds since 1970-01-01 UTC as "YYYY-MM-DD HH:MM:SS.ffffff" (UTC):
// sortable text for history times (years 0 to 9999).
std::string TimestampText(long long epoch_micros);

// A SQL string literal ('it''s'; E'...' when it holds a backslash).
std::string QuoteLiteral(std::string_view text);

// The psql report of migration_check(): per framework and app, applied /
// pending / problems, each problem, then the next steps (the fixes of the
// findings, each once).
std::string RenderMigrationReport(const std::vector<MigrationCheck>& checks);

}  // namespace schema_guard::core
