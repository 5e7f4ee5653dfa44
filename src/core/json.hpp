// A small JSON value, reader and writer for manifests. The SQL API takes and
// returns jsonb; the boundary hands the core jsonb's text form, so what is
// parsed here is already valid JSON, but the reader still checks everything
// and reports the JSON path of any problem.
#pragma once

#include <cstddef>
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

// Parses JSON text; throws Error(kInvalidTextRepresentation) with the byte
// offset of the problem.
Json ParseJson(std::string_view text);

// Compact JSON text. Object members keep their order.
std::string ToJsonText(const Json& value);

// Appends `text` as a JSON string literal.
void AppendJsonString(std::string& out, std::string_view text);

}  // namespace schema_guard::core
