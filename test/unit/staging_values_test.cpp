#include "core/staging_values.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace schema_guard::core {
namespace {

TEST(ReadCanonicalUuid, ReadsTheCanonicalFormInEitherCase) {
  unsigned char u[16];
  ASSERT_TRUE(ReadCanonicalUuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", u));
  const unsigned char want[16] = {0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b,
                                  0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9,
                                  0xbd, 0x38, 0x0a, 0x11};
  for (int i = 0; i < 16; ++i) EXPECT_EQ(u[i], want[i]) << i;
  unsigned char upper[16];
  ASSERT_TRUE(ReadCanonicalUuid("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", upper));
  for (int i = 0; i < 16; ++i) EXPECT_EQ(upper[i], want[i]) << i;
}

TEST(ReadCanonicalUuid, LeavesEveryOtherSpellingToTheInputFunction) {
  unsigned char u[16];
  // Spellings uuid_in accepts too, and ones it refuses: all read by it.
  EXPECT_FALSE(ReadCanonicalUuid("{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}", u));
  EXPECT_FALSE(ReadCanonicalUuid("a0eebc999c0b4ef8bb6d6bb9bd380a11", u));
  EXPECT_FALSE(ReadCanonicalUuid("a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11", u));
  EXPECT_FALSE(ReadCanonicalUuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1", u));
  EXPECT_FALSE(ReadCanonicalUuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111", u));
  EXPECT_FALSE(ReadCanonicalUuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1g", u));
  EXPECT_FALSE(ReadCanonicalUuid(" a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", u));
  EXPECT_FALSE(ReadCanonicalUuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11 ", u));
  EXPECT_FALSE(ReadCanonicalUuid("", u));
  EXPECT_FALSE(ReadCanonicalUuid("a0eebc99", u));
}

int64_t Read(const char* text, bool zoned = true, int digits = 6) {
  int64_t us = -1;
  EXPECT_TRUE(ReadIsoTimestamp(text, zoned, digits, &us)) << text;
  return us;
}

bool Refused(const char* text, bool zoned = true, int digits = 6) {
  int64_t us = 0;
  return !ReadIsoTimestamp(text, zoned, digits, &us);
}

constexpr int64_t kDay = int64_t{86400} * 1000000;
constexpr int64_t kHour = int64_t{3600} * 1000000;

TEST(ReadIsoTimestamp, CountsFromPostgresEpoch) {
  EXPECT_EQ(Read("2000-01-01T00:00:00Z"), 0);
  EXPECT_EQ(Read("2000-01-01 00:00:00+00"), 0);
  EXPECT_EQ(Read("2000-01-02T00:00:00+00:00"), kDay);
  EXPECT_EQ(Read("1999-12-31T00:00:00Z"), -kDay);
  // SELECT extract(epoch FROM timestamptz '2026-01-01 00:00:00+00')
  //   - extract(epoch FROM timestamptz '2000-01-01 00:00:00+00') = 820540800
  EXPECT_EQ(Read("2026-01-01T00:00:00+00:00"), int64_t{820540800} * 1000000);
  EXPECT_EQ(Read("2024-02-29T12:00:00Z"), Read("2024-03-01T12:00:00Z") - kDay);
  EXPECT_EQ(Read("2000-03-01T00:00:00Z") - Read("2000-02-28T00:00:00Z"),
            2 * kDay);
  EXPECT_EQ(Read("1900-03-01T00:00:00Z") - Read("1900-02-28T00:00:00Z"), kDay);
  // 0001-01-01 is 730119 days before 2000-01-01.
  EXPECT_EQ(Read("0001-01-01T00:00:00Z"), -int64_t{730119} * kDay);
  EXPECT_EQ(Read("9999-12-31T23:59:59Z"),
            (int64_t{2921939} * 86400 + 86399) * 1000000);
}

TEST(ReadIsoTimestamp, AppliesTheZoneAndTheFraction) {
  EXPECT_EQ(Read("2000-01-01T05:30:00+05:30"), 0);
  EXPECT_EQ(Read("1999-12-31T21:00:00-03"), 0);
  EXPECT_EQ(Read("1999-12-31T20:30:00-03:30"), 0);
  EXPECT_EQ(Read("2000-01-01T00:00:00.5Z"), 500000);
  EXPECT_EQ(Read("2000-01-01T00:00:00.000001Z"), 1);
  EXPECT_EQ(Read("2000-01-01T00:00:01.123456+01"), 1123456 - kHour);
  EXPECT_EQ(Read("2000-01-01T00:00:00.12Z", true, 2), 120000);
  EXPECT_EQ(Read("2000-01-01T00:00:00", false), 0);
  EXPECT_EQ(Read("2000-01-01 01:00:00.25", false), kHour + 250000);
}

TEST(ReadIsoTimestamp, LeavesEveryOtherSpellingToTheInputFunction) {
  // Dates and times PostgreSQL refuses or reads with rules of its own.
  EXPECT_TRUE(Refused("2023-02-29T00:00:00Z"));
  EXPECT_TRUE(Refused("2026-13-01T00:00:00Z"));
  EXPECT_TRUE(Refused("2026-00-01T00:00:00Z"));
  EXPECT_TRUE(Refused("2026-04-31T00:00:00Z"));
  EXPECT_TRUE(Refused("0000-01-01T00:00:00Z"));
  EXPECT_TRUE(Refused("2026-01-01T24:00:00Z"));
  EXPECT_TRUE(Refused("2026-01-01T23:59:60Z"));
  EXPECT_TRUE(Refused("2026-01-01T23:60:00Z"));
  // More fractional digits than kept, or than the column's precision.
  EXPECT_TRUE(Refused("2026-01-01T00:00:00.1234567Z"));
  EXPECT_TRUE(Refused("2026-01-01T00:00:00.123Z", true, 2));
  EXPECT_TRUE(Refused("2026-01-01T00:00:00.Z"));
  // No zone (the session's TimeZone applies), or one read otherwise.
  EXPECT_TRUE(Refused("2026-01-01T00:00:00"));
  EXPECT_TRUE(Refused("2026-01-01T00:00:00+0530"));
  EXPECT_TRUE(Refused("2026-01-01T00:00:00+15"));
  EXPECT_TRUE(Refused("2026-01-01T00:00:00 UTC"));
  EXPECT_TRUE(Refused("2026-01-01T00:00:00Europe/Paris"));
  EXPECT_TRUE(Refused("2026-01-01T00:00:00z"));
  // A zone where none is read.
  EXPECT_TRUE(Refused("2026-01-01T00:00:00Z", false));
  // Other shapes.
  EXPECT_TRUE(Refused("2026-1-01T00:00:00Z"));
  EXPECT_TRUE(Refused("26-01-01T00:00:00Z"));
  EXPECT_TRUE(Refused("2026-01-01"));
  EXPECT_TRUE(Refused("2026-01-01T00:00Z"));
  EXPECT_TRUE(Refused("2026-01-01t00:00:00Z"));
  EXPECT_TRUE(Refused(" 2026-01-01T00:00:00Z"));
  EXPECT_TRUE(Refused("2026-01-01T00:00:00Z "));
  EXPECT_TRUE(Refused("epoch"));
  EXPECT_TRUE(Refused(""));
}

}  // namespace
}  // namespace schema_guard::core
