// Triggers, row-level security and policies, owners, grants and comments.
#include <fmt/format.h>

#include <algorithm>

#include "core/diff_internal.hpp"

namespace schema_guard::core {
namespace {

bool SamePolicy(const Policy& a, const Policy& b) {
  return a.command == b.command && a.permissive == b.permissive &&
         a.roles == b.roles &&
         FoldWhitespace(a.using_expr) == FoldWhitespace(b.using_expr) &&
         FoldWhitespace(a.check_expr) == FoldWhitespace(b.check_expr);
}

std::string EnabledText(const std::string& enabled) {
  if (enabled == "origin") return "enabled";
  if (enabled == "replica") return "enabled on replicas only";
  if (enabled == "always") return "enabled always";
  return enabled;
}

std::string PolicyText(const Policy& p) {
  std::string text = fmt::format("{} FOR {} TO {}",
                                 p.permissive ? "PERMISSIVE" : "RESTRICTIVE",
                                 p.command, Join(p.roles, ", "));
  if (!p.using_expr.empty()) text += " USING (" + p.using_expr + ")";
  if (!p.check_expr.empty()) text += " WITH CHECK (" + p.check_expr + ")";
  return text;
}

}  // namespace

void Differ::CompareTriggers(const Table& e, const Table& a) {
  for (const auto& t : e.triggers) {
    auto x = std::find_if(a.triggers.begin(), a.triggers.end(),
                          [&](const Trigger& y) { return y.name == t.name; });
    std::string object = Key(e) + "." + t.name;
    if (x == a.triggers.end()) {
      std::size_t f =
          Add(Severity::kError, "missing_trigger", e, object,
              fmt::format("trigger {} on {} is missing", t.name, Key(e)));
      F(f).expected = t.definition;
      Hazard(f, {kShareLock});
      Step(f, FixPhase::kTrigger, ddl_.CreateTrigger(t));
      if (t.enabled != "origin")
        Step(f, FixPhase::kTrigger, ddl_.TriggerEnabled(e, t), 1);
      if (expected_.kinds.comments && !t.comment.empty()) {
        Step(f, FixPhase::kComment,
             ddl_.Comment("TRIGGER", Q(t.name) + " ON " + QT(e), t.comment));
      }
      continue;
    }
    if (FoldWhitespace(x->definition) != FoldWhitespace(t.definition)) {
      std::size_t f = Add(
          Severity::kError, "trigger_mismatch", e, object,
          fmt::format("trigger {} on {} is defined otherwise", t.name, Key(e)));
      F(f).expected = t.definition;
      F(f).actual = x->definition;
      Hazard(f, {kAccessExclusiveLock});
      Step(f, FixPhase::kDropDependent, ddl_.DropTrigger(e, t.name));
      Step(f, FixPhase::kTrigger, ddl_.CreateTrigger(t));
      if (t.enabled != "origin")
        Step(f, FixPhase::kTrigger, ddl_.TriggerEnabled(e, t), 1);
      continue;
    }
    if (x->enabled != t.enabled) {
      std::size_t f =
          Add(Severity::kWarning, "trigger_mismatch", e, object,
              fmt::format("trigger {} on {} is {}, expected {}", t.name, Key(e),
                          EnabledText(x->enabled), EnabledText(t.enabled)));
      F(f).expected = t.enabled;
      F(f).actual = x->enabled;
      Step(f, FixPhase::kTrigger, ddl_.TriggerEnabled(e, t), 1);
    }
  }
  for (const auto& x : a.triggers) {
    bool expected =
        std::any_of(e.triggers.begin(), e.triggers.end(),
                    [&](const Trigger& t) { return t.name == x.name; });
    if (expected) continue;
    std::size_t f =
        Add(Severity::kWarning, "extra_trigger", e, Key(e) + "." + x.name,
            fmt::format("trigger {} on {} is not in the expected schema",
                        x.name, Key(e)));
    F(f).actual = x.definition;
    Hazard(f, {kAccessExclusiveLock});
    Destructive(f);
    Step(f, FixPhase::kDropDependent, ddl_.DropTrigger(e, x.name));
  }
}

void Differ::CompareRowSecurity(const Table& e, const Table& a) {
  if (e.row_security == a.row_security &&
      e.force_row_security == a.force_row_security) {
    return;
  }
  auto state = [](const Table& t) {
    return std::string(t.row_security ? "enabled" : "disabled") +
           (t.force_row_security ? ", forced" : "");
  };
  std::size_t f = Add(Severity::kError, "row_security_mismatch", e, Key(e),
                      fmt::format("row-level security on {} is {}, expected {}",
                                  Key(e), state(a), state(e)));
  F(f).expected = state(e);
  F(f).actual = state(a);
  Hazard(f, {kAccessExclusiveLock});
  Step(f, FixPhase::kPolicy, ddl_.RowSecurity(e));
}

void Differ::ComparePolicies(const Table& e, const Table& a) {
  for (const auto& p : e.policies) {
    auto x = std::find_if(a.policies.begin(), a.policies.end(),
                          [&](const Policy& y) { return y.name == p.name; });
    std::string object = Key(e) + "." + p.name;
    if (x != a.policies.end() && SamePolicy(*x, p)) continue;
    std::size_t f =
        x == a.policies.end()
            ? Add(Severity::kError, "missing_policy", e, object,
                  fmt::format("policy {} on {} is missing", p.name, Key(e)))
            : Add(Severity::kError, "policy_mismatch", e, object,
                  fmt::format("policy {} on {} is defined otherwise", p.name,
                              Key(e)));
    F(f).expected = PolicyText(p);
    Hazard(f, {kAccessExclusiveLock});
    if (x != a.policies.end()) {
      F(f).actual = PolicyText(*x);
      Step(f, FixPhase::kDropDependent, ddl_.DropPolicy(e, p.name));
    }
    Step(f, FixPhase::kPolicy, ddl_.CreatePolicy(e, p), 1);
  }
  for (const auto& x : a.policies) {
    bool expected =
        std::any_of(e.policies.begin(), e.policies.end(),
                    [&](const Policy& p) { return p.name == x.name; });
    if (expected) continue;
    std::size_t f =
        Add(Severity::kWarning, "extra_policy", e, Key(e) + "." + x.name,
            fmt::format("policy {} on {} is not in the expected schema", x.name,
                        Key(e)));
    F(f).actual = PolicyText(x);
    Hazard(f, {kAccessExclusiveLock});
    Destructive(f);
    Step(f, FixPhase::kDropDependent, ddl_.DropPolicy(e, x.name));
  }
}

void Differ::CompareAccess(const std::string& app, const std::string& object,
                           std::string_view what, std::string_view grant_what,
                           const std::string& name, const Access& e,
                           const Access& a) {
  if (expected_.kinds.owners && !e.owner.empty() && e.owner != a.owner) {
    std::size_t f = Add(Severity::kWarning, "owner_mismatch", app, object,
                        fmt::format("{} is owned by {}, expected {}", object,
                                    a.owner, e.owner));
    F(f).expected = e.owner;
    F(f).actual = a.owner;
    Hazard(f, {kAccessExclusiveLock});
    Step(f, FixPhase::kAccess, ddl_.Owner(what, name, e.owner));
  }
  if (expected_.kinds.privileges) {
    std::vector<Grant> want = EffectiveGrants(grant_what, e);
    std::vector<Grant> have = EffectiveGrants(grant_what, a);
    auto same = [](const std::vector<Grant>& x, const std::vector<Grant>& y) {
      if (x.size() != y.size()) return false;
      for (std::size_t i = 0; i < x.size(); ++i) {
        if (x[i].grantee != y[i].grantee ||
            x[i].privileges != y[i].privileges ||
            x[i].grantable != y[i].grantable) {
          return false;
        }
      }
      return true;
    };
    if (!same(want, have)) {
      std::size_t f =
          Add(Severity::kWarning, "privilege_mismatch", app, object,
              fmt::format("privileges on {} are {}, expected {}", object,
                          GrantsText(have), GrantsText(want)));
      F(f).expected = GrantsText(want);
      F(f).actual = GrantsText(have);
      Step(f, FixPhase::kAccess, ddl_.Grants(grant_what, name, want, have), 1);
    }
  }
  if (expected_.kinds.comments && e.comment != a.comment) {
    std::size_t f =
        Add(Severity::kInfo, "comment_mismatch", app, object,
            fmt::format("{} has {}", object,
                        e.comment.empty() ? "a comment, expected none"
                                          : "another comment"));
    F(f).expected = e.comment;
    F(f).actual = a.comment;
    Step(f, FixPhase::kComment, ddl_.Comment(what, name, e.comment));
  }
}

void Differ::AccessSteps(std::size_t f, std::string_view what,
                         std::string_view grant_what, const std::string& name,
                         const Access& access, const Access* live) {
  std::string owner = expected_.kinds.owners ? access.owner
                      : live != nullptr      ? live->owner
                                             : std::string();
  if (!owner.empty()) Step(f, FixPhase::kAccess, ddl_.Owner(what, name, owner));
  const Access* grants = expected_.kinds.privileges ? &access : live;
  if (grants != nullptr) {
    Access with_owner = *grants;
    with_owner.owner = owner.empty() ? grants->owner : owner;
    std::vector<Grant> want = EffectiveGrants(grant_what, with_owner);
    std::string sql =
        ddl_.Grants(grant_what, name, want, DefaultGrants(grant_what));
    Step(f, FixPhase::kAccess, sql, 1);
  }
  std::string comment = expected_.kinds.comments ? access.comment
                        : live != nullptr        ? live->comment
                                                 : std::string();
  if (!comment.empty())
    Step(f, FixPhase::kComment, ddl_.Comment(what, name, comment));
}

void Differ::CompareComments(const Table& e, const Table& a) {
  // The object's names are built only for a comment that differs: most
  // compare equal (usually both empty), and quoting costs.
  auto compare = [&](const std::string& expected, const std::string& actual,
                     std::string_view what, auto&& object, auto&& name) {
    if (expected == actual) return;
    std::string described = object();
    std::size_t f =
        Add(Severity::kInfo, "comment_mismatch", e, described,
            fmt::format("{} has {}", described,
                        expected.empty() ? "a comment, expected none"
                                         : "another comment"));
    F(f).expected = expected;
    F(f).actual = actual;
    Step(f, FixPhase::kComment, ddl_.Comment(what, name(), expected));
  };
  for (const auto& c : e.columns) {
    const Column* x = a.FindColumn(c.name);
    if (x == nullptr) continue;
    compare(
        c.comment, x->comment, "COLUMN",
        [&] { return "column " + Key(e) + "." + c.name; },
        [&] { return QT(e) + "." + Q(c.name); });
  }
  for (const auto& i : e.indexes) {
    for (const auto& x : a.indexes) {
      if (x.name == i.name)
        compare(
            i.comment, x.comment, "INDEX",
            [&] { return "index " + e.schema + "." + i.name; },
            [&] { return QT(e.schema, i.name); });
    }
  }
  auto constraint = [&](const std::string& name, const std::string& expected,
                        const std::string& actual) {
    compare(
        expected, actual, "CONSTRAINT",
        [&] { return "constraint " + Key(e) + "." + name; },
        [&] { return Q(name) + " ON " + QT(e); });
  };
  if (e.primary_key && a.primary_key &&
      e.primary_key->name == a.primary_key->name)
    constraint(e.primary_key->name, e.primary_key->comment,
               a.primary_key->comment);
  for (const auto& u : e.uniques) {
    for (const auto& x : a.uniques) {
      if (x.name == u.name) constraint(u.name, u.comment, x.comment);
    }
  }
  for (const auto& c : e.checks) {
    for (const auto& x : a.checks) {
      if (x.name == c.name) constraint(c.name, c.comment, x.comment);
    }
  }
  for (const auto& c : e.foreign_keys) {
    for (const auto& x : a.foreign_keys) {
      if (x.name == c.name) constraint(c.name, c.comment, x.comment);
    }
  }
  for (const auto& c : e.exclusions) {
    for (const auto& x : a.exclusions) {
      if (x.name == c.name) constraint(c.name, c.comment, x.comment);
    }
  }
  for (const auto& t : e.triggers) {
    for (const auto& x : a.triggers) {
      if (x.name == t.name)
        compare(
            t.comment, x.comment, "TRIGGER",
            [&] { return "trigger " + Key(e) + "." + t.name; },
            [&] { return Q(t.name) + " ON " + QT(e); });
    }
  }
}

}  // namespace schema_guard::core
