#include "core/staging_payload.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace schema_guard::core {
namespace {

// How deep nested values may go before a payload counts as invalid: far
// beyond any real row, and a bound on the scanner's stack.
constexpr std::size_t kMaxDepth = 10000;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::size_t SkipSpace(std::string_view text, std::size_t pos) {
  while (pos < text.size() && IsSpace(text[pos])) ++pos;
  return pos;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Whether any of the 8 bytes in `word` is a quote, a backslash or a
// control character: the bytes a string scan stops at.
bool StopsIn(std::uint64_t word) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
  auto zero_byte = [](std::uint64_t v) { return (v - kOnes) & ~v & kHigh; };
  std::uint64_t quote = zero_byte(word ^ (kOnes * '"'));
  std::uint64_t backslash = zero_byte(word ^ (kOnes * '\\'));
  std::uint64_t control = (word - kOnes * 0x20) & ~word & kHigh;
  return (quote | backslash | control) != 0;
}

// Scans a string literal starting at the opening quote; returns the
// position after the closing quote, or npos. *escaped says whether it holds
// a backslash escape.
std::size_t ScanString(std::string_view text, std::size_t pos, bool* escaped) {
  *escaped = false;
  ++pos;  // the opening quote
  while (pos < text.size()) {
    // Eight plain bytes at a time, then byte by byte.
    std::uint64_t word = 0;
    if (text.size() - pos >= sizeof(word)) {
      std::memcpy(&word, text.data() + pos, sizeof(word));
      if (!StopsIn(word)) {
        pos += sizeof(word);
        continue;
      }
    }
    char c = text[pos];
    if (c == '"') return pos + 1;
    if (static_cast<unsigned char>(c) < 0x20) return std::string_view::npos;
    if (c != '\\') {
      ++pos;
      continue;
    }
    *escaped = true;
    if (pos + 1 >= text.size()) return std::string_view::npos;
    char e = text[pos + 1];
    if (e == 'u') {
      if (pos + 6 > text.size()) return std::string_view::npos;
      for (std::size_t i = 2; i < 6; ++i) {
        if (HexDigit(text[pos + i]) < 0) return std::string_view::npos;
      }
      pos += 6;
    } else if (std::strchr("\"\\/bfnrt", e) != nullptr && e != '\0') {
      pos += 2;
    } else {
      return std::string_view::npos;
    }
  }
  return std::string_view::npos;
}

std::size_t ScanDigits(std::string_view text, std::size_t pos) {
  while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
  return pos;
}

std::size_t ScanNumber(std::string_view text, std::size_t pos) {
  if (pos < text.size() && text[pos] == '-') ++pos;
  if (pos >= text.size()) return std::string_view::npos;
  if (text[pos] == '0') {
    ++pos;
  } else if (text[pos] >= '1' && text[pos] <= '9') {
    pos = ScanDigits(text, pos);
  } else {
    return std::string_view::npos;
  }
  if (pos < text.size() && text[pos] == '.') {
    std::size_t end = ScanDigits(text, pos + 1);
    if (end == pos + 1) return std::string_view::npos;
    pos = end;
  }
  if (pos < text.size() && (text[pos] == 'e' || text[pos] == 'E')) {
    ++pos;
    if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) ++pos;
    std::size_t end = ScanDigits(text, pos);
    if (end == pos) return std::string_view::npos;
    pos = end;
  }
  return pos;
}

std::size_t ScanWord(std::string_view text, std::size_t pos,
                     std::string_view word) {
  return text.substr(pos, word.size()) == word ? pos + word.size()
                                               : std::string_view::npos;
}

// Scans `"key" :` at pos; returns the position after the colon, or npos.
std::size_t ScanMemberKey(std::string_view text, std::size_t pos) {
  if (pos >= text.size() || text[pos] != '"') return std::string_view::npos;
  bool escaped = false;
  pos = ScanString(text, pos, &escaped);
  if (pos == std::string_view::npos) return pos;
  pos = SkipSpace(text, pos);
  if (pos >= text.size() || text[pos] != ':') return std::string_view::npos;
  return pos + 1;
}

