// The manifest: the versioned JSON form of a Schema ("format":
// "schema_guard/1"). snapshot() writes it, expect() reads it; reading checks
// every member and names the JSON path of the first problem
// ("tables[3].columns[2].type: expected a string").
#pragma once

#include <functional>
#include <string>

#include "core/json.hpp"
#include "core/json_node.hpp"
#include "core/schema.hpp"

namespace schema_guard::core {

inline constexpr std::string_view kManifestFormat = "schema_guard/1";

// What PostgreSQL's own type parser says about a column type spelling (the
// boundary asks it): a type it knows, one it does not know, or one it
// cannot read at all (a syntax error, a bad modifier).
struct TypeVerdict {
  enum class Kind { kKnown, kUnknown, kInvalid };
  Kind kind = Kind::kKnown;
  std::string problem;  // kInvalid: PostgreSQL's message
};
using TypeChecker = std::function<TypeVerdict(const std::string& type)>;

// With a checker, every column type that is not declared by the manifest
// itself (its enums) must be one PostgreSQL reads; an unknown one is
// refused, with the JSON path of the column, unless the manifest lists
// extensions (whose types may not be installed yet).
Schema ReadManifest(const JsonNode& document,
                    const TypeChecker& check = nullptr);
// The manifest's JSON text, parsed into nodes (no tree: a large manifest
// is read without an allocation per value) and read.
Schema ReadManifest(std::string_view text, const TypeChecker& check = nullptr);
Schema ReadManifest(const Json& document, const TypeChecker& check = nullptr);
Json WriteManifest(const Schema& schema);
// The same as a token stream whose strings point into `schema`.
void WriteManifest(const Schema& schema, JsonTokens* out);

}  // namespace schema_guard::core
