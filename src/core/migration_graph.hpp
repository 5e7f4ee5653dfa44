// The declared migration graph: the graph document
// ("format": "schema_guard.migrations/1", read by ReadMigrationGraph), its
// stored binary form, and the graph algorithms the checks use
// (core/migration_check.hpp checks it against a history table).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/finding.hpp"
#include "core/json.hpp"
#include "core/migration.hpp"

namespace schema_guard::core {

inline constexpr std::string_view kMigrationGraphFormat =
    "schema_guard.migrations/1";
// Larger graph documents are refused before they are parsed.
inline constexpr std::size_t kMaxMigrationGraphBytes =
    std::size_t{8} * 1024 * 1024;
inline constexpr std::size_t kMaxDeclaredMigrations = 100000;

struct DeclaredMigration {
  MigrationKey key;
  std::vector<MigrationKey> dependencies;
  std::vector<MigrationKey> replaces;  // a squash: the migrations it replaces
  // Django's run_before: the migrations that depend on this one.
  std::vector<MigrationKey> run_before;
  // Alembic: `dependencies` are the revision's down_revision(s), the edges
  // that make a revision stop being a head; `depends_on` are its
  // dependencies, which order the upgrade and count as applied below it
  // but leave the revision they name a head (Alembic's two edge kinds).
  std::vector<MigrationKey> depends_on;
  std::vector<std::string> branch_labels;  // Alembic
  std::string file;  // the migration's file, as the exporter names it
  std::optional<std::string> checksum;
  std::optional<bool> atomic;
  std::vector<std::string> creates_tables;  // "table" or "schema.table"
  std::vector<std::pair<std::string, std::string>> creates_columns;
  bool DeclaresSchemaChanges() const {
    return !creates_tables.empty() || !creates_columns.empty();
  }
};

// Declared migrations found by key without building a key string: a table
// of node numbers whose keys are the graph's own (a migration's key, or one
// of the keys it replaces), so it holds no strings and stays valid when the
// graph is copied or moved. The first key added stays.
class MigrationKeyIndex {
 public:
  static constexpr std::uint32_t kOwnKey = 0xFFFFFFFFu;
  void Reserve(std::size_t keys);
  // Adds migrations[node].key (item kOwnKey) or migrations[node].replaces
  // [item]; when that key is there already, returns its node instead.
  std::optional<std::size_t> Add(
      const std::vector<DeclaredMigration>& migrations, std::size_t node,
      std::uint32_t item);
  std::optional<std::size_t> Find(
      const std::vector<DeclaredMigration>& migrations, std::string_view app,
      std::string_view name) const;
  std::size_t size() const { return size_; }

 private:
  static constexpr std::uint32_t kEmpty = 0xFFFFFFFFu;
  struct Slot {
    std::uint32_t node = kEmpty;
    std::uint32_t item = kOwnKey;
    std::size_t hash = 0;
  };
  static const MigrationKey& KeyOf(
      const std::vector<DeclaredMigration>& migrations, const Slot& slot);
  std::vector<Slot> slots_;
  std::size_t size_ = 0;
};

struct MigrationGraph {
  Framework framework = Framework::kDjango;
  std::string history_table;  // empty: the default name, via search_path
  std::vector<DeclaredMigration> migrations;
  // Flyway and Rails: a version declared twice, as (index, earlier index).
  std::vector<std::pair<std::size_t, std::size_t>> duplicate_versions;
  // Built by ReadMigrationGraph and DecodeMigrationGraph: the index of each
  // migration (its first declaration), and of the squash that replaces a
  // migration (NodeOf, SquashOf).
  MigrationKeyIndex index;
  MigrationKeyIndex replaced_by;
  // dependency_index[i][k]: the index of migrations[i].dependencies[k], or
  // kNotDeclared; depends_on_index the same for depends_on (an Alembic
  // branch label stands for the revision that declares it).
  std::vector<std::vector<std::size_t>> dependency_index;
  std::vector<std::vector<std::size_t>> depends_on_index;
  static constexpr std::size_t kNotDeclared = static_cast<std::size_t>(-1);
  // Django: migrations of one app sharing a number prefix that no merge
  // migration reconciles (duplicate_number findings).
  std::vector<std::vector<std::size_t>> duplicate_numbers;

