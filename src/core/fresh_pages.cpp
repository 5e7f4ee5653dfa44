#include "core/fresh_pages.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

// Older C library headers lack the name; the kernel decides.
#if defined(__linux__) && !defined(MADV_POPULATE_WRITE)
#define MADV_POPULATE_WRITE 23
#endif

namespace schema_guard::core {

bool PrefaultPages(void* data, std::size_t bytes, bool huge) noexcept {
#if defined(MADV_POPULATE_WRITE)
  static const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  // Alignment is computed on the address; the ranges advised are pointers
  // into `data`, moved by the distance to the aligned address.
  char* base = static_cast<char*>(data);
  const auto start = reinterpret_cast<std::uintptr_t>(data);
  const std::uintptr_t end = start + bytes;
#if defined(MADV_HUGEPAGE)
  constexpr std::uintptr_t kHuge = std::uintptr_t{2} << 20;
  std::uintptr_t huge_from = (start + kHuge - 1) & ~(kHuge - 1);
  std::uintptr_t huge_to = end & ~(kHuge - 1);
  // Advice only: without transparent huge pages the range stays as it is.
  if (huge && huge_to > huge_from) {
    madvise(base + (huge_from - start), huge_to - huge_from, MADV_HUGEPAGE);
  }
#else
  (void)huge;
#endif
  std::uintptr_t from = (start + page - 1) & ~(page - 1);
  std::uintptr_t to = end & ~(page - 1);
  if (to <= from) return true;
  return madvise(base + (from - start), to - from, MADV_POPULATE_WRITE) == 0;
#else
  (void)data;
  (void)bytes;
  (void)huge;
  return false;
#endif
}

}  // namespace schema_guard::core
