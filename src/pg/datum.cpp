// Conversions between SQL arguments and results and C++ values.
#include "pg/datum.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <string_view>
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
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/tuplestore.h"
}

namespace schema_guard::pg {

std::string TextArg(text* value) {
  return std::string(VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value));
}

void RequireArg(FunctionCallInfo fcinfo, int n, std::string_view name,
                std::string_view hint) {
  if (!PG_ARGISNULL(n)) return;
  const char* function = nullptr;
  PgTry([&]() noexcept {
    function = fcinfo->flinfo != nullptr ? get_func_name(fcinfo->flinfo->fn_oid)
                                         : nullptr;
  });
  throw core::Error(
      core::ErrorCode::kNullValueNotAllowed,
      fmt::format("{} must not be null", name),
      function != nullptr
          ? fmt::format("Function {}() needs a value for argument {}.",
                        function, name)
          : fmt::format("The function needs a value for argument {}.", name),
      std::string(hint));
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

bytea* ToBytea(std::string_view value) {
  // Same varlena layout as text: a length word and the bytes.
  return reinterpret_cast<bytea*>(ToText(value));
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

namespace {

// Writes jsonb's stored format (utils/jsonb.h) straight from a token stream:
// the bytes pushJsonbValue() and JsonbValueToJsonb() would produce, without
// their in-memory tree of the whole document. Containers are aligned to 4
// bytes; every JB_OFFSET_STRIDE'th child entry holds an offset, the others
// a length; an object's keys come first, ordered as jsonb orders them
// (shorter first, then bytewise), then its values in the same order.
class JsonbWriter {
 public:
  explicit JsonbWriter(const std::vector<core::JsonToken>& tokens)
      : tokens_(tokens), end_(tokens.size(), 0) {
    std::vector<std::size_t> open;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      switch (tokens[i].kind) {
        case core::JsonToken::Kind::kBeginObject:
        case core::JsonToken::Kind::kBeginArray:
          open.push_back(i);
          break;
        case core::JsonToken::Kind::kEndObject:
        case core::JsonToken::Kind::kEndArray:
          if (open.empty()) Malformed();
          end_[open.back()] = i;
          open.pop_back();
          break;
        default:
          break;
      }
    }
    if (!open.empty() || tokens.empty() || !IsBegin(0) ||
        end_[0] + 1 != tokens.size()) {
      Malformed();
    }
  }

  // The jsonb value, its varlena header still to be set.
  std::string Write() {
    std::size_t text = 0;
    for (const auto& token : tokens_) text += token.text.size();
    buffer_.reserve(VARHDRSZ + text + tokens_.size() * 2 * sizeof(JEntry));
    buffer_.append(VARHDRSZ, '\0');
    WriteValue(0);
    return std::move(buffer_);
  }

 private:
  [[noreturn]] static void Malformed() {
    throw core::Error(core::ErrorCode::kInternal,
                      "malformed JSON token stream");
  }

  bool IsBegin(std::size_t i) const {
    return tokens_[i].kind == core::JsonToken::Kind::kBeginObject ||
           tokens_[i].kind == core::JsonToken::Kind::kBeginArray;
  }
  std::size_t Next(std::size_t i) const {
    return IsBegin(i) ? end_[i] + 1 : i + 1;
  }

  std::size_t PadToInt() {
    std::size_t padding = (4 - buffer_.size() % 4) % 4;
    buffer_.append(padding, '\0');
    return padding;
  }

  static void CheckLength(std::size_t length) {
    if (length > JENTRY_OFFLENMASK) {
      throw core::Error(
          core::ErrorCode::kProgramLimitExceeded,
          "the document is too large for jsonb",
          fmt::format("One of its objects or arrays needs {} bytes; jsonb "
                      "holds at most {}.",
                      length, JENTRY_OFFLENMASK),
          "Snapshot fewer schemas at a time.");
    }
  }

  // Appends the value at token i; returns its JEntry.
  uint32 WriteValue(std::size_t i) {
    const core::JsonToken& token = tokens_[i];
    switch (token.kind) {
      case core::JsonToken::Kind::kBeginObject:
      case core::JsonToken::Kind::kBeginArray:
        return WriteContainer(i);
      case core::JsonToken::Kind::kKey:
      case core::JsonToken::Kind::kString:
        CheckLength(token.text.size());
        buffer_.append(token.text);
        return JENTRY_ISSTRING | static_cast<uint32>(token.text.size());
      case core::JsonToken::Kind::kBool:
        return token.boolean ? JENTRY_ISBOOL_TRUE : JENTRY_ISBOOL_FALSE;
      case core::JsonToken::Kind::kNull:
        return JENTRY_ISNULL;
      case core::JsonToken::Kind::kNumber: {
        std::string number = NumericBytes(token.text);
        std::size_t padding = PadToInt();
        buffer_.append(number);
        return JENTRY_ISNUMERIC | static_cast<uint32>(padding + number.size());
      }
      default:
        Malformed();
    }
  }

  uint32 WriteContainer(std::size_t i) {
    const std::size_t base = buffer_.size();
    PadToInt();
    const bool object = tokens_[i].kind == core::JsonToken::Kind::kBeginObject;
    // The children in stored order, on a stack shared by all levels.
    const std::size_t first = children_.size();
    if (object) {
      for (std::size_t k = i + 1; k < end_[i]; k = Next(k + 1)) {
        if (tokens_[k].kind != core::JsonToken::Kind::kKey ||
            k + 1 >= end_[i]) {
          Malformed();
        }
        children_.push_back(k);
      }
      auto key_less = [this](std::size_t a, std::size_t b) {
        std::string_view x = tokens_[a].text;
        std::string_view y = tokens_[b].text;
        return x.size() != y.size() ? x.size() < y.size() : x < y;
      };
      std::sort(children_.begin() + static_cast<std::ptrdiff_t>(first),
                children_.end(), key_less);
      const std::size_t pairs = children_.size() - first;
      for (std::size_t k = first + 1; k < first + pairs; ++k) {
        if (tokens_[children_[k]].text == tokens_[children_[k - 1]].text) {
          Malformed();  // the writers never repeat a key
        }
      }
      for (std::size_t k = 0; k < pairs; ++k) {
        children_.push_back(children_[first + k] + 1);  // its value
      }
    } else {
      for (std::size_t k = i + 1; k < end_[i]; k = Next(k)) {
        children_.push_back(k);
      }
    }
    const std::size_t count = children_.size() - first;
    const uint32 entries = static_cast<uint32>(object ? count / 2 : count);
    CheckLength(entries);
    const uint32 header = entries | (object ? JB_FOBJECT : JB_FARRAY);
    buffer_.append(reinterpret_cast<const char*>(&header), sizeof(header));
    const std::size_t jentries = buffer_.size();
    buffer_.append(count * sizeof(JEntry), '\0');
    std::size_t total = 0;
    for (std::size_t k = 0; k < count; ++k) {
      uint32 meta = WriteValue(children_[first + k]);
      total += JBE_OFFLENFLD(meta);
      CheckLength(total);
      if (k % JB_OFFSET_STRIDE == 0) {
        meta = (meta & JENTRY_TYPEMASK) | static_cast<uint32>(total) |
               JENTRY_HAS_OFF;
      }
      std::memcpy(&buffer_[jentries + k * sizeof(JEntry)], &meta, sizeof(meta));
    }
    children_.resize(first);
    const std::size_t length = buffer_.size() - base;
    CheckLength(length);
    return JENTRY_ISCONTAINER | static_cast<uint32>(length);
  }

  // A number's stored form (numeric_in).
  static std::string NumericBytes(std::string_view text) {
    std::string copy(text);
    const char* bytes = nullptr;
    std::size_t size = 0;
    PgTry([&]() noexcept {
      Datum value =
          DirectFunctionCall3(numeric_in, CStringGetDatum(copy.c_str()),
                              ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
      bytes = DatumGetPointer(value);
      size = VARSIZE_ANY(bytes);
    });
    return std::string(bytes, size);
  }

  const std::vector<core::JsonToken>& tokens_;
  std::vector<std::size_t> end_;  // the matching end of each container
  std::vector<std::size_t> children_;
  std::string buffer_;
};

}  // namespace

Datum JsonTokensToJsonb(const core::JsonTokens& tokens) {
  std::string bytes = JsonbWriter(tokens.tokens()).Write();
  Datum result = 0;
  PgTry([&]() noexcept {
    auto* value = static_cast<Jsonb*>(palloc(bytes.size()));
    memcpy(value, bytes.data(), bytes.size());
    SET_VARSIZE(value, bytes.size());
    result = PointerGetDatum(value);
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
  // 0.1.0's finding type has no "cause" (the library serves both).
  bool with_cause = rsinfo->setDesc->natts >= 10;
  for (const auto& f : findings) {
    Datum values[10];
    bool nulls[10] = {false,
                      false,
                      false,
                      false,
                      false,
                      f.expected.empty(),
                      f.actual.empty(),
                      f.fix.empty(),
                      false,
                      f.cause.empty()};
    values[0] = PointerGetDatum(ToText(core::SeverityName(f.severity)));
    values[1] = PointerGetDatum(ToText(f.kind));
    values[2] = PointerGetDatum(ToText(f.app));
    values[3] = PointerGetDatum(ToText(f.object));
    values[4] = PointerGetDatum(ToText(f.message));
    values[5] = nulls[5] ? Datum(0) : PointerGetDatum(ToText(f.expected));
    values[6] = nulls[6] ? Datum(0) : PointerGetDatum(ToText(f.actual));
    values[7] = nulls[7] ? Datum(0) : PointerGetDatum(ToText(f.fix));
    values[8] = TextArrayDatum(f.hazards);
    values[9] =
        nulls[9] || !with_cause ? Datum(0) : PointerGetDatum(ToText(f.cause));
    PutRow(rsinfo, values, nulls);
  }
}

}  // namespace schema_guard::pg
