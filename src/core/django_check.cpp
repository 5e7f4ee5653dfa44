// The migration check of Django: what Django itself says of the graph and
// the rows (core/django_loader.hpp) as findings, with next steps Django
// accepts: a graph it cannot load is said once and planned not at all, an
// inconsistent history gets the rows to record or remove (checked against
// the catalog), a conflict its merge, and `migrate` is offered only when it
// will run to the end.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "core/django_loader.hpp"
#include "core/migration_check_internal.hpp"

namespace schema_guard::core {
namespace {

class DjangoChecker {
 public:
  explicit DjangoChecker(CheckContext* context)
      : c_(*context),
        commands_(context->commands()),
        result_(context->result()),
        n_(context->G().migrations.size()) {}

  void Run() {
    recorded_.assign(n_, false);
    for (std::size_t i = 0; i < n_; ++i)
      recorded_[i] = c_.RowApplied(c_.RowOfNode(i));
    auto recorded_key = [this](const MigrationKey& key) {
      return c_.RowApplied(c_.RowOf(key));
    };
    dj_ = LoadDjangoGraph(c_.G(), recorded_, recorded_key, c_.plan_app());
    ReportLoadErrors();
    if (dj_.Loads()) {
      ReportInconsistent();
      ReportConflicts();
      ReportPending();
    }
    ReportDuplicateNumbers();
    ReportSquashes();
    CheckRecordedMigrations();
    c_.CheckGhosts();
    c_.CheckHistoryRows();
    std::vector<bool> applied(n_, false);
    for (std::size_t i = 0; i < n_; ++i)
      applied[i] = dj_.applied[i] || recorded_[i];
    c_.Summarize(dj_.in_graph, applied);
  }

 private:
  const DeclaredMigration& M(std::size_t i) const { return c_.M(i); }
  const MigrationKey& KeyOf(std::size_t node) const {
    return node < n_ ? M(node).key : dj_.missing_keys[node - n_];
  }
  std::string Obj(std::size_t node) const { return c_.Obj(KeyOf(node)); }
  const std::string& Table() const { return c_.Table(); }

  std::string Names(const std::vector<std::size_t>& nodes) const {
    std::vector<std::string> names;
    names.reserve(nodes.size());
    for (std::size_t node : nodes) names.push_back(Obj(node));
    return fmt::format("{}", fmt::join(names, ", "));
  }

  // SQL that records these migrations as applied (each once: running it
  // again adds nothing), as `migrate --fake` would if Django let it. They
  // get the time of the latest recorded migration they depend on (else of
  // the first recorded one that depends on them), so none reads as applied
  // out of order.
  std::string RecordRowsSql(const std::vector<std::size_t>& nodes) const {
    std::vector<std::string> values, parents, children;
    auto pair = [&](std::size_t node) {
      return fmt::format("({}, {})", QuoteLiteral(KeyOf(node).app),
                         QuoteLiteral(KeyOf(node).name));
    };
    for (std::size_t node : nodes) {
      values.push_back(pair(node));
      for (std::size_t p : dj_.parents[node]) {
        if (recorded_[p]) parents.push_back(pair(p));
      }
      for (std::size_t c : dj_.children[node]) {
        if (recorded_[c]) children.push_back(pair(c));
      }
    }
    auto latest = [&](const std::vector<std::string>& keys, const char* agg) {
      return keys.empty() ? std::string("NULL")
                          : fmt::format(
                                "(SELECT {}(d.applied) FROM {} d WHERE (d.app, "
                                "d.name) IN ({}))",
                                agg, Table(), fmt::join(keys, ", "));
    };
    return fmt::format(
        "INSERT INTO {0} (app, name, applied) SELECT v.app, v.name, "
        "coalesce({2}, {3}, now()) FROM (VALUES {1}) AS v (app, name) WHERE "
        "NOT EXISTS (SELECT 1 FROM {0} h WHERE h.app = v.app AND h.name = "
        "v.name);",
        Table(), fmt::join(values, ", "), latest(parents, "max"),
        latest(children, "min"));
  }
  // The rows Django writes when it applies a squash: those of what it
  // replaces, at the squash's own time.
  std::string RecordReplacedSql(std::size_t squash) const {
    std::vector<std::string> values;
    for (const auto& k : M(squash).replaces) {
      values.push_back(
          fmt::format("({}, {})", QuoteLiteral(k.app), QuoteLiteral(k.name)));
    }
    return fmt::format(
        "INSERT INTO {0} (app, name, applied) SELECT v.app, v.name, "
        "coalesce((SELECT min(s.applied) FROM {0} s WHERE s.app = {2} AND "
        "s.name = {3}), now()) FROM (VALUES {1}) AS v (app, name) WHERE NOT "
        "EXISTS (SELECT 1 FROM {0} h WHERE h.app = v.app AND h.name = "
        "v.name);",
        Table(), fmt::join(values, ", "), QuoteLiteral(M(squash).key.app),
        QuoteLiteral(M(squash).key.name));
  }
  std::string DeleteRowsSql(const std::vector<std::size_t>& nodes) const {
    std::vector<std::string> values;
    values.reserve(nodes.size());
    for (std::size_t node : nodes) {
      values.push_back(fmt::format("({}, {})", QuoteLiteral(KeyOf(node).app),
                                   QuoteLiteral(KeyOf(node).name)));
    }
    return fmt::format("DELETE FROM {} WHERE (app, name) IN ({});", Table(),
                       fmt::join(values, ", "));
  }

