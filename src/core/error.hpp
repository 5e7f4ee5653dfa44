// Errors raised by core code. The boundary (src/pg/bridge.cpp) maps each
// code to a PostgreSQL SQLSTATE; core code never sees an ERRCODE_* macro.
#pragma once

#include <exception>
#include <string>

namespace schema_guard::core {

enum class ErrorCode {
  kInvalidParameterValue,         // 22023
  kNullValueNotAllowed,           // 22004
  kStringDataTooLong,             // 22001
  kInvalidTextRepresentation,     // 22P02
  kProgramLimitExceeded,          // 54000
  kUndefinedColumn,               // 42703
  kUndefinedTable,                // 42P01
  kUndefinedObject,               // 42704
  kDuplicateObject,               // 42710
  kInvalidColumnReference,        // 42P10
  kInvalidName,                   // 42602
  kSyntaxError,                   // 42601
  kWrongObjectType,               // 42809
  kDatatypeMismatch,              // 42804
  kInsufficientPrivilege,         // 42501
  kFeatureNotSupported,           // 0A000
  kObjectNotInPrerequisiteState,  // 55000
  kTriggerProtocolViolated,       // 39P01
  kInternal,                      // XX000
};

// Where an error was raised: the throw site, filled in by the compiler
// (GCC and Clang evaluate these builtins at the call site of a default
// argument), so that the server log names the code that refused, not the
// bridge that re-raised it.
struct SourceLocation {
  const char* file = "";
  int line = 0;
  const char* function = "";

  static constexpr SourceLocation Current(
      const char* file = __builtin_FILE(), int line = __builtin_LINE(),
      const char* function = __builtin_FUNCTION()) noexcept {
    return SourceLocation{file, line, function};
  }
};

class Error : public std::exception {
 public:
  Error(ErrorCode code, std::string message, std::string detail = {},
        std::string hint = {}, SourceLocation where = SourceLocation::Current())
      : code_(code),
        message_(std::move(message)),
        detail_(std::move(detail)),
        hint_(std::move(hint)),
        where_(where) {}

  ErrorCode code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  const std::string& detail() const noexcept { return detail_; }
  const std::string& hint() const noexcept { return hint_; }
  const SourceLocation& where() const noexcept { return where_; }
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  ErrorCode code_;
  std::string message_;
  std::string detail_;
  std::string hint_;
  SourceLocation where_;
};

}  // namespace schema_guard::core
