#include "core/staging_sql.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace schema_guard::core {
namespace {

// "a.x, a.y" for the columns over an alias.
std::vector<std::string> Over(const std::vector<std::string>& columns,
                              std::string_view alias, const QuoteFn& quote) {
  std::vector<std::string> out;
  out.reserve(columns.size());
  for (const auto& c : columns) {
    out.push_back(fmt::format("{}.{}", alias, quote(c)));
  }
  return out;
}

std::vector<std::string> Quoted(const std::vector<std::string>& columns,
                                const QuoteFn& quote) {
  std::vector<std::string> out;
  out.reserve(columns.size());
  for (const auto& c : columns) out.push_back(quote(c));
  return out;
}

// "t.k1 OPERATOR(pg_catalog.=) s.k1 AND ..."
std::string KeyJoin(const std::vector<std::string>& keys, std::string_view a,
                    std::string_view b, const QuoteFn& quote) {
  std::vector<std::string> parts;
  parts.reserve(keys.size());
  for (const auto& k : keys) {
    parts.push_back(fmt::format("{0}.{2} = {1}.{2}", a, b, quote(k)));
  }
  return fmt::format("{}", fmt::join(parts, " AND "));
}

bool Compares(const RowPlan& plan, const std::vector<std::string>& columns) {
  return plan.options().conflict != ConflictRule::kKeepExisting &&
         !columns.empty();
}

// A partial column's incoming value (see RowPlan): the row's when it
// carries the column, else the stored one.
std::string Incoming(const RowPlan& plan, const std::string& name,
                     std::string_view stored, std::string_view incoming,
                     const QuoteFn& quote) {
  int c = plan.Lookup(name);
  if (c < 0 || !plan.partial(static_cast<std::size_t>(c))) {
    return fmt::format("{}.{}", incoming, quote(name));
  }
  return fmt::format(
      "CASE WHEN schema_guard.stage_feed_carries($2, {0}) THEN {1}.{3} ELSE "
      "{2}.{3} END",
      c, incoming, stored, quote(name));
}

// "(t.a, t.b::pg_catalog.text) IS DISTINCT FROM (s.a, s.b::pg_catalog.text)"
std::string Differs(const RowPlan& plan,
                    const std::vector<std::string>& columns,
                    std::string_view stored, std::string_view incoming,
                    const QuoteFn& quote) {
  std::vector<std::string> left;
  std::vector<std::string> right;
  for (const auto& name : columns) {
    const StageColumn* c = plan.target().Find(name);
    bool text = c != nullptr && !c->comparable;
    std::string cast = text ? "::pg_catalog.text" : "";
    left.push_back(fmt::format("{}.{}{}", stored, quote(name), cast));
    std::string in = Incoming(plan, name, stored, incoming, quote);
    right.push_back(text ? fmt::format("({}){}", in, cast) : in);
  }
  return fmt::format("({}) IS DISTINCT FROM ({})", fmt::join(left, ", "),
                     fmt::join(right, ", "));
}

// What the merge inserts for a column: the row's value, or the column's
// default for a row that lacks a partial column.
std::string Inserted(const RowPlan& plan, const std::string& name,
                     const QuoteFn& quote) {
  int c = plan.Lookup(name);
  std::string value = "f." + quote(name);
  if (c < 0 || !plan.partial(static_cast<std::size_t>(c)) ||
      std::find(plan.keys().begin(), plan.keys().end(), c) !=
          plan.keys().end()) {
    return value;
  }
  const StageColumn& column =
      plan.target().columns[static_cast<std::size_t>(c)];
  if (column.default_sql.empty()) return value;
  return fmt::format(
      "CASE WHEN schema_guard.stage_feed_carries($2, {}) THEN {} ELSE ({}) "
      "END",
      c, value, column.default_sql);
}

// Under newer_wins: the incoming row is older than the stored one. A stored
// NULL version loses to anything; an incoming NULL loses to a stored value.
std::string Stale(const RowPlan& plan, std::string_view stored,
                  std::string_view incoming, const QuoteFn& quote) {
  std::string v = quote(plan.options().version_column);
  return fmt::format(
      "({0}.{2} IS NOT NULL AND ({1}.{2} IS NULL OR {1}.{2} < {0}.{2}))",
      stored, incoming, v);
}

// The failed constraints of a row, one element per check and foreign key:
// NULL when it holds; '' for a failed CHECK, the row's values for a failed
// foreign key.
std::string FailedArray(const RowPlan& plan, const QuoteFn& quote) {
  std::vector<std::string> items;
  for (const auto& check : plan.checks()) {
    items.push_back(
        fmt::format("CASE WHEN ({}) IS FALSE THEN '' END", check.expression));
  }
  for (const auto& fk : plan.foreign_keys()) {
    std::vector<std::string> present;
    std::vector<std::string> match;
    std::vector<std::string> shown;
    for (std::size_t i = 0; i < fk.columns.size(); ++i) {
      std::string col = "s." + quote(fk.columns[i]);
      present.push_back(col + " IS NOT NULL");
      match.push_back(fmt::format("r.{} {} {}", quote(fk.referenced_columns[i]),
                                  fk.operators[i], col));
      shown.push_back(col + "::pg_catalog.text");
    }
    std::string fails = fmt::format(
        "{} AND NOT EXISTS (SELECT 1 FROM {} r WHERE {})",
        fmt::join(present, " AND "), fk.referenced, fmt::join(match, " AND "));
    std::vector<std::string> in_batch = InBatchColumns(plan, fk);
    if (!in_batch.empty()) {
      fails += fmt::format(" AND NOT schema_guard.stage_feed_in_batch($2, {})",
                           fmt::join(Over(in_batch, "s", quote), ", "));
    }
    items.push_back(
        fmt::format("CASE WHEN {} THEN pg_catalog.concat_ws(', ', {}) END",
                    fails, fmt::join(shown, ", ")));
  }
  return fmt::format("ARRAY[{}]::pg_catalog.text[]", fmt::join(items, ", "));
}

std::string Selected(const RowPlan& plan, const QuoteFn& quote) {
  const auto& keys = plan.key_columns();
  if (keys.size() == 1) {
    const StageColumn* c = plan.target().Find(keys[0]);
    return fmt::format("s.{} = ANY ($3::{}[])", quote(keys[0]), c->type);
  }
  return fmt::format("{} = ANY ($3)", KeyTextSql(keys, "s", quote));
}

std::vector<std::string> MergeTargets(const RowPlan& plan) {
  std::vector<std::string> all = plan.key_columns();
  std::vector<std::string> columns = plan.MergeColumns();
  all.insert(all.end(), columns.begin(), columns.end());
  return all;
}

}  // namespace

