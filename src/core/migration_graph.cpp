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

std::vector<std::string_view> VersionSegments(std::string_view version) {
  std::vector<std::string_view> segments;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= version.size(); ++i) {
    if (i == version.size() || version[i] == '.' || version[i] == '_') {
      segments.push_back(version.substr(start, i - start));
      start = i + 1;
    }
  }
  return segments;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) != 0;
  });
}

std::string_view StripZeros(std::string_view s) {
  if (!AllDigits(s)) return s;
  std::size_t i = 0;
  while (i + 1 < s.size() && s[i] == '0') ++i;
  return s.substr(i);
}

// Leading digits of a Django migration name: "0003" of "0003_add_x".
std::string_view NumberPrefix(std::string_view name) {
  std::size_t i = 0;
  while (i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])))
    ++i;
  if (i == 0 || (i < name.size() && name[i] != '_')) return {};
  return name.substr(0, i);
}

std::string Join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    out += items[i];
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------
// The document.

namespace {

// Django migrations of one app that share a number prefix, leaving out
// those a squash replaces and groups a merge migration depends on whole.
// A property of the graph alone: computed once, when it is read.
std::vector<std::vector<std::size_t>> UnmergedDuplicateNumbers(
    const MigrationGraph& graph) {
  const std::size_t n = graph.migrations.size();
  std::string key_buffer;
  std::unordered_map<std::string_view,
                     std::unordered_map<std::string_view, std::size_t>>
      first_with;
  std::map<std::pair<std::string, std::string>, std::vector<std::size_t>>
      groups;
  for (std::size_t i = 0; i < n; ++i) {
    const MigrationKey& key = graph.migrations[i].key;
    std::string_view number = NumberPrefix(key.name);
    if (number.empty() ||
        graph.replaced_by.count(MigrationKeyText(key, &key_buffer)) != 0) {
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

}  // namespace

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
  std::unordered_map<std::string, std::size_t>& seen = graph.index;
  seen.reserve(list.items().size());
  std::string key_buffer;
  graph.migrations.reserve(list.items().size());
  EachObject(document, "migrations", root, [&](const Json& m, const Path& p) {
    OnlyKeys(m, p,
             {"app", "name", "dependencies", "replaces", "checksum", "atomic",
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
    auto [it, inserted] = seen.emplace(
        MigrationKeyText(migration.key, &key_buffer), graph.migrations.size());
    if (!inserted) {
      if (!versioned) {
        Fail(p, fmt::format("duplicate migration \"{}\" (also migrations[{}])",
                            MigrationObject(fw, migration.key), it->second));
      }
      graph.duplicate_versions.emplace_back(graph.migrations.size(),
                                            it->second);
    }
    graph.migrations.push_back(std::move(migration));
  });
  graph.dependency_index.resize(graph.migrations.size());
  for (std::size_t i = 0; i < graph.migrations.size(); ++i) {
    for (const auto& r : graph.migrations[i].replaces) {
      graph.replaced_by.emplace(MigrationKeyText(r, &key_buffer), i);
    }
    for (const auto& d : graph.migrations[i].dependencies) {
      auto it = graph.index.find(MigrationKeyText(d, &key_buffer));
      graph.dependency_index[i].push_back(
          it == graph.index.end() ? MigrationGraph::kNotDeclared : it->second);
    }
  }
  if (fw == Framework::kDjango) {
    graph.duplicate_numbers = UnmergedDuplicateNumbers(graph);
  }
  return graph;
}

const std::string& MigrationKeyText(const MigrationKey& key,
                                    std::string* buffer) {
  buffer->assign(key.app);
  *buffer += '\x1f';
  *buffer += key.name;
  return *buffer;
}

std::string CanonicalVersion(std::string_view version) {
  std::vector<std::string_view> segments = VersionSegments(version);
  while (segments.size() > 1 && StripZeros(segments.back()) == "0")
    segments.pop_back();
  std::string out;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) out += '.';
    out += StripZeros(segments[i]);
  }
  return out;
}

bool VersionLess(std::string_view a, std::string_view b) {
  std::vector<std::string_view> x = VersionSegments(a);
  std::vector<std::string_view> y = VersionSegments(b);
  std::size_t n = std::max(x.size(), y.size());
  for (std::size_t i = 0; i < n; ++i) {
    std::string_view s = i < x.size() ? StripZeros(x[i]) : "0";
    std::string_view t = i < y.size() ? StripZeros(y[i]) : "0";
    if (s == t) continue;
    if (AllDigits(s) && AllDigits(t) && s.size() != t.size())
      return s.size() < t.size();
    return s < t;
  }
  return false;
}

std::string MigrationObject(Framework framework, const MigrationKey& key) {
  if (framework == Framework::kDjango) return key.app + "." + key.name;
  return fmt::format("{}:{}", FrameworkName(framework), key.name);
}

std::string TimestampText(long long epoch_micros) {
  long long seconds = epoch_micros / 1000000;
  long long fraction = epoch_micros % 1000000;
  if (fraction < 0) {
    fraction += 1000000;
    --seconds;
  }
  long long days = seconds / 86400;
  long long rest = seconds % 86400;
  if (rest < 0) {
    rest += 86400;
    --days;
  }
  // Civil date from days since 1970-01-01 (proleptic Gregorian).
  long long z = days + 719468;
  long long era = (z >= 0 ? z : z - 146096) / 146097;
  long long doe = z - era * 146097;
  long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  long long year = yoe + era * 400;
  long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  long long mp = (5 * doy + 2) / 153;
  long long day = doy - (153 * mp + 2) / 5 + 1;
  long long month = mp < 10 ? mp + 3 : mp - 9;
  if (month <= 2) ++year;
  year = std::clamp(year, 0LL, 9999LL);
  // Thousands of rows per check: digits by hand rather than fmt.
  std::string out = "0000-00-00 00:00:00.000000";
  auto put = [&out](std::size_t end, long long value, int width) {
    for (int k = 0; k < width; ++k) {
      out[end - static_cast<std::size_t>(k)] =
          static_cast<char>('0' + value % 10);
      value /= 10;
    }
  };
  put(3, year, 4);
  put(6, month, 2);
  put(9, day, 2);
  put(12, rest / 3600, 2);
  put(15, rest % 3600 / 60, 2);
  put(18, rest % 60, 2);
  put(25, fraction, 6);
  return out;
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

std::string_view ReconcileStatusName(ReconcileStatus status) {
  switch (status) {
    case ReconcileStatus::kSafeToFake:
      return "safe_to_fake";
    case ReconcileStatus::kPartlyPresent:
      return "partly_present";
    case ReconcileStatus::kMustApply:
      return "must_apply";
  }
  return "must_apply";
}

// ---------------------------------------------------------------------------
// The check.

namespace {

struct Commands {
  std::string migrate;  // apply everything pending
  std::function<std::string(const MigrationKey&)> fake;  // or empty
  std::string merge;   // {app} is replaced; empty when none
  std::string repair;  // after a failed row or a changed checksum
};

Commands CommandsFor(Framework framework, const std::string& table) {
  Commands c;
  switch (framework) {
    case Framework::kDjango:
      c.migrate = "python manage.py migrate";
      c.fake = [](const MigrationKey& k) {
        return fmt::format("python manage.py migrate --fake {} {}", k.app,
                           k.name);
      };
      c.merge = "python manage.py makemigrations --merge {app}";
      break;
    case Framework::kFlyway:
      c.migrate = "flyway migrate";
      c.repair = "flyway repair";
      break;
    case Framework::kAlembic:
      c.migrate = "alembic upgrade head";
      c.fake = [](const MigrationKey& k) {
        return fmt::format("alembic stamp {}", k.name);
      };
      c.merge = "alembic merge heads";
      break;
    case Framework::kRails:
      c.migrate = "bin/rails db:migrate";
      c.fake = [table](const MigrationKey& k) {
        return fmt::format("INSERT INTO {} (version) VALUES ({});",
                           table.empty() ? "schema_migrations" : table,
                           QuoteLiteral(k.name));
      };
      break;
    case Framework::kLiquibase:
      c.migrate = "liquibase update";
      c.repair = "liquibase clear-checksums";
      break;
  }
  return c;
}

int SeverityRank(Severity s) {
  switch (s) {
    case Severity::kError:
      return 0;
    case Severity::kWarning:
      return 1;
    case Severity::kInfo:
      return 2;
  }
  return 3;
}

class Checker {
 public:
  Checker(Framework framework, const MigrationGraph* graph, History history,
          const LiveObjects& live)
      : fw_(framework), graph_(graph), live_(live) {
    result_.framework = framework;
    result_.graph_declared = graph != nullptr;
    result_.history = std::move(history);
    commands_ = CommandsFor(framework, result_.history.table);
  }

  MigrationCheck Run() {
    IndexHistory();
    if (graph_ != nullptr) {
      IndexGraph();
      CheckDeclaredGraph();
      ResolveApplied();
      ResolveSquashes();
      BuildEffectiveGraph();
      CheckCycles();
      CheckApplied();
      PlanPending();
      CheckLeaves();
      CheckDuplicateNumbers();
      CheckGhosts();
    }
    CheckHistoryRows();
    Summarize();
    // By app, then severity; stable. Sorted as indexes: findings are big.
    std::vector<std::size_t> order(result_.findings.size());
    for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
    const auto& findings = result_.findings;
    std::stable_sort(
        order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
          const Finding& x = findings[a];
          const Finding& y = findings[b];
          if (x.app != y.app) return x.app < y.app;
          return SeverityRank(x.severity) < SeverityRank(y.severity);
        });
    std::vector<Finding> sorted;
    sorted.reserve(order.size());
    for (std::size_t k : order)
      sorted.push_back(std::move(result_.findings[k]));
    result_.findings = std::move(sorted);
    return std::move(result_);
  }

 private:
  const MigrationGraph& G() const { return *graph_; }
  const DeclaredMigration& M(std::size_t i) const {
    return graph_->migrations[i];
  }
  std::string Obj(const MigrationKey& key) const {
    return MigrationObject(fw_, key);
  }
  std::string Obj(std::size_t i) const { return Obj(M(i).key); }
  const std::string& Table() const { return result_.history.table; }

  Finding& Add(Severity severity, std::string kind, std::string app,
               std::string object, std::string message) {
    Finding f;
    f.severity = severity;
    f.kind = std::move(kind);
    f.app = std::move(app);
    f.object = std::move(object);
    f.message = std::move(message);
    result_.findings.push_back(std::move(f));
    return result_.findings.back();
  }

  // History rows by key: the successful row, else the last one. Rows of
  // declared migrations are indexed by migration, the others by key.
  void IndexHistory() {
    const auto& rows = result_.history.rows;
    if (graph_ != nullptr) row_for_node_.assign(G().migrations.size(), kNoRow);
    row_node_.assign(rows.size(), kNoRow);
    for (std::size_t r = 0; r < rows.size(); ++r) {
      if (rows[r].state == HistoryState::kIgnored) continue;
      if (rows[r].state == HistoryState::kBaseline) {
        if (!baseline_ ||
            VersionLess(rows[*baseline_].key.name, rows[r].key.name)) {
          baseline_ = r;
        }
        continue;
      }
      std::size_t* slot = nullptr;
      std::optional<std::size_t> node;
      if (graph_ != nullptr) node = NodeOf(rows[r].key);
      if (node) {
        row_node_[r] = *node;
        slot = &row_for_node_[*node];
      } else {
        slot =
            &row_of_
                 .emplace(MigrationKeyText(rows[r].key, &key_buffer_), kNoRow)
                 .first->second;
      }
      if (*slot == kNoRow) {
        *slot = r;
        continue;
      }
      const AppliedMigration& earlier = rows[*slot];
      bool earlier_ok = earlier.state != HistoryState::kFailed;
      bool this_ok = rows[r].state != HistoryState::kFailed;
      if (earlier_ok && this_ok) {
        if (fw_ == Framework::kFlyway || fw_ == Framework::kRails) {
          Finding& f =
              Add(Severity::kError, "duplicate_version", rows[r].key.app,
                  Obj(rows[r].key),
                  fmt::format("version {} is recorded twice in {} (at ranks {} "
                              "and {})",
                              rows[r].key.name, Table(), earlier.rank,
                              rows[r].rank));
          f.actual = fmt::format("{} rows", 2);
        }
      } else if (!earlier_ok && this_ok) {
        *slot = r;  // a later successful run supersedes the failure
      }
    }
  }

  // The row kept for each recorded migration, in history order.
  std::vector<std::size_t> IndexedRows() const {
    std::vector<std::size_t> out;
    for (std::size_t r : row_for_node_) {
      if (r != kNoRow) out.push_back(r);
    }
    for (const auto& entry : row_of_) out.push_back(entry.second);
    std::sort(out.begin(), out.end());
    return out;
  }

  std::optional<std::size_t> RowOfNode(std::size_t i) const {
    if (row_for_node_[i] == kNoRow) return std::nullopt;
    return row_for_node_[i];
  }
  std::optional<std::size_t> RowOf(const MigrationKey& key) const {
    if (graph_ != nullptr) {
      if (auto node = NodeOf(key)) return RowOfNode(*node);
    }
    auto it = row_of_.find(MigrationKeyText(key, &key_buffer_));
    if (it == row_of_.end()) return std::nullopt;
    return it->second;
  }
  const AppliedMigration& Row(std::size_t r) const {
    return result_.history.rows[r];
  }
  bool RowApplied(std::optional<std::size_t> r) const {
    return r && Row(*r).state != HistoryState::kFailed;
  }

  void IndexGraph() {
    const std::size_t n = G().migrations.size();
    for (std::size_t i = 0; i < n; ++i) apps_.insert(M(i).key.app);
  }

  // The plan's tie-break among ready migrations: app, then name (Flyway:
  // version order).
  bool KeyLess(std::size_t a, std::size_t b) const {
    if (M(a).key.app != M(b).key.app) return M(a).key.app < M(b).key.app;
    if (fw_ == Framework::kFlyway)
      return VersionLess(M(a).key.name, M(b).key.name);
    return M(a).key.name < M(b).key.name;
  }

  std::optional<std::size_t> NodeOf(const MigrationKey& key) const {
    auto it = G().index.find(MigrationKeyText(key, &key_buffer_));
    if (it == G().index.end()) return std::nullopt;
    return it->second;
  }
  std::optional<std::size_t> SquashOf(const MigrationKey& key) const {
    auto it = G().replaced_by.find(MigrationKeyText(key, &key_buffer_));
    if (it == G().replaced_by.end()) return std::nullopt;
    return it->second;
  }

  void CheckDeclaredGraph() {
    for (const auto& [later, earlier] : G().duplicate_versions) {
      Add(Severity::kError, "duplicate_version", M(later).key.app, Obj(later),
          fmt::format("version {} is declared twice (migrations[{}] and "
                      "migrations[{}])",
                      M(later).key.name, earlier, later));
    }
    for (std::size_t i = 0; i < G().migrations.size(); ++i) {
      for (std::size_t k = 0; k < M(i).dependencies.size(); ++k) {
        const MigrationKey& d = M(i).dependencies[k];
        if (G().dependency_index[i][k] != MigrationGraph::kNotDeclared ||
            SquashOf(d))
          continue;
        Finding& f =
            Add(Severity::kError, "unknown_dependency", M(i).key.app, Obj(i),
                fmt::format("{} depends on {}, which is not declared", Obj(i),
                            Obj(d)));
        f.expected = Obj(d);
      }
    }
  }

  // Which declared migrations the history records as applied.
  void ResolveApplied() {
    const std::size_t n = G().migrations.size();
    row_applied_.assign(n, false);
    for (std::size_t i = 0; i < n; ++i) {
      row_applied_[i] = RowApplied(RowOfNode(i));
      if (!row_applied_[i] && baseline_ &&
          !VersionLess(Row(*baseline_).key.name, M(i).key.name)) {
        row_applied_[i] = true;  // at or below Flyway's baseline
      }
    }
    if (fw_ != Framework::kAlembic) return;
    // alembic_version holds the heads; everything below them is applied.
    std::vector<std::size_t> stack;
    for (std::size_t i = 0; i < n; ++i) {
      if (row_applied_[i]) stack.push_back(i);
    }
    while (!stack.empty()) {
      std::size_t node = stack.back();
      stack.pop_back();
      for (std::size_t j : G().dependency_index[node]) {
        if (j != MigrationGraph::kNotDeclared && !row_applied_[j]) {
          row_applied_[j] = true;
          stack.push_back(j);
        }
      }
    }
  }

  bool KeyApplied(const MigrationKey& key) const {
    if (auto i = NodeOf(key)) return row_applied_[*i];
    return RowApplied(RowOf(key));
  }

  void ResolveSquashes() {
    const std::size_t n = G().migrations.size();
    in_effective_.assign(n, true);
    applied_.assign(row_applied_.begin(), row_applied_.end());
    squash_removed_.assign(n, false);
    replaced_in_use_.assign(n, std::nullopt);
    // A version declared twice counts once (reported as duplicate_version).
    for (const auto& dup : G().duplicate_versions)
      in_effective_[dup.first] = false;
    for (std::size_t s = 0; s < n; ++s) {
      const auto& replaces = M(s).replaces;
      if (replaces.empty()) continue;
      std::vector<std::string> done, not_done, gone;
      for (const auto& r : replaces) {
        if (KeyApplied(r)) {
          done.push_back(Obj(r));
        } else {
          not_done.push_back(Obj(r));
          if (!NodeOf(r)) gone.push_back(Obj(r));
        }
      }
      bool own_row = RowApplied(RowOfNode(s));
      switch (ClassifySquash(replaces.size(), done.size())) {
        case SquashUse::kAllApplied: {
          applied_[s] = true;
          // It ran as the migrations it replaces; its own row is written
          // afterwards, without DDL.
          recorded_by_replacement_.insert(s);
          if (!own_row) {
            Finding& f = Add(
                Severity::kInfo, "squash_ready", M(s).key.app, Obj(s),
                fmt::format("all {} migrations {} replaces are applied; its "
                            "own row is not recorded yet, and the files it "
                            "replaces can be removed once it is",
                            replaces.size(), Obj(s)));
            if (fw_ == Framework::kDjango && !Table().empty()) {
              f.fix = fmt::format(
                  "INSERT INTO {} (app, name, applied) VALUES ({}, {}, "
                  "now());",
                  Table(), QuoteLiteral(M(s).key.app),
                  QuoteLiteral(M(s).key.name));
            }
          }
          SetReplacedInUse(s);
          break;
        }
        case SquashUse::kNoneApplied:
          applied_[s] = false;
          if (own_row) {
            Finding& f = Add(
                Severity::kError, "squash_partially_applied", M(s).key.app,
                Obj(s),
                fmt::format("{} is recorded as applied, but none of the {} "
                            "migrations it replaces are; Django counts it as "
                            "not applied and will run it again",
                            Obj(s), replaces.size()));
            f.expected = Join(not_done, ", ");
          }
          SetReplacedInUse(s);
          break;
        case SquashUse::kPartlyApplied: {
          in_effective_[s] = false;
          squash_removed_[s] = true;
          applied_[s] = false;
          Finding& f =
              Add(gone.empty() ? Severity::kWarning : Severity::kError,
                  "squash_partially_applied", M(s).key.app, Obj(s),
                  gone.empty()
                      ? fmt::format("{} of the {} migrations {} replaces are "
                                    "applied; the squash cannot be used until "
                                    "the rest are, so keep the replaced files",
                                    done.size(), replaces.size(), Obj(s))
                      : fmt::format("{} of the {} migrations {} replaces are "
                                    "applied, and the files of {} are gone; "
                                    "restore them to finish the squash",
                                    done.size(), replaces.size(), Obj(s),
                                    Join(gone, ", ")));
          f.expected = Join(not_done, ", ");
          f.actual = Join(done, ", ");
          if (gone.empty()) f.fix = commands_.migrate;
          break;
        }
      }
    }
  }

  void SetReplacedInUse(std::size_t squash) {
    for (const auto& r : M(squash).replaces) {
      if (auto j = NodeOf(r)) {
        in_effective_[*j] = false;
        replaced_in_use_[*j] = squash;
      }
    }
  }

  // Dependencies of effective nodes, with squashes in place of what they
  // replace, and a removed squash replaced by its migrations.
  void BuildEffectiveGraph() {
    const std::size_t n = G().migrations.size();
    deps_.assign(n, {});
    for (std::size_t i = 0; i < n; ++i) {
      if (!in_effective_[i]) continue;
      auto add = [&](std::size_t j) {
        if (j != i &&
            std::find(deps_[i].begin(), deps_[i].end(), j) == deps_[i].end()) {
          deps_[i].push_back(j);
        }
      };
      auto resolve = [&](const MigrationKey& d, std::size_t declared) {
        std::optional<std::size_t> j;
        if (declared != MigrationGraph::kNotDeclared) j = declared;
        if (!j) {
          if (auto s = SquashOf(d); s && in_effective_[*s]) add(*s);
          return;
        }
        if (in_effective_[*j]) {
          add(*j);
        } else if (replaced_in_use_[*j]) {
          add(*replaced_in_use_[*j]);
        } else if (squash_removed_[*j]) {
          for (const auto& r : M(*j).replaces) {
            if (auto k = NodeOf(r); k && in_effective_[*k]) add(*k);
          }
        }
      };
      for (std::size_t k = 0; k < M(i).dependencies.size(); ++k) {
        resolve(M(i).dependencies[k], G().dependency_index[i][k]);
      }
    }
  }

  void CheckCycles() {
    for (const auto& cycle : DependencyCycles(deps_)) {
      std::vector<std::string> names;
      names.reserve(cycle.size() + 1);
      for (std::size_t node : cycle) names.push_back(Obj(node));
      names.push_back(Obj(cycle.front()));
      Add(Severity::kError, "dependency_cycle", M(cycle.front()).key.app,
          Obj(cycle.front()),
          fmt::format("dependency cycle: {}", Join(names, " -> ")));
    }
  }

  bool AllPresent(const DeclaredMigration& m) const {
    for (const auto& t : m.creates_tables) {
      if (live_.tables.count(t) == 0) return false;
    }
    for (const auto& c : m.creates_columns) {
      if (live_.columns.count(c) == 0) return false;
    }
    return true;
  }

  std::vector<std::string> Missing(const DeclaredMigration& m,
                                   std::vector<std::string>* present) const {
    std::vector<std::string> missing;
    for (const auto& t : m.creates_tables) {
      (live_.tables.count(t) != 0 ? present : &missing)->push_back(t);
    }
    for (const auto& c : m.creates_columns) {
      std::string name = c.first + "." + c.second;
      (live_.columns.count(c) != 0 ? present : &missing)->push_back(name);
    }
    return missing;
  }

  void CheckApplied() {
    const std::size_t n = G().migrations.size();
    for (std::size_t i = 0; i < n; ++i) {
      if (!in_effective_[i] || !applied_[i]) continue;
      for (std::size_t j : deps_[i]) {
        if (!applied_[j]) {
          Finding& f = Add(
              Severity::kError, "inconsistent_history", M(i).key.app, Obj(i),
              fmt::format("{} is applied, but its dependency {} is not", Obj(i),
                          Obj(j)));
          f.expected = Obj(j);
          std::vector<std::string> present;
          if (M(j).DeclaresSchemaChanges() && commands_.fake &&
              Missing(M(j), &present).empty()) {
            f.fix = commands_.fake(M(j).key);
          }
        }
      }
      CheckOrder(i);
      CheckRecorded(i);
    }
  }

  // Applied before a dependency: compared row with row, along the declared
  // dependencies (a squash recorded after what it replaces has no time of
  // its own that matters).
  void CheckOrder(std::size_t i) {
    if (recorded_by_replacement_.count(i) != 0) return;
    auto own = RowOfNode(i);
    if (!own || Row(*own).applied_at.empty()) return;
    const std::string& at = Row(*own).applied_at;
    for (const auto& d : M(i).dependencies) {
      auto j = NodeOf(d);
      if (j && recorded_by_replacement_.count(*j) != 0) continue;
      auto r = RowOf(d);
      if (!r || Row(*r).state == HistoryState::kFailed ||
          Row(*r).applied_at.empty() || !(at < Row(*r).applied_at)) {
        continue;
      }
      Finding& f =
          Add(Severity::kWarning, "applied_out_of_order", M(i).key.app, Obj(i),
              fmt::format("{} was applied at {}, before its dependency {} "
                          "(applied at {})",
                          Obj(i), at, Obj(d), Row(*r).applied_at));
      f.expected = fmt::format("after {}", Row(*r).applied_at);
      f.actual = at;
    }
  }

  // Faked migrations and changed checksums of an applied migration.
  void CheckRecorded(std::size_t i) {
    const DeclaredMigration& m = M(i);
    auto r = RowOfNode(i);
    bool marked = r && Row(*r).state == HistoryState::kMarkedRan;
    if (m.DeclaresSchemaChanges()) {
      if (!AllPresent(m)) {
        std::vector<std::string> present;
        std::vector<std::string> missing = Missing(m, &present);
        Finding& f =
            Add(Severity::kError, "faked_migration", m.key.app, Obj(i),
                fmt::format("{} is {}, but {} {} not exist", Obj(i),
                            marked ? "marked as ran (MARK_RAN) without running"
                                   : "recorded as applied",
                            Join(missing, ", "),
                            missing.size() == 1 ? "does" : "do"));
        f.expected = Join(missing, ", ");
        f.actual = present.empty() ? std::string() : Join(present, ", ");
      } else if (!marked && r && recorded_by_replacement_.count(i) == 0 &&
                 Row(*r).audit_saw_ddl.has_value() && !*Row(*r).audit_saw_ddl) {
        Add(Severity::kInfo, "faked_migration", m.key.app, Obj(i),
            fmt::format("{} was recorded without running any DDL (the audit "
                        "saw its history row written with none); everything "
                        "it declares exists",
                        Obj(i)));
      }
    }
    if (r && m.checksum && Row(*r).checksum &&
        *m.checksum != *Row(*r).checksum) {
      Finding& f = Add(
          Severity::kError, "checksum_mismatch", m.key.app, Obj(i),
          fmt::format("{} was applied with checksum {}, and its file now has "
                      "{}: it changed after it was applied",
                      Obj(i), *Row(*r).checksum, *m.checksum));
      f.expected = *m.checksum;
      f.actual = *Row(*r).checksum;
      f.fix = commands_.repair;
    }
  }

  void PlanPending() {
    const std::size_t n = G().migrations.size();
    std::vector<bool> pending(n, false);
    std::size_t pending_count = 0;
    for (std::size_t i = 0; i < n; ++i) {
      pending[i] = in_effective_[i] && !applied_[i];
      pending_count += pending[i] ? 1 : 0;
    }
    // Order keys for the pending migrations only: usually few of many.
    std::vector<std::size_t> by_key;
    for (std::size_t i = 0; i < n; ++i) {
      if (pending[i]) by_key.push_back(i);
    }
    std::sort(by_key.begin(), by_key.end(),
              [&](std::size_t a, std::size_t b) { return KeyLess(a, b); });
    std::vector<std::size_t> order_key(n, 0);
    for (std::size_t k = 0; k < by_key.size(); ++k) order_key[by_key[k]] = k;
    std::vector<std::size_t> order = ApplyOrder(deps_, pending, order_key);
    std::vector<std::size_t> step(n, 0);
    for (std::size_t k = 0; k < order.size(); ++k) step[order[k]] = k + 1;
    for (std::size_t node : order) {
      PlanStep s;
      s.key = M(node).key;
      for (std::size_t d : deps_[node]) {
        if (pending[d]) s.pending_dependencies.push_back(step[d] - 1);
      }
      result_.plan.push_back(std::move(s));
    }
    std::string where =
        result_.history.present
            ? std::string()
            : fmt::format(" (the history table {} does not exist)",
                          G().history_table.empty()
                              ? std::string(HistoryTableName(fw_))
                              : G().history_table);
    for (std::size_t i = 0; i < n; ++i) {
      if (!pending[i]) continue;
      const DeclaredMigration& m = M(i);
      std::string place =
          step[i] != 0 ? fmt::format("step {} of {} in the apply plan", step[i],
                                     pending_count)
                       : std::string(
                             "cannot be planned: it waits on a dependency "
                             "cycle");
      std::string message =
          fmt::format("{} is not applied{}; {}", Obj(i), where, place);
      std::string fix = commands_.migrate;
      if (m.DeclaresSchemaChanges()) {
        ReconcileRow row;
        row.key = m.key;
        row.missing = Missing(m, &row.present);
        if (row.missing.empty()) {
          row.status = ReconcileStatus::kSafeToFake;
          message += "; everything it creates exists already";
          if (commands_.fake) {
            fix = commands_.fake(m.key);
            message += ", so it is safe to fake";
          }
        } else if (!row.present.empty()) {
          row.status = ReconcileStatus::kPartlyPresent;
          message += fmt::format(
              "; part of what it creates exists already ({}), part does not "
              "({}): look before applying it",
              Join(row.present, ", "), Join(row.missing, ", "));
          fix.clear();
        }
        result_.reconcile.push_back(std::move(row));
      }
      Finding& f = Add(Severity::kWarning, "pending_migration", m.key.app,
                       Obj(i), std::move(message));
      f.expected = "applied";
      f.actual = "not applied";
      f.fix = std::move(fix);
    }
  }

  // Django: more than one leaf per app; Alembic: more than one head.
  void CheckLeaves() {
    if (fw_ != Framework::kDjango && fw_ != Framework::kAlembic) return;
    const std::size_t n = G().migrations.size();
    std::vector<bool> has_child(n, false);
    for (std::size_t i = 0; i < n; ++i) {
      if (!in_effective_[i]) continue;
      for (std::size_t j : deps_[i]) {
        if (fw_ == Framework::kAlembic || M(j).key.app == M(i).key.app)
          has_child[j] = true;
      }
    }
    std::map<std::string, std::vector<std::size_t>> leaves;
    for (std::size_t i = 0; i < n; ++i) {
      if (in_effective_[i] && !has_child[i]) leaves[M(i).key.app].push_back(i);
    }
    for (auto& [app, nodes] : leaves) {
      if (nodes.size() < 2) continue;
      std::sort(nodes.begin(), nodes.end(),
                [&](std::size_t a, std::size_t b) { return KeyLess(a, b); });
      std::vector<std::string> names;
      for (std::size_t node : nodes) names.push_back(M(node).key.name);
      if (fw_ == Framework::kAlembic) {
        Finding& f =
            Add(Severity::kError, "alembic_multiple_heads", app, "alembic",
                fmt::format("the revision graph has {} heads: {}; upgrade head "
                            "needs one",
                            nodes.size(), Join(names, ", ")));
        f.expected = "1 head";
        f.actual = Join(names, ", ");
        f.fix = commands_.merge;
      } else {
        Finding& f =
            Add(Severity::kError, "conflicting_leaves", app, app,
                fmt::format("app \"{}\" has {} leaf migrations: {}; it needs a "
                            "merge migration",
                            app, nodes.size(), Join(names, ", ")));
        f.expected = "1 leaf";
        f.actual = Join(names, ", ");
        f.fix = fmt::format("python manage.py makemigrations --merge {}", app);
      }
    }
  }

  void CheckDuplicateNumbers() {
    for (const auto& nodes : G().duplicate_numbers) {
      const std::string& app = M(nodes.front()).key.app;
      std::string number(NumberPrefix(M(nodes.front()).key.name));
      std::vector<std::string> names;
      names.reserve(nodes.size());
      for (std::size_t node : nodes) names.push_back(M(node).key.name);
      Finding& f = Add(
          Severity::kWarning, "duplicate_number", app,
          fmt::format("{}.{}", app, number),
          fmt::format("app \"{}\" has {} migrations numbered {}: {}, and no "
                      "merge migration depends on all of them",
                      app, nodes.size(), number, Join(names, ", ")));
      f.actual = Join(names, ", ");
    }
  }

  void CheckGhosts() {
    const auto& rows = result_.history.rows;
    std::map<std::string, std::vector<std::size_t>> unknown_apps;
    for (std::size_t r = 0; r < rows.size(); ++r) {
      const AppliedMigration& row = rows[r];
      if (row.state == HistoryState::kFailed ||
          row.state == HistoryState::kIgnored ||
          row.state == HistoryState::kBaseline)
        continue;
      if (row_node_[r] != kNoRow || SquashOf(row.key)) continue;
      if (fw_ == Framework::kDjango && apps_.count(row.key.app) == 0) {
        unknown_apps[row.key.app].push_back(r);
        continue;
      }
      ++ghost_applied_[row.key.app];
      bool fatal = fw_ == Framework::kAlembic || fw_ == Framework::kFlyway;
      Finding& f = Add(
          fatal ? Severity::kError : Severity::kWarning, "ghost_migration",
          row.key.app, Obj(row.key),
          fmt::format("{} is recorded as applied in {}, but not declared{}",
                      Obj(row.key), Table(),
                      fw_ == Framework::kDjango ? " (Django ignores the row)"
                      : fw_ == Framework::kAlembic
                          ? " (alembic cannot locate the revision)"
                          : ""));
      f.expected = "declared";
      f.actual = "applied";
      f.fix = GhostFix(row.key, false);
    }
    for (const auto& [app, list] : unknown_apps) {
      ghost_applied_[app] += list.size();
      Finding& f = Add(
          Severity::kWarning, "ghost_migration", app, app,
          fmt::format("app \"{}\" has {} applied migration{} in {} and none "
                      "declared: the app was removed, or its graph was not "
                      "exported",
                      app, list.size(), list.size() == 1 ? "" : "s", Table()));
      f.actual = fmt::format("{} applied", list.size());
      f.fix = GhostFix({app, {}}, true);
    }
  }

  std::string GhostFix(const MigrationKey& key, bool whole_app) const {
    if (Table().empty()) return {};
    switch (fw_) {
      case Framework::kDjango:
        if (whole_app) {
          return fmt::format("DELETE FROM {} WHERE app = {};", Table(),
                             QuoteLiteral(key.app));
        }
        return fmt::format("DELETE FROM {} WHERE app = {} AND name = {};",
                           Table(), QuoteLiteral(key.app),
                           QuoteLiteral(key.name));
      case Framework::kRails:
        return fmt::format("DELETE FROM {} WHERE version = {};", Table(),
                           QuoteLiteral(key.name));
      default:
        return {};
    }
  }

  // Checks that need no graph: failed rows.
  void CheckHistoryRows() {
    for (std::size_t r : IndexedRows()) {
      const AppliedMigration& row = Row(r);
      if (row.state != HistoryState::kFailed) continue;
      Finding& f = Add(
          Severity::kError, "failed_migration", row.key.app, Obj(row.key),
          fmt::format("{} failed{}; fix the migration, then {}", Obj(row.key),
                      fw_ == Framework::kFlyway ? " (success = false)"
                                                : " (exectype FAILED)",
                      fw_ == Framework::kFlyway
                          ? "run flyway repair to remove the failed row"
                          : "run it again"));
      f.expected = "success";
      f.actual = "failed";
      f.fix = commands_.repair.empty() || fw_ != Framework::kFlyway
                  ? std::string()
                  : commands_.repair;
    }
  }

  void Summarize() {
    std::map<std::string, AppSummary> apps;
    if (graph_ != nullptr) {
      for (std::size_t i = 0; i < G().migrations.size(); ++i) {
        if (!in_effective_[i]) continue;
        AppSummary& s = apps[M(i).key.app];
        ++s.declared;
        if (applied_[i])
          ++s.applied;
        else
          ++s.pending;
      }
    } else {
      for (std::size_t r : IndexedRows()) {
        if (Row(r).state != HistoryState::kFailed)
          ++apps[Row(r).key.app].applied;
      }
    }
    for (const auto& [app, count] : ghost_applied_) apps[app].applied += count;
    for (const auto& f : result_.findings) {
      AppSummary& s = apps[f.app];
      if (f.kind != "pending_migration" && f.severity != Severity::kInfo)
        ++s.problems;
    }
    for (auto& [app, s] : apps) {
      s.app = app;
      result_.apps.push_back(s);
    }
  }

  Framework fw_;
  const MigrationGraph* graph_;
  const LiveObjects& live_;
  MigrationCheck result_;
  Commands commands_;
  static constexpr std::size_t kNoRow = static_cast<std::size_t>(-1);
  std::vector<std::size_t> row_for_node_;  // declared migration -> its row
  std::vector<std::size_t> row_node_;      // row -> declared migration
  std::unordered_map<std::string, std::size_t> row_of_;  // undeclared rows
  std::optional<std::size_t> baseline_;
  mutable std::string key_buffer_;  // lookups without allocation
  std::set<std::string> apps_;
  std::map<std::string, std::size_t> ghost_applied_;  // undeclared rows
  std::set<std::size_t> recorded_by_replacement_;  // squashes applied as such
  std::vector<bool> row_applied_, applied_, in_effective_, squash_removed_;
  std::vector<std::optional<std::size_t>> replaced_in_use_;
  Adjacency deps_;
};

}  // namespace

MigrationCheck CheckMigrations(Framework framework, const MigrationGraph* graph,
                               History history, const LiveObjects& live) {
  return Checker(framework, graph, std::move(history), live).Run();
}

std::vector<std::size_t> PlanForApp(const MigrationCheck& check,
                                    std::string_view app) {
  std::vector<bool> needed(check.plan.size(), false);
  for (std::size_t k = check.plan.size(); k-- > 0;) {
    if (check.plan[k].key.app == app) needed[k] = true;
    if (!needed[k]) continue;
    for (std::size_t d : check.plan[k].pending_dependencies) needed[d] = true;
  }
  std::vector<std::size_t> steps;
  for (std::size_t k = 0; k < needed.size(); ++k) {
    if (needed[k]) steps.push_back(k);
  }
  return steps;
}

// ---------------------------------------------------------------------------
// The report.

std::string RenderMigrationReport(const std::vector<MigrationCheck>& checks) {
  if (checks.empty()) {
    return "migration_check: no migration history table and no declared "
           "migration graph in this database.\n"
           "Declare the project's graph with "
           "SELECT schema_guard.declare_migrations(graph);\n";
  }
  constexpr std::size_t kPendingShown = 5;
  constexpr std::size_t kKindShown = 10;
  constexpr std::size_t kStepsShown = 20;
  std::string out;
  for (const auto& check : checks) {
    if (!out.empty()) out += '\n';
    std::string_view fw = FrameworkName(check.framework);
    out += fmt::format(
        "migration_check: {}, history table {}, {}\n", fw,
        check.history.present ? check.history.table : std::string("missing"),
        check.graph_declared
            ? "graph declared"
            : "no graph declared (only failed and duplicate rows are "
              "checked)");
    std::size_t width = 3;
    for (const auto& a : check.apps) width = std::max(width, a.app.size());
    out += fmt::format("\n  {:<{}}  {:>8}  {:>8}  {:>8}\n", "app", width,
                       "applied", "pending", "problems");
    for (const auto& a : check.apps) {
      out += fmt::format("  {:<{}}  {:>8}  {:>8}  {:>8}\n", a.app, width,
                         a.applied, a.pending, a.problems);
    }
    std::map<std::string, std::vector<const Finding*>> by_app;
    for (const auto& f : check.findings) by_app[f.app].push_back(&f);
    for (const auto& [app, items] : by_app) {
      out += fmt::format("\n[{}]\n", app);
      // A long list of one kind is cut short; the rows have them all.
      std::map<std::string, std::size_t> shown, total;
      for (const Finding* f : items) {
        std::size_t limit =
            f->kind == "pending_migration" ? kPendingShown : kKindShown;
        if (++total[f->kind] > limit) continue;
        ++shown[f->kind];
        out += fmt::format("  {} [{}] {}\n", f->kind, SeverityName(f->severity),
                           f->message);
      }
      for (const auto& [kind, count] : total) {
        if (count == shown[kind]) continue;
        if (kind == "pending_migration") {
          out += fmt::format(
              "  ... and {} more pending (SELECT * FROM "
              "schema_guard.migration_plan({});)\n",
              count - shown[kind], QuoteLiteral(app));
        } else {
          out += fmt::format(
              "  ... and {} more {} (SELECT * FROM "
              "schema_guard.migration_check() WHERE kind = '{}';)\n",
              count - shown[kind], kind, kind);
        }
      }
    }
    // Next steps: each fix once, in the order the findings come.
    std::vector<std::pair<std::string, std::vector<const Finding*>>> steps;
    std::unordered_map<std::string_view, std::size_t> step_of;
    for (const auto& f : check.findings) {
      if (f.fix.empty()) continue;
      auto [it, inserted] = step_of.emplace(f.fix, steps.size());
      if (inserted) steps.push_back({f.fix, {}});
      steps[it->second].second.push_back(&f);
    }
    // The most severe first, then pending migrations, then info.
    auto rank = [](const std::vector<const Finding*>& items) {
      int best = 4;
      for (const Finding* f : items) {
        int r = f->kind == "pending_migration"   ? 2
                : f->severity == Severity::kInfo ? 3
                                                 : SeverityRank(f->severity);
        best = std::min(best, r);
      }
      return best;
    };
    std::stable_sort(steps.begin(), steps.end(),
                     [&](const auto& a, const auto& b) {
                       return rank(a.second) < rank(b.second);
                     });
    if (steps.empty()) {
      if (check.findings.empty()) out += "\n  everything is consistent\n";
      continue;
    }
    out += "\nnext steps:\n";
    std::size_t step_count = 0;
    for (const auto& [fix, items] : steps) {
      if (++step_count > kStepsShown) {
        out += fmt::format(
            "  ... and {} more (SELECT fix FROM schema_guard.migration_check() "
            "WHERE fix IS NOT NULL;)\n",
            steps.size() - kStepsShown);
        break;
      }
      const Finding& first = **std::min_element(
          items.begin(), items.end(), [](const Finding* a, const Finding* b) {
            return SeverityRank(a->severity) < SeverityRank(b->severity);
          });
      bool all_pending = std::all_of(items.begin(), items.end(), [](auto* f) {
        return f->kind == "pending_migration";
      });
      std::string why;
      if (all_pending && items.size() > 1) {
        why = fmt::format("{} pending migrations", items.size());
      } else if (items.size() > 1) {
        why = fmt::format("{} (and {} more)", first.message, items.size() - 1);
      } else {
        why = first.message;
      }
      out += fmt::format("  {}\n      -- {}\n", fix, why);
    }
  }
  return out;
}

}  // namespace schema_guard::core
