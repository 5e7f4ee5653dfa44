#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "core/fresh_pages.hpp"
#include "core/sparse_text.hpp"

namespace schema_guard::core {
namespace {

long MinorFaults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

// Touches one byte per page; returns the page faults it took.
long TouchPages(char* data, std::size_t bytes) {
  long before = MinorFaults();
  for (std::size_t i = 0; i < bytes; i += 4096) data[i] = 1;
  return MinorFaults() - before;
}

TEST(PrefaultPages, MapsTheRangeSoThatWritingItTakesNoFault) {
  constexpr std::size_t kBytes = 16 << 20;
  void* fresh = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(fresh, MAP_FAILED);
  void* prefaulted = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(prefaulted, MAP_FAILED);
  if (!PrefaultPages(prefaulted, kBytes)) {
    munmap(fresh, kBytes);
    munmap(prefaulted, kBytes);
    GTEST_SKIP() << "this kernel cannot populate pages (Linux < 5.14)";
  }
  long page_by_page = TouchPages(static_cast<char*>(fresh), kBytes);
  long after_prefault = TouchPages(static_cast<char*>(prefaulted), kBytes);
  // 4,096 pages: one fault each (fewer with transparent huge pages), and
  // next to none once prefaulted (under ASan, the faults of its shadow
  // memory, one per 32 kB, remain in both).
  EXPECT_GT(page_by_page, 0);
  EXPECT_LT(after_prefault, page_by_page / 4);
  munmap(fresh, kBytes);
  munmap(prefaulted, kBytes);
}

TEST(PrefaultPages, AsksForHugePagesAndStillMapsTheRange) {
  constexpr std::size_t kBytes = 8 << 20;
  void* range = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(range, MAP_FAILED);
  if (!PrefaultPages(range, kBytes, true)) {
    munmap(range, kBytes);
    GTEST_SKIP() << "this kernel cannot populate pages (Linux < 5.14)";
  }
  // 2,048 pages; under ASan its shadow memory faults once per 32 kB.
  EXPECT_LT(TouchPages(static_cast<char*>(range), kBytes), 2048 / 4);
  munmap(range, kBytes);
}

TEST(PrefaultPages, LeavesPartialPagesAndEmptyRangesAlone) {
  std::vector<char> small(100, 'x');
  EXPECT_TRUE(PrefaultPages(small.data(), small.size()));
  EXPECT_TRUE(PrefaultPages(small.data(), 0));
  EXPECT_EQ(small[0], 'x');
  EXPECT_EQ(small[99], 'x');
}

TEST(SparseText, IsOnePointerAndHoldsNothingWhenEmpty) {
  static_assert(sizeof(SparseText) == sizeof(void*));
  SparseText text;
  EXPECT_TRUE(text.empty());
  EXPECT_EQ(text.str(), "");
  text = std::string();
  EXPECT_TRUE(text.empty());
  text = "C";
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(text, "C");
  EXPECT_EQ(text.size(), 1u);
}

TEST(SparseText, CopiesMovesAndComparesLikeAString) {
  SparseText a("pg_catalog.\"C\"");
  SparseText b = a;
  EXPECT_EQ(a, b);
  EXPECT_EQ(std::string(b), "pg_catalog.\"C\"");
  SparseText c = std::move(b);
  EXPECT_EQ(c, a);
  EXPECT_NE(c, SparseText("x"));
  EXPECT_TRUE(SparseText("a") < SparseText("b"));
  EXPECT_EQ("col " + SparseText("x"), "col x");
  EXPECT_EQ(fmt::format("[{}]", a), "[pg_catalog.\"C\"]");
  std::string_view view = a;
  EXPECT_EQ(view, "pg_catalog.\"C\"");
}

}  // namespace
}  // namespace schema_guard::core
