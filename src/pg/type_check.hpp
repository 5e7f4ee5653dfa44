// Column types of a manifest, read by PostgreSQL's own type parser.
#pragma once

#include <string>

#include "core/manifest.hpp"

namespace schema_guard::pg {

// Whether PostgreSQL reads the type spelling (typeStringToTypeName and
// LookupTypeName, as a column definition would), under the caller's
// search_path; a name no schema has a type of is unknown.
core::TypeVerdict CheckTypeSpelling(const std::string& type);

}  // namespace schema_guard::pg