  // NodeNotFoundError and CircularDependencyError: each problem once, no
  // plan, no `migrate`.
  void ReportLoadErrors() {
    std::map<std::size_t, std::vector<std::size_t>> squash_missing;
    for (const auto& [node, origins] : dj_.missing) {
      if (auto squash = c_.SquashOf(KeyOf(node))) {
        squash_missing[*squash].push_back(node);
        continue;
      }
      for (std::size_t origin : origins) {
        bool runs_before =
            std::find(dj_.parents[node].begin(), dj_.parents[node].end(),
                      origin) != dj_.parents[node].end();
        Finding& f = c_.Add(
            Severity::kError, "unknown_dependency", KeyOf(origin).app,
            Obj(origin),
            fmt::format("{} {} {}, which is not declared; Django cannot load "
                        "the graph (NodeNotFoundError)",
                        Obj(origin), runs_before ? "runs before" : "depends on",
                        Obj(node)));
        f.expected = Obj(node);
      }
    }
    for (const auto& [squash, nodes] : squash_missing) {
      ReportUnusableSquash(squash, nodes);
    }
    for (const auto& cycle : dj_.cycles) {
      std::vector<std::size_t> path = cycle;
      path.push_back(cycle.front());
      c_.Add(Severity::kError, "dependency_cycle", KeyOf(cycle.front()).app,
             Obj(cycle.front()),
             fmt::format("dependency cycle: {}; Django cannot load the graph "
                         "(CircularDependencyError): remove one of these "
                         "dependencies",
                         fmt::join(Objs(path), " -> ")));
    }
    if (!dj_.missing.empty()) {
      result_.unplannable =
          "Django cannot load the graph (NodeNotFoundError), see the errors";
    } else if (!dj_.cycles.empty()) {
      result_.unplannable =
          "Django cannot load the graph (CircularDependencyError), see the "
          "errors";
    }
  }

  std::vector<std::string> Objs(const std::vector<std::size_t>& nodes) const {
    std::vector<std::string> out;
    out.reserve(nodes.size());
    for (std::size_t node : nodes) out.push_back(Obj(node));
    return out;
  }

  struct SquashState {
    std::vector<std::string> done, not_done, gone;
  };
  SquashState StateOf(std::size_t squash) const {
    SquashState s;
    for (const auto& r : M(squash).replaces) {
      if (c_.RowApplied(c_.RowOf(r))) {
        s.done.push_back(c_.Obj(r));
      } else {
        s.not_done.push_back(c_.Obj(r));
        if (!c_.NodeOf(r)) s.gone.push_back(c_.Obj(r));
      }
    }
    return s;
  }

  // A squash Django could not use (some of what it replaces is applied)
  // while migrations it replaces, whose files are gone, are depended on.
  void ReportUnusableSquash(std::size_t squash,
                            const std::vector<std::size_t>& missing) {
    SquashState s = StateOf(squash);
    std::vector<std::size_t> dependants;
    for (const auto& [node, origins] : dj_.missing) {
      if (std::find(missing.begin(), missing.end(), node) == missing.end())
        continue;
      for (std::size_t o : origins) dependants.push_back(o);
    }
    Finding& f = c_.Add(
        Severity::kError, "squash_partially_applied", M(squash).key.app,
        c_.Obj(squash),
        fmt::format("{} of the {} migrations {} replaces are applied, so "
                    "Django cannot use it, and the files of {} are gone while "
                    "{} depend{} on them: Django cannot load the graph "
                    "(NodeNotFoundError); restore those files to finish the "
                    "squash",
                    s.done.size(), M(squash).replaces.size(), c_.Obj(squash),
                    fmt::join(s.gone, ", "), Names(dependants),
                    dependants.size() == 1 ? "s" : ""));
    f.expected = fmt::format("{}", fmt::join(s.not_done, ", "));
    f.actual = fmt::format("{}", fmt::join(s.done, ", "));
    unusable_reported_.insert(squash);
  }