// Scans a string, number, boolean or null at pos.
std::size_t ScanScalar(std::string_view text, std::size_t pos,
                       PayloadValue* kind, bool* escaped) {
  char c = text[pos];
  if (c == '"') {
    *kind = PayloadValue::kString;
    return ScanString(text, pos, escaped);
  }
  if (c == 't' || c == 'f') {
    *kind = PayloadValue::kBool;
    return ScanWord(text, pos, c == 't' ? "true" : "false");
  }
  if (c == 'n') {
    *kind = PayloadValue::kNull;
    return ScanWord(text, pos, "null");
  }
  *kind = PayloadValue::kNumber;
  return ScanNumber(text, pos);
}

// After a value inside containers: closes those that end here, or moves on
// to the next element (past its key in an object). Returns the position of
// the next value, or of the end of the outermost container when `open`
// becomes empty (then *done); npos on bad JSON.
std::size_t AfterValue(std::string_view text, std::size_t pos,
                       std::vector<char>* open, bool* done) {
  for (;;) {
    if (open->empty()) {
      *done = true;
      return pos;
    }
    pos = SkipSpace(text, pos);
    if (pos >= text.size()) return std::string_view::npos;
    if (text[pos] == (open->back() == '{' ? '}' : ']')) {
      open->pop_back();
      ++pos;
      continue;
    }
    if (text[pos] != ',') return std::string_view::npos;
    pos = SkipSpace(text, pos + 1);
    return open->back() == '{' ? ScanMemberKey(text, pos) : pos;
  }
}

// Scans one JSON value of any depth (iteratively); returns the position
// after it, or npos. *kind is the kind of the outermost value, *escaped
// whether it is a string with escapes.
std::size_t ScanValue(std::string_view text, std::size_t pos,
                      PayloadValue* kind, bool* escaped) {
  *escaped = false;
  std::vector<char> open;  // '{' or '['
  bool first = true;
  for (;;) {
    pos = SkipSpace(text, pos);
    if (pos >= text.size()) return std::string_view::npos;
    char c = text[pos];
    if (c == '{' || c == '[') {
      if (first)
        *kind = c == '{' ? PayloadValue::kObject : PayloadValue::kArray;
      first = false;
      if (open.size() >= kMaxDepth) return std::string_view::npos;
      open.push_back(c);
      pos = SkipSpace(text, pos + 1);
      if (pos >= text.size() || text[pos] != (c == '{' ? '}' : ']')) {
        if (c == '{') pos = ScanMemberKey(text, pos);
        if (pos == std::string_view::npos) return pos;
        continue;
      }
      open.pop_back();
      ++pos;
    } else {
      PayloadValue k = PayloadValue::kNull;
      bool k_escaped = false;
      pos = ScanScalar(text, pos, &k, &k_escaped);
      if (pos == std::string_view::npos) return pos;
      if (first) {
        *kind = k;
        *escaped = k_escaped;
      }
      first = false;
    }
    bool done = false;
    pos = AfterValue(text, pos, &open, &done);
    if (pos == std::string_view::npos || done) return pos;
  }
}

void AppendUtf8(std::uint32_t code, std::string* out) {
  if (code < 0x80) {
    out->push_back(static_cast<char>(code));
  } else if (code < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (code >> 6)));
    out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else if (code < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (code >> 12)));
    out->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (code >> 18)));
    out->push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code & 0x3F)));
  }
}

std::uint32_t Hex4(std::string_view text, std::size_t pos) {
  std::uint32_t code = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    code = code * 16 + static_cast<std::uint32_t>(HexDigit(text[pos + i]));
  }
  return code;
}

}  // namespace

