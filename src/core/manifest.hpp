// The manifest: the versioned JSON form of a Schema ("format":
// "schema_guard/1"). snapshot() writes it, expect() reads it; reading checks
// every member and names the JSON path of the first problem
// ("tables[3].columns[2].type: expected a string").
#pragma once

#include "core/json.hpp"
#include "core/schema.hpp"

namespace schema_guard::core {

inline constexpr std::string_view kManifestFormat = "schema_guard/1";

Schema ReadManifest(const Json& document);
Json WriteManifest(const Schema& schema);
// The same as a token stream whose strings point into `schema`.
void WriteManifest(const Schema& schema, JsonTokens* out);

}  // namespace schema_guard::core
