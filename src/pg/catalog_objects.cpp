#include "pg/catalog_objects.hpp"

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "core/ddl.hpp"
#include "core/schema.hpp"
#include "pg/bridge.hpp"
#include "pg/catalog_raw.hpp"
#include "pg/type_names.hpp"

extern "C" {
#include "postgres.h"

#include "access/htup_details.h"
#include "access/transam.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_sequence.h"
#include "catalog/pg_type.h"
#include "common/md5.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
}

namespace schema_guard::pg {

const std::string& RoleNames::Get(Oid role) {
  auto it = names_.find(role);
  if (it != names_.end()) return it->second;
  const char* name = nullptr;
  PgTry([&]() noexcept { name = RoleName(role); });
  return names_.emplace(role, std::string(name)).first->second;
}

core::Access AccessOf(RoleNames& roles, std::string_view what, Oid owner,
                      const RawAcl& acl, const char* comment) {
  // In the manifest's fixed order.
  static const std::pair<uint32, const char*> kBits[] = {
      {ACL_SELECT, "SELECT"},     {ACL_INSERT, "INSERT"},
      {ACL_UPDATE, "UPDATE"},     {ACL_DELETE, "DELETE"},
      {ACL_TRUNCATE, "TRUNCATE"}, {ACL_REFERENCES, "REFERENCES"},
      {ACL_TRIGGER, "TRIGGER"},   {ACL_EXECUTE, "EXECUTE"},
      {ACL_USAGE, "USAGE"},       {ACL_CREATE, "CREATE"},
  };
  core::Access access;
  access.owner = roles.Get(owner);
  if (comment != nullptr) access.comment = comment;
  if (acl.is_default) return access;
  access.grants.emplace();
  for (int i = 0; i < acl.count; ++i) {
    core::Grant g;
    g.grantee = acl.grants[i].grantee;
    for (const auto& [bit, word] : kBits) {
      if ((acl.grants[i].privileges & bit) != 0)
        g.privileges.emplace_back(word);
      if ((acl.grants[i].grantable & bit) != 0) g.grantable.emplace_back(word);
    }
    access.grants->push_back(std::move(g));
  }
  std::sort(access.grants->begin(), access.grants->end(),
            [](const core::Grant& a, const core::Grant& b) {
              return a.grantee < b.grantee;
            });
  core::NormalizeGrants(what, &access);
  return access;
}

namespace {

using Context = ObjectContext;

void ReadSchemaInfos(Context& c) {
  for (const auto& entry : c.schema_names) {
    Oid space = entry.first;
    const std::string& name = entry.second;
    Oid owner = InvalidOid;
    RawAcl acl{true, nullptr, 0};
    bool found = false;
    PgTry([&]() noexcept {
      HeapTuple tuple = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(space));
      if (!HeapTupleIsValid(tuple)) return;
      found = true;
      owner = reinterpret_cast<Form_pg_namespace>(GETSTRUCT(tuple))->nspowner;
      bool is_null = false;
      Datum value = SysCacheGetAttr(NAMESPACEOID, tuple,
                                    Anum_pg_namespace_nspacl, &is_null);
      acl = ReadAcl(value, is_null);
      ReleaseSysCache(tuple);
    });
    if (!found) continue;
    c.schema->schema_infos.push_back(
        {name, AccessOf(c.roles, "SCHEMA", owner, acl,
                        c.Comment(NamespaceRelationId, space))});
  }
  std::sort(c.schema->schema_infos.begin(), c.schema->schema_infos.end(),
            [](const core::SchemaInfo& a, const core::SchemaInfo& b) {
              return a.name < b.name;
            });
}

void ReadExtensions(Context& c) {
  struct RawExtension {
    const char* name;
    Oid space;
    const char* version;
  };
  RawExtension* items = nullptr;
  int count = 0;
  Snapshot snapshot = c.read.snapshot();
  PgTry([&]() noexcept {
    MemoryContext caller = MemoryContextSwitchTo(c.read.scratch());
    int capacity = 0;
    ScanCatalog(
        ExtensionRelationId,
        [&](HeapTuple tuple, TupleDesc desc) {
          auto* x = reinterpret_cast<Form_pg_extension>(GETSTRUCT(tuple));
          bool is_null = false;
          Datum version =
              heap_getattr(tuple, Anum_pg_extension_extversion, desc, &is_null);
          items = Grow(items, count, &capacity);
          items[count++] = {pstrdup(NameStr(x->extname)), x->extnamespace,
                            is_null ? "" : TextOf(version)};
        },
        snapshot);
    MemoryContextSwitchTo(caller);
  });
  for (int i = 0; i < count; ++i) {
    if (!c.InSchemas(items[i].space)) continue;
    c.schema->extensions.push_back(
        {items[i].name, c.SchemaName(items[i].space), items[i].version});
  }
  std::sort(c.schema->extensions.begin(), c.schema->extensions.end(),
            [](const core::Extension& a, const core::Extension& b) {
              return a.name < b.name;
            });
}

void ReadCollations(Context& c) {
  struct RawCollation {
    Oid oid;
    Oid space;
    const char* name;
    char provider;
    const char* locale;
    const char* ctype;
    bool deterministic;
  };
  RawCollation* items = nullptr;
  int count = 0;
  Snapshot snapshot = c.read.snapshot();
  PgTry([&]() noexcept {
    MemoryContext caller = MemoryContextSwitchTo(c.read.scratch());
    int capacity = 0;
    ScanCatalog(
        CollationRelationId,
        [&](HeapTuple tuple, TupleDesc desc) {
          auto* form = reinterpret_cast<Form_pg_collation>(GETSTRUCT(tuple));
          if (form->oid < FirstNormalObjectId) return;
          bool is_null = false;
          items = Grow(items, count, &capacity);
          RawCollation* out = &items[count++];
          *out = {form->oid,
                  form->collnamespace,
                  pstrdup(NameStr(form->collname)),
                  form->collprovider,
                  "",
                  "",
                  form->collisdeterministic};
          Datum value = heap_getattr(tuple,
                                     form->collprovider == COLLPROVIDER_ICU
                                         ? Anum_pg_collation_colliculocale
                                         : Anum_pg_collation_collcollate,
                                     desc, &is_null);
          if (!is_null) out->locale = TextOf(value);
          value =
              heap_getattr(tuple, Anum_pg_collation_collctype, desc, &is_null);
          if (!is_null && form->collprovider != COLLPROVIDER_ICU)
            out->ctype = TextOf(value);
        },
        snapshot);
    MemoryContextSwitchTo(caller);
  });
  for (int i = 0; i < count; ++i) {
    const RawCollation& r = items[i];
    if (!c.InSchemas(r.space) ||
        IsExtensionMember(&c.raw, CollationRelationId, r.oid)) {
      continue;
    }
    core::Collation out;
    out.schema = c.SchemaName(r.space);
    out.name = r.name;
    out.provider = r.provider == COLLPROVIDER_ICU ? "icu" : "libc";
    out.locale = r.locale;
    out.ctype = r.ctype;
    out.deterministic = r.deterministic;
    if (const char* comment = c.Comment(CollationRelationId, r.oid))
      out.comment = comment;
    c.schema->collations.push_back(std::move(out));
  }
}

// Sequences that are not a serial column's (those belong to their table).
void ReadSequences(Context& c) {
  struct Params {
    Oid relid;
    Oid type;
    int64 start, increment, max, min, cache;
    bool cycle;
  };
  Params* params = nullptr;
  int count = 0;
  Snapshot snapshot = c.read.snapshot();
  PgTry([&]() noexcept {
    MemoryContext caller = MemoryContextSwitchTo(c.read.scratch());
    int capacity = 0;
    ScanCatalog(
        SequenceRelationId,
        [&](HeapTuple tuple, TupleDesc) {
          auto* q = reinterpret_cast<Form_pg_sequence>(GETSTRUCT(tuple));
          params = Grow(params, count, &capacity);
          params[count++] = {q->seqrelid,     q->seqtypid, q->seqstart,
                             q->seqincrement, q->seqmax,   q->seqmin,
                             q->seqcache,     q->seqcycle};
        },
        snapshot);
    std::sort(params, params + count, [](const Params& a, const Params& b) {
      return a.relid < b.relid;
    });
    MemoryContextSwitchTo(caller);
  });
  // Owning columns, and the serial ones among them.
  std::unordered_map<Oid, std::string> owned_by;
  std::unordered_map<Oid, bool> serial;
  std::unordered_map<std::string, const core::Table*> tables;
  for (const auto& t : c.schema->tables)
    tables.emplace(t.schema + "." + t.name, &t);
  for (int i = 0; i < c.raw.count; ++i) {
    const RawRelation& r = c.raw.items[i];
    if (r.gone || r.kind == RELKIND_SEQUENCE ||
        r.kind == RELKIND_COMPOSITE_TYPE)
      continue;
    auto table = tables.find(c.SchemaName(r.namespace_oid) + "." + r.name);
    for (int k = 0; k < r.sequence_count; ++k) {
      const RawColumn* column = ColumnByNumber(&r, r.sequences[k].attnum);
      if (column == nullptr || table == tables.end()) continue;
      owned_by[r.sequences[k].oid] = table->first + "." + column->name;
      const core::Column* col = table->second->FindColumn(column->name);
      serial[r.sequences[k].oid] = col != nullptr && col->default_expr &&
                                   col->default_expr->find("nextval(") == 0;
    }
  }
  TypeNames types;
  for (int i = 0; i < c.raw.count; ++i) {
    const RawRelation& r = c.raw.items[i];
    if (r.gone || r.kind != RELKIND_SEQUENCE || r.identity_sequence ||
        serial[r.oid]) {
      continue;
    }
    const Params* p = std::lower_bound(
        params, params + count, r.oid,
        [](const Params& a, Oid relid) { return a.relid < relid; });
    if (p == params + count || p->relid != r.oid) continue;
    core::Sequence out;
    out.schema = c.SchemaName(r.namespace_oid);
    out.name = r.name;
    out.type = types.Get(p->type, -1);
    out.start = p->start;
    out.increment = p->increment;
    out.min = p->min;
    out.max = p->max;
    out.cache = p->cache;
    out.cycle = p->cycle;
    auto owner = owned_by.find(r.oid);
    if (owner != owned_by.end()) out.owned_by = owner->second;
    out.access = AccessOf(c.roles, "SEQUENCE", r.owner, r.acl,
                          c.Comment(RelationRelationId, r.oid));
    c.schema->sequences.push_back(std::move(out));
  }
  std::sort(c.schema->sequences.begin(), c.schema->sequences.end(),
            [](const core::Sequence& a, const core::Sequence& b) {
              return a.schema != b.schema ? a.schema < b.schema
                                          : a.name < b.name;
            });
}

// One function, read and printed under its lock (a DROP FUNCTION waits
// for it); nothing when it is gone.
struct RawFunction {
  bool found;
  Oid space;
  Oid owner;
  char kind;
  char volatility;
  bool strict;
  bool security_definer;
  const char* name;
  const char* language;
  const char* identity;
  const char* arguments;
  const char* result;
  const char* definition;
  char md5[33];
  const char** config;
  int config_count;
  RawAcl acl;
};

void ReadFunction(Oid oid, RawFunction* f) {
  memset(f, 0, sizeof(RawFunction));
  LockDatabaseObject(ProcedureRelationId, oid, 0, AccessShareLock);
  HeapTuple tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(oid));
  if (HeapTupleIsValid(tuple)) {
    auto* p = reinterpret_cast<Form_pg_proc>(GETSTRUCT(tuple));
    f->found = true;
    f->space = p->pronamespace;
    f->owner = p->proowner;
    f->kind = p->prokind;
    f->volatility = p->provolatile;
    f->strict = p->proisstrict;
    f->security_definer = p->prosecdef;
    f->name = pstrdup(NameStr(p->proname));
    f->language = get_language_name(p->prolang, true);
    f->identity = TextOf(
        DirectFunctionCall1(oidvectortypes, PointerGetDatum(&p->proargtypes)));
    bool is_null = false;
    Datum value =
        SysCacheGetAttr(PROCOID, tuple, Anum_pg_proc_proconfig, &is_null);
    if (!is_null) {
      Datum* items = nullptr;
      int n = 0;
      deconstruct_array(DatumGetArrayTypeP(value), TEXTOID, -1, false,
                        TYPALIGN_INT, &items, nullptr, &n);
      f->config = static_cast<const char**>(palloc0(sizeof(char*) * (n + 1)));
      for (int k = 0; k < n; ++k) f->config[k] = TextOf(items[k]);
      f->config_count = n;
    }
    value = SysCacheGetAttr(PROCOID, tuple, Anum_pg_proc_proacl, &is_null);
    f->acl = ReadAcl(value, is_null);
    ReleaseSysCache(tuple);
    f->arguments =
        CallPrinter(pg_get_function_arguments, 1, ObjectIdGetDatum(oid), 0, 0);
    if (f->kind != PROKIND_PROCEDURE)
      f->result =
          CallPrinter(pg_get_function_result, 1, ObjectIdGetDatum(oid), 0, 0);
    f->definition =
        CallPrinter(pg_get_functiondef, 1, ObjectIdGetDatum(oid), 0, 0);
    // The body as stored (an SQL-standard body has no prosrc text: then
    // the whole definition).
    HeapTuple again = SearchSysCache1(PROCOID, ObjectIdGetDatum(oid));
    const char* body = f->definition;
    if (HeapTupleIsValid(again)) {
      value = SysCacheGetAttr(PROCOID, again, Anum_pg_proc_prosrc, &is_null);
      if (!is_null) {
        const char* src = TextOf(value);
        if (src[0] != '\0') body = src;
      }
      ReleaseSysCache(again);
    }
    const char* error = nullptr;
    if (body == nullptr || !pg_md5_hash(body, strlen(body), f->md5, &error))
      f->md5[0] = '\0';
  }
  UnlockDatabaseObject(ProcedureRelationId, oid, 0, AccessShareLock);
}

