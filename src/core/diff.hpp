// The diff engine: expected schema vs live schema -> findings, each with
// the DDL that fixes it (where one exists) and that DDL's hazards.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/finding.hpp"
#include "core/schema.hpp"

namespace schema_guard::core {

struct DiffOptions {
  bool online = true;  // lock-safe fix forms
  // Quotes an identifier for SQL (the boundary passes PostgreSQL's
  // quote_identifier).
  std::function<std::string(std::string_view)> quote;
  // Whether PostgreSQL casts a value of the first type to the second
  // (explicitly); unset: every cast is taken to exist.
  std::function<bool(const std::string&, const std::string&)> can_cast;
};

std::vector<Finding> Diff(const Schema& expected, const Schema& actual,
                          const DiffOptions& options);

struct Summary {
  std::size_t tables_expected = 0;
  std::size_t tables_present = 0;
  std::size_t tables_missing = 0;
  std::size_t orphans = 0;
  std::size_t orphans_expected = 0;
  std::size_t column_differences = 0;
  std::size_t errors = 0;
  std::size_t warnings = 0;
};

Summary Summarize(const Schema& expected, const std::vector<Finding>& findings);

}  // namespace schema_guard::core
