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

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

// "a.x, a.y" for the columns over an alias.
std::vector<std::string> Over(const std::vector<std::string>& columns,
                              std::string_view alias, const QuoteFn& quote) {
  std::vector<std::string> out;
  out.reserve(columns.size());
  for (const auto& c : columns)
    out.push_back(fmt::format("{}.{}", alias, quote(c)));
  return out;
}

// "t.k1 = s.k1 AND t.k2 = s.k2"
std::string KeyJoin(const std::vector<std::string>& keys, std::string_view a,
                    std::string_view b, const QuoteFn& quote) {
  std::vector<std::string> parts;
  parts.reserve(keys.size());
  for (const auto& k : keys) {
    parts.push_back(fmt::format("{0}.{2} = {1}.{2}", a, b, quote(k)));
  }
  return Join(parts, " AND ");
}

// "(t.a, t.b::pg_catalog.text) IS DISTINCT FROM (s.a, s.b::pg_catalog.text)"
std::string Differs(const MergePlan& plan, std::string_view stored,
                    std::string_view incoming, const QuoteFn& quote) {
  std::vector<std::string> left;
  std::vector<std::string> right;
  for (std::size_t i = 0; i < plan.columns.size(); ++i) {
    std::string cast = plan.compare_as_text[i] ? "::pg_catalog.text" : "";
    left.push_back(
        fmt::format("{}.{}{}", stored, quote(plan.columns[i]), cast));
    right.push_back(
        fmt::format("{}.{}{}", incoming, quote(plan.columns[i]), cast));
  }
  return fmt::format("({}) IS DISTINCT FROM ({})", Join(left, ", "),
                     Join(right, ", "));
}

// Under newer_wins: the incoming row is older than the stored one. A stored
// NULL version loses to anything; an incoming NULL loses to a stored value.
std::string Stale(const MergePlan& plan, std::string_view stored,
                  std::string_view incoming, const QuoteFn& quote) {
  std::string v = quote(plan.options.version_column);
  return fmt::format(
      "({0}.{2} IS NOT NULL AND ({1}.{2} IS NULL OR {1}.{2} < {0}.{2}))",
      stored, incoming, v);
}

