#include "core/progress.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace schema_guard::core {
namespace {

TEST(ProgressMessage, CountWithTotal) {
  ProgressPoint p;
  p.operation = "applying batch 12";
  p.phase = "converting";
  p.unit = "rows";
  p.done = 400000;
  p.total = 1000000;
  p.elapsed_us = 9'800'000;
  EXPECT_EQ(ProgressMessage(p),
            "applying batch 12: converting, 400000 of "
            "1000000 rows (40%), 9.8 s");
}

TEST(ProgressMessage, CountWithoutTotal) {
  ProgressPoint p;
  p.operation = "validating batch 3";
  p.phase = "scanning";
  p.unit = "rows";
  p.done = 300000;
  p.elapsed_us = 2'000'000;
  EXPECT_EQ(ProgressMessage(p),
            "validating batch 3: scanning, 300000 rows, "
            "2.0 s");
}

TEST(ProgressMessage, PhaseWithoutCount) {
  ProgressPoint p;
  p.operation = "schema check";
  p.phase = "comparing";
  p.done = 17;  // ignored without a unit
  p.total = 20;
  p.elapsed_us = 3'140'000;
  EXPECT_EQ(ProgressMessage(p), "schema check: comparing, 3.1 s");
}

TEST(ProgressMessage, LowercaseNoTrailingPeriod) {
  ProgressPoint p;
  p.operation = "fix script";
  p.phase = "rendering";
  p.unit = "findings";
  p.done = 5;
  std::string text = ProgressMessage(p);
  EXPECT_EQ(text, "fix script: rendering, 5 findings, 0.0 s");
  EXPECT_NE(text.back(), '.');
}

TEST(ProgressPercent, RoundsDownAndStopsAtHundred) {
  EXPECT_EQ(ProgressPercent(0, 1000), 0);
  EXPECT_EQ(ProgressPercent(-5, 1000), 0);
  EXPECT_EQ(ProgressPercent(1, 1000), 0);
  EXPECT_EQ(ProgressPercent(399, 1000), 39);
  EXPECT_EQ(ProgressPercent(999, 1000), 99);
  EXPECT_EQ(ProgressPercent(1000, 1000), 100);
  EXPECT_EQ(ProgressPercent(1200, 1000), 100);
  EXPECT_EQ(ProgressPercent(0, 0), 100);
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(ProgressPercent(kMax - 1, kMax), 99);
  EXPECT_EQ(ProgressPercent(kMax / 2, kMax), 49);
}

TEST(ElapsedText, TenthsRounded) {
  EXPECT_EQ(ElapsedText(0), "0.0 s");
  EXPECT_EQ(ElapsedText(-1'000'000), "0.0 s");
  EXPECT_EQ(ElapsedText(49'999), "0.0 s");
  EXPECT_EQ(ElapsedText(50'000), "0.1 s");
  EXPECT_EQ(ElapsedText(9'960'000), "10.0 s");
  EXPECT_EQ(ElapsedText(3'600'000'000), "3600.0 s");
}

}  // namespace
}  // namespace schema_guard::core
