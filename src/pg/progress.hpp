// Progress NOTICEs of long operations (stage_validate, stage_apply, the
// schema check): at most one per schema_guard.progress interval, saying the
// phase and how far it has come (core/progress.hpp words it).
//
// Step() is the only call on a hot path: a counter, and every `stride`
// steps a clock read (GetCurrentTimestamp, a vDSO call, no syscall). With
// schema_guard.progress = 0 it never reads the clock. A phase that is one
// statement or one call the reporter cannot step inside is announced by
// Phase(), when the interval has passed, and by nothing else.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

extern "C" {
#include "postgres.h"

#include "datatype/timestamp.h"
}

namespace schema_guard::pg {

class Progress {
 public:
  // Reads schema_guard.progress; `operation` names what runs in each
  // message ("applying batch 12", "schema check").
  explicit Progress(std::string operation);

  // Starts a phase and reports it if the interval has passed. `unit`:
  // what it counts ("rows"), empty for a phase that counts nothing; `total`
  // -1 when not known (then `done`, a size, may be given); `stride`: the
  // steps between two clock reads.
  void Phase(std::string_view phase, std::string_view unit = {},
             int64_t total = -1, int64_t stride = 1, int64_t done = 0);

  void Step(int64_t n = 1) {
    done_ += n;
    countdown_ -= n;
    if (countdown_ <= 0) Tick();
  }

 private:
  void Tick();
  void Report(TimestampTz now);

  std::string operation_;
  std::string phase_;
  std::string unit_;
  int64_t total_ = -1;
  int64_t done_ = 0;
  int64_t stride_ = 1;
  int64_t countdown_ = std::numeric_limits<int64_t>::max();
  int interval_ms_ = 0;  // 0: off
  TimestampTz start_ = 0;
  TimestampTz last_ = 0;  // the start or the last report
};

}  // namespace schema_guard::pg
