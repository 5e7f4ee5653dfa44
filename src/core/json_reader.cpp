#include "core/json_reader.hpp"

#include <fmt/format.h>

#include "core/error.hpp"

namespace schema_guard::core {

std::string Path::Render() const {
  if (parent_ == nullptr) return "(document)";
  std::vector<const Path*> chain;
  for (const Path* p = this; p->parent_ != nullptr; p = p->parent_)
    chain.push_back(p);
  std::string out;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    const Path* p = *it;
    if (p->index_ != kNoIndex) {
      out += fmt::format("[{}]", p->index_);
    } else {
      if (!out.empty()) out += '.';
      out += p->key_;
    }
  }
  return out;
}

const JsonDocument& Path::document() const {
  const Path* root = this;
  while (root->parent_ != nullptr) root = root->parent_;
  return *root->document_;
}

void Fail(const Path& path, const std::string& problem) {
  const JsonDocument& document = path.document();
  throw Error(
      ErrorCode::kInvalidParameterValue,
      fmt::format("invalid {}: {}: {}", document.name, path.Render(), problem),
      std::string(document.detail), std::string(document.hint));
}

template <typename J>
void Expect(const J& value, Json::Kind kind, const Path& path) {
  if (value.kind() != kind) {
    Fail(path, fmt::format("expected {}, found {}", KindName(kind),
                           KindName(value.kind())));
  }
}

template <typename J>
void OnlyKeys(const J& object, const Path& path,
              std::initializer_list<std::string_view> keys) {
  for (const auto& [key, value] : object.members()) {
    bool known = false;
    for (auto k : keys) known = known || key == k;
    if (!known) Fail(path.Member(key), "unknown key");
  }
}

template <typename J>
const J* Optional(const J& object, std::string_view key, Json::Kind kind,
                  const Path& path) {
  const J* value = object.Find(key);
  if (value == nullptr || value->is_null()) return nullptr;
  Expect(*value, kind, path.Member(key));
  return value;
}

template <typename J>
const J& Required(const J& object, std::string_view key, Json::Kind kind,
                  const Path& path) {
  const J* value = object.Find(key);
  if (value == nullptr) Fail(path.Member(key), "missing");
  Expect(*value, kind, path.Member(key));
  return *value;
}

template <typename J>
std::string RequiredString(const J& object, std::string_view key,
                           const Path& path) {
  std::string text(Required(object, key, Json::Kind::kString, path).text());
  if (text.empty()) Fail(path.Member(key), "must not be empty");
  return text;
}

template <typename J>
std::string OptionalString(const J& object, std::string_view key,
                           const Path& path, std::string_view fallback) {
  const J* value = Optional(object, key, Json::Kind::kString, path);
  return std::string(value == nullptr ? fallback
                                      : std::string_view(value->text()));
}

template <typename J>
bool OptionalBool(const J& object, std::string_view key, const Path& path,
                  bool fallback) {
  const J* value = Optional(object, key, Json::Kind::kBool, path);
  return value == nullptr ? fallback : value->boolean();
}

template <typename J>
std::vector<std::string> Strings(const J& object, std::string_view key,
                                 const Path& path, bool required) {
  const J* value = required ? &Required(object, key, Json::Kind::kArray, path)
                            : Optional(object, key, Json::Kind::kArray, path);
  std::vector<std::string> out;
  if (value == nullptr) return out;
  Path list_path = path.Member(key);
  out.reserve(value->items().size());
  for (std::size_t i = 0; i < value->items().size(); ++i) {
    Expect(value->items()[i], Json::Kind::kString, list_path.Element(i));
    out.emplace_back(value->items()[i].text());
  }
  if (required && out.empty()) Fail(list_path, "must not be empty");
  return out;
}

// The two kinds of document the readers take.
#define SCHEMA_GUARD_JSON_READERS(J)                                           \
  template void Expect(const J&, Json::Kind, const Path&);                     \
  template void OnlyKeys(const J&, const Path&,                                \
                         std::initializer_list<std::string_view>);             \
  template const J* Optional(const J&, std::string_view, Json::Kind,           \
                             const Path&);                                     \
  template const J& Required(const J&, std::string_view, Json::Kind,           \
                             const Path&);                                     \
  template std::string RequiredString(const J&, std::string_view,              \
                                      const Path&);                            \
  template std::string OptionalString(const J&, std::string_view, const Path&, \
                                      std::string_view);                       \
  template bool OptionalBool(const J&, std::string_view, const Path&, bool);   \
  template std::vector<std::string> Strings(const J&, std::string_view,        \
                                            const Path&, bool);
SCHEMA_GUARD_JSON_READERS(Json)
SCHEMA_GUARD_JSON_READERS(JsonNode)
#undef SCHEMA_GUARD_JSON_READERS

}  // namespace schema_guard::core
