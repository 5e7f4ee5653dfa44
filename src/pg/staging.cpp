// SQL functions of staging: stage_open, stage_rows, stage_validate,
// stage_apply and current_batch.
//
// A validate or an apply reads the batch's staged rows through a cursor,
// a chunk at a time, and converts each payload with the input functions of
// the target's column types into a temporary table shaped like the target
// (plus "seq"). Rows that do not convert go to a temporary problem table
// instead. Chunks convert inside one subtransaction; only a chunk that
// raised is converted again value by value, each value in its own
// subtransaction, to name the bad values. The remaining checks (NOT NULL,
// CHECK, foreign keys, duplicates) and the merge are set-based SQL over the
// temporary table. Backend memory is one chunk plus one row.
//
// Identities: the batch log, the staged rows and the quarantine are read and
// written as the extension's owner (a security-restricted operation with
// search_path pinned); everything that touches the target runs as the
// caller, with the caller's privileges.
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/json.hpp"
#include "core/staging.hpp"
#include "pg/audit_store.hpp"
#include "pg/bridge.hpp"
#include "pg/datum.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "postgres.h"

#include "access/heapam.h"
#include "common/hashfn.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/syscache.h"
#include "catalog/pg_class.h"
#include "utils/typcache.h"

PG_FUNCTION_INFO_V1(schema_guard_current_batch);
PG_FUNCTION_INFO_V1(schema_guard_stage_open);
PG_FUNCTION_INFO_V1(schema_guard_stage_rows);
PG_FUNCTION_INFO_V1(schema_guard_stage_validate);
PG_FUNCTION_INFO_V1(schema_guard_stage_apply);
}

namespace schema_guard::pg {
namespace {

namespace core = schema_guard::core;

// The batch stage_open() last opened in this session (0: none).
int64 session_batch = 0;
// Makes the names of temporary tables unique within the session.
int64 temp_counter = 0;

constexpr int64 kFetchRows = 1000;
// pg_advisory_xact_lock(bigint) key space of applies: "SGST" << 32 | oid.
constexpr int64 kApplyLockSpace = static_cast<int64>(0x53475354) << 32;

[[noreturn]] void Fail(int sqlstate, std::string message, std::string detail,
                       std::string hint) {
  throw PgError(sqlstate, std::move(message), std::move(detail),
                std::move(hint), {});
}

core::QuoteFn Quoter() {
  return [](std::string_view n) { return Quote(n); };
}

std::string Literal(const std::string& text) {
  const char* quoted = nullptr;
  PgTry([&]() noexcept { quoted = quote_literal_cstr(text.c_str()); });
  return quoted;
}

std::string CurrentRoleName() {
  const char* name = nullptr;
  PgTry([&]() noexcept { name = GetUserNameFromId(GetUserId(), false); });
  return name;
}

// Runs a statement and returns how many rows it processed.
uint64 Execute(const std::string& sql, const std::vector<QueryArg>& args = {}) {
  ExecuteSpi(sql.c_str(), args, false);
  uint64 processed = SPI_processed;
  PgTry([&]() noexcept {
    if (SPI_tuptable != nullptr) SPI_freetuptable(SPI_tuptable);
  });
  return processed;
}

int64 Int(const QueryResult& r, std::size_t row, std::size_t column) {
  const char* cell = r.Get(row, column);
  return cell == nullptr ? 0 : std::stoll(cell);
}

QueryArg Int8Arg(int64 value) { return {INT8OID, Int64GetDatum(value), false}; }
QueryArg OidArg(Oid value) { return {OIDOID, ObjectIdGetDatum(value), false}; }
QueryArg TextParam(const std::optional<std::string>& value) {
  return {TEXTOID, value ? PointerGetDatum(ToText(*value)) : Datum(0),
          !value.has_value()};
}

// Runs SQL as the owner of schema_guard.stage_batches, as a
// security-restricted operation with search_path pinned: the batch log, the
// staged rows and the quarantine are written only through these functions.
class OwnerScope {
 public:
  OwnerScope() {
    PgTry([&]() noexcept { EnterOwnerContext("stage_batches", &saved_); });
  }
  ~OwnerScope() {
    MemoryContext caller = CurrentMemoryContext;
    PG_TRY();
    { LeaveOwnerContext(&saved_); }
    PG_CATCH();
    {
      MemoryContextSwitchTo(caller);
      FlushErrorState();
    }
    PG_END_TRY();
  }
  OwnerScope(const OwnerScope&) = delete;
  OwnerScope& operator=(const OwnerScope&) = delete;

 private:
  OwnerContext saved_{};
};

// ---------------------------------------------------------------------
// The target table.

struct TargetColumn {
  core::StageColumn info;
  Oid type = InvalidOid;
  int32 typmod = -1;
  Oid collation = InvalidOid;
  bool has_equality = false;
};

struct Target {
  Oid oid = InvalidOid;
  std::string schema;
  std::string name;
  std::string display;  // schema.name, unquoted (findings name it so)
  std::string quoted;
  std::vector<TargetColumn> columns;

