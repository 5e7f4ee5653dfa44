#include "pg/guard.hpp"

#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/lint.hpp"
#include "pg/audit_store.hpp"
#include "pg/bridge.hpp"
#include "pg/lint_catalog.hpp"
#include "pg/lint_reader.hpp"
#include "pg/lint_script.hpp"
#include "pg/settings.hpp"
#include "pg/statement_capture.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "nodes/parsenodes.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"

PG_FUNCTION_INFO_V1(schema_guard_ddl_command_start);
}

namespace schema_guard::pg {

core::LintThresholds LintThresholdSettings();  // lint_functions.cpp

namespace {

// Whether ddl_command_start already reported a rewrite of the current
// statement, so that its table_rewrite does not report it again.
bool rewrite_reported = false;

bool IsRewriteRule(const std::string& rule) {
  return rule == "changing-column-type" || rule == "adding-field-with-default";
}

// The findings the guard acts on: about a table at least as large as its
// thresholds, and not advice (prefer-*) or the linter's own notes.
bool GuardActsOn(const core::LintFinding& finding) {
  if (!finding.size) return false;
  if (finding.severity == core::Severity::kInfo &&
      finding.rule.rfind("prefer-", 0) == 0) {
    return false;
  }
  if (finding.rule == "invalid-ignore-comment") return false;
  return finding.size->rows >= guard_min_rows ||
         finding.size->bytes >= static_cast<std::int64_t>(guard_min_kb) * 1024;
}

// The guard_event table exists in this database's schema_guard (0.1.0's
// install script has none).
bool GuardTableExists() {
  bool exists = false;
  PgTry([&]() noexcept {
    Oid nsp = get_namespace_oid("schema_guard", true);
    exists =
        OidIsValid(nsp) && OidIsValid(get_relname_relid("guard_event", nsp));
  });
  return exists;
}

void Record(const char* action, const core::LintFinding& finding,
            const std::string& object) {
  StatementText text = CurrentStatement();
  const char* label = migration_label != nullptr && migration_label[0] != '\0'
                          ? migration_label
                          : nullptr;
  PgTry([&]() noexcept {
    Oid types[8] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID,
                    INT8OID, INT8OID, TEXTOID, TEXTOID};
    Datum values[8];
    char nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
    values[0] = CStringGetTextDatum(action);
    values[1] = PointerGetDatum(
        cstring_to_text_with_len(finding.rule.data(), finding.rule.size()));
    values[2] =
        PointerGetDatum(cstring_to_text_with_len(object.data(), object.size()));
    std::string_view lock = core::LockModeName(finding.lock);
    values[3] =
        PointerGetDatum(cstring_to_text_with_len(lock.data(), lock.size()));
    if (lock.empty()) nulls[3] = 'n';
    values[4] =
        Int64GetDatum(static_cast<int64>(std::llround(finding.size->rows)));
    values[5] = Int64GetDatum(finding.size->bytes);
    if (text.text != nullptr) {
      values[6] =
          PointerGetDatum(cstring_to_text_with_len(text.text, text.length));
    } else {
      nulls[6] = 'n';
    }
    if (label != nullptr) {
      values[7] = CStringGetTextDatum(label);
    } else {
      nulls[7] = 'n';
    }
    RunInternalSql(
        "INSERT INTO schema_guard.guard_event (occurred_at, txid, role_name,"
        " action, rule, object, lock, table_rows, table_bytes, statement,"
        " migration) VALUES (pg_catalog.statement_timestamp(),"
        " pg_catalog.pg_current_xact_id(), pg_catalog.session_user(), $1, $2,"
        " $3, $4, $5, $6, $7, $8)",
        8, types, values, nulls);
  });
}

std::string Hint(const core::LintFinding& finding) {
  return fmt::format(
      "{} To run it anyway, SET LOCAL schema_guard.guard = off in its "
      "transaction; the override is recorded in schema_guard.guard_event.",
      finding.hint);
}

// Warns, blocks or records the findings the guard acts on.
void Act(const std::vector<core::LintFinding>& findings,
         const std::string& table, const std::string& tag) {
  std::vector<const core::LintFinding*> acted;
  for (const core::LintFinding& finding : findings) {
    if (GuardActsOn(finding)) acted.push_back(&finding);
  }
  if (acted.empty()) return;
  for (const core::LintFinding* finding : acted) {
    if (IsRewriteRule(finding->rule)) rewrite_reported = true;
  }
  if (guard_mode == kGuardBlock) {
    const core::LintFinding& first = *acted.front();
    std::string detail = core::GuardDetail(first, table, tag);
    if (acted.size() > 1) {
      std::vector<std::string> others;
      for (std::size_t i = 1; i < acted.size(); ++i) {
        others.push_back(acted[i]->rule);
      }
      detail += fmt::format(" Also: {}.", fmt::join(others, ", "));
    }
    throw core::Error(core::ErrorCode::kObjectNotInPrerequisiteState,
                      first.message, detail, Hint(first));
  }
  bool tracked = GuardTableExists();
  for (const core::LintFinding* finding : acted) {
    if (guard_mode == kGuardWarn) {
      std::string detail = core::GuardDetail(*finding, table, tag);
      std::string hint = Hint(*finding);
      PgTry([&]() noexcept {
        ereport(WARNING, (errmsg_internal("%s", finding->message.c_str()),
                          errdetail_internal("%s", detail.c_str()),
                          errhint("%s", hint.c_str())));
      });
    }
    if (tracked) {
      Record(guard_mode == kGuardWarn ? "warned" : "overridden", *finding,
             finding->object.empty() ? table : finding->object);
    }
  }
}

core::LintOptions GuardOptions() {
  core::LintOptions options;
  options.thresholds = LintThresholdSettings();
  options.assume_in_transaction = IsTransactionBlock();
  options.lock_timeout_set = LockTimeout > 0;
  options.in_current_transaction = true;
  return options;
}

void GuardStatement(Node* node) {
  LiveCatalog catalog;
  core::LintStatement statement;
  ReadStatement(node, &catalog, &statement);
  if (statement.temporary || !statement.table) return;
  StatementText text = CurrentStatement();
  statement.ignored = StatementIgnores(text.text, text.length);
  statement.number = statement.line = 1;
  core::Linter linter(GuardOptions(), &catalog);
  std::vector<core::LintFinding> findings;
  linter.Lint(statement, &findings);
  Act(findings, statement.table->Display(), statement.tag);
}

void GuardRewrite(Oid relid, int reason, const char* tag) {
  LiveCatalog catalog;
  std::optional<core::LintTableSize> size = catalog.TableSizeOf(relid);
  if (!size || size->new_in_transaction) return;
  const char* schema = nullptr;
  const char* name = nullptr;
  bool temporary = false;
  PgTry([&]() noexcept {
    name = get_rel_name(relid);
    schema = get_namespace_name(get_rel_namespace(relid));
    temporary = get_rel_persistence(relid) == RELPERSISTENCE_TEMP;
  });
  if (name == nullptr || schema == nullptr || temporary) return;
  core::LintName table{schema, name};
  core::LintFinding finding;
  finding.rule =
      (reason & AT_REWRITE_COLUMN_REWRITE) != 0 ? "changing-column-type"
      : (reason & AT_REWRITE_DEFAULT_VAL) != 0  ? "adding-field-with-default"
                                                : "table-rewrite";
  finding.severity = core::Linter(GuardOptions(), &catalog).Scaled(size);
  finding.object = table.Display();
  finding.lock = core::LockMode::kAccessExclusive;
  finding.size = size;
  finding.message =
      fmt::format("{} rewrites table \"{}\" under an ACCESS EXCLUSIVE lock",
                  tag, table.Display());
  finding.hint =
      "Make the change without a rewrite: add a column, backfill it in "
      "batches and switch over.";
  StatementText text = CurrentStatement();
  for (const std::string& ignored : StatementIgnores(text.text, text.length)) {
    if (core::CanonicalRuleName(ignored) == finding.rule) return;
  }
  Act({finding}, table.Display(), tag);
}

}  // namespace

