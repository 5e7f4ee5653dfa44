// The diff engine's inside, shared by its files: diff.cpp (the run,
// tables and views), diff_columns.cpp, diff_constraints.cpp,
// diff_objects.cpp (schemas, extensions, collations, types, sequences,
// functions), diff_access.cpp (triggers, policies, owners, grants,
// comments) and diff_dependents.cpp (what a change drags along: dependent
// views and foreign keys dropped and made again around it).
#pragma once

#include <deque>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/ddl.hpp"
#include "core/diff.hpp"

namespace schema_guard::core {

bool StartsWith(std::string_view text, std::string_view prefix);
std::string Join(const std::vector<std::string>& items, std::string_view sep);
// A default that means "no default" is none; the rest is compared folded.
std::optional<std::string> NormalDefault(const std::optional<std::string>& d);
bool IsNextval(const std::optional<std::string>& d);
// "UNIQUE btree (a, lower(b)) INCLUDE (c) WHERE ...", for messages.
std::string IndexDescription(const Index& i);

class Differ {
 public:
  Differ(const Schema& expected, const Schema& actual,
         const DiffOptions& options);
  std::vector<Finding> Run();

 private:
  static std::string Key(const Table& t) { return t.schema + "." + t.name; }
  std::string Q(std::string_view name) const { return ddl_.Q(name); }
  std::string QT(const Table& t) const { return ddl_.QT(t); }
  std::string QT(std::string_view schema, std::string_view name) const {
    return ddl_.QT(schema, name);
  }
  const Table* ExpectedTable(const std::string& key) const;
  const Table* ActualTable(const std::string& key) const;

  // Findings and their steps. Findings are referred to by index: the
  // vector grows while they are made.
  std::size_t Add(Severity severity, std::string kind, std::string app,
                  std::string object, std::string message);
  std::size_t Add(Severity severity, std::string kind, const Table& t,
                  std::string object, std::string message);
  Finding& F(std::size_t index) { return findings_[index]; }
  void Step(std::size_t f, FixPhase phase, std::string sql, int rank = 0);
  void Note(std::size_t f, FixPhase phase, std::string note, int rank = 0);
  void Hazard(std::size_t f, std::initializer_list<std::string_view> names);
  void Destructive(std::size_t f) { findings_[f].destructive = true; }

  // Ranks: creation depth in the expected schema (parents and what a view
  // reads first), drop level in the live one (dependants first).
  void ComputeRanks();
  int CreateRank(const Table& t) const;
  int DropRank(const Table& t) const;

  // --- Tables and views (diff.cpp) ---
  void CompareTables();
  void CompareTable(const Table& e, const Table& a);
  void KindMismatch(const Table& e, const Table& a);
  void CompareView(const Table& e, const Table& a);
  void ComparePartitioning(const Table& e, const Table& a);
  void CompareInheritance(const Table& e, const Table& a);
  void ComparePersistence(const Table& e, const Table& a);
  void MissingTable(const Table& e, std::vector<const Table*>& orphans);
  void OrphanTable(const Table& o, const std::string& cause);
  std::string ExpectedOrphan(const std::string& schema,
                             const std::string& name) const;
  // Every step that makes `e` whole: the relation, its foreign keys and
  // indexes (as findings of their own, caused by `f`, when `rows`), and
  // its triggers, policies, owner, grants and comments; for a kind the
  // manifest does not cover, those of `live` (the relation being made
  // again), if any.
  void CreateRelationSteps(std::size_t f, const Table& e, const Table* live,
                           bool rows);
  // Drops `live` and makes `e` again in its place.
  void RecreateRelation(std::size_t f, const Table& e, const Table& live);

  // --- Columns (diff_columns.cpp) ---
  void CompareColumns(const Table& e, const Table& a);
  void CompareColumn(const Table& et, const Table& at, const Column& e,
                     const Column& a);
  void CompareType(const Table& et, const Column& e, const Column& a);
  void CompareNullability(const Table& et, const Table& at, const Column& e,
                          const Column& a);
  void CompareNumbering(const Table& et, const Table& at, const Column& e,
                        const Column& a);
  void DefaultMismatch(const Table& t, const Column& e, const Column& a);
  void CompareSerialSequences(const Table& e, const Table& a);
  bool IsUserType(const std::string& type) const;
  std::string Setval(const Table& t, const Column& c) const;
  std::string SameOwner(const std::string& sequence, const Table& live) const;

