#include "core/statement.hpp"

#include <fmt/format.h>

namespace schema_guard::core {

std::string TruncationMarker(std::size_t total_bytes) {
  return fmt::format(" ... [truncated: {} bytes in all]", total_bytes);
}

std::string TruncatedStatement(std::string_view kept, std::size_t total_bytes) {
  std::string out;
  std::string marker = TruncationMarker(total_bytes);
  out.reserve(kept.size() + marker.size());
  out.append(kept);
  out.append(marker);
  return out;
}

}  // namespace schema_guard::core
