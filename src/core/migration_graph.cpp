#include "core/migration_graph.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <map>
#include <queue>
#include <unordered_map>
#include <utility>

#include "core/error.hpp"
#include "core/json_reader.hpp"

namespace schema_guard::core {
namespace {

const JsonDocument kGraphDocument{
    "migration graph",
    "The migration graph format (\"schema_guard.migrations/1\") is described "
    "in the README under \"The migration graph\".",
    "Export the graph from the project's migration files and pass it to "
    "schema_guard.declare_migrations()."};

std::string DefaultApp(Framework framework) {
  return std::string(FrameworkName(framework));
}

void CheckName(const std::string& text, const Path& path) {
  if (text.size() > kMaxMigrationLabelBytes) {
    Fail(path, fmt::format("longer than {} bytes", kMaxMigrationLabelBytes));
  }
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20) {
      Fail(path, "must not contain control characters");
    }
  }
}

std::string NameOf(Framework framework, const std::string& name) {
  return framework == Framework::kFlyway ? CanonicalVersion(name) : name;
}

// A dependency: ["app", "name"], or "name" for one in the same app.
MigrationKey ReadReference(Framework framework, const Json& value,
                           const std::string& own_app, const Path& path) {
  if (value.kind() == Json::Kind::kString) {
    if (value.text().empty()) Fail(path, "must not be empty");
    CheckName(value.text(), path);
    return {own_app, NameOf(framework, value.text())};
  }
  if (value.kind() != Json::Kind::kArray || value.items().size() != 2 ||
      value.items()[0].kind() != Json::Kind::kString ||
      value.items()[1].kind() != Json::Kind::kString) {
    Fail(path, fmt::format("expected [\"app\", \"name\"] or \"name\", found {}",
                           value.kind() == Json::Kind::kArray
                               ? "another array"
                               : KindName(value.kind())));
  }
  const std::string& app = value.items()[0].text();
  const std::string& name = value.items()[1].text();
  if (app.empty() || name.empty()) Fail(path, "app and name must not be empty");
  CheckName(app, path.Element(0));
  CheckName(name, path.Element(1));
  return {app, NameOf(framework, name)};
}

std::vector<MigrationKey> ReadReferences(Framework framework,
                                         const Json& object,
                                         std::string_view key,
                                         const std::string& own_app,
                                         const Path& path) {
  std::vector<MigrationKey> out;
  const Json* list = Optional(object, key, Json::Kind::kArray, path);
  if (list == nullptr) return out;
  Path list_path = path.Member(key);
  for (std::size_t i = 0; i < list->items().size(); ++i) {
    out.push_back(ReadReference(framework, list->items()[i], own_app,
                                list_path.Element(i)));
  }
  return out;
}

void ReadCreates(const Json& object, const Path& path,
                 DeclaredMigration* migration) {
  const Json* creates = Optional(object, "creates", Json::Kind::kObject, path);
  if (creates == nullptr) return;
  Path creates_path = path.Member("creates");
  OnlyKeys(*creates, creates_path, {"tables", "columns"});
  migration->creates_tables = Strings(*creates, "tables", creates_path, false);
  Path tables_path = creates_path.Member("tables");
  for (std::size_t i = 0; i < migration->creates_tables.size(); ++i) {
    if (migration->creates_tables[i].empty()) {
      Fail(tables_path.Element(i), "must not be empty");
    }
    CheckName(migration->creates_tables[i], tables_path.Element(i));
  }
  const Json* columns =
      Optional(*creates, "columns", Json::Kind::kArray, creates_path);
  if (columns == nullptr) return;
  Path columns_path = creates_path.Member("columns");
  for (std::size_t i = 0; i < columns->items().size(); ++i) {
    const Json& pair = columns->items()[i];
    Path p = columns_path.Element(i);
    if (pair.kind() != Json::Kind::kArray || pair.items().size() != 2 ||
        pair.items()[0].kind() != Json::Kind::kString ||
        pair.items()[1].kind() != Json::Kind::kString ||
        pair.items()[0].text().empty() || pair.items()[1].text().empty()) {
      Fail(p, "expected [\"table\", \"column\"]");
    }
    CheckName(pair.items()[0].text(), p.Element(0));
    CheckName(pair.items()[1].text(), p.Element(1));
    migration->creates_columns.emplace_back(pair.items()[0].text(),
                                            pair.items()[1].text());
  }
}

