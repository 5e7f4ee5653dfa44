// Reading one staged payload: the JSON text of an object of column names
// and values, as sent. Only the top level is taken apart; nested objects
// and arrays stay JSON text. Keys are compared as written, so a key sent
// twice is seen (jsonb would silently keep the last one).
#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace schema_guard::core {

enum class PayloadValue : unsigned char {
  kNull,
  kString,
  kNumber,
  kBool,
  kObject,
  kArray,
};

struct PayloadField {
  std::string_view key;  // unescaped
  PayloadValue kind;
  // The value's JSON text as written: for a string with its quotes.
  std::string_view raw;
  bool escaped;  // a string whose raw text holds backslash escapes
};

enum class PayloadShape : unsigned char {
  kObject,       // fields() holds its members in the order written
  kNotAnObject,  // valid JSON, but an array, a string, a number ...
  kInvalid,      // not JSON (only from text that bypassed json_in)
};

class PayloadScanner {
 public:
  // Takes the payload apart; the fields point into `text` (and into the
  // scanner for keys with escapes) until the next call.
  PayloadShape Scan(std::string_view text);
  const std::vector<PayloadField>& fields() const { return fields_; }

  // The index of the first field whose key an earlier field has, or -1.
  int FirstDuplicate() const;

 private:
  std::vector<PayloadField> fields_;
  std::deque<std::string> keys_;  // unescaped keys that had escapes
  mutable std::vector<std::size_t> order_;
};

enum class Unescaped : unsigned char {
  kOk,
  kOkNonAscii,    // holds a \u escape of a character beyond ASCII
  kNulCharacter,  // \u0000: text cannot hold it
  kLoneSurrogate  // half of a UTF-16 surrogate pair
};

// Appends the text of a JSON string literal (with its quotes) to `out`,
// escapes resolved (\u escapes as UTF-8). The literal must be one
// PayloadScanner accepted. On kNulCharacter or kLoneSurrogate, `out` holds
// the text up to the escape.
Unescaped AppendUnescaped(std::string_view literal, std::string* out);

}  // namespace schema_guard::core
