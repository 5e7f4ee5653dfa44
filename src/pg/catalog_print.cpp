// What PostgreSQL's deparsers print for a relation of the catalog reader
// (catalog_raw.hpp), once it is locked. Runs inside PgTry.
#include "pg/catalog_raw.hpp"

extern "C" {
#include "postgres.h"

#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
}

namespace schema_guard::pg {

const char* CallPrinter(PGFunction printer, int nargs, Datum a, Datum b,
                        Datum c) {
  LOCAL_FCINFO(fcinfo, 3);
  InitFunctionCallInfoData(*fcinfo, nullptr, static_cast<short>(nargs),
                           InvalidOid, nullptr, nullptr);
  Datum args[3] = {a, b, c};
  for (int i = 0; i < nargs; ++i) {
    fcinfo->args[i].value = args[i];
    fcinfo->args[i].isnull = false;
  }
  Datum result = (*printer)(fcinfo);
  if (fcinfo->isnull) return nullptr;
  return TextOf(result);
}

bool PrintRelationDetails(RawRelation* r) {
  for (int k = 0; k < r->constraint_count; ++k) {
    RawConstraint* con = &r->constraints[k];
    if (con->type != CONSTRAINT_CHECK && con->type != CONSTRAINT_EXCLUSION)
      continue;
    con->definition =
        CallPrinter(pg_get_constraintdef_ext, 2, ObjectIdGetDatum(con->oid),
                    BoolGetDatum(true), 0);
    if (con->definition == nullptr) return false;
  }
  for (int k = 0; k < r->index_count; ++k) {
    RawIndex* index = &r->indexes[k];
    int total = index->key_count + index->include_count;
    for (int column = 0; column < total; ++column) {
      if (index->keys[column] != nullptr) continue;
      index->keys[column] =
          CallPrinter(pg_get_indexdef_ext, 3, ObjectIdGetDatum(index->oid),
                      Int32GetDatum(column + 1), BoolGetDatum(true));
      if (index->keys[column] == nullptr) return false;
    }
    if (index->predicate_node != nullptr) {
      index->predicate =
          CallPrinter(pg_get_expr_ext, 3,
                      PointerGetDatum(cstring_to_text(index->predicate_node)),
                      ObjectIdGetDatum(r->oid), BoolGetDatum(true));
      if (index->predicate == nullptr) return false;
    }
  }
  if (r->partition_bound_node != nullptr) {
    r->partition_bound =
        CallPrinter(pg_get_expr, 2,
                    PointerGetDatum(cstring_to_text(r->partition_bound_node)),
                    ObjectIdGetDatum(r->oid), 0);
    if (r->partition_bound == nullptr) return false;
  }
  if (r->kind == RELKIND_PARTITIONED_TABLE) {
    r->partition_key =
        CallPrinter(pg_get_partkeydef, 1, ObjectIdGetDatum(r->oid), 0, 0);
    if (r->partition_key == nullptr) return false;
  }
  if (r->is_partition) {
#if PG_VERSION_NUM >= 140000
    Oid parent = get_partition_parent(r->oid, true);
#else
    Oid parent = get_partition_parent(r->oid);
#endif
    if (parent == InvalidOid) return false;
    r->partition_parent = get_rel_name(parent);
    r->partition_parent_schema = get_namespace_name(get_rel_namespace(parent));
    if (r->partition_parent == nullptr || r->partition_parent_schema == nullptr)
      return false;
  }
  return PrintTriggersAndPolicies(r);
}

const char* PrintViewDefinition(Oid view) {
  return CallPrinter(pg_get_viewdef_ext, 2, ObjectIdGetDatum(view),
                     BoolGetDatum(true), 0);
}

}  // namespace schema_guard::pg
