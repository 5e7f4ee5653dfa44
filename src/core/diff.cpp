#include "core/diff.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace schema_guard::core {

std::string_view SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kError:
      return "error";
    case Severity::kWarning:
      return "warning";
    case Severity::kInfo:
      return "info";
  }
  return "error";
}

namespace {

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         text.compare(0, prefix.size(), prefix) == 0;
}

// A literal followed by a cast to the column's type ('draft'::character
// varying) compares equal to the bare literal.
std::string StripLiteralCast(std::string s) {
  if (s.empty() || s[0] != '\'') return s;
  std::size_t end = 1;
  while (end < s.size()) {
    if (s[end] == '\'') {
      if (end + 1 < s.size() && s[end + 1] == '\'') {
        end += 2;
        continue;
      }
      break;
    }
    ++end;
  }
  if (end < s.size() && s.compare(end + 1, 2, "::") == 0) s.resize(end + 1);
  return s;
}

// A default that means "no default" is none; the rest is compared folded.
std::optional<std::string> NormalDefault(const std::optional<std::string>& d) {
  if (!d) return std::nullopt;
  std::string s = FoldWhitespace(*d);
  if (s.empty() || s == "NULL" || s == "null" || StartsWith(s, "NULL::"))
    return std::nullopt;
  return StripLiteralCast(s);
}

bool IsNextval(const std::optional<std::string>& d) {
  return d && StartsWith(*d, "nextval(");
}

std::string Join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    out += items[i];
  }
  return out;
}

