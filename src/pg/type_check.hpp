// Column types of a manifest, read by PostgreSQL's own type parser.
#pragma once

#include <functional>
#include <string>

#include "core/manifest.hpp"

namespace schema_guard::pg {

// Whether PostgreSQL reads the type spelling (typeStringToTypeName and
// LookupTypeName, as a column definition would), under the caller's
// search_path; a name no schema has a type of is unknown.
core::TypeVerdict CheckTypeSpelling(const std::string& type);

// Whether PostgreSQL casts a value of type `from` to type `to` explicitly
// (can_coerce_type with COERCION_EXPLICIT, I/O conversion casts included);
// true when either name does not resolve to a type here (the fix may make
// it). Each pair is asked once per call of the returned function's owner.
std::function<bool(const std::string&, const std::string&)> CastChecker();

}  // namespace schema_guard::pg
