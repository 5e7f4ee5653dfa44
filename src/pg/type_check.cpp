#include "pg/type_check.hpp"

#include "pg/bridge.hpp"

extern "C" {
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "nodes/pg_list.h"
#include "nodes/value.h"
#include "parser/parse_type.h"
#include "utils/catcache.h"
#include "utils/syscache.h"
}

namespace schema_guard::pg {

core::TypeVerdict CheckTypeSpelling(const std::string& type) {
  core::TypeVerdict verdict;
  const char* spelling = type.c_str();
  bool found = false;
  bool elsewhere = false;
  // The parser raises on a syntax error or a bad modifier: in a
  // subtransaction, so that the refusal can name the manifest's path.
  try {
    InRolledBackSubtransaction([&] {
      PgTry([&]() noexcept {
        TypeName* name = typeStringToTypeName(spelling);
        int32 typmod = -1;
        Type tuple = LookupTypeName(nullptr, name, &typmod, true);
        if (tuple != nullptr) {
          found = true;
          ReleaseSysCache(tuple);
          return;
        }
        // Not visible through search_path: does any schema have it? (A
        // qualified name names its schema.)
        if (list_length(name->names) > 1) return;
        const char* last = strVal(llast(name->names));
        CatCList* list =
            SearchSysCacheList1(TYPENAMENSP, CStringGetDatum(last));
        elsewhere = list->n_members > 0;
        ReleaseSysCacheList(list);
      });
    });
  } catch (const PgError& e) {
    verdict.kind = core::TypeVerdict::Kind::kInvalid;
    verdict.problem = e.message();
    return verdict;
  }
  if (!found && !elsewhere) verdict.kind = core::TypeVerdict::Kind::kUnknown;
  return verdict;
}

}  // namespace schema_guard::pg
