#include "core/staging.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "core/error.hpp"
#include "core/json.hpp"
#include "core/json_reader.hpp"

namespace schema_guard::core {
namespace {

const JsonDocument kOptionsDocument{
    "staging options",
    "Options are a JSON object with \"conflict\" (\"incoming_wins\", "
    "\"newer_wins\" or \"keep_existing\"), \"version_column\", "
    "\"touch_column\", \"check_structure\" and \"ignore_columns\".",
    "See the README, \"Staging synced rows\"."};

// A string option that, when given, must not be empty.
std::string NonEmpty(const Json& object, std::string_view key,
                     const Path& path) {
  std::string text = OptionalString(object, key, path);
  if (object.Find(key) != nullptr && !object.Find(key)->is_null() &&
      text.empty()) {
    Fail(path.Member(key), "must not be empty");
  }
  return text;
}

const StageColumn* FindColumn(const std::vector<StageColumn>& columns,
                              std::string_view name) {
  for (const auto& c : columns) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

[[noreturn]] void NoSuchColumn(std::string_view target, std::string_view name,
                               std::string_view role) {
  throw Error(ErrorCode::kUndefinedColumn,
              fmt::format("column \"{}\" of relation \"{}\" does not exist",
                          name, target),
              fmt::format("It was named as {}.", role),
              "Name columns exactly as the table spells them (case matters).");
}

}  // namespace

const char* ConflictRuleName(ConflictRule rule) {
  switch (rule) {
    case ConflictRule::kIncomingWins:
      return "incoming_wins";
    case ConflictRule::kNewerWins:
      return "newer_wins";
    case ConflictRule::kKeepExisting:
      return "keep_existing";
  }
  return "incoming_wins";
}

StageOptions ParseStageOptions(std::string_view json_text) {
  Json doc = ParseJson(json_text);
  Path root(kOptionsDocument);
  Expect(doc, Json::Kind::kObject, root);
  OnlyKeys(doc, root,
           {"conflict", "version_column", "touch_column", "check_structure",
            "ignore_columns"});
  StageOptions options;
  std::string rule = OptionalString(doc, "conflict", root, "incoming_wins");
  if (rule == "incoming_wins") {
    options.conflict = ConflictRule::kIncomingWins;
  } else if (rule == "newer_wins") {
    options.conflict = ConflictRule::kNewerWins;
  } else if (rule == "keep_existing") {
    options.conflict = ConflictRule::kKeepExisting;
  } else {
    Fail(root.Member("conflict"),
         fmt::format("unknown conflict rule \"{}\"", rule));
  }
  options.version_column = NonEmpty(doc, "version_column", root);
  options.touch_column = NonEmpty(doc, "touch_column", root);
  options.check_structure = OptionalBool(doc, "check_structure", root, true);
  options.ignore_columns = Strings(doc, "ignore_columns", root, false);
  Path ignore = root.Member("ignore_columns");
  for (std::size_t i = 0; i < options.ignore_columns.size(); ++i) {
    if (options.ignore_columns[i].empty()) {
      Fail(ignore.Element(i), "must not be empty");
    }
  }
  if (options.conflict == ConflictRule::kNewerWins &&
      options.version_column.empty()) {
    Fail(root.Member("version_column"),
         "\"newer_wins\" needs a version column, such as "
         "\"client_timestamp\"");
  }
  if (options.conflict != ConflictRule::kNewerWins &&
      !options.version_column.empty()) {
    Fail(root.Member("version_column"),
         "only \"newer_wins\" compares versions");
  }
  return options;
}

std::string StageOptionsJson(const StageOptions& options) {
  Json doc = Json::Object();
  doc.Set("conflict", Json::String(ConflictRuleName(options.conflict)));
  doc.Set("version_column", options.version_column.empty()
                                ? Json::Null()
                                : Json::String(options.version_column));
  doc.Set("touch_column", options.touch_column.empty()
                              ? Json::Null()
                              : Json::String(options.touch_column));
  doc.Set("check_structure", Json::Bool(options.check_structure));
  Json& ignore = doc.Set("ignore_columns", Json::Array());
  for (const auto& c : options.ignore_columns) ignore.Push(Json::String(c));
  return ToJsonText(doc);
}

namespace {

bool IsKey(const std::vector<std::string>& key_columns, std::string_view name) {
  return std::find(key_columns.begin(), key_columns.end(), name) !=
         key_columns.end();
}

void CheckKeys(std::string_view target,
               const std::vector<std::string>& key_columns,
               const std::vector<StageColumn>& columns) {
  if (key_columns.empty()) {
    throw Error(ErrorCode::kInvalidParameterValue,
                "key columns must not be empty",
                "Staged rows are deduplicated and merged by their external "
                "key.",
                "Pass the columns of a unique key, such as "
                "ARRAY['external_id'].");
  }
  std::set<std::string_view> seen;
  for (const auto& k : key_columns) {
    const StageColumn* c = FindColumn(columns, k);
    if (c == nullptr) NoSuchColumn(target, k, "a key column");
    if (!seen.insert(k).second) {
      throw Error(ErrorCode::kInvalidParameterValue,
                  fmt::format("key column \"{}\" is named twice", k), {},
                  "Name each key column once.");
    }
    if (c->generated || c->identity_always) {
      throw Error(ErrorCode::kInvalidParameterValue,
                  fmt::format("key column \"{}\" is a generated column", k),
                  "Staged rows carry their key; a generated column cannot be "
                  "written.",
                  "Use the external key the source system assigns.");
    }
  }
}

void CheckVersionColumn(std::string_view target, const StageOptions& options,
                        const std::vector<std::string>& key_columns,
                        const std::vector<StageColumn>& columns) {
  if (options.version_column.empty()) return;
  const StageColumn* c = FindColumn(columns, options.version_column);
  if (c == nullptr) {
    NoSuchColumn(target, options.version_column, "options.version_column");
  }
  if (IsKey(key_columns, c->name)) {
    throw Error(ErrorCode::kInvalidParameterValue,
                fmt::format("version column \"{}\" is a key column", c->name),
                "Rows with the same key always have the same key value.",
                "Name a column that changes with each version, such as "
                "\"client_timestamp\".");
  }
  if (!c->orderable) {
    throw Error(ErrorCode::kInvalidParameterValue,
                fmt::format("version column \"{}\" of type {} cannot be "
                            "ordered",
                            c->name, c->type),
                "newer_wins compares versions with the type's ordering.",
                "Use a timestamp or a number.");
  }
}

void CheckTouchColumn(std::string_view target, const StageOptions& options,
                      const std::vector<std::string>& key_columns,
                      const std::vector<StageColumn>& columns) {
  if (options.touch_column.empty()) return;
  const StageColumn* c = FindColumn(columns, options.touch_column);
  if (c == nullptr) {
    NoSuchColumn(target, options.touch_column, "options.touch_column");
  }
  if (IsKey(key_columns, c->name) || c->name == options.version_column ||
      c->generated || c->identity_always) {
    throw Error(
        ErrorCode::kInvalidParameterValue,
        fmt::format("touch column \"{}\" cannot be set by the apply", c->name),
        "The touch column must not be a key, the version column or "
        "a generated column.",
        "Name a column such as \"synced_at\".");
  }
  if (!c->timestamp) {
    throw Error(
        ErrorCode::kInvalidParameterValue,
        fmt::format("touch column \"{}\" has type {}", c->name, c->type),
        "The apply sets the touch column to its time.",
        "Use a timestamptz, timestamp or date column.");
  }
}

}  // namespace

void CheckStageSetup(std::string_view target, const StageOptions& options,
                     const std::vector<std::string>& key_columns,
                     const std::vector<StageColumn>& columns) {
  CheckKeys(target, key_columns, columns);
  CheckVersionColumn(target, options, key_columns, columns);
  CheckTouchColumn(target, options, key_columns, columns);
  for (const auto& name : options.ignore_columns) {
    if (IsKey(key_columns, name) || name == options.version_column) {
      throw Error(ErrorCode::kInvalidParameterValue,
                  fmt::format("column \"{}\" cannot be ignored", name),
                  "Key and version columns are needed to merge rows.",
                  "Remove it from options.ignore_columns.");
    }
  }
}

std::string RenderKey(const std::vector<std::optional<std::string>>& values) {
  if (values.size() == 1) return values[0].value_or("");
  // record_out: quote an element that is empty or holds a special character;
  // double quotes and backslashes inside are doubled.
  std::string out = "(";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    if (!values[i]) continue;
    const std::string& v = *values[i];
    bool quote = v.empty();
    for (char c : v) {
      if (c == '"' || c == '\\' || c == '(' || c == ')' || c == ',' ||
          c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
          c == '\f') {
        quote = true;
      }
    }
    if (!quote) {
      out += v;
      continue;
    }
    out += '"';
    for (char c : v) {
      if (c == '"' || c == '\\') out += c;
      out += c;
    }
    out += '"';
  }
  out += ')';
  return out;
}

const StageColumn* StageTarget::Find(std::string_view column) const {
  return FindColumn(columns, column);
}

}  // namespace schema_guard::core
