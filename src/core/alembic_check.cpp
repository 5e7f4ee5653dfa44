// The migration check of Alembic, following Alembic 1.8's own code
// (alembic/script/revision.py, runtime/migration.py):
//
// - RevisionMap._revision_map: a down revision or dependency that names no
//   revision fails every command; so does a cycle (CycleDetected).
// - heads: revisions that are no revision's down_revision. A revision named
//   only by depends_on stays a head, so `alembic upgrade head` refuses.
// - MigrationContext.get_current_heads: the rows of alembic_version; a row
//   naming no revision is "Can't locate revision identified by ...", and
//   then nothing below it is known.
// - what is applied: the heads and their ancestors through down_revision
//   and depends_on (_get_ancestor_nodes, include_dependencies=True).
// - ScriptDirectory._upgrade_revs("heads", current): the rest, in the order
//   RevisionMap._topological_sort yields them, reversed.
#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <utility>

#include "core/migration_check_internal.hpp"

namespace schema_guard::core {
namespace {

class AlembicChecker {
 public:
  explicit AlembicChecker(CheckContext* context)
      : c_(*context),
        result_(context->result()),
        n_(context->G().migrations.size()) {}

  void Run() {
    BuildEdges();
    bool loads = CheckRevisionMap();
    FindHeads();
    std::vector<std::string> unknown = UnknownRows();
    c_.CheckGhosts();
    applied_.assign(n_, false);
    if (loads && unknown.empty()) {
      ResolveApplied();
      for (std::size_t i = 0; i < n_; ++i) {
        if (applied_[i]) c_.CheckRecorded(i, false);
      }
      PlanPending();
    } else if (loads) {
      ExplainUnknownHeads(unknown);
    }
    c_.CheckHistoryRows();
    std::vector<bool> counted(n_, loads && unknown.empty());
    c_.Summarize(counted, applied_);
  }

 private:
  const DeclaredMigration& M(std::size_t i) const { return c_.M(i); }
  std::string Obj(std::size_t i) const { return c_.Obj(i); }

  // down_[i]: revision i's down revisions; all_down_[i]: those and its
  // dependencies (_all_down_revisions); normalized_down_[i]: its down
  // revisions and the dependencies no down_revision ancestor already has
  // (_normalized_down_revisions).
  void BuildEdges() {
    down_.assign(n_, {});
    all_down_.assign(n_, {});
    deps_.assign(n_, {});
    for (std::size_t i = 0; i < n_; ++i) {
      for (std::size_t j : c_.G().dependency_index[i]) {
        if (j == MigrationGraph::kNotDeclared) continue;
        AddOnce(&down_[i], j);
        AddOnce(&all_down_[i], j);
      }
      for (std::size_t j : c_.G().depends_on_index[i]) {
        if (j == MigrationGraph::kNotDeclared) continue;
        AddOnce(&deps_[i], j);
        AddOnce(&all_down_[i], j);
      }
    }
    normalized_down_.assign(n_, {});
    for (std::size_t i = 0; i < n_; ++i) {
      normalized_down_[i] = down_[i];
      if (deps_[i].empty()) continue;
      std::set<std::size_t> inherited;
      for (std::size_t a : Ancestors({i}, down_)) {
        if (a != i) inherited.insert(deps_[a].begin(), deps_[a].end());
      }
      for (std::size_t d : deps_[i]) {
        if (inherited.count(d) == 0) AddOnce(&normalized_down_[i], d);
      }
    }
  }

  static void AddOnce(std::vector<std::size_t>* list, std::size_t node) {
    if (std::find(list->begin(), list->end(), node) == list->end())
      list->push_back(node);
  }

  // The nodes and everything below them along `edges`.
  std::vector<std::size_t> Ancestors(const std::vector<std::size_t>& from,
                                     const Adjacency& edges) const {
    std::vector<bool> seen(n_, false);
    std::vector<std::size_t> stack(from.begin(), from.end()), out;
    while (!stack.empty()) {
      std::size_t node = stack.back();
      stack.pop_back();
      if (seen[node]) continue;
      seen[node] = true;
      out.push_back(node);
      for (std::size_t j : edges[node]) stack.push_back(j);
    }
    return out;
  }

