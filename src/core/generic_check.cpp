// The migration check of Flyway, Rails and Liquibase: the declared graph
// with squashes resolved, what the history records as applied (Flyway: up
// to a baseline), the apply plan in dependency order, and the findings.
// (Alembic has its own, core/alembic_check.cpp.)
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "core/migration_check_internal.hpp"

namespace schema_guard::core {
namespace {

class GenericChecker {
 public:
  explicit GenericChecker(CheckContext* context)
      : c_(*context),
        fw_(context->fw()),
        commands_(context->commands()),
        result_(context->result()),
        baseline_(context->baseline()) {}

  void Run() {
    CheckDeclaredGraph();
    ResolveApplied();
    ResolveSquashes();
    BuildEffectiveGraph();
    CheckCycles();
    CheckApplied();
    PlanPending();
    c_.CheckGhosts();
    c_.CheckHistoryRows();
    if (c_.plan_app()) KeepPlanFor(*c_.plan_app());
    c_.Summarize(in_effective_, applied_);
  }

 private:
  const MigrationGraph& G() const { return c_.G(); }
  const DeclaredMigration& M(std::size_t i) const { return c_.M(i); }
  std::string Obj(const MigrationKey& key) const { return c_.Obj(key); }
  std::string Obj(std::size_t i) const { return c_.Obj(i); }
  Finding& Add(Severity severity, std::string kind, std::string app,
               std::string object, std::string message) {
    return c_.Add(severity, std::move(kind), std::move(app), std::move(object),
                  std::move(message));
  }
  std::optional<std::size_t> RowOfNode(std::size_t i) const {
    return c_.RowOfNode(i);
  }
  std::optional<std::size_t> RowOf(const MigrationKey& key) const {
    return c_.RowOf(key);
  }
  const AppliedMigration& Row(std::size_t r) const { return c_.Row(r); }
  bool RowApplied(std::optional<std::size_t> r) const {
    return c_.RowApplied(r);
  }
  std::optional<std::size_t> NodeOf(const MigrationKey& key) const {
    return c_.NodeOf(key);
  }
  std::optional<std::size_t> SquashOf(const MigrationKey& key) const {
    return c_.SquashOf(key);
  }
  const std::string& Table() const { return c_.Table(); }
  std::vector<std::string> Missing(const DeclaredMigration& m,
                                   std::vector<std::string>* present) const {
    return c_.Missing(m, present);
  }

  // The plan's tie-break among ready migrations: app, then name (Flyway
  // and Rails: version order, as they run them).
  bool KeyLess(std::size_t a, std::size_t b) const {
    if (M(a).key.app != M(b).key.app) return M(a).key.app < M(b).key.app;
    if (fw_ == Framework::kFlyway || fw_ == Framework::kRails)
      return VersionLess(M(a).key.name, M(b).key.name);
    return M(a).key.name < M(b).key.name;
  }

  void CheckDeclaredGraph() {
    for (const auto& [later, earlier] : G().duplicate_versions) {
      ReportDuplicateVersion(later, earlier);
    }
    for (std::size_t i = 0; i < G().migrations.size(); ++i) {
      for (std::size_t k = 0; k < M(i).dependencies.size(); ++k) {
        const MigrationKey& d = M(i).dependencies[k];
        if (G().dependency_index[i][k] != MigrationGraph::kNotDeclared ||
            SquashOf(d))
          continue;
        Finding& f =
            Add(Severity::kError, "unknown_dependency", M(i).key.app, Obj(i),
                fmt::format("{} depends on {}, which is not declared", Obj(i),
                            Obj(d)));
        f.expected = Obj(d);
      }
    }
  }

  // Two files with one version: Rails (DuplicateMigrationVersionError) and
  // Flyway ("Found more than one migration with version") refuse to
  // migrate. Rails' fix renames the later file to the next free version.
  void ReportDuplicateVersion(std::size_t later, std::size_t earlier) {
    auto name = [&](std::size_t i) {
      return M(i).file.empty() ? fmt::format("migrations[{}]", i) : M(i).file;
    };
    Finding& f = Add(
        Severity::kError, "duplicate_version", M(later).key.app, Obj(later),
        fmt::format("version {} is declared twice ({} and {}); {} refuses to "
                    "migrate until one is renamed",
                    M(later).key.name, name(earlier), name(later),
                    fw_ == Framework::kRails ? "Rails" : "Flyway"));
    f.expected = "1 migration";
    f.actual = fmt::format("{}, {}", name(earlier), name(later));
    if (fw_ != Framework::kRails || M(later).file.empty()) return;
    const std::string& file = M(later).file;
    std::size_t base = file.find_last_of('/') + 1;  // npos + 1 == 0
    std::size_t digits = base;
    while (digits < file.size() && file[digits] >= '0' && file[digits] <= '9')
      ++digits;
    if (digits == base) return;
    unsigned long long next = 0;
    for (const auto& m : G().migrations) {
      if (m.key.name.empty() || m.key.name.size() > 18 ||
          m.key.name.find_first_not_of("0123456789") != std::string::npos)
        continue;
      next = std::max(next, std::stoull(m.key.name));
    }
    f.fix = fmt::format("mv {} {}{}{}", file, file.substr(0, base), next + 1,
                        file.substr(digits));
  }

