// Conversions between SQL arguments and results and C++ values.
#include "pg/datum.hpp"

#include <fmt/format.h>

#include <string>
#include <vector>

#include "core/error.hpp"
#include "pg/bridge.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "postgres.h"

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/numeric.h"
#include "utils/tuplestore.h"
}

namespace schema_guard::pg {

std::string TextArg(text* value) {
  return std::string(VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value));
}

std::optional<std::string> OptionalTextArg(FunctionCallInfo fcinfo, int n) {
  if (PG_ARGISNULL(n)) return std::nullopt;
  text* value = nullptr;
  PgTry([&]() noexcept { value = PG_GETARG_TEXT_PP(n); });  // may detoast
  return TextArg(value);
}

std::optional<std::vector<std::string>> OptionalTextArray(
    FunctionCallInfo fcinfo, int n, std::string_view what,
    std::string_view hint) {
  if (PG_ARGISNULL(n)) return std::nullopt;
  Datum* elems = nullptr;
  bool* nulls = nullptr;
  int count = 0;
  PgTry([&]() noexcept {
    ArrayType* array = PG_GETARG_ARRAYTYPE_P(n);
    deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls,
                      &count);
  });
  std::vector<std::string> out;
  out.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    if (nulls[i]) {
      throw core::Error(core::ErrorCode::kInvalidParameterValue,
                        fmt::format("{} must not be null", what),
                        fmt::format("Element {} of the array is null.", i + 1),
                        std::string(hint));
    }
    text* element = nullptr;
    PgTry([&]() noexcept { element = DatumGetTextPP(elems[i]); });
    out.push_back(TextArg(element));
  }
  return out;
}

text* ToText(std::string_view value) {
  text* result = nullptr;
  PgTry([&]() noexcept {
    result =
        cstring_to_text_with_len(value.data(), static_cast<int>(value.size()));
  });
  return result;
}

Datum ToJsonb(const std::string& json) {
  Datum result = 0;
  PgTry([&]() noexcept {
    result = DirectFunctionCall1(jsonb_in, CStringGetDatum(json.c_str()));
  });
  return result;
}

// Deeper than any document schema_guard writes.
constexpr int kMaxJsonbDepth = 64;