std::string KeyTextSql(const std::vector<std::string>& key_columns,
                       std::string_view alias, const QuoteFn& quote) {
  std::vector<std::string> cols = Over(key_columns, alias, quote);
  if (cols.size() == 1) return cols[0] + "::pg_catalog.text";
  return fmt::format("ROW({})::pg_catalog.text", fmt::join(cols, ", "));
}

std::vector<std::string> InBatchColumns(const RowPlan& plan,
                                        const StageForeignKey& fk) {
  const auto& keys = plan.key_columns();
  if (!fk.self || fk.referenced_columns.size() != keys.size()) return {};
  std::vector<std::string> out;
  for (const auto& key : keys) {
    auto it = std::find(fk.referenced_columns.begin(),
                        fk.referenced_columns.end(), key);
    if (it == fk.referenced_columns.end()) return {};
    const std::string& column = fk.columns[static_cast<std::size_t>(
        it - fk.referenced_columns.begin())];
    const StageColumn* a = plan.target().Find(column);
    const StageColumn* b = plan.target().Find(key);
    if (a == nullptr || b == nullptr || a->type != b->type) return {};
    out.push_back(column);
  }
  return out;
}

std::string FeedSql(const FeedQuery& query, const QuoteFn& quote) {
  const RowPlan& plan = *query.plan;
  std::string rows = fmt::format(
      "SELECT (x.r).* FROM (SELECT schema_guard.stage_feed($2, NULL::{}) AS "
      "r) x",
      plan.target().quoted);
  bool checks = !plan.checks().empty() || !plan.foreign_keys().empty();
  if (!checks && !query.only_keys) return rows;
  return fmt::format(
      "SELECT s.* FROM ({}) s WHERE schema_guard.stage_feed_keep($2, {}, {})",
      rows, checks ? FailedArray(plan, quote) : "NULL::pg_catalog.text[]",
      query.only_keys ? Selected(plan, quote) : "true");
}

