#include "core/statement.hpp"

#include <gtest/gtest.h>

#include <string>

namespace schema_guard::core {
namespace {

TEST(TruncatedStatement, AppendsAMarkerWithTheFullSize) {
  EXPECT_EQ(TruncatedStatement("ALTER TABLE t ADD", 4096),
            "ALTER TABLE t ADD ... [truncated: 4096 bytes in all]");
}

TEST(TruncatedStatement, KeepsBinaryAndMultibyteTextVerbatim) {
  std::string kept = "SELECT 'é\"';";
  EXPECT_EQ(TruncatedStatement(kept, 10485760).substr(0, kept.size()), kept);
}

TEST(TruncatedStatement, EmptyPrefixStillSaysWhatWasCut) {
  EXPECT_EQ(TruncatedStatement("", 5), " ... [truncated: 5 bytes in all]");
}

TEST(TruncationMarker, NamesTheTotal) {
  EXPECT_EQ(TruncationMarker(0), " ... [truncated: 0 bytes in all]");
}

}  // namespace
}  // namespace schema_guard::core
