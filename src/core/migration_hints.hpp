// The schema check meets the migration check: a missing table or column
// that a declared migration creates is not hand-written DDL to run but a
// migration to apply (or, when it was faked, to run for real).
#pragma once

#include <vector>

#include "core/finding.hpp"
#include "core/migration_check.hpp"

namespace schema_guard::core {

// For each missing_table and missing_column finding that a pending or a
// faked migration creates (by the graph's "creates"), the message says so
// and the fix is the command that applies it instead of DDL; the findings
// that follow from such a table (its indexes and foreign keys) come with
// the migration too.
void AttributeToMigrations(const std::vector<MigrationCheck>& checks,
                           std::vector<Finding>* findings);

}  // namespace schema_guard::core
