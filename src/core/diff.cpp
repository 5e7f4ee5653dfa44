#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <utility>

#include "core/diff_internal.hpp"

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

std::string FindingName(const Finding& f) { return f.kind + " " + f.object; }

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         text.compare(0, prefix.size(), prefix) == 0;
}

std::string Join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    out += items[i];
  }
  return out;
}

namespace {

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

bool IsView(const Table& t) {
  return t.kind == TableKind::kView || t.kind == TableKind::kMaterializedView;
}

bool IsIdentifierChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$';
}

// Whether `text` holds `word` as a whole identifier.
bool MentionsWord(const std::string& text, const std::string& word) {
  for (std::size_t at = text.find(word); at != std::string::npos;
       at = text.find(word, at + 1)) {
    bool before = at == 0 || !IsIdentifierChar(text[at - 1]);
    std::size_t end = at + word.size();
    bool after = end >= text.size() || !IsIdentifierChar(text[end]);
    if (before && after) return true;
  }
  return false;
}

std::string ColumnShape(const Table& t) {
  std::vector<std::string> shape;
  for (const auto& c : t.columns) shape.push_back(c.name + " " + c.type);
  std::sort(shape.begin(), shape.end());
  return Join(shape, ",");
}

}  // namespace

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

Differ::Differ(const Schema& expected, const Schema& actual,
               const DiffOptions& options)
    : expected_(expected),
      actual_(actual),
      options_(options),
      ddl_(options.quote) {
  for (const auto& t : expected_.tables) {
    expected_tables_.emplace(Key(t), &t);
    if (!t.app.empty()) expected_apps_.push_back(t.app);
  }
  for (const auto& t : actual_.tables) actual_tables_.emplace(Key(t), &t);
  std::sort(expected_apps_.begin(), expected_apps_.end());
  expected_apps_.erase(
      std::unique(expected_apps_.begin(), expected_apps_.end()),
      expected_apps_.end());
}

const Table* Differ::ExpectedTable(const std::string& key) const {
  auto it = expected_tables_.find(key);
  return it == expected_tables_.end() ? nullptr : it->second;
}

const Table* Differ::ActualTable(const std::string& key) const {
  auto it = actual_tables_.find(key);
  return it == actual_tables_.end() ? nullptr : it->second;
}

std::size_t Differ::Add(Severity severity, std::string kind, std::string app,
                        std::string object, std::string message) {
  Finding f;
  f.severity = severity;
  f.kind = std::move(kind);
  f.app = std::move(app);
  f.object = std::move(object);
  f.message = std::move(message);
  findings_.push_back(std::move(f));
  return findings_.size() - 1;
}

std::size_t Differ::Add(Severity severity, std::string kind, const Table& t,
                        std::string object, std::string message) {
  return Add(severity, std::move(kind), AppOf(t), std::move(object),
             std::move(message));
}

void Differ::Step(std::size_t f, FixPhase phase, std::string sql, int rank) {
  if (sql.empty()) return;
  findings_[f].steps.push_back(FixStep{phase, rank, std::move(sql), ""});
}

void Differ::Note(std::size_t f, FixPhase phase, std::string note, int rank) {
  findings_[f].steps.push_back(FixStep{phase, rank, "", std::move(note)});
}

void Differ::Hazard(std::size_t f,
                    std::initializer_list<std::string_view> names) {
  auto& hazards = findings_[f].hazards;
  for (auto n : names) {
    if (std::find(hazards.begin(), hazards.end(), n) == hazards.end())
      hazards.emplace_back(n);
  }
}

// --- Ranks ------------------------------------------------------------

