// Columns: missing, extra, renamed, type, collation, generation,
// nullability, identity, serial and default differences.
#include <fmt/format.h>

#include <algorithm>

#include "core/diff_internal.hpp"

namespace schema_guard::core {
namespace {

// Ranks within FixPhase::kAlter for one column: an identity is dropped
// before NOT NULL can be, NOT NULL is set before an identity can be added,
// and defaults come last.
constexpr int kDropIdentityRank = 0;
constexpr int kNullabilityRank = 1;
constexpr int kAddIdentityRank = 2;
constexpr int kDefaultRank = 3;

bool SerialLike(const Table& t, const Column& c) {
  if (c.serial) return true;
  if (!c.identity.empty() || !IsNextval(c.default_expr)) return false;
  return std::any_of(
      t.sequences.begin(), t.sequences.end(),
      [&](const OwnedSequence& s) { return s.column == c.name; });
}

bool InPrimaryKey(const Table& t, const std::string& column) {
  return t.primary_key &&
         std::find(t.primary_key->columns.begin(), t.primary_key->columns.end(),
                   column) != t.primary_key->columns.end();
}

const OwnedSequence* SequenceOf(const Table& t, const std::string& column) {
  for (const auto& s : t.sequences) {
    if (s.column == column) return &s;
  }
  return nullptr;
}

std::string WithoutArray(std::string type) {
  while (type.size() > 2 && type.compare(type.size() - 2, 2, "[]") == 0)
    type.resize(type.size() - 2);
  return type;
}

}  // namespace

bool Differ::IsUserType(const std::string& type) const {
  std::string base = WithoutArray(type);
  for (const Schema* s : {&expected_, &actual_}) {
    for (const auto& e : s->enums) {
      if (base == e.name || base == e.schema + "." + e.name) return true;
    }
    for (const auto& t : s->types) {
      if (base == t.name || base == t.schema + "." + t.name) return true;
    }
  }
  return false;
}

// A sequence a column owns must have its table's owner.
std::string Differ::SameOwner(const std::string& sequence,
                              const Table& live) const {
  if (live.access.owner.empty()) return "";
  return ddl_.Owner("SEQUENCE", sequence, live.access.owner) + "\n";
}

std::string Differ::Setval(const Table& t, const Column& c) const {
  return fmt::format(
      "SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence('{0}', "
      "'{1}'), coalesce(max({2}), 0) + 1, false) FROM {3};",
      Ddl::Escape(QT(t)), Ddl::Escape(Q(c.name)), Q(c.name), QT(t));
}

void Differ::CompareColumns(const Table& e, const Table& a) {
  std::vector<const Column*> missing;
  for (const auto& ec : e.columns) {
    if (ec.inherited) continue;  // the parent's finding covers it
    const Column* ac = a.FindColumn(ec.name);
    if (ac == nullptr) {
      missing.push_back(&ec);
      continue;
    }
    if (ac->inherited) continue;
    CompareColumn(e, a, ec, *ac);
  }
  std::vector<const Column*> extra;
  for (const auto& ac : a.columns) {
    if (!ac.inherited && e.FindColumn(ac.name) == nullptr) extra.push_back(&ac);
  }
  for (const Column* m : missing) {
    std::string object = Key(e) + "." + m->name;
    auto renamed =
        std::find_if(extra.begin(), extra.end(), [&](const Column* x) {
          return x->type == m->type && x->not_null == m->not_null;
        });
    if (renamed != extra.end()) {
      std::size_t f =
          Add(Severity::kWarning, "possible_rename", e, object,
              fmt::format(
                  "column {} is missing and {}.{} has the same shape: renamed?",
                  object, Key(e), (*renamed)->name));
      F(f).expected = m->name;
      F(f).actual = (*renamed)->name;
      Hazard(f, {kAccessExclusiveLock});
      Step(f, FixPhase::kAlter,
           fmt::format("ALTER TABLE {} RENAME COLUMN {} TO {};", QT(e),
                       Q((*renamed)->name), Q(m->name)),
           -2);
      // The rest of what differs, under the new name, in the same round.
      Column as_renamed = **renamed;
      as_renamed.name = m->name;
      CompareColumn(e, a, *m, as_renamed);
      extra.erase(renamed);
      continue;
    }
    std::size_t f = Add(Severity::kError, "missing_column", e, object,
                        fmt::format("column {} is missing", object));
    F(f).expected = ddl_.ColumnDefinition(e, *m);
    Hazard(f, {kAccessExclusiveLock});
    if (!m->generated.empty() || !m->identity.empty() || SerialLike(e, *m))
      Hazard(f, {kTableRewrite});
    Step(f, FixPhase::kAlter,
         fmt::format("ALTER TABLE {} ADD COLUMN {};", QT(e),
                     ddl_.ColumnDefinition(e, *m)),
         -1);
    if (expected_.kinds.comments && !m->comment.empty()) {
      Step(f, FixPhase::kComment,
           ddl_.Comment("COLUMN", QT(e) + "." + Q(m->name), m->comment));
    }
  }
  for (const Column* x : extra) {
    std::string object = Key(e) + "." + x->name;
    std::size_t f =
        Add(Severity::kWarning, "extra_column", e, object,
            fmt::format("column {} is not in the expected schema", object));
    F(f).actual = ddl_.ColumnDefinition(a, *x);
    Hazard(f, {kAccessExclusiveLock, kDeletesData});
    Destructive(f);
    Step(f, FixPhase::kDropColumn,
         fmt::format("ALTER TABLE {} DROP COLUMN {};", QT(e), Q(x->name)));
    Disturb(f, Key(e), x->name);
  }
}

void Differ::CompareColumn(const Table& et, const Table& at, const Column& e,
                           const Column& a) {
  std::string object = Key(et) + "." + e.name;
  CompareType(et, e, a);
  if (e.collation != a.collation) {
    std::size_t f =
        Add(Severity::kError, "collation_mismatch", et, object,
            fmt::format("column {} has collation {}, expected {}", object,
                        a.collation.empty() ? "default" : a.collation,
                        e.collation.empty() ? "default" : e.collation));
    F(f).expected = e.collation;
    F(f).actual = a.collation;
    Hazard(f, {kAccessExclusiveLock, kIndexBuild});
    bool custom = e.collation.str().find('.') != std::string::npos;
    auto exists = [&](const Schema& s) {
      return std::any_of(s.collations.begin(), s.collations.end(),
                         [&](const Collation& c) {
                           return c.schema + "." + c.name == e.collation;
                         });
    };
    if (custom && !exists(actual_) &&
        !(expected_.kinds.collations && exists(expected_))) {
      Note(f, FixPhase::kAlter,
           fmt::format("collation {} does not exist in this database: create "
                       "it first (CREATE COLLATION ..., as in the database the "
                       "expected schema came from), then run ALTER TABLE {} "
                       "ALTER COLUMN {} TYPE {} COLLATE {};",
                       e.collation, QT(et), Q(e.name), e.type,
                       ddl_.QDotted(e.collation)));
    } else {
      Step(f, FixPhase::kAlter,
           fmt::format(
               "ALTER TABLE {} ALTER COLUMN {} TYPE {} COLLATE {};", QT(et),
               Q(e.name), e.type,
               e.collation.empty() ? Q("default") : ddl_.QDotted(e.collation)),
           -1);
      Disturb(f, Key(et), e.name);
    }
  }
  if (FoldWhitespace(e.generated) != FoldWhitespace(a.generated)) {
    std::size_t f =
        Add(Severity::kError, "generated_mismatch", et, object,
            fmt::format("column {} is generated as {}, expected {}", object,
                        a.generated.empty() ? "nothing" : a.generated,
                        e.generated.empty() ? "nothing" : e.generated));
    F(f).expected = e.generated;
    F(f).actual = a.generated;
    Hazard(f, {kAccessExclusiveLock, kTableRewrite});
    if (e.generated.empty()) {
      Step(f, FixPhase::kAlter,
           fmt::format("ALTER TABLE {} ALTER COLUMN {} DROP EXPRESSION;",
                       QT(et), Q(e.name)));
    } else {
      Step(f, FixPhase::kAlter,
           fmt::format("ALTER TABLE {} DROP COLUMN {}, ADD COLUMN {};", QT(et),
                       Q(e.name), ddl_.ColumnDefinition(et, e)),
           -1);
      Disturb(f, Key(et), e.name);
    }
    return;
  }
  CompareNullability(et, at, e, a);
  CompareNumbering(et, at, e, a);
}

// A type change casts through text when either side is an enum, a domain
// or a composite type (no direct cast between two enums), and takes the
// default off while it runs (a default cannot always be cast) and puts the
// expected one back.
void Differ::CompareType(const Table& et, const Column& e, const Column& a) {
  if (e.type == a.type) return;
  std::string object = Key(et) + "." + e.name;
  std::size_t f =
      Add(Severity::kError, "type_mismatch", et, object,
          fmt::format("column {} is {}, expected {}", object, a.type, e.type));
  F(f).expected = e.type;
  F(f).actual = a.type;
  Hazard(f, {kAccessExclusiveLock, kTableRewrite});
  bool user = IsUserType(e.type) || IsUserType(a.type);
  bool castable =
      user || !options_.can_cast || options_.can_cast(a.type, e.type);
  std::string cast = user ? fmt::format("{}::text::{}", Q(e.name), e.type)
                          : fmt::format("{}::{}", Q(e.name), e.type);
  std::string sql = fmt::format("ALTER TABLE {} ", QT(et));
  if (!castable) {
    // No cast: the values cannot be kept. The column gets the expected
    // type with its values set to NULL, which loses them: destructive,
    // and the script says what to write instead.
    Hazard(f, {kDeletesData});
    Destructive(f);
    Note(f, FixPhase::kAlter,
         fmt::format("PostgreSQL has no cast from {} to {}: the values of {} "
                     "are lost below; to keep them, write the USING "
                     "expression that converts them instead of NULL",
                     a.type, e.type, object),
         -2);
    cast = "NULL";
    if (a.not_null)
      sql += fmt::format("ALTER COLUMN {} DROP NOT NULL, ", Q(e.name));
  }
  bool reset_default = a.default_expr && !IsNextval(a.default_expr) &&
                       a.identity.empty() && a.generated.empty();
  if (reset_default) {
    sql += fmt::format("ALTER COLUMN {} DROP DEFAULT, ", Q(e.name));
  }
  sql +=
      fmt::format("ALTER COLUMN {} TYPE {} USING {}", Q(e.name), e.type, cast);
  auto expected_default = NormalDefault(e.default_expr);
  if (reset_default && expected_default && e.identity.empty() &&
      !IsNextval(e.default_expr)) {
    sql += fmt::format(", ALTER COLUMN {} SET DEFAULT {}", Q(e.name),
                       FoldWhitespace(*e.default_expr));
  }
  Step(f, FixPhase::kAlter, sql + ";", -1);
  if (!castable && a.not_null && e.not_null) {
    Step(f, FixPhase::kAlter,
         fmt::format("ALTER TABLE {} ALTER COLUMN {} SET NOT NULL;", QT(et),
                     Q(e.name)),
         kNullabilityRank);
  }
  if (reset_default) defaults_handled_.insert(object);
  Disturb(f, Key(et), e.name);
}

void Differ::CompareNullability(const Table& et, const Table& at,
                                const Column& e, const Column& a) {
  if (e.not_null == a.not_null) return;
  if (!e.identity.empty() && !a.identity.empty()) return;
  // A primary key the expected schema does not have made the column NOT
  // NULL: dropping the key (extra_constraint) puts it back.
  if (!e.not_null && InPrimaryKey(at, e.name) && !InPrimaryKey(et, e.name))
    return;
  std::string object = Key(et) + "." + e.name;
  std::size_t f = Add(Severity::kError, "nullability_mismatch", et, object,
                      fmt::format("column {} is {}, expected {}", object,
                                  a.not_null ? "NOT NULL" : "nullable",
                                  e.not_null ? "NOT NULL" : "nullable"));
  F(f).expected = e.not_null ? "NOT NULL" : "NULL";
  F(f).actual = a.not_null ? "NOT NULL" : "NULL";
  if (!e.not_null) {
    Hazard(f, {kAccessExclusiveLock});
    Step(f, FixPhase::kAlter,
         fmt::format("ALTER TABLE {} ALTER COLUMN {} DROP NOT NULL;", QT(et),
                     Q(e.name)),
         kNullabilityRank);
  } else if (options_.online && et.kind == TableKind::kTable) {
    Hazard(f, {kValidationScan});
    std::string check = Q(et.name + "_" + e.name + "_not_null");
    Step(f, FixPhase::kAlter,
         fmt::format("ALTER TABLE {0} ADD CONSTRAINT {1} CHECK ({2} IS NOT "
                     "NULL) NOT VALID;\n"
                     "ALTER TABLE {0} VALIDATE CONSTRAINT {1};\n"
                     "ALTER TABLE {0} ALTER COLUMN {2} SET NOT NULL;\n"
                     "ALTER TABLE {0} DROP CONSTRAINT {1};",
                     QT(et), check, Q(e.name)),
         kNullabilityRank);
  } else {
    Hazard(f, {kAccessExclusiveLock, kValidationScan});
    Step(f, FixPhase::kAlter,
         fmt::format("ALTER TABLE {} ALTER COLUMN {} SET NOT NULL;", QT(et),
                     Q(e.name)),
         kNullabilityRank);
  }
}

// Identity, serial and plain defaults.
void Differ::CompareNumbering(const Table& et, const Table& at, const Column& e,
                              const Column& a) {
  // Named only in a finding: most columns compare equal.
  auto column_name = [&] { return Key(et) + "." + e.name; };
  bool e_serial = SerialLike(et, e);
  bool a_serial = IsNextval(a.default_expr);
  bool e_auto = !e.identity.empty() || e_serial;
  bool a_auto = !a.identity.empty() || a_serial;
  auto numbered_by = [](const Column& c) {
    return c.identity.empty() ? std::string("a sequence default (serial)")
                              : "an identity (" + c.identity + ")";
  };
  if (e_auto && a_auto) {
    if (e.identity == a.identity) {
      if (e_serial && expected_.names_matter && NormalDefault(e.default_expr) &&
          NormalDefault(e.default_expr) != NormalDefault(a.default_expr)) {
        DefaultMismatch(et, e, a);
      }
      return;
    }
    std::string object = column_name();
    std::size_t f = Add(Severity::kInfo, "identity_mismatch", et, object,
                        fmt::format("column {} is numbered by {}, expected {}",
                                    object, numbered_by(a), numbered_by(e)));
    F(f).expected = e.identity.empty() ? "serial" : "identity " + e.identity;
    F(f).actual = a.identity.empty() ? "serial" : "identity " + a.identity;
    Hazard(f, {kAccessExclusiveLock});
    std::string how = e.identity == "always" ? "ALWAYS" : "BY DEFAULT";
    if (!e.identity.empty() && !a.identity.empty()) {
      Step(f, FixPhase::kAlter,
           fmt::format("ALTER TABLE {} ALTER COLUMN {} SET GENERATED {};",
                       QT(et), Q(e.name), how),
           kAddIdentityRank);
    } else if (!e.identity.empty()) {
      // serial -> identity: the sequence default and its sequence go.
      Step(f, FixPhase::kAlter,
           fmt::format("ALTER TABLE {} ALTER COLUMN {} DROP DEFAULT;", QT(et),
                       Q(e.name)),
           kDropIdentityRank);
      if (const OwnedSequence* s = SequenceOf(at, a.name)) {
        Step(f, FixPhase::kAlter,
             fmt::format("DROP SEQUENCE IF EXISTS {};", QT(at.schema, s->name)),
             kDropIdentityRank);
      }
      Step(f, FixPhase::kAlter,
           fmt::format("ALTER TABLE {} ALTER COLUMN {} ADD GENERATED {} AS "
                       "IDENTITY;\n{}",
                       QT(et), Q(e.name), how, Setval(et, e)),
           kAddIdentityRank);
    } else {
      // identity -> serial.
      const OwnedSequence* s = SequenceOf(et, e.name);
      std::string name = s != nullptr && !s->name.empty()
                             ? s->name
                             : et.name + "_" + e.name + "_seq";
      std::string seq = QT(et.schema, name);
      Step(f, FixPhase::kAlter,
           fmt::format("ALTER TABLE {} ALTER COLUMN {} DROP IDENTITY;", QT(et),
                       Q(e.name)),
           kDropIdentityRank);
      Step(f, FixPhase::kAlter,
           fmt::format("CREATE SEQUENCE {0} AS {1};\n{6}"
                       "ALTER SEQUENCE {0} OWNED BY {2}.{3};\n{4}\n"
                       "ALTER TABLE {2} ALTER COLUMN {3} SET DEFAULT "
                       "nextval('{5}'::regclass);",
                       seq, e.type, QT(et), Q(e.name), Setval(et, e),
                       Ddl::Escape(seq), SameOwner(seq, at)),
           kAddIdentityRank);
    }
    return;
  }
  if (e_auto && !a_auto) {
    if (!e.identity.empty()) {
      std::string object = column_name();
      std::size_t f =
          Add(Severity::kError, "identity_mismatch", et, object,
              fmt::format(
                  "column {} is not an identity column, expected identity ({})",
                  object, e.identity));
      F(f).expected = "identity " + e.identity;
      F(f).actual = a.default_expr.value_or("(no default)");
      Hazard(f, {kAccessExclusiveLock});
      if (a.default_expr) {
        Step(f, FixPhase::kAlter,
             fmt::format("ALTER TABLE {} ALTER COLUMN {} DROP DEFAULT;", QT(et),
                         Q(e.name)),
             kDropIdentityRank);
      }
      Step(f, FixPhase::kAlter,
           fmt::format("ALTER TABLE {} ALTER COLUMN {} ADD GENERATED {} AS "
                       "IDENTITY;\n{}",
                       QT(et), Q(e.name),
                       e.identity == "always" ? "ALWAYS" : "BY DEFAULT",
                       Setval(et, e)),
           kAddIdentityRank);
    }
    // A serial column without its sequence: CompareSerialSequences.
    return;
  }
  if (!e_auto && !a.identity.empty()) {
    std::string object = column_name();
    std::size_t f = Add(
        Severity::kWarning, "identity_mismatch", et, object,
        fmt::format("column {} is an identity column, expected none", object));
    F(f).actual = "identity " + a.identity;
    Hazard(f, {kAccessExclusiveLock});
    Step(f, FixPhase::kAlter,
         fmt::format("ALTER TABLE {} ALTER COLUMN {} DROP IDENTITY;", QT(et),
                     Q(e.name)),
         kDropIdentityRank);
    // The default the plain column is expected to have, in the same round.
    if (auto d = NormalDefault(e.default_expr)) {
      Step(f, FixPhase::kAlter,
           fmt::format("ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {};", QT(et),
                       Q(e.name), FoldWhitespace(*e.default_expr)),
           kDefaultRank);
    }
    return;
  }
  if (e.default_expr != a.default_expr &&
      NormalDefault(e.default_expr) != NormalDefault(a.default_expr))
    DefaultMismatch(et, e, a);
}

void Differ::DefaultMismatch(const Table& t, const Column& e, const Column& a) {
  std::string object = Key(t) + "." + e.name;
  if (defaults_handled_.count(object) != 0) return;
  auto ed = NormalDefault(e.default_expr);
  auto ad = NormalDefault(a.default_expr);
  std::size_t f =
      Add(Severity::kWarning, "default_mismatch", t, object,
          fmt::format("column {} defaults to {}, expected {}", object,
                      ad.value_or("nothing"), ed.value_or("nothing")));
  F(f).expected = ed.value_or("");
  F(f).actual = ad.value_or("");
  Step(f, FixPhase::kAlter,
       ed ? fmt::format("ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {};", QT(t),
                        Q(e.name), FoldWhitespace(*e.default_expr))
          : fmt::format("ALTER TABLE {} ALTER COLUMN {} DROP DEFAULT;", QT(t),
                        Q(e.name)),
       kDefaultRank);
}

// Serial columns whose sequence default is gone, and sequences a column
// owns that the expected schema does not (a serial column made plain).
void Differ::CompareSerialSequences(const Table& e, const Table& a) {
  for (const auto& c : e.columns) {
    if (c.inherited || !SerialLike(e, c)) continue;
    const Column* ac = a.FindColumn(c.name);
    if (ac == nullptr || !ac->identity.empty() || IsNextval(ac->default_expr))
      continue;
    const OwnedSequence* owned = SequenceOf(e, c.name);
    std::string name = owned != nullptr && !owned->name.empty()
                           ? owned->name
                           : e.name + "_" + c.name + "_seq";
    std::string seq = QT(e.schema, name);
    std::size_t f =
        Add(Severity::kWarning, "missing_sequence", e, Key(e) + "." + c.name,
            fmt::format("column {}.{} has no sequence default, expected serial",
                        Key(e), c.name));
    F(f).expected = "nextval('" + e.schema + "." + name + "')";
    F(f).actual = ac->default_expr.value_or("");
    Hazard(f, {kAccessExclusiveLock});
    Step(
        f, FixPhase::kAlter,
        fmt::format("CREATE SEQUENCE IF NOT EXISTS {0};\n{4}"
                    "ALTER SEQUENCE {0} OWNED BY {1}.{2};\n"
                    "SELECT pg_catalog.setval('{3}', coalesce(max({2}), 0) + "
                    "1, false) FROM {1};\n"
                    "ALTER TABLE {1} ALTER COLUMN {2} SET DEFAULT "
                    "nextval('{3}'::regclass);",
                    seq, QT(e), Q(c.name), Ddl::Escape(seq), SameOwner(seq, a)),
        kDefaultRank);
  }
  for (const auto& s : a.sequences) {
    // A sequence the expected schema keeps on its own (OWNED BY): its
    // sequence_mismatch says so.
    bool standalone =
        expected_.kinds.sequences &&
        std::any_of(expected_.sequences.begin(), expected_.sequences.end(),
                    [&](const Sequence& x) {
                      return x.schema == a.schema && x.name == s.name;
                    });
    if (standalone) continue;
    const Column* ec = e.FindColumn(s.column);
    if (ec == nullptr || SerialLike(e, *ec) ||
        SequenceOf(e, s.column) != nullptr)
      continue;
    const Column* ac = a.FindColumn(s.column);
    // Identity columns own theirs; a serial column that becomes an
    // identity drops it in its identity_mismatch fix.
    if ((ac != nullptr && !ac->identity.empty()) || !ec->identity.empty())
      continue;
    std::string object = a.schema + "." + s.name;
    std::size_t f = Add(
        Severity::kWarning, "extra_sequence", e, object,
        fmt::format("sequence {} of column {}.{} is not in the expected schema",
                    object, Key(e), s.column));
    F(f).actual = object;
    Destructive(f);
    // After the column's default no longer uses it.
    Step(f, FixPhase::kFinalDrop,
         fmt::format("DROP SEQUENCE IF EXISTS {};", QT(a.schema, s.name)));
  }
}

}  // namespace schema_guard::core
