// Reads PostgreSQL's parse tree of one statement into the lint model
// (core/lint.hpp): what it creates, alters, drops or renames, and the lock
// it takes, computed as PostgreSQL computes it where a function for that
// exists (AlterTableGetLockLevel).
#pragma once

#include "core/lint.hpp"
#include "pg/lint_catalog.hpp"

extern "C" {
#include "postgres.h"

#include "nodes/nodes.h"
}

namespace schema_guard::pg {

// Fills kind, tag, table, lock and the rest of *statement from a raw (or
// utility) parse tree; leaves number, line and ignored alone.
void ReadStatement(Node* node, LiveCatalog* catalog,
                   core::LintStatement* statement);

// Whether the guard has any rule for a statement of this kind (it skips
// the others without reading them).
bool GuardedNode(Node* node);

}  // namespace schema_guard::pg
