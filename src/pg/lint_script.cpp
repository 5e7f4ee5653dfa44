#include "pg/lint_script.hpp"

#include <string_view>

#include "core/lint_text.hpp"
#include "pg/bridge.hpp"
#include "pg/lint_reader.hpp"

extern "C" {
#include "access/xact.h"
#include "parser/parser.h"
#include "parser/scanner.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
}

namespace schema_guard::pg {
namespace {

constexpr std::string_view kIgnoreMarker = "schema_guard:ignore";

struct ParseError {
  std::string message;
  int cursor = 0;  // 1-based in the parsed text, 0 when unknown
};

// Runs fn (a PgTry body) in a subtransaction, so that an error it raises
// (a syntax error) is rolled back like any other instead of aborting the
// caller's transaction, and the rest of the script can still be linted.
// What fn allocates goes to the caller's memory context.
template <typename Fn>
bool InSubtransaction(Fn fn, ParseError* error) {
  MemoryContext caller = CurrentMemoryContext;
  ResourceOwner owner = CurrentResourceOwner;
  PgTry([&]() noexcept {
    BeginInternalSubTransaction(nullptr);
    MemoryContextSwitchTo(caller);
  });
  bool ok = true;
  try {
    PgTry(fn);
  } catch (const PgError& e) {
    error->message = e.message();
    error->cursor = e.cursor();
    ok = false;
  }
  PgTry([&]() noexcept {
    if (ok) {
      ReleaseCurrentSubTransaction();
    } else {
      RollbackAndReleaseCurrentSubTransaction();
    }
    MemoryContextSwitchTo(caller);
    CurrentResourceOwner = owner;
  });
  return ok;
}

List* ParseInSubtransaction(const char* sql, ParseError* error) {
  List* parsed = nullptr;
  if (!InSubtransaction(
          [&]() noexcept { parsed = raw_parser(sql, RAW_PARSE_DEFAULT); },
          error)) {
    return nullptr;
  }
  return parsed;
}

// Where each statement ends: the offsets just past each top-level
// semicolon, found with PostgreSQL's own scanner (quotes, dollar quotes
// and comments are its business). A scanner error (an unterminated
// string) ends the list; the rest is one piece.
std::vector<int> SemicolonEnds(const char* sql) {
  std::vector<int> ends;
  int* found = nullptr;
  int count = 0;
  ParseError error;
  InSubtransaction(
      [&]() noexcept {
        int capacity = 64;
        found = static_cast<int*>(palloc(capacity * sizeof(int)));
        core_yy_extra_type extra;
        core_yyscan_t scanner =
            scanner_init(sql, &extra, &ScanKeywords, ScanKeywordTokens);
        core_YYSTYPE value;
        YYLTYPE location;
        int depth = 0;
        for (int token;
             (token = core_yylex(&value, &location, scanner)) != 0;) {
          if (token == '(') ++depth;
          if (token == ')') --depth;
          if (token != ';' || depth > 0) continue;
          if (count == capacity) {
            capacity *= 2;
            found = static_cast<int*>(repalloc(found, capacity * sizeof(int)));
          }
          found[count++] = location + 1;
        }
        scanner_finish(scanner);
      },
      &error);
  ends.assign(found, found + count);
  return ends;
}

struct Piece {
  Node* node;  // null for a piece that does not parse
  core::StatementSpan span;
  std::string error;
  std::size_t error_offset;
};

void AddParsed(List* parsed, std::size_t base, std::size_t total,
               std::vector<Piece>* pieces) {
  ListCell* cell;
  foreach (cell, parsed) {
    auto* raw = castNode(RawStmt, lfirst(cell));
    std::size_t start = base + static_cast<std::size_t>(raw->stmt_location);
    std::size_t end = raw->stmt_len > 0
                          ? start + static_cast<std::size_t>(raw->stmt_len)
                          : total;
    pieces->push_back({raw->stmt, {start, end}, {}, 0});
  }
}

// The script statement by statement, when the whole does not parse.
void ParsePieces(const std::string& sql, std::vector<Piece>* pieces) {
  std::vector<int> ends = SemicolonEnds(sql.c_str());
  if (ends.empty() || static_cast<std::size_t>(ends.back()) < sql.size()) {
    ends.push_back(static_cast<int>(sql.size()));
  }
  std::size_t start = 0;
  for (int end : ends) {
    std::string piece =
        sql.substr(start, static_cast<std::size_t>(end) - start);
    ParseError error;
    List* parsed = ParseInSubtransaction(piece.c_str(), &error);
    if (parsed != nullptr || error.message.empty()) {
      AddParsed(parsed, start, sql.size(), pieces);
    } else {
      std::size_t at = error.cursor > 0
                           ? start + static_cast<std::size_t>(error.cursor - 1)
                           : core::SkipBlanksAndComments(sql, start);
      pieces->push_back(
          {nullptr, {start, static_cast<std::size_t>(end)}, error.message, at});
    }
    start = static_cast<std::size_t>(end);
  }
}

}  // namespace

std::vector<core::LintStatement> ReadScript(const std::string& sql,
                                            LiveCatalog* catalog) {
  std::vector<Piece> pieces;
  ParseError error;
  List* parsed = ParseInSubtransaction(sql.c_str(), &error);
  if (parsed != nullptr || error.message.empty()) {
    AddParsed(parsed, 0, sql.size(), &pieces);
  } else {
    ParsePieces(sql, &pieces);
  }
  core::LineIndex lines(sql);
  std::vector<core::LintStatement> statements(pieces.size());
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    core::LintStatement& statement = statements[i];
    statement.number = static_cast<int>(i + 1);
    const Piece& piece = pieces[i];
    if (piece.node == nullptr) {
      statement.kind = core::StatementKind::kParseError;
      statement.error = piece.error;
      statement.line = lines.LineOf(piece.error_offset);
      continue;
    }
    statement.line =
        lines.LineOf(core::SkipBlanksAndComments(sql, piece.span.start));
    ReadStatement(piece.node, catalog, &statement);
  }
  if (sql.find(kIgnoreMarker) != std::string::npos) {
    std::vector<core::StatementSpan> spans;
    spans.reserve(pieces.size());
    for (const Piece& piece : pieces) spans.push_back(piece.span);
    std::vector<core::SqlComment> comments = core::FindComments(sql);
    std::vector<int> owners = core::AttachComments(sql, spans, comments);
    for (std::size_t i = 0; i < comments.size(); ++i) {
      if (owners[i] < 0) continue;
      for (std::string& name : core::IgnoreDirectives(comments[i].text)) {
        statements[static_cast<std::size_t>(owners[i])].ignored.push_back(
            std::move(name));
      }
    }
  }
  return statements;
}

std::vector<std::string> StatementIgnores(const char* text, int length) {
  std::vector<std::string> ignored;
  if (text == nullptr || length <= 0) return ignored;
  std::string_view sql(text, static_cast<std::size_t>(length));
  if (sql.find(kIgnoreMarker) == std::string_view::npos) return ignored;
  for (const core::SqlComment& comment : core::FindComments(sql)) {
    for (std::string& name : core::IgnoreDirectives(comment.text)) {
      ignored.push_back(std::move(name));
    }
  }
  return ignored;
}

}  // namespace schema_guard::pg