// Alembic's depends_on and branch_labels; other frameworks have neither.
void ReadAlembicEdges(Framework framework, const Json& object, const Path& path,
                      DeclaredMigration* migration) {
  for (std::string_view key : {"depends_on", "branch_labels"}) {
    const Json* value = object.Find(key);
    if (framework != Framework::kAlembic && value != nullptr &&
        !value->is_null()) {
      Fail(path.Member(key), "only Alembic revisions have it");
    }
  }
  migration->depends_on =
      ReadReferences(framework, object, "depends_on", migration->key.app, path);
  migration->branch_labels = Strings(object, "branch_labels", path, false);
  Path labels = path.Member("branch_labels");
  for (std::size_t i = 0; i < migration->branch_labels.size(); ++i) {
    if (migration->branch_labels[i].empty())
      Fail(labels.Element(i), "must not be empty");
    CheckName(migration->branch_labels[i], labels.Element(i));
  }
}

}  // namespace

std::string_view DjangoNumberPrefix(std::string_view name) {
  std::size_t i = 0;
  while (i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])))
    ++i;
  if (i == 0 || (i < name.size() && name[i] != '_')) return {};
  return name.substr(0, i);
}

// ---------------------------------------------------------------------------
// The document.

namespace {

// Django migrations of one app that share a number prefix, leaving out
// those a squash replaces and groups a merge migration depends on whole.
// A property of the graph alone: computed once, when it is read.
std::vector<std::vector<std::size_t>> UnmergedDuplicateNumbers(
    const MigrationGraph& graph) {
  const std::size_t n = graph.migrations.size();
  std::unordered_map<std::string_view,
                     std::unordered_map<std::string_view, std::size_t>>
      first_with;
  std::map<std::pair<std::string, std::string>, std::vector<std::size_t>>
      groups;
  for (std::size_t i = 0; i < n; ++i) {
    const MigrationKey& key = graph.migrations[i].key;
    std::string_view number = DjangoNumberPrefix(key.name);
    if (number.empty() || graph.SquashOf(key)) {
      continue;  // no number, or squashed away
    }
    auto [it, inserted] = first_with[key.app].emplace(number, i);
    if (inserted) continue;
    auto& nodes = groups[{key.app, std::string(number)}];
    if (nodes.empty()) nodes.push_back(it->second);
    nodes.push_back(i);
  }
  std::vector<std::vector<std::size_t>> out;
  if (groups.empty()) return out;
  Adjacency dependents(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j : graph.dependency_index[i]) {
      if (j != MigrationGraph::kNotDeclared) dependents[j].push_back(i);
    }
  }
  for (auto& [group, nodes] : groups) {
    // A merge migration depends on all of them: look among the migrations
    // that depend on the first.
    bool merged = false;
    for (std::size_t i : dependents[nodes.front()]) {
      if (graph.migrations[i].key.app != group.first) continue;
      const auto& deps = graph.dependency_index[i];
      merged = std::all_of(nodes.begin(), nodes.end(), [&](std::size_t m) {
        return std::find(deps.begin(), deps.end(), m) != deps.end();
      });
      if (merged) break;
    }
    if (!merged) out.push_back(std::move(nodes));
  }
  return out;
}

// What ReadMigrationGraph and DecodeMigrationGraph derive from the
// migrations (graph.index is filled as they are read).
void IndexDependencies(MigrationGraph* graph) {
  graph->dependency_index.resize(graph->migrations.size());
  for (std::size_t i = 0; i < graph->migrations.size(); ++i) {
    const DeclaredMigration& m = graph->migrations[i];
    for (std::size_t k = 0; k < m.replaces.size(); ++k) {
      graph->replaced_by.Add(graph->migrations, i,
                             static_cast<std::uint32_t>(k));
    }
    auto& deps = graph->dependency_index[i];
    deps.reserve(m.dependencies.size());
    for (const auto& d : m.dependencies) {
      deps.push_back(graph->NodeOf(d).value_or(MigrationGraph::kNotDeclared));
    }
  }
  if (graph->framework == Framework::kDjango) {
    graph->duplicate_numbers = UnmergedDuplicateNumbers(*graph);
  }
  IndexDependsOn(graph);
}

