#include "core/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace schema_guard::core {
namespace {

bool IsColumnKind(const std::string& kind) {
  return kind == "missing_column" || kind == "extra_column" ||
         kind == "type_mismatch" || kind == "nullability_mismatch" ||
         kind == "default_mismatch" || kind == "identity_mismatch" ||
         kind == "collation_mismatch" || kind == "generated_mismatch" ||
         kind == "missing_sequence";
}

std::string Line(const Finding& f) {
  std::string line = fmt::format("    {}", f.message);
  if (f.severity != Severity::kError)
    line += fmt::format("  [{}]", SeverityName(f.severity));
  return line + "\n";
}

void Section(std::string& out, std::string_view title,
             const std::vector<const Finding*>& items) {
  if (items.empty()) return;
  out += fmt::format("  {} ({}):\n", title, items.size());
  for (const Finding* f : items) out += Line(*f);
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
  std::map<std::string, std::vector<const Finding*>> by_app;
  for (const auto& f : findings) by_app[f.app].push_back(&f);
  for (const auto& [app, items] : by_app) {
    std::vector<const Finding*> missing, orphans, columns, other;
    for (const Finding* f : items) {
      if (f->kind == "missing_table" ||
          (f->kind == "possible_rename" &&
           f->object.find('.') == f->object.rfind('.'))) {
        missing.push_back(f);
      } else if (f->kind == "orphan_table") {
        orphans.push_back(f);
      } else if (IsColumnKind(f->kind) || f->kind == "possible_rename") {
        columns.push_back(f);
      } else {
        other.push_back(f);
      }
    }
    out += fmt::format("\n[{}]\n", app.empty() ? "(no app)" : app);
    Section(out, "missing tables", missing);
    Section(out, "orphaned tables", orphans);
    Section(out, "column differences", columns);
    Section(out, "indexes, constraints, views and types", other);
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
  std::vector<const Finding*> fixes;
  for (const auto& f : findings) {
    if (!f.fix.empty()) fixes.push_back(&f);
  }
  std::stable_sort(
      fixes.begin(), fixes.end(), [](const Finding* a, const Finding* b) {
        return static_cast<int>(a->phase) < static_cast<int>(b->phase);
      });
  if (fixes.empty()) return out + "-- Nothing to fix.\n";
  for (const Finding* f : fixes) {
    out += fmt::format("\n-- {}: {}\n", f->kind, f->message);
    if (!f->hazards.empty()) {
      std::string hazards;
      for (const auto& h : f->hazards)
        hazards += (hazards.empty() ? "" : ", ") + h;
      out += fmt::format("-- hazards: {}\n", hazards);
    }
    if (f->destructive && !include_drops) {
      std::string commented;
      std::size_t start = 0;
      while (start <= f->fix.size()) {
        std::size_t end = f->fix.find('\n', start);
        if (end == std::string::npos) end = f->fix.size();
        commented += "-- " + f->fix.substr(start, end - start) + "\n";
        start = end + 1;
      }
      out += commented;
    } else {
      out += f->fix + "\n";
    }
  }
  return out;
}

}  // namespace schema_guard::core
