#include "pg/progress.hpp"

#include <utility>

#include "core/progress.hpp"
#include "pg/bridge.hpp"
#include "pg/settings.hpp"

extern "C" {
#include "utils/elog.h"
#include "utils/timestamp.h"
}

namespace schema_guard::pg {

Progress::Progress(std::string operation)
    : operation_(std::move(operation)), interval_ms_(progress_interval_ms) {
  if (interval_ms_ <= 0) return;
  TimestampTz now = 0;
  PgTry([&]() noexcept { now = GetCurrentTimestamp(); });
  start_ = now;
  last_ = now;
}

void Progress::Phase(std::string_view phase, std::string_view unit,
                     int64_t total, int64_t stride, int64_t done) {
  if (interval_ms_ <= 0) return;
  phase_ = phase;
  unit_ = unit;
  total_ = total;
  done_ = done;
  stride_ = stride < 1 ? 1 : stride;
  Tick();
}

void Progress::Tick() {
  if (interval_ms_ <= 0) {
    countdown_ = std::numeric_limits<int64_t>::max();
    return;
  }
  countdown_ = stride_;
  TimestampTz now = 0;
  TimestampTz last = last_;
  int interval = interval_ms_;
  bool due = false;
  PgTry([&]() noexcept {
    now = GetCurrentTimestamp();
    due = TimestampDifferenceExceeds(last, now, interval);
  });
  if (due) Report(now);
}

void Progress::Report(TimestampTz now) {
  last_ = now;
  core::ProgressPoint point;
  point.operation = operation_;
  point.phase = phase_;
  point.unit = unit_;
  point.done = done_;
  point.total = total_;
  point.elapsed_us = now - start_;
  std::string text = core::ProgressMessage(point);
  const char* message = text.c_str();
  // No CONTEXT or STATEMENT: a NOTICE raised inside the merge would carry
  // the whole statement the feed serves.
  PgTry([&]() noexcept {
    ereport(NOTICE, (errmsg_internal("%s", message), errhidecontext(true),
                     errhidestmt(true)));
  });
}

}  // namespace schema_guard::pg