// A branch label names one revision, and no revision is named like one
// (Alembic refuses both when it builds its revision map).
void CheckBranchLabels(const MigrationGraph& graph, const Path& root) {
  std::unordered_map<std::string_view, std::size_t> owner;
  Path list = root.Member("migrations");
  for (std::size_t i = 0; i < graph.migrations.size(); ++i) {
    for (std::size_t k = 0; k < graph.migrations[i].branch_labels.size(); ++k) {
      const std::string& label = graph.migrations[i].branch_labels[k];
      Path p = list.Element(i).Member("branch_labels").Element(k);
      auto [it, inserted] = owner.emplace(label, i);
      if (!inserted) {
        Fail(p, fmt::format("branch label \"{}\" is also declared by "
                            "migrations[{}]",
                            label, it->second));
      }
      for (const auto& m : graph.migrations) {
        if (m.key.name == label) {
          Fail(p, fmt::format("branch label \"{}\" is also a revision", label));
        }
      }
    }
  }
}

}  // namespace

// Alembic's depends_on may name a revision or a branch label, which stands
// for the revision that declares it (RevisionMap._add_depends_on).
void IndexDependsOn(MigrationGraph* graph) {
  std::unordered_map<std::string, std::size_t> labelled;
  for (std::size_t i = 0; i < graph->migrations.size(); ++i) {
    for (const auto& label : graph->migrations[i].branch_labels)
      labelled.emplace(label, i);
  }
  graph->depends_on_index.assign(graph->migrations.size(), {});
  for (std::size_t i = 0; i < graph->migrations.size(); ++i) {
    for (const auto& d : graph->migrations[i].depends_on) {
      std::size_t j = MigrationGraph::kNotDeclared;
      if (auto node = graph->NodeOf(d)) {
        j = *node;
      } else if (auto l = labelled.find(d.name); l != labelled.end()) {
        j = l->second;
      }
      graph->depends_on_index[i].push_back(j);
    }
  }
}

