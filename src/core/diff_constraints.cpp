// Keys, CHECK, EXCLUDE and foreign-key constraints, and indexes.
#include <fmt/format.h>

#include <algorithm>

#include "core/diff_internal.hpp"

namespace schema_guard::core {
namespace {

// Ranks within FixPhase::kConstraint: keys before the checks.
constexpr int kKeyRank = 0;
constexpr int kCheckRank = 1;
constexpr int kValidateRank = 2;

bool SameIndex(const Index& a, const Index& b) {
  return a.keys == b.keys && a.unique == b.unique && a.method == b.method &&
         FoldWhitespace(a.predicate) == FoldWhitespace(b.predicate) &&
         a.include == b.include;
}

std::string ForeignKeyShape(const ForeignKey& f) {
  return fmt::format("({}) -> {}.{}({})", Join(f.columns, ", "), f.ref_schema,
                     f.ref_table, Join(f.ref_columns, ", "));
}

std::string ForeignKeyBehaviour(const ForeignKey& f) {
  return fmt::format("ON DELETE {} ON UPDATE {}{}{}", f.on_delete, f.on_update,
                     f.deferrable ? " DEFERRABLE" : "",
                     f.initially_deferred ? " INITIALLY DEFERRED" : "");
}

std::string KeyName(const std::string& table,
                    const std::vector<std::string>& columns) {
  return table + "(" + Join(columns, ",") + ")";
}

}  // namespace

std::string IndexDescription(const Index& i) {
  std::string d = fmt::format("{}{} ({})", i.unique ? "UNIQUE " : "", i.method,
                              Join(i.keys, ", "));
  if (!i.include.empty()) d += " INCLUDE (" + Join(i.include, ", ") + ")";
  if (!i.predicate.empty()) d += " WHERE " + i.predicate;
  return d;
}

bool Differ::Concurrently(const Table& t) const {
  return options_.online && t.kind != TableKind::kPartitionedTable;
}

void Differ::AddConstraintSteps(std::size_t f, FixPhase phase, const Table& t,
                                const std::string& name,
                                const std::string& clause, bool new_table) {
  int rank = phase == FixPhase::kConstraint ? kCheckRank : 0;
  if (options_.online && !name.empty() && !new_table &&
      t.kind == TableKind::kTable) {
    Hazard(f, {kValidationScan});
    Step(f, phase,
         fmt::format("ALTER TABLE {0} ADD CONSTRAINT {1} {2} NOT VALID;\n"
                     "ALTER TABLE {0} VALIDATE CONSTRAINT {1};",
                     QT(t), Q(name), clause),
         rank);
    return;
  }
  if (!new_table) Hazard(f, {kAccessExclusiveLock, kValidationScan});
  Step(f, phase,
       fmt::format("ALTER TABLE {} ADD {}{};", QT(t),
                   name.empty() ? "" : "CONSTRAINT " + Q(name) + " ", clause),
       rank);
}

void Differ::IndexSteps(std::size_t f, const Table& t, const Index& i,
                        bool new_table) {
  bool concurrently = !new_table && Concurrently(t);
  if (new_table || concurrently) {
    Hazard(f, {kIndexBuild});
  } else {
    Hazard(f, {kShareLock, kIndexBuild});
  }
  // A materialized view's indexes follow it (views come late).
  bool view = t.kind == TableKind::kMaterializedView;
  Step(f, view ? FixPhase::kView : FixPhase::kIndex,
       ddl_.CreateIndex(t, i, concurrently), view ? CreateRank(t) : 0);
  if (expected_.kinds.comments && !i.comment.empty()) {
    Step(f, FixPhase::kComment,
         ddl_.Comment("INDEX", QT(t.schema, i.name), i.comment));
  }
}

// Under names_matter, a constraint that matches by shape but not by name.
void Differ::RenamedConstraint(const Table& t, const std::string& expected_name,
                               const std::string& actual_name) {
  if (!expected_.names_matter || expected_name.empty() ||
      expected_name == actual_name)
    return;
  std::size_t f = Add(Severity::kWarning, "constraint_mismatch", t,
                      Key(t) + "." + actual_name,
                      fmt::format("constraint {} on {} is named {}",
                                  expected_name, Key(t), actual_name));
  F(f).expected = expected_name;
  F(f).actual = actual_name;
  Hazard(f, {kAccessExclusiveLock});
  Step(f, FixPhase::kConstraint,
       fmt::format("ALTER TABLE {} RENAME CONSTRAINT {} TO {};", QT(t),
                   Q(actual_name), Q(expected_name)),
       kValidateRank);
}

void Differ::CompareKeys(const Table& e, const Table& a) {
  std::string table = Key(e);
  auto pk = [](const KeyConstraint& k) {
    return "PRIMARY KEY (" + Join(k.columns, ", ") + ")";
  };
  auto name = [&](const std::string& n) {
    return n.empty() ? std::string() : "CONSTRAINT " + Q(n) + " ";
  };
  if (e.primary_key && !a.primary_key) {
    std::size_t f = Add(Severity::kError, "missing_constraint", e, table,
                        fmt::format("primary key of {} is missing", table));
    F(f).expected = pk(*e.primary_key);
    Hazard(f, {kAccessExclusiveLock, kIndexBuild});
    Step(f, FixPhase::kConstraint,
         fmt::format("ALTER TABLE {} ADD {}PRIMARY KEY ({});", QT(e),
                     name(e.primary_key->name),
                     ddl_.QList(e.primary_key->columns)),
         kKeyRank);
  } else if (e.primary_key &&
             a.primary_key->columns != e.primary_key->columns) {
    std::size_t f =
        Add(Severity::kError, "constraint_mismatch", e, table,
            fmt::format("primary key of {} is on other columns", table));
    F(f).expected = pk(*e.primary_key);
    F(f).actual = pk(*a.primary_key);
    Hazard(f, {kAccessExclusiveLock, kIndexBuild});
    Step(f, FixPhase::kDropConstraint,
         ddl_.DropConstraint(e, a.primary_key->name));
    Step(f, FixPhase::kConstraint,
         fmt::format("ALTER TABLE {} ADD {}PRIMARY KEY ({});", QT(e),
                     name(e.primary_key->name),
                     ddl_.QList(e.primary_key->columns)),
         kKeyRank);
    dropped_keys_[KeyName(table, a.primary_key->columns)] = f;
  } else if (e.primary_key) {
    RenamedConstraint(e, e.primary_key->name, a.primary_key->name);
  } else if (a.primary_key) {
    std::size_t f =
        Add(Severity::kWarning, "extra_constraint", e,
            table + "." + a.primary_key->name,
            fmt::format("{} has a primary key the expected schema does not",
                        table));
    F(f).actual = pk(*a.primary_key);
    Hazard(f, {kAccessExclusiveLock});
    Destructive(f);
    // The key made its columns NOT NULL; the expected schema may not.
    std::string fix = ddl_.DropConstraint(e, a.primary_key->name);
    for (const auto& column : a.primary_key->columns) {
      const Column* ec = e.FindColumn(column);
      if (ec != nullptr && !ec->not_null) {
        fix += fmt::format("\nALTER TABLE {} ALTER COLUMN {} DROP NOT NULL;",
                           QT(e), Q(column));
      }
    }
    Step(f, FixPhase::kDropConstraint, fix);
    dropped_keys_[KeyName(table, a.primary_key->columns)] = f;
  }
  for (const auto& u : e.uniques) {
    auto same = std::find_if(
        a.uniques.begin(), a.uniques.end(),
        [&](const KeyConstraint& x) { return x.columns == u.columns; });
    if (same != a.uniques.end()) {
      RenamedConstraint(e, u.name, same->name);
      continue;
    }
    std::size_t f =
        Add(Severity::kError, "missing_constraint", e,
            table + "." + (u.name.empty() ? Join(u.columns, ",") : u.name),
            fmt::format("unique constraint on {} ({}) is missing", table,
                        Join(u.columns, ", ")));
    F(f).expected = "UNIQUE (" + Join(u.columns, ", ") + ")";
    Hazard(f, {kAccessExclusiveLock, kIndexBuild});
    Step(f, FixPhase::kConstraint,
         fmt::format("ALTER TABLE {} ADD {}UNIQUE ({});", QT(e), name(u.name),
                     ddl_.QList(u.columns)),
         kKeyRank);
  }
  for (const auto& u : a.uniques) {
    bool found = std::any_of(
        e.uniques.begin(), e.uniques.end(),
        [&](const KeyConstraint& x) { return x.columns == u.columns; });
    if (found) continue;
    std::size_t f = Add(
        Severity::kWarning, "extra_constraint", e, table + "." + u.name,
        fmt::format("unique constraint {} on {} is not in the expected schema",
                    u.name, table));
    F(f).actual = "UNIQUE (" + Join(u.columns, ", ") + ")";
    Hazard(f, {kAccessExclusiveLock});
    Destructive(f);
    Step(f, FixPhase::kDropConstraint, ddl_.DropConstraint(e, u.name));
    dropped_keys_[KeyName(table, u.columns)] = f;
  }
}

void Differ::CompareChecks(const Table& e, const Table& a) {
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
    if (named != nullptr) {
      used.insert(named);
      std::size_t f =
          Add(Severity::kError, "constraint_mismatch", e, object,
              fmt::format("check constraint {} on {} has a different body",
                          c.name, Key(e)));
      F(f).expected = c.expression;
      F(f).actual = named->expression;
      Step(f, FixPhase::kDropConstraint, ddl_.DropConstraint(e, c.name));
      AddConstraintSteps(f, FixPhase::kConstraint, e, c.name, c.expression,
                         false);
      continue;
    }
    std::size_t f =
        Add(Severity::kError, "missing_constraint", e, object,
            fmt::format("check constraint {} on {} is missing",
                        c.name.empty() ? c.expression : c.name, Key(e)));
    F(f).expected = c.expression;
    AddConstraintSteps(f, FixPhase::kConstraint, e, c.name, c.expression,
                       false);
  }
  for (const auto& x : a.checks) {
    if (used.count(&x) > 0) continue;
    std::size_t f = Add(
        Severity::kWarning, "extra_constraint", e, Key(e) + "." + x.name,
        fmt::format("check constraint {} on {} is not in the expected schema",
                    x.name, Key(e)));
    F(f).actual = x.expression;
    Hazard(f, {kAccessExclusiveLock});
    Destructive(f);
    Step(f, FixPhase::kDropConstraint, ddl_.DropConstraint(e, x.name));
  }
}

