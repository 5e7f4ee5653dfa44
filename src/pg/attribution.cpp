#include "pg/attribution.hpp"

#include <fmt/format.h>

#include "pg/audit_store.hpp"
#include "pg/bridge.hpp"
#include "pg/settings.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/builtins.h"
}

namespace schema_guard::pg {
namespace {

// MayWriteHistory's answers in this transaction, one per framework.
struct CachedAnswer {
  bool valid;
  Oid role;
  bool may_write;
  bool none;  // the framework has no history table here
};
CachedAnswer cached[5];

}  // namespace

std::string HistoryTableExpression(std::string_view framework,
                                   std::string_view default_name,
                                   std::string_view created) {
  // A graph's history_table that names no schema is in public, as Django,
  // Flyway, Alembic, Rails and Liquibase create theirs by default.
  return fmt::format(
      "coalesce("
      "(SELECT pg_catalog.to_regclass(CASE WHEN pg_catalog.cardinality("
      "pg_catalog.parse_ident(g.graph ->> 'history_table')) = 1 "
      "THEN 'public.' || (g.graph ->> 'history_table') "
      "ELSE g.graph ->> 'history_table' END) "
      "FROM schema_guard.migration_graph g WHERE g.framework = {0} "
      "AND g.graph ? 'history_table'), "
      "pg_catalog.to_regclass('public.' || pg_catalog.quote_ident({1})), "
      "(SELECT t.tgrelid::pg_catalog.regclass FROM pg_catalog.pg_trigger t "
      "WHERE t.tgfoid = 'schema_guard.history_row()'::pg_catalog.regprocedure "
      "AND pg_catalog.split_part(pg_catalog.encode(t.tgargs, 'escape'), "
      "'\\000', 1) = {0} ORDER BY t.tgrelid LIMIT 1){2})",
      framework, default_name,
      created.empty() ? std::string()
                      : fmt::format(", {}::pg_catalog.regclass", created));
}

bool MayWriteHistory(core::Framework framework, Oid created, bool if_none) {
  auto slot = static_cast<std::size_t>(framework);
  Oid role = GetUserId();
  if (!OidIsValid(created) && cached[slot].valid && cached[slot].role == role) {
    return cached[slot].none ? if_none : cached[slot].may_write;
  }
  // Built once: the statement text lives as long as the backend.
  static const char* sql = nullptr;
  const char* name = nullptr;
  const char* table = nullptr;
  Guarded([&] {
    if (sql == nullptr) {
      std::string text =
          fmt::format("SELECT pg_catalog.has_table_privilege($1, {}, 'INSERT')",
                      HistoryTableExpression("$2", "$3", "NULLIF($4, 0)"));
      sql = strdup(text.c_str());
      if (sql == nullptr) throw std::bad_alloc();
    }
    name = PallocCopy(core::FrameworkName(framework));
    table = PallocCopy(core::HistoryTableName(framework));
  });
  Oid types[4] = {OIDOID, TEXTOID, TEXTOID, OIDOID};
  Datum values[4] = {ObjectIdGetDatum(role), CStringGetTextDatum(name),
                     CStringGetTextDatum(table), ObjectIdGetDatum(created)};
  bool none = true;
  bool may_write = RunInternalQueryBool(sql, 4, types, values, nullptr, &none);
  if (!OidIsValid(created)) cached[slot] = {true, role, may_write, none};
  return none ? if_none : may_write;
}

SessionClaim CurrentClaim() {
  SessionClaim claim{nullptr, nullptr};
  if (migration_label == nullptr || migration_label[0] == '\0') return claim;
  core::LabelSource source = MigrationLabelSource();
  core::Framework framework = core::Framework::kDjango;
  Guarded([&] { framework = core::LabelFramework(migration_label); });
  bool may_write = source == core::LabelSource::kSession &&
                   MayWriteHistory(framework, InvalidOid, false);
  bool counts = false;
  Guarded([&] { counts = core::ClaimCounts(source, may_write); });
  (counts ? claim.counted : claim.refused) = pstrdup(migration_label);
  return claim;
}

void ForgetClaims() {
  for (auto& answer : cached) answer.valid = false;
}

}  // namespace schema_guard::pg
