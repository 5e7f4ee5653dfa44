// The wall between C++ and PostgreSQL.
//
// PostgreSQL -> C++: every function PostgreSQL calls (SQL functions, event
// triggers, triggers, GUC hooks) is an extern "C" shim whose frame holds only
// plain data. It runs its C++ part through Guarded() (or Catch() where the
// error must be reported some other way, as GUC check hooks do). Catch()
// turns any C++ exception into an ErrorReport of fixed-size buffers; only
// after the catch block has closed does Raise() call ereport(ERROR), so the
// longjmp never crosses a live C++ object and no exception reaches C frames.
//
// C++ -> PostgreSQL: C++ code that owns objects calls anything that may
// elog(ERROR) through PgTry(). It catches the PostgreSQL error, restores the
// memory context, flushes the error state and rethrows it as PgError, which
// keeps the original SQLSTATE, message, detail, hint and context. A PgError
// must propagate to the shim's guard: the transaction is aborted there.
#pragma once

#include <exception>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

extern "C" {
#include "postgres.h"
}

namespace schema_guard::pg {

// A PostgreSQL error on its way back to the entry guard. Its location is
// the one PostgreSQL recorded (static strings, as errfinish() takes them).
class PgError : public std::exception {
 public:
  PgError(int sqlerrcode, std::string message, std::string detail,
          std::string hint, std::string context, const char* file = nullptr,
          int line = 0, const char* function = nullptr, int cursor = 0)
      : sqlerrcode_(sqlerrcode),
        message_(std::move(message)),
        detail_(std::move(detail)),
        hint_(std::move(hint)),
        context_(std::move(context)),
        file_(file),
        line_(line),
        function_(function),
        cursor_(cursor) {}

  int sqlerrcode() const noexcept { return sqlerrcode_; }
  const std::string& message() const noexcept { return message_; }
  const std::string& detail() const noexcept { return detail_; }
  const std::string& hint() const noexcept { return hint_; }
  const std::string& context() const noexcept { return context_; }
  const char* file() const noexcept { return file_; }
  int line() const noexcept { return line_; }
  const char* function() const noexcept { return function_; }
  // The 1-based character position in the query string the error points
  // at (a syntax error's), or 0.
  int cursor() const noexcept { return cursor_; }
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  int sqlerrcode_;
  std::string message_;
  std::string detail_;
  std::string hint_;
  std::string context_;
  const char* file_;
  int line_;
  const char* function_;
  int cursor_;
};

// Plain data only: it lives in frames that ereport() may longjmp over. The
// location points at static strings (__FILE__, __func__), which outlive the
// frame.
struct ErrorReport {
  int sqlerrcode;
  char message[1024];
  char detail[2048];
  char hint[1024];
  char context[1024];
  const char* file;
  int line;
  const char* function;
};

// Runs fn(arg); on any C++ exception fills *report and returns false.
bool CatchErased(void (*fn)(void*), void* arg, ErrorReport* report) noexcept;

template <typename Fn>
bool Catch(Fn&& fn, ErrorReport* report) noexcept {
  using F = std::remove_reference_t<Fn>;
  return CatchErased([](void* p) { (*static_cast<F*>(p))(); },
                     static_cast<void*>(&fn), report);
}

// ereport(ERROR) with the report's SQLSTATE, message, detail, hint, context.
[[noreturn]] void Raise(const ErrorReport& report);

// The entry guard: runs fn and raises any C++ exception as a PostgreSQL
// error once the exception has been destroyed.
template <typename Fn>
void Guarded(Fn&& fn) {
  ErrorReport report;
  if (!Catch(std::forward<Fn>(fn), &report)) Raise(report);
}

// The reverse guard: runs fn, which calls PostgreSQL and owns no C++ object,
// and rethrows a PostgreSQL error as PgError.
void PgTryErased(void (*fn)(void*), void* arg);

template <typename Fn>
void PgTry(Fn&& fn) {
  static_assert(noexcept(fn()),
                "PgTry bodies must be noexcept: they call PostgreSQL only");
  using F = std::remove_reference_t<Fn>;
  PgTryErased([](void* p) { (*static_cast<F*>(p))(); },
              static_cast<void*>(&fn));
}

// Runs fn (C++ code that calls PostgreSQL through PgTry) in an internal
// subtransaction that is rolled back when fn returns or throws: every lock
// taken inside is released, and a PostgreSQL error raised inside leaves the
// transaction usable. An exception from fn propagates after the rollback.
// What fn allocates must go to a memory context that outlives the
// subtransaction (fn starts in the caller's).
void InRolledBackSubtransactionErased(void (*fn)(void*), void* arg);

template <typename Fn>
void InRolledBackSubtransaction(Fn&& fn) {
  using F = std::remove_reference_t<Fn>;
  InRolledBackSubtransactionErased([](void* p) { (*static_cast<F*>(p))(); },
                                   static_cast<void*>(&fn));
}

// A palloc'd, NUL-terminated copy in the current memory context. Throws
// std::bad_alloc instead of raising a PostgreSQL error.
char* PallocCopy(std::string_view text);

}  // namespace schema_guard::pg
