// Errors raised by core code. The boundary (src/pg/bridge.cpp) maps each
// code to a PostgreSQL SQLSTATE; core code never sees an ERRCODE_* macro.
#pragma once

#include <exception>
#include <string>

namespace schema_guard::core {

enum class ErrorCode {
  kInvalidParameterValue,         // 22023
  kStringDataTooLong,             // 22001
  kInvalidTextRepresentation,     // 22P02
  kProgramLimitExceeded,          // 54000
  kUndefinedColumn,               // 42703
  kWrongObjectType,               // 42809
  kInsufficientPrivilege,         // 42501
  kObjectNotInPrerequisiteState,  // 55000
  kInternal,                      // XX000
};

class Error : public std::exception {
 public:
  Error(ErrorCode code, std::string message, std::string detail = {},
        std::string hint = {})
      : code_(code),
        message_(std::move(message)),
        detail_(std::move(detail)),
        hint_(std::move(hint)) {}

  ErrorCode code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  const std::string& detail() const noexcept { return detail_; }
  const std::string& hint() const noexcept { return hint_; }
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  ErrorCode code_;
  std::string message_;
  std::string detail_;
  std::string hint_;
};

}  // namespace schema_guard::core
