// What Django itself makes of a declared graph and the rows of
// django_migrations, function by function (Django 3.2):
//   MigrationLoader.build_graph    the graph after squashes are resolved, the
//                                  loader's applied set (showmigrations), and
//                                  why the graph cannot be loaded
//                                  (NodeNotFoundError, CircularDependencyError)
//   check_consistent_history       applied migrations with unapplied parents,
//                                  read from the raw recorded rows
//   detect_conflicts               apps with more than one leaf
//   MigrationExecutor.migration_plan(leaf_nodes())   what `migrate` runs,
//                                  in Django's order
// The migration check builds its Django findings from this.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/migration_graph.hpp"

namespace schema_guard::core {

struct DjangoGraph {
  // Nodes 0..n-1 are the declared migrations; n.. are keys something
  // depends on (or runs before) that no migration declares.
  std::vector<MigrationKey> missing_keys;
  std::vector<std::vector<std::size_t>> parents, children;
  std::vector<bool> in_graph;  // still a node once squashes are resolved
  std::vector<bool> applied;   // the loader's applied set (declared nodes)
  // Squashes that replace what they replace (all or none applied), and
  // squashes left out because only some of what they replace is applied.
  std::vector<std::size_t> squashes_used, squashes_removed;

  // NodeNotFoundError: a node nothing declares is still depended on, as
  // (missing node, the migrations that depend on it or run before it).
  std::vector<std::pair<std::size_t, std::vector<std::size_t>>> missing;
  // CircularDependencyError.
  std::vector<std::vector<std::size_t>> cycles;
  bool Loads() const { return missing.empty() && cycles.empty(); }

  // check_consistent_history: (applied migration, unapplied parent).
  std::vector<std::pair<std::size_t, std::size_t>> inconsistent;
  // detect_conflicts: app -> its leaves, sorted.
  std::map<std::string, std::vector<std::size_t>> conflicts;
  // migration_plan(leaf_nodes()) (of one app's leaves when asked): empty
  // when the graph does not load.
  std::vector<std::size_t> plan;
};

// `recorded[i]`: migrations[i] has a row; `recorded_key` answers for keys
// the graph does not declare (the files of replaced migrations that are
// gone). `only_app`: plan what `migrate <app>` runs.
template <typename RecordedKey>
DjangoGraph LoadDjangoGraph(const MigrationGraph& graph,
                            const std::vector<bool>& recorded,
                            const RecordedKey& recorded_key,
                            std::optional<std::string_view> only_app);

// The same, non-template: recorded_key is a callable through a pointer.
using RecordedKeyFn = bool (*)(const void* context, const MigrationKey& key);
DjangoGraph LoadDjangoGraphWith(const MigrationGraph& graph,
                                const std::vector<bool>& recorded,
                                RecordedKeyFn recorded_key, const void* context,
                                std::optional<std::string_view> only_app);

template <typename RecordedKey>
DjangoGraph LoadDjangoGraph(const MigrationGraph& graph,
                            const std::vector<bool>& recorded,
                            const RecordedKey& recorded_key,
                            std::optional<std::string_view> only_app) {
  return LoadDjangoGraphWith(
      graph, recorded,
      [](const void* context, const MigrationKey& key) {
        return (*static_cast<const RecordedKey*>(context))(key);
      },
      &recorded_key, only_app);
}

}  // namespace schema_guard::core
