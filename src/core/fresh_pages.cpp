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
  auto from = reinterpret_cast<std::uintptr_t>(data);
  std::uintptr_t to = from + bytes;
#if defined(MADV_HUGEPAGE)
  constexpr std::uintptr_t kHuge = std::uintptr_t{2} << 20;
  std::uintptr_t huge_from = (from + kHuge - 1) & ~(kHuge - 1);
  std::uintptr_t huge_to = to & ~(kHuge - 1);
  // Advice only: without transparent huge pages the range stays as it is.
  if (huge && huge_to > huge_from) {
    madvise(reinterpret_cast<void*>(huge_from), huge_to - huge_from,
            MADV_HUGEPAGE);
  }
#else
  (void)huge;
#endif
  from = (from + page - 1) & ~(page - 1);
  to &= ~(page - 1);
  if (to <= from) return true;
  return madvise(reinterpret_cast<void*>(from), to - from,
                 MADV_POPULATE_WRITE) == 0;
#else
  (void)data;
  (void)bytes;
  (void)huge;
  return false;
#endif
}

}  // namespace schema_guard::core
