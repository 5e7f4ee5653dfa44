// The text around statements that the parser throws away: comments (where
// ignore directives live), the first token of a statement (its line), line
// numbers. A small scanner that knows SQL's quoting (strings, E'' strings,
// quoted identifiers, dollar quotes) and nested block comments, so that
// "--" inside a string is not taken for a comment.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace schema_guard::core {

struct SqlComment {
  std::size_t offset;     // of its -- or /*
  std::string_view text;  // without the markers
};

std::vector<SqlComment> FindComments(std::string_view sql);

// The offset of the first character at or after `pos` that is neither
// blank nor inside a comment.
std::size_t SkipBlanksAndComments(std::string_view sql, std::size_t pos);

// Byte offset -> 1-based line number.
class LineIndex {
 public:
  explicit LineIndex(std::string_view text);
  int LineOf(std::size_t offset) const;

 private:
  std::vector<std::size_t> starts_;  // offset of each line's first byte
};

// A statement's extent in a script: from where its text starts (after the
// previous statement's semicolon, leading comments included) to its end.
struct StatementSpan {
  std::size_t start;
  std::size_t end;
};

// For each comment, the statement it belongs to (an index into `spans`),
// or -1: the statement whose span holds it, except that a comment before
// a statement's first token that starts on the line where the previous
// statement ended belongs to that one ("CREATE INDEX ...; --
// schema_guard:ignore ...").
std::vector<int> AttachComments(std::string_view sql,
                                const std::vector<StatementSpan>& spans,
                                const std::vector<SqlComment>& comments);

}  // namespace schema_guard::core
