// Reading a JSON document (a manifest, a migration graph) into core
// structures, with errors that name the JSON path of the problem:
// "invalid manifest: tables[3].columns[2].type: expected a string, found a
// number".
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.hpp"
#include "core/json_node.hpp"

namespace schema_guard::core {

// What a document is called in error messages, and the detail and hint
// every error about it carries.
struct JsonDocument {
  std::string_view name;    // "manifest"
  std::string_view detail;  // where its format is described
  std::string_view hint;    // how to produce a valid one
};

// A JSON path, rendered only when there is a problem to report. A child
// refers to its parent, which lives in the caller's frame; the root refers
// to the document.
class Path {
 public:
  explicit Path(const JsonDocument& document) : document_(&document) {}
  Path Member(std::string_view key) const { return Path(this, key, kNoIndex); }
  Path Element(std::size_t index) const { return Path(this, {}, index); }

  std::string Render() const;
  const JsonDocument& document() const;

 private:
  static constexpr std::size_t kNoIndex = static_cast<std::size_t>(-1);
  Path(const Path* parent, std::string_view key, std::size_t index)
      : parent_(parent), key_(key), index_(index) {}
  const JsonDocument* document_ = nullptr;
  const Path* parent_ = nullptr;
  std::string_view key_;
  std::size_t index_ = kNoIndex;
};

// Throws ErrorCode::kInvalidParameterValue: "invalid <document>: <path>:
// <problem>".
[[noreturn]] void Fail(const Path& path, const std::string& problem);

// The readers below take a core::Json or a core::JsonNode (J); both are
// instantiated in json_reader.cpp.
template <typename J>
void Expect(const J& value, Json::Kind kind, const Path& path);

// Fails on a member whose key is not one of `keys`.
template <typename J>
void OnlyKeys(const J& object, const Path& path,
              std::initializer_list<std::string_view> keys);

// The member, checked to be of `kind`; null when absent or JSON null.
template <typename J>
const J* Optional(const J& object, std::string_view key, Json::Kind kind,
                  const Path& path);

template <typename J>
const J& Required(const J& object, std::string_view key, Json::Kind kind,
                  const Path& path);

// A non-empty string member.
template <typename J>
std::string RequiredString(const J& object, std::string_view key,
                           const Path& path);

template <typename J>
std::string OptionalString(const J& object, std::string_view key,
                           const Path& path, std::string_view fallback = {});

template <typename J>
bool OptionalBool(const J& object, std::string_view key, const Path& path,
                  bool fallback);

// An array of strings; a required one must not be empty.
template <typename J>
std::vector<std::string> Strings(const J& object, std::string_view key,
                                 const Path& path, bool required);

// Calls fn(item, item_path) for each element of the array member `key`,
// each checked to be an object.
template <typename J, typename Fn>
void EachObject(const J& object, std::string_view key, const Path& path,
                Fn&& fn) {
  const J* list = Optional(object, key, Json::Kind::kArray, path);
  if (list == nullptr) return;
  Path list_path = path.Member(key);
  for (std::size_t i = 0; i < list->items().size(); ++i) {
    Path item_path = list_path.Element(i);
    Expect(list->items()[i], Json::Kind::kObject, item_path);
    fn(list->items()[i], item_path);
  }
}

}  // namespace schema_guard::core
