// The catalog reader's objects beside tables: schemas, extensions,
// collations, enums, composite types and domains, sequences, functions;
// and the owners, grants and comments every object carries.
#pragma once

#include <string>
#include <unordered_map>

#include "core/schema.hpp"
#include "pg/catalog_consistency.hpp"

namespace schema_guard::pg {

// Role names by OID, looked up once each.
class RoleNames {
 public:
  const std::string& Get(Oid role);

 private:
  std::unordered_map<Oid, std::string> names_;
};

// An object's owner, grants and comment; `what` is its kind as GRANT
// names it (TABLE, SEQUENCE, FUNCTION, SCHEMA, TYPE).
core::Access AccessOf(RoleNames& roles, std::string_view what, Oid owner,
                      const RawAcl& acl, const char* comment);

// What the object readers share: the read, its relations, the names of
// the namespaces read, role names, and the schema being filled.
struct ObjectContext {
  ConsistentRead& read;
  const RawRelations& raw;
  const std::unordered_map<Oid, std::string>& schema_names;
  RoleNames& roles;
  core::Schema* schema;

  bool InSchemas(Oid space) const { return schema_names.count(space) != 0; }
  const std::string& SchemaName(Oid space) const {
    return schema_names.at(space);
  }
  const char* Comment(Oid classoid, Oid objoid, int32 subid = 0) const {
    return FindComment(&raw, classoid, objoid, subid);
  }
};

// Reads every object kind but tables into the context's schema.
void ReadObjects(ObjectContext& context);

// Enums, composite types and domains (catalog_types.cpp).
void ReadEnums(ObjectContext& c);
void ReadTypes(ObjectContext& c);

}  // namespace schema_guard::pg