  // Which declared migrations the history records as applied.
  void ResolveApplied() {
    const std::size_t n = G().migrations.size();
    row_applied_.assign(n, false);
    for (std::size_t i = 0; i < n; ++i) {
      row_applied_[i] = RowApplied(RowOfNode(i));
      if (!row_applied_[i] && baseline_ &&
          !VersionLess(Row(*baseline_).key.name, M(i).key.name)) {
        row_applied_[i] = true;  // at or below Flyway's baseline
      }
    }
  }

  bool KeyApplied(const MigrationKey& key) const {
    if (auto i = NodeOf(key)) return row_applied_[*i];
    return RowApplied(RowOf(key));
  }

  void ResolveSquashes() {
    const std::size_t n = G().migrations.size();
    in_effective_.assign(n, true);
    applied_.assign(row_applied_.begin(), row_applied_.end());
    squash_removed_.assign(n, false);
    replaced_in_use_.assign(n, std::nullopt);
    // A version declared twice counts once (reported as duplicate_version).
    for (const auto& dup : G().duplicate_versions)
      in_effective_[dup.first] = false;
    for (std::size_t s = 0; s < n; ++s) {
      const auto& replaces = M(s).replaces;
      if (replaces.empty()) continue;
      std::vector<std::string> done, not_done, gone;
      for (const auto& r : replaces) {
        if (KeyApplied(r)) {
          done.push_back(Obj(r));
        } else {
          not_done.push_back(Obj(r));
          if (!NodeOf(r)) gone.push_back(Obj(r));
        }
      }
      bool own_row = RowApplied(RowOfNode(s));
      switch (ClassifySquash(replaces.size(), done.size())) {
        case SquashUse::kAllApplied: {
          applied_[s] = true;
          // It ran as the migrations it replaces; its own row is written
          // afterwards, without DDL.
          recorded_by_replacement_.insert(s);
          if (!own_row) {
            Finding& f = Add(
                Severity::kInfo, "squash_ready", M(s).key.app, Obj(s),
                fmt::format("all {} migrations {} replaces are applied; its "
                            "own row is not recorded yet, and the files it "
                            "replaces can be removed once it is",
                            replaces.size(), Obj(s)));
            if (fw_ == Framework::kDjango && !Table().empty()) {
              f.fix = fmt::format(
                  "INSERT INTO {} (app, name, applied) VALUES ({}, {}, "
                  "now());",
                  Table(), QuoteLiteral(M(s).key.app),
                  QuoteLiteral(M(s).key.name));
            }
          }
          SetReplacedInUse(s);
          break;
        }
        case SquashUse::kNoneApplied:
          applied_[s] = false;
          if (own_row) {
            Finding& f = Add(
                Severity::kError, "squash_partially_applied", M(s).key.app,
                Obj(s),
                fmt::format("{} is recorded as applied, but none of the {} "
                            "migrations it replaces are; Django counts it as "
                            "not applied and will run it again",
                            Obj(s), replaces.size()));
            f.expected = fmt::format("{}", fmt::join(not_done, ", "));
          }
          SetReplacedInUse(s);
          break;
        case SquashUse::kPartlyApplied: {
          in_effective_[s] = false;
          squash_removed_[s] = true;
          applied_[s] = false;
          Finding& f =
              Add(gone.empty() ? Severity::kWarning : Severity::kError,
                  "squash_partially_applied", M(s).key.app, Obj(s),
                  gone.empty()
                      ? fmt::format("{} of the {} migrations {} replaces are "
                                    "applied; the squash cannot be used until "
                                    "the rest are, so keep the replaced files",
                                    done.size(), replaces.size(), Obj(s))
                      : fmt::format("{} of the {} migrations {} replaces are "
                                    "applied, and the files of {} are gone; "
                                    "restore them to finish the squash",
                                    done.size(), replaces.size(), Obj(s),
                                    fmt::join(gone, ", ")));
          f.expected = fmt::format("{}", fmt::join(not_done, ", "));
          f.actual = fmt::format("{}", fmt::join(done, ", "));
          if (gone.empty()) f.fix = commands_.migrate;
          break;
        }
      }
    }
  }

