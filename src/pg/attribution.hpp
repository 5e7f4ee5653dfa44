// Who may attribute DDL to a migration.
//
// DDL that a migration made is not drift. A migration is named either by a
// history-table write in the same transaction (or, for non-atomic
// migrations, the same session) or by the schema_guard.migration setting.
// Either way the claim counts only when the role making it may write the
// framework's history table: anyone else could hide hand-made changes by
// labelling them. The history table a framework keeps in this database is
// the one its declared graph names (history_table), else its default name
// in schema public, else the first table watched for it, else (while a
// statement creates it) the table being created.
#pragma once

#include <string>
#include <string_view>

#include "core/migration.hpp"

extern "C" {
#include "postgres.h"
}

namespace schema_guard::pg {

// A SQL expression (for internal SQL, run with search_path pinned) that is
// the framework's history table as a regclass, or NULL when it has none:
// `framework` and `default_name` are the SQL expressions (parameters) that
// give the framework's name and its history table's default name, and
// `created` (if not empty) the expression of a table being created, the
// last resort.
std::string HistoryTableExpression(std::string_view framework,
                                   std::string_view default_name,
                                   std::string_view created = {});

// The session's schema_guard.migration claim at this event: the label to
// record as the migration (counted) or only as claimed (refused); both
// null when no label is set. palloc'd in the current memory context. May
// elog(ERROR).
struct SessionClaim {
  const char* counted;
  const char* refused;
};
SessionClaim CurrentClaim();

// Whether the current role may write the framework's history table, or
// `if_none` when the framework has none here; may elog(ERROR). `created`:
// a history table the statement creates, or InvalidOid. Cached for the
// transaction when `created` is InvalidOid.
bool MayWriteHistory(core::Framework framework, Oid created, bool if_none);

// Called at the end of every transaction.
void ForgetClaims();

}  // namespace schema_guard::pg
