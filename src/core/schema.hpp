// The schema model: what a manifest describes and what the catalog reader
// produces. Types are canonical (see CanonicalType), so comparison is plain
// string equality.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/sparse_text.hpp"

namespace schema_guard::core {

// One entry of an access control list: what a role (a name as written, or
// PUBLIC) holds, as privilege keywords (SELECT, INSERT, ..., EXECUTE,
// USAGE, CREATE) in a fixed order, and which of those it may grant on.
struct Grant {
  std::string grantee;
  std::vector<std::string> privileges;
  std::vector<std::string> grantable;
};

// Owner, privileges and comment of an object. `grants` absent means the
// object type's default privileges (a NULL acl); the owner's own entry
// is left out while it holds everything.
struct Access {
  std::string owner;
  std::optional<std::vector<Grant>> grants;
  std::string comment;
};

struct Column {
  std::string name;
  std::string type;  // canonical
  bool not_null = false;
  std::optional<std::string> default_expr;  // absent: no default
  SparseText identity;                      // "", "always" or "by_default"
  SparseText generated;                     // generation expression, or ""
  SparseText collation;  // "" for the type's default collation
  bool serial = false;   // declared serial: integer with a sequence default
  SparseText comment;
  // Inherited from a parent (a partition's columns, an inheritance child's
  // inherited ones) and not declared by the table itself.
  bool inherited = false;
};

struct KeyConstraint {  // primary key or unique constraint
  std::string name;
  std::vector<std::string> columns;
  std::string comment;
};

struct CheckConstraint {
  std::string name;
  std::string expression;  // as pg_get_constraintdef prints it
  bool validated = true;
  std::string comment;
};

struct ExclusionConstraint {
  std::string name;
  std::string definition;  // "EXCLUDE USING gist (...)", as printed
  std::string comment;
};

struct ForeignKey {
  std::string name;
  std::vector<std::string> columns;
  std::string ref_schema;
  std::string ref_table;
  std::vector<std::string> ref_columns;
  std::string on_delete = "no action";
  std::string on_update = "no action";
  bool deferrable = false;
  bool initially_deferred = false;
  bool validated = true;
  std::string comment;
};

struct Index {
  std::string name;
  std::vector<std::string> keys;  // columns or expressions
  bool unique = false;
  std::string method = "btree";
  std::string predicate;  // "" when not partial
  std::vector<std::string> include;
  std::string comment;
};

struct Trigger {
  std::string name;
  std::string definition;          // pg_get_triggerdef
  std::string enabled = "origin";  // "origin", "disabled", "replica", "always"
  std::string comment;
};

struct Policy {
  std::string name;
  std::string command = "all";  // all, select, insert, update, delete
  bool permissive = true;
  std::vector<std::string> roles;  // sorted; {"public"} for everyone
  std::string using_expr;
  std::string check_expr;
};

struct OwnedSequence {
  std::string column;
  std::string name;
};

enum class TableKind { kTable, kPartitionedTable, kView, kMaterializedView };

std::string_view TableKindName(TableKind kind);

struct Table {
  std::string schema;
  std::string name;
  TableKind kind = TableKind::kTable;
  std::string app;
  std::vector<Column> columns;
  std::optional<KeyConstraint> primary_key;
  std::vector<KeyConstraint> uniques;
  std::vector<CheckConstraint> checks;
  std::vector<ForeignKey> foreign_keys;
  std::vector<Index>
      indexes;  // not those backing a primary key or unique constraint
  std::vector<OwnedSequence> sequences;
  std::string view_definition;  // views and materialized views
  std::string partition_bound;  // partitions: "FOR VALUES ..."
  std::string partition_of;     // partitions: the parent, "schema.table"
  std::string partition_key;    // partitioned tables: "RANGE (created_at)"
  std::vector<std::string> inherits;  // parents, "schema.table", in order
  bool unlogged = false;
  std::vector<ExclusionConstraint> exclusions;
  std::vector<Trigger> triggers;
  bool row_security = false;
  bool force_row_security = false;
  std::vector<Policy> policies;
  Access access;
  // Views: the relations the view reads ("schema.table"); the live schema
  // also knows the columns ("schema.table.column").
  std::vector<std::string> depends_on;
  std::vector<std::string> depends_on_columns;

