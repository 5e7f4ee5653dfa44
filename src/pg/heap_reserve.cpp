// A large check or snapshot touches a few hundred megabytes of fresh heap
// (the manifest's parse tree, two schema models, the catalog's raw rows),
// and each first touch of a page is a fault (see core/fresh_pages.hpp): on
// the 10,000-table benchmark that was half of check()'s time.
//
// malloc gives no hook to fault its heap in bulk, so the reserve goes
// around it: it allocates the memory in chunks below malloc's smallest
// mmap threshold (so they come from the heap), prefaults them, and frees
// all but the last one. The freed chunks coalesce into free heap space that
// the call's allocations then reuse; the last chunk (the fence) keeps that
// space away from the heap's top, where free() would hand it back to the
// system at once. Freeing the fence at the end lets malloc trim the heap as
// usual, and the destructor trims what the call left unused.
#include "pg/heap_reserve.hpp"

#include <malloc.h>

#include <cstdint>
#include <cstdlib>

#include "core/fresh_pages.hpp"

namespace schema_guard::pg {
namespace {

// Under malloc's smallest mmap threshold (128 kB): always heap memory.
constexpr std::size_t kChunk = 64 * 1024 - 64;
// Below this a call faults in too few pages to be worth it.
constexpr std::size_t kMinimum = 8 * 1024 * 1024;
constexpr std::size_t kMaximum = std::size_t{1} << 30;
// malloc's chunk header between two chunks cut one after the other.
constexpr std::uintptr_t kHeaderGap = 64;

}  // namespace

void HeapReserve::Fill(std::size_t bytes) noexcept {
#if defined(__GLIBC__)
  if (fence_ != nullptr || bytes < kMinimum) return;
  if (bytes > kMaximum) bytes = kMaximum;
  std::size_t count = bytes / kChunk + 1;
  auto* chunks = static_cast<void**>(std::malloc(count * sizeof(void*)));
  if (chunks == nullptr) return;
  std::size_t made = 0;
  while (made < count) {
    void* p = std::malloc(kChunk);
    if (p == nullptr) break;
    chunks[made++] = p;
  }
  // Adjacent chunks (the usual case: they are cut from the heap's top one
  // after the other) are prefaulted as one run.
  bool ok = true;
  std::uintptr_t run_from = 0;
  std::uintptr_t run_to = 0;
  for (std::size_t i = 0; i < made && ok; ++i) {
    auto at = reinterpret_cast<std::uintptr_t>(chunks[i]);
    if (run_to != 0 && at >= run_to && at - run_to <= kHeaderGap) {
      run_to = at + kChunk;
      continue;
    }
    if (run_to != 0) {
      ok = core::PrefaultPages(reinterpret_cast<void*>(run_from),
                               run_to - run_from, true);
    }
    run_from = at;
    run_to = at + kChunk;
  }
  if (ok && run_to != 0) {
    core::PrefaultPages(reinterpret_cast<void*>(run_from), run_to - run_from,
                        true);
  }
  if (made > 0) fence_ = chunks[--made];
  for (std::size_t i = 0; i < made; ++i) std::free(chunks[i]);
  std::free(chunks);
#else
  (void)bytes;
#endif
}

// What the call left unused goes back to the system now, not at the next
// trim of the heap's top: a pooled connection does not keep it.
HeapReserve::~HeapReserve() {
  if (fence_ == nullptr) return;
  std::free(fence_);
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

}  // namespace schema_guard::pg
