#include "core/lint_text.hpp"

#include <algorithm>

namespace schema_guard::core {
namespace {

bool IsBlank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

bool IsIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}

bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }

// The end of a block comment starting at pos ("/*"), nesting counted.
std::size_t BlockCommentEnd(std::string_view sql, std::size_t pos) {
  int depth = 0;
  while (pos < sql.size()) {
    if (sql.compare(pos, 2, "/*") == 0) {
      ++depth;
      pos += 2;
    } else if (sql.compare(pos, 2, "*/") == 0) {
      pos += 2;
      if (--depth == 0) return pos;
    } else {
      ++pos;
    }
  }
  return sql.size();
}

std::size_t LineCommentEnd(std::string_view sql, std::size_t pos) {
  std::size_t end = sql.find('\n', pos);
  return end == std::string_view::npos ? sql.size() : end;
}

// The end of a quoted run starting at pos: '...' (backslash escapes when
// `escapes`), "...", with doubled quotes inside.
std::size_t QuotedEnd(std::string_view sql, std::size_t pos, bool escapes) {
  char quote = sql[pos++];
  while (pos < sql.size()) {
    char c = sql[pos];
    if (escapes && c == '\\') {
      pos += 2;
    } else if (c == quote) {
      if (pos + 1 < sql.size() && sql[pos + 1] == quote) {
        pos += 2;
      } else {
        return pos + 1;
      }
    } else {
      ++pos;
    }
  }
  return sql.size();
}

// A dollar quote's tag ("$$", "$body$") at pos, or empty.
std::string_view DollarTag(std::string_view sql, std::size_t pos) {
  std::size_t end = pos + 1;
  if (end < sql.size() && sql[end] != '$') {
    if (!IsIdentStart(sql[end])) return {};
    while (end < sql.size() && IsIdentChar(sql[end])) ++end;
  }
  if (end >= sql.size() || sql[end] != '$') return {};
  return sql.substr(pos, end - pos + 1);
}

// Calls comment(offset, text) for each comment.
template <typename Fn>
void Scan(std::string_view sql, Fn comment) {
  std::size_t pos = 0;
  while (pos < sql.size()) {
    char c = sql[pos];
    if (c == '-' && sql.compare(pos, 2, "--") == 0) {
      std::size_t end = LineCommentEnd(sql, pos);
      comment(pos, sql.substr(pos + 2, end - pos - 2));
      pos = end;
    } else if (c == '/' && sql.compare(pos, 2, "/*") == 0) {
      std::size_t end = BlockCommentEnd(sql, pos);
      std::size_t inner_end = end >= pos + 4 ? end - 2 : end;
      comment(pos, sql.substr(pos + 2, inner_end - pos - 2));
      pos = end;
    } else if (c == '\'' || c == '"') {
      bool escapes = c == '\'' && pos > 0 &&
                     (sql[pos - 1] == 'E' || sql[pos - 1] == 'e') &&
                     (pos < 2 || !IsIdentChar(sql[pos - 2]));
      pos = QuotedEnd(sql, pos, escapes);
    } else if (c == '$' && (pos == 0 || !IsIdentChar(sql[pos - 1]))) {
      std::string_view tag = DollarTag(sql, pos);
      if (tag.empty()) {
        ++pos;
        continue;
      }
      std::size_t end = sql.find(tag, pos + tag.size());
      pos = end == std::string_view::npos ? sql.size() : end + tag.size();
    } else if (IsIdentChar(c)) {
      while (pos < sql.size() && (IsIdentChar(sql[pos]) || sql[pos] == '$')) {
        ++pos;
      }
    } else {
      ++pos;
    }
  }
}

}  // namespace

std::vector<SqlComment> FindComments(std::string_view sql) {
  std::vector<SqlComment> comments;
  Scan(sql, [&](std::size_t offset, std::string_view text) {
    comments.push_back({offset, text});
  });
  return comments;
}

std::size_t SkipBlanksAndComments(std::string_view sql, std::size_t pos) {
  while (pos < sql.size()) {
    if (IsBlank(sql[pos])) {
      ++pos;
    } else if (sql.compare(pos, 2, "--") == 0) {
      pos = LineCommentEnd(sql, pos);
    } else if (sql.compare(pos, 2, "/*") == 0) {
      pos = BlockCommentEnd(sql, pos);
    } else {
      break;
    }
  }
  return pos;
}

LineIndex::LineIndex(std::string_view text) {
  starts_.push_back(0);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') starts_.push_back(i + 1);
  }
}

int LineIndex::LineOf(std::size_t offset) const {
  auto it = std::upper_bound(starts_.begin(), starts_.end(), offset);
  return static_cast<int>(it - starts_.begin());
}

std::vector<int> AttachComments(std::string_view sql,
                                const std::vector<StatementSpan>& spans,
                                const std::vector<SqlComment>& comments) {
  std::vector<int> owners;
  owners.reserve(comments.size());
  for (const SqlComment& comment : comments) {
    auto it = std::upper_bound(spans.begin(), spans.end(), comment.offset,
                               [](std::size_t offset, const StatementSpan& s) {
                                 return offset < s.start;
                               });
    int owner = static_cast<int>(it - spans.begin()) - 1;
    if (owner < 0) {
      owners.push_back(spans.empty() ? -1 : 0);
      continue;
    }
    std::size_t first_token = SkipBlanksAndComments(
        sql, spans[static_cast<std::size_t>(owner)].start);
    if (owner > 0 && comment.offset < first_token) {
      std::size_t previous_end = spans[owner - 1].end;
      std::string_view between =
          sql.substr(previous_end, comment.offset - previous_end);
      if (between.find('\n') == std::string_view::npos) --owner;
    }
    owners.push_back(owner);
  }
  return owners;
}

}  // namespace schema_guard::core