  // What makes Alembic refuse to build its revision map.
  bool CheckRevisionMap() {
    bool loads = true;
    for (std::size_t i = 0; i < n_; ++i) {
      const auto& kinds = {
          std::make_pair(&M(i).dependencies, &c_.G().dependency_index[i]),
          std::make_pair(&M(i).depends_on, &c_.G().depends_on_index[i])};
      for (const auto& [keys, index] : kinds) {
        for (std::size_t k = 0; k < keys->size(); ++k) {
          if ((*index)[k] != MigrationGraph::kNotDeclared) continue;
          loads = false;
          const MigrationKey& d = (*keys)[k];
          Finding& f = c_.Add(
              Severity::kError, "unknown_dependency", M(i).key.app, Obj(i),
              fmt::format("{} {} {}, which is not declared (Alembic: "
                          "\"Revision {} referenced from {} is not present\")",
                          Obj(i),
                          keys == &M(i).dependencies ? "has the down revision"
                                                     : "depends on",
                          c_.Obj(d), d.name, M(i).key.name));
          f.expected = c_.Obj(d);
        }
      }
    }
    for (const auto& cycle : DependencyCycles(all_down_)) {
      loads = false;
      std::vector<std::string> names;
      names.reserve(cycle.size() + 1);
      for (std::size_t node : cycle) names.push_back(Obj(node));
      names.push_back(Obj(cycle.front()));
      c_.Add(Severity::kError, "dependency_cycle", M(cycle.front()).key.app,
             Obj(cycle.front()),
             fmt::format("dependency cycle: {}", fmt::join(names, " -> ")));
    }
    if (!loads) {
      result_.unplannable =
          "Alembic cannot build its revision map from this graph, see the "
          "errors";
    }
    return loads;
  }

  // RevisionMap.heads: no revision has it as its down_revision.
  void FindHeads() {
    std::vector<bool> below(n_, false);
    for (std::size_t i = 0; i < n_; ++i) {
      for (std::size_t j : down_[i]) below[j] = true;
    }
    for (std::size_t i = 0; i < n_; ++i) {
      if (!below[i]) heads_.push_back(i);
    }
    if (heads_.size() < 2) return;
    std::vector<std::string> names;
    for (std::size_t node : heads_) names.push_back(M(node).key.name);
    std::vector<std::string> only_depended;
    for (std::size_t node : heads_) {
      for (std::size_t i = 0; i < n_; ++i) {
        if (std::find(deps_[i].begin(), deps_[i].end(), node) !=
            deps_[i].end()) {
          only_depended.push_back(M(node).key.name);
          break;
        }
      }
    }
    Finding& f = c_.Add(
        Severity::kWarning, "alembic_multiple_heads", M(heads_[0]).key.app,
        "alembic",
        fmt::format("the revision graph has {} heads: {}{}; `alembic upgrade "
                    "head` refuses to run until they are merged (`alembic "
                    "upgrade heads` runs them all)",
                    heads_.size(), fmt::join(names, ", "),
                    only_depended.empty()
                        ? std::string()
                        : fmt::format(" ({} only named by depends_on, which "
                                      "leaves a revision a head)",
                                      fmt::join(only_depended, ", "))));
    f.expected = "1 head";
    f.actual = fmt::format("{}", fmt::join(names, ", "));
    f.fix = c_.commands().merge;
  }

  // Rows of alembic_version that name no declared revision.
  std::vector<std::string> UnknownRows() const {
    std::vector<std::string> unknown;
    for (const auto& row : result_.history.rows) {
      if (row.state == HistoryState::kApplied && !c_.NodeOf(row.key))
        unknown.push_back(row.key.name);
    }
    return unknown;
  }

