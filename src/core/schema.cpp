#include "core/schema.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

namespace schema_guard::core {

std::string_view TableKindName(TableKind kind) {
  switch (kind) {
    case TableKind::kTable:
      return "table";
    case TableKind::kPartitionedTable:
      return "partitioned table";
    case TableKind::kView:
      return "view";
    case TableKind::kMaterializedView:
      return "materialized view";
  }
  return "table";
}

Kinds Kinds::All() {
  Kinds k;
  k.schemas = k.extensions = k.types = k.collations = k.sequences = true;
  k.functions = k.triggers = k.policies = k.privileges = k.owners = true;
  k.comments = k.exclusions = k.persistence = true;
  return k;
}

bool Kinds::Any() const {
  return schemas || extensions || types || collations || sequences ||
         functions || triggers || policies || privileges || owners ||
         comments || exclusions || persistence;
}

std::string Function::Signature() const {
  return schema + "." + name + "(" + identity + ")";
}

const Column* Table::FindColumn(std::string_view column) const {
  for (const auto& c : columns) {
    if (c.name == column) return &c;
  }
  return nullptr;
}

namespace {

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return out;
}

std::string Trim(std::string_view text) {
  std::size_t begin = 0;
  std::size_t end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin])))
    ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1])))
    --end;
  return std::string(text.substr(begin, end - begin));
}

}  // namespace

std::string FoldWhitespace(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

bool IsSerialType(std::string_view type) {
  std::string t = Lower(Trim(type));
  return t == "serial" || t == "serial4" || t == "bigserial" ||
         t == "serial8" || t == "smallserial" || t == "serial2";
}

std::string CanonicalType(std::string_view type) {
  // A quoted (case-sensitive) type name is kept as written.
  if (type.find('"') != std::string_view::npos)
    return FoldWhitespace(Trim(type));
  std::string t = FoldWhitespace(Lower(Trim(type)));
  // Split off array brackets and a parenthesised modifier.
  std::string suffix;
  while (t.size() >= 2 && t.compare(t.size() - 2, 2, "[]") == 0) {
    suffix += "[]";
    t.resize(t.size() - 2);
    t = Trim(t);
  }
  std::string modifier;
  std::string rest;  // e.g. " with time zone" after "timestamp(3)"
  std::size_t open = t.find('(');
  if (open != std::string::npos) {
    std::size_t close = t.find(')', open);
    if (close != std::string::npos) {
      modifier = t.substr(open, close - open + 1);
      modifier.erase(std::remove(modifier.begin(), modifier.end(), ' '),
                     modifier.end());
      rest = t.substr(close + 1);
      t = Trim(t.substr(0, open));
    }
  }
  t += rest;
  t = FoldWhitespace(t);
  static const std::array<std::pair<std::string_view, std::string_view>, 30>
      kAliases{{
          {"int8", "bigint"},
          {"bigserial", "bigint"},
          {"serial8", "bigint"},
          {"int", "integer"},
          {"int4", "integer"},
          {"serial", "integer"},
          {"serial4", "integer"},
          {"int2", "smallint"},
          {"smallserial", "smallint"},
          {"serial2", "smallint"},
          {"bool", "boolean"},
          {"float8", "double precision"},
          {"float", "double precision"},
          {"float4", "real"},
          {"decimal", "numeric"},
          {"varchar", "character varying"},
          {"char", "character"},
          {"bpchar", "character"},
          {"char varying", "character varying"},
          {"timestamptz", "timestamp with time zone"},
          {"timestamp", "timestamp without time zone"},
          {"timetz", "time with time zone"},
          {"time", "time without time zone"},
          {"varbit", "bit varying"},
          {"public.citext", "citext"},
          {"pg_catalog.text", "text"},
          {"pg_catalog.int4", "integer"},
          {"pg_catalog.int8", "bigint"},
          {"pg_catalog.varchar", "character varying"},
          {"pg_catalog.bool", "boolean"},
      }};
  for (const auto& [alias, canonical] : kAliases) {
    if (t == alias) {
      t = std::string(canonical);
      break;
    }
  }
  // Modifiers go where format_type() puts them: timestamp(3) with time zone.
  if (!modifier.empty()) {
    for (std::string_view base : {"timestamp", "time"}) {
      if (t.compare(0, base.size(), base) == 0 &&
          (t.size() == base.size() || t[base.size()] == ' ')) {
        std::string out(base);
        out += modifier;
        out += t.substr(base.size());
        out += suffix;
        return out;
      }
    }
    return t + modifier + suffix;
  }
  return t + suffix;
}

bool LikeMatch(std::string_view text, std::string_view pattern) {
  // Iterative matcher with backtracking on the last '%'.
  std::size_t t = 0;
  std::size_t p = 0;
  std::size_t star_p = std::string_view::npos;
  std::size_t star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '\\' && p + 1 < pattern.size()) {
      if (text[t] == pattern[p + 1]) {
        t += 1;
        p += 2;
        continue;
      }
    } else if (p < pattern.size() && pattern[p] == '%') {
      star_p = p++;
      star_t = t;
      continue;
    } else if (p < pattern.size() &&
               (pattern[p] == '_' || pattern[p] == text[t])) {
      ++t;
      ++p;
      continue;
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p + 1;
    t = ++star_t;
  }
  while (p < pattern.size() && pattern[p] == '%') ++p;
  return p == pattern.size();
}

std::string AppOf(const Table& table) {
  return table.app.empty() ? table.schema : table.app;
}

std::string DjangoApp(std::string_view table,
                      const std::vector<std::string>& known_apps) {
  std::string best;
  for (const auto& app : known_apps) {
    if (app.size() > best.size() && table.size() > app.size() + 1 &&
        table.compare(0, app.size(), app) == 0 && table[app.size()] == '_') {
      best = app;
    }
  }
  if (!best.empty()) return best;
  std::size_t underscore = table.find('_');
  if (underscore == std::string_view::npos || underscore == 0) return "";
  return std::string(table.substr(0, underscore));
}

std::vector<std::string> DetectJoinTables(const Schema& schema) {
  std::vector<std::string> out;
  for (const auto& t : schema.tables) {
    if (t.kind != TableKind::kTable || t.columns.size() != 3 ||
        t.FindColumn("id") == nullptr) {
      continue;
    }
    std::vector<std::string> pair;
    for (const auto& c : t.columns) {
      if (c.name != "id") pair.push_back(c.name);
    }
    auto referenced = [&](const std::string& column) {
      return std::any_of(t.foreign_keys.begin(), t.foreign_keys.end(),
                         [&](const ForeignKey& f) {
                           return f.columns.size() == 1 &&
                                  f.columns[0] == column;
                         });
    };
    auto same_pair = [&](std::vector<std::string> columns) {
      std::sort(columns.begin(), columns.end());
      std::vector<std::string> sorted = pair;
      std::sort(sorted.begin(), sorted.end());
      return columns == sorted;
    };
    bool unique =
        std::any_of(
            t.uniques.begin(), t.uniques.end(),
            [&](const KeyConstraint& u) { return same_pair(u.columns); }) ||
        std::any_of(t.indexes.begin(), t.indexes.end(), [&](const Index& i) {
          return i.unique && same_pair(i.keys);
        });
    if (referenced(pair[0]) && referenced(pair[1]) && unique) {
      out.push_back(t.schema + "." + t.name);
    }
  }
  return out;
}

}  // namespace schema_guard::core
