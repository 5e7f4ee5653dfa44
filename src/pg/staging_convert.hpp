// Reading a batch's staged rows and converting them: a thousand rows at a
// time are fetched (a cursor opened as the extension's owner), mapped onto
// the target's columns by core::RowPlan, and each value given to its
// column's input function as the caller, so a value is accepted exactly
// when 'value'::type would be (UUIDs and ISO timestamps in their common
// spellings are read by core/staging_values.hpp, which gives the same
// values). A chunk converts inside one subtransaction;
// only a chunk that raised converts again value by value, each in its own
// subtransaction, to name the values that do not convert. Backend memory:
// one chunk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/staging_rows.hpp"
#include "pg/progress.hpp"
#include "pg/staging_target.hpp"

extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "utils/palloc.h"
#include "utils/portal.h"
}

namespace schema_guard::pg {

// Keys hash to one of 2^25 buckets; two fixed bitmaps record the buckets
// seen and those seen twice, whatever the batch's size. Only rows in a
// bucket seen twice can have a duplicate key.
class KeyBuckets {
 public:
  static constexpr int kBits = 25;
  KeyBuckets();
  void Add(uint32 bucket);
  bool Seen(uint32 bucket) const { return Test(seen_, bucket); }
  bool Twice(uint32 bucket) const { return Test(twice_, bucket); }
  // Brings the bucket's words into the cache ahead of Add or Twice: a
  // chunk's lookups then overlap instead of each waiting for memory.
  void Prefetch(uint32 bucket) const {
    __builtin_prefetch(&seen_[bucket >> 6]);
    __builtin_prefetch(&twice_[bucket >> 6]);
  }

 private:
  static bool Test(const std::vector<uint64>& bits, uint32 bucket) {
    return (bits[bucket >> 6] >> (bucket & 63)) & 1;
  }
  std::vector<uint64> seen_;
  std::vector<uint64> twice_;
};

// One staged row of the current chunk, converted.
struct ConvertedRow {
  int64 seq = 0;
  const char* payload = nullptr;  // the JSON text as staged
  std::size_t payload_length = 0;
  core::MappedRow mapped;
  // The row has a key and it converted: it takes part in deduplication.
  bool key_ok = false;
  uint32 bucket = 0;
  Datum* values = nullptr;  // per target column (chunk memory)
  bool* nulls = nullptr;
};

class Converter {
 public:
  enum class Mode { kKeys, kAll };

  // `key_collations`: the unique index's, which the key hash follows.
  Converter(const Target& target, const core::RowPlan& plan,
            const std::vector<Oid>& key_collations, Mode mode);
  ~Converter();
  Converter(const Converter&) = delete;
  Converter& operator=(const Converter&) = delete;

  // Opens the cursor over the batch's rows.
  void Open(int64 batch);
  // Fetches and converts the next chunk; false when there is none.
  bool Next();
  std::size_t size() const { return count_; }
  ConvertedRow& row(std::size_t i) { return rows_[i]; }
  // Per column, how many of the rows read so far name it, and how many
  // were objects (kKeys mode).
  const std::vector<int64>& named() const { return named_; }
  int64 objects() const { return objects_; }
  // Closes the cursor and frees the chunk memory.
  void Close();

  // The bucket of a key, its values in key order (typed as the key columns).
  uint32 Bucket(const Datum* key_values) const;

 private:
  std::size_t Fetch();
  void MapChunk();
  bool ConvertChunk();
  void ConvertCarefully(ConvertedRow* row);
  void SetBucket(ConvertedRow* row);
  // The column's value from its text: a fast reader for the spellings it
  // knows (core/staging_values.hpp), else the input function. May raise.
  Datum Input(std::size_t col, const char* text);

  // Columns whose common spellings are read without the input function.
  enum class FastRead : unsigned char {
    kNone,
    kUuid,
    kTimestamptz,
    kTimestamp
  };

  const Target& target_;
  const core::RowPlan& plan_;
  Mode mode_;
  std::vector<int> convert_;  // the columns converted
  std::vector<FmgrInfo> input_;
  std::vector<Oid> ioparam_;
  std::vector<FastRead> fast_;
  std::vector<int> fraction_digits_;  // kTimestamp(tz): the precision
  std::vector<FmgrInfo> hash_;  // per key column; empty when one cannot hash
  std::vector<Oid> hash_collation_;
  MemoryContext context_ = nullptr;  // the converter's, for function caches
  MemoryContext chunk_ = nullptr;    // one chunk's rows and values
  Portal portal_ = nullptr;
  std::vector<ConvertedRow> rows_;
  std::size_t count_ = 0;
  std::vector<Datum> values_;
  std::vector<char> nulls_;
  std::vector<int64> named_;
  int64 objects_ = 0;
  core::PayloadScanner scanner_;
  core::TextArena arena_;
};

// The first pass over a batch: which columns its payloads name and which
// key buckets hold more than one row.
struct BatchScan {
  int64 rows = 0;
  std::vector<int64> named;  // per column: the payloads that name it
  int64 objects = 0;         // the payloads that are objects
  KeyBuckets buckets;
};

// Reports its rows to `progress` as the phase "scanning".
BatchScan ScanBatch(const Target& target, const core::RowPlan& plan,
                    const std::vector<Oid>& key_collations, int64 batch,
                    Progress* progress);

}  // namespace schema_guard::pg
