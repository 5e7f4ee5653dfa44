#include "pg/staging_target.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/error.hpp"
#include "core/json.hpp"
#include "pg/bridge.hpp"
#include "pg/datum.hpp"

extern "C" {
#include "access/genam.h"
#include "access/relation.h"
#include "catalog/catalog.h"
#include "catalog/namespace.h"
#include "catalog/pg_opfamily.h"
#include "catalog/pg_type.h"
#include "storage/lmgr.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/typcache.h"
}

namespace schema_guard::pg {
namespace {

using core::Error;
using core::ErrorCode;

QueryArg OidArg(Oid value) { return {OIDOID, ObjectIdGetDatum(value), false}; }

std::vector<std::string> JsonStrings(const std::string& json_text) {
  std::vector<std::string> out;
  core::Json doc = core::ParseJson(json_text);
  for (const auto& item : doc.items()) out.push_back(item.text());
  return out;
}

// Locks the relation (the caller's lock mode) and makes sure it is still
// there.
void LockTarget(Oid relid, LOCKMODE mode) {
  bool exists = false;
  PgTry([&]() noexcept {
    LockRelationOid(relid, mode);
    exists = SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid));
    if (!exists) UnlockRelationOid(relid, mode);
  });
  if (!exists) {
    throw Error(ErrorCode::kUndefinedTable,
                fmt::format("relation with OID {} does not exist", relid),
                "The batch's target table has been dropped.",
                "Open a new batch for the table that replaced it.");
  }
}

void CheckKind(const std::string& display, const std::string& kind,
               const std::string& persistence, const std::string& schema,
               bool system) {
  if (kind == "p") {
    throw Error(ErrorCode::kFeatureNotSupported,
                fmt::format("partitioned table \"{}\" cannot take staged rows",
                            display),
                "Staged rows are merged with INSERT ... ON CONFLICT on the "
                "key, which a partitioned table supports only for keys that "
                "include its partition key.",
                "Stage rows for one of its partitions.");
  }
  if (kind != "r") {
    throw Error(ErrorCode::kWrongObjectType,
                fmt::format("\"{}\" is not a table", display),
                "Rows can only be staged for ordinary tables.",
                "Name the table the view or foreign table writes to.");
  }
  if (system) {
    throw Error(ErrorCode::kWrongObjectType,
                fmt::format("\"{}\" is a system catalog", display),
                "Rows can only be staged for user tables.",
                "Name one of your own tables.");
  }
  if (schema == "schema_guard") {
    throw Error(ErrorCode::kWrongObjectType,
                fmt::format("\"{}\" belongs to schema_guard", display),
                "schema_guard's own tables are written only by its functions.",
                "Name one of your own tables.");
  }
  if (persistence == "t") {
    throw Error(
        ErrorCode::kFeatureNotSupported,
        fmt::format("temporary table \"{}\" cannot take staged rows", display),
        "A batch outlives the session that opened it; a temporary "
        "table does not.",
        "Stage rows for a permanent table.");
  }
}

void ReadColumns(SpiSession& spi, Target* target) {
  QueryResult cols = spi.Query(
      "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), "
      "a.attnotnull, a.atthasdef OR a.attidentity <> '', "
      "a.attgenerated <> '', a.attidentity = 'a', a.atttypid, a.atttypmod, "
      "a.attcollation, a.attnum, CASE WHEN a.attidentity <> '' THEN "
      "'pg_catalog.nextval(' || pg_catalog.quote_literal("
      "pg_catalog.pg_get_serial_sequence($1::pg_catalog.regclass::text, "
      "a.attname)) || '::pg_catalog.regclass)' WHEN a.attgenerated = '' THEN "
      "pg_catalog.pg_get_expr(d.adbin, d.adrelid) END "
      "FROM pg_catalog.pg_attribute a LEFT JOIN pg_catalog.pg_attrdef d ON "
      "d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE a.attrelid = $1 "
      "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
      {OidArg(target->oid)});
  for (std::size_t r = 0; r < cols.rows(); ++r) {
    core::StageColumn c;
    TargetColumn t;
    c.name = cols.Text(r, 0);
    c.type = cols.Text(r, 1);
    c.not_null = cols.Bool(r, 2);
    c.has_default = cols.Bool(r, 3);
    c.generated = cols.Bool(r, 4);
    c.identity_always = cols.Bool(r, 5);
    t.type = static_cast<Oid>(std::stoul(cols.Text(r, 6)));
    t.typmod = static_cast<int32>(std::stol(cols.Text(r, 7)));
    t.collation = static_cast<Oid>(std::stoul(cols.Text(r, 8)));
    t.attnum = static_cast<AttrNumber>(std::stoi(cols.Text(r, 9)));
    c.default_sql = cols.Text(r, 10);
    Oid type = t.type;
    bool eq = false;
    bool lt = false;
    Oid base = type;
    PgTry([&]() noexcept {
      TypeCacheEntry* entry =
          lookup_type_cache(type, TYPECACHE_EQ_OPR | TYPECACHE_LT_OPR);
      eq = OidIsValid(entry->eq_opr);
      lt = OidIsValid(entry->lt_opr);
      base = getBaseType(type);
    });
    c.comparable = eq;
    c.orderable = lt;
    c.timestamp =
        base == TIMESTAMPTZOID || base == TIMESTAMPOID || base == DATEOID;
    c.is_json = base == JSONOID || base == JSONBOID;
    target->info.columns.push_back(std::move(c));
    target->columns.push_back(t);
  }
}

