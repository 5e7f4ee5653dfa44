// The feed: a batch's rows converted one pass, handed to the SQL of a
// validate, a dry run or an apply (core/staging_sql.hpp) by the function
// schema_guard.stage_feed() one row at a time, without writing them to a
// table first.
//
// Rows with a problem are recorded, not handed over. A row whose key bucket
// holds more than one row (see KeyBuckets) is held back; once every other
// row is handed over, the held rows are sorted by key (the unique index's
// ordering) and then by version or staging order: the first row of each
// key is handed over, the others are superseded. SQL tells the feed which
// rows it drops (stage_feed_keep), and under newer_wins which rows the
// merge found stale (stage_feed_fresh, stage_feed_written).
//
// Memory: one chunk of rows, the held rows and the problems in tuplesorts
// bounded by work_mem (they spill to temporary files).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/staging_rows.hpp"
#include "pg/progress.hpp"
#include "pg/staging_convert.hpp"
#include "pg/staging_held.hpp"
#include "pg/staging_problems.hpp"
#include "pg/staging_target.hpp"

extern "C" {
#include "postgres.h"
}

namespace schema_guard::pg {

class Feed {
 public:
  // Reports the rows it converts (the phase "converting", of scan.rows)
  // and the held rows it reads back ("deduplicating") to `progress`.
  Feed(const Target& target, const core::RowPlan& plan,
       const KeyOrdering& ordering, const BatchScan& scan, int64 batch,
       Progress* progress);
  Feed(const Feed&) = delete;
  Feed& operator=(const Feed&) = delete;

  // A random number the SQL passes back: the feed's functions refuse any
  // other, so nothing but this feed's statement can read from it.
  int64 token() const { return token_; }
  Oid rowtype() const { return target_.rowtype; }
  std::size_t key_count() const { return plan_.keys().size(); }

  // The next row for SQL, as values of the target's row type (`natts`
  // attributes, dropped ones included); false when all were handed over.
  bool Next(Datum* values, bool* nulls, int natts);
  // Reads every row without SQL, for a validate that leaves SQL nothing to
  // check: the same conversion and problems as through Next().
  void Drain();
  // SQL's verdict on the row just handed over: the constraints it fails
  // (their position among the plan's, and the row's values for a foreign
  // key), and whether only_keys selects it.
  bool Keep(const std::vector<std::pair<std::size_t, std::string>>& failed,
            bool selected);
  // newer_wins: whether the merge may update the stored row of the row just
  // handed over; a stale one is recorded once the merge moves on.
  bool Fresh(bool stale, std::optional<std::string> stored,
             std::optional<std::string> incoming);
  // The merge wrote the row just handed over.
  void Written();
  // Whether a key may be among the batch's (a self-referencing foreign key).
  bool InBatch(const Datum* key_values) const;
  // Whether the row just handed over names the column (a position among
  // the target's columns): a partial column it lacks keeps its stored value.
  bool Carries(int column) const;

  // After the statement: checks that SQL read every row, and settles the
  // last row's verdict. Then the counts (merged: the rows handed over and
  // kept) and the problems, in (seq, order) order; End() frees the sorts.
  void Finish();
  const core::StageCounts& counts() const { return counts_; }
  int64 merged() const { return handed_ - dropped_; }
  void EachProblem(const std::function<void(RecordedProblem&&)>& fn);
  void End();

 private:
  // The row just handed over.
  struct Current {
    int64 seq = 0;
    const core::MappedRow* mapped = nullptr;  // or key and slots
    std::string key;
    std::vector<core::Slot> slots;
    const char* payload = nullptr;
    std::size_t payload_length = 0;
    bool pending_stale = false;
    std::optional<std::string> stored;
    std::optional<std::string> incoming;
  };

  bool NextConverted(Datum* values, bool* nulls);
  bool NextHeld(Datum* values, bool* nulls);
  void MarkHeld();
  void RecordRow(const ConvertedRow& row);
  void Record(const core::RowProblem& problem);
  void SettlePending();
  std::string CurrentKey() const;
  void Emit(const Datum* row_values, const bool* row_nulls, Datum* values,
            bool* nulls) const;

  const Target& target_;
  const core::RowPlan& plan_;
  const KeyBuckets& buckets_;
  Progress* progress_;
  int64 token_ = 0;
  MemoryContext context_ = nullptr;  // the sorts' and slots'
  Converter converter_;
  HeldRows held_;
  ProblemLog problems_;
  std::vector<char> hold_;  // per row of the chunk: held back
  std::size_t next_row_ = 0;
  bool converted_done_ = false;
  bool held_done_ = false;
  Current current_;
  core::StageCounts counts_;
  int64 handed_ = 0;
  int64 held_count_ = 0;
  int64 dropped_ = 0;  // handed over, then dropped by SQL
};

// The feed the SQL functions serve: the active one, if `token` is its.
Feed* ActiveFeed(int64 token);

// Makes a feed the one its SQL functions serve while it lives.
class FeedActivation {
 public:
  explicit FeedActivation(Feed* feed);
  ~FeedActivation();
  FeedActivation(const FeedActivation&) = delete;
  FeedActivation& operator=(const FeedActivation&) = delete;

 private:
  Feed* previous_;
};

}  // namespace schema_guard::pg
