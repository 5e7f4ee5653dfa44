#include "core/json.hpp"

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"

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

constexpr int kMaxDepth = 64;

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Json ParseDocument() {
    Json value = ParseValue(0);
    SkipSpace();
    if (pos_ != text_.size()) Fail("unexpected text after the JSON value");
    return value;
  }

 private:
  [[noreturn]] void Fail(std::string_view what) const {
    throw Error(ErrorCode::kInvalidTextRepresentation,
                fmt::format("invalid JSON: {}", what),
                fmt::format("At byte {} of {}.", pos_ + 1, text_.size()),
                "Pass a valid JSON document.");
  }

  void SkipSpace() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' ||
            text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool Consume(std::string_view word) {
    if (text_.substr(pos_, word.size()) == word) {
      pos_ += word.size();
      return true;
    }
    return false;
  }

  Json ParseValue(int depth) {
    if (depth > kMaxDepth) Fail("nested too deeply");
    SkipSpace();
    if (pos_ >= text_.size()) Fail("unexpected end of text");
    char c = text_[pos_];
    if (c == '{') return ParseObject(depth);
    if (c == '[') return ParseArray(depth);
    if (c == '"') return Json::String(ParseString());
    if (Consume("true")) return Json::Bool(true);
    if (Consume("false")) return Json::Bool(false);
    if (Consume("null")) return Json::Null();
    if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber();
    Fail(fmt::format("unexpected character '{}'", c));
  }

  // Members and items collect on a stack shared by all levels; each object
  // or array then takes its own, exactly sized, from the top.
  Json ParseObject(int depth) {
    ++pos_;  // {
    const std::size_t base = members_.size();
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == '}') {
      ++pos_;
      return Json::Object();
    }
    while (true) {
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != '"')
        Fail("expected a member name");
      std::string key = ParseString();
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != ':') Fail("expected ':'");
      ++pos_;
      Json value = ParseValue(depth + 1);
      members_.emplace_back(std::move(key), std::move(value));
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == '}') {
        ++pos_;
        Json::Members members(
            std::make_move_iterator(members_.begin() +
                                    static_cast<std::ptrdiff_t>(base)),
            std::make_move_iterator(members_.end()));
        members_.resize(base);
        return Json::Object(std::move(members));
      }
      Fail("expected ',' or '}'");
    }
  }

  Json ParseArray(int depth) {
    ++pos_;  // [
    const std::size_t base = items_.size();
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == ']') {
      ++pos_;
      return Json::Array();
    }
    while (true) {
      Json value = ParseValue(depth + 1);
      items_.push_back(std::move(value));
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == ']') {
        ++pos_;
        std::vector<Json> items(
            std::make_move_iterator(items_.begin() +
                                    static_cast<std::ptrdiff_t>(base)),
            std::make_move_iterator(items_.end()));
        items_.resize(base);
        return Json::Array(std::move(items));
      }
      Fail("expected ',' or ']'");
    }
  }

  Json ParseNumber() {
    std::size_t start = pos_;
    if (text_[pos_] == '-') ++pos_;
    auto digits = [&] {
      std::size_t from = pos_;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9')
        ++pos_;
      return pos_ > from;
    };
    if (!digits()) Fail("expected a digit");
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      if (!digits()) Fail("expected a digit after '.'");
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-'))
        ++pos_;
      if (!digits()) Fail("expected an exponent");
    }
    return Json::Number(std::string(text_.substr(start, pos_ - start)));
  }

  unsigned Hex4() {
    if (pos_ + 4 > text_.size()) Fail("truncated \\u escape");
    unsigned value = 0;
    for (int i = 0; i < 4; ++i) {
      char c = text_[pos_++];
      value <<= 4;
      if (c >= '0' && c <= '9')
        value |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f')
        value |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        value |= static_cast<unsigned>(c - 'A' + 10);
      else
        Fail("bad \\u escape");
    }
    return value;
  }

  static void AppendUtf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string ParseString() {
    ++pos_;  // "
    std::string out;
    while (true) {
      // Runs of plain characters are copied at once.
      std::size_t run = pos_;
      while (run < text_.size() && text_[run] != '"' && text_[run] != '\\' &&
             static_cast<unsigned char>(text_[run]) >= 0x20) {
        ++run;
      }
      out.append(text_.data() + pos_, run - pos_);
      pos_ = run;
      if (pos_ >= text_.size()) Fail("unterminated string");
      char c = text_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20)
        Fail("control character in a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size()) Fail("unterminated escape");
      char e = text_[pos_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          std::uint32_t cp = Hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (!Consume("\\u")) Fail("unpaired surrogate");
            std::uint32_t low = Hex4();
            if (low < 0xDC00 || low > 0xDFFF) Fail("unpaired surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            Fail("unpaired surrogate");
          }
          if (cp == 0) Fail("\\u0000 is not allowed");
          AppendUtf8(out, cp);
          break;
        }
        default:
          Fail("bad escape");
      }
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  Json::Members members_;
  std::vector<Json> items_;
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

Json ParseJson(std::string_view text) { return Parser(text).ParseDocument(); }

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
