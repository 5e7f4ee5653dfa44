// django_migrations read straight from its heap, for the migration check:
// a new session's first check would otherwise plan a query, run it through
// the executor and copy 10,000 result tuples (a third of its time).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace schema_guard::pg {

// One row of django_migrations: app, name, and applied as microseconds
// since 1970-01-01 UTC (unset when NULL).
struct DjangoHistoryRow {
  std::string app;
  std::string name;
  std::optional<long long> applied_micros;
};

// The rows of `table` (quoted, qualified) in the order of its id, NULL ids
// last, as `SELECT ... ORDER BY id` returns them; false, with nothing read,
// when the plain heap scan would not see what a query sees, so that the
// caller runs the query: a relation other than a plain table, SELECT
// granted on columns only or not at all, row-level security, a column
// missing or of another type than Django creates (app and name varchar or
// text, applied timestamptz, id an integer), or an infinite time.
bool ReadDjangoHistoryHeap(const std::string& table,
                           std::vector<DjangoHistoryRow>* rows);

}  // namespace schema_guard::pg
