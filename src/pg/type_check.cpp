#include "pg/type_check.hpp"

#include <map>
#include <memory>
#include <utility>

#include "pg/bridge.hpp"

extern "C" {
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "nodes/pg_list.h"
#include "nodes/value.h"
#include "parser/parse_coerce.h"
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

namespace {

// The type a spelling names here, or InvalidOid (also for one PostgreSQL
// cannot read: the parser's error is rolled back).
Oid TypeOf(const std::string& type) {
  const char* spelling = type.c_str();
  Oid oid = InvalidOid;
  try {
    InRolledBackSubtransaction([&] {
      PgTry([&]() noexcept {
        TypeName* name = typeStringToTypeName(spelling);
        int32 typmod = -1;
        Type tuple = LookupTypeName(nullptr, name, &typmod, true);
        if (tuple != nullptr) {
          oid = typeTypeId(tuple);
          ReleaseSysCache(tuple);
        }
      });
    });
  } catch (const PgError&) {
    oid = InvalidOid;
  }
  return oid;
}

}  // namespace

std::function<bool(const std::string&, const std::string&)> CastChecker() {
  auto known =
      std::make_shared<std::map<std::pair<std::string, std::string>, bool>>();
  return [known](const std::string& from, const std::string& to) {
    auto key = std::make_pair(from, to);
    auto it = known->find(key);
    if (it != known->end()) return it->second;
    Oid source = TypeOf(from);
    Oid target = TypeOf(to);
    bool castable = true;
    if (source != InvalidOid && target != InvalidOid) {
      PgTry([&]() noexcept {
        castable = can_coerce_type(1, &source, &target, COERCION_EXPLICIT);
      });
    }
    known->emplace(std::move(key), castable);
    return castable;
  };
}

}  // namespace schema_guard::pg
