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

void Expect(const Json& value, Json::Kind kind, const Path& path) {
  if (value.kind() != kind) {
    Fail(path, fmt::format("expected {}, found {}", KindName(kind),
                           KindName(value.kind())));
  }
}

void OnlyKeys(const Json& object, const Path& path,
              std::initializer_list<std::string_view> keys) {
  for (const auto& [key, value] : object.members()) {
    bool known = false;
    for (auto k : keys) known = known || key == k;
    if (!known) Fail(path.Member(key), "unknown key");
  }
}

const Json* Optional(const Json& object, std::string_view key, Json::Kind kind,
                     const Path& path) {
  const Json* value = object.Find(key);
  if (value == nullptr || value->is_null()) return nullptr;
  Expect(*value, kind, path.Member(key));
  return value;
}

const Json& Required(const Json& object, std::string_view key, Json::Kind kind,
                     const Path& path) {
  const Json* value = object.Find(key);
  if (value == nullptr) Fail(path.Member(key), "missing");
  Expect(*value, kind, path.Member(key));
  return *value;
}

std::string RequiredString(const Json& object, std::string_view key,
                           const Path& path) {
  const std::string& text =
      Required(object, key, Json::Kind::kString, path).text();
  if (text.empty()) Fail(path.Member(key), "must not be empty");
  return text;
}

std::string OptionalString(const Json& object, std::string_view key,
                           const Path& path, std::string_view fallback) {
  const Json* value = Optional(object, key, Json::Kind::kString, path);
  return value == nullptr ? std::string(fallback) : value->text();
}

bool OptionalBool(const Json& object, std::string_view key, const Path& path,
                  bool fallback) {
  const Json* value = Optional(object, key, Json::Kind::kBool, path);
  return value == nullptr ? fallback : value->boolean();
}

std::vector<std::string> Strings(const Json& object, std::string_view key,
                                 const Path& path, bool required) {
  const Json* value = required
                          ? &Required(object, key, Json::Kind::kArray, path)
                          : Optional(object, key, Json::Kind::kArray, path);
  std::vector<std::string> out;
  if (value == nullptr) return out;
  Path list_path = path.Member(key);
  for (std::size_t i = 0; i < value->items().size(); ++i) {
    Expect(value->items()[i], Json::Kind::kString, list_path.Element(i));
    out.push_back(value->items()[i].text());
  }
  if (required && out.empty()) Fail(list_path, "must not be empty");
  return out;
}

}  // namespace schema_guard::core