Datum JsonTokensToJsonb(const core::JsonTokens& tokens) {
  const core::JsonToken* token = tokens.tokens().data();
  const core::JsonToken* end = token + tokens.tokens().size();
  if (token == end || (token->kind != core::JsonToken::Kind::kBeginObject &&
                       token->kind != core::JsonToken::Kind::kBeginArray)) {
    throw core::Error(core::ErrorCode::kInternal,
                      "a jsonb value must be an object or an array");
  }
  Datum result = 0;
  PgTry([&]() noexcept {
    JsonbParseState* state = nullptr;
    JsonbValue* root = nullptr;
    // Whether the enclosing container is an array, per nesting level.
    bool in_array[kMaxJsonbDepth + 1];
    int depth = 0;
    for (; token != end; ++token) {
      JsonbValue scalar;
      JsonbIteratorToken role =
          depth > 0 && in_array[depth] ? WJB_ELEM : WJB_VALUE;
      switch (token->kind) {
        case core::JsonToken::Kind::kBeginObject:
        case core::JsonToken::Kind::kBeginArray: {
          bool array = token->kind == core::JsonToken::Kind::kBeginArray;
          if (depth == kMaxJsonbDepth) {
            ereport(ERROR,
                    (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                     errmsg("the document is nested too deeply for jsonb")));
          }
          in_array[++depth] = array;
          pushJsonbValue(&state, array ? WJB_BEGIN_ARRAY : WJB_BEGIN_OBJECT,
                         nullptr);
          continue;
        }
        case core::JsonToken::Kind::kEndObject:
        case core::JsonToken::Kind::kEndArray:
          root = pushJsonbValue(
              &state, in_array[depth--] ? WJB_END_ARRAY : WJB_END_OBJECT,
              nullptr);
          continue;
        case core::JsonToken::Kind::kKey:
          role = WJB_KEY;
          scalar.type = jbvString;
          break;
        case core::JsonToken::Kind::kString:
          scalar.type = jbvString;
          break;
        case core::JsonToken::Kind::kBool:
          scalar.type = jbvBool;
          scalar.val.boolean = token->boolean;
          break;
        case core::JsonToken::Kind::kNumber:
          scalar.type = jbvNumeric;
          scalar.val.numeric = DatumGetNumeric(DirectFunctionCall3(
              numeric_in,
              CStringGetDatum(pnstrdup(token->text.data(), token->text.size())),
              ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
          break;
        case core::JsonToken::Kind::kNull:
          scalar.type = jbvNull;
          break;
      }
      if (scalar.type == jbvString) {
        scalar.val.string.val = const_cast<char*>(token->text.data());
        scalar.val.string.len = static_cast<int>(token->text.size());
      }
      pushJsonbValue(&state, role, &scalar);
    }
    result = PointerGetDatum(JsonbValueToJsonb(root));
  });
  return result;
}

Datum JsonToJsonb(const core::Json& value) {
  core::JsonTokens tokens;
  core::JsonToTokens(value, &tokens);
  return JsonTokensToJsonb(tokens);
}

std::string JsonbText(Jsonb* value) {
  char* out = nullptr;
  PgTry([&]() noexcept {
    out = JsonbToCString(nullptr, &value->root, VARSIZE(value));
  });
  return std::string(out);
}

std::string Quote(std::string_view name) {
  std::string copy(name);
  const char* quoted = nullptr;
  PgTry([&]() noexcept { quoted = quote_identifier(copy.c_str()); });
  return std::string(quoted);
}

ReturnSetInfo* BeginMaterializedSet(FunctionCallInfo fcinfo) {
  auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  PgTry([&]() noexcept {
#if PG_VERSION_NUM >= 150000
    InitMaterializedSRF(fcinfo, 0);
#else
    TupleDesc desc;
    if (rsinfo == nullptr || !IsA(rsinfo, ReturnSetInfo) ||
        (rsinfo->allowedModes & SFRM_Materialize) == 0 ||
        get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE) {
      ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                      errmsg("set-valued function called in context that "
                             "cannot accept a set")));
    }
    MemoryContext old =
        MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
    rsinfo->returnMode = SFRM_Materialize;
    rsinfo->setResult = tuplestore_begin_heap(true, false, work_mem);
    rsinfo->setDesc = CreateTupleDescCopy(desc);
    MemoryContextSwitchTo(old);
#endif
  });
  return rsinfo;
}

void PutRow(ReturnSetInfo* rsinfo, Datum* values, bool* nulls) {
  PgTry([&]() noexcept {
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  });
}

void EmitFindings(FunctionCallInfo fcinfo,
                  const std::vector<core::Finding>& findings) {
  ReturnSetInfo* rsinfo = BeginMaterializedSet(fcinfo);
  for (const auto& f : findings) {
    Datum values[9];
    bool nulls[9] = {false,
                     false,
                     false,
                     false,
                     false,
                     f.expected.empty(),
                     f.actual.empty(),
                     f.fix.empty(),
                     false};
    values[0] = PointerGetDatum(ToText(core::SeverityName(f.severity)));
    values[1] = PointerGetDatum(ToText(f.kind));
    values[2] = PointerGetDatum(ToText(f.app));
    values[3] = PointerGetDatum(ToText(f.object));
    values[4] = PointerGetDatum(ToText(f.message));
    values[5] = nulls[5] ? Datum(0) : PointerGetDatum(ToText(f.expected));
    values[6] = nulls[6] ? Datum(0) : PointerGetDatum(ToText(f.actual));
    values[7] = nulls[7] ? Datum(0) : PointerGetDatum(ToText(f.fix));
    values[8] = TextArrayDatum(f.hazards);
    PutRow(rsinfo, values, nulls);
  }
}

}  // namespace schema_guard::pg