void Differ::CompareExclusions(const Table& e, const Table& a) {
  std::set<const ExclusionConstraint*> used;
  for (const auto& x : e.exclusions) {
    const ExclusionConstraint* same = nullptr;
    const ExclusionConstraint* named = nullptr;
    for (const auto& y : a.exclusions) {
      if (used.count(&y) > 0) continue;
      if (same == nullptr &&
          FoldWhitespace(y.definition) == FoldWhitespace(x.definition))
        same = &y;
      if (y.name == x.name) named = &y;
    }
    if (same != nullptr) {
      used.insert(same);
      RenamedConstraint(e, x.name, same->name);
      continue;
    }
    std::string object = Key(e) + "." + x.name;
    std::size_t f =
        named != nullptr
            ? Add(Severity::kError, "constraint_mismatch", e, object,
                  fmt::format("exclusion constraint {} on {} is different",
                              x.name, Key(e)))
            : Add(Severity::kError, "missing_constraint", e, object,
                  fmt::format("exclusion constraint {} on {} is missing",
                              x.name, Key(e)));
    F(f).expected = x.definition;
    Hazard(f, {kAccessExclusiveLock, kIndexBuild});
    if (named != nullptr) {
      used.insert(named);
      F(f).actual = named->definition;
      Step(f, FixPhase::kDropConstraint, ddl_.DropConstraint(e, x.name));
    }
    Step(f, FixPhase::kConstraint,
         fmt::format("ALTER TABLE {} ADD CONSTRAINT {} {};", QT(e), Q(x.name),
                     x.definition),
         kCheckRank);
  }
  for (const auto& y : a.exclusions) {
    if (used.count(&y) > 0) continue;
    std::size_t f =
        Add(Severity::kWarning, "extra_constraint", e, Key(e) + "." + y.name,
            fmt::format(
                "exclusion constraint {} on {} is not in the expected schema",
                y.name, Key(e)));
    F(f).actual = y.definition;
    Hazard(f, {kAccessExclusiveLock});
    Destructive(f);
    Step(f, FixPhase::kDropConstraint, ddl_.DropConstraint(e, y.name));
  }
}

