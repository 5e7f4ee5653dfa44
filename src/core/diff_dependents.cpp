// What a change drags along. PostgreSQL refuses to retype or drop a column
// a view reads, to drop a relation a view reads or a foreign key refers
// to, and to drop a key a foreign key uses. So a fix that does one of those
// first drops the dependants (views in dependency order, dependants first;
// foreign keys; policies and triggers that name the column) and makes them
// again afterwards from the expected schema, with their grants, triggers
// and comments (the live ones where the manifest does not cover a kind).
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <functional>

#include "core/diff_internal.hpp"

namespace schema_guard::core {
namespace {

bool IsView(const Table& t) {
  return t.kind == TableKind::kView || t.kind == TableKind::kMaterializedView;
}

bool IsIdentifierChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$';
}

bool Mentions(const std::string& text, const std::string& word) {
  for (std::size_t at = text.find(word); at != std::string::npos;
       at = text.find(word, at + 1)) {
    bool before = at == 0 || !IsIdentifierChar(text[at - 1]);
    std::size_t end = at + word.size();
    bool after = end >= text.size() || !IsIdentifierChar(text[end]);
    if (before && after) return true;
  }
  return false;
}

std::string ShapeOf(const ForeignKey& f) {
  return Join(f.columns, ",") + "->" + f.ref_schema + "." + f.ref_table + "(" +
         Join(f.ref_columns, ",") + ")";
}

}  // namespace

void Differ::Disturb(std::size_t f, const std::string& relation,
                     const std::string& column) {
  if (column.empty()) {
    disturbed_relations_.emplace(relation, f);
  } else {
    disturbed_columns_.emplace(relation + "." + column, f);
  }
}

void Differ::AddDependents() {
  // Live views, each after the views it reads.
  std::map<std::string, int> depth;
  std::function<int(const Table&, int)> depth_of = [&](const Table& v,
                                                       int guard) -> int {
    auto known = depth.find(Key(v));
    if (known != depth.end()) return known->second;
    int d = 0;
    for (const auto& r : v.depends_on) {
      const Table* read = ActualTable(r);
      if (read != nullptr && read != &v && IsView(*read) && guard < 64)
        d = std::max(d, depth_of(*read, guard + 1) + 1);
    }
    depth[Key(v)] = d;
    return d;
  };
  std::vector<const Table*> views;
  for (const auto& t : actual_.tables) {
    if (IsView(t)) {
      depth_of(t, 0);
      views.push_back(&t);
    }
  }
  std::stable_sort(views.begin(), views.end(),
                   [&](const Table* a, const Table* b) {
                     return depth[Key(*a)] < depth[Key(*b)];
                   });
  for (const Table* v : views) {
    std::string key = Key(*v);
    const std::size_t* cause = nullptr;
    std::string what;
    for (const auto& r : v->depends_on) {
      auto it = disturbed_relations_.find(r);
      if (it != disturbed_relations_.end() && r != key) {
        cause = &it->second;
        what = r;
        break;
      }
    }
    for (const auto& c : v->depends_on_columns) {
      if (cause != nullptr) break;
      auto it = disturbed_columns_.find(c);
      if (it != disturbed_columns_.end()) {
        cause = &it->second;
        what = c;
      }
    }
    if (cause == nullptr || handled_relations_.count(key) != 0) continue;
    const Table* e = ExpectedTable(key);
    if (e == nullptr || e->kind != v->kind) continue;
    std::size_t f = *cause;
    auto replaced = replaced_views_.find(key);
    if (replaced != replaced_views_.end()) {
      // Its own fix replaced it in place; it must go before the change.
      f = replaced->second;
      findings_[f].steps.clear();
    } else {
      Note(f, FixPhase::kDropDependent,
           fmt::format("{} {} reads {}: it is dropped and made again around "
                       "this change",
                       TableKindName(v->kind), key, what),
           DropRank(*v));
    }
    Hazard(f, {kAccessExclusiveLock});
    Step(f, FixPhase::kDropDependent, ddl_.DropRelation(*v), DropRank(*v));
    CreateRelationSteps(f, *e, v, false);
    handled_relations_.insert(key);
    Disturb(f, key);
  }

  // Policies and triggers that name a retyped or dropped column.
  for (const auto& t : actual_.tables) {
    if (handled_relations_.count(Key(t)) != 0) continue;
    const Table* e = ExpectedTable(Key(t));
    for (const auto& [column, f] : disturbed_columns_) {
      if (column.compare(0, Key(t).size() + 1, Key(t) + ".") != 0) continue;
      std::string name = column.substr(Key(t).size() + 1);
      for (const auto& p : t.policies) {
        if (!Mentions(p.using_expr, name) && !Mentions(p.check_expr, name))
          continue;
        Step(f, FixPhase::kDropDependent, ddl_.DropPolicy(t, p.name));
        const Table* source = expected_.kinds.policies ? e : &t;
        if (source == nullptr || e == nullptr) continue;
        for (const auto& q : source->policies) {
          if (q.name == p.name)
            Step(f, FixPhase::kPolicy, ddl_.CreatePolicy(t, q), 1);
        }
      }
      for (const auto& tr : t.triggers) {
        if (!Mentions(tr.definition, name)) continue;
        Step(f, FixPhase::kDropDependent, ddl_.DropTrigger(t, tr.name));
        const Table* source = expected_.kinds.triggers ? e : &t;
        if (source == nullptr || e == nullptr) continue;
        for (const auto& q : source->triggers) {
          if (q.name == tr.name)
            Step(f, FixPhase::kTrigger, ddl_.CreateTrigger(q));
        }
      }
    }
  }

  // Foreign keys into a relation dropped or made again, or onto a key
  // that is dropped: dropped first, and the expected ones made again.
  for (const auto& t : actual_.tables) {
    if (handled_relations_.count(Key(t)) != 0) continue;
    const Table* e = ExpectedTable(Key(t));
    for (const auto& fk : t.foreign_keys) {
      std::string ref = fk.ref_schema + "." + fk.ref_table;
      if (ref == Key(t)) continue;
      const std::size_t* cause = nullptr;
      auto relation = disturbed_relations_.find(ref);
      if (relation != disturbed_relations_.end()) cause = &relation->second;
      auto key =
          dropped_keys_.find(ref + "(" + Join(fk.ref_columns, ",") + ")");
      if (cause == nullptr && key != dropped_keys_.end()) cause = &key->second;
      if (cause == nullptr) continue;
      std::size_t f = *cause;
      Step(f, FixPhase::kDropForeignKey, ddl_.DropConstraint(t, fk.name));
      if (e == nullptr) continue;
      for (const auto& x : e->foreign_keys) {
        if (ShapeOf(x) != ShapeOf(fk)) continue;
        AddConstraintSteps(f, FixPhase::kForeignKey, *e,
                           x.name.empty() ? fk.name : x.name,
                           ddl_.ForeignKeyClause(x), false);
      }
    }
  }
}

}  // namespace schema_guard::core
