// A small JSON value, reader and writer for manifests. The SQL API takes and
// returns jsonb; the boundary hands the core jsonb's text form, so what is
// parsed here is already valid JSON, but the reader still checks everything
// and reports the JSON path of any problem.
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace schema_guard::core {

class Json {
 public:
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  using Members = std::vector<std::pair<std::string, Json>>;

  Json() = default;
  static Json Null() { return Json(); }
  static Json Bool(bool value);
  static Json Number(std::string text);  // the number's JSON text
  static Json Number(long long value);
  static Json String(std::string value);
  static Json Array(std::vector<Json> items = {});
  static Json Object(Members members = {});

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::kNull; }
  bool boolean() const { return bool_; }
  const std::string& text() const { return text_; }  // string or number
  const std::vector<Json>& items() const { return items_; }
  const Members& members() const { return members_; }

  // Object member lookup; null when absent.
  const Json* Find(std::string_view key) const;

  // Builders.
  Json& Push(Json item);
  Json& Set(std::string key, Json value);

 private:
  Kind kind_ = Kind::kNull;
  bool bool_ = false;
  std::string text_;
  std::vector<Json> items_;
  Members members_;
};

const char* KindName(Json::Kind kind);

// A JSON value as a flat stream of tokens, for handing a large document over
// without building a tree: the strings point into data that must outlive
// the stream (the model it describes, or literals).
struct JsonToken {
  enum class Kind : unsigned char {
    kBeginObject,
    kEndObject,
    kBeginArray,
    kEndArray,
    kKey,
    kString,
    kNumber,  // text: the number's JSON text
    kBool,
    kNull,
  };
  Kind kind;
  bool boolean = false;
  std::string_view text;
};

class JsonTokens {
 public:
  const std::vector<JsonToken>& tokens() const { return tokens_; }
  void Reserve(std::size_t count) { tokens_.reserve(count); }

  void BeginObject() { Add(JsonToken::Kind::kBeginObject); }
  void EndObject() { Add(JsonToken::Kind::kEndObject); }
  void BeginArray() { Add(JsonToken::Kind::kBeginArray); }
  void EndArray() { Add(JsonToken::Kind::kEndArray); }
  void Key(std::string_view key) { Add(JsonToken::Kind::kKey, false, key); }
  void String(std::string_view value) {
    Add(JsonToken::Kind::kString, false, value);
  }
  void Bool(bool value) { Add(JsonToken::Kind::kBool, value); }
  void Number(std::string_view text) {
    Add(JsonToken::Kind::kNumber, false, text);
  }
  void Null() { Add(JsonToken::Kind::kNull); }
  // "key": "value" / "key": true / "key": ["a", "b"]
  void StringMember(std::string_view key, std::string_view value) {
    Key(key);
    String(value);
  }
  void BoolMember(std::string_view key, bool value) {
    Key(key);
    Bool(value);
  }
  void StringsMember(std::string_view key,
                     const std::vector<std::string>& values);
  // A number made while writing: the stream keeps its text.
  void NumberMember(std::string_view key, long long value);

 private:
  void Add(JsonToken::Kind kind, bool boolean = false,
           std::string_view text = {}) {
    tokens_.push_back({kind, boolean, text});
  }
  std::vector<JsonToken> tokens_;
  std::deque<std::string> kept_;  // texts the stream owns (stable addresses)
};

// The tree the tokens describe (they must form one value).
Json TokensToJson(const JsonTokens& tokens);

// The tokens of a tree; their strings point into `value`.
void JsonToTokens(const Json& value, JsonTokens* out);

// Parses JSON text; throws Error(kInvalidTextRepresentation) with the byte
// offset of the problem.
Json ParseJson(std::string_view text);

// Compact JSON text. Object members keep their order.
std::string ToJsonText(const Json& value);

// Appends `text` as a JSON string literal.
void AppendJsonString(std::string& out, std::string_view text);

}  // namespace schema_guard::core
