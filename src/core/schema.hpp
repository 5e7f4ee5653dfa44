// The schema model: what a manifest describes and what the catalog reader
// produces. Types are canonical (see CanonicalType), so comparison is plain
// string equality.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace schema_guard::core {

struct Column {
  std::string name;
  std::string type;  // canonical
  bool not_null = false;
  std::optional<std::string> default_expr;  // absent: no default
  std::string identity;                     // "", "always" or "by_default"
  std::string generated;                    // generation expression, or ""
  std::string collation;  // "" for the type's default collation
  bool serial = false;    // declared serial: integer with a sequence default
};

struct KeyConstraint {  // primary key or unique constraint
  std::string name;
  std::vector<std::string> columns;
};

struct CheckConstraint {
  std::string name;
  std::string expression;  // as pg_get_constraintdef prints it
  bool validated = true;
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
};

struct Index {
  std::string name;
  std::vector<std::string> keys;  // columns or expressions
  bool unique = false;
  std::string method = "btree";
  std::string predicate;  // "" when not partial
  std::vector<std::string> include;
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

  const Column* FindColumn(std::string_view column) const;
};

struct EnumType {
  std::string schema;
  std::string name;
  std::vector<std::string> labels;
};

struct IgnorePattern {
  std::string
      pattern;  // LIKE syntax, matched against "schema.table" and "table"
  std::string reason;
};

struct Schema {
  std::vector<Table> tables;
  std::vector<EnumType> enums;
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
