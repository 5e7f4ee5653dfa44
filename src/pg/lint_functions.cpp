// schema_guard.lint(sql, assume_in_transaction): the findings of a
// migration script, one row each, with the live sizes of the tables they
// are about.
#include <cmath>
#include <string>
#include <vector>

#include "core/lint.hpp"
#include "pg/bridge.hpp"
#include "pg/datum.hpp"
#include "pg/lint_catalog.hpp"
#include "pg/lint_script.hpp"
#include "pg/settings.hpp"

extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(schema_guard_lint);
}

namespace schema_guard::pg {

core::LintThresholds LintThresholdSettings() {
  core::LintThresholds thresholds;
  thresholds.warning_rows = lint_warning_rows;
  thresholds.warning_bytes = static_cast<std::int64_t>(lint_warning_kb) * 1024;
  thresholds.error_rows = lint_error_rows;
  thresholds.error_bytes = static_cast<std::int64_t>(lint_error_kb) * 1024;
  return thresholds;
}

namespace {

constexpr int kLintColumns = 10;

void PutFinding(ReturnSetInfo* rsinfo, const core::LintFinding& finding) {
  Datum values[kLintColumns];
  bool nulls[kLintColumns] = {};
  values[0] = Int32GetDatum(finding.statement_no);
  values[1] = Int32GetDatum(finding.line);
  values[2] = PointerGetDatum(ToText(finding.rule));
  values[3] = PointerGetDatum(ToText(core::SeverityName(finding.severity)));
  nulls[4] = finding.object.empty();
  values[4] = nulls[4] ? (Datum)0 : PointerGetDatum(ToText(finding.object));
  values[5] = PointerGetDatum(ToText(finding.message));
  values[6] = PointerGetDatum(ToText(finding.hint));
  std::string_view lock = core::LockModeName(finding.lock);
  nulls[7] = lock.empty();
  values[7] = nulls[7] ? (Datum)0 : PointerGetDatum(ToText(lock));
  nulls[8] = nulls[9] = !finding.size.has_value();
  if (finding.size) {
    values[8] =
        Int64GetDatum(static_cast<int64>(std::llround(finding.size->rows)));
    values[9] = Int64GetDatum(finding.size->bytes);
  }
  PutRow(rsinfo, values, nulls);
}

void Lint(FunctionCallInfo fcinfo, text* sql_text, bool in_transaction) {
  std::string sql = TextArg(sql_text);
  core::LintOptions options;
  options.thresholds = LintThresholdSettings();
  options.assume_in_transaction = in_transaction;
  options.lock_timeout_set = LockTimeout > 0;
  LiveCatalog catalog;
  // The parse tree is read into the statement model and freed before the
  // rules run: a large script's tree is many times its text.
  MemoryContext caller = CurrentMemoryContext;
  MemoryContext parse_context = nullptr;
  PgTry([&]() noexcept {
    parse_context = AllocSetContextCreate(caller, "schema_guard lint parse",
                                          ALLOCSET_DEFAULT_SIZES);
    MemoryContextSwitchTo(parse_context);
  });
  std::vector<core::LintStatement> statements = ReadScript(sql, &catalog);
  PgTry([&]() noexcept {
    MemoryContextSwitchTo(caller);
    MemoryContextDelete(parse_context);
  });
  core::Linter linter(options, &catalog);
  std::vector<core::LintFinding> findings;
  findings.reserve(statements.size());
  for (const core::LintStatement& statement : statements) {
    linter.Lint(statement, &findings);
  }
  ReturnSetInfo* rsinfo = BeginMaterializedSet(fcinfo);
  for (const core::LintFinding& finding : findings) PutFinding(rsinfo, finding);
}

}  // namespace
}  // namespace schema_guard::pg

extern "C" Datum schema_guard_lint(PG_FUNCTION_ARGS) {
  schema_guard::pg::Guarded([&] {
    schema_guard::pg::RequireArg(fcinfo, 0, "sql",
                                 "Pass the text of the migration to lint.");
    schema_guard::pg::RequireArg(
        fcinfo, 1, "assume_in_transaction",
        "Pass true when the migration tool runs the script in a transaction "
        "of its own, else false.");
  });
  text* sql = PG_GETARG_TEXT_PP(0);
  bool in_transaction = PG_GETARG_BOOL(1);
  schema_guard::pg::Guarded(
      [&] { schema_guard::pg::Lint(fcinfo, sql, in_transaction); });
  return (Datum)0;
}
