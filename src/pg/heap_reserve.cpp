// A large check or snapshot touches a few hundred megabytes of fresh heap
// (the manifest's parse tree, two schema models, the catalog's raw rows),
// and each first touch of a page is a fault (see core/fresh_pages.hpp): on
// the 10,000-table benchmark that was half of check()'s time. Under a
// hypervisor that traps every first access to a 4 kB page, populating 4 kB
// pages in advance only halves that cost; 2 MB pages remove it.
//
// malloc gives no hook to fault its heap in bulk, so the reserve goes
// around it. It allocates the memory in a few large pieces from the heap
// (brk), marks their inside for transparent huge pages and populates it in
// one call per run of adjacent pieces, then frees them all, keeping a 64 kB
// fence allocated after them. The freed pieces coalesce into free heap space
// that the call's allocations then reuse; the fence keeps that space away from
// the heap's top, where free() would hand it back to the system at once.
// Freeing the fence at the end lets malloc trim the heap as usual, and the
// destructor trims what the call left unused.
//
// A piece comes from the heap only below malloc's mmap threshold. glibc
// raises that threshold (to at most 32 MB) each time it frees a chunk it
// had mapped on its own, as it does for any large allocation freed, so the
// reserve allocates and frees one piece-sized chunk first. Where a piece
// still does not land in the heap (another malloc, a heap that cannot
// grow), the reserve falls back to chunks under the smallest threshold,
// which get 4 kB pages.
#include "pg/heap_reserve.hpp"

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "core/fresh_pages.hpp"

namespace schema_guard::pg {
namespace {

// Under malloc's smallest mmap threshold (128 kB): always heap memory.
constexpr std::size_t kChunk = 64 * 1024 - 64;
// Below this a call faults in too few pages to be worth it.
constexpr std::size_t kMinimum = std::size_t{8} << 20;
constexpr std::size_t kMaximum = std::size_t{1} << 30;
// Under glibc's largest dynamic mmap threshold (32 MB on 64-bit systems).
constexpr std::size_t kPiece = std::size_t{30} << 20;
// malloc's chunk header between two chunks cut one after the other.
constexpr std::uintptr_t kHeaderGap = 64;

// Whether [p, p + bytes) lies below the program break: in the main heap,
// not in a mapping of its own.
bool InHeap(const void* p, std::size_t bytes) {
  auto top = reinterpret_cast<std::uintptr_t>(sbrk(0));
  auto at = reinterpret_cast<std::uintptr_t>(p);
  return at < top && bytes <= top - at;
}

// Populates `count` chunks of `size` bytes, adjacent ones (the usual case:
// they are cut from the heap's top one after the other) as one run.
void Populate(void* const* chunks, std::size_t count, std::size_t size) {
  char* run_from = nullptr;
  std::size_t run_bytes = 0;
  for (std::size_t i = 0; i < count; ++i) {
    char* at = static_cast<char*>(chunks[i]);
    if (run_from != nullptr) {
      auto from = reinterpret_cast<std::uintptr_t>(at);
      auto end = reinterpret_cast<std::uintptr_t>(run_from) + run_bytes;
      if (from >= end && from - end <= kHeaderGap) {
        run_bytes += (from - end) + size;
        continue;
      }
      if (!core::PrefaultPages(run_from, run_bytes, true)) return;
    }
    run_from = at;
    run_bytes = size;
  }
  if (run_from != nullptr) core::PrefaultPages(run_from, run_bytes, true);
}

}  // namespace

void HeapReserve::Fill(std::size_t bytes) noexcept {
#if defined(__GLIBC__)
  if (fence_ != nullptr || bytes < kMinimum) return;
  bytes = std::min(bytes, kMaximum);
  // Equal pieces, each under kPiece.
  const std::size_t pieces = (bytes + kPiece - 1) / kPiece;
  std::size_t piece = (bytes + pieces - 1) / pieces;
  {
    // Raises the mmap threshold above `piece` (see above). volatile: the
    // compiler may not drop the pair.
    void* volatile probe = std::malloc(piece + kChunk);
    std::free(probe);
  }
  auto* chunks =
      static_cast<void**>(std::malloc((bytes / kChunk + 1) * sizeof(void*)));
  if (chunks == nullptr) return;
  std::size_t made = 0;
  std::size_t count = pieces;
  while (made < count) {
    void* p = std::malloc(piece);
    if (p == nullptr) break;
    if (piece != kChunk && !InHeap(p, piece)) {
      // Mapped on its own: start again with small chunks.
      std::free(p);
      for (std::size_t i = 0; i < made; ++i) std::free(chunks[i]);
      made = 0;
      piece = kChunk;
      count = bytes / kChunk + 1;
      continue;
    }
    chunks[made++] = p;
  }
  if (made == 0) {
    std::free(chunks);
    return;
  }
  Populate(chunks, made, piece);
  // The fence must lie above the pieces; a small allocation served from
  // free space further down would not keep them from the heap's top.
  fence_ = std::malloc(kChunk);
  auto above = [](const void* a, const void* b) {
    return reinterpret_cast<std::uintptr_t>(a) >
           reinterpret_cast<std::uintptr_t>(b);
  };
  if (fence_ == nullptr || !above(fence_, chunks[made - 1])) {
    std::free(fence_);
    fence_ = chunks[--made];
  }
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