void Differ::ComputeRanks() {
  // Creation depth in the expected schema: a partition or an inheritance
  // child after its parents, a view after what it reads.
  std::map<std::string, std::vector<std::string>> needs;
  std::vector<const Table*> views;
  for (const auto& t : expected_.tables) {
    if (IsView(t)) views.push_back(&t);
  }
  for (const auto& t : expected_.tables) {
    auto& list = needs[Key(t)];
    if (!t.partition_of.empty()) list.push_back(t.partition_of);
    for (const auto& p : t.inherits) list.push_back(p);
    if (!IsView(t)) continue;
    if (!t.depends_on.empty()) {
      for (const auto& d : t.depends_on) list.push_back(d);
      continue;
    }
    // A manifest without "depends_on": the views its definition names.
    for (const Table* v : views) {
      if (v != &t && MentionsWord(t.view_definition, v->name))
        list.push_back(Key(*v));
    }
  }
  std::function<int(const std::string&, int)> depth =
      [&](const std::string& key, int guard) -> int {
    auto known = create_rank_.find(key);
    if (known != create_rank_.end()) return known->second;
    int d = 0;
    if (guard < 64) {
      for (const auto& n : needs[key]) {
        if (expected_tables_.count(n) != 0)
          d = std::max(d, depth(n, guard + 1) + 1);
      }
    }
    create_rank_[key] = d;
    return d;
  };
  for (const auto& t : expected_.tables) depth(Key(t), 0);

  // Drop level in the live schema: what depends on a relation (views
  // reading it, its partitions and inheritance children) goes first.
  std::map<std::string, std::vector<std::string>> dependants;
  for (const auto& t : actual_.tables) {
    if (!t.partition_of.empty()) dependants[t.partition_of].push_back(Key(t));
    for (const auto& p : t.inherits) dependants[p].push_back(Key(t));
    for (const auto& d : t.depends_on) dependants[d].push_back(Key(t));
  }
  std::function<int(const std::string&, int)> level =
      [&](const std::string& key, int guard) -> int {
    auto known = drop_rank_.find(key);
    if (known != drop_rank_.end()) return known->second;
    int l = 0;
    if (guard < 64) {
      for (const auto& d : dependants[key]) {
        if (d != key) l = std::max(l, level(d, guard + 1) + 1);
      }
    }
    drop_rank_[key] = l;
    return l;
  };
  for (const auto& t : actual_.tables) level(Key(t), 0);
}

int Differ::CreateRank(const Table& t) const {
  auto it = create_rank_.find(Key(t));
  return it == create_rank_.end() ? 0 : it->second;
}

int Differ::DropRank(const Table& t) const {
  auto it = drop_rank_.find(Key(t));
  return it == drop_rank_.end() ? 0 : it->second;
}

// --- The run ----------------------------------------------------------

std::vector<Finding> Differ::Run() {
  ComputeRanks();
  CompareSchemas();
  CompareExtensions();
  CompareCollations();
  CompareEnums();
  CompareTypes();
  CompareSequences();
  CompareFunctions();
  CompareTables();
  AddDependents();
  for (auto& f : findings_) {
    std::stable_sort(
        f.steps.begin(), f.steps.end(), [](const FixStep& a, const FixStep& b) {
          return a.phase != b.phase ? a.phase < b.phase : a.rank < b.rank;
        });
    std::string fix;
    for (const auto& s : f.steps) {
      if (!fix.empty()) fix += "\n";
      fix += s.sql.empty() ? "-- " + s.note : s.sql;
    }
    f.fix = std::move(fix);
  }
  return std::move(findings_);
}

// --- Tables -----------------------------------------------------------

void Differ::CompareTables() {
  std::vector<const Table*> missing;
  std::set<std::string> matched;
  for (const auto& e : expected_.tables) {
    const Table* a = ActualTable(Key(e));
    if (a == nullptr) {
      missing.push_back(&e);
      continue;
    }
    matched.insert(Key(e));
    CompareTable(e, *a);
  }
  std::vector<const Table*> orphans;
  for (const auto& a : actual_.tables) {
    if (matched.count(Key(a)) == 0) orphans.push_back(&a);
  }
  for (const Table* m : missing) MissingTable(*m, orphans);
  std::set<std::string> expected_schemas;
  for (const auto& s : expected_.schema_infos) expected_schemas.insert(s.name);
  for (const auto& t : expected_.tables) expected_schemas.insert(t.schema);
  for (const Table* o : orphans) {
    bool extra_schema =
        expected_.kinds.schemas && expected_schemas.count(o->schema) == 0;
    OrphanTable(*o, extra_schema ? "extra_schema " + o->schema : "");
  }
}