  void ResolveApplied() {
    std::vector<std::size_t> current;
    for (std::size_t i = 0; i < n_; ++i) {
      if (c_.RowApplied(c_.RowOfNode(i))) current.push_back(i);
    }
    for (std::size_t node : Ancestors(current, all_down_))
      applied_[node] = true;
  }

  // With a head alembic cannot locate, every command that reads the
  // version table fails, and what is applied below the head is unknown:
  // said once, on the ghost, with the stamp that works.
  void ExplainUnknownHeads(const std::vector<std::string>& unknown) {
    result_.unplannable = fmt::format(
        "alembic cannot locate revision {} recorded in {}, so `alembic "
        "current`, `upgrade` and `stamp` fail and what is applied below it "
        "is unknown",
        fmt::join(unknown, ", "), c_.Table());
    std::optional<std::size_t> at = RevisionTheSchemaIsAt();
    for (auto& f : result_.findings) {
      if (f.kind != "ghost_migration") continue;
      if (at) {
        f.message += fmt::format(
            "; the live schema has everything up to {} and nothing the graph "
            "declares after it, so stamp that revision (--purge empties the "
            "table first: alembic cannot update a row it cannot locate)",
            Obj(*at));
        f.fix = fmt::format("alembic stamp --purge {}", M(*at).key.name);
      } else {
        f.message +=
            "; find the revision the schema is at (alembic history) and run "
            "alembic stamp --purge with it: --purge empties the table first, "
            "as alembic cannot update a row it cannot locate";
      }
    }
  }

  // The newest revision whose declared objects all exist while those of
  // every revision above it are all absent; none when `creates` cannot
  // tell.
  std::optional<std::size_t> RevisionTheSchemaIsAt() const {
    std::vector<std::size_t> present;
    for (std::size_t i = 0; i < n_; ++i) {
      if (M(i).DeclaresSchemaChanges() && c_.AllPresent(M(i)))
        present.push_back(i);
    }
    std::optional<std::size_t> top;
    for (std::size_t i : present) {
      std::vector<std::size_t> own = Ancestors({i}, all_down_);
      if (std::all_of(present.begin(), present.end(), [&](std::size_t p) {
            return std::find(own.begin(), own.end(), p) != own.end();
          })) {
        top = i;
      }
    }
    if (!top) return std::nullopt;
    std::vector<bool> under_top(n_, false);
    for (std::size_t node : Ancestors({*top}, all_down_))
      under_top[node] = true;
    for (std::size_t i = 0; i < n_; ++i) {
      if (under_top[i]) {
        if (M(i).DeclaresSchemaChanges() && !c_.AllPresent(M(i)))
          return std::nullopt;
      } else if (!c_.NonePresent(M(i))) {
        return std::nullopt;
      }
    }
    return top;
  }

  // RevisionMap._topological_sort over the pending revisions, starting
  // from the heads among them; the declaration order stands for the
  // revision map's.
  std::vector<std::size_t> UpgradeOrder(const std::vector<bool>& pending) {
    std::vector<std::size_t> current_heads;
    for (std::size_t h : heads_) {
      if (pending[h]) current_heads.push_back(h);
    }
    std::vector<bool> unplaced = pending;  // not yet in the output
    auto ancestors_of = [&](std::size_t node) {
      std::vector<bool> set(n_, false);
      for (std::size_t a : Ancestors({node}, all_down_)) set[a] = true;
      return set;
    };
    std::vector<std::vector<bool>> ancestors_by_idx;
    ancestors_by_idx.reserve(current_heads.size());
    for (std::size_t h : current_heads)
      ancestors_by_idx.push_back(ancestors_of(h));
    std::vector<std::size_t> output;
    std::size_t idx = 0;
    while (!current_heads.empty()) {
      std::size_t candidate = current_heads[idx];
      bool moved = false;
      for (std::size_t k = 0; k < ancestors_by_idx.size(); ++k) {
        if (k != idx && ancestors_by_idx[k][candidate]) {
          idx = k;
          moved = true;
          break;
        }
      }
      if (moved) continue;
      if (unplaced[candidate]) {
        output.push_back(candidate);
        unplaced[candidate] = false;
      }
      std::vector<std::size_t> to_add;
      for (std::size_t r : normalized_down_[candidate]) {
        if (unplaced[r] && std::find(current_heads.begin(), current_heads.end(),
                                     r) == current_heads.end())
          to_add.push_back(r);
      }
      if (to_add.empty()) {
        current_heads.erase(current_heads.begin() + static_cast<long>(idx));
        ancestors_by_idx.erase(ancestors_by_idx.begin() +
                               static_cast<long>(idx));
        idx = idx == 0 ? 0 : idx - 1;
        continue;
      }
      current_heads[idx] = to_add[0];
      ancestors_by_idx[idx] = ancestors_of(to_add[0]);
      for (std::size_t k = 1; k < to_add.size(); ++k) {
        current_heads.push_back(to_add[k]);
        ancestors_by_idx.push_back(ancestors_of(to_add[k]));
      }
    }
    std::reverse(output.begin(), output.end());
    return output;
  }

