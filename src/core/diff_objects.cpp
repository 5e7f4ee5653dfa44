// Objects beside tables: schemas, extensions, collations, enums, composite
// types and domains, sequences, functions and procedures.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "core/diff_internal.hpp"

namespace schema_guard::core {
namespace {

// Ranks within FixPhase::kFinalDrop: what uses a type or a function goes
// before it, and a schema goes when it is empty.
constexpr int kDropSequenceRank = 0;
constexpr int kDropFunctionRank = 1;
constexpr int kDropTypeRank = 2;
constexpr int kDropCollationRank = 3;
constexpr int kDropExtensionRank = 4;
constexpr int kDropSchemaRank = 5;

template <typename T>
const T* FindNamed(const std::vector<T>& items, const std::string& schema,
                   const std::string& name) {
  for (const auto& item : items) {
    if (item.schema == schema && item.name == name) return &item;
  }
  return nullptr;
}

std::string TypeBase(std::string type) {
  while (type.size() > 2 && type.compare(type.size() - 2, 2, "[]") == 0)
    type.resize(type.size() - 2);
  return type;
}

}  // namespace

std::string Differ::ObjectApp(const std::string& schema,
                              const std::string& name) const {
  std::string app = DjangoApp(name, expected_apps_);
  if (app.empty() ||
      !std::binary_search(expected_apps_.begin(), expected_apps_.end(), app)) {
    return schema;
  }
  return app;
}

// --- Schemas ------------------------------------------------------------

void Differ::CompareSchemas() {
  std::set<std::string> wanted;
  for (const auto& s : expected_.schema_infos) wanted.insert(s.name);
  for (const auto& t : expected_.tables) wanted.insert(t.schema);
  for (const auto& e : expected_.enums) wanted.insert(e.schema);
  if (expected_.kinds.types) {
    for (const auto& t : expected_.types) wanted.insert(t.schema);
  }
  if (expected_.kinds.sequences) {
    for (const auto& s : expected_.sequences) wanted.insert(s.schema);
  }
  if (expected_.kinds.functions) {
    for (const auto& f : expected_.functions) wanted.insert(f.schema);
  }
  if (!actual_.schemas_known) return;
  auto exists = [&](const std::string& s) {
    return std::find(actual_.schemas.begin(), actual_.schemas.end(), s) !=
           actual_.schemas.end();
  };
  for (const auto& s : wanted) {
    const SchemaInfo* info = nullptr;
    for (const auto& i : expected_.schema_infos) {
      if (i.name == s) info = &i;
    }
    const SchemaInfo* live = nullptr;
    for (const auto& i : actual_.schema_infos) {
      if (i.name == s) live = &i;
    }
    if (exists(s)) {
      if (info != nullptr && live != nullptr) {
        CompareAccess(s, "schema " + s, "SCHEMA", "SCHEMA", Q(s), info->access,
                      live->access);
      }
      continue;
    }
    std::size_t f = Add(Severity::kError, "missing_schema", s, s,
                        fmt::format("schema {} is missing", s));
    F(f).expected = "schema";
    Step(f, FixPhase::kSchema, fmt::format("CREATE SCHEMA {};", Q(s)));
    if (info != nullptr)
      AccessSteps(f, "SCHEMA", "SCHEMA", Q(s), info->access, nullptr);
  }
  if (!expected_.kinds.schemas) return;
  for (const auto& s : actual_.schemas) {
    if (wanted.count(s) != 0) continue;
    std::size_t f =
        Add(Severity::kWarning, "extra_schema", s, s,
            fmt::format("schema {} is not in the expected schema", s));
    F(f).actual = "schema";
    Destructive(f);
    // Its tables, functions and types go before it (their own findings).
    Step(f, FixPhase::kFinalDrop, fmt::format("DROP SCHEMA {};", Q(s)),
         kDropSchemaRank);
  }
}

// --- Extensions ---------------------------------------------------------

void Differ::CompareExtensions() {
  if (!expected_.kinds.extensions) return;
  auto find = [](const std::vector<Extension>& list, const std::string& name) {
    const Extension* found = nullptr;
    for (const auto& x : list) {
      if (x.name == name) found = &x;
    }
    return found;
  };
  for (const auto& e : expected_.extensions) {
    const Extension* a = find(actual_.extensions, e.name);
    std::string object = "extension " + e.name;
    if (a == nullptr) {
      std::size_t f =
          Add(Severity::kError, "missing_extension", e.schema, object,
              fmt::format("extension {} is missing", e.name));
      F(f).expected = e.version;
      Step(f, FixPhase::kExtension,
           fmt::format(
               "CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {}{};", Q(e.name),
               Q(e.schema),
               e.version.empty() ? "" : " VERSION " + Ddl::Literal(e.version)));
      continue;
    }
    if (!e.version.empty() && e.version != a->version) {
      std::size_t f =
          Add(Severity::kWarning, "extension_mismatch", e.schema, object,
              fmt::format("extension {} is at version {}, expected {}", e.name,
                          a->version, e.version));
      F(f).expected = e.version;
      F(f).actual = a->version;
      Step(f, FixPhase::kExtension,
           fmt::format("ALTER EXTENSION {} UPDATE TO {};", Q(e.name),
                       Ddl::Literal(e.version)));
    }
    if (e.schema != a->schema) {
      std::size_t f =
          Add(Severity::kWarning, "extension_mismatch", e.schema, object,
              fmt::format("extension {} is in schema {}, expected {}", e.name,
                          a->schema, e.schema));
      F(f).expected = e.schema;
      F(f).actual = a->schema;
      Step(f, FixPhase::kExtension,
           fmt::format("ALTER EXTENSION {} SET SCHEMA {};", Q(e.name),
                       Q(e.schema)));
    }
  }
  for (const auto& a : actual_.extensions) {
    if (find(expected_.extensions, a.name) != nullptr) continue;
    std::size_t f = Add(
        Severity::kWarning, "extra_extension", a.schema, "extension " + a.name,
        fmt::format("extension {} is not in the expected schema", a.name));
    F(f).actual = a.version;
    Destructive(f);
    Step(f, FixPhase::kFinalDrop, fmt::format("DROP EXTENSION {};", Q(a.name)),
         kDropExtensionRank);
  }
}

// --- Collations ---------------------------------------------------------

void Differ::CompareCollations() {
  if (!expected_.kinds.collations) return;
  for (const auto& e : expected_.collations) {
    const Collation* a = FindNamed(actual_.collations, e.schema, e.name);
    std::string object = e.schema + "." + e.name;
    if (a == nullptr) {
      std::size_t f =
          Add(Severity::kError, "missing_collation", e.schema, object,
              fmt::format("collation {} is missing", object));
      F(f).expected = ddl_.CreateCollation(e);
      Step(f, FixPhase::kCollation, ddl_.CreateCollation(e));
      continue;
    }
    if (e.provider == a->provider && e.locale == a->locale &&
        e.ctype == a->ctype && e.deterministic == a->deterministic) {
      if (expected_.kinds.comments && e.comment != a->comment) {
        std::size_t f =
            Add(Severity::kInfo, "comment_mismatch", e.schema, object,
                fmt::format("collation {} has another comment", object));
        Step(f, FixPhase::kComment,
             ddl_.Comment("COLLATION", QT(e.schema, e.name), e.comment));
      }
      continue;
    }
    std::size_t f =
        Add(Severity::kError, "collation_mismatch", e.schema, object,
            fmt::format("collation {} is defined otherwise", object));
    F(f).expected = ddl_.CreateCollation(e);
    F(f).actual = ddl_.CreateCollation(*a);
    Note(f, FixPhase::kCollation,
         fmt::format("PostgreSQL cannot change a collation in place, and the "
                     "columns that use it keep it: make the expected one under "
                     "a new name, move the columns to it (ALTER TABLE ... "
                     "ALTER COLUMN ... TYPE ... COLLATE ...), then drop {} and "
                     "rename the new one",
                     object));
  }
  for (const auto& a : actual_.collations) {
    if (FindNamed(expected_.collations, a.schema, a.name) != nullptr) continue;
    std::string object = a.schema + "." + a.name;
    std::size_t f =
        Add(Severity::kWarning, "extra_collation", a.schema, object,
            fmt::format("collation {} is not in the expected schema", object));
    Destructive(f);
    Step(f, FixPhase::kFinalDrop,
         fmt::format("DROP COLLATION {};", QT(a.schema, a.name)),
         kDropCollationRank);
  }
}

// --- Enums --------------------------------------------------------------

void Differ::CompareEnums() {
  for (const auto& e : expected_.enums) {
    const EnumType* a = FindNamed(actual_.enums, e.schema, e.name);
    std::string object = e.schema + "." + e.name;
    std::vector<std::string> literals;
    for (const auto& l : e.labels) literals.push_back(Ddl::Literal(l));
    if (a == nullptr) {
      std::size_t f = Add(Severity::kError, "enum_mismatch", e.schema, object,
                          fmt::format("enum type {} is missing", object));
      F(f).expected = Join(e.labels, ", ");
      Step(f, FixPhase::kType, ddl_.CreateEnum(e));
      AccessSteps(f, "TYPE", "TYPE", QT(e.schema, e.name), e.access, nullptr);
      continue;
    }
    CompareAccess(e.schema, object, "TYPE", "TYPE", QT(e.schema, e.name),
                  e.access, a->access);
    if (a->labels == e.labels) continue;
    std::size_t f =
        Add(Severity::kError, "enum_mismatch", e.schema, object,
            fmt::format("enum type {} has labels ({}), expected ({})", object,
                        Join(a->labels, ", "), Join(e.labels, ", ")));
    F(f).expected = Join(e.labels, ", ");
    F(f).actual = Join(a->labels, ", ");
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
      if (std::find(e.labels.begin(), e.labels.end(), l) != e.labels.end())
        live_order.push_back(l);
    }
    // A label added in a transaction cannot be used before it commits: a
    // transactional script that uses a new label rebuilds the type instead.
    bool new_label_used = false;
    for (const auto& l : e.labels) {
      if (has(l) || options_.online) continue;
      std::string literal = Ddl::Literal(l);
      for (const auto& t : expected_.tables) {
        for (const auto& c : t.columns) {
          if (c.default_expr &&
              c.default_expr->find(literal) != std::string::npos)
            new_label_used = true;
        }
        for (const auto& c : t.checks) {
          if (c.expression.find(literal) != std::string::npos)
            new_label_used = true;
        }
        if (t.view_definition.find(literal) != std::string::npos ||
            t.partition_bound.find(literal) != std::string::npos) {
          new_label_used = true;
        }
      }
    }
    if (kept != live_order || kept.size() != a->labels.size() ||
        new_label_used) {
      RecreateEnum(f, e, *a);
      continue;
    }
    for (std::size_t i = 0; i < e.labels.size(); ++i) {
      if (has(e.labels[i])) continue;
      std::string position;
      for (std::size_t j = i + 1; j < e.labels.size() && position.empty();
           ++j) {
        if (has(e.labels[j])) position = " BEFORE " + Ddl::Literal(e.labels[j]);
      }
      for (std::size_t j = i; j > 0 && position.empty(); --j) {
        position = " AFTER " + Ddl::Literal(e.labels[j - 1]);
      }
      Step(f, FixPhase::kType,
           fmt::format("ALTER TYPE {} ADD VALUE IF NOT EXISTS {}{};",
                       QT(e.schema, e.name), Ddl::Literal(e.labels[i]),
                       position),
           static_cast<int>(i));
    }
  }
  for (const auto& a : actual_.enums) {
    if (FindNamed(expected_.enums, a.schema, a.name) != nullptr) continue;
    std::string object = a.schema + "." + a.name;
    std::string reason = ExpectedOrphan(a.schema, a.name);
    std::size_t f = Add(
        reason.empty() ? Severity::kWarning : Severity::kInfo, "enum_mismatch",
        a.schema, object,
        reason.empty()
            ? fmt::format("enum type {} is not in the expected schema", object)
            : fmt::format("enum type {} is {}", object, reason));
    F(f).actual = Join(a.labels, ", ");
    if (!reason.empty()) continue;
    Hazard(f, {kAccessExclusiveLock});
    Destructive(f);
    Step(f, FixPhase::kFinalDrop,
         fmt::format("DROP TYPE {};", QT(a.schema, a.name)), kDropTypeRank);
  }
}