void Differ::NotValidated(const Table& t, const std::string& name) {
  std::size_t f = Add(
      Severity::kWarning, "not_validated_constraint", t, Key(t) + "." + name,
      fmt::format("constraint {} on {} is NOT VALID", name, Key(t)));
  F(f).expected = "validated";
  F(f).actual = "NOT VALID";
  Hazard(f, {kValidationScan});
  Step(f, FixPhase::kForeignKey,
       fmt::format("ALTER TABLE {} VALIDATE CONSTRAINT {};", QT(t), Q(name)),
       1);
}

std::size_t Differ::MissingForeignKey(const Table& t, const ForeignKey& fk,
                                      bool new_table) {
  std::size_t f = Add(
      Severity::kError, "missing_constraint", t,
      Key(t) + "." + (fk.name.empty() ? Join(fk.columns, ",") : fk.name),
      fmt::format("foreign key {} {} is missing", Key(t), ForeignKeyShape(fk)));
  F(f).expected = ForeignKeyShape(fk) + " " + ForeignKeyBehaviour(fk);
  AddConstraintSteps(f, FixPhase::kForeignKey, t, fk.name,
                     ddl_.ForeignKeyClause(fk), new_table);
  return f;
}

void Differ::CompareForeignKeys(const Table& e, const Table& a) {
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
      std::size_t f = Add(Severity::kError, "constraint_mismatch", e,
                          Key(e) + "." + same->name,
                          fmt::format("foreign key {} on {} has other actions",
                                      same->name, Key(e)));
      F(f).expected = ForeignKeyBehaviour(fk);
      F(f).actual = ForeignKeyBehaviour(*same);
      std::string name = fk.name.empty() ? same->name : fk.name;
      Step(f, FixPhase::kDropForeignKey, ddl_.DropConstraint(e, same->name));
      AddConstraintSteps(f, FixPhase::kForeignKey, e, name,
                         ddl_.ForeignKeyClause(fk), false);
      continue;
    }
    RenamedConstraint(e, fk.name, same->name);
    if (fk.validated && !same->validated) NotValidated(e, same->name);
  }
  for (const auto& x : a.foreign_keys) {
    if (used.count(&x) > 0) continue;
    std::size_t f =
        Add(Severity::kWarning, "extra_constraint", e, Key(e) + "." + x.name,
            fmt::format("foreign key {} on {} is not in the expected schema",
                        x.name, Key(e)));
    F(f).actual = ForeignKeyShape(x);
    Hazard(f, {kAccessExclusiveLock});
    Destructive(f);
    Step(f, FixPhase::kDropForeignKey, ddl_.DropConstraint(e, x.name));
  }
}