  void SetReplacedInUse(std::size_t squash) {
    for (const auto& r : M(squash).replaces) {
      if (auto j = NodeOf(r)) {
        in_effective_[*j] = false;
        replaced_in_use_[*j] = squash;
      }
    }
  }

  // Dependencies of effective nodes, with squashes in place of what they
  // replace, and a removed squash replaced by its migrations.
  void BuildEffectiveGraph() {
    const std::size_t n = G().migrations.size();
    deps_.assign(n, {});
    for (std::size_t i = 0; i < n; ++i) {
      if (!in_effective_[i]) continue;
      auto add = [&](std::size_t j) {
        if (j != i &&
            std::find(deps_[i].begin(), deps_[i].end(), j) == deps_[i].end()) {
          deps_[i].push_back(j);
        }
      };
      auto resolve = [&](const MigrationKey& d, std::size_t declared) {
        std::optional<std::size_t> j;
        if (declared != MigrationGraph::kNotDeclared) j = declared;
        if (!j) {
          if (auto s = SquashOf(d); s && in_effective_[*s]) add(*s);
          return;
        }
        if (in_effective_[*j]) {
          add(*j);
        } else if (replaced_in_use_[*j]) {
          add(*replaced_in_use_[*j]);
        } else if (squash_removed_[*j]) {
          for (const auto& r : M(*j).replaces) {
            if (auto k = NodeOf(r); k && in_effective_[*k]) add(*k);
          }
        }
      };
      for (std::size_t k = 0; k < M(i).dependencies.size(); ++k) {
        resolve(M(i).dependencies[k], G().dependency_index[i][k]);
      }
    }
  }

  void CheckCycles() {
    for (const auto& cycle : DependencyCycles(deps_)) {
      std::vector<std::string> names;
      names.reserve(cycle.size() + 1);
      for (std::size_t node : cycle) names.push_back(Obj(node));
      names.push_back(Obj(cycle.front()));
      Add(Severity::kError, "dependency_cycle", M(cycle.front()).key.app,
          Obj(cycle.front()),
          fmt::format("dependency cycle: {}", fmt::join(names, " -> ")));
    }
  }

  void CheckApplied() {
    const std::size_t n = G().migrations.size();
    for (std::size_t i = 0; i < n; ++i) {
      if (!in_effective_[i] || !applied_[i]) continue;
      for (std::size_t j : deps_[i]) {
        if (!applied_[j]) {
          Finding& f = Add(
              Severity::kError, "inconsistent_history", M(i).key.app, Obj(i),
              fmt::format("{} is applied, but its dependency {} is not", Obj(i),
                          Obj(j)));
          f.expected = Obj(j);
          std::vector<std::string> present;
          if (M(j).DeclaresSchemaChanges() && commands_.fake &&
              Missing(M(j), &present).empty()) {
            f.fix = commands_.fake(M(j).key);
          }
        }
      }
      bool by_replacement = recorded_by_replacement_.count(i) != 0;
      c_.CheckOrder(i, by_replacement, recorded_by_replacement_);
      c_.CheckRecorded(i, by_replacement);
    }
  }