MigrationGraph ReadMigrationGraph(const Json& document) {
  const Path root(kGraphDocument);
  Expect(document, Json::Kind::kObject, root);
  OnlyKeys(document, root,
           {"format", "framework", "migrations", "history_table",
            "generated_at", "source"});
  const Json& format = Required(document, "format", Json::Kind::kString, root);
  if (format.text() != kMigrationGraphFormat) {
    throw Error(
        ErrorCode::kInvalidParameterValue,
        fmt::format("unsupported migration graph format \"{}\"", format.text()),
        fmt::format("This release reads \"{}\".", kMigrationGraphFormat),
        "Export the graph with the exporter of this release.");
  }
  MigrationGraph graph;
  {
    std::string name = RequiredString(document, "framework", root);
    try {
      graph.framework = ParseFramework(name);
    } catch (const Error&) {
      Fail(root.Member("framework"),
           fmt::format("unknown framework \"{}\"; expected one of django, "
                       "flyway, alembic, rails, liquibase",
                       name));
    }
  }
  graph.history_table = OptionalString(document, "history_table", root);
  CheckName(graph.history_table, root.Member("history_table"));
  const Json& list = Required(document, "migrations", Json::Kind::kArray, root);
  if (list.items().size() > kMaxDeclaredMigrations) {
    throw Error(ErrorCode::kProgramLimitExceeded,
                fmt::format("migration graph declares {} migrations",
                            list.items().size()),
                fmt::format("At most {} migrations can be declared per "
                            "framework.",
                            kMaxDeclaredMigrations),
                "Declare a squashed graph, or split the project's frameworks.");
  }
  const Framework fw = graph.framework;
  const bool versioned = fw == Framework::kFlyway || fw == Framework::kRails;
  graph.index.Reserve(list.items().size());
  graph.migrations.reserve(list.items().size());
  EachObject(document, "migrations", root, [&](const Json& m, const Path& p) {
    OnlyKeys(m, p,
             {"app", "name", "dependencies", "replaces", "run_before",
              "depends_on", "branch_labels", "file", "checksum", "atomic",
              "creates", "description"});
    DeclaredMigration migration;
    migration.key.app = fw == Framework::kDjango
                            ? RequiredString(m, "app", p)
                            : OptionalString(m, "app", p, DefaultApp(fw));
    if (migration.key.app.empty()) Fail(p.Member("app"), "must not be empty");
    CheckName(migration.key.app, p.Member("app"));
    std::string name = RequiredString(m, "name", p);
    CheckName(name, p.Member("name"));
    migration.key.name = NameOf(fw, name);
    migration.dependencies =
        ReadReferences(fw, m, "dependencies", migration.key.app, p);
    migration.replaces =
        ReadReferences(fw, m, "replaces", migration.key.app, p);
    migration.run_before =
        ReadReferences(fw, m, "run_before", migration.key.app, p);
    ReadAlembicEdges(fw, m, p, &migration);
    migration.file = OptionalString(m, "file", p);
    CheckName(migration.file, p.Member("file"));
    if (const Json* checksum = m.Find("checksum");
        checksum != nullptr && !checksum->is_null()) {
      if (checksum->kind() != Json::Kind::kString &&
          checksum->kind() != Json::Kind::kNumber) {
        Fail(p.Member("checksum"),
             fmt::format("expected a string or a number, found {}",
                         KindName(checksum->kind())));
      }
      migration.checksum = checksum->text();
    }
    if (const Json* atomic = Optional(m, "atomic", Json::Kind::kBool, p)) {
      migration.atomic = atomic->boolean();
    }
    ReadCreates(m, p, &migration);
    // Flyway versions are keyed canonically, so the key name may differ
    // from the text written: report duplicates with the index.
    graph.migrations.push_back(std::move(migration));
    const std::size_t node = graph.migrations.size() - 1;
    if (auto earlier = graph.index.Add(graph.migrations, node,
                                       MigrationKeyIndex::kOwnKey)) {
      if (!versioned) {
        Fail(p, fmt::format("duplicate migration \"{}\" (also migrations[{}])",
                            MigrationObject(fw, graph.migrations[node].key),
                            *earlier));
      }
      graph.duplicate_versions.emplace_back(node, *earlier);
    }
  });
  CheckBranchLabels(graph, root);
  IndexDependencies(&graph);
  return graph;
}

const std::string& MigrationKeyText(const MigrationKey& key,
                                    std::string* buffer) {
  buffer->assign(key.app);
  *buffer += '\x1f';
  *buffer += key.name;
  return *buffer;
}

std::string MigrationObject(Framework framework, const MigrationKey& key) {
  if (framework == Framework::kDjango) return key.app + "." + key.name;
  return fmt::format("{}:{}", FrameworkName(framework), key.name);
}

std::string QuoteLiteral(std::string_view text) {
  bool backslash = text.find('\\') != std::string_view::npos;
  std::string out = backslash ? "E'" : "'";
  for (char c : text) {
    if (c == '\'' || c == '\\') out += c;
    out += c;
  }
  out += '\'';
  return out;
}

// ---------------------------------------------------------------------------
// Graph algorithms.

