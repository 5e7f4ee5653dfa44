// Running internal SQL as the extension's owner for the length of a scope:
// the batch log, the staged rows and the quarantine are read and written
// only this way. A security-restricted operation with search_path pinned
// (see EnterOwnerContext). Code in such a scope reads only the extension's
// own tables: never a relation the caller can create, replace or alter, and
// never runs the caller's code (type input functions, the target's
// constraints and triggers run as the caller, outside any OwnerScope).
#pragma once

#include <exception>

#include "pg/audit_store.hpp"
#include "pg/bridge.hpp"

namespace schema_guard::pg {

class OwnerScope {
 public:
  OwnerScope() {
    PgTry([&]() noexcept { EnterOwnerContext("stage_batches", &saved_); });
    depth_ = std::uncaught_exceptions();
  }
  // On the way out of an error the (sub)transaction's abort restores the
  // role and search_path; only a scope left normally restores them here.
  ~OwnerScope() noexcept(false) {
    if (std::uncaught_exceptions() > depth_) return;
    PgTry([&]() noexcept { LeaveOwnerContext(&saved_); });
  }
  OwnerScope(const OwnerScope&) = delete;
  OwnerScope& operator=(const OwnerScope&) = delete;

 private:
  OwnerContext saved_{};
  int depth_ = 0;
};

}  // namespace schema_guard::pg