  std::optional<std::size_t> NodeOf(std::string_view app,
                                    std::string_view name) const {
    return index.Find(migrations, app, name);
  }
  std::optional<std::size_t> NodeOf(const MigrationKey& key) const {
    return NodeOf(key.app, key.name);
  }
  std::optional<std::size_t> SquashOf(const MigrationKey& key) const {
    return replaced_by.Find(migrations, key.app, key.name);
  }
};

// The key of MigrationGraph's maps: app, unit separator, name. Writes into
// *buffer (reusing its storage) and returns it.
const std::string& MigrationKeyText(const MigrationKey& key,
                                    std::string* buffer);

// Reads and validates a graph document; errors name the JSON path.
MigrationGraph ReadMigrationGraph(const Json& document);

// The graph in a compact binary form that loads without parsing JSON:
// declare_migrations() stores it beside the document, and a session's first
// check reads it. DecodeMigrationGraph throws ErrorCode::kInvalidParameterValue
// on a form it cannot read (written by another release).
std::string EncodeMigrationGraph(const MigrationGraph& graph);
MigrationGraph DecodeMigrationGraph(std::string_view bytes);

// Fills graph->depends_on_index from the migrations' depends_on (an
// Alembic branch label stands for the revision that declares it, as in
// RevisionMap._add_depends_on); ReadMigrationGraph and DecodeMigrationGraph
// call it.
void IndexDependsOn(MigrationGraph* graph);

// Leading digits of a Django migration name: "0003" of "0003_add_x"; empty
// when it has none.
std::string_view DjangoNumberPrefix(std::string_view name);

// How a migration reads in findings: "core.0002_add_invoice" for Django,
// "flyway:2.1", "alembic:3f2a9c", "rails:20260101120000" and
// "liquibase:<id>::<author>::<file>" for the others (the audit's labels).
std::string MigrationObject(Framework framework, const MigrationKey& key);

// What the live catalog has of the tables and columns the graph declares.
struct ColumnHash {
  std::size_t operator()(
      const std::pair<std::string, std::string>& column) const noexcept {
    std::hash<std::string_view> hash;
    return hash(column.first) * 0x9E3779B97F4A7C15ull ^ hash(column.second);
  }
};
struct LiveObjects {
  std::unordered_set<std::string> tables;  // as written in the graph
  std::unordered_set<std::pair<std::string, std::string>, ColumnHash> columns;
};

// --- graph algorithms over nodes 0..n-1; deps[n] are n's dependencies ---
using Adjacency = std::vector<std::vector<std::size_t>>;

// One cycle (as a path, first node not repeated) per strongly connected
// component that has one.
std::vector<std::vector<std::size_t>> DependencyCycles(const Adjacency& deps);

// The nodes with pending[n] in an order where each comes after its pending
// dependencies; among ready nodes the one with the lowest order_key first.
// Nodes that wait on a cycle are left out.
std::vector<std::size_t> ApplyOrder(const Adjacency& deps,
                                    const std::vector<bool>& pending,
                                    const std::vector<std::size_t>& order_key);

// How Django treats a squash S that replaces R1..Rn: all Ri applied -> S
// counts as applied and stands for them; none applied -> S stands for them
// (and is pending); some applied -> S cannot be used and the Ri stay.
enum class SquashUse { kAllApplied, kNoneApplied, kPartlyApplied };
SquashUse ClassifySquash(std::size_t replaced, std::size_t replaced_applied);

// A SQL string literal ('it''s'; E'...' when it holds a backslash).
std::string QuoteLiteral(std::string_view text);

}  // namespace schema_guard::core