std::string Upper(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string TrimStatement(std::string body) {
  while (!body.empty() &&
         (body.back() == ';' ||
          std::isspace(static_cast<unsigned char>(body.back())))) {
    body.pop_back();
  }
  return body;
}

std::vector<std::string> Hazards(
    std::initializer_list<std::string_view> names) {
  std::vector<std::string> out;
  for (auto n : names) out.emplace_back(n);
  return out;
}

class Differ {
 public:
  Differ(const Schema& expected, const Schema& actual,
         const DiffOptions& options)
      : expected_(expected), actual_(actual), options_(options) {}

  std::vector<Finding> Run() {
    std::unordered_map<std::string, const Table*> actual_by_name;
    for (const auto& t : actual_.tables) actual_by_name.emplace(Key(t), &t);
    std::unordered_set<std::string> matched;
    std::vector<const Table*> missing;
    for (const auto& e : expected_.tables) {
      auto it = actual_by_name.find(Key(e));
      if (it == actual_by_name.end()) {
        missing.push_back(&e);
        continue;
      }
      matched.insert(Key(e));
      CompareTable(e, *it->second);
    }
    std::vector<const Table*> orphans;
    for (const auto& a : actual_.tables) {
      if (matched.count(Key(a)) == 0) orphans.push_back(&a);
    }
    MissingSchemas();
    for (const Table* m : missing) MissingTable(*m, orphans);
    for (const Table* o : orphans) OrphanTable(*o);
    CompareEnums();
    return std::move(findings_);
  }

 private:
  static std::string Key(const Table& t) { return t.schema + "." + t.name; }
  std::string Q(std::string_view name) const { return options_.quote(name); }
  std::string QT(const Table& t) const { return Q(t.schema) + "." + Q(t.name); }
  std::string QT(std::string_view schema, std::string_view name) const {
    return Q(schema) + "." + Q(name);
  }
  // "schema.table" -> quoted; the text has no quotes of its own.
  std::string QDotted(const std::string& dotted) const {
    std::size_t dot = dotted.find('.');
    if (dot == std::string::npos) return Q(dotted);
    return QT(dotted.substr(0, dot), dotted.substr(dot + 1));
  }
  std::string QList(const std::vector<std::string>& names) const {
    std::vector<std::string> quoted;
    quoted.reserve(names.size());
    for (const auto& n : names) quoted.push_back(Q(n));
    return Join(quoted, ", ");
  }

  Finding& Add(Severity severity, std::string kind, const std::string& app,
               std::string object, std::string message) {
    Finding f;
    f.severity = severity;
    f.kind = std::move(kind);
    f.app = app;
    f.object = std::move(object);
    f.message = std::move(message);
    findings_.push_back(std::move(f));
    return findings_.back();
  }
  Finding& Add(Severity severity, std::string kind, const Table& t,
               std::string object, std::string message) {
    return Add(severity, std::move(kind), AppOf(t), std::move(object),
               std::move(message));
  }

  static void SetFix(Finding& f, std::string fix, FixPhase phase,
                     std::vector<std::string> hazards,
                     bool destructive = false) {
    f.fix = std::move(fix);
    f.phase = phase;
    f.hazards = std::move(hazards);
    f.destructive = destructive;
  }

  // --- Shapes and DDL -------------------------------------------------

  // The column is numbered by a sequence it owns (serial).
  static bool SerialLike(const Table& t, const Column& c) {
    if (c.serial) return true;
    if (!c.identity.empty() || !IsNextval(c.default_expr)) return false;
    return std::any_of(
        t.sequences.begin(), t.sequences.end(),
        [&](const OwnedSequence& s) { return s.column == c.name; });
  }

  static std::string SerialType(const std::string& type) {
    if (type == "bigint") return "bigserial";
    if (type == "smallint") return "smallserial";
    return "serial";
  }

  std::string ColumnDefinition(const Table& t, const Column& c) const {
    bool serial = SerialLike(t, c);
    std::string def = Q(c.name) + " " + (serial ? SerialType(c.type) : c.type);
    if (!c.collation.empty()) def += " COLLATE " + Q(c.collation);
    if (!c.generated.empty()) {
      def += " GENERATED ALWAYS AS (" + c.generated + ") STORED";
    } else if (!c.identity.empty()) {
      def += c.identity == "always" ? " GENERATED ALWAYS AS IDENTITY"
                                    : " GENERATED BY DEFAULT AS IDENTITY";
    } else if (NormalDefault(c.default_expr) && !serial) {
      def += " DEFAULT " +
             FoldWhitespace(*c.default_expr);  // as PostgreSQL printed it
    }
    if (c.not_null) def += " NOT NULL";
    return def;
  }

  std::string ConstraintName(const std::string& name) const {
    return name.empty() ? "" : "CONSTRAINT " + Q(name) + " ";
  }

  std::string CreateTable(const Table& t) const {
    if (t.kind == TableKind::kView || t.kind == TableKind::kMaterializedView) {
      return fmt::format(
          "CREATE {} {} AS\n{};",
          t.kind == TableKind::kView ? "VIEW" : "MATERIALIZED VIEW", QT(t),
          TrimStatement(t.view_definition));
    }
    if (!t.partition_of.empty()) {
      return fmt::format("CREATE TABLE {} PARTITION OF {} {};", QT(t),
                         QDotted(t.partition_of), t.partition_bound);
    }
    std::vector<std::string> parts;
    for (const auto& c : t.columns)
      parts.push_back("    " + ColumnDefinition(t, c));
    if (t.primary_key) {
      parts.push_back(fmt::format("    {}PRIMARY KEY ({})",
                                  ConstraintName(t.primary_key->name),
                                  QList(t.primary_key->columns)));
    }
    for (const auto& u : t.uniques) {
      parts.push_back(fmt::format("    {}UNIQUE ({})", ConstraintName(u.name),
                                  QList(u.columns)));
    }
    for (const auto& c : t.checks) {
      parts.push_back(
          fmt::format("    {}{}", ConstraintName(c.name), c.expression));
    }
    std::string partitioning =
        t.kind == TableKind::kPartitionedTable && !t.partition_key.empty()
            ? " PARTITION BY " + t.partition_key
            : "";
    return fmt::format("CREATE TABLE {} (\n{}\n){};", QT(t), Join(parts, ",\n"),
                       partitioning);
  }

  std::string ForeignKeyClause(const ForeignKey& f) const {
    std::string clause =
        fmt::format("FOREIGN KEY ({}) REFERENCES {} ({})", QList(f.columns),
                    QT(f.ref_schema, f.ref_table), QList(f.ref_columns));
    if (f.on_update != "no action")
      clause += " ON UPDATE " + Upper(f.on_update);
    if (f.on_delete != "no action")
      clause += " ON DELETE " + Upper(f.on_delete);
    if (f.deferrable) clause += " DEFERRABLE";
    if (f.initially_deferred) clause += " INITIALLY DEFERRED";
    return clause;
  }

  // ADD CONSTRAINT; online as NOT VALID then VALIDATE (a new, empty table
  // needs no such care).
  std::string AddConstraint(const Table& t, const std::string& name,
                            const std::string& clause, bool new_table,
                            std::vector<std::string>* hazards) const {
    if (options_.online && !name.empty() && !new_table) {
      *hazards = Hazards({kValidationScan});
      return fmt::format(
          "ALTER TABLE {0} ADD CONSTRAINT {1} {2} NOT VALID;\n"
          "ALTER TABLE {0} VALIDATE CONSTRAINT {1};",
          QT(t), Q(name), clause);
    }
    *hazards = new_table ? std::vector<std::string>{}
                         : Hazards({kAccessExclusiveLock, kValidationScan});
    return fmt::format("ALTER TABLE {} ADD {}{};", QT(t), ConstraintName(name),
                       clause);
  }

  std::string IndexDescription(const Index& i) const {
    std::string d = fmt::format("{}{} ({})", i.unique ? "UNIQUE " : "",
                                i.method, Join(i.keys, ", "));
    if (!i.include.empty()) d += " INCLUDE (" + Join(i.include, ", ") + ")";
    if (!i.predicate.empty()) d += " WHERE " + i.predicate;
    return d;
  }

  std::string CreateIndex(const Table& t, const Index& i,
                          bool concurrently) const {
    std::string sql = fmt::format("CREATE {}INDEX {}{}ON {} USING {} ({})",
                                  i.unique ? "UNIQUE " : "",
                                  concurrently ? "CONCURRENTLY " : "",
                                  i.name.empty() ? "" : Q(i.name) + " ", QT(t),
                                  i.method, Join(i.keys, ", "));
    if (!i.include.empty()) sql += " INCLUDE (" + QList(i.include) + ")";
    if (!i.predicate.empty()) sql += " WHERE " + i.predicate;
    return sql + ";";
  }

  // Building an index on a live table: CONCURRENTLY online, else under a
  // SHARE lock that blocks writes.
  std::vector<std::string> IndexHazards() const {
    if (options_.online) return Hazards({kIndexBuild});
    return Hazards({kShareLock, kIndexBuild});
  }

  std::string DropIndex(const std::string& schema,
                        const std::string& name) const {
    return fmt::format("DROP INDEX {}{};",
                       options_.online ? "CONCURRENTLY " : "",
                       QT(schema, name));
  }

  // DROP INDEX CONCURRENTLY waits instead of locking readers out.
  std::vector<std::string> DropIndexHazards() const {
    if (options_.online) return {};
    return Hazards({kAccessExclusiveLock});
  }

  static bool SameIndex(const Index& a, const Index& b) {
    return a.keys == b.keys && a.unique == b.unique && a.method == b.method &&
           FoldWhitespace(a.predicate) == FoldWhitespace(b.predicate) &&
           a.include == b.include;
  }

  static std::string ForeignKeyShape(const ForeignKey& f) {
    return fmt::format("({}) -> {}.{}({})", Join(f.columns, ", "), f.ref_schema,
                       f.ref_table, Join(f.ref_columns, ", "));
  }
  static std::string ForeignKeyBehaviour(const ForeignKey& f) {
    return fmt::format("ON DELETE {} ON UPDATE {}{}{}", f.on_delete,
                       f.on_update, f.deferrable ? " DEFERRABLE" : "",
                       f.initially_deferred ? " INITIALLY DEFERRED" : "");
  }

  // Under names_matter, a constraint that matches by shape but not by name.
  void RenamedConstraint(const Table& t, const std::string& expected_name,
                         const std::string& actual_name) {
    if (!expected_.names_matter || expected_name.empty() ||
        expected_name == actual_name)
      return;
    Finding& f = Add(Severity::kWarning, "constraint_mismatch", t,
                     Key(t) + "." + actual_name,
                     fmt::format("constraint {} on {} is named {}",
                                 expected_name, Key(t), actual_name));
    f.expected = expected_name;
    f.actual = actual_name;
    SetFix(f,
           fmt::format("ALTER TABLE {} RENAME CONSTRAINT {} TO {};", QT(t),
                       Q(actual_name), Q(expected_name)),
           FixPhase::kConstraint, Hazards({kAccessExclusiveLock}));
  }

  // --- Tables ---------------------------------------------------------

  void CompareTable(const Table& e, const Table& a) {
    std::string table = Key(e);
    if (e.kind != a.kind) {
      Finding& f =
          Add(Severity::kError, "type_mismatch", e, table,
              fmt::format("{} is a {}, expected a {}", table,
                          TableKindName(a.kind), TableKindName(e.kind)));
      f.expected = std::string(TableKindName(e.kind));
      f.actual = std::string(TableKindName(a.kind));
      return;
    }
    if (e.kind == TableKind::kView || e.kind == TableKind::kMaterializedView) {
      CompareView(e, a);
      return;
    }
    ComparePartitioning(e, a);
    CompareColumns(e, a);
    CompareKeys(e, a);
    CompareChecks(e, a);
    CompareForeignKeys(e, a);
    CompareIndexes(e, a);
    CompareSequences(e, a);
  }

  // A view is its definition: its columns follow from it.
  void CompareView(const Table& e, const Table& a) {
    if (e.view_definition.empty() || FoldWhitespace(e.view_definition) ==
                                         FoldWhitespace(a.view_definition)) {
      if (e.kind == TableKind::kMaterializedView) CompareIndexes(e, a);
      return;
    }
    bool materialized = e.kind == TableKind::kMaterializedView;
    Finding& f = Add(Severity::kWarning, "view_mismatch", e, Key(e),
                     fmt::format("{} {} has a different definition",
                                 TableKindName(e.kind), Key(e)));
    f.expected = e.view_definition;
    f.actual = a.view_definition;
    auto names = [](const Table& t) {
      std::vector<std::string> out;
      for (const auto& c : t.columns) out.push_back(c.name + " " + c.type);
      return out;
    };
    std::string body = TrimStatement(e.view_definition);
    if (materialized) {
      std::string fix = fmt::format(
          "DROP MATERIALIZED VIEW {0};\nCREATE MATERIALIZED VIEW {0} AS\n{1};",
          QT(e), body);
      for (const auto& i : e.indexes) fix += "\n" + CreateIndex(e, i, false);
      SetFix(f, fix, FixPhase::kView,
             Hazards({kAccessExclusiveLock, kTableRewrite}));
    } else if (names(e) == names(a) || e.columns.empty()) {
      SetFix(f, fmt::format("CREATE OR REPLACE VIEW {} AS\n{};", QT(e), body),
             FixPhase::kView, Hazards({kAccessExclusiveLock}));
    } else {
      // CREATE OR REPLACE cannot drop, rename or retype a view's columns.
      SetFix(
          f,
          fmt::format("DROP VIEW {0};\nCREATE VIEW {0} AS\n{1};", QT(e), body),
          FixPhase::kView, Hazards({kAccessExclusiveLock}));
    }
  }

  void ComparePartitioning(const Table& e, const Table& a) {
    std::string table = Key(e);
    if (!e.partition_key.empty() &&
        FoldWhitespace(e.partition_key) != FoldWhitespace(a.partition_key)) {
      Finding& f =
          Add(Severity::kError, "partition_mismatch", e, table,
              fmt::format("{} is partitioned by {}, expected {}", table,
                          a.partition_key.empty() ? "nothing" : a.partition_key,
                          e.partition_key));
      f.expected = e.partition_key;
      f.actual = a.partition_key;
    }
    if (e.partition_of != a.partition_of ||
        FoldWhitespace(e.partition_bound) !=
            FoldWhitespace(a.partition_bound)) {
      Finding& f = Add(
          Severity::kError, "partition_mismatch", e, table,
          e.partition_of.empty()
              ? fmt::format(
                    "{} is a partition of {}, expected a table of its own",
                    table, a.partition_of)
              : fmt::format("{} is {}, expected a partition of {} {}", table,
                            a.partition_of.empty()
                                ? "not a partition"
                                : "a partition of " + a.partition_of + " " +
                                      a.partition_bound,
                            e.partition_of, e.partition_bound));
      f.expected = e.partition_of.empty()
                       ? ""
                       : e.partition_of + " " + e.partition_bound;
      f.actual = a.partition_of.empty()
                     ? ""
                     : a.partition_of + " " + a.partition_bound;
      std::string fix;
      if (!a.partition_of.empty()) {
        fix = fmt::format("ALTER TABLE {} DETACH PARTITION {};",
                          QDotted(a.partition_of), QT(e));
      }
      if (!e.partition_of.empty()) {
        if (!fix.empty()) fix += "\n";
        fix += fmt::format("ALTER TABLE {} ATTACH PARTITION {} {};",
                           QDotted(e.partition_of), QT(e), e.partition_bound);
      }
      SetFix(f, fix, FixPhase::kPartition,
             Hazards({kAccessExclusiveLock, kValidationScan}));
    }
  }

  void CompareColumns(const Table& e, const Table& a) {
    std::vector<const Column*> missing;
    for (const auto& ec : e.columns) {
      const Column* ac = a.FindColumn(ec.name);
      if (ac == nullptr) {
        missing.push_back(&ec);
        continue;
      }
      CompareColumn(e, a, ec, *ac);
    }
    std::vector<const Column*> extra;
    for (const auto& ac : a.columns) {
      if (e.FindColumn(ac.name) == nullptr) extra.push_back(&ac);
    }
    for (const Column* m : missing) {
      std::string object = Key(e) + "." + m->name;
      auto renamed =
          std::find_if(extra.begin(), extra.end(), [&](const Column* x) {
            return x->type == m->type && x->not_null == m->not_null;
          });
      if (renamed != extra.end()) {
        Finding& f = Add(
            Severity::kWarning, "possible_rename", e, object,
            fmt::format(
                "column {} is missing and {}.{} has the same shape: renamed?",
                object, Key(e), (*renamed)->name));
        f.expected = m->name;
        f.actual = (*renamed)->name;
        SetFix(f,
               fmt::format("ALTER TABLE {} RENAME COLUMN {} TO {};", QT(e),
                           Q((*renamed)->name), Q(m->name)),
               FixPhase::kAlter, Hazards({kAccessExclusiveLock}));
        extra.erase(renamed);
        continue;
      }
      Finding& f = Add(Severity::kError, "missing_column", e, object,
                       fmt::format("column {} is missing", object));
      f.expected = ColumnDefinition(e, *m);
      std::vector<std::string> hazards = Hazards({kAccessExclusiveLock});
      if (!m->generated.empty() || !m->identity.empty() || SerialLike(e, *m)) {
        hazards.emplace_back(kTableRewrite);
      }
      SetFix(f,
             fmt::format("ALTER TABLE {} ADD COLUMN {};", QT(e),
                         ColumnDefinition(e, *m)),
             FixPhase::kAlter, hazards);
    }
    for (const Column* x : extra) {
      std::string object = Key(e) + "." + x->name;
      Finding& f =
          Add(Severity::kWarning, "extra_column", e, object,
              fmt::format("column {} is not in the expected schema", object));
      f.actual = ColumnDefinition(a, *x);
      SetFix(
          f, fmt::format("ALTER TABLE {} DROP COLUMN {};", QT(e), Q(x->name)),
          FixPhase::kDrop, Hazards({kAccessExclusiveLock, kDeletesData}), true);
    }
  }

  static bool InPrimaryKey(const Table& t, const std::string& column) {
    return t.primary_key && std::find(t.primary_key->columns.begin(),
                                      t.primary_key->columns.end(),
                                      column) != t.primary_key->columns.end();
  }

  void CompareColumn(const Table& et, const Table& at, const Column& e,
                     const Column& a) {
    std::string object = Key(et) + "." + e.name;
    if (e.type != a.type) {
      Finding& f = Add(
          Severity::kError, "type_mismatch", et, object,
          fmt::format("column {} is {}, expected {}", object, a.type, e.type));
      f.expected = e.type;
      f.actual = a.type;
      SetFix(f,
             fmt::format("ALTER TABLE {} ALTER COLUMN {} TYPE {} USING {}::{};",
                         QT(et), Q(e.name), e.type, Q(e.name), e.type),
             FixPhase::kAlter, Hazards({kAccessExclusiveLock, kTableRewrite}));
    }
    if (e.collation != a.collation) {
      Finding& f =
          Add(Severity::kError, "collation_mismatch", et, object,
              fmt::format("column {} has collation {}, expected {}", object,
                          a.collation.empty() ? "default" : a.collation,
                          e.collation.empty() ? "default" : e.collation));
      f.expected = e.collation;
      f.actual = a.collation;
      SetFix(f,
             fmt::format("ALTER TABLE {} ALTER COLUMN {} TYPE {} COLLATE {};",
                         QT(et), Q(e.name), e.type,
                         Q(e.collation.empty() ? "default" : e.collation)),
             FixPhase::kAlter, Hazards({kAccessExclusiveLock, kIndexBuild}));
    }
    if (FoldWhitespace(e.generated) != FoldWhitespace(a.generated)) {
      Finding& f =
          Add(Severity::kError, "generated_mismatch", et, object,
              fmt::format("column {} is generated as {}, expected {}", object,
                          a.generated.empty() ? "nothing" : a.generated,
                          e.generated.empty() ? "nothing" : e.generated));
      f.expected = e.generated;
      f.actual = a.generated;
      std::string fix =
          e.generated.empty()
              ? fmt::format("ALTER TABLE {} ALTER COLUMN {} DROP EXPRESSION;",
                            QT(et), Q(e.name))
              : fmt::format("ALTER TABLE {} DROP COLUMN {}, ADD COLUMN {};",
                            QT(et), Q(e.name), ColumnDefinition(et, e));
      SetFix(f, fix, FixPhase::kAlter,
             Hazards({kAccessExclusiveLock, kTableRewrite}));
      return;
    }
    bool pk_only = e.not_null != a.not_null && !e.not_null &&
                   InPrimaryKey(at, e.name) && !InPrimaryKey(et, e.name);
    if (e.not_null != a.not_null && a.identity.empty() && !pk_only) {
      Finding& f = Add(Severity::kError, "nullability_mismatch", et, object,
                       fmt::format("column {} is {}, expected {}", object,
                                   a.not_null ? "NOT NULL" : "nullable",
                                   e.not_null ? "NOT NULL" : "nullable"));
      f.expected = e.not_null ? "NOT NULL" : "NULL";
      f.actual = a.not_null ? "NOT NULL" : "NULL";
      if (!e.not_null) {
        SetFix(f,
               fmt::format("ALTER TABLE {} ALTER COLUMN {} DROP NOT NULL;",
                           QT(et), Q(e.name)),
               FixPhase::kAlter, Hazards({kAccessExclusiveLock}));
      } else if (options_.online) {
        std::string check = Q(et.name + "_" + e.name + "_not_null");
        SetFix(f,
               fmt::format("ALTER TABLE {0} ADD CONSTRAINT {1} CHECK ({2} IS "
                           "NOT NULL) NOT VALID;\n"
                           "ALTER TABLE {0} VALIDATE CONSTRAINT {1};\n"
                           "ALTER TABLE {0} ALTER COLUMN {2} SET NOT NULL;\n"
                           "ALTER TABLE {0} DROP CONSTRAINT {1};",
                           QT(et), check, Q(e.name)),
               FixPhase::kAlter, Hazards({kValidationScan}));
      } else {
        SetFix(f,
               fmt::format("ALTER TABLE {} ALTER COLUMN {} SET NOT NULL;",
                           QT(et), Q(e.name)),
               FixPhase::kAlter,
               Hazards({kAccessExclusiveLock, kValidationScan}));
      }
    }
    CompareNumbering(et, at, e, a);
  }

  // Identity, serial and plain defaults.
  void CompareNumbering(const Table& et, const Table& at, const Column& e,
                        const Column& a) {
    std::string object = Key(et) + "." + e.name;
    bool e_serial = SerialLike(et, e);
    bool a_serial = IsNextval(a.default_expr);
    bool e_auto = !e.identity.empty() || e_serial;
    bool a_auto = !a.identity.empty() || a_serial;
    (void)at;
    if (e_auto && a_auto) {
      if (e.identity == a.identity) {
        if (e_serial && expected_.names_matter &&
            NormalDefault(e.default_expr) &&
            NormalDefault(e.default_expr) != NormalDefault(a.default_expr)) {
          DefaultMismatch(et, e, a);
        }
        return;
      }
      bool both_identity = !e.identity.empty() && !a.identity.empty();
      Finding& f = Add(
          Severity::kInfo, "identity_mismatch", et, object,
          fmt::format("column {} is numbered by {}, expected {}", object,
                      a.identity.empty() ? "a sequence default (serial)"
                                         : "an identity (" + a.identity + ")",
                      e.identity.empty() ? "a sequence default (serial)"
                                         : "an identity (" + e.identity + ")"));
      f.expected = e.identity.empty() ? "serial" : "identity " + e.identity;
      f.actual = a.identity.empty() ? "serial" : "identity " + a.identity;
      if (both_identity) {
        SetFix(f,
               fmt::format("ALTER TABLE {} ALTER COLUMN {} SET GENERATED {};",
                           QT(et), Q(e.name),
                           e.identity == "always" ? "ALWAYS" : "BY DEFAULT"),
               FixPhase::kAlter, Hazards({kAccessExclusiveLock}));
      }
      return;
    }
    if (e_auto && !a_auto) {
      if (!e.identity.empty()) {
        Finding& f = Add(
            Severity::kError, "identity_mismatch", et, object,
            fmt::format(
                "column {} is not an identity column, expected identity ({})",
                object, e.identity));
        f.expected = "identity " + e.identity;
        f.actual = a.default_expr.value_or("(no default)");
        SetFix(f,
               fmt::format("ALTER TABLE {0} ALTER COLUMN {1} ADD GENERATED {2} "
                           "AS IDENTITY;\n"
                           "SELECT "
                           "pg_catalog.setval(pg_catalog.pg_get_serial_"
                           "sequence('{3}', '{4}'), "
                           "coalesce(max({1}), 0) + 1, false) FROM {0};",
                           QT(et), Q(e.name),
                           e.identity == "always" ? "ALWAYS" : "BY DEFAULT",
                           Escape(QT(et)), Escape(Q(e.name))),
               FixPhase::kAlter, Hazards({kAccessExclusiveLock}));
      }
      // A serial column without its sequence: CompareSequences reports it.
      return;
    }
    if (!e_auto && a_auto && !a.identity.empty()) {
      Finding& f =
          Add(Severity::kWarning, "identity_mismatch", et, object,
              fmt::format("column {} is an identity column, expected none",
                          object));
      f.expected = "";
      f.actual = "identity " + a.identity;
      SetFix(f,
             fmt::format("ALTER TABLE {} ALTER COLUMN {} DROP IDENTITY;",
                         QT(et), Q(e.name)),
             FixPhase::kAlter, Hazards({kAccessExclusiveLock}));
      return;
    }
    if (NormalDefault(e.default_expr) != NormalDefault(a.default_expr))
      DefaultMismatch(et, e, a);
  }

  void DefaultMismatch(const Table& t, const Column& e, const Column& a) {
    std::string object = Key(t) + "." + e.name;
    auto ed = NormalDefault(e.default_expr);
    auto ad = NormalDefault(a.default_expr);
    Finding& f =
        Add(Severity::kWarning, "default_mismatch", t, object,
            fmt::format("column {} defaults to {}, expected {}", object,
                        ad.value_or("nothing"), ed.value_or("nothing")));
    f.expected = ed.value_or("");
    f.actual = ad.value_or("");
    SetFix(f,
           ed ? fmt::format("ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {};",
                            QT(t), Q(e.name), FoldWhitespace(*e.default_expr))
              : fmt::format("ALTER TABLE {} ALTER COLUMN {} DROP DEFAULT;",
                            QT(t), Q(e.name)),
           FixPhase::kAlter, {});
  }

  void CompareKeys(const Table& e, const Table& a) {
    std::string table = Key(e);
    auto pk = [](const KeyConstraint& k) {
      return "PRIMARY KEY (" + Join(k.columns, ", ") + ")";
    };
    if (e.primary_key && !a.primary_key) {
      Finding& f = Add(Severity::kError, "missing_constraint", e, table,
                       fmt::format("primary key of {} is missing", table));
      f.expected = pk(*e.primary_key);
      SetFix(f,
             fmt::format("ALTER TABLE {} ADD {}PRIMARY KEY ({});", QT(e),
                         ConstraintName(e.primary_key->name),
                         QList(e.primary_key->columns)),
             FixPhase::kConstraint,
             Hazards({kAccessExclusiveLock, kIndexBuild}));
    } else if (e.primary_key &&
               a.primary_key->columns != e.primary_key->columns) {
      Finding& f =
          Add(Severity::kError, "constraint_mismatch", e, table,
              fmt::format("primary key of {} is on other columns", table));
      f.expected = pk(*e.primary_key);
      f.actual = pk(*a.primary_key);
      SetFix(f,
             fmt::format("ALTER TABLE {0} DROP CONSTRAINT {1};\nALTER TABLE "
                         "{0} ADD {2}PRIMARY KEY ({3});",
                         QT(e), Q(a.primary_key->name),
                         ConstraintName(e.primary_key->name),
                         QList(e.primary_key->columns)),
             FixPhase::kConstraint,
             Hazards({kAccessExclusiveLock, kIndexBuild}));
    } else if (e.primary_key) {
      RenamedConstraint(e, e.primary_key->name, a.primary_key->name);
    } else if (a.primary_key) {
      Finding& f =
          Add(Severity::kWarning, "extra_constraint", e,
              table + "." + a.primary_key->name,
              fmt::format("{} has a primary key the expected schema does not",
                          table));
      f.actual = pk(*a.primary_key);
      // The key made its columns NOT NULL; the expected schema may not.
      std::string fix = fmt::format("ALTER TABLE {} DROP CONSTRAINT {};", QT(e),
                                    Q(a.primary_key->name));
      for (const auto& column : a.primary_key->columns) {
        const Column* ec = e.FindColumn(column);
        if (ec != nullptr && !ec->not_null) {
          fix += fmt::format("\nALTER TABLE {} ALTER COLUMN {} DROP NOT NULL;",
                             QT(e), Q(column));
        }
      }
      SetFix(f, fix, FixPhase::kDrop, Hazards({kAccessExclusiveLock}), true);
    }
    for (const auto& u : e.uniques) {
      auto same = std::find_if(
          a.uniques.begin(), a.uniques.end(),
          [&](const KeyConstraint& x) { return x.columns == u.columns; });
      if (same != a.uniques.end()) {
        RenamedConstraint(e, u.name, same->name);
        continue;
      }
      Finding& f =
          Add(Severity::kError, "missing_constraint", e,
              table + "." + (u.name.empty() ? Join(u.columns, ",") : u.name),
              fmt::format("unique constraint on {} ({}) is missing", table,
                          Join(u.columns, ", ")));
      f.expected = "UNIQUE (" + Join(u.columns, ", ") + ")";
      SetFix(f,
             fmt::format("ALTER TABLE {} ADD {}UNIQUE ({});", QT(e),
                         ConstraintName(u.name), QList(u.columns)),
             FixPhase::kConstraint,
             Hazards({kAccessExclusiveLock, kIndexBuild}));
    }
    for (const auto& u : a.uniques) {
      bool found = std::any_of(
          e.uniques.begin(), e.uniques.end(),
          [&](const KeyConstraint& x) { return x.columns == u.columns; });
      if (found) continue;
      Finding& f =
          Add(Severity::kWarning, "extra_constraint", e, table + "." + u.name,
              fmt::format(
                  "unique constraint {} on {} is not in the expected schema",
                  u.name, table));
      f.actual = "UNIQUE (" + Join(u.columns, ", ") + ")";
      SetFix(
          f,
          fmt::format("ALTER TABLE {} DROP CONSTRAINT {};", QT(e), Q(u.name)),
          FixPhase::kDrop, Hazards({kAccessExclusiveLock}), true);
    }
  }

  void CompareChecks(const Table& e, const Table& a) {
    std::set<const CheckConstraint*> used;
    for (const auto& c : e.checks) {
      const CheckConstraint* same = nullptr;
      const CheckConstraint* named = nullptr;
      for (const auto& x : a.checks) {
        if (used.count(&x) > 0) continue;
        if (same == nullptr &&
            FoldWhitespace(x.expression) == FoldWhitespace(c.expression))
          same = &x;
        if (!c.name.empty() && x.name == c.name) named = &x;
      }
      if (same != nullptr) {
        used.insert(same);
        RenamedConstraint(e, c.name, same->name);
        if (c.validated && !same->validated) NotValidated(e, same->name);
        continue;
      }
      std::string object =
          Key(e) + "." + (c.name.empty() ? c.expression : c.name);
      std::vector<std::string> hazards;
      std::string add = AddConstraint(e, c.name, c.expression, false, &hazards);
      if (named != nullptr) {
        used.insert(named);
        Finding& f =
            Add(Severity::kError, "constraint_mismatch", e, object,
                fmt::format("check constraint {} on {} has a different body",
                            c.name, Key(e)));
        f.expected = c.expression;
        f.actual = named->expression;
        SetFix(f,
               fmt::format("ALTER TABLE {} DROP CONSTRAINT {};\n{}", QT(e),
                           Q(c.name), add),
               FixPhase::kConstraint, hazards);
        continue;
      }
      Finding& f =
          Add(Severity::kError, "missing_constraint", e, object,
              fmt::format("check constraint {} on {} is missing",
                          c.name.empty() ? c.expression : c.name, Key(e)));
      f.expected = c.expression;
      SetFix(f, add, FixPhase::kConstraint, hazards);
    }
    for (const auto& x : a.checks) {
      if (used.count(&x) > 0) continue;
      Finding& f = Add(
          Severity::kWarning, "extra_constraint", e, Key(e) + "." + x.name,
          fmt::format("check constraint {} on {} is not in the expected schema",
                      x.name, Key(e)));
      f.actual = x.expression;
      SetFix(
          f,
          fmt::format("ALTER TABLE {} DROP CONSTRAINT {};", QT(e), Q(x.name)),
          FixPhase::kDrop, Hazards({kAccessExclusiveLock}), true);
    }
  }

  void NotValidated(const Table& t, const std::string& name) {
    Finding& f = Add(
        Severity::kWarning, "not_validated_constraint", t, Key(t) + "." + name,
        fmt::format("constraint {} on {} is NOT VALID", name, Key(t)));
    f.expected = "validated";
    f.actual = "NOT VALID";
    SetFix(
        f,
        fmt::format("ALTER TABLE {} VALIDATE CONSTRAINT {};", QT(t), Q(name)),
        FixPhase::kConstraint, Hazards({kValidationScan}));
  }

  void MissingForeignKey(const Table& t, const ForeignKey& fk, bool new_table) {
    Finding& f =
        Add(Severity::kError, "missing_constraint", t,
            Key(t) + "." + (fk.name.empty() ? Join(fk.columns, ",") : fk.name),
            fmt::format("foreign key {} {} is missing", Key(t),
                        ForeignKeyShape(fk)));
    f.expected = ForeignKeyShape(fk) + " " + ForeignKeyBehaviour(fk);
    std::vector<std::string> hazards;
    std::string add =
        AddConstraint(t, fk.name, ForeignKeyClause(fk), new_table, &hazards);
    SetFix(f, add, FixPhase::kConstraint, hazards);
  }

  void CompareForeignKeys(const Table& e, const Table& a) {
    std::set<const ForeignKey*> used;
    for (const auto& fk : e.foreign_keys) {
      const ForeignKey* same = nullptr;
      for (const auto& x : a.foreign_keys) {
        if (same == nullptr && used.count(&x) == 0 &&
            ForeignKeyShape(x) == ForeignKeyShape(fk)) {
          same = &x;
        }
      }
      if (same == nullptr) {
        MissingForeignKey(e, fk, false);
        continue;
      }
      used.insert(same);
      if (ForeignKeyBehaviour(*same) != ForeignKeyBehaviour(fk)) {
        Finding& f = Add(Severity::kError, "constraint_mismatch", e,
                         Key(e) + "." + same->name,
                         fmt::format("foreign key {} on {} has other actions",
                                     same->name, Key(e)));
        f.expected = ForeignKeyBehaviour(fk);
        f.actual = ForeignKeyBehaviour(*same);
        std::string name = fk.name.empty() ? same->name : fk.name;
        std::vector<std::string> hazards;
        std::string add =
            AddConstraint(e, name, ForeignKeyClause(fk), false, &hazards);
        SetFix(f,
               fmt::format("ALTER TABLE {} DROP CONSTRAINT {};\n{}", QT(e),
                           Q(same->name), add),
               FixPhase::kConstraint, hazards);
        continue;
      }
      RenamedConstraint(e, fk.name, same->name);
      if (fk.validated && !same->validated) NotValidated(e, same->name);
    }
    for (const auto& x : a.foreign_keys) {
      if (used.count(&x) > 0) continue;
      Finding& f =
          Add(Severity::kWarning, "extra_constraint", e, Key(e) + "." + x.name,
              fmt::format("foreign key {} on {} is not in the expected schema",
                          x.name, Key(e)));
      f.actual = ForeignKeyShape(x);
      SetFix(
          f,
          fmt::format("ALTER TABLE {} DROP CONSTRAINT {};", QT(e), Q(x.name)),
          FixPhase::kDrop, Hazards({kAccessExclusiveLock}), true);
    }
  }

  void CompareIndexes(const Table& e, const Table& a) {
    std::set<const Index*> used;
    for (const auto& i : e.indexes) {
      const Index* same = nullptr;
      const Index* named = nullptr;
      for (const auto& x : a.indexes) {
        if (used.count(&x) > 0) continue;
        if (same == nullptr && SameIndex(x, i) &&
            (!expected_.names_matter || x.name == i.name)) {
          same = &x;
        }
        if (!i.name.empty() && x.name == i.name) named = &x;
      }
      if (same != nullptr) {
        used.insert(same);
        continue;
      }
      std::string object =
          "index " + (i.name.empty() ? Key(e) + " " + IndexDescription(i)
                                     : e.schema + "." + i.name);
      if (named != nullptr) {
        used.insert(named);
        Finding& f =
            Add(Severity::kWarning, "index_mismatch", e, object,
                fmt::format("index {} on {} is {}, expected {}", i.name, Key(e),
                            IndexDescription(*named), IndexDescription(i)));
        f.expected = IndexDescription(i);
        f.actual = IndexDescription(*named);
        std::vector<std::string> hazards = DropIndexHazards();
        for (auto& h : IndexHazards()) hazards.push_back(h);
        SetFix(f,
               DropIndex(e.schema, i.name) + "\n" +
                   CreateIndex(e, i, options_.online),
               FixPhase::kIndex, hazards);
        continue;
      }
      Finding& f = Add(Severity::kError, "missing_index", e, object,
                       fmt::format("index on {} {} is missing", Key(e),
                                   IndexDescription(i)));
      f.expected = IndexDescription(i);
      SetFix(f, CreateIndex(e, i, options_.online), FixPhase::kIndex,
             IndexHazards());
    }
    for (const auto& x : a.indexes) {
      if (used.count(&x) > 0) continue;
      Finding& f =
          Add(Severity::kWarning, "extra_index", e,
              "index " + e.schema + "." + x.name,
              fmt::format("index {} on {} is not in the expected schema",
                          x.name, Key(e)));
      f.actual = IndexDescription(x);
      SetFix(f, DropIndex(e.schema, x.name), FixPhase::kDrop,
             DropIndexHazards(), true);
    }
  }

  // Serial columns whose sequence default is gone.
  void CompareSequences(const Table& e, const Table& a) {
    for (const auto& c : e.columns) {
      if (!SerialLike(e, c)) continue;
      const Column* ac = a.FindColumn(c.name);
      if (ac == nullptr || !ac->identity.empty() || IsNextval(ac->default_expr))
        continue;
      auto owned = std::find_if(
          e.sequences.begin(), e.sequences.end(),
          [&](const OwnedSequence& s) { return s.column == c.name; });
      std::string name = owned != e.sequences.end() && !owned->name.empty()
                             ? owned->name
                             : e.name + "_" + c.name + "_seq";
      std::string seq = QT(e.schema, name);
      Finding& f = Add(
          Severity::kWarning, "missing_sequence", e, Key(e) + "." + c.name,
          fmt::format("column {}.{} has no sequence default, expected serial",
                      Key(e), c.name));
      f.expected = "nextval('" + e.schema + "." + name + "')";
      f.actual = ac->default_expr.value_or("");
      SetFix(f,
             fmt::format("CREATE SEQUENCE IF NOT EXISTS {0} OWNED BY {1}.{2};\n"
                         "SELECT pg_catalog.setval('{3}', coalesce(max({2}), "
                         "0) + 1, false) FROM {1};\n"
                         "ALTER TABLE {1} ALTER COLUMN {2} SET DEFAULT "
                         "nextval('{3}'::regclass);",
                         seq, QT(e), Q(c.name), Escape(seq)),
             FixPhase::kAlter, Hazards({kAccessExclusiveLock}));
    }
  }

  // --- Missing and orphaned objects ------------------------------------

  void MissingSchemas() {
    if (!actual_.schemas_known) return;
    std::set<std::string> wanted;
    for (const auto& t : expected_.tables) wanted.insert(t.schema);
    for (const auto& e : expected_.enums) wanted.insert(e.schema);
    for (const auto& s : wanted) {
      if (std::find(actual_.schemas.begin(), actual_.schemas.end(), s) !=
          actual_.schemas.end()) {
        continue;
      }
      Finding& f = Add(Severity::kError, "missing_schema", s, s,
                       fmt::format("schema {} is missing", s));
      f.expected = "schema";
      SetFix(f, fmt::format("CREATE SCHEMA {};", Q(s)), FixPhase::kSchema, {});
    }
  }

  static std::string ColumnShape(const Table& t) {
    std::vector<std::string> shape;
    for (const auto& c : t.columns) shape.push_back(c.name + " " + c.type);
    std::sort(shape.begin(), shape.end());
    return Join(shape, ",");
  }

  // The reason an orphan is expected (a join table, an ignore pattern), or "".
  std::string ExpectedOrphan(const Table& o) const {
    std::string key = Key(o);
    for (const auto& j : expected_.join_tables) {
      if (j == key || j == o.name) return "a many-to-many join table";
    }
    for (const auto& p : expected_.ignore) {
      if (LikeMatch(key, p.pattern) || LikeMatch(o.name, p.pattern)) {
        return "ignored (" + (p.reason.empty() ? p.pattern : p.reason) + ")";
      }
    }
    return "";
  }

  void MissingTable(const Table& e, std::vector<const Table*>& orphans) {
    std::string shape = ColumnShape(e);
    for (auto it = orphans.begin(); it != orphans.end(); ++it) {
      const Table* o = *it;
      if (ExpectedOrphan(*o).empty() && o->kind == e.kind &&
          !e.columns.empty() && ColumnShape(*o) == shape) {
        Finding& f = Add(
            Severity::kWarning, "possible_rename", e, Key(e),
            fmt::format("{} is missing and {} has the same columns: renamed?",
                        Key(e), Key(*o)));
        f.expected = Key(e);
        f.actual = Key(*o);
        std::string fix =
            fmt::format("ALTER TABLE {} RENAME TO {};", QT(*o), Q(e.name));
        if (o->schema != e.schema) {
          fix = fmt::format(
              "ALTER TABLE {} SET SCHEMA {};\nALTER TABLE {} RENAME TO {};",
              QT(*o), Q(e.schema), QT(e.schema, o->name), Q(e.name));
        }
        SetFix(f, fix, FixPhase::kCreate, Hazards({kAccessExclusiveLock}));
        orphans.erase(it);
        return;
      }
    }
    Finding& f =
        Add(Severity::kError, "missing_table", e, Key(e),
            fmt::format("{} {} is missing", TableKindName(e.kind), Key(e)));
    f.expected = std::string(TableKindName(e.kind));
    FixPhase phase =
        e.kind == TableKind::kView || e.kind == TableKind::kMaterializedView
            ? FixPhase::kView
        : !e.partition_of.empty() ? FixPhase::kPartition
                                  : FixPhase::kCreate;
    SetFix(f, CreateTable(e), phase, {});
    for (const auto& fk : e.foreign_keys) MissingForeignKey(e, fk, true);
    for (const auto& i : e.indexes) {
      Finding& c = Add(Severity::kError, "missing_index", e,
                       "index " + e.schema + "." + i.name,
                       fmt::format("index on {} {} is missing", Key(e),
                                   IndexDescription(i)));
      c.expected = IndexDescription(i);
      // A new table is empty: no need to build concurrently.
      SetFix(c, CreateIndex(e, i, false), FixPhase::kIndex,
             Hazards({kIndexBuild}));
    }
  }

  void OrphanTable(const Table& o) {
    std::string key = Key(o);
    std::string reason = ExpectedOrphan(o);
    if (!reason.empty()) {
      Finding& f = Add(Severity::kInfo, "orphan_table", o, key,
                       fmt::format("{} is {}", key, reason));
      f.actual = std::string(TableKindName(o.kind));
      f.expected = reason;
      return;
    }
    Finding& f = Add(Severity::kWarning, "orphan_table", o, key,
                     fmt::format("{} {} is not in the expected schema",
                                 TableKindName(o.kind), key));
    f.actual = std::string(TableKindName(o.kind));
    std::string drop = o.kind == TableKind::kView ? "VIEW"
                       : o.kind == TableKind::kMaterializedView
                           ? "MATERIALIZED VIEW"
                           : "TABLE";
    SetFix(f, fmt::format("DROP {} {};", drop, QT(o)), FixPhase::kDrop,
           Hazards({kAccessExclusiveLock, kDeletesData}), true);
  }

  void CompareEnums() {
    for (const auto& e : expected_.enums) {
      auto a = std::find_if(actual_.enums.begin(), actual_.enums.end(),
                            [&](const EnumType& x) {
                              return x.schema == e.schema && x.name == e.name;
                            });
      std::string object = e.schema + "." + e.name;
      std::vector<std::string> literals;
      for (const auto& l : e.labels) literals.push_back(Literal(l));
      if (a == actual_.enums.end()) {
        Finding& f = Add(Severity::kError, "enum_mismatch", e.schema, object,
                         fmt::format("enum type {} is missing", object));
        f.expected = Join(e.labels, ", ");
        SetFix(f,
               fmt::format("CREATE TYPE {} AS ENUM ({});", QT(e.schema, e.name),
                           Join(literals, ", ")),
               FixPhase::kType, {});
        continue;
      }
      if (a->labels == e.labels) continue;
      Finding& f =
          Add(Severity::kError, "enum_mismatch", e.schema, object,
              fmt::format("enum type {} has labels ({}), expected ({})", object,
                          Join(a->labels, ", "), Join(e.labels, ", ")));
      f.expected = Join(e.labels, ", ");
      f.actual = Join(a->labels, ", ");
      // Labels can be added in place; never removed or reordered.
      auto has = [&](const std::string& l) {
        return std::find(a->labels.begin(), a->labels.end(), l) !=
               a->labels.end();
      };
      std::vector<std::string> kept;
      for (const auto& l : e.labels) {
        if (has(l)) kept.push_back(l);
      }
      std::vector<std::string> live_order;
      for (const auto& l : a->labels) {
        if (std::find(e.labels.begin(), e.labels.end(), l) != e.labels.end()) {
          live_order.push_back(l);
        }
      }
      if (kept != live_order || kept.size() != a->labels.size())
        continue;  // no safe fix
      std::string fix;
      for (std::size_t i = 0; i < e.labels.size(); ++i) {
        if (has(e.labels[i])) continue;
        std::string position;
        for (std::size_t j = i + 1; j < e.labels.size() && position.empty();
             ++j) {
          if (has(e.labels[j])) position = " BEFORE " + Literal(e.labels[j]);
        }
        for (std::size_t j = i; j > 0 && position.empty(); --j) {
          position = " AFTER " + Literal(e.labels[j - 1]);
        }
        fix +=
            fmt::format("ALTER TYPE {} ADD VALUE IF NOT EXISTS {}{};\n",
                        QT(e.schema, e.name), Literal(e.labels[i]), position);
      }
      if (!fix.empty()) fix.pop_back();
      SetFix(f, fix, FixPhase::kType, {});
    }
    for (const auto& a : actual_.enums) {
      bool expected =
          std::any_of(expected_.enums.begin(), expected_.enums.end(),
                      [&](const EnumType& x) {
                        return x.schema == a.schema && x.name == a.name;
                      });
      if (expected) continue;
      std::string object = a.schema + "." + a.name;
      Finding& f = Add(
          Severity::kWarning, "enum_mismatch", a.schema, object,
          fmt::format("enum type {} is not in the expected schema", object));
      f.actual = Join(a.labels, ", ");
      SetFix(f, fmt::format("DROP TYPE {};", QT(a.schema, a.name)),
             FixPhase::kDrop, Hazards({kAccessExclusiveLock}), true);
    }
  }

  static std::string Escape(std::string_view text) {
    std::string out;
    for (char c : text) {
      if (c == '\'') out += '\'';
      out += c;
    }
    return out;
  }
  static std::string Literal(std::string_view text) {
    return "'" + Escape(text) + "'";
  }

  const Schema& expected_;
  const Schema& actual_;
  const DiffOptions& options_;
  std::vector<Finding> findings_;
};

}  // namespace

