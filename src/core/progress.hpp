// What a long operation's progress NOTICE says: the operation, its phase,
// how far the phase has come and the time since the operation started.
// When a NOTICE is due (schema_guard.progress) is decided in
// src/pg/progress.hpp, which raises it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace schema_guard::core {

// Where an operation is.
struct ProgressPoint {
  std::string_view operation;  // "stage_apply of batch 12", "check"
  std::string_view phase;      // "converting", "reading catalogs"
  // What the phase counts ("rows", "relations"); empty when it counts
  // nothing (one statement, the diff).
  std::string_view unit;
  int64_t done = 0;
  int64_t total = -1;  // -1 when not known
  int64_t elapsed_us = 0;
};

// "schema_guard: stage_apply of batch 12: converting, 400000 of 1000000 rows
// (40%), 9.8 s"; without a total "..., 300000 rows, 2.0 s"; without a unit
// "schema_guard: check: comparing, 3.1 s".
std::string ProgressMessage(const ProgressPoint& point);

// done as a whole percentage of total, rounded down and at most 100 (so a
// phase never shows 100% before it is done); 100 for an empty total.
int ProgressPercent(int64_t done, int64_t total);

// Seconds with one decimal: "9.8 s" (never negative).
std::string ElapsedText(int64_t elapsed_us);

}  // namespace schema_guard::core
