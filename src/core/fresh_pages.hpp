// Faulting in fresh memory in bulk. Under a hypervisor the first touch of
// each 4 kB page is a trap that costs 10-20 us; MADV_POPULATE_WRITE
// (Linux 5.14) maps a whole range in one call. Under PVM a 4 kB page mapped
// that way still traps on its first access, at about half the cost of a
// fault; a 2 MB transparent huge page does not, which is why callers ask
// for huge pages where the range holds whole ones. Large schema work calls
// this on the big buffers it is about to fill, and pg::HeapReserve on the
// heap it leaves for the allocations.
#pragma once

#include <cstddef>

namespace schema_guard::core {

// Maps the whole pages of [data, data + bytes) as written. False when the
// platform cannot (the memory then faults in page by page, as before).
// With `huge`, the range's whole 2 MB extents are first marked for
// transparent huge pages (where they are enabled as `always` or
// `madvise`): fewer TLB misses for the work that fills them.
bool PrefaultPages(void* data, std::size_t bytes, bool huge = false) noexcept;

}  // namespace schema_guard::core
