// The catalog reader's plain data: what the scans of the system catalogs
// gather (palloc'd in the read's scratch memory context), before the C++
// side turns it into a core::Schema. Only plain structs and functions that
// run inside PgTry live here: no C++ object that a PostgreSQL error could
// jump over.
#pragma once

#include "pg/catalog_scan.hpp"

extern "C" {
#include "postgres.h"

#include "utils/snapshot.h"
}

namespace schema_guard::pg {

struct RawColumn {
  int16 attnum;
  const char* name;
  Oid type_oid;
  int32 typmod;
  bool not_null;
  char identity;
  char generated;
  const char* default_node;  // pg_attrdef.adbin; nullptr: no default
  bool default_has_var;      // a generation expression, refers to columns
  const char* collation;     // nullptr: the type's own
  const char* comment;       // nullptr: none
  int printed_default;       // the C++ side's text of the default, or -1
  bool inherited;            // from a parent only, not declared locally
};

struct RawConstraint {
  Oid oid;
  const char* name;
  char type;
  bool validated;
  bool deferrable;
  bool deferred;
  const int16* keys;
  int key_count;
  Oid ref_relid;
  const int16* ref_keys;
  int ref_key_count;
  char on_delete;
  char on_update;
  const char* definition;  // CHECK and EXCLUDE: pg_get_constraintdef
  const char* comment;
  bool inherited;  // a CHECK a parent gave it, not declared locally
};

struct RawIndex {
  Oid oid;
  const char* name;
  const char* method;
  bool unique;
  const int16* attnums;  // 0 for an expression
  const char** keys;     // column names quoted, or expressions
  int key_count;
  const char** include;
  int include_count;
  const char* predicate_node;  // pg_index.indpred; nullptr: not partial
  const char* predicate;       // printed
  const char* comment;
};

struct RawSequence {
  int16 attnum;
  Oid oid;
  const char* name;
};

struct RawTrigger {
  Oid oid;
  const char* name;
  char enabled;            // pg_trigger.tgenabled
  const char* definition;  // pg_get_triggerdef
  const char* comment;
};

struct RawPolicy {
  Oid oid;
  const char* name;
  char command;  // '*', 'r', 'a', 'w', 'd'
  bool permissive;
  const char** roles;  // role names; "PUBLIC"
  int role_count;
  const char* using_node;
  const char* check_node;
  const char* using_expr;  // printed
  const char* check_expr;  // printed
};

// One grantee's entries of an ACL, merged: "PUBLIC" or a role name, and
// the privilege bits (ACL_SELECT ...) it holds and may grant on.
struct RawGrant {
  const char* grantee;
  uint32 privileges;
  uint32 grantable;
};

struct RawAcl {
  bool is_default;  // NULL acl: the object type's default privileges
  RawGrant* grants;
  int count;
};

struct RawRelation {
  Oid oid;
  Oid namespace_oid;
  char kind;
  char persistence;
  bool is_partition;
  bool row_security;
  bool force_row_security;
  Oid owner;
  Oid type_oid;  // pg_class.reltype (a composite type's pg_type row)
  const char* name;
  const char* partition_bound_node;  // pg_class.relpartbound
  RawColumn* columns;
  int column_count;
  RawConstraint* constraints;
  int constraint_count;
  RawIndex* indexes;
  int index_count;
  RawSequence* sequences;
  int sequence_count;
  RawTrigger* triggers;
  int trigger_count;
  RawPolicy* policies;
  int policy_count;
  RawAcl acl;
  const char* comment;
  // Printed, or read per relation once it is locked.
  const char* view_definition;
  const char* partition_bound;
  const char* partition_parent_schema;
  const char* partition_parent;
  const char* partition_key;
  // Views: the relations (attnum 0) and columns the view's rule reads.
  Oid* reads;
  int16* read_attnums;
  int read_count;
  Oid* parents;  // inheritance parents (not a partition's), in order
  int parent_count;
  int parent_capacity;
  // Scan state: array capacities, whether any column has a default, the
  // indexes that implement a primary key, unique or exclusion constraint.
  int column_capacity;
  int column_hint;  // pg_class.relnatts: the column array's first size
  int constraint_capacity;
  int index_capacity;
  int sequence_capacity;
  int trigger_capacity;
  int policy_capacity;
  int read_capacity;
  bool has_defaults;
  Oid* backing;
  int backing_count;
  int backing_capacity;
  // Dropped (or moved out of the schemas read) while it was being read:
  // simply not there.
  bool gone;
  // A sequence behind an identity column (part of its column).
  bool identity_sequence;
};

// Indexes and sequences of the namespaces read, by OID: their names come
// from the same scan of pg_class as the relations'.
struct RawName {
  Oid oid;
  char kind;
  Oid am;
  const char* name;
  bool is_partition;  // an index attached to a partitioned table's index
};

// An object that belongs to an extension (pg_depend 'e').
struct RawMember {
  Oid classid;
  Oid objid;
};

// A comment (pg_description), sorted by (classoid, objoid, objsubid).
struct RawComment {
  Oid classoid;
  Oid objoid;
  int32 objsubid;
  const char* text;
};

// Relations sorted by OID, the names of their indexes and sequences, and
// the comments of everything read.
struct RawRelations {
  RawRelation* items = nullptr;
  int count = 0;
  RawName* names = nullptr;
  int name_count = 0;
  RawComment* comments = nullptr;
  int comment_count = 0;
  RawMember* members = nullptr;  // sorted
  int member_count = 0;
};

// The comment of an object, or nullptr.
const char* FindComment(const RawRelations* all, Oid classoid, Oid objoid,
                        int32 objsubid);

// An acl (aclitem[] Datum) as grants, role names resolved; `is_null`
// gives the default.
RawAcl ReadAcl(Datum acl, bool is_null);

// A role's name, "PUBLIC" for 0; the OID as text for a dropped role.
const char* RoleName(Oid role);

// A collation as the manifest names it: bare in pg_catalog, else
// "schema.name"; nullptr when gone.
const char* CollationName(Oid collation);

// The relation with this OID, or nullptr (binary search).
RawRelation* FindRelation(RawRelation* sorted, int count, Oid oid);
const RawColumn* ColumnByNumber(const RawRelation* r, int16 attnum);

// The text of a text Datum, palloc'd.
const char* TextOf(Datum value);

// Calls a deparser (pg_get_expr, pg_get_indexdef_ext, ...) with up to three
// arguments; nullptr when it returns NULL (the object is gone).
const char* CallPrinter(PGFunction printer, int nargs, Datum a, Datum b,
                        Datum c);

// --- Scans (PostgreSQL side; call inside PgTry) --------------------------

// The objects that belong to an extension.
void ReadExtensionMembers(Snapshot snapshot, RawRelations* out);
bool IsExtensionMember(const RawRelations* all, Oid classid, Oid objid);

// Tables, partitioned tables, views, materialized views, sequences and
// composite types of the namespaces (sorted), extension members left out
// (read them first).
void ReadRelations(Snapshot snapshot, const Oid* namespaces,
                   std::size_t namespace_count, RawRelations* out);

// A relation's pg_class row read again (current catalog snapshot): false
// when it is gone or is no longer of a kind and namespace that is read.
bool RereadRelationRow(RawRelation* r, const Oid* namespaces,
                       std::size_t namespace_count);

// The per-relation catalogs, for every relation of `rels` (sorted by OID)
// or, with scope.relid set, for that one relation.
// Every per-relation scan (columns, defaults, constraints, indexes,
// dependencies, inheritance, triggers, policies), for all of `rels` or for
// the one relation of the scope (then `rels` holds that one).
void ScanRelationDetails(const ScanScope& scope, RawRelations* rels);

// Inheritance parents, triggers, policies (catalog_extras.cpp).
void ScanInheritance(const ScanScope& scope, RawRelations* rels);
void ScanTriggers(const ScanScope& scope, RawRelations* rels);
void ScanPolicies(const ScanScope& scope, RawRelations* rels);
// Every comment on an object of the kinds read, under the snapshot.
void ScanComments(Snapshot snapshot, RawRelations* rels);

// Forgets what the per-relation scans gathered for one relation, before
// it is read again.
void ClearRelationDetails(RawRelation* r);

// What is printed by PostgreSQL's deparsers, for one relation that is
// locked: CHECK and EXCLUDE definitions, index expressions and
// predicates, partition key, bound and parent. Returns false when a
// printer found an object gone (the relation changed: read it again).
bool PrintRelationDetails(RawRelation* r);

// Triggers and policies (catalog_extras.cpp), for PrintRelationDetails.
bool PrintTriggersAndPolicies(RawRelation* r);

// A view's definition (pg_get_viewdef), or nullptr when it is gone.
const char* PrintViewDefinition(Oid view);

}  // namespace schema_guard::pg