  const TargetColumn* Find(std::string_view column) const {
    for (const auto& c : columns) {
      if (c.info.name == column) return &c;
    }
    return nullptr;
  }
};

Target ReadTarget(SpiSession& spi, Oid relid) {
  Target target;
  target.oid = relid;
  QueryResult rel = spi.Query(
      "SELECT n.nspname, c.relname, c.relkind FROM pg_catalog.pg_class c "
      "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
      "WHERE c.oid = $1",
      {OidArg(relid)});
  if (rel.rows() == 0) {
    Fail(ERRCODE_UNDEFINED_TABLE,
         fmt::format("relation with OID {} does not exist", relid),
         "The batch's target table has been dropped.",
         "Open a new batch for the table that replaced it.");
  }
  target.schema = rel.Text(0, 0);
  target.name = rel.Text(0, 1);
  target.display = target.schema + "." + target.name;
  target.quoted = Quote(target.schema) + "." + Quote(target.name);
  std::string kind = rel.Text(0, 2);
  if (kind != "r" && kind != "p") {
    Fail(ERRCODE_WRONG_OBJECT_TYPE,
         fmt::format("\"{}\" is not a table", target.display),
         "Rows can only be staged for ordinary and partitioned tables.",
         "Name the table the view or foreign table writes to.");
  }
  QueryResult cols = spi.Query(
      "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), "
      "a.attnotnull, a.atthasdef OR a.attidentity <> '', "
      "a.attgenerated <> '', a.attidentity = 'a', a.atttypid, a.atttypmod, "
      "a.attcollation "
      "FROM pg_catalog.pg_attribute a WHERE a.attrelid = $1 AND a.attnum > 0 "
      "AND NOT a.attisdropped ORDER BY a.attnum",
      {OidArg(relid)});
  for (std::size_t r = 0; r < cols.rows(); ++r) {
    TargetColumn c;
    c.info.name = cols.Text(r, 0);
    c.info.type = cols.Text(r, 1);
    c.info.not_null = cols.Bool(r, 2);
    c.info.has_default = cols.Bool(r, 3);
    c.info.generated = cols.Bool(r, 4);
    c.info.identity_always = cols.Bool(r, 5);
    c.type = static_cast<Oid>(std::stoul(cols.Text(r, 6)));
    c.typmod = static_cast<int32>(std::stol(cols.Text(r, 7)));
    c.collation = static_cast<Oid>(std::stoul(cols.Text(r, 8)));
    Oid type = c.type;
    bool eq = false;
    bool lt = false;
    PgTry([&]() noexcept {
      TypeCacheEntry* entry =
          lookup_type_cache(type, TYPECACHE_EQ_OPR | TYPECACHE_LT_OPR);
      eq = OidIsValid(entry->eq_opr);
      lt = OidIsValid(entry->lt_opr);
    });
    c.has_equality = eq;
    c.info.orderable = lt;
    Oid base = type;
    PgTry([&]() noexcept { base = getBaseType(type); });
    c.info.timestamp =
        base == TIMESTAMPTZOID || base == TIMESTAMPOID || base == DATEOID;
    target.columns.push_back(std::move(c));
  }
  return target;
}

std::vector<std::string> JsonStrings(const std::string& json_text) {
  std::vector<std::string> out;
  core::Json doc = core::ParseJson(json_text);
  for (const auto& item : doc.items()) {
    out.push_back(item.text());
  }
  return out;
}

// ---------------------------------------------------------------------
// The batch log.

struct Batch {
  int64 id = 0;
  Oid target = InvalidOid;
  std::vector<std::string> key_columns;
  core::StageOptions options;
  std::string status;
  std::string opened_by;
  std::string applied_at;
  std::string applied_by;
};

Batch LoadBatch(SpiSession& spi, int64 id, bool for_update) {
  QueryResult row;
  {
    OwnerScope owner;
    row = spi.Query(
        for_update
            ? "SELECT target::oid, pg_catalog.array_to_json(key_columns), "
              "options::text, status, opened_by, applied_at, applied_by "
              "FROM schema_guard.stage_batches WHERE batch_id = $1 FOR UPDATE"
            : "SELECT target::oid, pg_catalog.array_to_json(key_columns), "
              "options::text, status, opened_by, applied_at, applied_by "
              "FROM schema_guard.stage_batches WHERE batch_id = $1",
        {Int8Arg(id)}, !for_update);
  }
  if (row.rows() == 0) {
    Fail(ERRCODE_UNDEFINED_OBJECT, fmt::format("batch {} does not exist", id),
         "Batches are opened by schema_guard.stage_open() and listed in "
         "schema_guard.stage_batches.",
         "Pass the id stage_open() returned.");
  }
  Batch batch;
  batch.id = id;
  batch.target = static_cast<Oid>(std::stoul(row.Text(0, 0)));
  batch.key_columns = JsonStrings(row.Text(0, 1));
  batch.options = core::ParseStageOptions(row.Text(0, 2));
  batch.status = row.Text(0, 3);
  batch.opened_by = row.Text(0, 4);
  batch.applied_at = row.Text(0, 5);
  batch.applied_by = row.Text(0, 6);
  // Only the role that opened the batch (or a member of it) may use it.
  std::string opener = batch.opened_by;
  bool member = false;
  PgTry([&]() noexcept {
    Oid role = get_role_oid(opener.c_str(), true);
    member = OidIsValid(role) && is_member_of_role(GetUserId(), role);
  });
  if (!member) {
    Fail(
        ERRCODE_INSUFFICIENT_PRIVILEGE,
        fmt::format("permission denied for batch {}", id),
        fmt::format("Batch {} was opened by role \"{}\".", id, batch.opened_by),
        "Use the batch as the role that opened it, or a member of it.");
  }
  return batch;
}

// ---------------------------------------------------------------------
// Converting a batch.

// One column of the staged temporary table, as the conversion sees it.
// Plain data: the conversion runs inside PgTry.
struct ConvColumn {
  const char* name;
  int name_len;
  int attno;     // 0-based in the staged table (0 is seq)
  int key_pos;   // position in the key, or -1
  int kind;      // kData, kGenerated, kTouch
  bool is_json;  // json or jsonb: the value is kept as JSON text
  FmgrInfo input;
  Oid ioparam;
  int32 typmod;
};
constexpr int kData = 0;
constexpr int kGenerated = 1;
constexpr int kTouch = 2;

constexpr int kMaxRowProblems = 16;
struct RowProblem {
  const char* problem;
  char* detail;  // palloc'd in the row context
};

// What converting one row found. Plain data.
struct RowResult {
  int nproblems;
  RowProblem problems[kMaxRowProblems];
  char** key_text;  // per key column: the raw text, or NULL
  bool inserted;
};

struct KeyHash {
  FmgrInfo fn;
  Oid collation;
  int attno;
};
constexpr int kBucketBits = 25;  // 2 x 4 MB of bitmap
constexpr uint32 kBucketMask = (1u << kBucketBits) - 1;

struct ConvState {
  ConvColumn* columns;  // sorted by name
  int ncolumns;
  const std::string* ignore;  // sorted
  int nignore;
  int nkeys;
  const char* target_display;
  Relation staged;
  Datum* values;
  bool* nulls;
  int natts;
  char* chunk_present;  // per staged attribute: carried by a row of the chunk
  CommandId cid;
  MemoryContext row_context;
  // Duplicate pre-filter: each converted row's key hashes to a bucket; a
  // bucket seen twice may hold duplicates (or only a hash collision). Two
  // fixed-size bitmaps, whatever the batch's size.
  KeyHash* key_hash;  // per key column; NULL when a key type cannot hash
  uint64* seen;
  uint64* twice;
};

void AddProblem(RowResult* result, const char* problem, char* detail) {
  if (result->nproblems >= kMaxRowProblems) return;
  result->problems[result->nproblems].problem = problem;
  result->problems[result->nproblems].detail = detail;
  ++result->nproblems;
}

ConvColumn* FindConvColumn(ConvState* st, const char* key, int len) {
  int lo = 0;
  int hi = st->ncolumns;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    ConvColumn* c = &st->columns[mid];
    int n = std::min(c->name_len, len);
    int cmp = std::memcmp(c->name, key, static_cast<std::size_t>(n));
    if (cmp == 0) cmp = c->name_len - len;
    if (cmp == 0) return c;
    if (cmp < 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return nullptr;
}

bool Ignored(ConvState* st, const char* key, int len) {
  std::string_view k(key, static_cast<std::size_t>(len));
  for (int i = 0; i < st->nignore; ++i) {
    if (st->ignore[i] == k) return true;
  }
  return false;
}

// The text handed to the column's input function; NULL for JSON null.
char* ValueText(const JsonbValue* v, bool is_json) {
  switch (v->type) {
    case jbvNull:
      return nullptr;
    case jbvString:
      if (is_json) {
        StringInfoData buf;
        initStringInfo(&buf);
        char* s = pnstrdup(v->val.string.val, v->val.string.len);
        escape_json(&buf, s);
        return buf.data;
      }
      return pnstrdup(v->val.string.val, v->val.string.len);
    case jbvNumeric:
      return DatumGetCString(
          DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
    case jbvBool:
      return pstrdup(v->val.boolean ? "true" : "false");
    case jbvBinary:
      return JsonbToCString(nullptr, v->val.binary.data, v->val.binary.len);
    default:
      return pstrdup("");
  }
}

// Converts one value; in careful mode inside a subtransaction, recording the
// type's error as the row's problem instead of raising it.
bool ConvertValue(ConvState* st, ConvColumn* c, char* text, bool careful,
                  RowResult* result) {
  int att = c->attno;
  if (!careful) {
    st->values[att] = InputFunctionCall(&c->input, text, c->ioparam, c->typmod);
    st->nulls[att] = false;
    return true;
  }
  MemoryContext row = CurrentMemoryContext;
  ResourceOwner owner = CurrentResourceOwner;
  bool ok = true;
  BeginInternalSubTransaction(nullptr);
  MemoryContextSwitchTo(row);
  PG_TRY();
  {
    st->values[att] = InputFunctionCall(&c->input, text, c->ioparam, c->typmod);
    st->nulls[att] = false;
    ReleaseCurrentSubTransaction();
    MemoryContextSwitchTo(row);
    CurrentResourceOwner = owner;
  }
  PG_CATCH();
  {
    MemoryContextSwitchTo(row);
    ErrorData* edata = CopyErrorData();
    FlushErrorState();
    RollbackAndReleaseCurrentSubTransaction();
    MemoryContextSwitchTo(row);
    CurrentResourceOwner = owner;
    AddProblem(result,
               edata->sqlerrcode == ERRCODE_STRING_DATA_RIGHT_TRUNCATION
                   ? "too_long"
                   : "invalid_value",
               psprintf("column \"%s\": %s", c->name, edata->message));
    ok = false;
  }
  PG_END_TRY();
  return ok;
}

// Converts one staged row into the staged table, or records its problems
// in *result. May raise (outside careful mode) when a value does not
// convert: the caller converts the chunk again carefully.
void ConvertRow(ConvState* st, int64 seq, Jsonb* payload, bool careful,
                RowResult* result) {
  result->nproblems = 0;
  result->inserted = false;
  for (int i = 0; i < st->nkeys; ++i) result->key_text[i] = nullptr;
  for (int i = 0; i < st->natts; ++i) {
    st->values[i] = Datum(0);
    st->nulls[i] = true;
  }
  st->values[0] = Int64GetDatum(seq);
  st->nulls[0] = false;
  if (!JB_ROOT_IS_OBJECT(payload) || JB_ROOT_IS_SCALAR(payload)) {
    AddProblem(result, "not_an_object",
               pstrdup("The payload is not a JSON object of column names "
                       "and values."));
    return;
  }
  // Attributes this row carries (reported to the chunk only if it converts).
  bool* carried = static_cast<bool*>(palloc0(sizeof(bool) * st->natts));
  JsonbIterator* it = JsonbIteratorInit(&payload->root);
  JsonbValue v;
  JsonbIteratorToken token;
  const char* key = nullptr;
  int key_len = 0;
  while ((token = JsonbIteratorNext(&it, &v, true)) != WJB_DONE) {
    if (token == WJB_KEY) {
      key = v.val.string.val;
      key_len = v.val.string.len;
      continue;
    }
    if (token != WJB_VALUE) continue;
    ConvColumn* c = FindConvColumn(st, key, key_len);
    if (c == nullptr) {
      if (!Ignored(st, key, key_len)) {
        AddProblem(result, "unknown_column",
                   psprintf("column \"%s\" does not exist in table \"%s\"",
                            pnstrdup(key, key_len), st->target_display));
      }
      continue;
    }
    if (c->kind == kGenerated) {
      AddProblem(result, "generated_column",
                 psprintf("column \"%s\" is generated and cannot be written",
                          c->name));
      continue;
    }
    if (c->kind == kTouch) {
      AddProblem(result, "touch_column",
                 psprintf("column \"%s\" is set by the apply "
                          "(touch_column) and cannot be staged",
                          c->name));
      continue;
    }
    char* text = ValueText(&v, c->is_json);
    if (c->key_pos >= 0) result->key_text[c->key_pos] = text;
    carried[c->attno] = true;
    if (text == nullptr) continue;
    ConvertValue(st, c, text, careful, result);
  }
  for (int i = 0; i < st->ncolumns; ++i) {
    ConvColumn* c = &st->columns[i];
    if (c->key_pos >= 0 && st->nulls[c->attno] &&
        result->key_text[c->key_pos] == nullptr) {
      AddProblem(result, "missing_key",
                 psprintf("key column \"%s\" is %s", c->name,
                          carried[c->attno] ? "null" : "missing"));
    }
  }
  if (result->nproblems > 0) return;
  uint32 hash = 0;
  if (st->key_hash != nullptr) {
    for (int k = 0; k < st->nkeys; ++k) {
      KeyHash* kh = &st->key_hash[k];
      hash = hash_combine(
          hash, DatumGetUInt32(FunctionCall1Coll(&kh->fn, kh->collation,
                                                 st->values[kh->attno])));
    }
  }
  uint32 bucket = hash & kBucketMask;
  uint64 bit = UINT64CONST(1) << (bucket & 63);
  if ((st->seen[bucket >> 6] & bit) != 0) {
    st->twice[bucket >> 6] |= bit;
  } else {
    st->seen[bucket >> 6] |= bit;
  }
  st->values[1] = Int32GetDatum(static_cast<int32>(bucket));
  st->nulls[1] = false;
  HeapTuple tuple =
      heap_form_tuple(RelationGetDescr(st->staged), st->values, st->nulls);
  heap_insert(st->staged, tuple, st->cid, 0, nullptr);
  for (int i = 0; i < st->natts; ++i) {
    if (carried[i]) st->chunk_present[i] = 1;
  }
  result->inserted = true;
}

// A batch converted into temporary tables, with what the checks found.
struct Conversion {
  Target target;
  std::string staged;      // quoted: the converted rows (kept, see Kept)
  std::string converting;  // quoted: problems of the conversion (kept)
  std::string candidates;  // quoted: buckets that may hold duplicates, or ""
  std::string problems;    // quoted: problems of this call's checks
  std::string source;      // the rows to merge: staged minus problems
  std::vector<std::string> columns;  // staged non-key columns
  int64 rows = 0;
  int64 rejected = 0;  // distinct rows with a problem
  int64 superseded = 0;
};

std::string NewTempName(std::string_view what, int64 batch) {
  ++temp_counter;
  return fmt::format("schema_guard_{}_{}_{}", what, batch, temp_counter);
}

Oid TempRelid(const std::string& name) {
  Oid relid = InvalidOid;
  PgTry([&]() noexcept {
    relid = get_relname_relid(name.c_str(), LookupCreationNamespace("pg_temp"));
  });
  if (!OidIsValid(relid)) {
    throw core::Error(core::ErrorCode::kInternal,
                      fmt::format("temporary table {} is missing", name));
  }
  return relid;
}

void InsertProblem(Relation rel, CommandId cid, int64 seq,
                   const std::string& key, const char* problem,
                   const char* detail, int ord) {
  Datum values[5];
  bool nulls[5] = {false, false, false, false, false};
  values[0] = Int64GetDatum(seq);
  values[1] = PointerGetDatum(ToText(key));
  values[3] = PointerGetDatum(ToText(detail));
  values[2] = PointerGetDatum(ToText(problem));
  values[4] = Int32GetDatum(ord);
  PgTry([&]() noexcept {
    HeapTuple tuple = heap_form_tuple(RelationGetDescr(rel), values, nulls);
    heap_insert(rel, tuple, cid, 0, nullptr);
  });
}

// Converts every staged row of the batch into the staged table; returns
// how many rows were read.
int64 ConvertBatch(const Batch& batch, const Target& target,
                   const std::string& staged_name,
                   const std::string& problems_name, std::vector<char>* present,
                   std::vector<int32>* candidates) {
  // The staged table's attributes are "seq" then the target's non-generated
  // columns in order.
  std::vector<ConvColumn> columns;
  int attno = 2;  // after seq and bucket
  for (const auto& tc : target.columns) {
    ConvColumn c{};
    c.name = tc.info.name.c_str();
    c.name_len = static_cast<int>(tc.info.name.size());
    c.key_pos = -1;
    for (std::size_t k = 0; k < batch.key_columns.size(); ++k) {
      if (batch.key_columns[k] == tc.info.name) c.key_pos = static_cast<int>(k);
    }
    c.kind = tc.info.generated                            ? kGenerated
             : tc.info.name == batch.options.touch_column ? kTouch
                                                          : kData;
    c.attno = tc.info.generated ? -1 : attno++;
    c.is_json = tc.type == JSONOID || tc.type == JSONBOID;
    c.typmod = tc.typmod;
    Oid type = tc.type;
    ConvColumn* out = &c;
    PgTry([&]() noexcept {
      Oid input = InvalidOid;
      getTypeInputInfo(type, &input, &out->ioparam);
      fmgr_info(input, &out->input);
    });
    columns.push_back(c);
  }
  std::sort(columns.begin(), columns.end(),
            [](const ConvColumn& a, const ConvColumn& b) {
              return std::string_view(a.name, a.name_len) <
                     std::string_view(b.name, b.name_len);
            });
  std::vector<std::string> ignore = batch.options.ignore_columns;
  std::sort(ignore.begin(), ignore.end());
  int natts = attno;
  std::vector<Datum> values(natts);
  std::vector<char> nulls_storage(natts);
  std::vector<char> chunk_present(natts, 0);
  present->assign(natts, 0);
  std::vector<char*> key_text(batch.key_columns.size());

  ConvState st{};
  st.columns = columns.data();
  st.ncolumns = static_cast<int>(columns.size());
  st.ignore = ignore.data();
  st.nignore = static_cast<int>(ignore.size());
  st.nkeys = static_cast<int>(batch.key_columns.size());
  st.target_display = target.name.c_str();
  st.values = values.data();
  st.nulls = reinterpret_cast<bool*>(nulls_storage.data());
  static_assert(sizeof(bool) == sizeof(char), "bool is one byte");
  st.natts = natts;
  st.chunk_present = chunk_present.data();

  // The key columns' hash functions, for the duplicate pre-filter.
  std::vector<KeyHash> key_hash(batch.key_columns.size());
  bool hashable = true;
  for (std::size_t k = 0; k < batch.key_columns.size(); ++k) {
    const TargetColumn* tc = target.Find(batch.key_columns[k]);
    for (const auto& c : columns) {
      if (c.key_pos == static_cast<int>(k)) key_hash[k].attno = c.attno;
    }
    key_hash[k].collation = tc->collation;
    Oid type = tc->type;
    KeyHash* out = &key_hash[k];
    bool ok = false;
    PgTry([&]() noexcept {
      TypeCacheEntry* entry =
          lookup_type_cache(type, TYPECACHE_HASH_PROC_FINFO);
      ok = OidIsValid(entry->hash_proc);
      if (ok)
        fmgr_info_copy(&out->fn, &entry->hash_proc_finfo, CurrentMemoryContext);
    });
    hashable = hashable && ok;
  }
  constexpr std::size_t kWords = (std::size_t{1} << kBucketBits) / 64;
  std::vector<uint64> seen(kWords, 0);
  std::vector<uint64> twice(kWords, 0);
  st.key_hash = hashable ? key_hash.data() : nullptr;
  st.seen = seen.data();
  st.twice = twice.data();

  Oid staged_relid = TempRelid(staged_name);
  Oid problems_relid = TempRelid(problems_name);
  Relation problems_rel = nullptr;
  Portal portal = nullptr;
  {
    OwnerScope owner;
    Datum arg = Int64GetDatum(batch.id);
    Oid argtype = INT8OID;
    PgTry([&]() noexcept {
      portal = SPI_cursor_open_with_args(
          nullptr,
          "SELECT seq, payload FROM schema_guard.staged_row "
          "WHERE batch_id = $1",
          1, &argtype, &arg, nullptr, true, 0);
    });
  }
  PgTry([&]() noexcept {
    st.staged = table_open(staged_relid, RowExclusiveLock);
    problems_rel = table_open(problems_relid, RowExclusiveLock);
    st.cid = GetCurrentCommandId(true);
    st.row_context =
        AllocSetContextCreate(CurrentMemoryContext, "schema_guard staging row",
                              ALLOCSET_DEFAULT_SIZES);
  });
  RowResult result{};
  result.key_text = key_text.data();
  int64 rows = 0;

  // Records a row's problems; C++ from here on.
  auto record = [&](int64 seq) {
    std::vector<std::optional<std::string>> parts;
    parts.reserve(key_text.size());
    for (char* k : key_text) {
      parts.push_back(k == nullptr ? std::nullopt
                                   : std::optional<std::string>(k));
    }
    std::string key = core::RenderKey(parts);
    for (int i = 0; i < result.nproblems; ++i) {
      InsertProblem(problems_rel, st.cid, seq, key, result.problems[i].problem,
                    result.problems[i].detail, i);
    }
  };

  for (;;) {
    SPITupleTable* tuptable = nullptr;
    uint64 fetched = 0;
    PgTry([&]() noexcept {
      SPI_cursor_fetch(portal, true, kFetchRows);
      tuptable = SPI_tuptable;
      fetched = SPI_processed;
    });
    if (fetched == 0) break;
    rows += static_cast<int64>(fetched);
    // Converts row i in the row context (which also holds the detoasted
    // payload), carefully or not.
    auto convert = [&](uint64 i, bool careful, int64* seq) {
      MemoryContext row_context = st.row_context;
      PgTry([&]() noexcept {
        MemoryContextReset(row_context);
        MemoryContext old = MemoryContextSwitchTo(row_context);
        bool isnull = false;
        *seq = DatumGetInt64(
            SPI_getbinval(tuptable->vals[i], tuptable->tupdesc, 1, &isnull));
        Jsonb* payload = DatumGetJsonbP(
            SPI_getbinval(tuptable->vals[i], tuptable->tupdesc, 2, &isnull));
        ConvertRow(&st, *seq, payload, careful, &result);
        MemoryContextSwitchTo(old);
      });
    };
    // Fast: the whole chunk in one subtransaction.
    std::fill(chunk_present.begin(), chunk_present.end(), 0);
    MemoryContext caller = CurrentMemoryContext;
    ResourceOwner owner = CurrentResourceOwner;
    PgTry([&]() noexcept {
      BeginInternalSubTransaction(nullptr);
      MemoryContextSwitchTo(caller);
    });
    bool clean = true;
    try {
      for (uint64 i = 0; i < fetched; ++i) {
        int64 seq = 0;
        convert(i, false, &seq);
        if (result.nproblems > 0) record(seq);
      }
      PgTry([&]() noexcept {
        ReleaseCurrentSubTransaction();
        MemoryContextSwitchTo(caller);
        CurrentResourceOwner = owner;
      });
    } catch (const PgError&) {
      clean = false;
      PgTry([&]() noexcept {
        MemoryContextSwitchTo(caller);
        RollbackAndReleaseCurrentSubTransaction();
        MemoryContextSwitchTo(caller);
        CurrentResourceOwner = owner;
      });
    }
    if (!clean) {
      // Careful: value by value, naming each value that does not convert.
      for (uint64 i = 0; i < fetched; ++i) {
        int64 seq = 0;
        std::fill(chunk_present.begin(), chunk_present.end(), 0);
        convert(i, true, &seq);
        if (result.nproblems > 0) record(seq);
        for (int a = 0; a < natts; ++a) {
          if (chunk_present[a]) (*present)[a] = 1;
        }
      }
    } else {
      for (int a = 0; a < natts; ++a) {
        if (chunk_present[a]) (*present)[a] = 1;
      }
    }
    PgTry([&]() noexcept { SPI_freetuptable(tuptable); });
  }
  MemoryContext row_context = st.row_context;
  Relation staged_rel = st.staged;
  PgTry([&]() noexcept {
    SPI_cursor_close(portal);
    MemoryContextDelete(row_context);
    table_close(staged_rel, NoLock);
    table_close(problems_rel, NoLock);
    CommandCounterIncrement();
  });
  candidates->clear();
  for (std::size_t w = 0; w < kWords; ++w) {
    for (uint64 bits = twice[w]; bits != 0; bits &= bits - 1) {
      candidates->push_back(static_cast<int32>(
          w * 64 + static_cast<std::size_t>(__builtin_ctzll(bits))));
    }
  }
  return rows;
}

struct CheckConstraint {
  std::string name;
  std::string expression;
  std::vector<std::string> columns;
};

struct ForeignKey {
  std::string name;
  std::string referenced;  // quoted
  std::string referenced_display;
  Oid referenced_oid = InvalidOid;
  std::vector<std::string> columns;
  std::vector<std::string> referenced_columns;
};

// Records a problem for every converted row matching `where`.
int64 Reject(const std::string& staged, const std::string& problems,
             const std::string& key_sql, const std::string& where,
             const std::string& problem, const std::string& detail_sql,
             int ord) {
  return static_cast<int64>(Execute(fmt::format(
      "INSERT INTO {4} (seq, key, problem, detail, ord) SELECT s.\"?seq\", "
      "{2}, {5}, {3}, {6} FROM {0} s WHERE {1}",
      staged, where, key_sql, detail_sql, problems, Literal(problem), ord)));
}

// The conversion of the batch last validated or dry-run in this session,
// kept for the apply that usually follows: converting is most of the cost
// of either. It is reused only while nothing that went into it changed.
struct Kept {
  int64 batch = 0;
  std::string fingerprint;
  std::string staged_name;  // unquoted temporary table names
  std::string converting_name;
  std::string candidates_name;       // or ""
  std::vector<std::string> carried;  // columns some row carries, keys too
  int64 rows = 0;
};
std::optional<Kept> kept;

bool TempExists(const std::string& name) {
  Oid relid = InvalidOid;
  PgTry([&]() noexcept {
    relid = get_relname_relid(name.c_str(), LookupCreationNamespace("pg_temp"));
  });
  return OidIsValid(relid);
}

// What a conversion depends on: the batch's rows (no row can be staged
// without a new staged_row_seq value: sync roles cannot set seq), the
// target's columns and types, and the batch's keys and options.
std::string Fingerprint(SpiSession& spi, const Batch& batch,
                        const Target& target) {
  QueryResult seq;
  {
    OwnerScope owner;
    seq = spi.Query(
        "SELECT last_value || ':' || is_called FROM "
        "schema_guard.staged_row_seq",
        {}, false);
  }
  std::string out =
      fmt::format("{}|{}|{}|", batch.id, seq.Text(0, 0), target.oid);
  for (const auto& c : target.columns) {
    out += fmt::format("{}:{}:{}:{}:{};", c.info.name, c.type, c.typmod,
                       c.collation, c.info.generated);
  }
  out += core::StageOptionsJson(batch.options);
  for (const auto& k : batch.key_columns) out += "|" + k;
  return out;
}

void DropKept() {
  if (!kept) return;
  std::string names;
  for (const std::string* n :
       {&kept->staged_name, &kept->converting_name, &kept->candidates_name}) {
    if (n->empty()) continue;
    names += (names.empty() ? "" : ", ") + ("pg_temp." + Quote(*n));
  }
  kept.reset();
  Execute(fmt::format("DROP TABLE IF EXISTS {}", names));
}

// Converts the batch and runs the set-based checks; the staged table then
// holds exactly the rows an apply would merge.
Conversion Convert(SpiSession& spi, const Batch& batch) {
  Conversion conv;
  conv.target = ReadTarget(spi, batch.target);
  const Target& target = conv.target;
  core::CheckStageSetup(target.display, batch.options, batch.key_columns, [&] {
    std::vector<core::StageColumn> cols;
    for (const auto& c : target.columns) cols.push_back(c.info);
    return cols;
  }());
  auto quote = Quoter();
  std::string fingerprint = Fingerprint(spi, batch, target);
  bool reuse =
      kept && kept->batch == batch.id && kept->fingerprint == fingerprint &&
      TempExists(kept->staged_name) && TempExists(kept->converting_name) &&
      (kept->candidates_name.empty() || TempExists(kept->candidates_name));
  if (!reuse) {
    DropKept();
    Kept k;
    k.batch = batch.id;
    k.fingerprint = fingerprint;
    k.staged_name = NewTempName("staged", batch.id);
    k.converting_name = NewTempName("converting", batch.id);
    // "?seq" and "?bucket" cannot be column names of the target (checked).
    std::vector<std::string> defs{"\"?seq\" bigint", "\"?bucket\" integer"};
    for (const auto& c : target.columns) {
      if (c.info.generated) continue;
      defs.push_back(Quote(c.info.name) + " " + c.info.type);
    }
    std::string joined;
    for (std::size_t i = 0; i < defs.size(); ++i) {
      joined += (i > 0 ? ", " : "") + defs[i];
    }
    // Kept past the transaction, for the apply that follows a validate.
    Execute(fmt::format("CREATE TEMPORARY TABLE pg_temp.{} ({})",
                        Quote(k.staged_name), joined));
    Execute(fmt::format(
        "CREATE TEMPORARY TABLE pg_temp.{} (seq bigint, key text, problem "
        "text, detail text, ord integer)",
        Quote(k.converting_name)));
    std::vector<char> present;
    std::vector<int32> candidates;
    k.rows = ConvertBatch(batch, target, k.staged_name, k.converting_name,
                          &present, &candidates);
    // Statistics for the plans of the checks and the merge.
    Execute(fmt::format("ANALYZE pg_temp.{}", Quote(k.staged_name)));
    int attno = 2;
    for (const auto& c : target.columns) {
      if (c.info.generated) continue;
      if (present[attno]) k.carried.push_back(c.info.name);
      ++attno;
    }
    // Only buckets the pre-filter saw twice can hold duplicates.
    if (!candidates.empty()) {
      k.candidates_name = NewTempName("buckets", batch.id);
      std::vector<Datum> elems;
      elems.reserve(candidates.size());
      for (int32 b : candidates) elems.push_back(Int32GetDatum(b));
      Datum array = 0;
      PgTry([&]() noexcept {
        array = PointerGetDatum(
            construct_array(elems.data(), static_cast<int>(elems.size()),
                            INT4OID, 4, true, TYPALIGN_INT));
      });
      Execute(fmt::format("CREATE TEMPORARY TABLE pg_temp.{} AS SELECT "
                          "pg_catalog.unnest($1::pg_catalog.int4[]) AS bucket",
                          Quote(k.candidates_name)),
              {{INT4ARRAYOID, array, false}});
    }
    kept = std::move(k);
  }
  conv.staged = "pg_temp." + Quote(kept->staged_name);
  conv.converting = "pg_temp." + Quote(kept->converting_name);
  conv.candidates = kept->candidates_name.empty()
                        ? std::string()
                        : "pg_temp." + Quote(kept->candidates_name);
  conv.rows = kept->rows;
  std::vector<std::string> carried = kept->carried;  // including keys
  for (const auto& name : carried) {
    if (std::find(batch.key_columns.begin(), batch.key_columns.end(), name) ==
        batch.key_columns.end()) {
      conv.columns.push_back(name);
    }
  }
  // This call's checks.
  conv.problems = "pg_temp." + Quote(NewTempName("problems", batch.id));
  Execute(fmt::format(
      "CREATE TEMPORARY TABLE {} (seq bigint, key text, problem text, detail "
      "text, ord integer) ON COMMIT DROP",
      conv.problems));
  conv.source = fmt::format(
      "(SELECT * FROM {} s0 WHERE NOT EXISTS (SELECT 1 FROM {} p WHERE p.seq "
      "= s0.\"?seq\"))",
      conv.staged, conv.problems);

  auto carries = [&](const std::string& name) {
    return std::find(carried.begin(), carried.end(), name) != carried.end();
  };
  std::string key_sql = core::KeyTextSql(batch.key_columns, "s", quote);
  const std::string& s = conv.staged;
  const std::string& p = conv.problems;

  // NOT NULL: a carried column that is null in a row (absent keys are
  // nulls); a not-null column without default that no row carries.
  {
    std::vector<std::string> conds;
    std::string which = "CASE";
    for (const auto& name : conv.columns) {
      const TargetColumn* c = target.Find(name);
      if (!c->info.not_null) continue;
      std::string cond = fmt::format("s.{} IS NULL", Quote(name));
      conds.push_back(cond);
      which += fmt::format(
          " WHEN {} THEN {}", cond,
          Literal(fmt::format("null value in column \"{}\" of relation "
                              "\"{}\" violates not-null constraint",
                              name, target.name)));
    }
    if (!conds.empty()) {
      std::string where;
      for (std::size_t i = 0; i < conds.size(); ++i) {
        where += (i > 0 ? " OR " : "") + conds[i];
      }
      Reject(s, p, key_sql, where, "not_null", which + " END", 100);
    }
    for (const auto& c : target.columns) {
      if (!c.info.not_null || c.info.has_default || c.info.generated ||
          carries(c.info.name) || c.info.name == batch.options.touch_column) {
        continue;
      }
      // INSERT ... ON CONFLICT checks NOT NULL on the proposed row before
      // it looks for a conflict: such rows cannot be merged at all.
      Reject(s, p, key_sql, "true", "not_null",
             Literal(fmt::format(
                 "column \"{}\" of relation \"{}\" is not null and has no "
                 "default, and the batch does not carry it",
                 c.info.name, target.name)),
             101);
    }
  }

  // CHECK constraints over the carried columns.
  QueryResult checks = spi.Query(
      "SELECT c.conname, pg_catalog.pg_get_expr(c.conbin, c.conrelid), "
      "pg_catalog.array_to_json(ARRAY(SELECT a.attname FROM "
      "pg_catalog.pg_attribute a WHERE a.attrelid = c.conrelid AND a.attnum "
      "= ANY (c.conkey))) FROM pg_catalog.pg_constraint c "
      "WHERE c.conrelid = $1 AND c.contype = 'c' ORDER BY c.conname",
      {OidArg(target.oid)});
  for (std::size_t r = 0; r < checks.rows(); ++r) {
    std::vector<std::string> cols = JsonStrings(checks.Text(r, 2));
    if (!std::all_of(cols.begin(), cols.end(), carries)) continue;
    Reject(s, p, key_sql, fmt::format("({}) IS FALSE", checks.Text(r, 1)),
           "check_violation",
           Literal(fmt::format("new row for relation \"{}\" violates check "
                               "constraint \"{}\"",
                               target.name, checks.Text(r, 0))),
           110);
  }

  // Foreign keys over the carried columns: the referenced row must exist
  // (or come in the same batch, for a table that refers to itself).
  QueryResult fks = spi.Query(
      "SELECT c.conname, c.confrelid, n.nspname, r.relname, "
      "pg_catalog.array_to_json(ARRAY(SELECT a.attname FROM "
      "pg_catalog.unnest(c.conkey) WITH ORDINALITY k(n, i) JOIN "
      "pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = "
      "k.n ORDER BY k.i)), "
      "pg_catalog.array_to_json(ARRAY(SELECT a.attname FROM "
      "pg_catalog.unnest(c.confkey) WITH ORDINALITY k(n, i) JOIN "
      "pg_catalog.pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = "
      "k.n ORDER BY k.i)) "
      "FROM pg_catalog.pg_constraint c JOIN pg_catalog.pg_class r ON r.oid = "
      "c.confrelid JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace "
      "WHERE c.conrelid = $1 AND c.contype = 'f' ORDER BY c.conname",
      {OidArg(target.oid)});
  for (std::size_t r = 0; r < fks.rows(); ++r) {
    std::vector<std::string> cols = JsonStrings(fks.Text(r, 4));
    std::vector<std::string> refs = JsonStrings(fks.Text(r, 5));
    if (!std::all_of(cols.begin(), cols.end(), carries)) continue;
    std::string ref = Quote(fks.Text(r, 2)) + "." + Quote(fks.Text(r, 3));
    std::string not_null;
    std::string match;
    std::string match_batch;
    std::string col_list;
    std::vector<std::string> shown;
    for (std::size_t i = 0; i < cols.size(); ++i) {
      const char* sep = i > 0 ? " AND " : "";
      not_null += fmt::format("{}s.{} IS NOT NULL", sep, Quote(cols[i]));
      match +=
          fmt::format("{}r.{} = s.{}", sep, Quote(refs[i]), Quote(cols[i]));
      match_batch +=
          fmt::format("{}b.{} = s.{}", sep, Quote(refs[i]), Quote(cols[i]));
      col_list += (i > 0 ? ", " : "") + cols[i];
      shown.push_back(fmt::format("s.{}::pg_catalog.text", Quote(cols[i])));
    }
    std::string where =
        fmt::format("{} AND NOT EXISTS (SELECT 1 FROM {} r WHERE {})", not_null,
                    ref, match);
    if (static_cast<Oid>(std::stoul(fks.Text(r, 1))) == target.oid) {
      where += fmt::format(" AND NOT EXISTS (SELECT 1 FROM {} b WHERE {})", s,
                           match_batch);
    }
    std::string values;
    for (std::size_t i = 0; i < shown.size(); ++i) {
      values += (i > 0 ? " || ', ' || " : "") + shown[i];
    }
    Reject(s, p, key_sql, where, "foreign_key_violation",
           fmt::format("{} || {} || {}",
                       Literal(fmt::format("key ({})=(", col_list)), values,
                       Literal(fmt::format(
                           ") is not present in table \"{}\" (foreign key "
                           "\"{}\")",
                           fks.Text(r, 3), fks.Text(r, 0)))),
           120);
  }

  // Duplicates inside the batch, among the rows without problems: the last
  // (or newest) row of a key wins.
  if (!conv.candidates.empty()) {
    core::MergePlan plan;
    plan.target = target.quoted;
    plan.staged = conv.source;
    plan.key_columns = batch.key_columns;
    plan.options = batch.options;
    plan.candidates = conv.candidates;
    std::string detail =
        batch.options.conflict == core::ConflictRule::kNewerWins
            ? "' of the batch has the same key and a newer version'"
            : "' of the batch has the same key and was staged later'";
    conv.superseded = static_cast<int64>(Execute(fmt::format(
        "WITH gone AS ({}) INSERT INTO {} (seq, key, problem, detail, ord) "
        "SELECT seq, key, 'superseded', 'row ' || winner || {}, 200 FROM "
        "gone",
        core::SupersedeSql(plan, quote), p, detail)));
  }
  QueryResult rejected = spi.Query(
      fmt::format("SELECT pg_catalog.count(DISTINCT seq) FROM (SELECT seq, "
                  "problem FROM {} UNION ALL SELECT seq, problem FROM {}) p "
                  "WHERE problem <> 'superseded'",
                  conv.converting, p)
          .c_str(),
      {}, false);
  conv.rejected = Int(rejected, 0, 0);
  return conv;
}

void DropTemp(const Conversion& conv) {
  Execute(fmt::format("DROP TABLE {}", conv.problems));
}

core::MergePlan PlanFor(const Batch& batch, const Conversion& conv) {
  core::MergePlan plan;
  plan.target = conv.target.quoted;
  plan.staged = conv.source;
  plan.key_columns = batch.key_columns;
  plan.columns = conv.columns;
  for (const auto& name : conv.columns) {
    plan.compare_as_text.push_back(!conv.target.Find(name)->has_equality);
  }
  plan.options = batch.options;
  return plan;
}

// check_structure: with an expected schema set, refuse a target that
// schema_guard.check() reports errors on.
void CheckStructure(SpiSession& spi, const Target& target) {
  QueryResult result;
  {
    OwnerScope owner;
    QueryResult expected =
        spi.Query("SELECT 1 FROM schema_guard.expected_schema");
    if (expected.rows() == 0) return;
    result = spi.Query(
        "SELECT pg_catalog.count(*), pg_catalog.string_agg(f.kind || ' ' || "
        "f.object, ', ' ORDER BY f.kind, f.object) FROM schema_guard.check() "
        "f WHERE f.severity = 'error' AND (f.object = $1 OR "
        "pg_catalog.starts_with(f.object, $1 || '.'))",
        {TextParam(target.display)}, false);
  }
  int64 errors = Int(result, 0, 0);
  if (errors == 0) return;
  Fail(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
       fmt::format("table \"{}\" does not match the expected schema",
                   target.display),
       fmt::format("schema_guard.check() reports {} error{} on it: {}.", errors,
                   errors == 1 ? "" : "s", result.Text(0, 1)),
       "Fix the table first (SELECT schema_guard.fix_script();), or open the "
       "batch with '{\"check_structure\": false}' to sync data only.");
}

struct Counts {
  int64 inserted = 0;
  int64 updated = 0;
  int64 unchanged = 0;
  int64 stale = 0;
  int64 superseded = 0;
  int64 rejected = 0;
};

void RecordBatch(SpiSession& spi, int64 batch, const std::string& status,
                 int64 staged, const Counts& c, int64 skipped,
                 const std::optional<std::vector<std::string>>& only_keys) {
  std::string role = CurrentRoleName();
  OwnerScope owner;
  spi.Query(
      "UPDATE schema_guard.stage_batches SET status = $2, applied_at = "
      "pg_catalog.now(), applied_by = $3, staged = $4, inserted = $5, "
      "updated = $6, unchanged = $7, stale = $8, superseded = $9, rejected = "
      "$10, skipped = $11, only_keys = $12 WHERE batch_id = $1",
      {Int8Arg(batch),
       TextParam(status),
       TextParam(role),
       Int8Arg(staged),
       Int8Arg(c.inserted),
       Int8Arg(c.updated),
       Int8Arg(c.unchanged),
       Int8Arg(c.stale),
       Int8Arg(c.superseded),
       Int8Arg(c.rejected),
       Int8Arg(skipped),
       {TEXTARRAYOID, only_keys ? TextArrayDatum(*only_keys) : Datum(0),
        !only_keys}},
      false);
}

void Quarantine(const Conversion& conv, int64 batch) {
  OwnerScope owner;
  Execute(fmt::format(
              "INSERT INTO schema_guard.stage_rejected (batch_id, seq, key, "
              "problem, detail, payload) SELECT $1, p.seq, p.key, p.problem, "
              "p.detail, r.payload FROM (SELECT DISTINCT ON (seq) * FROM "
              "(SELECT * FROM {} UNION ALL SELECT * FROM {}) a WHERE problem "
              "<> 'superseded' ORDER BY seq, ord) p JOIN "
              "schema_guard.staged_row r ON r.batch_id = $1 AND r.seq = p.seq",
              conv.converting, conv.problems),
          {Int8Arg(batch)});
}

Counts Apply(int64 batch_id, bool dry_run,
             const std::optional<std::vector<std::string>>& only_keys) {
  SpiSession spi;
  Batch batch = LoadBatch(spi, batch_id, true);
  if (batch.status == "applied") {
    std::string at = batch.applied_at;
    std::string by = batch.applied_by;
    PgTry([&]() noexcept {
      ereport(NOTICE,
              (errmsg("batch %lld was already applied",
                      static_cast<long long>(batch_id)),
               errdetail("It was applied at %s by role \"%s\"; its counts are "
                         "in schema_guard.stage_batches. Nothing was written.",
                         at.c_str(), by.c_str()),
               errhint("To sync the rows again, stage them into a new "
                       "batch.")));
    });
    spi.Finish();
    return {};
  }
  // Two applies to one target serialise.
  Oid target_oid = batch.target;
  PgTry([&]() noexcept {
    DirectFunctionCall1(
        pg_advisory_xact_lock_int8,
        Int64GetDatum(kApplyLockSpace | static_cast<int64>(target_oid)));
  });
  if (batch.options.check_structure) {
    CheckStructure(spi, ReadTarget(spi, batch.target));
  }
  Conversion conv = Convert(spi, batch);
  auto quote = Quoter();
  core::MergePlan plan = PlanFor(batch, conv);
  int64 skipped = 0;
  if (only_keys) {
    // The keys as a literal: the merge's $1 is the apply time.
    std::string keys = "ARRAY[";
    for (std::size_t i = 0; i < only_keys->size(); ++i) {
      keys += (i > 0 ? ", " : "") + Literal((*only_keys)[i]);
    }
    keys += "]::pg_catalog.text[]";
    std::string in;
    if (batch.key_columns.size() == 1) {
      in = fmt::format("s1.{} = ANY ({}::{}[])", Quote(batch.key_columns[0]),
                       keys, conv.target.Find(batch.key_columns[0])->info.type);
    } else {
      in = fmt::format("{} = ANY ({})",
                       core::KeyTextSql(batch.key_columns, "s1", quote), keys);
    }
    QueryResult out = spi.Query(
        fmt::format("SELECT pg_catalog.count(*) FROM {} s1 WHERE NOT ({})",
                    conv.source, in)
            .c_str(),
        {}, false);
    skipped = Int(out, 0, 0);
    plan.staged =
        fmt::format("(SELECT * FROM {} s1 WHERE {})", conv.source, in);
  }
  Counts counts;
  counts.superseded = conv.superseded;
  counts.rejected = conv.rejected;
  // Every staged row was rejected, superseded, left out or is a winner.
  int64 total = conv.rows - conv.rejected - conv.superseded - skipped;
  if (dry_run) {
    QueryResult r = spi.Query(core::DryRunSql(plan, quote).c_str(), {}, false);
    counts.inserted = Int(r, 0, 0);
    counts.updated = Int(r, 0, 1);
    counts.unchanged = Int(r, 0, 2);
    counts.stale = Int(r, 0, 3);
  } else {
    if (batch.options.conflict == core::ConflictRule::kNewerWins) {
      QueryResult r =
          spi.Query(core::StaleCountSql(plan, quote).c_str(), {}, false);
      counts.stale = Int(r, 0, 0);
    }
    Datum now = 0;
    PgTry([&]() noexcept {
      now = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
    });
    QueryResult r = spi.Query(core::MergeSql(plan, quote).c_str(),
                              {{TIMESTAMPTZOID, now, false}}, false);
    counts.inserted = Int(r, 0, 0);
    counts.updated = Int(r, 0, 1);
    counts.unchanged = total - counts.inserted - counts.updated - counts.stale;
    if (counts.rejected > 0) Quarantine(conv, batch_id);
  }
  DropTemp(conv);
  // An applied batch is done with; a dry run's conversion is kept for the
  // apply.
  if (!dry_run) DropKept();
  RecordBatch(spi, batch_id, dry_run ? "dry_run" : "applied", conv.rows, counts,
              skipped, only_keys);
  spi.Finish();
  if (skipped > 0) {
    PgTry([&]() noexcept {
      ereport(NOTICE,
              (errmsg_plural("%lld staged row was left out by only_keys",
                             "%lld staged rows were left out by only_keys",
                             static_cast<unsigned long>(skipped),
                             static_cast<long long>(skipped)),
               errdetail("Only rows whose key is in only_keys were %s.",
                         dry_run ? "counted" : "applied")));
    });
  }
  return counts;
}

int64 OpenBatch(Oid relid, const std::vector<std::string>& key_columns,
                const std::optional<std::string>& source,
                const std::string& options_json) {
  core::StageOptions options = core::ParseStageOptions(options_json);
  SpiSession spi;
  Target target = ReadTarget(spi, relid);
  std::vector<core::StageColumn> cols;
  for (const auto& c : target.columns) cols.push_back(c.info);
  core::CheckStageSetup(target.display, options, key_columns, cols);
  // The merge needs a unique index on exactly the key columns.
  QueryResult unique = spi.Query(
      "SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = $1 AND "
      "i.indisunique AND i.indisvalid AND i.indpred IS NULL AND i.indexprs "
      "IS NULL AND i.indnkeyatts = pg_catalog.cardinality($2) AND "
      "(SELECT pg_catalog.array_agg(a.attname::text ORDER BY a.attname) FROM "
      "pg_catalog.pg_attribute a WHERE a.attrelid = $1 AND a.attnum = ANY "
      "((i.indkey::int2[])[0:i.indnkeyatts - 1])) = (SELECT "
      "pg_catalog.array_agg(k ORDER BY k) FROM pg_catalog.unnest($2) k)",
      {OidArg(relid), {TEXTARRAYOID, TextArrayDatum(key_columns), false}});
  if (unique.rows() == 0) {
    std::string list;
    for (std::size_t i = 0; i < key_columns.size(); ++i) {
      list += (i > 0 ? ", " : "") + Quote(key_columns[i]);
    }
    Fail(ERRCODE_INVALID_COLUMN_REFERENCE,
         fmt::format("table \"{}\" has no unique index on ({})", target.display,
                     list),
         "Staged rows are merged with INSERT ... ON CONFLICT on the key "
         "columns, which needs a unique index or constraint on exactly "
         "them.",
         fmt::format("Add one: ALTER TABLE {} ADD UNIQUE ({});", target.quoted,
                     list));
  }
  QueryResult rights = spi.Query(
      "SELECT pg_catalog.has_table_privilege($1, 'SELECT') AND "
      "pg_catalog.has_table_privilege($1, 'INSERT') AND "
      "pg_catalog.has_table_privilege($1, 'UPDATE')",
      {OidArg(relid)});
  if (!rights.Bool(0, 0)) {
    Fail(ERRCODE_INSUFFICIENT_PRIVILEGE,
         fmt::format("permission denied for table {}", target.name),
         "Applying a batch selects, inserts and updates rows of the target "
         "with your own privileges.",
         fmt::format("GRANT SELECT, INSERT, UPDATE ON {} TO {};", target.quoted,
                     Quote(CurrentRoleName())));
  }
  std::string role = CurrentRoleName();
  QueryResult row;
  {
    OwnerScope owner;
    row = spi.Query(
        "INSERT INTO schema_guard.stage_batches (source, target, target_name, "
        "key_columns, options, opened_by) VALUES ($1, $2, $3, $4, $5, $6) "
        "RETURNING batch_id",
        {TextParam(source),
         OidArg(relid),
         TextParam(target.display),
         {TEXTARRAYOID, TextArrayDatum(key_columns), false},
         {JSONBOID, ToJsonb(core::StageOptionsJson(options)), false},
         TextParam(role)},
        false);
  }
  int64 id = Int(row, 0, 0);
  spi.Finish();
  return id;
}

[[noreturn]] void NullArgument(const char* what, const char* detail,
                               const char* hint) {
  Fail(ERRCODE_NULL_VALUE_NOT_ALLOWED, fmt::format("{} must not be null", what),
       detail, hint);
}

int64 BatchArg(FunctionCallInfo fcinfo) {
  if (PG_ARGISNULL(0)) {
    NullArgument("batch", "Every staging call names its batch.",
                 "Pass the id schema_guard.stage_open() returned.");
  }
  return PG_GETARG_INT64(0);
}

}  // namespace
}  // namespace schema_guard::pg

namespace sg = schema_guard::pg;

extern "C" Datum schema_guard_current_batch(PG_FUNCTION_ARGS) {
  (void)fcinfo;
  if (sg::session_batch == 0) {
    ereport(ERROR,
            (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
             errmsg("no batch has been opened in this session"),
             errdetail("Rows copied into schema_guard.staged_row without a "
                       "batch_id go to the batch last opened by "
                       "schema_guard.stage_open() in the same session."),
             errhint("Call schema_guard.stage_open() first, or give batch_id "
                     "for every row.")));
  }
  PG_RETURN_INT64(sg::session_batch);
}

extern "C" Datum schema_guard_stage_open(PG_FUNCTION_ARGS) {
  int64 id = 0;
  sg::Guarded([&] {
    if (PG_ARGISNULL(0)) {
      sg::NullArgument("target", "A batch is opened for one table.",
                       "Pass the table, such as 'license_licensedetail'.");
    }
    Oid relid = PG_GETARG_OID(0);
    auto keys =
        sg::OptionalTextArray(fcinfo, 1, "key columns",
                              "Pass the columns of the external key, such as "
                              "ARRAY['external_id'].");
    if (!keys) {
      sg::NullArgument("key columns",
                       "Staged rows are deduplicated and merged by their "
                       "external key.",
                       "Pass the columns of the external key, such as "
                       "ARRAY['external_id'].");
    }
    std::string options = "{}";
    if (!PG_ARGISNULL(3)) {
      Jsonb* value = nullptr;
      sg::PgTry([&]() noexcept { value = PG_GETARG_JSONB_P(3); });
      options = sg::JsonbText(value);
    }
    id = sg::OpenBatch(relid, *keys, sg::OptionalTextArg(fcinfo, 2), options);
  });
  sg::session_batch = id;
  PG_RETURN_INT64(id);
}

extern "C" Datum schema_guard_stage_rows(PG_FUNCTION_ARGS) {
  int64 staged = 0;
  sg::Guarded([&] {
    int64 batch = sg::BatchArg(fcinfo);
    if (PG_ARGISNULL(1)) {
      sg::NullArgument("rows", "Rows are a JSON array of objects.",
                       "Pass '[]' to stage nothing.");
    }
    Datum rows = PG_GETARG_DATUM(1);
    sg::SpiSession spi;
    sg::LoadBatch(spi, batch, false);
    schema_guard::pg::QueryResult shape = spi.Query(
        "SELECT pg_catalog.jsonb_typeof($1), (SELECT e.i FROM "
        "pg_catalog.jsonb_array_elements(CASE WHEN "
        "pg_catalog.jsonb_typeof($1) = 'array' THEN $1 END) WITH ORDINALITY "
        "e(v, i) WHERE pg_catalog.jsonb_typeof(e.v) <> 'object' ORDER BY e.i "
        "LIMIT 1)",
        {{JSONBOID, rows, false}});
    if (shape.Text(0, 0) != "array") {
      sg::Fail(ERRCODE_INVALID_PARAMETER_VALUE, "rows must be a JSON array",
               fmt::format("The value is a JSON {}.", shape.Text(0, 0)),
               "Pass an array of objects: '[{\"external_id\": ...}, ...]'.");
    }
    if (shape.Get(0, 1) != nullptr) {
      sg::Fail(ERRCODE_INVALID_PARAMETER_VALUE,
               fmt::format("element {} of rows is not a JSON object",
                           shape.Text(0, 1)),
               "Each staged row is an object of column names and values.",
               "Nothing was staged; fix the element and stage the array "
               "again.");
    }
    staged = static_cast<int64>(sg::Execute(
        "INSERT INTO schema_guard.staged_row (batch_id, payload) SELECT $1, "
        "e.v FROM pg_catalog.jsonb_array_elements($2) WITH ORDINALITY e(v, i) "
        "ORDER BY e.i",
        {sg::Int8Arg(batch), {JSONBOID, rows, false}}));
    spi.Finish();
  });
  PG_RETURN_INT64(staged);
}

extern "C" Datum schema_guard_stage_validate(PG_FUNCTION_ARGS) {
  sg::Guarded([&] {
    int64 batch_id = sg::BatchArg(fcinfo);
    sg::SpiSession spi;
    sg::Batch batch = sg::LoadBatch(spi, batch_id, false);
    sg::Conversion conv = sg::Convert(spi, batch);
    sg::QueryResult problems = spi.Query(
        fmt::format("SELECT seq, key, problem, detail FROM (SELECT * FROM {} "
                    "UNION ALL SELECT * FROM {}) p ORDER BY seq, ord",
                    conv.converting, conv.problems)
            .c_str(),
        {}, false);
    ReturnSetInfo* rsinfo = sg::BeginMaterializedSet(fcinfo);
    for (std::size_t r = 0; r < problems.rows(); ++r) {
      Datum values[4];
      bool nulls[4] = {false, problems.Get(r, 1) == nullptr, false, false};
      values[0] = Int64GetDatum(sg::Int(problems, r, 0));
      values[1] = nulls[1] ? Datum(0)
                           : PointerGetDatum(sg::ToText(problems.Text(r, 1)));
      values[2] = PointerGetDatum(sg::ToText(problems.Text(r, 2)));
      values[3] = PointerGetDatum(sg::ToText(problems.Text(r, 3)));
      sg::PutRow(rsinfo, values, nulls);
    }
    sg::DropTemp(conv);
    spi.Finish();
  });
  return Datum(0);
}

extern "C" Datum schema_guard_stage_apply(PG_FUNCTION_ARGS) {
  sg::Guarded([&] {
    int64 batch = sg::BatchArg(fcinfo);
    if (PG_ARGISNULL(1)) {
      sg::NullArgument("dry_run", "dry_run says whether to write the target.",
                       "Pass true to only count, false to apply.");
    }
    bool dry_run = PG_GETARG_BOOL(1);
    auto only_keys = sg::OptionalTextArray(
        fcinfo, 2, "only_keys",
        "Pass the external keys to apply, or NULL for every row.");
    sg::Counts c = sg::Apply(batch, dry_run, only_keys);
    ReturnSetInfo* rsinfo = sg::BeginMaterializedSet(fcinfo);
    Datum values[6] = {Int64GetDatum(c.inserted),   Int64GetDatum(c.updated),
                       Int64GetDatum(c.unchanged),  Int64GetDatum(c.stale),
                       Int64GetDatum(c.superseded), Int64GetDatum(c.rejected)};
    bool nulls[6] = {false, false, false, false, false, false};
    sg::PutRow(rsinfo, values, nulls);
  });
  return Datum(0);
}
