// What the catalog reader gathers around a relation: inheritance parents,
// triggers, policies, comments, and the ACL and role names of everything
// (catalog_raw.hpp). Runs inside PgTry; plain data only.
#include <algorithm>
#include <cstring>

#include "pg/catalog_raw.hpp"

extern "C" {
#include "postgres.h"

#include "access/htup_details.h"
#include "access/transam.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_description.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_policy.h"
#include "catalog/pg_trigger.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
}

namespace schema_guard::pg {

const char* RoleName(Oid role) {
  if (role == ACL_ID_PUBLIC) return "PUBLIC";
  char* name = GetUserNameFromId(role, true);
  return name != nullptr ? name : psprintf("%u", role);
}

const char* CollationName(Oid collation) {
  HeapTuple tuple = SearchSysCache1(COLLOID, ObjectIdGetDatum(collation));
  if (!HeapTupleIsValid(tuple)) return nullptr;
  auto* form = reinterpret_cast<Form_pg_collation>(GETSTRUCT(tuple));
  const char* name = pstrdup(NameStr(form->collname));
  Oid space = form->collnamespace;
  ReleaseSysCache(tuple);
  if (space == PG_CATALOG_NAMESPACE) return name;
  const char* schema = get_namespace_name(space);
  return schema == nullptr ? name : psprintf("%s.%s", schema, name);
}

RawAcl ReadAcl(Datum acl, bool is_null) {
  RawAcl out{true, nullptr, 0};
  if (is_null) return out;
  out.is_default = false;
  Acl* items = DatumGetAclP(acl);
  int count = ACL_NUM(items);
  const AclItem* item = ACL_DAT(items);
  out.grants = static_cast<RawGrant*>(palloc0(sizeof(RawGrant) * (count + 1)));
  Oid* grantees = static_cast<Oid*>(palloc0(sizeof(Oid) * (count + 1)));
  for (int i = 0; i < count; ++i) {
    // Entries of one grantee from several grantors are merged.
    int at = 0;
    while (at < out.count && grantees[at] != item[i].ai_grantee) ++at;
    if (at == out.count) {
      grantees[at] = item[i].ai_grantee;
      out.grants[at].grantee = RoleName(item[i].ai_grantee);
      ++out.count;
    }
    out.grants[at].privileges |= ACLITEM_GET_PRIVS(item[i]);
    out.grants[at].grantable |= ACLITEM_GET_GOPTIONS(item[i]);
  }
  return out;
}

const char* FindComment(const RawRelations* all, Oid classoid, Oid objoid,
                        int32 objsubid) {
  const RawComment* begin = all->comments;
  const RawComment* end = begin + all->comment_count;
  auto less = [](const RawComment& a, const RawComment& b) {
    if (a.classoid != b.classoid) return a.classoid < b.classoid;
    if (a.objoid != b.objoid) return a.objoid < b.objoid;
    return a.objsubid < b.objsubid;
  };
  RawComment key{classoid, objoid, objsubid, nullptr};
  const RawComment* it = std::lower_bound(begin, end, key, less);
  if (it == end || less(key, *it)) return nullptr;
  return it->text;
}

void ScanComments(Snapshot snapshot, RawRelations* rels) {
  int capacity = 0;
  rels->comments = nullptr;
  rels->comment_count = 0;
  ScanCatalog(
      DescriptionRelationId,
      [&](HeapTuple tuple, TupleDesc desc) {
        auto* d = reinterpret_cast<Form_pg_description>(GETSTRUCT(tuple));
        if (d->objoid < FirstNormalObjectId) return;  // the system's own
        bool is_null = false;
        Datum text = heap_getattr(tuple, Anum_pg_description_description, desc,
                                  &is_null);
        if (is_null) return;
        rels->comments = Grow(rels->comments, rels->comment_count, &capacity);
        rels->comments[rels->comment_count++] = {d->classoid, d->objoid,
                                                 d->objsubid, TextOf(text)};
      },
      snapshot);
  std::sort(rels->comments, rels->comments + rels->comment_count,
            [](const RawComment& a, const RawComment& b) {
              if (a.classoid != b.classoid) return a.classoid < b.classoid;
              if (a.objoid != b.objoid) return a.objoid < b.objoid;
              return a.objsubid < b.objsubid;
            });
}

void ScanInheritance(const ScanScope& scope, RawRelations* all) {
  RawRelation* rels = all->items;
  int count = all->count;
  struct Parent {
    Oid child;
    int32 seqno;
    Oid parent;
  };
  Parent* parents = nullptr;
  int parent_count = 0;
  int capacity = 0;
  ScanScoped(
      scope, InheritsRelationId, InheritsRelidSeqnoIndexId,
      Anum_pg_inherits_inhrelid, [&](HeapTuple tuple, TupleDesc) {
        auto* i = reinterpret_cast<Form_pg_inherits>(GETSTRUCT(tuple));
        RawRelation* r = FindRelation(rels, count, i->inhrelid);
        if (r == nullptr || r->is_partition) return;
        parents = Grow(parents, parent_count, &capacity);
        parents[parent_count++] = {i->inhrelid, i->inhseqno, i->inhparent};
      });
  std::sort(parents, parents + parent_count,
            [](const Parent& a, const Parent& b) {
              return a.child != b.child ? a.child < b.child : a.seqno < b.seqno;
            });
  for (int k = 0; k < parent_count; ++k) {
    RawRelation* r = FindRelation(rels, count, parents[k].child);
    r->parents = Grow(r->parents, r->parent_count, &r->parent_capacity);
    r->parents[r->parent_count++] = parents[k].parent;
  }
}

void ScanTriggers(const ScanScope& scope, RawRelations* all) {
  RawRelation* rels = all->items;
  int count = all->count;
  ScanScoped(scope, TriggerRelationId, TriggerRelidNameIndexId,
             Anum_pg_trigger_tgrelid, [&](HeapTuple tuple, TupleDesc) {
               auto* t = reinterpret_cast<Form_pg_trigger>(GETSTRUCT(tuple));
               // Internal triggers (foreign keys) and those a partition
               // has from its parent are not the relation's own.
               if (t->tgisinternal || t->tgparentid != InvalidOid) return;
               RawRelation* r = FindRelation(rels, count, t->tgrelid);
               if (r == nullptr) return;
               r->triggers =
                   Grow(r->triggers, r->trigger_count, &r->trigger_capacity);
               RawTrigger* out = &r->triggers[r->trigger_count++];
               memset(out, 0, sizeof(RawTrigger));
               out->oid = t->oid;
               out->name = pstrdup(NameStr(t->tgname));
               out->enabled = t->tgenabled;
             });
  for (int i = 0; i < count; ++i) {
    std::sort(rels[i].triggers, rels[i].triggers + rels[i].trigger_count,
              [](const RawTrigger& a, const RawTrigger& b) {
                return strcmp(a.name, b.name) < 0;
              });
  }
}

void ScanPolicies(const ScanScope& scope, RawRelations* all) {
  RawRelation* rels = all->items;
  int count = all->count;
  ScanScoped(
      scope, PolicyRelationId, PolicyPolrelidPolnameIndexId,
      Anum_pg_policy_polrelid, [&](HeapTuple tuple, TupleDesc desc) {
        auto* p = reinterpret_cast<Form_pg_policy>(GETSTRUCT(tuple));
        RawRelation* r = FindRelation(rels, count, p->polrelid);
        if (r == nullptr) return;
        r->policies = Grow(r->policies, r->policy_count, &r->policy_capacity);
        RawPolicy* out = &r->policies[r->policy_count++];
        memset(out, 0, sizeof(RawPolicy));
        out->oid = p->oid;
        out->name = pstrdup(NameStr(p->polname));
        out->command = p->polcmd;
        out->permissive = p->polpermissive;
        bool is_null = false;
        Datum roles =
            heap_getattr(tuple, Anum_pg_policy_polroles, desc, &is_null);
        if (!is_null) {
          ArrayType* a = DatumGetArrayTypeP(roles);
          int n = ARR_NDIM(a) == 0 ? 0 : ARR_DIMS(a)[0];
          const Oid* oids = reinterpret_cast<const Oid*>(ARR_DATA_PTR(a));
          out->roles =
              static_cast<const char**>(palloc0(sizeof(const char*) * (n + 1)));
          for (int k = 0; k < n; ++k) {
            out->roles[k] =
                oids[k] == ACL_ID_PUBLIC ? "public" : RoleName(oids[k]);
          }
          out->role_count = n;
        }
        Datum qual =
            heap_getattr(tuple, Anum_pg_policy_polqual, desc, &is_null);
        if (!is_null) out->using_node = TextOf(qual);
        Datum check =
            heap_getattr(tuple, Anum_pg_policy_polwithcheck, desc, &is_null);
        if (!is_null) out->check_node = TextOf(check);
      });
  for (int i = 0; i < count; ++i) {
    std::sort(rels[i].policies, rels[i].policies + rels[i].policy_count,
              [](const RawPolicy& a, const RawPolicy& b) {
                return strcmp(a.name, b.name) < 0;
              });
  }
}

bool PrintTriggersAndPolicies(RawRelation* r) {
  for (int k = 0; k < r->trigger_count; ++k) {
    RawTrigger* t = &r->triggers[k];
    t->definition =
        CallPrinter(pg_get_triggerdef, 1, ObjectIdGetDatum(t->oid), 0, 0);
    if (t->definition == nullptr) return false;
  }
  for (int k = 0; k < r->policy_count; ++k) {
    RawPolicy* p = &r->policies[k];
    if (p->using_node != nullptr) {
      p->using_expr = CallPrinter(
          pg_get_expr_ext, 3, PointerGetDatum(cstring_to_text(p->using_node)),
          ObjectIdGetDatum(r->oid), BoolGetDatum(true));
      if (p->using_expr == nullptr) return false;
    }
    if (p->check_node != nullptr) {
      p->check_expr = CallPrinter(
          pg_get_expr_ext, 3, PointerGetDatum(cstring_to_text(p->check_node)),
          ObjectIdGetDatum(r->oid), BoolGetDatum(true));
      if (p->check_expr == nullptr) return false;
    }
  }
  return true;
}

}  // namespace schema_guard::pg
