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

struct MigrationKey {
  std::string app;
  std::string name;
  bool operator==(const MigrationKey& o) const {
    return app == o.app && name == o.name;
  }
  bool operator<(const MigrationKey& o) const {
    return app != o.app ? app < o.app : name < o.name;
  }
};

enum class HistoryState {
  kApplied,
  kFailed,     // Flyway success = false, Liquibase FAILED
  kMarkedRan,  // Liquibase MARK_RAN: recorded without running
  kBaseline,   // Flyway BASELINE: versions up to it count as applied
  kIgnored,    // rows that record nothing applied (Flyway UNDO, ...)
  kDeleted,    // Flyway DELETE: `flyway repair` marked the version's earlier
               // rows deleted (its file is gone)
};

// One row of a history table, as the migration check reads it.
struct AppliedMigration {
  MigrationKey key;
  std::string applied_at;  // sortable text; empty when unknown
  long long rank = 0;      // history order (installed_rank, orderexecuted)
  std::optional<std::string> checksum;
  HistoryState state = HistoryState::kApplied;
  // Whether the audit credited any DDL to the (last) write of this row;
  // unset when the audit has no record of the write.
  std::optional<bool> audit_saw_ddl;
  // For a row of a migration the graph does not declare: how many DDL
  // events the audit credited to it (unset: not looked up).
  std::optional<long long> audit_ddl_events;
  // The row's migration in the declared graph it is checked against, when
  // the reader looked it up there already (MigrationGraph::kNotDeclared:
  // no migration of the graph has its key); unset: CheckMigrations looks
  // it up. Saves a second lookup per row of a large history.
  std::optional<std::size_t> graph_node;
};

struct History {
  std::string table;  // quoted, qualified; empty when there is none
  bool present = false;
  std::vector<AppliedMigration> rows;
};

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

// Flyway's version identity: "1.01", "01.1" and "1.1.0" are version 1.1;
// "_" separates like ".".
std::string CanonicalVersion(std::string_view version);

// Orders two canonical versions numerically, segment by segment.
bool VersionLess(std::string_view a, std::string_view b);

// What the migration check reads of a framework's history table (other than
// Django's, which the boundary reads typed: app, name, applied): the query
// over `quoted_table`, its first columns HistoryColumns(framework).
std::string HistoryQuery(Framework framework, std::string_view quoted_table);

// What one row of HistoryQuery's result means: Flyway's type and success
// (repeatable, baseline, undo and failed rows), Liquibase's exectype,
// Alembic's heads and Rails' versions. `position` is the row's place in the
// result (1-based), `app` the app of a single-app framework.
AppliedMigration ReadHistoryRow(
    Framework framework, const std::vector<std::optional<std::string>>& cells,
    long long position, const std::string& app);

// Microseconds since 1970-01-01 UTC as "YYYY-MM-DD HH:MM:SS.ffffff" (UTC):
// sortable text for history times (years 0 to 9999).
std::string TimestampText(long long epoch_micros);

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