  // --- Constraints and indexes (diff_constraints.cpp) ---
  void CompareKeys(const Table& e, const Table& a);
  void CompareChecks(const Table& e, const Table& a);
  void CompareExclusions(const Table& e, const Table& a);
  void CompareForeignKeys(const Table& e, const Table& a);
  void CompareIndexes(const Table& e, const Table& a);
  void NotValidated(const Table& t, const std::string& name);
  void RenamedConstraint(const Table& t, const std::string& expected_name,
                         const std::string& actual_name);
  std::size_t MissingForeignKey(const Table& t, const ForeignKey& fk,
                                bool new_table);
  // ADD CONSTRAINT, online as NOT VALID then VALIDATE where PostgreSQL
  // allows it (not on a partitioned table, nor on a new, empty table).
  void AddConstraintSteps(std::size_t f, FixPhase phase, const Table& t,
                          const std::string& name, const std::string& clause,
                          bool new_table);
  void IndexSteps(std::size_t f, const Table& t, const Index& i,
                  bool new_table);
  bool Concurrently(const Table& t) const;

  // --- Schemas, extensions, collations, types, sequences, functions
  //     (diff_objects.cpp) ---
  void CompareSchemas();
  void CompareExtensions();
  void CompareCollations();
  void CompareEnums();
  void RecreateEnum(std::size_t f, const EnumType& e, const EnumType& a);
  void CompareTypes();
  void CompareSequences();
  void CompareFunctions();
  std::string ObjectApp(const std::string& schema,
                        const std::string& name) const;

  // --- Triggers, policies, owners, grants, comments (diff_access.cpp) ---
  void CompareTriggers(const Table& e, const Table& a);
  void ComparePolicies(const Table& e, const Table& a);
  void CompareRowSecurity(const Table& e, const Table& a);
  // Owner, grants and comment of one object; `what` is the keyword of
  // ALTER/GRANT/COMMENT (TABLE, VIEW, SEQUENCE, FUNCTION, SCHEMA, TYPE),
  // `name` its SQL name.
  void CompareAccess(const std::string& app, const std::string& object,
                     std::string_view what, std::string_view grant_what,
                     const std::string& name, const Access& e, const Access& a);
  void CompareComments(const Table& e, const Table& a);
  // The steps that give a new object its owner, grants and comment.
  void AccessSteps(std::size_t f, std::string_view what,
                   std::string_view grant_what, const std::string& name,
                   const Access& access, const Access* live);
  std::string_view GrantWord(const Table& t) const;

  // --- What changes drag along (diff_dependents.cpp) ---
  void AddDependents();
  // Marks a relation or column that a finding drops, makes again or
  // retypes; dependent views and foreign keys follow.
  void Disturb(std::size_t f, const std::string& relation,
               const std::string& column = "");

  const Schema& expected_;
  const Schema& actual_;
  const DiffOptions& options_;
  Ddl ddl_;
  std::vector<Finding> findings_;
  std::map<std::string, const Table*> expected_tables_;
  std::map<std::string, const Table*> actual_tables_;
  // The apps of the expected tables, each once (ObjectApp's candidates).
  std::vector<std::string> expected_apps_;
  std::map<std::string, int> create_rank_;
  std::map<std::string, int> drop_rank_;
  // Relations ("schema.table") and columns ("schema.table.column") that a
  // finding drops, makes again or retypes, and which finding.
  std::map<std::string, std::size_t> disturbed_relations_;
  std::map<std::string, std::size_t> disturbed_columns_;
  // Keys that a finding drops: "schema.table(col,col)".
  std::map<std::string, std::size_t> dropped_keys_;
  // Relations a finding of their own drops (orphans) or makes again.
  std::set<std::string> handled_relations_;
  // Views a view_mismatch replaces in place: the finding.
  std::map<std::string, std::size_t> replaced_views_;
  // Columns whose default the type change sets.
  std::set<std::string> defaults_handled_;
  // Orphans a possible_rename renames, under their expected names.
  std::deque<Table> renamed_;
};

}  // namespace schema_guard::core
