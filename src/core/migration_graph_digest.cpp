// The stored binary form of a declared graph (core/migration_graph.hpp):
// "SGMG", a format byte, then the graph's fields in declaration order;
// integers are 4 bytes little-endian, strings a length and their bytes. The
// derived dependency indexes and duplicate numbers are stored too, so that
// loading builds only the key maps.
#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <utility>

#include "core/error.hpp"
#include "core/migration_graph.hpp"

namespace schema_guard::core {

namespace {

constexpr std::string_view kDigestMagic = "SGMG";
// Format 2 adds depends_on, branch_labels and file to each migration;
// format 1 (written by 0.2.0 before them) is still read.
constexpr char kDigestFormat = 2;

class DigestWriter {
 public:
  void U32(std::size_t value) {
    for (int k = 0; k < 4; ++k)
      out_ += static_cast<char>((value >> (8 * k)) & 0xFF);
  }
  void Str(std::string_view text) {
    U32(text.size());
    out_.append(text);
  }
  void Key(const MigrationKey& key) {
    Str(key.app);
    Str(key.name);
  }
  void Keys(const std::vector<MigrationKey>& keys) {
    U32(keys.size());
    for (const auto& k : keys) Key(k);
  }
  void Index(std::size_t value) {
    U32(value == MigrationGraph::kNotDeclared ? 0xFFFFFFFFu : value);
  }
  std::string& out() { return out_; }

 private:
  std::string out_;
};

class DigestReader {
 public:
  explicit DigestReader(std::string_view bytes) : in_(bytes) {}
  std::size_t U32() {
    Need(4);
    const auto* p = reinterpret_cast<const unsigned char*>(in_.data() + pos_);
    pos_ += 4;
    return static_cast<std::size_t>(p[0]) |
           static_cast<std::size_t>(p[1]) << 8 |
           static_cast<std::size_t>(p[2]) << 16 |
           static_cast<std::size_t>(p[3]) << 24;
  }
  // A count of items that take at least `item_bytes` each.
  std::size_t Count(std::size_t item_bytes) {
    std::size_t n = U32();
    if (n > (in_.size() - pos_) / std::max<std::size_t>(item_bytes, 1)) Bad();
    return n;
  }
  std::string Str() {
    std::string text;
    StrInto(&text);
    return text;
  }
  // Reads a string into *out, without a temporary.
  void StrInto(std::string* out) {
    std::size_t n = U32();
    Need(n);
    out->assign(in_.data() + pos_, n);
    pos_ += n;
  }
  void KeyInto(MigrationKey* key) {
    StrInto(&key->app);
    StrInto(&key->name);
  }
  void KeysInto(std::vector<MigrationKey>* keys) {
    keys->resize(Count(8));
    for (auto& k : *keys) KeyInto(&k);
  }
  // A migration's index below `limit`; kNotDeclared only where the stored
  // form may hold it (a dependency on a migration the graph lacks).
  std::size_t Index(std::size_t limit, bool may_be_undeclared = false) {
    std::size_t value = U32();
    if (value == 0xFFFFFFFFu && may_be_undeclared) {
      return MigrationGraph::kNotDeclared;
    }
    if (value >= limit) Bad();
    return value;
  }
  char Byte() {
    Need(1);
    return in_[pos_++];
  }
  bool AtEnd() const { return pos_ == in_.size(); }
  [[noreturn]] static void Bad() {
    throw Error(ErrorCode::kInvalidParameterValue,
                "stored migration graph is unreadable",
                "The stored form of the declared graph was written by another "
                "release of schema_guard, or is damaged.",
                "Declare the graph again with "
                "schema_guard.declare_migrations().");
  }

