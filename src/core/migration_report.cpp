// The psql report of migration_check(): a rendering of the checks' rows.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "core/migration_check.hpp"

namespace schema_guard::core {

std::string RenderMigrationReport(const std::vector<MigrationCheck>& checks) {
  if (checks.empty()) {
    return "migration_check: no migration history table and no declared "
           "migration graph in this database.\n"
           "Declare the project's graph with "
           "SELECT schema_guard.declare_migrations(graph);\n";
  }
  constexpr std::size_t kPendingShown = 5;
  constexpr std::size_t kKindShown = 10;
  constexpr std::size_t kStepsShown = 20;
  std::string out;
  for (const auto& check : checks) {
    if (!out.empty()) out += '\n';
    std::string_view fw = FrameworkName(check.framework);
    out += fmt::format(
        "migration_check: {}, history table {}, {}\n", fw,
        check.history.present ? check.history.table : std::string("missing"),
        check.graph_declared
            ? "graph declared"
            : "no graph declared (only failed and duplicate rows are "
              "checked)");
    if (!check.unplannable.empty()) {
      out += fmt::format("nothing can be planned: {}\n", check.unplannable);
    }
    std::size_t width = 3;
    for (const auto& a : check.apps) width = std::max(width, a.app.size());
    out += fmt::format("\n  {:<{}}  {:>8}  {:>8}  {:>8}\n", "app", width,
                       "applied", "pending", "problems");
    for (const auto& a : check.apps) {
      out += fmt::format("  {:<{}}  {:>8}  {:>8}  {:>8}\n", a.app, width,
                         a.applied, a.pending, a.problems);
    }
    std::map<std::string, std::vector<const Finding*>> by_app;
    for (const auto& f : check.findings) by_app[f.app].push_back(&f);
    for (const auto& [app, items] : by_app) {
      out += fmt::format("\n[{}]\n", app);
      // A long list of one kind is cut short; the rows have them all.
      std::map<std::string, std::size_t> shown, total;
      for (const Finding* f : items) {
        std::size_t limit =
            f->kind == "pending_migration" ? kPendingShown : kKindShown;
        if (++total[f->kind] > limit) continue;
        ++shown[f->kind];
        out += fmt::format("  {} [{}] {}\n", f->kind, SeverityName(f->severity),
                           f->message);
      }
      for (const auto& [kind, count] : total) {
        if (count == shown[kind]) continue;
        if (kind == "pending_migration") {
          out += fmt::format(
              "  ... and {} more pending (SELECT * FROM "
              "schema_guard.migration_plan({});)\n",
              count - shown[kind], QuoteLiteral(app));
        } else {
          out += fmt::format(
              "  ... and {} more {} (SELECT * FROM "
              "schema_guard.migration_check() WHERE kind = '{}';)\n",
              count - shown[kind], kind, kind);
        }
      }
    }
    // Next steps: each fix once, in the order the findings come.
    std::vector<std::pair<std::string, std::vector<const Finding*>>> steps;
    std::unordered_map<std::string_view, std::size_t> step_of;
    for (const auto& f : check.findings) {
      if (f.fix.empty()) continue;
      auto [it, inserted] = step_of.emplace(f.fix, steps.size());
      if (inserted) steps.push_back({f.fix, {}});
      steps[it->second].second.push_back(&f);
    }
    // The most severe first, then pending migrations (those to fake before
    // the one that applies the rest, in plan order), then info.
    auto rank = [](const std::vector<const Finding*>& items) {
      int best = 5;
      for (const Finding* f : items) {
        int r = f->kind == "pending_migration"
                    ? (f->plan_step != 0 &&
                               (f->fix.find("--fake") != std::string::npos ||
                                f->fix.rfind("alembic stamp ", 0) == 0)
                           ? 2
                           : 3)
                : f->severity == Severity::kInfo ? 4
                                                 : SeverityRank(f->severity);
        best = std::min(best, r);
      }
      return best;
    };
    auto first_step = [](const std::vector<const Finding*>& items) {
      std::size_t step = static_cast<std::size_t>(-1);
      for (const Finding* f : items) {
        if (f->plan_step != 0) step = std::min(step, f->plan_step);
      }
      return step;
    };
    std::stable_sort(
        steps.begin(), steps.end(), [&](const auto& a, const auto& b) {
          int ra = rank(a.second);
          int rb = rank(b.second);
          if (ra != rb) return ra < rb;
          return ra == 2 && first_step(a.second) < first_step(b.second);
        });
    if (steps.empty()) {
      if (check.findings.empty()) out += "\n  everything is consistent\n";
      continue;
    }
    out += "\nnext steps, in this order:\n";
    std::size_t step_count = 0;
    for (const auto& [fix, items] : steps) {
      if (++step_count > kStepsShown) {
        out += fmt::format(
            "  ... and {} more (SELECT fix FROM schema_guard.migration_check() "
            "WHERE fix IS NOT NULL;)\n",
            steps.size() - kStepsShown);
        break;
      }
      const Finding& first = **std::min_element(
          items.begin(), items.end(), [](const Finding* a, const Finding* b) {
            return SeverityRank(a->severity) < SeverityRank(b->severity);
          });
      bool all_pending = std::all_of(items.begin(), items.end(), [](auto* f) {
        return f->kind == "pending_migration";
      });
      std::string why;
      if (all_pending && items.size() > 1) {
        why = fmt::format("{} pending migrations", items.size());
      } else if (items.size() > 1) {
        why = fmt::format("{} (and {} more)", first.message, items.size() - 1);
      } else {
        why = first.message;
      }
      out += fmt::format("  {}\n      -- {}\n", fix, why);
    }
  }
  return out;
}

}  // namespace schema_guard::core