// Labels removed or reordered: the type is made again under its name and
// every column that uses it is moved over (cast through text), then the
// old one is dropped. Rows that hold a label the expected type does not
// have make the move fail: they must be changed first.
void Differ::RecreateEnum(std::size_t f, const EnumType& e, const EnumType& a) {
  std::string old_name = e.name + "_sg_old";
  std::string type = QT(e.schema, e.name);
  Hazard(f, {kAccessExclusiveLock, kTableRewrite});
  std::vector<std::string> gone;
  for (const auto& l : a.labels) {
    if (std::find(e.labels.begin(), e.labels.end(), l) == e.labels.end())
      gone.push_back(Ddl::Literal(l));
  }
  if (!gone.empty()) {
    Note(f, FixPhase::kType,
         fmt::format("rows holding {} fail the move to the new type: change "
                     "them to a label the type keeps first",
                     Join(gone, ", ")),
         -2);
  }
  Step(f, FixPhase::kType,
       fmt::format("ALTER TYPE {} RENAME TO {};", type, Q(old_name)), -1);
  Step(f, FixPhase::kType, ddl_.CreateEnum(e), -1);
  auto is_this = [&](const std::string& column_type) {
    std::string base = TypeBase(column_type);
    return base == e.name || base == e.schema + "." + e.name;
  };
  for (const auto& t : actual_.tables) {
    if (t.kind != TableKind::kTable && t.kind != TableKind::kPartitionedTable)
      continue;
    // Columns the expected schema keeps of this type; the others are
    // dropped or retyped by findings of their own.
    const Table* et = ExpectedTable(Key(t));
    if (et == nullptr || et->kind != t.kind) continue;
    for (const auto& c : t.columns) {
      const Column* ec = et->FindColumn(c.name);
      if (c.inherited || !is_this(c.type) || ec == nullptr ||
          !is_this(ec->type)) {
        continue;
      }
      std::string suffix = c.type.substr(TypeBase(c.type).size());
      std::string sql = fmt::format("ALTER TABLE {} ", QT(t));
      if (c.default_expr) {
        sql += fmt::format("ALTER COLUMN {} DROP DEFAULT, ", Q(c.name));
      }
      sql += fmt::format("ALTER COLUMN {0} TYPE {1}{2} USING {0}::text::{1}{2}",
                         Q(c.name), type, suffix);
      if (NormalDefault(ec->default_expr)) {
        sql += fmt::format(", ALTER COLUMN {} SET DEFAULT {}", Q(c.name),
                           FoldWhitespace(*ec->default_expr));
      }
      Step(f, FixPhase::kAlter, sql + ";", -2);
      defaults_handled_.insert(Key(t) + "." + c.name);
      Disturb(f, Key(t), c.name);
    }
  }
  Step(f, FixPhase::kFinalDrop,
       fmt::format("DROP TYPE {};", QT(e.schema, old_name)), kDropTypeRank);
}