PayloadShape PayloadScanner::Scan(std::string_view text) {
  fields_.clear();
  keys_.clear();
  std::size_t pos = SkipSpace(text, 0);
  if (pos >= text.size() || text[pos] != '{') {
    PayloadValue kind = PayloadValue::kNull;
    bool escaped = false;
    std::size_t end = ScanValue(text, pos, &kind, &escaped);
    return end != std::string_view::npos && SkipSpace(text, end) == text.size()
               ? PayloadShape::kNotAnObject
               : PayloadShape::kInvalid;
  }
  pos = SkipSpace(text, pos + 1);
  if (pos < text.size() && text[pos] == '}') {
    return SkipSpace(text, pos + 1) == text.size() ? PayloadShape::kObject
                                                   : PayloadShape::kInvalid;
  }
  for (;;) {
    if (pos >= text.size() || text[pos] != '"') return PayloadShape::kInvalid;
    bool key_escaped = false;
    std::size_t key_end = ScanString(text, pos, &key_escaped);
    if (key_end == std::string_view::npos) return PayloadShape::kInvalid;
    std::string_view key = text.substr(pos + 1, key_end - pos - 2);
    if (key_escaped) {
      std::string unescaped;
      AppendUnescaped(text.substr(pos, key_end - pos), &unescaped);
      keys_.push_back(std::move(unescaped));
    }
    pos = SkipSpace(text, key_end);
    if (pos >= text.size() || text[pos] != ':') return PayloadShape::kInvalid;
    pos = SkipSpace(text, pos + 1);
    PayloadField field{key, PayloadValue::kNull, {}, false};
    if (key_escaped) field.key = keys_.back();
    std::size_t end = ScanValue(text, pos, &field.kind, &field.escaped);
    if (end == std::string_view::npos) return PayloadShape::kInvalid;
    field.raw = text.substr(pos, end - pos);
    fields_.push_back(field);
    pos = SkipSpace(text, end);
    if (pos < text.size() && text[pos] == ',') {
      pos = SkipSpace(text, pos + 1);
      continue;
    }
    if (pos < text.size() && text[pos] == '}') {
      if (SkipSpace(text, pos + 1) != text.size()) {
        return PayloadShape::kInvalid;
      }
      break;
    }
    return PayloadShape::kInvalid;
  }
  return PayloadShape::kObject;
}

int PayloadScanner::FirstDuplicate() const {
  std::size_t n = fields_.size();
  if (n < 2) return -1;
  if (n <= 16) {
    for (std::size_t i = 1; i < n; ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (fields_[i].key == fields_[j].key) return static_cast<int>(i);
      }
    }
    return -1;
  }
  order_.resize(n);
  for (std::size_t i = 0; i < n; ++i) order_[i] = i;
  std::stable_sort(order_.begin(), order_.end(),
                   [&](std::size_t a, std::size_t b) {
                     return fields_[a].key < fields_[b].key;
                   });
  int first = -1;
  for (std::size_t i = 1; i < n; ++i) {
    if (fields_[order_[i]].key == fields_[order_[i - 1]].key) {
      // The later of the two in the payload; stable: order_[i] is later.
      int later = static_cast<int>(order_[i]);
      if (first < 0 || later < first) first = later;
    }
  }
  return first;
}

Unescaped AppendUnescaped(std::string_view literal, std::string* out) {
  std::string_view body = literal.substr(1, literal.size() - 2);
  Unescaped result = Unescaped::kOk;
  std::size_t i = 0;
  while (i < body.size()) {
    std::size_t slash = body.find('\\', i);
    if (slash == std::string_view::npos) {
      out->append(body.data() + i, body.size() - i);
      return result;
    }
    out->append(body.data() + i, slash - i);
    char e = body[slash + 1];
    i = slash + 2;
    switch (e) {
      case 'b':
        out->push_back('\b');
        break;
      case 'f':
        out->push_back('\f');
        break;
      case 'n':
        out->push_back('\n');
        break;
      case 'r':
        out->push_back('\r');
        break;
      case 't':
        out->push_back('\t');
        break;
      case 'u': {
        std::uint32_t code = Hex4(body, i);
        i += 4;
        if (code == 0) return Unescaped::kNulCharacter;
        if (code >= 0xD800 && code < 0xDC00) {
          std::uint32_t low = 0;
          if (i + 6 <= body.size() && body[i] == '\\' && body[i + 1] == 'u') {
            low = Hex4(body, i + 2);
          }
          if (low < 0xDC00 || low >= 0xE000) return Unescaped::kLoneSurrogate;
          code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
          i += 6;
        } else if (code >= 0xDC00 && code < 0xE000) {
          return Unescaped::kLoneSurrogate;
        }
        if (code >= 0x80) result = Unescaped::kOkNonAscii;
        AppendUtf8(code, out);
        break;
      }
      default:  // '"', '\\', '/'
        out->push_back(e);
        break;
    }
  }
  return result;
}

}  // namespace schema_guard::core