void Differ::CompareTable(const Table& e, const Table& a) {
  if (e.kind != a.kind) {
    KindMismatch(e, a);
    return;
  }
  if (IsView(e)) {
    CompareView(e, a);
  } else {
    ComparePartitioning(e, a);
    CompareInheritance(e, a);
    if (expected_.kinds.persistence) ComparePersistence(e, a);
    CompareColumns(e, a);
    CompareKeys(e, a);
    CompareChecks(e, a);
    if (expected_.kinds.exclusions) CompareExclusions(e, a);
    CompareForeignKeys(e, a);
    CompareIndexes(e, a);
    CompareSerialSequences(e, a);
    if (expected_.kinds.policies) {
      CompareRowSecurity(e, a);
      ComparePolicies(e, a);
    }
  }
  if (expected_.kinds.triggers) CompareTriggers(e, a);
  CompareAccess(AppOf(e), Key(e), Ddl::RelationWord(e.kind), GrantWord(e),
                QT(e), e.access, a.access);
  if (expected_.kinds.comments) CompareComments(e, a);
}

std::string_view Differ::GrantWord(const Table&) const { return "TABLE"; }

void Differ::KindMismatch(const Table& e, const Table& a) {
  std::string table = Key(e);
  std::size_t f =
      Add(Severity::kError, "type_mismatch", e, table,
          fmt::format("{} is a {}, expected a {}", table, TableKindName(a.kind),
                      TableKindName(e.kind)));
  F(f).expected = std::string(TableKindName(e.kind));
  F(f).actual = std::string(TableKindName(a.kind));
  Hazard(f, {kAccessExclusiveLock});
  if (!IsView(a)) {
    Hazard(f, {kDeletesData});
    Destructive(f);
    Note(
        f, FixPhase::kDropTable,
        fmt::format("PostgreSQL cannot turn a {} into a {} in place: {} is "
                    "dropped and made again and its rows are lost; copy them "
                    "first (CREATE TABLE ... AS TABLE {}) if they matter, and "
                    "insert them back once it is made again",
                    TableKindName(a.kind), TableKindName(e.kind), table, table),
        DropRank(a));
  }
  RecreateRelation(f, e, a);
}

// A view is its definition: its columns follow from it.
void Differ::CompareView(const Table& e, const Table& a) {
  if (e.view_definition.empty() ||
      FoldWhitespace(e.view_definition) == FoldWhitespace(a.view_definition)) {
    if (e.kind == TableKind::kMaterializedView) CompareIndexes(e, a);
    return;
  }
  std::size_t f = Add(Severity::kWarning, "view_mismatch", e, Key(e),
                      fmt::format("{} {} has a different definition",
                                  TableKindName(e.kind), Key(e)));
  F(f).expected = e.view_definition;
  F(f).actual = a.view_definition;
  Hazard(f, {kAccessExclusiveLock});
  bool replaceable = e.kind == TableKind::kView;
  if (replaceable && !e.columns.empty()) {
    // CREATE OR REPLACE VIEW keeps the columns it had and may add more at
    // the end; it cannot drop, rename or retype one.
    replaceable = e.columns.size() >= a.columns.size();
    for (std::size_t i = 0; replaceable && i < a.columns.size(); ++i) {
      replaceable = e.columns[i].name == a.columns[i].name &&
                    e.columns[i].type == a.columns[i].type;
    }
  }
  if (replaceable) {
    Step(f, FixPhase::kView,
         fmt::format("CREATE OR REPLACE VIEW {} AS\n{};", QT(e),
                     TrimStatement(e.view_definition)),
         CreateRank(e));
    replaced_views_[Key(e)] = f;
    return;
  }
  if (e.kind == TableKind::kMaterializedView) Hazard(f, {kTableRewrite});
  RecreateRelation(f, e, a);
}