// --- Composite types and domains ---------------------------------------

void Differ::CompareTypes() {
  if (!expected_.kinds.types) return;
  for (const auto& e : expected_.types) {
    const UserType* a = FindNamed(actual_.types, e.schema, e.name);
    std::string object = e.schema + "." + e.name;
    std::string word = e.kind == "domain" ? "DOMAIN" : "TYPE";
    std::string name = QT(e.schema, e.name);
    int rank = e.kind == "domain" ? 1 : 2;
    if (a == nullptr) {
      std::size_t f =
          Add(Severity::kError, "missing_type", e.schema, object,
              fmt::format("{} {} is missing",
                          e.kind == "domain" ? "domain" : "type", object));
      F(f).expected = ddl_.CreateType(e);
      Step(f, FixPhase::kType, ddl_.CreateType(e), rank);
      AccessSteps(f, word, word, name, e.access, nullptr);
      continue;
    }
    CompareAccess(e.schema, object, word, word, name, e.access, a->access);
    if (e.kind != a->kind || (e.kind == "domain" && e.base != a->base)) {
      std::size_t f =
          Add(Severity::kError, "type_mismatch", e.schema, object,
              fmt::format("{} is {}, expected {}", object,
                          a->kind == "domain" ? "a domain over " + a->base
                                              : "a composite type",
                          e.kind == "domain" ? "a domain over " + e.base
                                             : "a composite type"));
      F(f).expected = ddl_.CreateType(e);
      F(f).actual = ddl_.CreateType(*a);
      Note(f, FixPhase::kType,
           fmt::format("PostgreSQL cannot change the base of a domain or turn "
                       "a type into another kind in place: the columns that "
                       "use {} must move to a new type by hand",
                       object));
      continue;
    }
    std::string fix;
    if (e.kind == "domain") {
      if (NormalDefault(e.default_expr) != NormalDefault(a->default_expr)) {
        fix += e.default_expr
                   ? fmt::format("ALTER DOMAIN {} SET DEFAULT {};\n", name,
                                 *e.default_expr)
                   : fmt::format("ALTER DOMAIN {} DROP DEFAULT;\n", name);
      }
      if (e.not_null != a->not_null) {
        fix += fmt::format("ALTER DOMAIN {} {} NOT NULL;\n", name,
                           e.not_null ? "SET" : "DROP");
      }
      for (const auto& c : a->checks) {
        bool kept = std::any_of(
            e.checks.begin(), e.checks.end(), [&](const CheckConstraint& x) {
              return x.name == c.name && FoldWhitespace(x.expression) ==
                                             FoldWhitespace(c.expression);
            });
        if (!kept)
          fix += fmt::format("ALTER DOMAIN {} DROP CONSTRAINT {};\n", name,
                             Q(c.name));
      }
      for (const auto& c : e.checks) {
        bool present = std::any_of(
            a->checks.begin(), a->checks.end(), [&](const CheckConstraint& x) {
              return x.name == c.name && FoldWhitespace(x.expression) ==
                                             FoldWhitespace(c.expression);
            });
        if (!present)
          fix += fmt::format("ALTER DOMAIN {} ADD CONSTRAINT {} {};\n", name,
                             Q(c.name), c.expression);
      }
    } else {
      for (const auto& x : a->attributes) {
        bool kept = std::any_of(
            e.attributes.begin(), e.attributes.end(),
            [&](const TypeAttribute& y) { return y.name == x.name; });
        if (!kept)
          fix += fmt::format("ALTER TYPE {} DROP ATTRIBUTE {};\n", name,
                             Q(x.name));
      }
      for (const auto& y : e.attributes) {
        auto x = std::find_if(
            a->attributes.begin(), a->attributes.end(),
            [&](const TypeAttribute& z) { return z.name == y.name; });
        if (x == a->attributes.end()) {
          fix += fmt::format(
              "ALTER TYPE {} ADD ATTRIBUTE {} {}{};\n", name, Q(y.name), y.type,
              y.collation.empty() ? ""
                                  : " COLLATE " + ddl_.QDotted(y.collation));
        } else if (x->type != y.type || x->collation != y.collation) {
          fix += fmt::format("ALTER TYPE {} ALTER ATTRIBUTE {} TYPE {}{};\n",
                             name, Q(y.name), y.type,
                             y.collation.empty()
                                 ? ""
                                 : " COLLATE " + ddl_.QDotted(y.collation));
        }
      }
    }
    if (fix.empty()) continue;
    fix.pop_back();
    std::size_t f =
        Add(Severity::kError, "type_mismatch", e.schema, object,
            fmt::format("{} {} is defined otherwise",
                        e.kind == "domain" ? "domain" : "type", object));
    F(f).expected = ddl_.CreateType(e);
    F(f).actual = ddl_.CreateType(*a);
    Hazard(f, {kAccessExclusiveLock});
    Step(f, FixPhase::kType, fix, rank + 2);
  }
  for (const auto& a : actual_.types) {
    if (FindNamed(expected_.types, a.schema, a.name) != nullptr) continue;
    std::string object = a.schema + "." + a.name;
    std::string reason = ExpectedOrphan(a.schema, a.name);
    std::size_t f = Add(
        reason.empty() ? Severity::kWarning : Severity::kInfo, "extra_type",
        a.schema, object,
        reason.empty()
            ? fmt::format("{} {} is not in the expected schema",
                          a.kind == "domain" ? "domain" : "type", object)
            : fmt::format("{} {} is {}", a.kind == "domain" ? "domain" : "type",
                          object, reason));
    if (!reason.empty()) continue;
    Destructive(f);
    Step(f, FixPhase::kFinalDrop,
         fmt::format("DROP {} {};", a.kind == "domain" ? "DOMAIN" : "TYPE",
                     QT(a.schema, a.name)),
         kDropTypeRank - (a.kind == "domain" ? 0 : 1));
  }
}

