#include "core/django_loader.hpp"

#include <algorithm>
#include <unordered_map>

namespace schema_guard::core {
namespace {

void AddOnce(std::vector<std::size_t>* set, std::size_t node) {
  if (std::find(set->begin(), set->end(), node) == set->end())
    set->push_back(node);
}

void Erase(std::vector<std::size_t>* set, std::size_t node) {
  set->erase(std::remove(set->begin(), set->end(), node), set->end());
}

// MigrationGraph (django/db/migrations/graph.py) and
// MigrationLoader.build_graph over node numbers.
class Loader {
 public:
  Loader(const MigrationGraph& graph, const std::vector<bool>& recorded,
         RecordedKeyFn recorded_key, const void* context)
      : graph_(graph),
        n_(graph.migrations.size()),
        recorded_(recorded),
        recorded_key_(recorded_key),
        context_(context) {}

  DjangoGraph Run(std::optional<std::string_view> only_app) {
    AddNodes();
    ResolveSquashes();
    Validate();
    if (!out_.Loads()) return std::move(out_);
    CheckConsistentHistory();
    DetectConflicts();
    Plan(only_app);
    return std::move(out_);
  }

 private:
  const MigrationKey& Key(std::size_t node) const {
    return node < n_ ? graph_.migrations[node].key
                     : out_.missing_keys[node - n_];
  }

  // The node of a key: its declaration, else a node for a key only
  // referred to (a DummyNode), made when `make`.
  std::optional<std::size_t> NodeOf(const MigrationKey& key, bool make) {
    if (auto node = graph_.NodeOf(key)) return node;
    const std::string& text = MigrationKeyText(key, &buffer_);
    if (auto it = missing_.find(text); it != missing_.end()) return it->second;
    if (!make) return std::nullopt;
    std::size_t node = n_ + out_.missing_keys.size();
    missing_.emplace(text, node);
    out_.missing_keys.push_back(key);
    out_.parents.emplace_back();
    out_.children.emplace_back();
    alive_.push_back(true);
    return node;
  }

  void AddEdge(std::size_t child, std::size_t parent) {
    AddOnce(&out_.parents[child], parent);
    AddOnce(&out_.children[parent], child);
  }

  void AddNodes() {
    out_.parents.assign(n_, {});
    out_.children.assign(n_, {});
    alive_.assign(n_, true);
    // Each node's edge lists sized once (they grew by doubling).
    std::vector<std::size_t> children(n_, 0);
    for (const auto& deps : graph_.dependency_index) {
      for (std::size_t d : deps) {
        if (d != MigrationGraph::kNotDeclared) ++children[d];
      }
    }
    for (std::size_t i = 0; i < n_; ++i) {
      out_.parents[i].reserve(graph_.migrations[i].dependencies.size());
      out_.children[i].reserve(children[i]);
    }
    for (std::size_t i = 0; i < n_; ++i) {
      const DeclaredMigration& m = graph_.migrations[i];
      for (std::size_t k = 0; k < m.dependencies.size(); ++k) {
        std::size_t declared = graph_.dependency_index[i][k];
        AddEdge(i, declared != MigrationGraph::kNotDeclared
                       ? declared
                       : *NodeOf(m.dependencies[k], true));
      }
      for (const MigrationKey& later : m.run_before) {
        AddEdge(*NodeOf(later, true), i);
      }
    }
  }

  bool Applied(const MigrationKey& key) {
    auto node = NodeOf(key, false);
    if (node && *node < n_) return out_.applied[*node];
    return recorded_key_(context_, key);
  }