void ReadConstraints(SpiSession& spi, Target* target) {
  QueryResult checks = spi.Query(
      "SELECT c.conname, pg_catalog.pg_get_expr(c.conbin, c.conrelid), "
      "pg_catalog.array_to_json(ARRAY(SELECT a.attname FROM "
      "pg_catalog.pg_attribute a WHERE a.attrelid = c.conrelid AND a.attnum "
      "= ANY (c.conkey))) FROM pg_catalog.pg_constraint c "
      "WHERE c.conrelid = $1 AND c.contype = 'c' ORDER BY c.conname",
      {OidArg(target->oid)});
  for (std::size_t r = 0; r < checks.rows(); ++r) {
    target->info.checks.push_back(
        {checks.Text(r, 0), checks.Text(r, 1), JsonStrings(checks.Text(r, 2))});
  }
  QueryResult fks = spi.Query(
      "SELECT c.conname, c.confrelid = c.conrelid, "
      "pg_catalog.quote_ident(n.nspname) || '.' || "
      "pg_catalog.quote_ident(r.relname), r.relname, "
      "pg_catalog.array_to_json(ARRAY(SELECT a.attname FROM "
      "pg_catalog.unnest(c.conkey) WITH ORDINALITY k(n, i) JOIN "
      "pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = "
      "k.n ORDER BY k.i)), "
      "pg_catalog.array_to_json(ARRAY(SELECT a.attname FROM "
      "pg_catalog.unnest(c.confkey) WITH ORDINALITY k(n, i) JOIN "
      "pg_catalog.pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = "
      "k.n ORDER BY k.i)), "
      "pg_catalog.array_to_json(ARRAY(SELECT pg_catalog.format("
      "'OPERATOR(%I.%s)', on_.nspname, o.oprname) FROM "
      "pg_catalog.unnest(c.conpfeqop) WITH ORDINALITY p(op, i) JOIN "
      "pg_catalog.pg_operator o ON o.oid = p.op JOIN pg_catalog.pg_namespace "
      "on_ ON on_.oid = o.oprnamespace ORDER BY p.i)) "
      "FROM pg_catalog.pg_constraint c JOIN pg_catalog.pg_class r ON r.oid = "
      "c.confrelid JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace "
      "WHERE c.conrelid = $1 AND c.contype = 'f' ORDER BY c.conname",
      {OidArg(target->oid)});
  for (std::size_t r = 0; r < fks.rows(); ++r) {
    core::StageForeignKey fk;
    fk.name = fks.Text(r, 0);
    fk.self = fks.Bool(r, 1);
    fk.referenced = fks.Text(r, 2);
    fk.referenced_name = fks.Text(r, 3);
    fk.columns = JsonStrings(fks.Text(r, 4));
    fk.referenced_columns = JsonStrings(fks.Text(r, 5));
    fk.operators = JsonStrings(fks.Text(r, 6));
    target->info.foreign_keys.push_back(std::move(fk));
  }
}

}  // namespace

Target ReadTarget(SpiSession& spi, Oid relid, LOCKMODE lockmode) {
  LockTarget(relid, lockmode);
  Target target;
  target.oid = relid;
  QueryResult rel = spi.Query(
      "SELECT n.nspname, c.relname, c.relkind, c.relpersistence, c.reltype, "
      "n.nspname IN ('pg_catalog', 'information_schema', 'pg_toast') "
      "FROM pg_catalog.pg_class c "
      "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
      "WHERE c.oid = $1",
      {OidArg(relid)});
  std::string schema = rel.Text(0, 0);
  target.info.name = rel.Text(0, 1);
  target.info.display = schema + "." + target.info.name;
  target.info.quoted = Quote(schema) + "." + Quote(target.info.name);
  target.rowtype = static_cast<Oid>(std::stoul(rel.Text(0, 4)));
  bool system = rel.Bool(0, 5);
  PgTry([&]() noexcept { system = system || IsCatalogRelationOid(relid); });
  CheckKind(target.info.display, rel.Text(0, 2), rel.Text(0, 3), schema,
            system);
  ReadColumns(spi, &target);
  ReadConstraints(spi, &target);
  return target;
}

