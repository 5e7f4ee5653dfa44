// The lint model's vocabulary: lock names, names and types, binary
// compatible type changes, rule names and ignore comments.
#include "core/lint.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

namespace schema_guard::core {

std::string_view LockModeName(LockMode mode) {
  switch (mode) {
    case LockMode::kNone:
      return "";
    case LockMode::kAccessShare:
      return "ACCESS SHARE";
    case LockMode::kRowShare:
      return "ROW SHARE";
    case LockMode::kRowExclusive:
      return "ROW EXCLUSIVE";
    case LockMode::kShareUpdateExclusive:
      return "SHARE UPDATE EXCLUSIVE";
    case LockMode::kShare:
      return "SHARE";
    case LockMode::kShareRowExclusive:
      return "SHARE ROW EXCLUSIVE";
    case LockMode::kExclusive:
      return "EXCLUSIVE";
    case LockMode::kAccessExclusive:
      return "ACCESS EXCLUSIVE";
  }
  return "";
}

std::string LintName::Display() const {
  return schema.empty() ? name : fmt::format("{}.{}", schema, name);
}

bool LintName::operator<(const LintName& other) const {
  return std::tie(schema, name) < std::tie(other.schema, other.name);
}

bool LintName::operator==(const LintName& other) const {
  return schema == other.schema && name == other.name;
}

std::string LintType::Display() const {
  if (!display.empty()) return display;
  std::string out = name;
  if (!mods.empty()) out += fmt::format("({})", fmt::join(mods, ","));
  if (array) out += "[]";
  return out;
}

LintType TypeFromTypmod(std::string name, int typmod, bool array) {
  LintType type;
  type.name = std::move(name);
  type.array = array;
  if (typmod < 0) return type;
  const std::string& n = type.name;
  if (n == "varchar" || n == "bpchar") {
    type.mods = {typmod - 4};
  } else if (n == "numeric") {
    int packed = typmod - 4;
    type.mods = {(packed >> 16) & 0xffff, packed & 0xffff};
  } else {
    type.mods = {typmod};  // varbit, bit, time, timestamp: as written
  }
  return type;
}

namespace {

// to's single length or precision modifier is at least from's (none is
// unbounded).
bool Widens(const LintType& from, const LintType& to) {
  if (to.mods.empty()) return true;
  if (from.mods.empty()) return false;
  return to.mods[0] >= from.mods[0];
}

}  // namespace

bool IsBinaryCompatibleChange(const LintType& from, const LintType& to) {
  if (from.array != to.array) return false;
  if (from.name == to.name && from.mods == to.mods) return true;
  const std::string& a = from.name;
  const std::string& b = to.name;
  if (a == "varchar" && b == "text") return true;
  if (a == "text" && b == "varchar") return to.mods.empty();
  if (a == b && (a == "varchar" || a == "varbit")) return Widens(from, to);
  if (a == b && (a == "time" || a == "timetz" || a == "timestamp" ||
                 a == "timestamptz")) {
    return Widens(from, to);
  }
  if (a == "numeric" && b == "numeric") {
    if (to.mods.empty()) return true;
    if (from.mods.empty()) return false;
    int from_scale = from.mods.size() > 1 ? from.mods[1] : 0;
    int to_scale = to.mods.size() > 1 ? to.mods[1] : 0;
    return to_scale == from_scale && to.mods[0] >= from.mods[0];
  }
  return a == "cidr" && b == "inet";
}

std::string PrettyBytes(std::int64_t bytes) {
  // As pg_size_pretty(): bytes below 10 kB, then the largest unit that
  // keeps the number below 20480 halves, rounded half up.
  static const char* const kUnits[] = {"kB", "MB", "GB", "TB", "PB"};
  constexpr std::int64_t kLimit = std::int64_t{10} * 1024;
  if (bytes < kLimit) return fmt::format("{} bytes", bytes);
  std::int64_t halves = bytes >> 9;
  for (const char* unit : kUnits) {
    if (halves < 2 * kLimit - 1 || unit == kUnits[4]) {
      return fmt::format("{} {}", (halves + 1) / 2, unit);
    }
    halves >>= 10;
  }
  return fmt::format("{} bytes", bytes);
}

std::string GuardDetail(const LintFinding& finding, std::string_view table,
                        std::string_view tag) {
  std::string out;
  if (finding.size) {
    out = fmt::format("Table \"{}\" has about {:.0f} rows ({}).", table,
                      finding.size->rows, PrettyBytes(finding.size->bytes));
  }
  if (finding.lock != LockMode::kNone) {
    out +=
        fmt::format("{}{} takes a{} {} lock on it.", out.empty() ? "" : " ",
                    tag, finding.lock == LockMode::kAccessExclusive ? "n" : "",
                    LockModeName(finding.lock));
  }
  out += fmt::format("{}Rule: {}.", out.empty() ? "" : " ", finding.rule);
  return out;
}

const std::vector<std::string_view>& LintRuleNames() {
  static const std::vector<std::string_view> names = {
      "require-concurrent-index-creation",
      "require-concurrent-index-deletion",
      "ban-concurrent-index-creation-in-transaction",
      "adding-required-field",
      "setting-not-nullable-field",
      "changing-column-type",
      "adding-field-with-default",
      "adding-serial-primary-key-field",
      "constraint-missing-not-valid",
      "adding-foreign-key-constraint",
      "disallowed-unique-constraint",
      "renaming-column",
      "renaming-table",
      "ban-drop-column",
      "ban-drop-table",
      "ban-drop-database",
      "require-lock-timeout",
      "prefer-bigint-over-int",
      "prefer-identity",
      "transaction-nesting",
      "table-rewrite",
      "syntax-error",
      "invalid-ignore-comment",
  };
  return names;
}

std::string_view CanonicalRuleName(std::string_view name) {
  if (name == "adding-not-nullable-field") return "setting-not-nullable-field";
  for (std::string_view rule : LintRuleNames()) {
    if (rule == name) return rule;
  }
  return {};
}

namespace {

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '_';
}

}  // namespace

std::vector<std::string> IgnoreDirectives(std::string_view comment) {
  constexpr std::string_view kMarker = "schema_guard:ignore";
  std::vector<std::string> names;
  std::size_t at = comment.find(kMarker);
  while (at != std::string_view::npos) {
    std::size_t pos = at + kMarker.size();
    // The directive's names: words with a hyphen, separated by commas or
    // blanks; the first other word ends the list (free text may follow).
    while (pos < comment.size()) {
      while (pos < comment.size() &&
             (comment[pos] == ',' || comment[pos] == ' ' ||
              comment[pos] == '\t' || comment[pos] == '\r')) {
        ++pos;
      }
      std::size_t end = pos;
      while (end < comment.size() && IsNameChar(comment[end])) ++end;
      std::string_view word = comment.substr(pos, end - pos);
      if (word.empty() || word.find('-') == std::string_view::npos) break;
      std::string lowered(word);
      std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                     [](char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; });
      names.push_back(std::move(lowered));
      pos = end;
    }
    at = comment.find(kMarker, pos);
  }
  return names;
}

}  // namespace schema_guard::core