  // The order squashes are resolved in: a squash before one that replaces
  // it, otherwise as declared. (Django takes the order its files happen to
  // be listed in; only nested or overlapping squashes depend on it.)
  std::vector<std::size_t> SquashOrder() {
    std::vector<std::size_t> order;
    std::vector<int> state(n_, 0);  // 0 new, 1 in progress, 2 placed
    std::vector<std::pair<std::size_t, std::size_t>> stack;
    for (std::size_t s = 0; s < n_; ++s) {
      if (graph_.migrations[s].replaces.empty() || state[s] != 0) continue;
      stack.push_back({s, 0});
      state[s] = 1;
      while (!stack.empty()) {
        auto& [node, next] = stack.back();
        const auto& replaces = graph_.migrations[node].replaces;
        if (next < replaces.size()) {
          auto inner = NodeOf(replaces[next++], false);
          if (inner && *inner < n_ && state[*inner] == 0 &&
              !graph_.migrations[*inner].replaces.empty()) {
            state[*inner] = 1;
            stack.push_back({*inner, 0});
          }
          continue;
        }
        state[node] = 2;
        order.push_back(node);
        stack.pop_back();
      }
    }
    return order;
  }

  void ResolveSquashes() {
    out_.applied.assign(recorded_.begin(), recorded_.end());
    for (std::size_t s : SquashOrder()) {
      const auto& replaces = graph_.migrations[s].replaces;
      std::size_t done = 0;
      for (const auto& key : replaces) done += Applied(key) ? 1 : 0;
      out_.applied[s] = done == replaces.size();
      if (done == replaces.size() || done == 0) {
        RemoveReplacedNodes(s, replaces);
        out_.squashes_used.push_back(s);
      } else {
        RemoveReplacementNode(s, replaces);
        out_.squashes_removed.push_back(s);
      }
    }
  }

  void Pop(std::size_t node) {
    alive_[node] = false;
    out_.parents[node].clear();
    out_.children[node].clear();
  }

  // graph.remove_replaced_nodes: the replaced nodes go, and what pointed
  // at them points at the squash.
  void RemoveReplacedNodes(std::size_t squash,
                           const std::vector<MigrationKey>& replaces) {
    if (!alive_[squash]) return;
    std::vector<std::size_t> replaced;
    for (const auto& key : replaces) {
      if (auto node = NodeOf(key, false)) replaced.push_back(*node);
    }
    auto is_replaced = [&](std::size_t node) {
      return std::find(replaced.begin(), replaced.end(), node) !=
             replaced.end();
    };
    for (std::size_t node : replaced) {
      if (!alive_[node]) continue;
      for (std::size_t child : out_.children[node]) {
        Erase(&out_.parents[child], node);
        if (!is_replaced(child)) AddEdge(child, squash);
      }
      for (std::size_t parent : out_.parents[node]) {
        Erase(&out_.children[parent], node);
        if (!is_replaced(parent)) AddEdge(squash, parent);
      }
      Pop(node);
    }
  }

  // graph.remove_replacement_node: the squash goes, and its children
  // depend on the latest of the replaced nodes instead.
  void RemoveReplacementNode(std::size_t squash,
                             const std::vector<MigrationKey>& replaces) {
    if (!alive_[squash]) return;
    std::vector<std::size_t> replaced, their_parents;
    for (const auto& key : replaces) {
      auto node = NodeOf(key, false);
      if (!node || !alive_[*node]) continue;
      AddOnce(&replaced, *node);
      for (std::size_t p : out_.parents[*node]) AddOnce(&their_parents, p);
    }
    std::vector<std::size_t> latest;
    for (std::size_t node : replaced) {
      if (std::find(their_parents.begin(), their_parents.end(), node) ==
          their_parents.end())
        latest.push_back(node);
    }
    for (std::size_t child : out_.children[squash]) {
      Erase(&out_.parents[child], squash);
      for (std::size_t node : latest) AddEdge(child, node);
    }
    for (std::size_t parent : out_.parents[squash]) {
      Erase(&out_.children[parent], squash);
    }
    Pop(squash);
  }

  // Node order: Django sorts nodes by their (app, name) tuples. Only short
  // lists are sorted (a node's parents, the leaves).
  void SortByKey(std::vector<std::size_t>* nodes) const {
    std::sort(nodes->begin(), nodes->end(),
              [&](std::size_t a, std::size_t b) { return Key(a) < Key(b); });
  }

