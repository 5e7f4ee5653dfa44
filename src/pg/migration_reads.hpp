// What the migration check reads from the server: the history tables and
// the audit's record of their writes, and which declared tables and columns
// exist. What the rows mean is core's (core::ReadHistoryRow); this file only
// reads them.
#pragma once

#include <map>
#include <string>

#include "core/migration.hpp"
#include "core/migration_graph.hpp"
#include "pg/spi.hpp"

namespace schema_guard::pg {

// The relation a (possibly qualified) name refers to, through search_path
// like to_regclass(), as a quoted qualified name; empty when there is none.
std::string ResolveRelation(const std::string& name);

// Watched history tables by framework name (schema_guard.history_tables).
std::map<std::string, std::string> WatchedHistoryTables();

// The history table of a framework, schema-qualified and quoted: the one the
// graph names, else the default name through search_path, else a watched
// history table of that framework. Empty when there is none.
std::string FindHistoryTable(core::Framework framework,
                             const std::string& named,
                             const std::map<std::string, std::string>& watched);

// Whether the caller may read the audit's record of history writes.
bool CanReadAudit();

// The rows of `table` (empty: no history table). `app`: the app of a
// single-app framework's rows. With `audit`, rows are marked with what the
// audit saw of their writes: written without DDL, and for rows the graph
// (may be null) does not declare, the DDL credited to them.
core::History ReadHistory(SpiSession& spi, core::Framework framework,
                          const std::string& table, const std::string& app,
                          bool audit, const core::MigrationGraph* graph);

// Which of the tables and columns the graph declares exist now.
core::LiveObjects ReadLiveObjects(const core::MigrationGraph& graph);

}  // namespace schema_guard::pg
