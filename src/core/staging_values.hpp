// Fast readers for the value spellings a sync job sends most: a UUID in
// its canonical 8-4-4-4-12 form and an ISO 8601 timestamp with seconds and
// an explicit zone, as JSON encoders write them. Each accepts only a subset
// of what PostgreSQL's input function accepts and gives exactly the value
// that function gives; for anything else it returns false and the caller
// uses the input function, which also produces the error a bad value gets.
#pragma once

#include <cstdint>

namespace schema_guard::core {

// `text` is NUL-terminated. Writes the 16 bytes of the UUID.
bool ReadCanonicalUuid(const char* text, unsigned char out[16]);

// Microseconds since 2000-01-01 00:00:00 UTC (PostgreSQL's timestamp
// epoch) for "YYYY-MM-DD(T| )HH:MM:SS[.f{1,6}]" followed by "Z", "+HH",
// "-HH", "+HH:MM" or "-HH:MM" when `zoned`, by nothing otherwise. At most
// `max_fraction_digits` fractional digits are taken (a column's precision;
// more would need rounding).
bool ReadIsoTimestamp(const char* text, bool zoned, int max_fraction_digits,
                      int64_t* microseconds);

}  // namespace schema_guard::core