  void PlanPending() {
    const std::size_t n = G().migrations.size();
    std::vector<bool> pending(n, false);
    std::size_t pending_count = 0;
    for (std::size_t i = 0; i < n; ++i) {
      pending[i] = in_effective_[i] && !applied_[i];
      pending_count += pending[i] ? 1 : 0;
    }
    // Order keys for the pending migrations only: usually few of many.
    std::vector<std::size_t> by_key;
    for (std::size_t i = 0; i < n; ++i) {
      if (pending[i]) by_key.push_back(i);
    }
    std::sort(by_key.begin(), by_key.end(),
              [&](std::size_t a, std::size_t b) { return KeyLess(a, b); });
    std::vector<std::size_t> order_key(n, 0);
    for (std::size_t k = 0; k < by_key.size(); ++k) order_key[by_key[k]] = k;
    std::vector<std::size_t> order = ApplyOrder(deps_, pending, order_key);
    std::vector<std::size_t> step(n, 0);
    for (std::size_t k = 0; k < order.size(); ++k) step[order[k]] = k + 1;
    for (std::size_t node : order) {
      PlanStep s;
      s.key = M(node).key;
      for (std::size_t d : deps_[node]) {
        if (pending[d]) s.pending_dependencies.push_back(step[d] - 1);
      }
      result_.plan.push_back(std::move(s));
    }
    // Flyway: the latest applied version.
    std::optional<std::size_t> latest;
    for (std::size_t i = 0; fw_ == Framework::kFlyway && i < n; ++i) {
      if (in_effective_[i] && applied_[i] && RowApplied(RowOfNode(i)) &&
          (!latest || VersionLess(M(*latest).key.name, M(i).key.name)))
        latest = i;
    }
    std::string where =
        result_.history.present
            ? std::string()
            : fmt::format(" (the history table {} does not exist)",
                          G().history_table.empty()
                              ? std::string(HistoryTableName(fw_))
                              : G().history_table);
    for (std::size_t i = 0; i < n; ++i) {
      if (!pending[i]) continue;
      const DeclaredMigration& m = M(i);
      std::string place =
          step[i] != 0 ? fmt::format("step {} of {} in the apply plan", step[i],
                                     pending_count)
                       : std::string(
                             "cannot be planned: it waits on a dependency "
                             "cycle");
      std::string message =
          fmt::format("{} is not applied{}; {}", Obj(i), where, place);
      std::string fix = commands_.migrate;
      if (m.DeclaresSchemaChanges()) {
        ReconcileRow row;
        row.key = m.key;
        row.missing = Missing(m, &row.present);
        if (row.missing.empty()) {
          row.status = ReconcileStatus::kSafeToFake;
          message += "; everything it creates exists already";
          if (commands_.fake) {
            fix = commands_.fake(m.key);
            message += ", so it is safe to fake";
          }
        } else if (!row.present.empty()) {
          row.status = ReconcileStatus::kPartlyPresent;
          message += fmt::format(
              "; part of what it creates exists already ({}), part does not "
              "({}): look before applying it",
              fmt::join(row.present, ", "), fmt::join(row.missing, ", "));
          fix.clear();
        }
        result_.reconcile.push_back(std::move(row));
      }
      Severity severity = Severity::kWarning;
      if (latest && VersionLess(m.key.name, M(*latest).key.name)) {
        // Flyway's outOfOrder is off by default: a version below the
        // latest applied one is "ignored", and validate (run by migrate)
        // fails on it.
        severity = Severity::kError;
        message += fmt::format(
            "; it is older than the latest applied version {}, so Flyway "
            "ignores it and `flyway validate` (and so `migrate`) fails with "
            "\"Detected resolved migration not applied to database\"",
            M(*latest).key.name);
        if (!fix.empty()) fix = "flyway migrate -outOfOrder=true";
      }
      Finding& f = Add(severity, "pending_migration", m.key.app, Obj(i),
                       std::move(message));
      f.expected = "applied";
      f.actual = "not applied";
      f.fix = std::move(fix);
    }
  }

  // The plan steps that bring one app up to date: its own pending
  // migrations and the pending migrations they depend on, in plan order.
  void KeepPlanFor(std::string_view app) {
    auto& plan = result_.plan;
    std::vector<bool> needed(plan.size(), false);
    for (std::size_t k = plan.size(); k-- > 0;) {
      if (plan[k].key.app == app) needed[k] = true;
      if (!needed[k]) continue;
      for (std::size_t d : plan[k].pending_dependencies) needed[d] = true;
    }
    std::vector<std::size_t> new_index(plan.size(), 0);
    std::vector<PlanStep> kept;
    for (std::size_t k = 0; k < plan.size(); ++k) {
      if (!needed[k]) continue;
      new_index[k] = kept.size();
      kept.push_back(std::move(plan[k]));
      for (auto& d : kept.back().pending_dependencies) d = new_index[d];
    }
    plan = std::move(kept);
  }

  CheckContext& c_;
  Framework fw_;
  const Commands& commands_;
  MigrationCheck& result_;
  std::optional<std::size_t> baseline_;
  std::set<std::size_t> recorded_by_replacement_;  // squashes applied as such
  std::vector<bool> row_applied_, applied_, in_effective_, squash_removed_;
  std::vector<std::optional<std::size_t>> replaced_in_use_;
  Adjacency deps_;
};

}  // namespace

void RunGenericChecks(CheckContext* context) { GenericChecker(context).Run(); }

}  // namespace schema_guard::core
