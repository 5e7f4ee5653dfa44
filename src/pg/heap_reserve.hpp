// Fresh memory for a large schema read, faulted in by one system call per
// run of pages instead of one trap per 4 kB page (see heap_reserve.cpp).
#pragma once

#include <cstddef>

namespace schema_guard::pg {

class HeapReserve {
 public:
  HeapReserve() = default;
  HeapReserve(const HeapReserve&) = delete;
  HeapReserve& operator=(const HeapReserve&) = delete;
  ~HeapReserve();

  // Leaves about `bytes` of populated free memory in malloc's heap for the
  // allocations that follow; nothing below a few megabytes, and nothing
  // when the platform cannot populate pages. Called once.
  void Fill(std::size_t bytes) noexcept;

 private:
  void* fence_ = nullptr;
};

}  // namespace schema_guard::pg
