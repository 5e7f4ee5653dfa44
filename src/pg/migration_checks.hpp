// The migration checks, for the schema check's hints (migration_hints.hpp).
#pragma once

#include <vector>

#include "core/migration_check.hpp"

namespace schema_guard::pg {

// The checks of every framework with a declared graph; none when no graph
// is declared, or when the caller may not read what the checks read (the
// schema check then goes without the hints).
std::vector<core::MigrationCheck> MigrationChecksForSchemaCheck();

}  // namespace schema_guard::pg
