#include "core/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace schema_guard::core {
namespace {

bool IsColumnKind(const std::string& kind) {
  return kind == "missing_column" || kind == "extra_column" ||
         kind == "type_mismatch" || kind == "nullability_mismatch" ||
         kind == "default_mismatch" || kind == "identity_mismatch" ||
         kind == "collation_mismatch" || kind == "generated_mismatch" ||
         kind == "missing_sequence";
}

bool IsTableLevel(const Finding& f) {
  return f.object.find('.') == f.object.rfind('.') &&
         f.object.compare(0, 6, "index ") != 0;
}

// The report section of a finding.
int SectionOf(const Finding& f) {
  const std::string& k = f.kind;
  if (k == "missing_table" || (k == "possible_rename" && IsTableLevel(f)))
    return 0;
  if (k == "orphan_table") return 1;
  if ((IsColumnKind(k) && !(k == "type_mismatch" && IsTableLevel(f))) ||
      k == "possible_rename") {
    return 2;
  }
  if (k == "missing_schema" || k == "extra_schema" ||
      k == "missing_extension" || k == "extra_extension" ||
      k == "extension_mismatch") {
    return 3;
  }
  if (k == "missing_function" || k == "extra_function" ||
      k == "function_mismatch") {
    return 5;
  }
  if (k == "missing_trigger" || k == "extra_trigger" ||
      k == "trigger_mismatch" || k == "missing_policy" || k == "extra_policy" ||
      k == "policy_mismatch" || k == "row_security_mismatch") {
    return 6;
  }
  if (k == "owner_mismatch" || k == "privilege_mismatch" ||
      k == "comment_mismatch") {
    return 7;
  }
  return 4;
}

constexpr const char* kSections[] = {
    "missing tables",
    "orphaned tables",
    "column differences",
    "schemas and extensions",
    "indexes, constraints, views and types",
    "functions",
    "triggers and policies",
    "owners, privileges and comments",
};

std::string Plural(std::size_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

// What follows from each root finding, as "2 indexes and 2 foreign keys".
std::map<std::string, std::string> FoldSummaries(
    const std::vector<Finding>& findings) {
  std::map<std::string, std::map<std::string, std::size_t>> counts;
  for (const auto& f : findings) {
    if (f.cause.empty()) continue;
    std::string what =
        f.kind == "missing_index"                        ? "index"
        : f.kind == "orphan_table"                       ? "table"
        : f.message.compare(0, 11, "foreign key") == 0   ? "foreign key"
        : f.kind.find("constraint") != std::string::npos ? "constraint"
                                                         : "other difference";
    ++counts[f.cause][what];
  }
  std::map<std::string, std::string> out;
  for (const auto& [cause, kinds] : counts) {
    std::vector<std::string> parts;
    for (const auto& what :
         {"table", "index", "constraint", "foreign key", "other difference"}) {
      auto it = kinds.find(what);
      if (it == kinds.end()) continue;
      std::string many =
          std::string(what) == "index" ? "indexes" : std::string(what) + "s";
      parts.push_back(Plural(it->second, what, many));
    }
    std::string text;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      if (i > 0) text += i + 1 == parts.size() ? " and " : ", ";
      text += parts[i];
    }
    out[cause] = text;
  }
  return out;
}

std::string Message(const Finding& f,
                    const std::map<std::string, std::string>& folds) {
  auto it = folds.find(FindingName(f));
  if (it == folds.end()) return f.message;
  return fmt::format("{}, with {}", f.message, it->second);
}

std::string Line(const Finding& f,
                 const std::map<std::string, std::string>& folds) {
  std::string line = fmt::format("    {}", Message(f, folds));
  if (f.severity != Severity::kError)
    line += fmt::format("  [{}]", SeverityName(f.severity));
  return line + "\n";
}

}  // namespace

