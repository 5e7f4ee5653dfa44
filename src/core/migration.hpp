// Migration frameworks, their history tables, and the labels the audit uses
// to name the migration that made a change.
//
// Label formats (stored in ddl_event.migration):
//   django      <app>.<name>                 core.0002_add_invoice_models
//   flyway      flyway:<version>             flyway:2.1
//               flyway:R:<description>       (repeatable migration, no version)
//   alembic     alembic:<revision>           alembic:3f2a9c1d4e5b
//   rails       rails:<version>              rails:20260101120000
//   liquibase   liquibase:<id>::<author>::<filename>
//   creation of a framework's own tables: <framework>:history_table
//   anything set through the schema_guard.migration setting, verbatim.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace schema_guard::core {

enum class Framework { kDjango, kFlyway, kAlembic, kRails, kLiquibase };

inline constexpr std::size_t kMaxMigrationLabelBytes = 1024;

std::string_view FrameworkName(Framework framework);

// Parses a framework name ("django", "Flyway", ...); throws
// ErrorCode::kInvalidParameterValue naming the accepted values.
Framework ParseFramework(std::string_view name);

// The default name of the framework's migration history table.
std::string_view HistoryTableName(Framework framework);

// The framework whose migration history table has this default name
// (django_migrations, flyway_schema_history, alembic_version,
// schema_migrations, databasechangelog).
std::optional<Framework> HistoryTableFramework(std::string_view table_name);

// The framework that creates this table for its own bookkeeping: the history
// tables plus Liquibase's databasechangeloglock and Rails'
// ar_internal_metadata. Their creation is set-up, not drift.
std::optional<Framework> BookkeepingTableFramework(std::string_view table_name);

// Columns of the history table the label is built from, in the order
// HistoryRowLabel expects their values.
const std::vector<std::string_view>& HistoryColumns(Framework framework);

// The label of the migration a history row records, or nothing when the row
// lacks the values that identify it (e.g. a NULL version).
std::optional<std::string> HistoryRowLabel(
    Framework framework, const std::vector<std::optional<std::string>>& values);

// The label given to the creation of a framework's bookkeeping tables.
std::string BookkeepingLabel(Framework framework);

// Checks a label set through schema_guard.migration; throws
// ErrorCode::kInvalidParameterValue or kStringDataTooLong.
void ValidateMigrationLabel(std::string_view label);

// The framework a label set through schema_guard.migration belongs to, by
// its prefix ("flyway:", "alembic:", "rails:", "liquibase:"); any other
// label is Django's ("<app>.<name>").
Framework LabelFramework(std::string_view label);

// Where the current value of schema_guard.migration came from, as far as
// attribution cares: a claim counts only when the session set it (SET, SET
// LOCAL, set_config(), a function's SET clause, or the connection's
// options), never when it came from the configuration file or from ALTER
// ROLE / ALTER DATABASE ... SET, which would label every later session's
// DDL without anyone running a migration.
enum class LabelSource { kUnset, kSession, kStored };

// Whether a session's label claim attributes its DDL: set in the session
// (kSession), and by a role that may write the framework's history table.
bool ClaimCounts(LabelSource source, bool may_write_history);

// The label an audit row gets when it is written: the session's
// schema_guard.migration setting if set, else the bookkeeping label when the
// statement creates a framework's own tables, else none (a history row
// inserted later in the transaction may still attribute it).
std::optional<std::string> LabelAtEvent(
    std::string_view session_label,
    std::optional<Framework> creates_bookkeeping_of);

}  // namespace schema_guard::core
