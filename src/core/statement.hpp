// The statement text stored with each audit row.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace schema_guard::core {

// The text appended to a statement cut at the audit size limit, e.g.
// " ... [truncated: 10485760 bytes in all]".
std::string TruncationMarker(std::size_t total_bytes);

// Returns `kept` (a prefix the caller has already cut on a character boundary
// of the server encoding) followed by the truncation marker.
std::string TruncatedStatement(std::string_view kept, std::size_t total_bytes);

}  // namespace schema_guard::core