  // validate_consistency and ensure_not_cyclic.
  void Validate() {
    out_.in_graph.assign(n_, false);
    for (std::size_t i = 0; i < n_; ++i) out_.in_graph[i] = alive_[i];
    for (std::size_t node = n_; node < alive_.size(); ++node) {
      if (!alive_[node]) continue;
      std::vector<std::size_t> origins = out_.children[node];
      for (std::size_t p : out_.parents[node]) AddOnce(&origins, p);
      SortByKey(&origins);
      out_.missing.emplace_back(node, std::move(origins));
    }
    Adjacency live(alive_.size());
    for (std::size_t node = 0; node < alive_.size(); ++node) {
      if (alive_[node]) live[node] = out_.parents[node];
    }
    out_.cycles = DependencyCycles(live);
  }

  bool Recorded(const MigrationKey& key) {
    auto node = NodeOf(key, false);
    if (node && *node < n_) return recorded_[*node];
    return recorded_key_(context_, key);
  }

  // check_consistent_history: the raw rows, where a squash counts as
  // applied when everything it replaces has a row.
  void CheckConsistentHistory() {
    for (std::size_t m = 0; m < n_; ++m) {
      if (!alive_[m] || !recorded_[m]) continue;
      std::vector<std::size_t> parents = out_.parents[m];
      SortByKey(&parents);
      for (std::size_t p : parents) {
        if (recorded_[p]) continue;
        const auto& replaces = graph_.migrations[p].replaces;
        if (!replaces.empty() &&
            std::all_of(replaces.begin(), replaces.end(),
                        [&](const MigrationKey& k) { return Recorded(k); })) {
          continue;
        }
        out_.inconsistent.emplace_back(m, p);
      }
    }
  }

  std::vector<std::size_t> Leaves() const {
    std::vector<std::size_t> leaves;
    for (std::size_t i = 0; i < n_; ++i) {
      if (!alive_[i]) continue;
      const std::string& app = Key(i).app;
      bool leaf =
          std::none_of(out_.children[i].begin(), out_.children[i].end(),
                       [&](std::size_t c) { return Key(c).app == app; });
      if (leaf) leaves.push_back(i);
    }
    SortByKey(&leaves);
    return leaves;
  }

  void DetectConflicts() {
    std::map<std::string, std::vector<std::size_t>> by_app;
    for (std::size_t leaf : Leaves()) by_app[Key(leaf).app].push_back(leaf);
    for (auto& [app, leaves] : by_app) {
      if (leaves.size() > 1) out_.conflicts.emplace(app, std::move(leaves));
    }
  }

  // MigrationExecutor.migration_plan(targets): for each target not applied,
  // graph.forwards_plan(target) (an iterative depth-first search that takes
  // parents largest first), less what is applied or planned already.
  void Plan(std::optional<std::string_view> only_app) {
    std::vector<bool> visited(n_, false);
    std::vector<std::pair<std::size_t, bool>> stack;
    for (std::size_t target : Leaves()) {
      if (only_app && Key(target).app != *only_app) continue;
      if (out_.applied[target]) continue;
      stack.push_back({target, false});
      while (!stack.empty()) {
        auto [node, processed] = stack.back();
        stack.pop_back();
        if (visited[node]) continue;
        if (processed) {
          visited[node] = true;
          if (!out_.applied[node]) out_.plan.push_back(node);
          continue;
        }
        stack.push_back({node, true});
        std::vector<std::size_t> parents = out_.parents[node];
        SortByKey(&parents);
        for (std::size_t p : parents) stack.push_back({p, false});
      }
    }
  }

  const MigrationGraph& graph_;
  const std::size_t n_;
  const std::vector<bool>& recorded_;
  RecordedKeyFn recorded_key_;
  const void* context_;
  DjangoGraph out_;
  std::vector<bool> alive_;  // in node_map
  std::unordered_map<std::string, std::size_t> missing_;
  std::string buffer_;
};

}  // namespace

DjangoGraph LoadDjangoGraphWith(const MigrationGraph& graph,
                                const std::vector<bool>& recorded,
                                RecordedKeyFn recorded_key, const void* context,
                                std::optional<std::string_view> only_app) {
  return Loader(graph, recorded, recorded_key, context).Run(only_app);
}

}  // namespace schema_guard::core