void CheckTargetForOpen(SpiSession& spi, const Target& target,
                        const std::vector<std::string>& key_columns) {
  // The merge needs a unique index on exactly the key columns.
  QueryResult unique = spi.Query(
      "SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = $1 AND "
      "i.indisunique AND i.indisvalid AND i.indpred IS NULL AND i.indexprs "
      "IS NULL AND i.indnkeyatts = pg_catalog.cardinality($2) AND "
      "(SELECT pg_catalog.array_agg(a.attname::text ORDER BY a.attname) FROM "
      "pg_catalog.pg_attribute a WHERE a.attrelid = $1 AND a.attnum = ANY "
      "((i.indkey::int2[])[0:i.indnkeyatts - 1])) = (SELECT "
      "pg_catalog.array_agg(k ORDER BY k) FROM pg_catalog.unnest($2) k)",
      {OidArg(target.oid), {TEXTARRAYOID, TextArrayDatum(key_columns), false}});
  if (unique.rows() == 0) {
    std::vector<std::string> quoted;
    quoted.reserve(key_columns.size());
    for (const auto& k : key_columns) quoted.push_back(Quote(k));
    std::string list = fmt::format("{}", fmt::join(quoted, ", "));
    throw Error(ErrorCode::kInvalidColumnReference,
                fmt::format("table \"{}\" has no unique index on ({})",
                            target.info.display, list),
                "Staged rows are merged with INSERT ... ON CONFLICT on the key "
                "columns, which needs a unique index or constraint on exactly "
                "them.",
                fmt::format("Add one: ALTER TABLE {} ADD UNIQUE ({});",
                            target.info.quoted, list));
  }
  QueryResult rights = spi.Query(
      "SELECT pg_catalog.has_table_privilege($1, 'SELECT') AND "
      "pg_catalog.has_table_privilege($1, 'INSERT') AND "
      "pg_catalog.has_table_privilege($1, 'UPDATE'), "
      "pg_catalog.quote_ident(CURRENT_USER)",
      {OidArg(target.oid)});
  if (!rights.Bool(0, 0)) {
    throw Error(ErrorCode::kInsufficientPrivilege,
                fmt::format("permission denied for table {}", target.info.name),
                "Applying a batch selects, inserts and updates rows of the "
                "target with your own privileges.",
                fmt::format("GRANT SELECT, INSERT, UPDATE ON {} TO {};",
                            target.info.quoted, rights.Text(0, 1)));
  }
}

KeyOrdering ReadKeyOrdering(SpiSession& spi, const Target& target,
                            const std::vector<std::string>& key_columns) {
  QueryResult index = spi.Query(
      "SELECT i.indexrelid FROM pg_catalog.pg_index i WHERE i.indrelid = $1 "
      "AND i.indisunique AND i.indisvalid AND i.indpred IS NULL AND "
      "i.indexprs IS NULL AND i.indnkeyatts = pg_catalog.cardinality($2) AND "
      "(SELECT pg_catalog.array_agg(a.attname::text ORDER BY a.attname) FROM "
      "pg_catalog.pg_attribute a WHERE a.attrelid = $1 AND a.attnum = ANY "
      "((i.indkey::int2[])[0:i.indnkeyatts - 1])) = (SELECT "
      "pg_catalog.array_agg(k ORDER BY k) FROM pg_catalog.unnest($2) k) "
      "ORDER BY i.indisprimary DESC, i.indexrelid LIMIT 1",
      {OidArg(target.oid), {TEXTARRAYOID, TextArrayDatum(key_columns), false}});
  if (index.rows() == 0) {
    throw Error(ErrorCode::kObjectNotInPrerequisiteState,
                fmt::format("table \"{}\" no longer has a unique index on the "
                            "batch's key",
                            target.info.display),
                "The batch's rows are merged with INSERT ... ON CONFLICT on "
                "the key columns, which needs a unique index on exactly them.",
                "Restore the unique index, or stage the rows into a new batch "
                "with another key.");
  }
  Oid indexrelid = static_cast<Oid>(std::stoul(index.Text(0, 0)));
  KeyOrdering out;
  for (const auto& k : key_columns) {
    const core::StageColumn* c = target.info.Find(k);
    AttrNumber attnum =
        target.columns[static_cast<std::size_t>(c - target.info.columns.data())]
            .attnum;
    Oid less = InvalidOid;
    Oid equal = InvalidOid;
    Oid collation = InvalidOid;
    PgTry([&]() noexcept {
      Relation rel = index_open(indexrelid, AccessShareLock);
      for (int i = 0; i < rel->rd_index->indnkeyatts; ++i) {
        if (rel->rd_index->indkey.values[i] != attnum) continue;
        Oid family = rel->rd_opfamily[i];
        Oid type = rel->rd_opcintype[i];
        less = get_opfamily_member(family, type, type, BTLessStrategyNumber);
        equal = get_opfamily_member(family, type, type, BTEqualStrategyNumber);
        collation = rel->rd_indcollation[i];
      }
      index_close(rel, AccessShareLock);
    });
    if (!OidIsValid(less) || !OidIsValid(equal)) {
      throw Error(ErrorCode::kFeatureNotSupported,
                  fmt::format("the unique index on the key of \"{}\" has no "
                              "ordering for column \"{}\"",
                              target.info.display, k),
                  "Staging orders the rows of a key to find duplicates.",
                  "Key the batch by columns with a btree unique index.");
    }
    out.less.push_back(less);
    out.equal.push_back(equal);
    out.collation.push_back(collation);
  }
  return out;
}

}  // namespace schema_guard::pg
