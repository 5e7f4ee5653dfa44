// What the migration checks of every framework share: the history rows
// indexed by migration, the declared objects looked up in the live catalog,
// the framework's commands, and the checks that read rows only (failed
// rows, faked migrations, changed checksums, order, ghosts). The Django
// checks (django_check.cpp) and those of the other frameworks
// (migration_check.cpp) build on it. Internal to src/core.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/migration_check.hpp"

namespace schema_guard::core {

struct Commands {
  std::string migrate;  // apply everything pending
  std::function<std::string(const MigrationKey&)> fake;  // or empty
  std::string merge;      // an app's branches, or all heads
  std::string repair;     // after a failed row or a changed checksum
  std::string redeclare;  // export the graph again and declare it
};

Commands CommandsFor(Framework framework, const std::string& table);

class CheckContext {
 public:
  CheckContext(Framework framework, const MigrationGraph* graph,
               History history, const LiveObjects& live,
               std::optional<std::string_view> plan_app);

  Framework fw() const { return fw_; }
  bool has_graph() const { return graph_ != nullptr; }
  const MigrationGraph& G() const { return *graph_; }
  const DeclaredMigration& M(std::size_t i) const {
    return graph_->migrations[i];
  }
  std::string Obj(const MigrationKey& key) const {
    return MigrationObject(fw_, key);
  }
  std::string Obj(std::size_t i) const { return Obj(M(i).key); }
  const std::string& Table() const { return result_.history.table; }
  const Commands& commands() const { return commands_; }
  MigrationCheck& result() { return result_; }
  std::optional<std::string_view> plan_app() const { return plan_app_; }

  Finding& Add(Severity severity, std::string kind, std::string app,
               std::string object, std::string message);

  // History rows by key: the successful row, else the last one.
  void IndexHistory();
  // The declared migration of a history row (the reader's lookup if it
  // made one).
  std::optional<std::size_t> GraphNode(const AppliedMigration& row) const;
  std::optional<std::size_t> RowOfNode(std::size_t i) const;
  std::optional<std::size_t> RowOf(const MigrationKey& key) const;
  const AppliedMigration& Row(std::size_t r) const {
    return result_.history.rows[r];
  }
  bool RowApplied(std::optional<std::size_t> r) const {
    return r && Row(*r).state != HistoryState::kFailed;
  }
  std::optional<std::size_t> baseline() const { return baseline_; }
  std::optional<std::size_t> NodeOf(const MigrationKey& key) const;
  std::optional<std::size_t> SquashOf(const MigrationKey& key) const;
  bool IsDeclaredApp(const std::string& app) const {
    return apps_.count(app) != 0;
  }

  // What of the objects a migration declares exists now.
  bool AllPresent(const DeclaredMigration& m) const;
  bool NonePresent(const DeclaredMigration& m) const;
  std::vector<std::string> Missing(const DeclaredMigration& m,
                                   std::vector<std::string>* present) const;
  // A pending migration's place in migration_reconcile(); a row is added.
  ReconcileRow& Reconcile(std::size_t i);

  // Checks of one recorded migration: applied before a dependency, faked,
  // a changed checksum. `by_replacement`: a squash recorded after what it
  // replaces ran (its own row was written without DDL).
  void CheckOrder(std::size_t i, bool by_replacement,
                  const std::set<std::size_t>& by_replacement_nodes);
  void CheckRecorded(std::size_t i, bool by_replacement);
  // Rows no declared migration stands for: ghosts, or the sign of a stale
  // graph when the audit credited DDL to them.
  void CheckGhosts();
  // Failed rows (no graph needed).
  void CheckHistoryRows();
  // The per-app header; `applied` and `pending` per declared migration.
  void Summarize(const std::vector<bool>& declared,
                 const std::vector<bool>& applied);
  MigrationCheck Finish();

 private:
  std::string GhostFix(const MigrationKey& key, bool whole_app) const;

  Framework fw_;
  const MigrationGraph* graph_;
  const LiveObjects& live_;
  std::optional<std::string_view> plan_app_;
  MigrationCheck result_;
  Commands commands_;
  static constexpr std::size_t kNoRow = static_cast<std::size_t>(-1);
  std::vector<std::size_t> row_for_node_;  // declared migration -> its row
  std::vector<std::size_t> row_node_;      // row -> declared migration
  std::unordered_map<std::string, std::size_t> row_of_;  // undeclared rows
  std::optional<std::size_t> baseline_;
  mutable std::string key_buffer_;  // lookups without allocation
  std::set<std::string> apps_;
};

// The checks of each kind of framework, on a context whose history is
// indexed.
void RunDjangoChecks(CheckContext* context);
void RunAlembicChecks(CheckContext* context);
void RunGenericChecks(CheckContext* context);

}  // namespace schema_guard::core