  // The unrecorded migrations an applied one waits on: `start` and its
  // unrecorded ancestors, ancestors first.
  std::vector<std::size_t> UnrecordedFrom(std::size_t start) const {
    std::vector<std::size_t> out, stack{start};
    std::set<std::size_t> seen{start};
    while (!stack.empty()) {
      std::size_t node = stack.back();
      stack.pop_back();
      out.push_back(node);
      for (std::size_t p : dj_.parents[node]) {
        if (recorded_[p] || dj_.applied[p] || !seen.insert(p).second) continue;
        stack.push_back(p);
      }
    }
    std::reverse(out.begin(), out.end());
    return out;
  }

  // A recorded migration and the recorded migrations that depend on it.
  std::vector<std::size_t> RecordedFrom(std::size_t start) const {
    std::vector<std::size_t> out, stack{start};
    std::set<std::size_t> seen{start};
    while (!stack.empty()) {
      std::size_t node = stack.back();
      stack.pop_back();
      out.push_back(node);
      for (std::size_t c : dj_.children[node]) {
        if (!recorded_[c] || !seen.insert(c).second) continue;
        stack.push_back(c);
      }
    }
    return out;
  }

  // check_consistent_history, with rows Django will accept: record the
  // missing dependency when what it creates exists, else remove the
  // dependant's row when nothing it creates exists.
  void ReportInconsistent() {
    for (const auto& [m, p] : dj_.inconsistent) {
      std::string message = fmt::format(
          "{} is applied, but its dependency {} is not; Django refuses to "
          "migrate (InconsistentMigrationHistory)",
          Obj(m), Obj(p));
      std::string fix;
      std::vector<std::size_t> below = UnrecordedFrom(p);
      std::vector<std::size_t> above = RecordedFrom(m);
      auto all_exist = [&](std::size_t node) {
        return M(node).DeclaresSchemaChanges() && c_.AllPresent(M(node));
      };
      auto none_exist = [&](std::size_t node) {
        return M(node).DeclaresSchemaChanges() && c_.NonePresent(M(node));
      };
      if (Table().empty()) {
        // Nothing to write to.
      } else if (std::all_of(below.begin(), below.end(), all_exist)) {
        fix = RecordRowsSql(below);
        message += below.size() == 1
                       ? fmt::format(
                             "; everything {} creates exists, so "
                             "recording it is safe",
                             Obj(p))
                       : fmt::format(
                             "; everything {} and the unapplied "
                             "migrations it depends on ({}) create "
                             "exists, so recording them is safe",
                             Obj(p),
                             Names(std::vector<std::size_t>(below.begin(),
                                                            below.end() - 1)));
      } else if (std::all_of(above.begin(), above.end(), none_exist)) {
        fix = DeleteRowsSql(above);
        message += fmt::format(
            "; nothing {} creates exists (it was recorded without running), "
            "so removing {} lets migrate run {} in order",
            Names(above), above.size() == 1 ? "its row" : "their rows", Obj(p));
      } else {
        blocked_ = true;
        message += fmt::format(
            "; the schema does not tell which is right ({}): record {} by "
            "hand if its changes are in place, or remove the row of {} if "
            "they are not",
            Evidence(p), Obj(p), Obj(m));
      }
      Finding& f = c_.Add(Severity::kError, "inconsistent_history",
                          KeyOf(m).app, Obj(m), std::move(message));
      f.expected = Obj(p);
      f.fix = std::move(fix);
    }
  }

  std::string Evidence(std::size_t node) const {
    if (!M(node).DeclaresSchemaChanges()) {
      return fmt::format("{} declares no tables or columns", Obj(node));
    }
    std::vector<std::string> present;
    std::vector<std::string> missing = c_.Missing(M(node), &present);
    return fmt::format(
        "of what {} creates, {} exist{} and {} {} missing", Obj(node),
        present.empty() ? std::string("nothing")
                        : fmt::format("{}", fmt::join(present, ", ")),
        present.size() == 1 ? "s" : "",
        missing.empty() ? std::string("nothing")
                        : fmt::format("{}", fmt::join(missing, ", ")),
        missing.size() > 1 ? "are" : "is");
  }