std::vector<Finding> Diff(const Schema& expected, const Schema& actual,
                          const DiffOptions& options) {
  return Differ(expected, actual, options).Run();
}

Summary Summarize(const Schema& expected,
                  const std::vector<Finding>& findings) {
  Summary s;
  s.tables_expected = expected.tables.size();
  for (const auto& f : findings) {
    bool table_level = f.object.find('.') == f.object.rfind('.') &&
                       f.object.compare(0, 6, "index ") != 0;
    if (f.kind == "missing_table" ||
        (f.kind == "possible_rename" && table_level)) {
      ++s.tables_missing;
    }
    if (f.kind == "orphan_table") {
      ++s.orphans;
      if (f.severity == Severity::kInfo) ++s.orphans_expected;
    }
    if (f.kind == "missing_column" || f.kind == "extra_column" ||
        f.kind == "type_mismatch" || f.kind == "nullability_mismatch" ||
        f.kind == "default_mismatch" || f.kind == "collation_mismatch" ||
        f.kind == "generated_mismatch") {
      if (!table_level) ++s.column_differences;
    }
    if (f.severity == Severity::kError) ++s.errors;
    if (f.severity == Severity::kWarning) ++s.warnings;
  }
  s.tables_present = s.tables_expected > s.tables_missing
                         ? s.tables_expected - s.tables_missing
                         : 0;
  return s;
}

}  // namespace schema_guard::core