  void PlanPending() {
    std::vector<bool> pending(n_, false);
    for (std::size_t i = 0; i < n_; ++i) pending[i] = !applied_[i];
    std::vector<std::size_t> order = UpgradeOrder(pending);
    std::vector<std::size_t> step(n_, 0);
    for (std::size_t k = 0; k < order.size(); ++k) step[order[k]] = k + 1;
    for (std::size_t node : order) {
      PlanStep s;
      s.key = M(node).key;
      for (std::size_t d : all_down_[node]) {
        if (pending[d]) s.pending_dependencies.push_back(step[d] - 1);
      }
      result_.plan.push_back(std::move(s));
    }
    std::string upgrade =
        heads_.size() > 1 ? "alembic upgrade heads" : c_.commands().migrate;
    // A revision may be stamped when its objects exist and everything
    // pending below it may be stamped too: stamping it moves the version
    // row past what is below.
    std::vector<bool> stampable(n_, false);
    for (std::size_t node : order) {
      stampable[node] =
          M(node).DeclaresSchemaChanges() && c_.AllPresent(M(node));
      for (std::size_t d : all_down_[node]) {
        if (pending[d] && !stampable[d]) stampable[node] = false;
      }
    }
    for (std::size_t node : order) {
      std::string message = fmt::format(
          "{} is not applied{}; step {} of {} in the apply plan", Obj(node),
          result_.history.present ? ""
                                  : " (the table alembic_version does "
                                    "not exist)",
          step[node], order.size());
      std::string fix = upgrade;
      if (M(node).DeclaresSchemaChanges()) {
        ReconcileRow& row = c_.Reconcile(node);
        if (row.status == ReconcileStatus::kSafeToFake) {
          message += "; everything it creates exists already";
          if (stampable[node]) {
            message += ", so it is safe to stamp";
            fix = c_.commands().fake(M(node).key);
          }
        } else if (row.status == ReconcileStatus::kPartlyPresent) {
          message += fmt::format(
              "; part of what it creates exists already ({}), part does not "
              "({}): look before applying it",
              fmt::join(row.present, ", "), fmt::join(row.missing, ", "));
          fix.clear();
        }
      }
      Finding& f = c_.Add(Severity::kWarning, "pending_migration",
                          M(node).key.app, Obj(node), std::move(message));
      f.expected = "applied";
      f.actual = "not applied";
      f.fix = std::move(fix);
      f.plan_step = step[node];
    }
  }

  CheckContext& c_;
  MigrationCheck& result_;
  std::size_t n_;
  Adjacency down_, deps_, all_down_, normalized_down_;
  std::vector<std::size_t> heads_;
  std::vector<bool> applied_;
};

}  // namespace

void RunAlembicChecks(CheckContext* context) { AlembicChecker(context).Run(); }

}  // namespace schema_guard::core