bool Compares(const MergePlan& plan) {
  return plan.options.conflict != ConflictRule::kKeepExisting &&
         !plan.columns.empty();
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

void CheckStageSetup(std::string_view target, const StageOptions& options,
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
  for (const auto& c : columns) {
    if (c.name == "?seq" || c.name == "?bucket") {
      throw Error(ErrorCode::kInvalidParameterValue,
                  fmt::format("column \"{}\" of relation \"{}\" has a name "
                              "staging reserves",
                              c.name, target),
                  "Staging converts a batch into a table with its own "
                  "columns \"?seq\" and \"?bucket\".",
                  "Rename the column to stage rows for this table.");
    }
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
    if (c->generated) {
      throw Error(ErrorCode::kInvalidParameterValue,
                  fmt::format("key column \"{}\" is a generated column", k),
                  "Staged rows carry their key; a generated column cannot be "
                  "written.",
                  "Use the external key the source system assigns.");
    }
  }
  auto is_key = [&](std::string_view name) {
    return std::find(key_columns.begin(), key_columns.end(), name) !=
           key_columns.end();
  };
  if (!options.version_column.empty()) {
    const StageColumn* c = FindColumn(columns, options.version_column);
    if (c == nullptr) {
      NoSuchColumn(target, options.version_column, "options.version_column");
    }
    if (is_key(c->name)) {
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
  if (!options.touch_column.empty()) {
    const StageColumn* c = FindColumn(columns, options.touch_column);
    if (c == nullptr) {
      NoSuchColumn(target, options.touch_column, "options.touch_column");
    }
    if (is_key(c->name) || c->name == options.version_column || c->generated) {
      throw Error(ErrorCode::kInvalidParameterValue,
                  fmt::format("touch column \"{}\" cannot be set by the apply",
                              c->name),
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
  for (const auto& name : options.ignore_columns) {
    if (is_key(name) || name == options.version_column) {
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

const char* ConversionProblem(std::string_view sqlstate) {
  return sqlstate == "22001" ? "too_long" : "invalid_value";
}

std::string KeyTextSql(const std::vector<std::string>& key_columns,
                       std::string_view alias, const QuoteFn& quote) {
  std::vector<std::string> cols = Over(key_columns, alias, quote);
  if (cols.size() == 1) return cols[0] + "::pg_catalog.text";
  return fmt::format("ROW({})::pg_catalog.text", Join(cols, ", "));
}

std::string SupersedeSql(const MergePlan& plan, const QuoteFn& quote) {
  std::string keys = Join(Over(plan.key_columns, "s", quote), ", ");
  std::string order = "s.\"?seq\" DESC";
  if (plan.options.conflict == ConflictRule::kNewerWins) {
    order = fmt::format("s.{} DESC NULLS LAST, s.\"?seq\" DESC",
                        quote(plan.options.version_column));
  }
  std::string rows = plan.staged;
  std::string with = "WITH ";
  if (!plan.candidates.empty()) {
    with = fmt::format(
        "WITH c AS MATERIALIZED (SELECT s.* FROM {} s WHERE s.\"?bucket\" IN "
        "(SELECT bucket FROM {})), ",
        plan.staged, plan.candidates);
    rows = "c";
  }
  return fmt::format(
      "{0}dup AS (SELECT {1} FROM {2} s GROUP BY {1} HAVING "
      "pg_catalog.count(*) > 1), "
      "ranked AS (SELECT s.\"?seq\" AS seq, {3} AS key, "
      "pg_catalog.first_value(s.\"?seq\") OVER w AS winner, "
      "pg_catalog.row_number() OVER w AS rn FROM {2} s JOIN dup d ON {4} "
      "WINDOW w AS (PARTITION BY {1} ORDER BY {5})) "
      "SELECT seq, key, winner FROM ranked WHERE rn > 1",
      with, keys, rows, KeyTextSql(plan.key_columns, "s", quote),
      KeyJoin(plan.key_columns, "s", "d", quote), order);
}

std::string StaleCountSql(const MergePlan& plan, const QuoteFn& quote) {
  return fmt::format(
      "SELECT pg_catalog.count(*) FROM {} s JOIN {} t ON {} WHERE {}",
      plan.staged, plan.target, KeyJoin(plan.key_columns, "t", "s", quote),
      Stale(plan, "t", "s", quote));
}

std::string MergeSql(const MergePlan& plan, const QuoteFn& quote) {
  std::vector<std::string> all = plan.key_columns;
  all.insert(all.end(), plan.columns.begin(), plan.columns.end());
  std::vector<std::string> into;
  into.reserve(all.size() + 1);
  for (const auto& c : all) into.push_back(quote(c));
  std::vector<std::string> select = Over(all, "s", quote);
  const std::string& touch = plan.options.touch_column;
  if (!touch.empty()) {
    into.push_back(quote(touch));
    select.push_back("$1");
  }
  std::vector<std::string> keys;
  for (const auto& k : plan.key_columns) keys.push_back(quote(k));
  std::string action = "DO NOTHING";
  if (Compares(plan)) {
    std::vector<std::string> sets;
    for (const auto& c : plan.columns) {
      sets.push_back(fmt::format("{0} = EXCLUDED.{0}", quote(c)));
    }
    if (!touch.empty()) {
      sets.push_back(fmt::format("{0} = EXCLUDED.{0}", quote(touch)));
    }
    std::string where = Differs(plan, "t", "EXCLUDED", quote);
    if (plan.options.conflict == ConflictRule::kNewerWins) {
      where += " AND NOT " + Stale(plan, "t", "EXCLUDED", quote);
    }
    action = fmt::format("DO UPDATE SET {} WHERE {}", Join(sets, ", "), where);
  }
  return fmt::format(
      "WITH merged AS (INSERT INTO {} AS t ({}) SELECT {} FROM {} s "
      "ON CONFLICT ({}) {} RETURNING (t.xmax = 0) AS inserted) "
      "SELECT pg_catalog.count(*) FILTER (WHERE inserted), "
      "pg_catalog.count(*) FILTER (WHERE NOT inserted) FROM merged",
      plan.target, Join(into, ", "), Join(select, ", "), plan.staged,
      Join(keys, ", "), action);
}

std::string DryRunSql(const MergePlan& plan, const QuoteFn& quote) {
  std::string found = "t.ctid IS NOT NULL";
  std::string fresh = "true";
  std::string stale = "false";
  if (plan.options.conflict == ConflictRule::kNewerWins) {
    stale = Stale(plan, "t", "s", quote);
    fresh = "NOT " + stale;
  }
  std::string differs =
      Compares(plan) ? Differs(plan, "t", "s", quote) : std::string("false");
  return fmt::format(
      "SELECT pg_catalog.count(*) FILTER (WHERE t.ctid IS NULL), "
      "pg_catalog.count(*) FILTER (WHERE {0} AND {1} AND {2}), "
      "pg_catalog.count(*) FILTER (WHERE {0} AND {1} AND NOT {2}), "
      "pg_catalog.count(*) FILTER (WHERE {0} AND {3}) "
      "FROM {4} s LEFT JOIN {5} t ON {6}",
      found, fresh, differs, stale, plan.staged, plan.target,
      KeyJoin(plan.key_columns, "t", "s", quote));
}

}  // namespace schema_guard::core