void Differ::ComparePartitioning(const Table& e, const Table& a) {
  std::string table = Key(e);
  if (!e.partition_key.empty() &&
      FoldWhitespace(e.partition_key) != FoldWhitespace(a.partition_key)) {
    std::size_t f =
        Add(Severity::kError, "partition_mismatch", e, table,
            fmt::format("{} is partitioned by {}, expected {}", table,
                        a.partition_key.empty() ? "nothing" : a.partition_key,
                        e.partition_key));
    F(f).expected = e.partition_key;
    F(f).actual = a.partition_key;
    Hazard(f, {kAccessExclusiveLock, kDeletesData});
    Destructive(f);
    Note(f, FixPhase::kDropTable,
         fmt::format("PostgreSQL cannot change a partition key in place: {} "
                     "is dropped and made again with its partitions, and its "
                     "rows are lost; copy them first if they matter",
                     table),
         DropRank(a));
    RecreateRelation(f, e, a);
    return;
  }
  if (e.partition_of == a.partition_of &&
      FoldWhitespace(e.partition_bound) == FoldWhitespace(a.partition_bound)) {
    return;
  }
  std::size_t f = Add(
      Severity::kError, "partition_mismatch", e, table,
      e.partition_of.empty()
          ? fmt::format("{} is a partition of {}, expected a table of its own",
                        table, a.partition_of)
          : fmt::format("{} is {}, expected a partition of {} {}", table,
                        a.partition_of.empty()
                            ? "not a partition"
                            : "a partition of " + a.partition_of + " " +
                                  a.partition_bound,
                        e.partition_of, e.partition_bound));
  F(f).expected =
      e.partition_of.empty() ? "" : e.partition_of + " " + e.partition_bound;
  F(f).actual =
      a.partition_of.empty() ? "" : a.partition_of + " " + a.partition_bound;
  Hazard(f, {kAccessExclusiveLock, kValidationScan});
  if (!a.partition_of.empty()) {
    Step(f, FixPhase::kDropTable,
         fmt::format("ALTER TABLE {} DETACH PARTITION {};",
                     ddl_.QDotted(a.partition_of), QT(e)),
         -1);
  }
  if (!e.partition_of.empty()) {
    Step(f, FixPhase::kPartition,
         fmt::format("ALTER TABLE {} ATTACH PARTITION {} {};",
                     ddl_.QDotted(e.partition_of), QT(e), e.partition_bound),
         CreateRank(e));
  }
}

void Differ::CompareInheritance(const Table& e, const Table& a) {
  if (e.inherits == a.inherits) return;
  std::string table = Key(e);
  std::size_t f =
      Add(Severity::kError, "inheritance_mismatch", e, table,
          fmt::format("{} inherits from {}, expected {}", table,
                      a.inherits.empty() ? "nothing" : Join(a.inherits, ", "),
                      e.inherits.empty() ? "nothing" : Join(e.inherits, ", ")));
  F(f).expected = Join(e.inherits, ", ");
  F(f).actual = Join(a.inherits, ", ");
  Hazard(f, {kAccessExclusiveLock});
  for (const auto& p : a.inherits) {
    if (std::find(e.inherits.begin(), e.inherits.end(), p) == e.inherits.end())
      Step(f, FixPhase::kDropTable,
           fmt::format("ALTER TABLE {} NO INHERIT {};", QT(e), ddl_.QDotted(p)),
           -1);
  }
  for (const auto& p : e.inherits) {
    if (std::find(a.inherits.begin(), a.inherits.end(), p) == a.inherits.end())
      Step(f, FixPhase::kPartition,
           fmt::format("ALTER TABLE {} INHERIT {};", QT(e), ddl_.QDotted(p)),
           CreateRank(e));
  }
}

