// The problems a validate or an apply finds, kept in a tuplesort (bounded
// by work_mem, spilling to temporary files) and read back in the order a
// row's problems are listed: by seq, then by core::ProblemOrder.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "core/staging_rows.hpp"

extern "C" {
#include "postgres.h"

#include "executor/tuptable.h"
#include "utils/tuplesort.h"
}

namespace schema_guard::pg {

struct RecordedProblem {
  int64 seq = 0;
  std::string key;
  std::string problem;
  std::string detail;
  std::string payload;
  std::optional<std::string> version;
  std::optional<std::string> kept_version;
  std::optional<int64> kept_seq;
};

// What a problem is about: the row, its key as staged, its payload, and
// for superseded and stale rows the versions involved.
struct ProblemRow {
  ProblemRow(int64 row_seq, const std::string* row_key, const char* row_payload,
             std::size_t row_payload_length)
      : seq(row_seq),
        key(row_key),
        payload(row_payload),
        payload_length(row_payload_length) {}
  int64 seq;
  const std::string* key;
  const char* payload;
  std::size_t payload_length;
  const std::optional<std::string>* version = nullptr;
  const std::optional<std::string>* kept_version = nullptr;
  std::optional<int64> kept_seq;
};

class ProblemLog {
 public:
  // Memory under `parent`; freed by End() (or with the transaction).
  explicit ProblemLog(MemoryContext parent);
  void Record(const ProblemRow& row, const core::RowProblem& problem);
  // Once every problem is recorded.
  void Each(const std::function<void(RecordedProblem&&)>& fn);
  void End();

 private:
  Tuplesortstate* sort_ = nullptr;
  TupleTableSlot* put_ = nullptr;  // virtual: the sort copies it
  TupleTableSlot* get_ = nullptr;
  MemoryContext scratch_ = nullptr;  // one recorded row's values
};

// The bytes of a text (or bytea) Datum.
std::string TextOf(Datum value);

}  // namespace schema_guard::pg