  const Column* FindColumn(std::string_view column) const;
};

struct EnumType {
  std::string schema;
  std::string name;
  std::vector<std::string> labels;
  Access access;
};

// A composite type (CREATE TYPE ... AS) or a domain.
struct TypeAttribute {
  std::string name;
  std::string type;
  std::string collation;
};

struct UserType {
  std::string schema;
  std::string name;
  std::string kind = "composite";           // "composite" or "domain"
  std::vector<TypeAttribute> attributes;    // composite
  std::string base;                         // domain: the base type
  bool not_null = false;                    // domain
  std::optional<std::string> default_expr;  // domain
  std::string collation;                    // domain
  std::vector<CheckConstraint> checks;      // domain
  Access access;
};

struct Collation {
  std::string schema;
  std::string name;
  std::string provider;  // "libc", "icu"
  std::string locale;    // icu: the locale; libc: LC_COLLATE
  std::string ctype;     // libc: LC_CTYPE
  bool deterministic = true;
  std::string comment;
};

// A sequence that is not a serial column's (those are the table's
// "sequences"); owned_by is "schema.table.column" or "".
struct Sequence {
  std::string schema;
  std::string name;
  std::string type = "bigint";
  long long start = 1;
  long long increment = 1;
  long long min = 1;
  long long max = 9223372036854775807LL;
  long long cache = 1;
  bool cycle = false;
  std::string owned_by;
  Access access;
};

struct Function {
  std::string schema;
  std::string name;
  std::string kind = "function";  // "function" or "procedure"
  std::string identity;   // argument types: "integer, text" (what identifies)
  std::string arguments;  // with names, modes and defaults, as printed
  std::string result;     // functions: the result type, as printed
  std::string language;
  std::string volatility = "volatile";  // immutable, stable, volatile
  bool strict = false;
  bool security_definer = false;
  std::vector<std::string> config;  // "search_path=pg_catalog, pg_temp"
  std::string body_md5;             // md5 of the body (prosrc)
  std::string definition;           // CREATE OR REPLACE ... as printed
  std::string app;
  Access access;

  // "schema.name(identity)"
  std::string Signature() const;
};

struct Extension {
  std::string name;
  std::string schema;
  std::string version;
};

struct SchemaInfo {  // a schema (namespace) itself
  std::string name;
  Access access;
};

struct IgnorePattern {
  std::string
      pattern;  // LIKE syntax, matched against "schema.table" and "table"
  std::string reason;
};

// What a manifest covers beyond tables, columns, keys, indexes, foreign
// keys, checks, views, enums and serial sequences: the kinds it lists in
// "kinds". A kind it does not list is not compared ("not specified"), so
// a manifest written before a kind existed reads as it always did.
struct Kinds {
  bool schemas = false;  // every user schema is expected or extra
  bool extensions = false;
  bool types = false;  // composite types and domains
  bool collations = false;
  bool sequences = false;  // sequences that are not a serial column's
  bool functions = false;  // functions and procedures
  bool triggers = false;
  bool policies = false;    // row-level security and policies
  bool privileges = false;  // grants on tables, sequences, functions, schemas
  bool owners = false;
  bool comments = false;
  bool exclusions = false;   // exclusion constraints
  bool persistence = false;  // logged or unlogged

  static Kinds All();
  bool Any() const;
};

struct Schema {
  std::vector<Table> tables;
  std::vector<EnumType> enums;
  std::vector<UserType> types;
  std::vector<Collation> collations;
  std::vector<Sequence> sequences;
  std::vector<Function> functions;
  std::vector<Extension> extensions;
  // The schemas the manifest names (empty ones too); the live schema's
  // schemas when read from the catalog.
  std::vector<SchemaInfo> schema_infos;
  Kinds kinds;
  std::vector<IgnorePattern> ignore;
  // Many-to-many join tables, "schema.table" or "table".
  std::vector<std::string> join_tables;
  // Compare auto-generated constraint and index names too.
  bool names_matter = false;
  // The schemas that exist; filled by the catalog reader (schemas_known),
  // so that a missing schema is reported once.
  std::vector<std::string> schemas;
  bool schemas_known = false;
};

// The canonical spelling of a type: what format_type() prints.
// "varchar(128)" -> "character varying(128)", "int8" -> "bigint",
// "timestamptz" -> "timestamp with time zone", "serial" -> "integer".
std::string CanonicalType(std::string_view type);

// The text with runs of white space folded to one space and no leading
// space: how expressions PostgreSQL printed compare.
std::string FoldWhitespace(std::string_view text);

// True for serial, bigserial and smallserial spellings.
bool IsSerialType(std::string_view type);

// SQL LIKE matching (% and _, backslash escapes), case-sensitive.
bool LikeMatch(std::string_view text, std::string_view pattern);

// The Django app a table belongs to: the longest known app label that is a
// prefix followed by '_', else the text before the first '_', else "".
// The app a table's findings are grouped under: its app, else its schema.
std::string AppOf(const Table& table);

std::string DjangoApp(std::string_view table,
                      const std::vector<std::string>& known_apps);

// Django's many-to-many join tables: an "id" column and two foreign-key
// columns with a unique constraint on the pair. Returns "schema.table".
std::vector<std::string> DetectJoinTables(const Schema& schema);

}  // namespace schema_guard::core
