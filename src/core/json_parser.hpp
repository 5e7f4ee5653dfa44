// The JSON text parser, shared by the tree (core::Json) and the read-only
// node document (core::ParsedJson): a Builder makes the values.
//
//   struct Builder {
//     using Value = ...;  // movable
//     using Key = ...;    // an object member's name
//     Key MakeKey(std::string_view text);  // text may be a scratch buffer
//     Value Null(); Value Bool(bool); Value Number(std::string_view text);
//     Value String(std::string_view text);  // text may be a scratch buffer
//     Value Array(It first, It last);   // It: over Value (may be moved from)
//     Value Object(It first, It last);  // It: over std::pair<Key, Value>
//   };
#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace schema_guard::core::json_internal {

constexpr int kMaxDepth = 64;

template <typename Builder>
class JsonParser {
 public:
  using Value = typename Builder::Value;
  using Key = typename Builder::Key;

  JsonParser(std::string_view text, Builder* builder)
      : text_(text), builder_(builder) {}

  Value ParseDocument() {
    Value value = ParseValue(0);
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

  Value ParseValue(int depth) {
    if (depth > kMaxDepth) Fail("nested too deeply");
    SkipSpace();
    if (pos_ >= text_.size()) Fail("unexpected end of text");
    char c = text_[pos_];
    if (c == '{') return ParseObject(depth);
    if (c == '[') return ParseArray(depth);
    if (c == '"') return builder_->String(ParseString());
    if (Consume("true")) return builder_->Bool(true);
    if (Consume("false")) return builder_->Bool(false);
    if (Consume("null")) return builder_->Null();
    if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber();
    Fail(fmt::format("unexpected character '{}'", c));
  }

  // Members and items collect on a stack shared by all levels; each object
  // or array then takes its own, exactly sized, from the top.
  Value ParseObject(int depth) {
    ++pos_;  // {
    const std::size_t base = members_.size();
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == '}') {
      ++pos_;
      return builder_->Object(members_.end(), members_.end());
    }
    while (true) {
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != '"')
        Fail("expected a member name");
      Key key = builder_->MakeKey(ParseString());
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != ':') Fail("expected ':'");
      ++pos_;
      Value value = ParseValue(depth + 1);
      members_.emplace_back(std::move(key), std::move(value));
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == '}') {
        ++pos_;
        Value object = builder_->Object(
            members_.begin() + static_cast<std::ptrdiff_t>(base),
            members_.end());
        members_.resize(base);
        return object;
      }
      Fail("expected ',' or '}'");
    }
  }

  Value ParseArray(int depth) {
    ++pos_;  // [
    const std::size_t base = items_.size();
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == ']') {
      ++pos_;
      return builder_->Array(items_.end(), items_.end());
    }
    while (true) {
      items_.push_back(ParseValue(depth + 1));
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == ']') {
        ++pos_;
        Value array = builder_->Array(
            items_.begin() + static_cast<std::ptrdiff_t>(base), items_.end());
        items_.resize(base);
        return array;
      }
      Fail("expected ',' or ']'");
    }
  }

  Value ParseNumber() {
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
    return builder_->Number(text_.substr(start, pos_ - start));
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

  // The string's text: a view into the JSON text when it has no escape,
  // else into a buffer that the next string reuses.
  std::string_view ParseString() {
    ++pos_;  // "
    std::size_t end = pos_;
    while (end < text_.size() && text_[end] != '"' && text_[end] != '\\' &&
           static_cast<unsigned char>(text_[end]) >= 0x20) {
      ++end;
    }
    if (end < text_.size() && text_[end] == '"') {
      std::string_view plain = text_.substr(pos_, end - pos_);
      pos_ = end + 1;
      return plain;
    }
    std::string& out = scratch_;
    out.clear();
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
  Builder* builder_;
  std::size_t pos_ = 0;
  std::string scratch_;
  std::vector<std::pair<Key, Value>> members_;
  std::vector<Value> items_;
};

}  // namespace schema_guard::core::json_internal