// --- Sequences ----------------------------------------------------------

void Differ::CompareSequences() {
  if (!expected_.kinds.sequences) return;
  auto owned_by = [&](const Sequence& s) {
    if (s.owned_by.empty()) return std::string("NONE");
    std::size_t dot = s.owned_by.rfind('.');
    return ddl_.QDotted(s.owned_by.substr(0, dot)) + "." +
           Q(s.owned_by.substr(dot + 1));
  };
  for (const auto& e : expected_.sequences) {
    const Sequence* a = FindNamed(actual_.sequences, e.schema, e.name);
    std::string object = e.schema + "." + e.name;
    std::string name = QT(e.schema, e.name);
    std::string app = ObjectApp(e.schema, e.name);
    if (a == nullptr) {
      std::size_t f = Add(Severity::kError, "missing_sequence", app, object,
                          fmt::format("sequence {} is missing", object));
      F(f).expected = ddl_.CreateSequence(e);
      Step(f, FixPhase::kSequence, ddl_.CreateSequence(e));
      // OWNED BY needs the table and the same owner as the table: after
      // the owners are set.
      if (!e.owned_by.empty()) {
        Step(f, FixPhase::kAccess,
             fmt::format("ALTER SEQUENCE {} OWNED BY {};", name, owned_by(e)),
             2);
      }
      AccessSteps(f, "SEQUENCE", "SEQUENCE", name, e.access, nullptr);
      continue;
    }
    // A sequence OWNED BY a column has its table's owner: ALTER TABLE
    // ... OWNER TO moves it along.
    Access compared = e.access;
    if (!e.owned_by.empty()) compared.owner = a->access.owner;
    CompareAccess(app, object, "SEQUENCE", "SEQUENCE", name, compared,
                  a->access);
    if (e.type != a->type || e.start != a->start ||
        e.increment != a->increment || e.min != a->min || e.max != a->max ||
        e.cache != a->cache || e.cycle != a->cycle) {
      std::size_t f =
          Add(Severity::kWarning, "sequence_mismatch", app, object,
              fmt::format("sequence {} is defined otherwise", object));
      F(f).expected = ddl_.CreateSequence(e);
      F(f).actual = ddl_.CreateSequence(*a);
      Step(f, FixPhase::kSequence,
           fmt::format("ALTER SEQUENCE {} AS {} INCREMENT BY {} MINVALUE {} "
                       "MAXVALUE {} START WITH {} CACHE {}{};",
                       name, e.type, e.increment, e.min, e.max, e.start,
                       e.cache, e.cycle ? " CYCLE" : " NO CYCLE"));
    }
    if (e.owned_by != a->owned_by) {
      std::size_t f =
          Add(Severity::kWarning, "sequence_mismatch", app, object,
              fmt::format("sequence {} is owned by {}, expected {}", object,
                          a->owned_by.empty() ? "nothing" : a->owned_by,
                          e.owned_by.empty() ? "nothing" : e.owned_by));
      F(f).expected = e.owned_by;
      F(f).actual = a->owned_by;
      // Unlinked first: a sequence goes with the table or column that
      // owns it, and must be free to change owner. Linked again once the
      // table and the owners are as expected.
      if (!a->owned_by.empty()) {
        Step(f, FixPhase::kDropDependent,
             fmt::format("ALTER SEQUENCE {} OWNED BY NONE;", name), -1);
      }
      if (!e.owned_by.empty()) {
        Step(f, FixPhase::kAccess,
             fmt::format("ALTER SEQUENCE {} OWNED BY {};", name, owned_by(e)),
             2);
      }
    }
  }
  // The sequences of the expected schema's serial columns are not
  // standalone ones, even where the live column lost its default.
  std::set<std::string> serial;
  for (const auto& t : expected_.tables) {
    for (const auto& s : t.sequences) serial.insert(t.schema + "." + s.name);
  }
  for (const auto& a : actual_.sequences) {
    if (FindNamed(expected_.sequences, a.schema, a.name) != nullptr ||
        serial.count(a.schema + "." + a.name) != 0) {
      continue;
    }
    std::string object = a.schema + "." + a.name;
    std::string reason = ExpectedOrphan(a.schema, a.name);
    std::size_t f = Add(
        reason.empty() ? Severity::kWarning : Severity::kInfo, "extra_sequence",
        ObjectApp(a.schema, a.name), object,
        reason.empty()
            ? fmt::format("sequence {} is not in the expected schema", object)
            : fmt::format("sequence {} is {}", object, reason));
    F(f).actual = ddl_.CreateSequence(a);
    if (!reason.empty()) continue;
    Destructive(f);
    Step(f, FixPhase::kFinalDrop,
         fmt::format("DROP SEQUENCE IF EXISTS {};", QT(a.schema, a.name)),
         kDropSequenceRank);
  }
}

