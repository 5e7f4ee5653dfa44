// Canonical type names by (type, typmod), each printed by format_type()
// once: a schema repeats a few dozen types many thousand times.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include "core/schema.hpp"
#include "pg/bridge.hpp"

extern "C" {
#include "postgres.h"

#include "utils/builtins.h"
}

namespace schema_guard::pg {

class TypeNames {
 public:
  const std::string& Get(Oid type, int32 typmod) {
    std::uint64_t key = (static_cast<std::uint64_t>(type) << 32) |
                        static_cast<std::uint32_t>(typmod);
    auto it = names_.find(key);
    if (it != names_.end()) return it->second;
    const char* printed = nullptr;
    PgTry([&]() noexcept {
      printed = format_type_extended(
          type, typmod, FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_ALLOW_INVALID);
    });
    return names_.emplace(key, core::CanonicalType(printed)).first->second;
  }

 private:
  std::unordered_map<std::uint64_t, std::string> names_;
};

}  // namespace schema_guard::pg
