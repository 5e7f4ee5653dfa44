#include "core/migration_check.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <utility>

#include "core/migration_check_internal.hpp"

namespace schema_guard::core {

int SeverityRank(Severity severity) {
  switch (severity) {
    case Severity::kError:
      return 0;
    case Severity::kWarning:
      return 1;
    case Severity::kInfo:
      return 2;
  }
  return 3;
}

std::string_view ReconcileStatusName(ReconcileStatus status) {
  switch (status) {
    case ReconcileStatus::kSafeToFake:
      return "safe_to_fake";
    case ReconcileStatus::kPartlyPresent:
      return "partly_present";
    case ReconcileStatus::kMustApply:
      return "must_apply";
  }
  return "must_apply";
}

// Exports the graph with the framework's exporter (contrib/) and declares
// it, as psql reads it from standard input (psql -c does not interpolate
// variables).
std::string Redeclare(std::string_view export_command) {
  return fmt::format(
      "{} && echo \"SELECT schema_guard.declare_migrations(:'graph')\" | "
      "psql -v graph=\"$(cat graph.json)\"",
      export_command);
}

Commands CommandsFor(Framework framework, const std::string& table) {
  Commands c;
  switch (framework) {
    case Framework::kDjango:
      c.migrate = "python manage.py migrate";
      c.fake = [](const MigrationKey& k) {
        return fmt::format("python manage.py migrate --fake {} {}", k.app,
                           k.name);
      };
      // --noinput: the merge is the answer to the question makemigrations
      // would ask, and the step runs where nobody can answer.
      c.merge = "python manage.py makemigrations --merge --noinput {app}";
      c.redeclare =
          Redeclare("python manage.py schema_guard_graph --output graph.json");
      break;
    case Framework::kFlyway:
      c.migrate = "flyway migrate";
      c.repair = "flyway repair";
      c.redeclare =
          Redeclare("python3 -m schema_guard_flyway --output graph.json");
      break;
    case Framework::kAlembic:
      c.migrate = "alembic upgrade head";
      c.fake = [](const MigrationKey& k) {
        return fmt::format("alembic stamp {}", k.name);
      };
      c.merge = "alembic merge heads";
      c.redeclare =
          Redeclare("python3 -m schema_guard_alembic --output graph.json");
      break;
    case Framework::kRails:
      c.migrate = "bin/rails db:migrate";
      c.fake = [table](const MigrationKey& k) {
        return fmt::format("INSERT INTO {} (version) VALUES ({});",
                           table.empty() ? "schema_migrations" : table,
                           QuoteLiteral(k.name));
      };
      c.redeclare = Redeclare("bin/rails schema_guard:graph OUTPUT=graph.json");
      break;
    case Framework::kLiquibase:
      c.migrate = "liquibase update";
      c.repair = "liquibase clear-checksums";
      break;
  }
  return c;
}

// ---------------------------------------------------------------------------
// The shared context.

CheckContext::CheckContext(Framework framework, const MigrationGraph* graph,
                           History history, const LiveObjects& live,
                           std::optional<std::string_view> plan_app)
    : fw_(framework), graph_(graph), live_(live), plan_app_(plan_app) {
  result_.framework = framework;
  result_.graph_declared = graph != nullptr;
  result_.history = std::move(history);
  commands_ = CommandsFor(framework, result_.history.table);
  if (graph_ != nullptr) {
    const std::string* last = nullptr;  // an app's migrations are together
    for (const auto& m : graph_->migrations) {
      if (last == nullptr || *last != m.key.app) apps_.insert(m.key.app);
      last = &m.key.app;
    }
  }
}

Finding& CheckContext::Add(Severity severity, std::string kind, std::string app,
                           std::string object, std::string message) {
  Finding f;
  f.severity = severity;
  f.kind = std::move(kind);
  f.app = std::move(app);
  f.object = std::move(object);
  f.message = std::move(message);
  result_.findings.push_back(std::move(f));
  return result_.findings.back();
}

// Rows of declared migrations are indexed by migration, the others by key.
void CheckContext::IndexHistory() {
  auto& rows = result_.history.rows;
  // Flyway's repair marks a version whose file is gone as deleted: its
  // earlier rows record nothing any more (Flyway reads it so).
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (rows[r].state != HistoryState::kDeleted) continue;
    for (std::size_t e = 0; e < r; ++e) {
      if (rows[e].key == rows[r].key) rows[e].state = HistoryState::kIgnored;
    }
    rows[r].state = HistoryState::kIgnored;
  }
  if (graph_ != nullptr) row_for_node_.assign(G().migrations.size(), kNoRow);
  row_node_.assign(rows.size(), kNoRow);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (rows[r].state == HistoryState::kIgnored) continue;
    if (rows[r].state == HistoryState::kBaseline) {
      if (!baseline_ ||
          VersionLess(rows[*baseline_].key.name, rows[r].key.name)) {
        baseline_ = r;
      }
      continue;
    }
    std::size_t* slot = nullptr;
    std::optional<std::size_t> node;
    if (graph_ != nullptr) node = GraphNode(rows[r]);
    if (node) {
      row_node_[r] = *node;
      slot = &row_for_node_[*node];
    } else {
      slot =
          &row_of_.emplace(MigrationKeyText(rows[r].key, &key_buffer_), kNoRow)
               .first->second;
    }
    if (*slot == kNoRow) {
      *slot = r;
      continue;
    }
    const AppliedMigration& earlier = rows[*slot];
    bool earlier_ok = earlier.state != HistoryState::kFailed;
    bool this_ok = rows[r].state != HistoryState::kFailed;
    if (earlier_ok && this_ok) {
      if (fw_ == Framework::kFlyway || fw_ == Framework::kRails) {
        Finding& f = Add(
            Severity::kError, "duplicate_version", rows[r].key.app,
            Obj(rows[r].key),
            fmt::format("version {} is recorded twice in {} (at ranks {} "
                        "and {})",
                        rows[r].key.name, Table(), earlier.rank, rows[r].rank));
        f.actual = "2 rows";
      }
    } else if (!earlier_ok && this_ok) {
      *slot = r;  // a later successful run supersedes the failure
    }
  }
}