// --- Functions and procedures --------------------------------------------

void Differ::CompareFunctions() {
  if (!expected_.kinds.functions) return;
  std::map<std::string, const Function*> live;
  for (const auto& a : actual_.functions) live.emplace(a.Signature(), &a);
  std::set<std::string> seen;
  for (const auto& e : expected_.functions) {
    std::string object = e.Signature();
    seen.insert(object);
    std::string word = e.kind == "procedure" ? "PROCEDURE" : "FUNCTION";
    std::string name = QT(e.schema, e.name) + "(" + e.identity + ")";
    std::string app = e.app.empty() ? ObjectApp(e.schema, e.name) : e.app;
    auto it = live.find(object);
    if (it == live.end()) {
      std::size_t f = Add(Severity::kError, "missing_function", app, object,
                          fmt::format("{} {} is missing", e.kind, object));
      F(f).expected = e.definition;
      Step(f, FixPhase::kFunction, ddl_.CreateFunctionOrReplace(e));
      AccessSteps(f, word, word, name, e.access, nullptr);
      continue;
    }
    const Function& a = *it->second;
    CompareAccess(app, object, word, word, name, e.access, a.access);
    std::vector<std::string> differences;
    if (e.kind != a.kind) differences.push_back("kind");
    if (e.arguments != a.arguments) differences.push_back("arguments");
    if (e.result != a.result) differences.push_back("result");
    if (e.language != a.language) differences.push_back("language");
    if (e.body_md5 != a.body_md5) differences.push_back("body");
    if (e.volatility != a.volatility) differences.push_back("volatility");
    if (e.strict != a.strict) differences.push_back("strictness");
    if (e.security_definer != a.security_definer)
      differences.push_back("security");
    if (e.config != a.config) differences.push_back("settings");
    if (differences.empty()) continue;
    std::size_t f = Add(Severity::kError, "function_mismatch", app, object,
                        fmt::format("{} {} differs in its {}", e.kind, object,
                                    Join(differences, ", ")));
    F(f).expected = e.definition;
    F(f).actual = a.definition;
    if (Replaceable(e, a)) {
      Step(f, FixPhase::kFunction, ddl_.CreateFunctionOrReplace(e));
      continue;
    }
    // CREATE OR REPLACE cannot change the result type, argument names or
    // defaults: the function is dropped (after what uses it went) and made
    // again.
    Hazard(f, {kAccessExclusiveLock});
    Step(f, FixPhase::kDropDependent, ddl_.DropFunction(a), 1000);
    Step(f, FixPhase::kFunction, ddl_.CreateFunctionOrReplace(e));
    AccessSteps(f, word, word, name, e.access, &a.access);
  }
  for (const auto& a : actual_.functions) {
    std::string object = a.Signature();
    if (seen.count(object) != 0) continue;
    std::string reason = ExpectedOrphan(a.schema, a.name);
    std::size_t f = Add(
        reason.empty() ? Severity::kWarning : Severity::kInfo, "extra_function",
        a.app.empty() ? ObjectApp(a.schema, a.name) : a.app, object,
        reason.empty()
            ? fmt::format("{} {} is not in the expected schema", a.kind, object)
            : fmt::format("{} {} is {}", a.kind, object, reason));
    F(f).actual = a.definition;
    if (!reason.empty()) continue;
    Destructive(f);
    Step(f, FixPhase::kFinalDrop, ddl_.DropFunction(a), kDropFunctionRank);
  }
}

}  // namespace schema_guard::core
