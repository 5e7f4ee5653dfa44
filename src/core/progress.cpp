#include "core/progress.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

namespace schema_guard::core {

int ProgressPercent(int64_t done, int64_t total) {
  if (total <= 0 || done >= total) return 100;
  if (done <= 0) return 0;
  // 0 < done < total here. Past int64 / 100 the product would overflow:
  // long double then (exact for int64 where it has a 64-bit mantissa).
  int64_t percent =
      done <= std::numeric_limits<int64_t>::max() / 100
          ? done * 100 / total
          : static_cast<int64_t>(static_cast<long double>(done) * 100 /
                                 static_cast<long double>(total));
  return static_cast<int>(std::min<int64_t>(percent, 99));
}

std::string ElapsedText(int64_t elapsed_us) {
  if (elapsed_us < 0) elapsed_us = 0;
  // Tenths of a second, rounded to the nearest.
  int64_t tenths = (elapsed_us + 50000) / 100000;
  return fmt::format("{}.{} s", tenths / 10, tenths % 10);
}

std::string ProgressMessage(const ProgressPoint& point) {
  std::string text = fmt::format("{}: {}", point.operation, point.phase);
  if (!point.unit.empty()) {
    if (point.total >= 0) {
      text += fmt::format(", {} of {} {} ({}%)", point.done, point.total,
                          point.unit, ProgressPercent(point.done, point.total));
    } else {
      text += fmt::format(", {} {}", point.done, point.unit);
    }
  }
  text += ", ";
  text += ElapsedText(point.elapsed_us);
  return text;
}

}  // namespace schema_guard::core