 private:
  void Need(std::size_t n) const {
    if (in_.size() - pos_ < n) Bad();
  }
  std::string_view in_;
  std::size_t pos_ = 0;
};

}  // namespace

std::string EncodeMigrationGraph(const MigrationGraph& graph) {
  DigestWriter w;
  w.out().append(kDigestMagic);
  w.out() += kDigestFormat;
  w.out() += static_cast<char>(graph.framework);
  w.Str(graph.history_table);
  w.U32(graph.migrations.size());
  for (std::size_t i = 0; i < graph.migrations.size(); ++i) {
    const DeclaredMigration& m = graph.migrations[i];
    w.Key(m.key);
    w.Keys(m.dependencies);
    for (std::size_t d : graph.dependency_index[i]) w.Index(d);
    w.Keys(m.replaces);
    w.Keys(m.run_before);
    w.Keys(m.depends_on);
    w.U32(m.branch_labels.size());
    for (const auto& label : m.branch_labels) w.Str(label);
    w.Str(m.file);
    w.out() += static_cast<char>(m.checksum ? 1 : 0);
    if (m.checksum) w.Str(*m.checksum);
    w.out() += static_cast<char>(!m.atomic ? 0 : *m.atomic ? 2 : 1);
    w.U32(m.creates_tables.size());
    for (const auto& t : m.creates_tables) w.Str(t);
    w.U32(m.creates_columns.size());
    for (const auto& [t, c] : m.creates_columns) {
      w.Str(t);
      w.Str(c);
    }
  }
  w.U32(graph.duplicate_versions.size());
  for (const auto& [later, earlier] : graph.duplicate_versions) {
    w.U32(later);
    w.U32(earlier);
  }
  w.U32(graph.duplicate_numbers.size());
  for (const auto& group : graph.duplicate_numbers) {
    w.U32(group.size());
    for (std::size_t node : group) w.U32(node);
  }
  return std::move(w.out());
}

MigrationGraph DecodeMigrationGraph(std::string_view bytes) {
  if (bytes.substr(0, kDigestMagic.size()) != kDigestMagic) DigestReader::Bad();
  DigestReader r(bytes.substr(kDigestMagic.size()));
  const char format = r.Byte();
  if (format != 1 && format != kDigestFormat) DigestReader::Bad();
  MigrationGraph graph;
  char fw = r.Byte();
  if (fw < 0 || fw > static_cast<char>(Framework::kLiquibase))
    DigestReader::Bad();
  graph.framework = static_cast<Framework>(fw);
  graph.history_table = r.Str();
  const std::size_t n = r.Count(8);
  graph.migrations.resize(n);
  graph.dependency_index.resize(n);
  graph.index.Reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    DeclaredMigration& m = graph.migrations[i];
    r.KeyInto(&m.key);
    r.KeysInto(&m.dependencies);
    graph.dependency_index[i].resize(m.dependencies.size());
    for (auto& d : graph.dependency_index[i]) d = r.Index(n, true);
    r.KeysInto(&m.replaces);
    r.KeysInto(&m.run_before);
    if (format >= 2) {
      r.KeysInto(&m.depends_on);
      m.branch_labels.resize(r.Count(4));
      for (auto& label : m.branch_labels) r.StrInto(&label);
      r.StrInto(&m.file);
    }
    if (r.Byte() != 0) m.checksum = r.Str();
    char atomic = r.Byte();
    if (atomic != 0) m.atomic = atomic == 2;
    m.creates_tables.resize(r.Count(4));
    for (auto& t : m.creates_tables) r.StrInto(&t);
    m.creates_columns.resize(r.Count(8));
    for (auto& [t, c] : m.creates_columns) {
      r.StrInto(&t);
      r.StrInto(&c);
    }
    graph.index.Add(graph.migrations, i, MigrationKeyIndex::kOwnKey);
    for (std::size_t k = 0; k < m.replaces.size(); ++k) {
      graph.replaced_by.Add(graph.migrations, i, static_cast<std::uint32_t>(k));
    }
  }
  graph.duplicate_versions.resize(r.Count(8));
  for (auto& [later, earlier] : graph.duplicate_versions) {
    later = r.Index(n);
    earlier = r.Index(n);
  }
  graph.duplicate_numbers.resize(r.Count(4));
  for (auto& group : graph.duplicate_numbers) {
    group.resize(r.Count(4));
    for (auto& node : group) node = r.Index(n);
  }
  if (!r.AtEnd()) DigestReader::Bad();
  IndexDependsOn(&graph);
  return graph;
}

}  // namespace schema_guard::core