std::string ValidateSql(const FeedQuery& query, const QuoteFn& quote) {
  return fmt::format("SELECT pg_catalog.count(*) FROM ({}) f",
                     FeedSql(query, quote));
}

std::string MergeSql(const FeedQuery& query, const QuoteFn& quote) {
  const RowPlan& plan = *query.plan;
  std::vector<std::string> columns = plan.MergeColumns();
  std::vector<std::string> all = MergeTargets(plan);
  std::vector<std::string> into = Quoted(all, quote);
  std::vector<std::string> select;
  select.reserve(all.size() + 1);
  for (const auto& c : all) select.push_back(Inserted(plan, c, quote));
  const std::string& touch = plan.options().touch_column;
  if (!touch.empty()) {
    into.push_back(quote(touch));
    select.push_back("$1");
  }
  std::string action = "DO NOTHING";
  std::string returning = "(t.xmax = 0) AS inserted";
  if (Compares(plan, columns)) {
    std::vector<std::string> sets;
    sets.reserve(columns.size() + 1);
    for (const auto& c : columns) {
      sets.push_back(fmt::format("{} = {}", quote(c),
                                 Incoming(plan, c, "t", "EXCLUDED", quote)));
    }
    if (!touch.empty()) {
      sets.push_back(fmt::format("{0} = EXCLUDED.{0}", quote(touch)));
    }
    std::string where = Differs(plan, columns, "t", "EXCLUDED", quote);
    if (plan.options().conflict == ConflictRule::kNewerWins) {
      std::string v = quote(plan.options().version_column);
      where = fmt::format(
          "schema_guard.stage_feed_fresh($2, {}, t.{}::pg_catalog.text, "
          "EXCLUDED.{}::pg_catalog.text) AND {}",
          Stale(plan, "t", "EXCLUDED", quote), v, v, where);
      returning += ", schema_guard.stage_feed_written($2) AS written";
    }
    action =
        fmt::format("DO UPDATE SET {} WHERE {}", fmt::join(sets, ", "), where);
  }
  return fmt::format(
      "WITH merged AS (INSERT INTO {} AS t ({}) SELECT {} FROM ({}) f "
      "ON CONFLICT ({}) {} RETURNING {}) "
      "SELECT pg_catalog.count(*) FILTER (WHERE inserted), "
      "pg_catalog.count(*) FILTER (WHERE NOT inserted) FROM merged",
      plan.target().quoted, fmt::join(into, ", "), fmt::join(select, ", "),
      FeedSql(query, quote), fmt::join(Quoted(plan.key_columns(), quote), ", "),
      action, returning);
}

// The join is LATERAL so that the feed's rows are read one at a time, each
// followed by its stored row (stage_feed_carries asks about the row just
// read).
std::string DryRunSql(const FeedQuery& query, const QuoteFn& quote) {
  const RowPlan& plan = *query.plan;
  std::vector<std::string> columns = plan.MergeColumns();
  std::string found = "t.ctid IS NOT NULL";
  std::string fresh = "true";
  std::string stale = "false";
  if (plan.options().conflict == ConflictRule::kNewerWins) {
    stale = Stale(plan, "t", "s", quote);
    fresh = "NOT " + stale;
  }
  std::string differs = Compares(plan, columns)
                            ? Differs(plan, columns, "t", "s", quote)
                            : std::string("false");
  return fmt::format(
      "SELECT pg_catalog.count(*) FILTER (WHERE t.ctid IS NULL), "
      "pg_catalog.count(*) FILTER (WHERE {0} AND {1} AND {2}), "
      "pg_catalog.count(*) FILTER (WHERE {0} AND {1} AND NOT {2}), "
      "pg_catalog.count(*) FILTER (WHERE {0} AND {3}) "
      "FROM ({4}) s LEFT JOIN LATERAL (SELECT t.*, t.ctid FROM {5} t WHERE "
      "{6}) t ON true",
      found, fresh, differs, stale, FeedSql(query, quote), plan.target().quoted,
      KeyJoin(plan.key_columns(), "t", "s", quote));
}

}  // namespace schema_guard::core
