// Reads the live schema from the catalog into a core::Schema: one scan of
// each system catalog for the whole schema set, never one per table.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/schema.hpp"
#include "pg/progress.hpp"
#include "pg/spi.hpp"

namespace schema_guard::pg {

// The user schemas: all but pg_*, information_schema and schema_guard's own.
std::vector<std::string> UserSchemas(SpiSession& spi);

// The schemas' tables, views, materialized views, enums; objects that belong
// to an extension are left out. App labels come from Django's
// django_content_type when one of the schemas has it (else the text before
// the first '_', else the schema). Reports the relations it reads to
// `progress` (the phase "reading catalogs").
core::Schema ReadCatalog(SpiSession& spi,
                         const std::vector<std::string>& schemas,
                         Progress* progress);

// About how many bytes of heap reading the whole catalog takes (the raw
// rows and the schema model), from pg_attribute's size: what a snapshot
// reserves (see heap_reserve.hpp).
std::size_t EstimatedCatalogBytes();

}  // namespace schema_guard::pg
