// The DDL text of the fixes: statements that create, alter and drop the
// objects of the schema model, with identifiers quoted by the boundary's
// quote function (PostgreSQL's quote_identifier).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/schema.hpp"

namespace schema_guard::core {

class Ddl {
 public:
  explicit Ddl(std::function<std::string(std::string_view)> quote)
      : quote_(std::move(quote)) {}

  std::string Q(std::string_view name) const { return quote_(name); }
  std::string QT(std::string_view schema, std::string_view name) const {
    return Q(schema) + "." + Q(name);
  }
  std::string QT(const Table& t) const { return QT(t.schema, t.name); }
  // "schema.name" (no quotes of its own) -> quoted; a bare name alone.
  std::string QDotted(std::string_view dotted) const;
  std::string QList(const std::vector<std::string>& names) const;
  static std::string Literal(std::string_view text);
  static std::string Escape(std::string_view text);

  // The relation keyword: TABLE, VIEW, MATERIALIZED VIEW.
  static std::string_view RelationWord(TableKind kind);

  std::string ColumnDefinition(const Table& t, const Column& c) const;
  // CREATE TABLE / VIEW / MATERIALIZED VIEW / TABLE ... PARTITION OF, with
  // the keys and CHECK and EXCLUDE constraints inline.
  std::string CreateRelation(const Table& t) const;
  std::string DropRelation(const Table& t) const;
  std::string ForeignKeyClause(const ForeignKey& f) const;
  std::string CreateIndex(const Table& t, const Index& i,
                          bool concurrently) const;
  std::string DropIndex(std::string_view schema, std::string_view name,
                        bool concurrently) const;
  std::string DropConstraint(const Table& t, std::string_view name) const;

  std::string CreateTrigger(const Trigger& trigger) const;
  std::string TriggerEnabled(const Table& t, const Trigger& trigger) const;
  std::string DropTrigger(const Table& t, std::string_view name) const;
  std::string CreatePolicy(const Table& t, const Policy& p) const;
  std::string DropPolicy(const Table& t, std::string_view name) const;
  std::string RowSecurity(const Table& t) const;

  // "ALTER <what> <name> OWNER TO role;"; what: TABLE, SEQUENCE, FUNCTION,
  // SCHEMA, TYPE ...
  std::string Owner(std::string_view what, std::string_view name,
                    std::string_view owner) const;
  // REVOKE ALL then GRANT what the expected ACL gives each grantee that
  // differs, for an object of `what` (TABLE, SEQUENCE, FUNCTION, SCHEMA,
  // TYPE); `owner` is the owner the object will have.
  std::string Grants(std::string_view what, std::string_view name,
                     const std::vector<Grant>& expected,
                     const std::vector<Grant>& actual) const;
  std::string Comment(std::string_view what, std::string_view name,
                      std::string_view comment) const;

  std::string CreateSequence(const Sequence& s) const;
  std::string CreateFunctionOrReplace(const Function& f) const;
  std::string DropFunction(const Function& f) const;
  std::string CreateEnum(const EnumType& e) const;
  std::string CreateType(const UserType& t) const;
  std::string CreateCollation(const Collation& c) const;

 private:
  std::function<std::string(std::string_view)> quote_;
};

// The privileges an object of this kind ("TABLE", "SEQUENCE", "FUNCTION",
// "SCHEMA", "TYPE") has by default (NULL acl), the owner's entry left out.
std::vector<Grant> DefaultGrants(std::string_view what);

// The grants as compared: the defaults for an absent list, sorted by
// grantee, without the owner's full entry and empty entries.
std::vector<Grant> EffectiveGrants(std::string_view what, const Access& access);

// Drops an explicit list of grants that amounts to the defaults (what
// GRANT then REVOKE leave behind), so that it reads as the default.
void NormalizeGrants(std::string_view what, Access* access);

// "grantee: SELECT, INSERT*; ..." (* grantable), for messages.
std::string GrantsText(const std::vector<Grant>& grants);

// Whether the live function can be replaced in place by the expected one
// (CREATE OR REPLACE keeps the result type and the kind).
bool Replaceable(const Function& expected, const Function& actual);

// The statement text without its trailing semicolons and white space.
std::string TrimStatement(std::string body);

}  // namespace schema_guard::core
