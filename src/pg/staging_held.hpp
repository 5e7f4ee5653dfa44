// Rows held back because their key bucket holds more than one row of the
// batch: kept in a tuplesort (bounded by work_mem) and read back grouped by
// key, in the unique index's ordering; within a key, the winner first: the
// newest version under newer_wins (NULL versions last), then the row
// staged last.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/staging_rows.hpp"
#include "pg/staging_convert.hpp"
#include "pg/staging_target.hpp"

extern "C" {
#include "postgres.h"

#include "executor/tuptable.h"
#include "fmgr.h"
#include "utils/tuplesort.h"
}

namespace schema_guard::pg {

// A held row read back. Its values (in target column order) and payload
// stay valid until the next call of HeldRows::Next.
struct HeldRow {
  int64 seq = 0;
  bool has_problem = false;  // recorded when it was held
  bool winner = false;       // the first row of its key
  int64 winner_seq = 0;      // for a row that lost: the winner's
  std::string key;
  std::vector<core::Slot> slots;  // per column
  const Datum* values = nullptr;
  const bool* nulls = nullptr;
  const char* payload = nullptr;
  std::size_t payload_length = 0;
  // newer_wins: the row's version and the winner's, as text.
  std::optional<std::string> version;
  std::optional<std::string> winner_version;
};

class HeldRows {
 public:
  HeldRows(const Target& target, const core::RowPlan& plan,
           const KeyOrdering& ordering, MemoryContext parent);
  void Hold(const ConvertedRow& row, bool has_problem);
  // The next held row, once every row is held; false at the end.
  bool Next(HeldRow* row);
  void End();

 private:
  void Describe(std::vector<AttrNumber>* attnos, std::vector<Oid>* operators,
                std::vector<Oid>* collations) const;
  bool SameKey() const;
  void Versions(HeldRow* row) const;

  const Target& target_;
  const core::RowPlan& plan_;
  const KeyOrdering& ordering_;
  std::size_t width_;
  Tuplesortstate* sort_ = nullptr;
  TupleTableSlot* put_ = nullptr;    // virtual: the sort copies it
  TupleTableSlot* get_ = nullptr;    // the row read back
  TupleTableSlot* group_ = nullptr;  // the first row of the current key
  bool sorted_ = false;
  bool grouped_ = false;
  std::vector<FmgrInfo> key_equal_;
  FmgrInfo version_output_{};
  bool versions_ = false;
  MemoryContext scratch_ = nullptr;
};

}  // namespace schema_guard::pg