void Differ::ComparePersistence(const Table& e, const Table& a) {
  if (e.unlogged == a.unlogged) return;
  std::size_t f = Add(Severity::kWarning, "persistence_mismatch", e, Key(e),
                      fmt::format("{} is {}, expected {}", Key(e),
                                  a.unlogged ? "unlogged" : "logged",
                                  e.unlogged ? "unlogged" : "logged"));
  F(f).expected = e.unlogged ? "unlogged" : "logged";
  F(f).actual = a.unlogged ? "unlogged" : "logged";
  Hazard(f, {kAccessExclusiveLock, kTableRewrite});
  Step(f, FixPhase::kAlter,
       fmt::format("ALTER TABLE {} SET {};", QT(e),
                   e.unlogged ? "UNLOGGED" : "LOGGED"));
}

// The reason an orphan is expected (a join table, an ignore pattern), or "".
std::string Differ::ExpectedOrphan(const std::string& schema,
                                   const std::string& name) const {
  std::string key = schema + "." + name;
  for (const auto& j : expected_.join_tables) {
    if (j == key || j == name) return "a many-to-many join table";
  }
  for (const auto& p : expected_.ignore) {
    if (LikeMatch(key, p.pattern) || LikeMatch(name, p.pattern)) {
      return "ignored (" + (p.reason.empty() ? p.pattern : p.reason) + ")";
    }
  }
  return "";
}

void Differ::MissingTable(const Table& e, std::vector<const Table*>& orphans) {
  std::string shape = ColumnShape(e);
  for (auto it = orphans.begin(); it != orphans.end(); ++it) {
    const Table* o = *it;
    if (ExpectedOrphan(o->schema, o->name).empty() && o->kind == e.kind &&
        !e.columns.empty() && ColumnShape(*o) == shape &&
        o->partition_of == e.partition_of &&
        FoldWhitespace(o->partition_bound) ==
            FoldWhitespace(e.partition_bound)) {
      std::size_t f =
          Add(Severity::kWarning, "possible_rename", e, Key(e),
              fmt::format("{} is missing and {} has the same columns: renamed?",
                          Key(e), Key(*o)));
      F(f).expected = Key(e);
      F(f).actual = Key(*o);
      Hazard(f, {kAccessExclusiveLock});
      std::string word(Ddl::RelationWord(o->kind));
      std::string fix =
          fmt::format("ALTER {} {} RENAME TO {};", word, QT(*o), Q(e.name));
      if (o->schema != e.schema) {
        fix = fmt::format(
            "ALTER {0} {1} SET SCHEMA {2};\nALTER {0} {3} RENAME "
            "TO {4};",
            word, QT(*o), Q(e.schema), QT(e.schema, o->name), Q(e.name));
      }
      // First of all, so that every other fix finds it under its name;
      // then the rest of what differs, in the same round.
      Step(f, FixPhase::kDropDependent, fix, -1000);
      orphans.erase(it);
      renamed_.push_back(*o);
      renamed_.back().schema = e.schema;
      renamed_.back().name = e.name;
      CompareTable(e, renamed_.back());
      return;
    }
  }
  std::size_t f =
      Add(Severity::kError, "missing_table", e, Key(e),
          fmt::format("{} {} is missing", TableKindName(e.kind), Key(e)));
  F(f).expected = std::string(TableKindName(e.kind));
  handled_relations_.insert(Key(e));
  CreateRelationSteps(f, e, nullptr, true);
}

void Differ::OrphanTable(const Table& o, const std::string& cause) {
  std::string key = Key(o);
  std::string reason = ExpectedOrphan(o.schema, o.name);
  if (!reason.empty()) {
    std::size_t f = Add(Severity::kInfo, "orphan_table", o, key,
                        fmt::format("{} is {}", key, reason));
    F(f).actual = std::string(TableKindName(o.kind));
    F(f).expected = reason;
    F(f).cause = cause;
    return;
  }
  std::size_t f = Add(Severity::kWarning, "orphan_table", o, key,
                      fmt::format("{} {} is not in the expected schema",
                                  TableKindName(o.kind), key));
  F(f).actual = std::string(TableKindName(o.kind));
  F(f).cause = cause;
  Hazard(f, {kAccessExclusiveLock});
  if (!IsView(o)) Hazard(f, {kDeletesData});
  Destructive(f);
  // Its foreign keys go first, so that tables that refer to each other
  // drop in any order.
  for (const auto& fk : o.foreign_keys) {
    if (fk.ref_schema + "." + fk.ref_table == key) continue;
    Step(f, FixPhase::kDropForeignKey, ddl_.DropConstraint(o, fk.name));
  }
  Step(f, IsView(o) ? FixPhase::kDropDependent : FixPhase::kDropTable,
       ddl_.DropRelation(o), DropRank(o));
  handled_relations_.insert(key);
  Disturb(f, key);
}

