// A migration script read into lint statements: parsed with PostgreSQL's
// raw_parser, statement by statement when the whole does not parse (a
// statement that does not parse becomes a syntax-error statement with the
// parser's message and the line it points at), with line numbers and the
// ignore directives of each statement's comments.
#pragma once

#include <string>
#include <vector>

#include "core/lint.hpp"
#include "pg/lint_catalog.hpp"

namespace schema_guard::pg {

std::vector<core::LintStatement> ReadScript(const std::string& sql,
                                            LiveCatalog* catalog);

// The ignore directives in the comments of one statement's text.
std::vector<std::string> StatementIgnores(const char* text, int length);

}  // namespace schema_guard::pg
