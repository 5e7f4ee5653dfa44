// Conversions between SQL arguments and results and C++ values, shared by
// the SQL-callable functions. Every PostgreSQL call inside goes through
// PgTry, so these may be called from C++ code that owns objects.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/finding.hpp"
#include "core/json.hpp"

extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/jsonb.h"
}

namespace schema_guard::pg {

// The text of a (detoasted) text value.
std::string TextArg(text* value);

// Refuses NULL in argument n, named `name` in the SQL signature: 22004,
// "<name> must not be null", the function in the detail, `hint` as the
// hint. The one way a SQL function refuses a NULL argument; called before
// the argument is read, also where the SQL declaration is STRICT (an older
// install script, sharing this library, may not say so).
void RequireArg(FunctionCallInfo fcinfo, int n, std::string_view name,
                std::string_view hint);

// Argument n as a string, or nothing when it is NULL.
std::optional<std::string> OptionalTextArg(FunctionCallInfo fcinfo, int n);

// Argument n (text[]) as strings, or nothing when it is NULL. A NULL element
// is an error naming `what` ("schema names") with `hint`.
std::optional<std::vector<std::string>> OptionalTextArray(
    FunctionCallInfo fcinfo, int n, std::string_view what,
    std::string_view hint);

// A palloc'd text value in the current memory context.
text* ToText(std::string_view value);

// A palloc'd bytea value (any bytes) in the current memory context.
bytea* ToBytea(std::string_view value);

// A jsonb Datum parsed from JSON text by jsonb_in.
Datum ToJsonb(const std::string& json);

// A jsonb Datum built from a token stream (an object or an array) or a
// JSON value without going through text: the same value jsonb_in would
// make of its text.
Datum JsonTokensToJsonb(const core::JsonTokens& tokens);
Datum JsonToJsonb(const core::Json& value);

// The JSON text of a jsonb value.
std::string JsonbText(Jsonb* value);

// The identifier quoted for SQL when it needs quotes (quote_identifier).
std::string Quote(std::string_view name);

// Sets the function up to return a materialized set (InitMaterializedSRF)
// and returns its ReturnSetInfo.
ReturnSetInfo* BeginMaterializedSet(FunctionCallInfo fcinfo);

// Appends one row to the materialized set.
void PutRow(ReturnSetInfo* rsinfo, Datum* values, bool* nulls);

// Returns findings as rows of type schema_guard.finding.
void EmitFindings(FunctionCallInfo fcinfo,
                  const std::vector<core::Finding>& findings);

}  // namespace schema_guard::pg