  // detect_conflicts; a duplicate number among the same leaves is the same
  // problem and is said here.
  void ReportConflicts() {
    for (const auto& conflict : dj_.conflicts) {
      const std::string& app = conflict.first;
      const std::vector<std::size_t>& leaves = conflict.second;
      std::vector<std::string> names;
      names.reserve(leaves.size());
      for (std::size_t leaf : leaves) names.push_back(KeyOf(leaf).name);
      std::string shared;
      for (std::size_t g = 0; g < c_.G().duplicate_numbers.size(); ++g) {
        const auto& group = c_.G().duplicate_numbers[g];
        if (M(group.front()).key.app != app) continue;
        bool among = std::all_of(group.begin(), group.end(), [&](auto node) {
          return std::find(leaves.begin(), leaves.end(), node) != leaves.end();
        });
        if (!among) continue;
        folded_.insert(g);
        shared = fmt::format(" (numbered {} alike)",
                             DjangoNumberPrefix(M(group.front()).key.name));
      }
      Finding& f = c_.Add(
          Severity::kError, "conflicting_leaves", app, app,
          fmt::format("app \"{}\" has {} leaf migrations: {}{}; Django "
                      "refuses to migrate until a merge migration depends on "
                      "all of them",
                      app, leaves.size(), fmt::join(names, ", "), shared));
      f.expected = "1 leaf";
      f.actual = fmt::format("{}", fmt::join(names, ", "));
      std::string fix = commands_.merge;
      fix.replace(fix.find("{app}"), 5, app);
      f.fix = std::move(fix);
    }
  }

  void ReportDuplicateNumbers() {
    for (std::size_t g = 0; g < c_.G().duplicate_numbers.size(); ++g) {
      if (folded_.count(g) != 0) continue;
      const auto& nodes = c_.G().duplicate_numbers[g];
      const std::string& app = M(nodes.front()).key.app;
      std::string number(DjangoNumberPrefix(M(nodes.front()).key.name));
      std::vector<std::string> names;
      for (std::size_t node : nodes) names.push_back(M(node).key.name);
      Finding& f = c_.Add(
          Severity::kWarning, "duplicate_number", app,
          fmt::format("{}.{}", app, number),
          fmt::format("app \"{}\" has {} migrations numbered {}: {}, and no "
                      "merge migration depends on all of them",
                      app, nodes.size(), number, fmt::join(names, ", ")));
      f.actual = fmt::format("{}", fmt::join(names, ", "));
    }
  }

  // What `migrate` runs, in its order. A pending migration whose objects
  // all exist is faked instead (when what it waits on can be faked too);
  // `migrate` is offered only when it would run every step.
  void ReportPending() {
    const auto& plan = dj_.plan;
    std::vector<std::size_t> step(n_, 0);
    for (std::size_t k = 0; k < plan.size(); ++k) step[plan[k]] = k + 1;
    std::vector<ReconcileStatus> status(n_, ReconcileStatus::kMustApply);
    std::vector<bool> waits_on_apply(n_, false);
    bool migrate_runs = !blocked_;
    for (std::size_t node : plan) {
      PlanStep s;
      s.key = M(node).key;
      for (std::size_t p : dj_.parents[node]) {
        if (step[p] == 0) continue;
        s.pending_dependencies.push_back(step[p] - 1);
        if (status[p] != ReconcileStatus::kSafeToFake || waits_on_apply[p])
          waits_on_apply[node] = true;
      }
      std::sort(s.pending_dependencies.begin(), s.pending_dependencies.end());
      result_.plan.push_back(std::move(s));
      if (M(node).DeclaresSchemaChanges())
        status[node] = c_.Reconcile(node).status;
      if (status[node] == ReconcileStatus::kPartlyPresent ||
          (status[node] == ReconcileStatus::kSafeToFake &&
           waits_on_apply[node]))
        migrate_runs = false;
    }
    migrate_ = migrate_runs ? commands_.migrate : std::string();
    std::string where =
        result_.history.present
            ? std::string()
            : fmt::format(
                  " (the history table {} does not exist)",
                  c_.G().history_table.empty()
                      ? std::string(HistoryTableName(Framework::kDjango))
                      : c_.G().history_table);
    for (std::size_t node : plan) {
      std::string message =
          fmt::format("{} is not applied{}; step {} of {} in the apply plan",
                      Obj(node), where, step[node], plan.size());
      std::string fix = migrate_;
      if (status[node] == ReconcileStatus::kSafeToFake) {
        message += "; everything it creates exists already";
        if (!waits_on_apply[node]) {
          fix = commands_.fake(M(node).key);
          message += ", so it is safe to fake";
        } else {
          fix.clear();
          message +=
              ", but it waits on pending migrations that must run first: "
              "migrate to them, then fake it";
        }
      } else if (status[node] == ReconcileStatus::kPartlyPresent) {
        std::vector<std::string> present;
        std::vector<std::string> missing = c_.Missing(M(node), &present);
        fix.clear();
        message += fmt::format(
            "; part of what it creates exists already ({}), part does not "
            "({}): look before applying it",
            fmt::join(present, ", "), fmt::join(missing, ", "));
      } else if (fix.empty()) {
        message +=
            "; migrate cannot run to the end until the problems above "
            "are fixed";
      }
      Finding& f = c_.Add(Severity::kWarning, "pending_migration",
                          M(node).key.app, Obj(node), std::move(message));
      f.expected = "applied";
      f.actual = "not applied";
      f.fix = std::move(fix);
      f.plan_step = step[node];
    }
  }

