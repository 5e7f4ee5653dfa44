// The text of the statement being audited. A ProcessUtility hook remembers
// which part of the client's query string is the current top-level utility
// statement, so a multi-statement string is cut to the statement at hand.
#pragma once

namespace schema_guard::pg {

struct StatementText {
  const char* text;  // not NUL-terminated; null when there is none
  int length;
};

// The top-level statement being executed: the utility statement's own slice
// of the query string when the hook saw it start, else the whole query
// string the client sent (e.g. DDL run by a function called from SELECT, or
// the first statement of a session, which loads the library).
StatementText CurrentStatement();

void InstallStatementCapture();

}  // namespace schema_guard::pg
