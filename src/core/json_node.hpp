// A JSON document that is only read, for large inputs (the expected
// manifest): its values are nodes in a few large blocks and its strings
// point into the JSON text (or into the document, for the few that had
// escapes), so parsing megabytes costs a few allocations instead of one or
// more per value. The text must outlive the document. The nodes answer the
// same questions as core::Json (kind, text, items, members, Find), so the
// readers in json_reader.hpp take either.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/json.hpp"

namespace schema_guard::core {

class JsonNode;

// Contiguous nodes: an array's items, or an object's member values.
class JsonNodes {
 public:
  JsonNodes(const JsonNode* data, std::size_t size)
      : data_(data), size_(size) {}
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const JsonNode& operator[](std::size_t i) const;
  const JsonNode* begin() const { return data_; }
  const JsonNode* end() const;

 private:
  const JsonNode* data_;
  std::size_t size_;
};

// An object's members as (key, value) pairs, like Json::members().
class JsonMembers {
 public:
  class Iterator {
   public:
    explicit Iterator(const JsonNode* at) : at_(at) {}
    std::pair<std::string_view, const JsonNode&> operator*() const;
    Iterator& operator++();
    bool operator!=(const Iterator& other) const { return at_ != other.at_; }

   private:
    const JsonNode* at_;
  };
  explicit JsonMembers(JsonNodes nodes) : nodes_(nodes) {}
  Iterator begin() const { return Iterator(nodes_.begin()); }
  Iterator end() const { return Iterator(nodes_.end()); }

 private:
  JsonNodes nodes_;
};

class JsonNode {
 public:
  Json::Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Json::Kind::kNull; }
  bool boolean() const { return boolean_; }
  std::string_view text() const { return text_; }  // string or number
  // An array's items (an object's member values).
  JsonNodes items() const { return {children_, count_}; }
  JsonMembers members() const { return JsonMembers(items()); }
  // The name of this node as an object's member.
  std::string_view key() const { return key_; }

  // Object member lookup; null when absent.
  const JsonNode* Find(std::string_view key) const;

 private:
  friend class JsonNodeBuilder;
  Json::Kind kind_ = Json::Kind::kNull;
  bool boolean_ = false;
  std::uint32_t count_ = 0;
  std::string_view text_;
  std::string_view key_;
  const JsonNode* children_ = nullptr;
};

inline const JsonNode& JsonNodes::operator[](std::size_t i) const {
  return data_[i];
}
inline const JsonNode* JsonNodes::end() const { return data_ + size_; }

inline std::pair<std::string_view, const JsonNode&>
JsonMembers::Iterator::operator*() const {
  return {at_->key(), *at_};
}
inline JsonMembers::Iterator& JsonMembers::Iterator::operator++() {
  ++at_;
  return *this;
}

class ParsedJson;
// Parses JSON text like ParseJson (the same checks and errors); `text` must
// outlive the result.
ParsedJson ParseJsonNodes(std::string_view text);

// The document: owns the nodes and the unescaped strings.
class ParsedJson {
 public:
  const JsonNode& root() const { return root_; }

 private:
  friend class JsonNodeBuilder;
  friend ParsedJson ParseJsonNodes(std::string_view text);
  JsonNode root_;
  std::vector<std::unique_ptr<JsonNode[]>> blocks_;
  std::deque<std::string> unescaped_;
};

}  // namespace schema_guard::core