void Differ::CompareIndexes(const Table& e, const Table& a) {
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
      std::size_t f =
          Add(Severity::kWarning, "index_mismatch", e, object,
              fmt::format("index {} on {} is {}, expected {}", i.name, Key(e),
                          IndexDescription(*named), IndexDescription(i)));
      F(f).expected = IndexDescription(i);
      F(f).actual = IndexDescription(*named);
      if (!Concurrently(e)) Hazard(f, {kAccessExclusiveLock});
      Step(f, FixPhase::kDropIndex,
           ddl_.DropIndex(e.schema, i.name, Concurrently(e)));
      IndexSteps(f, e, i, false);
      continue;
    }
    std::size_t f = Add(
        Severity::kError, "missing_index", e, object,
        fmt::format("index on {} {} is missing", Key(e), IndexDescription(i)));
    F(f).expected = IndexDescription(i);
    IndexSteps(f, e, i, false);
  }
  for (const auto& x : a.indexes) {
    if (used.count(&x) > 0) continue;
    std::size_t f =
        Add(Severity::kWarning, "extra_index", e,
            "index " + e.schema + "." + x.name,
            fmt::format("index {} on {} is not in the expected schema", x.name,
                        Key(e)));
    F(f).actual = IndexDescription(x);
    if (!Concurrently(e)) Hazard(f, {kAccessExclusiveLock});
    Destructive(f);
    Step(f, FixPhase::kDropIndex,
         ddl_.DropIndex(e.schema, x.name, Concurrently(e)));
  }
}

}  // namespace schema_guard::core
