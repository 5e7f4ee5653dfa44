#include "pg/statement_capture.hpp"

extern "C" {
#include "postgres.h"

#include "tcop/tcopprot.h"
#include "tcop/utility.h"
}

namespace schema_guard::pg {
namespace {

ProcessUtility_hook_type previous_hook = nullptr;

// The current top-level utility statement; valid while the hook's call of
// the next ProcessUtility is on the stack.
const char* top_query = nullptr;
int top_location = -1;
int top_length = 0;

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

StatementText Trimmed(const char* text, int length) {
  while (length > 0 && IsSpace(*text)) {
    ++text;
    --length;
  }
  while (length > 0 && (IsSpace(text[length - 1]) || text[length - 1] == ';')) {
    --length;
  }
  return {text, length};
}

#if PG_VERSION_NUM >= 140000
void CaptureProcessUtility(PlannedStmt* pstmt, const char* query_string,
                           bool read_only_tree, ProcessUtilityContext context,
                           ParamListInfo params, QueryEnvironment* query_env,
                           DestReceiver* dest, QueryCompletion* qc)
#else
void CaptureProcessUtility(PlannedStmt* pstmt, const char* query_string,
                           ProcessUtilityContext context, ParamListInfo params,
                           QueryEnvironment* query_env, DestReceiver* dest,
                           QueryCompletion* qc)
#endif
{
  const char* saved_query = top_query;
  int saved_location = top_location;
  int saved_length = top_length;
  if (context == PROCESS_UTILITY_TOPLEVEL && query_string != nullptr) {
    top_query = query_string;
    top_location = pstmt->stmt_location;
    top_length = pstmt->stmt_len;
  }
  // The one hand-written PG_TRY outside the bridge: a utility hook must let
  // PostgreSQL's error go on up unchanged, and only put back the plain
  // globals above on the way (there is no C++ object here to protect).
  PG_TRY();
  {
#if PG_VERSION_NUM >= 140000
    if (previous_hook != nullptr) {
      previous_hook(pstmt, query_string, read_only_tree, context, params,
                    query_env, dest, qc);
    } else {
      standard_ProcessUtility(pstmt, query_string, read_only_tree, context,
                              params, query_env, dest, qc);
    }
#else
    if (previous_hook != nullptr) {
      previous_hook(pstmt, query_string, context, params, query_env, dest, qc);
    } else {
      standard_ProcessUtility(pstmt, query_string, context, params, query_env,
                              dest, qc);
    }
#endif
  }
  PG_FINALLY();
  {
    top_query = saved_query;
    top_location = saved_location;
    top_length = saved_length;
  }
  PG_END_TRY();
}

}  // namespace

StatementText CurrentStatement() {
  if (top_query != nullptr) {
    int total = static_cast<int>(strlen(top_query));
    int start = top_location >= 0 && top_location <= total ? top_location : 0;
    int length = top_length > 0 && start + top_length <= total ? top_length
                                                               : total - start;
    return Trimmed(top_query + start, length);
  }
  if (debug_query_string != nullptr) {
    return Trimmed(debug_query_string,
                   static_cast<int>(strlen(debug_query_string)));
  }
  return {nullptr, 0};
}

void InstallStatementCapture() {
  previous_hook = ProcessUtility_hook;
  ProcessUtility_hook = CaptureProcessUtility;
}

}  // namespace schema_guard::pg