bool GuardWanted() {
  if (guard_mode != kGuardOff) return true;
  // Off: an override if the setting the session started with is not off.
  const char* reset = GetConfigOptionResetString("schema_guard.guard");
  return reset != nullptr && strcmp(reset, "off") != 0;
}

void GuardTableRewrite(Oid relid, int reason, const char* tag) {
  if (rewrite_reported || !GuardWanted() || InternalDdl() ||
      InRestoreSession()) {
    return;
  }
  if (!GuardTableExists()) return;  // a 0.1.0 install: no guard
  Guarded([&] { GuardRewrite(relid, reason, tag); });
}

void GuardStatementEnd() { rewrite_reported = false; }

}  // namespace schema_guard::pg

extern "C" Datum schema_guard_ddl_command_start(PG_FUNCTION_ARGS) {
  schema_guard::pg::RequireEventTrigger(fcinfo);
  schema_guard::pg::rewrite_reported = false;
  if (!schema_guard::pg::GuardWanted()) PG_RETURN_VOID();
  Node* node = reinterpret_cast<EventTriggerData*>(fcinfo->context)->parsetree;
  if (!schema_guard::pg::GuardedNode(node) || schema_guard::pg::InternalDdl() ||
      schema_guard::pg::InRestoreSession()) {
    PG_RETURN_VOID();
  }
  schema_guard::pg::Guarded([&] { schema_guard::pg::GuardStatement(node); });
  PG_RETURN_VOID();
}
