#include "pg/staging_convert.hpp"

#include <fmt/format.h>

#include <string>

#include "core/error.hpp"
#include "core/staging_values.hpp"
#include "pg/bridge.hpp"
#include "pg/owner_scope.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "tcop/dest.h"
#include "tcop/pquery.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"
#include "utils/uuid.h"
}

namespace schema_guard::pg {
namespace {

constexpr long kChunkRows = 1000;

// Receives a fetched chunk: copies each row's seq and payload text into the
// chunk's memory. Called by the executor, so plain C: no C++ object is
// created, nothing throws (the rows are allocated beforehand).
struct ChunkReceiver {
  DestReceiver pub;
  MemoryContext memory;
  ConvertedRow* rows;
  std::size_t capacity;
  std::size_t count;
};

bool ReceiveRow(TupleTableSlot* slot, DestReceiver* self) {
  auto* r = reinterpret_cast<ChunkReceiver*>(self);
  if (r->count >= r->capacity) return false;
  slot_getallattrs(slot);
  ConvertedRow* row = &r->rows[r->count++];
  row->seq = DatumGetInt64(slot->tts_values[0]);
  MemoryContext old = MemoryContextSwitchTo(r->memory);
  auto* payload = reinterpret_cast<struct varlena*>(pg_detoast_datum_copy(
      reinterpret_cast<struct varlena*>(DatumGetPointer(slot->tts_values[1]))));
  MemoryContextSwitchTo(old);
  row->payload = VARDATA_ANY(payload);
  row->payload_length = VARSIZE_ANY_EXHDR(payload);
  return true;
}

void StartupReceiver(DestReceiver*, int, TupleDesc) {}
void ShutdownReceiver(DestReceiver*) {}
void DestroyReceiver(DestReceiver*) {}

// Runs `fn` (a PgTry body) in a subtransaction; true when it completed,
// false when it raised (the subtransaction is then rolled back and *error
// holds what it raised). Allocations go to `memory`.
template <typename Fn>
bool InSubtransaction(MemoryContext memory, Fn&& fn, PgError* error) {
  MemoryContext caller = CurrentMemoryContext;
  ResourceOwner owner = CurrentResourceOwner;
  PgTry([&]() noexcept {
    BeginInternalSubTransaction(nullptr);
    MemoryContextSwitchTo(memory);
  });
  try {
    PgTry(fn);
    PgTry([&]() noexcept {
      ReleaseCurrentSubTransaction();
      MemoryContextSwitchTo(caller);
      CurrentResourceOwner = owner;
    });
    return true;
  } catch (const PgError& e) {
    if (error != nullptr) *error = e;
    PgTry([&]() noexcept {
      MemoryContextSwitchTo(caller);
      RollbackAndReleaseCurrentSubTransaction();
      MemoryContextSwitchTo(caller);
      CurrentResourceOwner = owner;
    });
    return false;
  }
}

}  // namespace

KeyBuckets::KeyBuckets()
    : seen_((std::size_t{1} << kBits) / 64, 0),
      twice_((std::size_t{1} << kBits) / 64, 0) {}

void KeyBuckets::Add(uint32 bucket) {
  uint64 bit = uint64{1} << (bucket & 63);
  std::size_t word = bucket >> 6;
  if ((seen_[word] & bit) != 0) {
    twice_[word] |= bit;
  } else {
    seen_[word] |= bit;
  }
}

Converter::Converter(const Target& target, const core::RowPlan& plan,
                     const std::vector<Oid>& key_collations, Mode mode)
    : target_(target), plan_(plan), mode_(mode) {
  std::size_t width = target.columns.size();
  for (std::size_t c = 0; c < width; ++c) {
    const core::StageColumn& info = target.info.columns[c];
    bool is_key = std::find(plan.keys().begin(), plan.keys().end(),
                            static_cast<int>(c)) != plan.keys().end();
    if (mode == Mode::kKeys ? !is_key : info.generated || info.identity_always)
      continue;
    convert_.push_back(static_cast<int>(c));
  }
  input_.resize(width);
  ioparam_.assign(width, InvalidOid);
  fast_.assign(width, FastRead::kNone);
  fraction_digits_.assign(width, 6);
  MemoryContext* context = &context_;
  MemoryContext* chunk = &chunk_;
  PgTry([&]() noexcept {
    *context = AllocSetContextCreate(CurTransactionContext,
                                     "schema_guard staging conversion",
                                     ALLOCSET_DEFAULT_SIZES);
    *chunk = AllocSetContextCreate(*context, "schema_guard staging chunk",
                                   ALLOCSET_DEFAULT_SIZES);
  });
  FmgrInfo* input = input_.data();
  Oid* ioparam = ioparam_.data();
  for (int c : convert_) {
    Oid type = target.columns[static_cast<std::size_t>(c)].type;
    int32 typmod = target.columns[static_cast<std::size_t>(c)].typmod;
    std::size_t col = static_cast<std::size_t>(c);
    if (type == UUIDOID) fast_[col] = FastRead::kUuid;
    if (type == TIMESTAMPTZOID) fast_[col] = FastRead::kTimestamptz;
    if (type == TIMESTAMPOID) fast_[col] = FastRead::kTimestamp;
    if (typmod >= 0) fraction_digits_[col] = typmod;
    MemoryContext cxt = context_;
    PgTry([&]() noexcept {
      Oid function = InvalidOid;
      getTypeInputInfo(type, &function, &ioparam[c]);
      fmgr_info_cxt(function, &input[c], cxt);
    });
  }
  std::vector<FmgrInfo> hash(plan.keys().size());
  bool hashable = true;
  for (std::size_t k = 0; k < plan.keys().size(); ++k) {
    Oid type = target.columns[static_cast<std::size_t>(plan.keys()[k])].type;
    FmgrInfo* out = &hash[k];
    MemoryContext cxt = context_;
    bool ok = false;
    PgTry([&]() noexcept {
      TypeCacheEntry* entry =
          lookup_type_cache(type, TYPECACHE_HASH_PROC_FINFO);
      ok = OidIsValid(entry->hash_proc);
      if (ok) fmgr_info_copy(out, &entry->hash_proc_finfo, cxt);
    });
    hashable = hashable && ok;
  }
  if (hashable) {
    hash_ = std::move(hash);
    hash_collation_ = key_collations;
  }
  rows_.resize(kChunkRows);
  values_.resize(kChunkRows * width);
  nulls_.resize(kChunkRows * width);
  for (std::size_t i = 0; i < rows_.size(); ++i) {
    rows_[i].values = values_.data() + i * width;
    rows_[i].nulls = reinterpret_cast<bool*>(nulls_.data() + i * width);
  }
  static_assert(sizeof(bool) == sizeof(char), "bool is one byte");
  named_.assign(width, 0);
}

// Nothing of PostgreSQL's is released here: Close() does on success; after
// an error the (sub)transaction's abort drops the portal and the memory.
Converter::~Converter() = default;

void Converter::Open(int64 batch) {
  SpiSession spi;
  {
    OwnerScope owner;
    Datum arg = Int64GetDatum(batch);
    Oid argtype = INT8OID;
    Portal* portal = &portal_;
    PgTry([&]() noexcept {
      *portal = SPI_cursor_open_with_args(
          nullptr,
          "SELECT seq, payload FROM schema_guard.staged_row WHERE batch_id "
          "OPERATOR(pg_catalog.=) $1",
          1, &argtype, &arg, nullptr, false, 0);
    });
  }
  spi.Finish();
}

std::size_t Converter::Fetch() {
  ChunkReceiver receiver{};
  receiver.pub.receiveSlot = ReceiveRow;
  receiver.pub.rStartup = StartupReceiver;
  receiver.pub.rShutdown = ShutdownReceiver;
  receiver.pub.rDestroy = DestroyReceiver;
  receiver.pub.mydest = DestNone;
  receiver.memory = chunk_;
  receiver.rows = rows_.data();
  receiver.capacity = rows_.size();
  Portal portal = portal_;
  MemoryContext chunk = chunk_;
  PgTry([&]() noexcept {
    MemoryContextReset(chunk);
    PortalRunFetch(portal, FETCH_FORWARD, kChunkRows, &receiver.pub);
  });
  return receiver.count;
}

void Converter::MapChunk() {
  arena_.Reset();
  for (std::size_t i = 0; i < count_; ++i) {
    ConvertedRow& row = rows_[i];
    std::string_view payload(row.payload, row.payload_length);
    if (mode_ == Mode::kKeys) {
      if (plan_.MapKeys(payload, &scanner_, &arena_, &row.mapped, &named_)) {
        ++objects_;
      }
    } else {
      plan_.Map(payload, &scanner_, &arena_, &row.mapped);
    }
    row.key_ok = false;
  }
}

uint32 Converter::Bucket(const Datum* key_values) const {
  if (hash_.empty()) return 0;
  uint32 hash = 0;
  for (std::size_t k = 0; k < hash_.size(); ++k) {
    hash = hash_combine(hash, DatumGetUInt32(FunctionCall1Coll(
                                  const_cast<FmgrInfo*>(&hash_[k]),
                                  hash_collation_[k], key_values[k])));
  }
  return hash & ((uint32{1} << KeyBuckets::kBits) - 1);
}

void Converter::SetBucket(ConvertedRow* row) {
  Datum key[INDEX_MAX_KEYS];
  const std::vector<int>& keys = plan_.keys();
  for (std::size_t k = 0; k < keys.size(); ++k) {
    key[k] = row->values[keys[k]];
  }
  row->bucket = Bucket(key);
  row->key_ok = true;
}

Datum Converter::Input(std::size_t col, const char* text) {
  switch (fast_[col]) {
    case FastRead::kUuid: {
      unsigned char bytes[UUID_LEN];
      if (!core::ReadCanonicalUuid(text, bytes)) break;
      auto* uuid = static_cast<pg_uuid_t*>(palloc(sizeof(pg_uuid_t)));
      memcpy(uuid->data, bytes, UUID_LEN);
      return UUIDPGetDatum(uuid);
    }
    case FastRead::kTimestamptz:
    case FastRead::kTimestamp: {
      int64_t us = 0;
      if (!core::ReadIsoTimestamp(text, fast_[col] == FastRead::kTimestamptz,
                                  fraction_digits_[col], &us)) {
        break;
      }
      return TimestampTzGetDatum(us);  // a timestamp's Datum is the same
    }
    case FastRead::kNone:
      break;
  }
  return InputFunctionCall(&input_[col], const_cast<char*>(text), ioparam_[col],
                           target_.columns[col].typmod);
}

bool Converter::ConvertChunk() {
  std::size_t width = target_.columns.size();
  const int* convert = convert_.data();
  std::size_t nconvert = convert_.size();
  return InSubtransaction(
      chunk_,
      [&]() noexcept {
        for (std::size_t i = 0; i < count_; ++i) {
          ConvertedRow* row = &rows_[i];
          const core::Slot* slots = row->mapped.slots.data();
          const char* const* texts = row->mapped.texts.data();
          for (std::size_t c = 0; c < width; ++c) row->nulls[c] = true;
          for (std::size_t j = 0; j < nconvert; ++j) {
            int c = convert[j];
            if (slots[c] != core::Slot::kValue) continue;
            row->values[c] = Input(static_cast<std::size_t>(c), texts[c]);
            row->nulls[c] = false;
          }
          if (row->mapped.keyed) SetBucket(row);
        }
      },
      nullptr);
}

void Converter::ConvertCarefully(ConvertedRow* row) {
  std::size_t width = target_.columns.size();
  for (std::size_t c = 0; c < width; ++c) row->nulls[c] = true;
  bool key_failed = false;
  for (int c : convert_) {
    std::size_t col = static_cast<std::size_t>(c);
    if (row->mapped.slots[col] != core::Slot::kValue) continue;
    PgError error(0, {}, {}, {}, {});
    const char* text = row->mapped.texts[col];
    bool ok = InSubtransaction(
        chunk_, [&]() noexcept { row->values[col] = Input(col, text); },
        &error);
    if (ok) {
      row->nulls[col] = false;
      continue;
    }
    const char* state = nullptr;
    int code = error.sqlerrcode();
    PgTry([&]() noexcept { state = unpack_sql_state(code); });
    row->mapped.problems.push_back(core::ConversionProblem(
        target_.info.columns[col].name, row->mapped.fields[col], state,
        error.message()));
    if (std::find(plan_.keys().begin(), plan_.keys().end(), c) !=
        plan_.keys().end()) {
      key_failed = true;
    }
  }
  if (row->mapped.keyed && !key_failed) {
    PgTry([&]() noexcept { SetBucket(row); });
  }
}

bool Converter::Next() {
  count_ = Fetch();
  if (count_ == 0) return false;
  MapChunk();
  if (!ConvertChunk()) {
    for (std::size_t i = 0; i < count_; ++i) ConvertCarefully(&rows_[i]);
  }
  return true;
}

void Converter::Close() {
  Portal portal = portal_;
  MemoryContext context = context_;
  portal_ = nullptr;
  context_ = nullptr;
  chunk_ = nullptr;
  PgTry([&]() noexcept {
    if (portal != nullptr) SPI_cursor_close(portal);
    if (context != nullptr) MemoryContextDelete(context);
  });
}

BatchScan ScanBatch(const Target& target, const core::RowPlan& plan,
                    const std::vector<Oid>& key_collations, int64 batch,
                    Progress* progress) {
  BatchScan scan;
  progress->Phase("scanning", "rows", -1, kChunkRows);
  Converter converter(target, plan, key_collations, Converter::Mode::kKeys);
  converter.Open(batch);
  while (converter.Next()) {
    for (std::size_t i = 0; i < converter.size(); ++i) {
      const ConvertedRow& row = converter.row(i);
      if (row.key_ok) scan.buckets.Prefetch(row.bucket);
    }
    for (std::size_t i = 0; i < converter.size(); ++i) {
      const ConvertedRow& row = converter.row(i);
      if (row.key_ok) scan.buckets.Add(row.bucket);
    }
    scan.rows += static_cast<int64>(converter.size());
    progress->Step(static_cast<int64_t>(converter.size()));
  }
  scan.named = converter.named();
  scan.objects = converter.objects();
  converter.Close();
  return scan;
}

}  // namespace schema_guard::pg