std::optional<std::size_t> CheckContext::GraphNode(
    const AppliedMigration& row) const {
  if (row.graph_node == MigrationGraph::kNotDeclared) return std::nullopt;
  if (!row.graph_node || *row.graph_node >= G().migrations.size())
    return NodeOf(row.key);
  return *row.graph_node;
}

std::optional<std::size_t> CheckContext::RowOfNode(std::size_t i) const {
  if (row_for_node_[i] == kNoRow) return std::nullopt;
  return row_for_node_[i];
}

std::optional<std::size_t> CheckContext::RowOf(const MigrationKey& key) const {
  if (graph_ != nullptr) {
    if (auto node = NodeOf(key)) return RowOfNode(*node);
  }
  auto it = row_of_.find(MigrationKeyText(key, &key_buffer_));
  if (it == row_of_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::size_t> CheckContext::NodeOf(const MigrationKey& key) const {
  return G().NodeOf(key);
}

std::optional<std::size_t> CheckContext::SquashOf(
    const MigrationKey& key) const {
  return G().SquashOf(key);
}

bool CheckContext::AllPresent(const DeclaredMigration& m) const {
  for (const auto& t : m.creates_tables) {
    if (live_.tables.count(t) == 0) return false;
  }
  for (const auto& c : m.creates_columns) {
    if (live_.columns.count(c) == 0) return false;
  }
  return true;
}

bool CheckContext::NonePresent(const DeclaredMigration& m) const {
  for (const auto& t : m.creates_tables) {
    if (live_.tables.count(t) != 0) return false;
  }
  for (const auto& c : m.creates_columns) {
    if (live_.columns.count(c) != 0) return false;
  }
  return true;
}

std::vector<std::string> CheckContext::Missing(
    const DeclaredMigration& m, std::vector<std::string>* present) const {
  std::vector<std::string> missing;
  for (const auto& t : m.creates_tables) {
    (live_.tables.count(t) != 0 ? present : &missing)->push_back(t);
  }
  for (const auto& c : m.creates_columns) {
    std::string name = c.first + "." + c.second;
    (live_.columns.count(c) != 0 ? present : &missing)->push_back(name);
  }
  return missing;
}

ReconcileRow& CheckContext::Reconcile(std::size_t i) {
  ReconcileRow row;
  row.key = M(i).key;
  row.missing = Missing(M(i), &row.present);
  if (row.missing.empty()) {
    row.status = ReconcileStatus::kSafeToFake;
  } else if (!row.present.empty()) {
    row.status = ReconcileStatus::kPartlyPresent;
  }
  result_.reconcile.push_back(std::move(row));
  return result_.reconcile.back();
}

// Applied before a dependency: compared row with row, along the declared
// dependencies (a squash recorded after what it replaces has no time of its
// own that matters).
void CheckContext::CheckOrder(
    std::size_t i, bool by_replacement,
    const std::set<std::size_t>& by_replacement_nodes) {
  if (by_replacement) return;
  auto own = RowOfNode(i);
  if (!own || Row(*own).applied_at.empty()) return;
  const std::string& at = Row(*own).applied_at;
  const std::vector<std::size_t>& declared = G().dependency_index[i];
  for (std::size_t k = 0; k < M(i).dependencies.size(); ++k) {
    const MigrationKey& d = M(i).dependencies[k];
    std::optional<std::size_t> j;
    if (declared[k] != MigrationGraph::kNotDeclared) j = declared[k];
    if (j && by_replacement_nodes.count(*j) != 0) continue;
    auto r = j ? RowOfNode(*j) : RowOf(d);
    if (!r || Row(*r).state == HistoryState::kFailed ||
        Row(*r).applied_at.empty() || !(at < Row(*r).applied_at)) {
      continue;
    }
    Finding& f =
        Add(Severity::kWarning, "applied_out_of_order", M(i).key.app, Obj(i),
            fmt::format("{} was applied at {}, before its dependency {} "
                        "(applied at {})",
                        Obj(i), at, Obj(d), Row(*r).applied_at));
    f.expected = fmt::format("after {}", Row(*r).applied_at);
    f.actual = at;
  }
}

void CheckContext::CheckRecorded(std::size_t i, bool by_replacement) {
  const DeclaredMigration& m = M(i);
  auto r = RowOfNode(i);
  bool marked = r && Row(*r).state == HistoryState::kMarkedRan;
  if (m.DeclaresSchemaChanges()) {
    if (!AllPresent(m)) {
      std::vector<std::string> present;
      std::vector<std::string> missing = Missing(m, &present);
      Finding& f =
          Add(Severity::kError, "faked_migration", m.key.app, Obj(i),
              fmt::format("{} is {}, but {} {} not exist", Obj(i),
                          marked ? "marked as ran (MARK_RAN) without running"
                                 : "recorded as applied",
                          fmt::join(missing, ", "),
                          missing.size() == 1 ? "does" : "do"));
      f.expected = fmt::format("{}", fmt::join(missing, ", "));
      f.actual = fmt::format("{}", fmt::join(present, ", "));
    } else if (!marked && r && !by_replacement &&
               Row(*r).audit_saw_ddl.has_value() && !*Row(*r).audit_saw_ddl) {
      Add(Severity::kInfo, "faked_migration", m.key.app, Obj(i),
          fmt::format("{} was recorded without running any DDL (the audit "
                      "saw its history row written with none); everything "
                      "it declares exists",
                      Obj(i)));
    }
  }
  if (r && m.checksum && Row(*r).checksum && *m.checksum != *Row(*r).checksum) {
    Finding& f =
        Add(Severity::kError, "checksum_mismatch", m.key.app, Obj(i),
            fmt::format("{} was applied with checksum {}, and its file now has "
                        "{}: it changed after it was applied",
                        Obj(i), *Row(*r).checksum, *m.checksum));
    f.expected = *m.checksum;
    f.actual = *Row(*r).checksum;
    f.fix = commands_.repair;
  }
}

void CheckContext::CheckGhosts() {
  const auto& rows = result_.history.rows;
  struct UnknownApp {
    std::size_t rows = 0;
    long long ddl = 0;
  };
  std::map<std::string, UnknownApp> unknown_apps;
  // Flyway and Rails run by version: an undeclared version below the
  // latest declared one is a file that went, not a newer graph.
  std::optional<std::string_view> latest_declared;
  if (fw_ == Framework::kFlyway || fw_ == Framework::kRails) {
    for (const auto& m : G().migrations) {
      if (!latest_declared || VersionLess(*latest_declared, m.key.name))
        latest_declared = m.key.name;
    }
  }
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const AppliedMigration& row = rows[r];
    if (row.state == HistoryState::kFailed ||
        row.state == HistoryState::kIgnored ||
        row.state == HistoryState::kBaseline)
      continue;
    if (row_node_[r] != kNoRow || SquashOf(row.key)) continue;
    long long ddl = row.audit_ddl_events.value_or(0);
    if (fw_ == Framework::kDjango && apps_.count(row.key.app) == 0) {
      UnknownApp& app = unknown_apps[row.key.app];
      ++app.rows;
      app.ddl += ddl;
      continue;
    }
    bool file_went =
        latest_declared && VersionLess(row.key.name, *latest_declared);
    if (ddl > 0 && !file_went) {
      // The audit saw this migration make schema changes: it exists, in
      // code newer than the declared graph.
      Finding& f = Add(
          Severity::kWarning, "stale_graph", row.key.app, Obj(row.key),
          fmt::format("{} is recorded in {} and the audit credited {} DDL "
                      "event{} to it, but the declared graph does not list "
                      "it: the graph is older than the database; declare it "
                      "again",
                      Obj(row.key), Table(), ddl, ddl == 1 ? "" : "s"));
      f.expected = "declared";
      f.actual = "applied, with DDL";
      f.fix = commands_.redeclare;
      continue;
    }
    bool fatal = fw_ == Framework::kAlembic || fw_ == Framework::kFlyway;
    Finding& f =
        Add(fatal ? Severity::kError : Severity::kWarning, "ghost_migration",
            row.key.app, Obj(row.key),
            fmt::format("{} is recorded as applied in {}, but not declared{}",
                        Obj(row.key), Table(),
                        fw_ == Framework::kDjango ? " (Django ignores the row)"
                        : fw_ == Framework::kAlembic
                            ? " (alembic cannot locate the revision)"
                            : ""));
    f.expected = "declared";
    f.actual = "applied";
    f.fix = GhostFix(row.key, false);
  }
  for (const auto& [app, info] : unknown_apps) {
    if (info.ddl > 0) {
      Finding& f =
          Add(Severity::kWarning, "stale_graph", app, app,
              fmt::format("app \"{}\" has {} applied migration{} in {} and the "
                          "audit credited {} DDL event{} to them, but the "
                          "declared graph has no such app: the graph is older "
                          "than the database; declare it again",
                          app, info.rows, info.rows == 1 ? "" : "s", Table(),
                          info.ddl, info.ddl == 1 ? "" : "s"));
      f.actual = fmt::format("{} applied", info.rows);
      f.fix = commands_.redeclare;
      continue;
    }
    Finding& f =
        Add(Severity::kWarning, "ghost_migration", app, app,
            fmt::format("app \"{}\" has {} applied migration{} in {} and none "
                        "declared: the app was removed, or its graph was not "
                        "exported",
                        app, info.rows, info.rows == 1 ? "" : "s", Table()));
    f.actual = fmt::format("{} applied", info.rows);
    f.fix = GhostFix({app, {}}, true);
  }
}

std::string CheckContext::GhostFix(const MigrationKey& key,
                                   bool whole_app) const {
  if (Table().empty()) return {};
  switch (fw_) {
    case Framework::kDjango:
      if (whole_app) {
        return fmt::format("DELETE FROM {} WHERE app = {};", Table(),
                           QuoteLiteral(key.app));
      }
      return fmt::format("DELETE FROM {} WHERE app = {} AND name = {};",
                         Table(), QuoteLiteral(key.app),
                         QuoteLiteral(key.name));
    case Framework::kRails:
      return fmt::format("DELETE FROM {} WHERE version = {};", Table(),
                         QuoteLiteral(key.name));
    case Framework::kFlyway:
      return commands_.repair;  // marks the version deleted
    default:
      return {};
  }
}

void CheckContext::CheckHistoryRows() {
  std::vector<std::size_t> kept;
  for (std::size_t r : row_for_node_) {
    if (r != kNoRow) kept.push_back(r);
  }
  for (const auto& entry : row_of_) kept.push_back(entry.second);
  std::sort(kept.begin(), kept.end());
  for (std::size_t r : kept) {
    const AppliedMigration& row = Row(r);
    if (row.state != HistoryState::kFailed) continue;
    Finding& f =
        Add(Severity::kError, "failed_migration", row.key.app, Obj(row.key),
            fmt::format("{} failed{}; fix the migration, then {}", Obj(row.key),
                        fw_ == Framework::kFlyway ? " (success = false)"
                                                  : " (exectype FAILED)",
                        fw_ == Framework::kFlyway
                            ? "run flyway repair to remove the failed row"
                            : "run it again"));
    f.expected = "success";
    f.actual = "failed";
    if (fw_ == Framework::kFlyway) f.fix = commands_.repair;
  }
}

void CheckContext::Summarize(const std::vector<bool>& declared,
                             const std::vector<bool>& applied) {
  std::map<std::string, AppSummary> apps;
  if (graph_ != nullptr) {
    AppSummary* last = nullptr;  // an app's migrations are together
    for (std::size_t i = 0; i < G().migrations.size(); ++i) {
      if (!declared[i]) continue;
      if (last == nullptr || last->app != M(i).key.app) {
        last = &apps[M(i).key.app];
        last->app = M(i).key.app;
      }
      AppSummary& s = *last;
      ++s.declared;
      ++(applied[i] ? s.applied : s.pending);
    }
  } else {
    for (std::size_t r = 0; r < result_.history.rows.size(); ++r) {
      const AppliedMigration& row = Row(r);
      if (row.state == HistoryState::kApplied ||
          row.state == HistoryState::kMarkedRan)
        ++apps[row.key.app].applied;
    }
  }
  for (const auto& f : result_.findings) {
    AppSummary& s = apps[f.app];
    if (f.kind != "pending_migration" && f.severity != Severity::kInfo)
      ++s.problems;
  }
  for (auto& [app, s] : apps) {
    s.app = app;
    result_.apps.push_back(s);
  }
}

MigrationCheck CheckContext::Finish() {
  // By app, then severity; stable. Sorted as indexes: findings are big.
  std::vector<std::size_t> order(result_.findings.size());
  for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
  const auto& findings = result_.findings;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) {
                     const Finding& x = findings[a];
                     const Finding& y = findings[b];
                     if (x.app != y.app) return x.app < y.app;
                     return SeverityRank(x.severity) < SeverityRank(y.severity);
                   });
  std::vector<Finding> sorted;
  sorted.reserve(order.size());
  for (std::size_t k : order) sorted.push_back(std::move(result_.findings[k]));
  result_.findings = std::move(sorted);
  return std::move(result_);
}

MigrationCheck CheckMigrations(Framework framework, const MigrationGraph* graph,
                               History history, const LiveObjects& live,
                               std::optional<std::string_view> plan_app) {
  CheckContext context(framework, graph, std::move(history), live, plan_app);
  context.IndexHistory();
  if (graph == nullptr) {
    context.CheckHistoryRows();
    context.Summarize({}, {});
  } else if (framework == Framework::kDjango) {
    RunDjangoChecks(&context);
  } else if (framework == Framework::kAlembic) {
    RunAlembicChecks(&context);
  } else {
    RunGenericChecks(&context);
  }
  return context.Finish();
}

}  // namespace schema_guard::core