std::string RenderSchemaReport(const std::vector<Finding>& findings,
                               const Summary& summary,
                               const ReportHeader& header,
                               const Schema* expected_for_verbose) {
  std::string out = fmt::format(
      "schema_guard: live schema against \"{}\" (expected schema set {})\n",
      header.source, header.set_at);
  if (!header.app.empty()) out += fmt::format("app: {}\n", header.app);
  std::map<std::string, std::string> folds = FoldSummaries(findings);
  std::map<std::string, std::vector<const Finding*>> by_app;
  for (const auto& f : findings) {
    if (f.cause.empty()) by_app[f.app].push_back(&f);
  }
  for (const auto& [app, items] : by_app) {
    std::vector<const Finding*> sections[std::size(kSections)];
    for (const Finding* f : items) sections[SectionOf(*f)].push_back(f);
    out += fmt::format("\n[{}]\n", app.empty() ? "(no app)" : app);
    for (std::size_t s = 0; s < std::size(kSections); ++s) {
      if (sections[s].empty()) continue;
      out += fmt::format("  {} ({}):\n", kSections[s], sections[s].size());
      for (const Finding* f : sections[s]) out += Line(*f, folds);
    }
  }
  if (expected_for_verbose != nullptr) {
    out += "\nexpected tables:\n";
    for (const auto& t : expected_for_verbose->tables) {
      if (!header.app.empty() && t.app != header.app) continue;
      out += fmt::format("  {}.{} ({}{})\n", t.schema, t.name,
                         TableKindName(t.kind),
                         t.app.empty() ? "" : ", app " + t.app);
      for (const auto& c : t.columns) {
        out += fmt::format("      {} {}{}{}\n", c.name, c.type,
                           c.not_null ? " NOT NULL" : "",
                           c.default_expr ? " DEFAULT " + *c.default_expr : "");
      }
    }
  }
  out += fmt::format(
      "\n{} tables expected, {} present, {} missing, {} orphaned ({} "
      "expected), {} column differences\n",
      summary.tables_expected, summary.tables_present, summary.tables_missing,
      summary.orphans, summary.orphans_expected, summary.column_differences);
  if (summary.errors == 0 && summary.warnings == 0) {
    out += "The live schema matches the expected schema.\n";
  } else {
    out += fmt::format(
        "{} errors, {} warnings. Next step: review SELECT "
        "schema_guard.fix_script({}); and apply it "
        "as a migration, or update the expected schema if the live one is "
        "right.\n",
        summary.errors, summary.warnings,
        header.app.empty() ? "" : "'" + header.app + "'");
  }
  return out;
}

namespace {

std::string Commented(const std::string& sql) {
  std::string out;
  std::size_t start = 0;
  while (start <= sql.size()) {
    std::size_t end = sql.find('\n', start);
    if (end == std::string::npos) end = sql.size();
    out += "-- " + sql.substr(start, end - start) + "\n";
    start = end + 1;
  }
  return out;
}

struct PlacedStep {
  const Finding* finding;
  const FixStep* step;
  std::size_t order;  // finding order, then step order
};

}  // namespace

std::string RenderFixScript(const std::vector<Finding>& findings,
                            const ReportHeader& header, bool online,
                            bool include_drops) {
  std::string out = fmt::format(
      "-- schema_guard fix script against \"{}\" (expected schema set {})\n",
      header.source, header.set_at);
  if (online) {
    out +=
        "-- Lock-safe forms: run it outside a transaction block (CREATE INDEX "
        "CONCURRENTLY).\n";
  }
  std::vector<PlacedStep> steps;
  std::vector<const Finding*> unfixed;
  for (const auto& f : findings) {
    for (const auto& s : f.steps) steps.push_back({&f, &s, steps.size()});
    if (f.steps.empty() && f.severity != Severity::kInfo) unfixed.push_back(&f);
  }
  if (steps.empty() && unfixed.empty()) return out + "-- Nothing to fix.\n";
  std::stable_sort(steps.begin(), steps.end(),
                   [](const PlacedStep& a, const PlacedStep& b) {
                     return std::tie(a.step->phase, a.step->rank, a.order) <
                            std::tie(b.step->phase, b.step->rank, b.order);
                   });
  bool functions =
      std::any_of(steps.begin(), steps.end(), [](const PlacedStep& s) {
        return s.step->phase == FixPhase::kFunction && !s.step->sql.empty();
      });
  if (functions) {
    out +=
        "-- Function bodies are checked when they are called, not here: they "
        "may use what comes later.\nSET check_function_bodies = false;\n";
  }
  std::map<std::string, std::string> folds = FoldSummaries(findings);
  std::set<std::pair<FixPhase, std::string>> done;
  std::set<const Finding*> introduced;
  const Finding* current = nullptr;
  for (const auto& placed : steps) {
    const Finding& f = *placed.finding;
    if (&f != current) {
      current = &f;
      std::string cause =
          f.cause.empty() ? "" : fmt::format(" (follows from {})", f.cause);
      bool first = introduced.insert(&f).second;
      out += fmt::format("\n-- {}: {}{}{}\n", f.kind, Message(f, folds), cause,
                         first ? "" : " (continued)");
      if (first && !f.hazards.empty()) {
        std::string hazards;
        for (const auto& h : f.hazards)
          hazards += (hazards.empty() ? "" : ", ") + h;
        out += fmt::format("-- hazards: {}\n", hazards);
      }
    }
    const FixStep& s = *placed.step;
    if (s.sql.empty()) {
      out += "-- " + s.note + "\n";
      continue;
    }
    bool commented = f.destructive && !include_drops;
    if (commented) {
      out += Commented(s.sql);
      continue;
    }
    if (!done.insert({s.phase, s.sql}).second) {
      out += "-- (done above)\n";
      continue;
    }
    out += s.sql + "\n";
  }
  for (const Finding* f : unfixed) {
    out += fmt::format(
        "\n-- {}: {}\n-- schema_guard writes no DDL for this: resolve it by "
        "hand, or update the expected schema if the live one is right.\n",
        f->kind, Message(*f, folds));
  }
  return out;
}

}  // namespace schema_guard::core