  void ReportSquashes() {
    for (std::size_t s : dj_.squashes_used) {
      const auto& replaces = M(s).replaces;
      if (dj_.applied[s]) {
        // It ran as the migrations it replaces; its own row is written
        // afterwards, without DDL.
        by_replacement_.insert(s);
        if (recorded_[s]) continue;
        Finding& f = c_.Add(
            Severity::kInfo, "squash_ready", M(s).key.app, c_.Obj(s),
            fmt::format("all {} migrations {} replaces are applied; its own "
                        "row is not recorded yet, and the files it replaces "
                        "can be removed once it is",
                        replaces.size(), c_.Obj(s)));
        if (!Table().empty()) f.fix = RecordRowsSql({s});
      } else if (recorded_[s]) {
        Finding& f = c_.Add(
            Severity::kInfo, "squash_recorded_alone", M(s).key.app, c_.Obj(s),
            fmt::format("{} is recorded, but none of the {} migrations it "
                        "replaces are: Django accepts this (what depends on "
                        "it counts as applied, and migrate does not run it "
                        "again), though showmigrations lists it as not "
                        "applied",
                        c_.Obj(s), replaces.size()));
        if (!Table().empty() && c_.AllPresent(M(s))) {
          f.fix = RecordReplacedSql(s);
        }
      }
    }
    for (std::size_t s : dj_.squashes_removed) {
      if (unusable_reported_.count(s) != 0) continue;
      SquashState st = StateOf(s);
      Finding& f = c_.Add(
          st.gone.empty() ? Severity::kWarning : Severity::kError,
          "squash_partially_applied", M(s).key.app, c_.Obj(s),
          st.gone.empty()
              ? fmt::format("{} of the {} migrations {} replaces are "
                            "applied; the squash cannot be used until the "
                            "rest are, so keep the replaced files",
                            st.done.size(), M(s).replaces.size(), c_.Obj(s))
              : fmt::format("{} of the {} migrations {} replaces are "
                            "applied, and the files of {} are gone: Django "
                            "leaves them out and will never run them; "
                            "restore them to finish the squash",
                            st.done.size(), M(s).replaces.size(), c_.Obj(s),
                            fmt::join(st.gone, ", ")));
      f.expected = fmt::format("{}", fmt::join(st.not_done, ", "));
      f.actual = fmt::format("{}", fmt::join(st.done, ", "));
      if (st.gone.empty()) f.fix = migrate_;
    }
  }

  // Faked migrations, changed checksums and order, of what is recorded.
  void CheckRecordedMigrations() {
    for (std::size_t i = 0; i < n_; ++i) {
      if (!dj_.in_graph[i] || !(dj_.applied[i] || recorded_[i])) continue;
      bool by_replacement = by_replacement_.count(i) != 0;
      c_.CheckOrder(i, by_replacement, by_replacement_);
      c_.CheckRecorded(i, by_replacement);
    }
  }

  CheckContext& c_;
  const Commands& commands_;
  MigrationCheck& result_;
  const std::size_t n_;
  std::vector<bool> recorded_;
  DjangoGraph dj_;
  bool blocked_ = false;  // an inconsistency no step fixes
  std::string migrate_;   // the `migrate` step, when it runs to the end
  std::set<std::size_t> by_replacement_, unusable_reported_, folded_;
};

}  // namespace

void RunDjangoChecks(CheckContext* context) { DjangoChecker(context).Run(); }

}  // namespace schema_guard::core
