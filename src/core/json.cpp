#include "core/json.hpp"

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/json_parser.hpp"

namespace schema_guard::core {

Json Json::Bool(bool value) {
  Json j;
  j.kind_ = Kind::kBool;
  j.bool_ = value;
  return j;
}

Json Json::Number(std::string text) {
  Json j;
  j.kind_ = Kind::kNumber;
  j.text_ = std::move(text);
  return j;
}

Json Json::Number(long long value) { return Number(std::to_string(value)); }

Json Json::String(std::string value) {
  Json j;
  j.kind_ = Kind::kString;
  j.text_ = std::move(value);
  return j;
}

Json Json::Array(std::vector<Json> items) {
  Json j;
  j.kind_ = Kind::kArray;
  j.items_ = std::move(items);
  return j;
}

Json Json::Object(Members members) {
  Json j;
  j.kind_ = Kind::kObject;
  j.members_ = std::move(members);
  return j;
}

const Json* Json::Find(std::string_view key) const {
  for (const auto& [name, value] : members_) {
    if (name == key) return &value;
  }
  return nullptr;
}

Json& Json::Push(Json item) {
  items_.push_back(std::move(item));
  return items_.back();
}

Json& Json::Set(std::string key, Json value) {
  members_.emplace_back(std::move(key), std::move(value));
  return members_.back().second;
}

const char* KindName(Json::Kind kind) {
  switch (kind) {
    case Json::Kind::kNull:
      return "null";
    case Json::Kind::kBool:
      return "a boolean";
    case Json::Kind::kNumber:
      return "a number";
    case Json::Kind::kString:
      return "a string";
    case Json::Kind::kArray:
      return "an array";
    case Json::Kind::kObject:
      return "an object";
  }
  return "a value";
}

namespace {

// Builds the tree: every string and number is copied into its value.
struct TreeBuilder {
  using Value = Json;
  using Key = std::string;
  Key MakeKey(std::string_view text) { return std::string(text); }
  Value Null() { return Json::Null(); }
  Value Bool(bool value) { return Json::Bool(value); }
  Value Number(std::string_view text) {
    return Json::Number(std::string(text));
  }
  Value String(std::string_view text) {
    return Json::String(std::string(text));
  }
  template <typename It>
  Value Array(It first, It last) {
    return Json::Array(std::vector<Json>(std::make_move_iterator(first),
                                         std::make_move_iterator(last)));
  }
  template <typename It>
  Value Object(It first, It last) {
    return Json::Object(Json::Members(std::make_move_iterator(first),
                                      std::make_move_iterator(last)));
  }
};

void Write(std::string& out, const Json& value) {
  switch (value.kind()) {
    case Json::Kind::kNull:
      out += "null";
      return;
    case Json::Kind::kBool:
      out += value.boolean() ? "true" : "false";
      return;
    case Json::Kind::kNumber:
      out += value.text();
      return;
    case Json::Kind::kString:
      AppendJsonString(out, value.text());
      return;
    case Json::Kind::kArray: {
      out += '[';
      bool first = true;
      for (const auto& item : value.items()) {
        if (!first) out += ", ";
        first = false;
        Write(out, item);
      }
      out += ']';
      return;
    }
    case Json::Kind::kObject: {
      out += '{';
      bool first = true;
      for (const auto& [key, member] : value.members()) {
        if (!first) out += ", ";
        first = false;
        AppendJsonString(out, key);
        out += ": ";
        Write(out, member);
      }
      out += '}';
      return;
    }
  }
}

}  // namespace

Json ParseJson(std::string_view text) {
  TreeBuilder builder;
  return json_internal::JsonParser<TreeBuilder>(text, &builder).ParseDocument();
}

void JsonTokens::NumberMember(std::string_view key, long long value) {
  kept_.push_back(std::to_string(value));
  Key(key);
  Number(kept_.back());
}

void JsonTokens::StringsMember(std::string_view key,
                               const std::vector<std::string>& values) {
  Key(key);
  BeginArray();
  for (const auto& v : values) String(v);
  EndArray();
}

namespace {

Json TokenValue(const std::vector<JsonToken>& tokens, std::size_t* next) {
  const JsonToken& token = tokens.at((*next)++);
  switch (token.kind) {
    case JsonToken::Kind::kBeginObject: {
      Json object = Json::Object();
      while (tokens.at(*next).kind != JsonToken::Kind::kEndObject) {
        std::string key(tokens.at((*next)++).text);
        object.Set(std::move(key), TokenValue(tokens, next));
      }
      ++*next;
      return object;
    }
    case JsonToken::Kind::kBeginArray: {
      Json array = Json::Array();
      while (tokens.at(*next).kind != JsonToken::Kind::kEndArray) {
        array.Push(TokenValue(tokens, next));
      }
      ++*next;
      return array;
    }
    case JsonToken::Kind::kString:
      return Json::String(std::string(token.text));
    case JsonToken::Kind::kBool:
      return Json::Bool(token.boolean);
    case JsonToken::Kind::kNumber:
      return Json::Number(std::string(token.text));
    case JsonToken::Kind::kNull:
      return Json::Null();
    default:
      throw Error(ErrorCode::kInternal, "malformed JSON token stream", "", "");
  }
}

}  // namespace

Json TokensToJson(const JsonTokens& tokens) {
  std::size_t next = 0;
  return TokenValue(tokens.tokens(), &next);
}

void JsonToTokens(const Json& value, JsonTokens* out) {
  switch (value.kind()) {
    case Json::Kind::kObject:
      out->BeginObject();
      for (const auto& [key, member] : value.members()) {
        out->Key(key);
        JsonToTokens(member, out);
      }
      out->EndObject();
      return;
    case Json::Kind::kArray:
      out->BeginArray();
      for (const auto& item : value.items()) JsonToTokens(item, out);
      out->EndArray();
      return;
    case Json::Kind::kString:
      out->String(value.text());
      return;
    case Json::Kind::kNumber:
      out->Number(value.text());
      return;
    case Json::Kind::kBool:
      out->Bool(value.boolean());
      return;
    case Json::Kind::kNull:
      out->Null();
      return;
  }
}

std::string ToJsonText(const Json& value) {
  std::string out;
  Write(out, value);
  return out;
}

void AppendJsonString(std::string& out, std::string_view text) {
  out += '"';
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (u < 0x20) {
          out += fmt::format("\\u{:04x}", u);
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

}  // namespace schema_guard::core
