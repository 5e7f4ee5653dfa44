#include "pg/bridge.hpp"

#include <fmt/format.h>

#include <cstring>
#include <new>

#include "core/error.hpp"

extern "C" {
#include "access/xact.h"
#include "utils/elog.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
}

namespace schema_guard::pg {
namespace {

template <std::size_t N>
void CopyInto(char (&buffer)[N], std::string_view text) noexcept {
  std::size_t len = text.size() < N - 1 ? text.size() : N - 1;
  std::memcpy(buffer, text.data(), len);
  buffer[len] = '\0';
}

void Fill(ErrorReport* report, int sqlerrcode, std::string_view message,
          std::string_view detail, std::string_view hint,
          std::string_view context, const char* file = nullptr, int line = 0,
          const char* function = nullptr) noexcept {
  report->sqlerrcode = sqlerrcode;
  CopyInto(report->message, message);
  CopyInto(report->detail, detail);
  CopyInto(report->hint, hint);
  CopyInto(report->context, context);
  report->file = file;
  report->line = line;
  report->function = function;
}

int SqlState(core::ErrorCode code) noexcept {
  switch (code) {
    case core::ErrorCode::kInvalidParameterValue:
      return ERRCODE_INVALID_PARAMETER_VALUE;
    case core::ErrorCode::kNullValueNotAllowed:
      return ERRCODE_NULL_VALUE_NOT_ALLOWED;
    case core::ErrorCode::kStringDataTooLong:
      return ERRCODE_STRING_DATA_RIGHT_TRUNCATION;
    case core::ErrorCode::kInvalidTextRepresentation:
      return ERRCODE_INVALID_TEXT_REPRESENTATION;
    case core::ErrorCode::kProgramLimitExceeded:
      return ERRCODE_PROGRAM_LIMIT_EXCEEDED;
    case core::ErrorCode::kUndefinedColumn:
      return ERRCODE_UNDEFINED_COLUMN;
    case core::ErrorCode::kUndefinedTable:
      return ERRCODE_UNDEFINED_TABLE;
    case core::ErrorCode::kUndefinedObject:
      return ERRCODE_UNDEFINED_OBJECT;
    case core::ErrorCode::kDuplicateObject:
      return ERRCODE_DUPLICATE_OBJECT;
    case core::ErrorCode::kInvalidColumnReference:
      return ERRCODE_INVALID_COLUMN_REFERENCE;
    case core::ErrorCode::kInvalidName:
      return ERRCODE_INVALID_NAME;
    case core::ErrorCode::kSyntaxError:
      return ERRCODE_SYNTAX_ERROR;
    case core::ErrorCode::kWrongObjectType:
      return ERRCODE_WRONG_OBJECT_TYPE;
    case core::ErrorCode::kDatatypeMismatch:
      return ERRCODE_DATATYPE_MISMATCH;
    case core::ErrorCode::kInsufficientPrivilege:
      return ERRCODE_INSUFFICIENT_PRIVILEGE;
    case core::ErrorCode::kFeatureNotSupported:
      return ERRCODE_FEATURE_NOT_SUPPORTED;
    case core::ErrorCode::kObjectNotInPrerequisiteState:
      return ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE;
    case core::ErrorCode::kTriggerProtocolViolated:
      return ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED;
    case core::ErrorCode::kInternal:
      return ERRCODE_INTERNAL_ERROR;
  }
  return ERRCODE_INTERNAL_ERROR;
}

constexpr std::string_view kReportHint =
    "This is a schema_guard bug; please report it with the statement that "
    "caused it.";

}  // namespace

bool CatchErased(void (*fn)(void*), void* arg, ErrorReport* report) noexcept {
  try {
    fn(arg);
    return true;
  } catch (const core::Error& e) {
    Fill(report, SqlState(e.code()), e.message(), e.detail(), e.hint(), {},
         e.where().file, e.where().line, e.where().function);
  } catch (const PgError& e) {
    Fill(report, e.sqlerrcode(), e.message(), e.detail(), e.hint(), e.context(),
         e.file(), e.line(), e.function());
  } catch (const std::bad_alloc&) {
    Fill(report, ERRCODE_OUT_OF_MEMORY, "out of memory",
         "A schema_guard allocation failed.", {}, {});
  } catch (const fmt::format_error& e) {
    Fill(report, ERRCODE_INTERNAL_ERROR, "could not format text", e.what(),
         kReportHint, {});
  } catch (const std::exception& e) {
    Fill(report, ERRCODE_INTERNAL_ERROR, "unexpected internal error", e.what(),
         kReportHint, {});
  } catch (...) {
    Fill(report, ERRCODE_INTERNAL_ERROR, "unexpected internal error",
         "An unknown exception was raised.", kReportHint, {});
  }
  return false;
}

// ereport(ERROR) spelled out, so that the error carries the location of the
// code that raised it rather than this line.
void Raise(const ErrorReport& report) {
  if (errstart(ERROR, TEXTDOMAIN)) {
    errcode(report.sqlerrcode);
    errmsg_internal("%s", report.message);
    if (report.detail[0] != '\0') errdetail_internal("%s", report.detail);
    if (report.hint[0] != '\0') errhint("%s", report.hint);
    if (report.context[0] != '\0') errcontext("%s", report.context);
    errfinish(report.file != nullptr ? report.file : __FILE__,
              report.file != nullptr ? report.line : __LINE__,
              report.function != nullptr ? report.function : PG_FUNCNAME_MACRO);
  }
  pg_unreachable();
}

namespace {

[[noreturn]] void ThrowPgError(ErrorData* edata) {
  // Copy out of the palloc'd ErrorData before anything can throw, so that it
  // is freed on every path.
  int sqlerrcode = edata->sqlerrcode;
  const char* file = edata->filename;
  int line = edata->lineno;
  const char* function = edata->funcname;
  int cursor = edata->cursorpos;
  std::string message;
  std::string detail;
  std::string hint;
  std::string context;
  try {
    if (edata->message != nullptr) message = edata->message;
    if (edata->detail != nullptr) detail = edata->detail;
    if (edata->hint != nullptr) hint = edata->hint;
    if (edata->context != nullptr) context = edata->context;
  } catch (...) {
    FreeErrorData(edata);
    throw;
  }
  FreeErrorData(edata);
  throw PgError(sqlerrcode, std::move(message), std::move(detail),
                std::move(hint), std::move(context), file, line, function,
                cursor);
}

}  // namespace

void PgTryErased(void (*fn)(void*), void* arg) {
  MemoryContext caller_context = CurrentMemoryContext;
  ErrorData* volatile edata = nullptr;
  PG_TRY();
  { fn(arg); }
  PG_CATCH();
  {
    MemoryContextSwitchTo(caller_context);
    edata = CopyErrorData();
    FlushErrorState();
  }
  PG_END_TRY();
  if (edata != nullptr) ThrowPgError(edata);
}

void InRolledBackSubtransactionErased(void (*fn)(void*), void* arg) {
  MemoryContext caller_context = CurrentMemoryContext;
  ResourceOwner caller_owner = CurrentResourceOwner;
  PgTry([&]() noexcept {
    BeginInternalSubTransaction(nullptr);
    MemoryContextSwitchTo(caller_context);
  });
  auto roll_back = [&] {
    PgTry([&]() noexcept {
      RollbackAndReleaseCurrentSubTransaction();
      MemoryContextSwitchTo(caller_context);
      CurrentResourceOwner = caller_owner;
    });
  };
  try {
    fn(arg);
  } catch (...) {
    roll_back();
    throw;
  }
  roll_back();
}

char* PallocCopy(std::string_view text) {
  if (text.size() >= MaxAllocSize) {
    throw core::Error(core::ErrorCode::kProgramLimitExceeded,
                      "text is too large",
                      fmt::format("The text is {} bytes long.", text.size()),
                      "Values must be shorter than 1 GB.");
  }
  auto* copy =
      static_cast<char*>(palloc_extended(text.size() + 1, MCXT_ALLOC_NO_OOM));
  if (copy == nullptr) throw std::bad_alloc();
  std::memcpy(copy, text.data(), text.size());
  copy[text.size()] = '\0';
  return copy;
}

}  // namespace schema_guard::pg