void Differ::CreateRelationSteps(std::size_t f, const Table& e,
                                 const Table* live, bool rows) {
  FixPhase phase = IsView(e)                 ? FixPhase::kView
                   : !e.partition_of.empty() ? FixPhase::kPartition
                                             : FixPhase::kCreate;
  Step(f, phase, ddl_.CreateRelation(e), CreateRank(e));
  std::string cause = FindingName(F(f));
  for (const auto& fk : e.foreign_keys) {
    if (rows) {
      std::size_t c = MissingForeignKey(e, fk, true);
      F(c).cause = cause;
    } else {
      AddConstraintSteps(f, FixPhase::kForeignKey, e, fk.name,
                         ddl_.ForeignKeyClause(fk), true);
    }
  }
  for (const auto& i : e.indexes) {
    if (!rows) {
      IndexSteps(f, e, i, true);
      continue;
    }
    std::size_t c = Add(
        Severity::kError, "missing_index", e,
        "index " + e.schema + "." + i.name,
        fmt::format("index on {} {} is missing", Key(e), IndexDescription(i)));
    F(c).expected = IndexDescription(i);
    F(c).cause = cause;
    IndexSteps(c, e, i, true);
  }
  const Table* triggers = expected_.kinds.triggers ? &e : live;
  if (triggers != nullptr) {
    for (const auto& t : triggers->triggers) {
      Step(f, FixPhase::kTrigger, ddl_.CreateTrigger(t));
      if (t.enabled != "origin" && !IsView(e))
        Step(f, FixPhase::kTrigger, ddl_.TriggerEnabled(e, t), 1);
    }
  }
  const Table* policies = expected_.kinds.policies ? &e : live;
  if (policies != nullptr && !IsView(e)) {
    if (policies->row_security || policies->force_row_security) {
      Table flags = e;
      flags.row_security = policies->row_security;
      flags.force_row_security = policies->force_row_security;
      Step(f, FixPhase::kPolicy, ddl_.RowSecurity(flags));
    }
    for (const auto& p : policies->policies)
      Step(f, FixPhase::kPolicy, ddl_.CreatePolicy(e, p), 1);
  }
  AccessSteps(f, Ddl::RelationWord(e.kind), GrantWord(e), QT(e), e.access,
              live != nullptr ? &live->access : nullptr);
  const Table* comments = expected_.kinds.comments ? &e : live;
  if (comments != nullptr) {
    for (const auto& c : comments->columns) {
      if (!c.comment.empty() && e.FindColumn(c.name) != nullptr)
        Step(f, FixPhase::kComment,
             ddl_.Comment("COLUMN", QT(e) + "." + Q(c.name), c.comment));
    }
    for (const auto& i : comments->indexes) {
      if (!i.comment.empty())
        Step(f, FixPhase::kComment,
             ddl_.Comment("INDEX", QT(e.schema, i.name), i.comment));
    }
  }
}

void Differ::RecreateRelation(std::size_t f, const Table& e,
                              const Table& live) {
  Step(f, IsView(live) ? FixPhase::kDropDependent : FixPhase::kDropTable,
       ddl_.DropRelation(live), DropRank(live));
  CreateRelationSteps(f, e, &live, false);
  handled_relations_.insert(Key(e));
  Disturb(f, Key(live));
}

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
