// MigrationKeyIndex (core/migration_graph.hpp): open addressing with linear
// probing over node numbers, at most half full.
#include <functional>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "core/migration_graph.hpp"

namespace schema_guard::core {

namespace {

std::size_t KeyHash(std::string_view app, std::string_view name) {
  std::hash<std::string_view> hash;
  return hash(app) * 0x9E3779B97F4A7C15ull ^ hash(name);
}

}  // namespace

const MigrationKey& MigrationKeyIndex::KeyOf(
    const std::vector<DeclaredMigration>& migrations, const Slot& slot) {
  const DeclaredMigration& m = migrations[slot.node];
  return slot.item == kOwnKey ? m.key : m.replaces[slot.item];
}

void MigrationKeyIndex::Reserve(std::size_t keys) {
  std::size_t capacity = 16;
  while (capacity < 2 * keys) capacity *= 2;
  if (capacity <= slots_.size()) return;
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(capacity, Slot{});
  for (const Slot& slot : old) {
    if (slot.node == kEmpty) continue;
    std::size_t at = slot.hash & (slots_.size() - 1);
    while (slots_[at].node != kEmpty) at = (at + 1) & (slots_.size() - 1);
    slots_[at] = slot;
  }
}

std::optional<std::size_t> MigrationKeyIndex::Add(
    const std::vector<DeclaredMigration>& migrations, std::size_t node,
    std::uint32_t item) {
  if (2 * (size_ + 1) > slots_.size()) Reserve(2 * (size_ + 1));
  Slot added{static_cast<std::uint32_t>(node), item, 0};
  const MigrationKey& key = KeyOf(migrations, added);
  added.hash = KeyHash(key.app, key.name);
  std::size_t at = added.hash & (slots_.size() - 1);
  for (; slots_[at].node != kEmpty; at = (at + 1) & (slots_.size() - 1)) {
    const Slot& slot = slots_[at];
    if (slot.hash == added.hash && KeyOf(migrations, slot) == key)
      return slot.node;
  }
  slots_[at] = added;
  ++size_;
  return std::nullopt;
}

std::optional<std::size_t> MigrationKeyIndex::Find(
    const std::vector<DeclaredMigration>& migrations, std::string_view app,
    std::string_view name) const {
  if (size_ == 0) return std::nullopt;
  std::size_t hash = KeyHash(app, name);
  for (std::size_t at = hash & (slots_.size() - 1); slots_[at].node != kEmpty;
       at = (at + 1) & (slots_.size() - 1)) {
    const Slot& slot = slots_[at];
    if (slot.hash != hash) continue;
    const MigrationKey& key = KeyOf(migrations, slot);
    if (key.app == app && key.name == name) return slot.node;
  }
  return std::nullopt;
}

}  // namespace schema_guard::core