std::vector<std::vector<std::size_t>> DependencyCycles(const Adjacency& deps) {
  // Tarjan's strongly connected components, iteratively.
  const std::size_t n = deps.size();
  constexpr std::size_t kUnvisited = static_cast<std::size_t>(-1);
  std::vector<std::size_t> index(n, kUnvisited), low(n, 0), component(n, 0);
  std::vector<bool> on_stack(n, false);
  std::vector<std::size_t> stack;
  std::vector<std::vector<std::size_t>> components;
  std::size_t next_index = 0;
  struct Frame {
    std::size_t node;
    std::size_t edge;
  };
  for (std::size_t start = 0; start < n; ++start) {
    if (index[start] != kUnvisited) continue;
    std::vector<Frame> frames{{start, 0}};
    index[start] = low[start] = next_index++;
    stack.push_back(start);
    on_stack[start] = true;
    while (!frames.empty()) {
      Frame& f = frames.back();
      if (f.edge < deps[f.node].size()) {
        std::size_t to = deps[f.node][f.edge++];
        if (index[to] == kUnvisited) {
          index[to] = low[to] = next_index++;
          stack.push_back(to);
          on_stack[to] = true;
          frames.push_back({to, 0});
        } else if (on_stack[to]) {
          low[f.node] = std::min(low[f.node], index[to]);
        }
        continue;
      }
      std::size_t node = f.node;
      frames.pop_back();
      if (!frames.empty()) {
        low[frames.back().node] = std::min(low[frames.back().node], low[node]);
      }
      if (low[node] == index[node]) {
        if (stack.back() == node) {  // a single node: a cycle only if a loop
          stack.pop_back();
          on_stack[node] = false;
          component[node] = components.size();
          components.push_back(std::find(deps[node].begin(), deps[node].end(),
                                         node) != deps[node].end()
                                   ? std::vector<std::size_t>{node}
                                   : std::vector<std::size_t>{});
          continue;
        }
        std::vector<std::size_t> members;
        std::size_t member = 0;
        do {
          member = stack.back();
          stack.pop_back();
          on_stack[member] = false;
          component[member] = components.size();
          members.push_back(member);
        } while (member != node);
        components.push_back(std::move(members));
      }
    }
  }
  // One cycle per component with more than one node or a self-loop: the
  // shortest way from its smallest node back to itself.
  std::vector<std::vector<std::size_t>> cycles;
  for (std::size_t c = 0; c < components.size(); ++c) {
    const auto& members = components[c];
    if (members.empty()) continue;
    std::size_t first = *std::min_element(members.begin(), members.end());
    bool self_loop = std::find(deps[first].begin(), deps[first].end(), first) !=
                     deps[first].end();
    if (members.size() == 1 && !self_loop) continue;
    if (self_loop) {
      cycles.push_back({first});
      continue;
    }
    std::unordered_map<std::size_t, std::size_t> parent;
    std::queue<std::size_t> queue;
    queue.push(first);
    parent.emplace(first, first);
    bool closed = false;
    std::size_t last = first;
    while (!queue.empty() && !closed) {
      std::size_t node = queue.front();
      queue.pop();
      for (std::size_t to : deps[node]) {
        if (component[to] != c) continue;
        if (to == first) {
          last = node;
          closed = true;
          break;
        }
        if (parent.emplace(to, node).second) queue.push(to);
      }
    }
    std::vector<std::size_t> path;
    for (std::size_t node = last; node != first; node = parent[node])
      path.push_back(node);
    path.push_back(first);
    std::reverse(path.begin(), path.end());
    cycles.push_back(std::move(path));
  }
  std::sort(cycles.begin(), cycles.end());
  return cycles;
}

std::vector<std::size_t> ApplyOrder(const Adjacency& deps,
                                    const std::vector<bool>& pending,
                                    const std::vector<std::size_t>& order_key) {
  const std::size_t n = deps.size();
  std::vector<std::size_t> waiting(n, 0);
  Adjacency dependents(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (!pending[i]) continue;
    std::vector<std::size_t> seen;
    for (std::size_t d : deps[i]) {
      if (!pending[d] || std::find(seen.begin(), seen.end(), d) != seen.end())
        continue;
      seen.push_back(d);
      ++waiting[i];
      dependents[d].push_back(i);
    }
  }
  using Item = std::pair<std::size_t, std::size_t>;  // (order key, node)
  std::priority_queue<Item, std::vector<Item>, std::greater<>> ready;
  for (std::size_t i = 0; i < n; ++i) {
    if (pending[i] && waiting[i] == 0) ready.push({order_key[i], i});
  }
  std::vector<std::size_t> order;
  while (!ready.empty()) {
    std::size_t node = ready.top().second;
    ready.pop();
    order.push_back(node);
    for (std::size_t d : dependents[node]) {
      if (--waiting[d] == 0) ready.push({order_key[d], d});
    }
  }
  return order;
}

SquashUse ClassifySquash(std::size_t replaced, std::size_t replaced_applied) {
  if (replaced_applied == replaced) return SquashUse::kAllApplied;
  if (replaced_applied == 0) return SquashUse::kNoneApplied;
  return SquashUse::kPartlyApplied;
}

}  // namespace schema_guard::core
