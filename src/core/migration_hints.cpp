#include "core/migration_hints.hpp"

#include <fmt/format.h>

#include <map>
#include <string>

namespace schema_guard::core {
namespace {

struct Hint {
  std::string migration;  // "core.0004_invoice"
  std::string command;    // what to run
  bool faked = false;
};

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find(", ", start);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 2;
  }
  return out;
}

std::string MigrateCommand(const MigrationCheck& check, const MigrationKey& key,
                           const std::string& object) {
  if (check.framework == Framework::kDjango)
    return "python manage.py migrate " + key.app;
  for (const auto& f : check.findings) {
    if (f.kind == "pending_migration" && f.object == object && !f.fix.empty())
      return f.fix;
  }
  return "apply the pending migrations";
}

// "table", "schema.table" and "table.column" (as the graph writes them)
// of the tables and columns that pending and faked migrations create.
std::map<std::string, Hint> Hints(const std::vector<MigrationCheck>& checks) {
  std::map<std::string, Hint> hints;
  for (const auto& check : checks) {
    for (const auto& row : check.reconcile) {
      if (row.status == ReconcileStatus::kSafeToFake) continue;
      std::string object = MigrationObject(check.framework, row.key);
      Hint hint{object, MigrateCommand(check, row.key, object), false};
      for (const auto& item : row.missing) hints.emplace(item, hint);
    }
    for (const auto& f : check.findings) {
      if (f.kind != "faked_migration" || f.severity != Severity::kError)
        continue;
      std::string app = f.object.substr(0, f.object.find('.'));
      Hint hint{f.object,
                check.framework == Framework::kDjango
                    ? "delete its row from the history table and run `python "
                      "manage.py migrate " +
                          app + "`"
                    : "remove its history row and apply it again",
                true};
      for (const auto& item : SplitList(f.expected)) hints.emplace(item, hint);
    }
  }
  return hints;
}

const Hint* Find(const std::map<std::string, Hint>& hints,
                 const std::vector<std::string>& names) {
  for (const auto& n : names) {
    auto it = hints.find(n);
    if (it != hints.end()) return &it->second;
  }
  return nullptr;
}

}  // namespace

void AttributeToMigrations(const std::vector<MigrationCheck>& checks,
                           std::vector<Finding>* findings) {
  std::map<std::string, Hint> hints = Hints(checks);
  if (hints.empty()) return;
  std::map<std::string, std::string> notes;  // root finding -> note
  for (auto& f : *findings) {
    std::vector<std::string> names;
    if (f.kind == "missing_table" || f.kind == "missing_column") {
      names = {f.object, f.object.substr(f.object.find('.') + 1)};
    } else {
      continue;
    }
    const Hint* hint = Find(hints, names);
    if (hint == nullptr) continue;
    std::string state = hint->faked
                            ? "which is recorded as applied but did not run"
                            : "which is not applied";
    std::string note = hint->faked
                           ? fmt::format("created by {}, {}: {}",
                                         hint->migration, state, hint->command)
                           : fmt::format("created by {}, {}: run `{}`",
                                         hint->migration, state, hint->command);
    notes.emplace(FindingName(f), fmt::format("created with {} by {}", f.object,
                                              hint->migration));
    f.message += fmt::format(" (created by {}, {})", hint->migration, state);
    f.steps = {FixStep{FixPhase::kCreate, 0, "", note}};
    f.fix = "-- " + note;
    f.hazards.clear();
  }
  for (auto& f : *findings) {
    auto it = notes.find(f.cause);
    if (it == notes.end()) continue;
    f.steps = {FixStep{FixPhase::kCreate, 0, "", it->second}};
    f.fix = "-- " + it->second;
    f.hazards.clear();
  }
}

}  // namespace schema_guard::core