void ReadFunctions(Context& c) {
  Oid* oids = nullptr;
  int count = 0;
  Snapshot snapshot = c.read.snapshot();
  const RawRelations* raw = &c.raw;
  auto in_schemas = [&](Oid space) { return c.InSchemas(space); };
  std::vector<Oid> spaces;
  for (const auto& [space, _] : c.schema_names) spaces.push_back(space);
  std::sort(spaces.begin(), spaces.end());
  const Oid* space_list = spaces.data();
  std::size_t space_count = spaces.size();
  (void)in_schemas;
  PgTry([&]() noexcept {
    MemoryContext caller = MemoryContextSwitchTo(c.read.scratch());
    int capacity = 0;
    ScanCatalog(
        ProcedureRelationId,
        [&](HeapTuple tuple, TupleDesc) {
          auto* p = reinterpret_cast<Form_pg_proc>(GETSTRUCT(tuple));
          if ((p->prokind != PROKIND_FUNCTION &&
               p->prokind != PROKIND_PROCEDURE) ||
              !std::binary_search(space_list, space_list + space_count,
                                  p->pronamespace) ||
              IsExtensionMember(raw, ProcedureRelationId, p->oid)) {
            return;
          }
          oids = Grow(oids, count, &capacity);
          oids[count++] = p->oid;
        },
        snapshot);
    MemoryContextSwitchTo(caller);
  });
  std::vector<std::string> apps;
  for (const auto& t : c.schema->tables) apps.push_back(t.app);
  for (int i = 0; i < count; ++i) {
    RawFunction f;
    Oid oid = oids[i];
    PgTry([&]() noexcept {
      MemoryContext caller = MemoryContextSwitchTo(c.read.scratch());
      ReadFunction(oid, &f);
      MemoryContextSwitchTo(caller);
    });
    if (!f.found || f.definition == nullptr || !c.InSchemas(f.space)) continue;
    core::Function out;
    out.schema = c.SchemaName(f.space);
    out.name = f.name;
    out.kind = f.kind == PROKIND_PROCEDURE ? "procedure" : "function";
    out.identity = f.identity;
    out.arguments = f.arguments != nullptr ? f.arguments : "";
    out.result = f.result != nullptr ? f.result : "";
    out.language = f.language != nullptr ? f.language : "";
    out.volatility = f.volatility == PROVOLATILE_IMMUTABLE ? "immutable"
                     : f.volatility == PROVOLATILE_STABLE  ? "stable"
                                                           : "volatile";
    out.strict = f.strict;
    out.security_definer = f.security_definer;
    for (int k = 0; k < f.config_count; ++k)
      out.config.emplace_back(f.config[k]);
    out.body_md5 = f.md5;
    out.definition = f.definition;
    out.access = AccessOf(c.roles, "FUNCTION", f.owner, f.acl,
                          c.Comment(ProcedureRelationId, oid));
    c.schema->functions.push_back(std::move(out));
  }
  std::sort(c.schema->functions.begin(), c.schema->functions.end(),
            [](const core::Function& a, const core::Function& b) {
              return a.Signature() < b.Signature();
            });
}

}  // namespace

void ReadObjects(ObjectContext& context) {
  ReadSchemaInfos(context);
  ReadExtensions(context);
  ReadCollations(context);
  ReadEnums(context);
  ReadTypes(context);
  ReadSequences(context);
  ReadFunctions(context);
}

}  // namespace schema_guard::pg
