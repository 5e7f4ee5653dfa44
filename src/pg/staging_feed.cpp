#include "pg/staging_feed.hpp"

#include <algorithm>
#include <memory>

#include "core/error.hpp"
#include "pg/bridge.hpp"

extern "C" {
#include "port.h"
#include "utils/memutils.h"
}

namespace schema_guard::pg {
namespace {

using core::Error;
using core::ErrorCode;

Feed* active_feed = nullptr;

// The feed's memory: freed by End() on success, with the (sub)transaction
// after an error.
MemoryContext NewContext() {
  MemoryContext context = nullptr;
  PgTry([&]() noexcept {
    context = AllocSetContextCreate(CurTransactionContext,
                                    "schema_guard staging feed",
                                    ALLOCSET_DEFAULT_SIZES);
  });
  return context;
}

int64 NewToken() {
  int64 token = 0;
  bool random = false;
  PgTry([&]() noexcept { random = pg_strong_random(&token, sizeof(token)); });
  if (!random) {
    throw Error(ErrorCode::kInternal, "could not generate a random token");
  }
  return token;
}

}  // namespace

Feed::Feed(const Target& target, const core::RowPlan& plan,
           const KeyOrdering& ordering, const BatchScan& scan, int64 batch,
           Progress* progress)
    : target_(target),
      plan_(plan),
      buckets_(scan.buckets),
      progress_(progress),
      token_(NewToken()),
      context_(NewContext()),
      converter_(target, plan, ordering.collation, Converter::Mode::kAll),
      held_(target, plan, ordering, context_),
      problems_(context_) {
  converter_.Open(batch);
  progress_->Phase("converting", "rows", scan.rows, 1000);
}

void Feed::Emit(const Datum* row_values, const bool* row_nulls, Datum* values,
                bool* nulls) const {
  for (std::size_t c = 0; c < target_.columns.size(); ++c) {
    int a = target_.columns[c].attnum - 1;
    values[a] = row_values[c];
    nulls[a] = row_nulls[c];
  }
}

bool Feed::Next(Datum* values, bool* nulls, int natts) {
  SettlePending();
  for (int a = 0; a < natts; ++a) {
    values[a] = Datum(0);
    nulls[a] = true;
  }
  if (!converted_done_ && NextConverted(values, nulls)) return true;
  if (!held_done_ && NextHeld(values, nulls)) return true;
  return false;
}

void Feed::Drain() {
  int natts = 0;
  for (const auto& column : target_.columns) {
    natts = std::max(natts, static_cast<int>(column.attnum));
  }
  std::vector<Datum> values(static_cast<std::size_t>(natts));
  std::unique_ptr<bool[]> nulls(new bool[static_cast<std::size_t>(natts)]);
  while (Next(values.data(), nulls.get(), natts)) {
  }
}

// Which rows of a new chunk wait for their key's other rows. The bitmap
// lookups are random: prefetched for the whole chunk first, they overlap.
void Feed::MarkHeld() {
  std::size_t n = converter_.size();
  hold_.assign(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const ConvertedRow& row = converter_.row(i);
    if (row.key_ok) buckets_.Prefetch(row.bucket);
  }
  for (std::size_t i = 0; i < n; ++i) {
    const ConvertedRow& row = converter_.row(i);
    hold_[i] = row.key_ok && buckets_.Twice(row.bucket) ? 1 : 0;
  }
}

bool Feed::NextConverted(Datum* values, bool* nulls) {
  for (;;) {
    if (next_row_ >= converter_.size()) {
      next_row_ = 0;
      if (!converter_.Next()) {
        converted_done_ = true;
        progress_->Phase("deduplicating", "rows", held_count_, 1024);
        return false;
      }
      counts_.staged += static_cast<int64>(converter_.size());
      progress_->Step(static_cast<int64_t>(converter_.size()));
      MarkHeld();
    }
    bool hold = hold_[next_row_] != 0;
    ConvertedRow& row = converter_.row(next_row_++);
    bool problem = !row.mapped.problems.empty();
    if (problem) {
      RecordRow(row);
      ++counts_.rejected;
    }
    if (hold) {
      ++held_count_;
      held_.Hold(row, problem);
      continue;
    }
    if (problem) continue;
    current_ = Current{};
    current_.seq = row.seq;
    current_.mapped = &row.mapped;
    current_.payload = row.payload;
    current_.payload_length = row.payload_length;
    Emit(row.values, row.nulls, values, nulls);
    ++handed_;
    return true;
  }
}

// The first row of a key wins and is handed over (unless it has a
// problem); the others are superseded.
bool Feed::NextHeld(Datum* values, bool* nulls) {
  HeldRow row;
  for (;;) {
    if (!held_.Next(&row)) {
      held_done_ = true;
      return false;
    }
    progress_->Step();
    if (row.winner) {
      if (row.has_problem) continue;
      current_ = Current{};
      current_.seq = row.seq;
      current_.key = std::move(row.key);
      current_.slots = std::move(row.slots);
      current_.payload = row.payload;
      current_.payload_length = row.payload_length;
      Emit(row.values, row.nulls, values, nulls);
      ++handed_;
      return true;
    }
    if (!row.has_problem) ++counts_.superseded;
    ProblemRow about(row.seq, &row.key, row.payload, row.payload_length);
    about.version = &row.version;
    about.kept_version = &row.winner_version;
    about.kept_seq = row.winner_seq;
    problems_.Record(about, core::SupersededProblem(plan_.options().conflict,
                                                    row.winner_seq));
  }
}

void Feed::RecordRow(const ConvertedRow& row) {
  std::string key = plan_.KeyText(row.mapped);
  ProblemRow about(row.seq, &key, row.payload, row.payload_length);
  for (const auto& p : row.mapped.problems) problems_.Record(about, p);
}

void Feed::Record(const core::RowProblem& problem) {
  std::string key = CurrentKey();
  ProblemRow about(current_.seq, &key, current_.payload,
                   current_.payload_length);
  problems_.Record(about, problem);
}

std::string Feed::CurrentKey() const {
  return current_.mapped != nullptr ? plan_.KeyText(*current_.mapped)
                                    : current_.key;
}

bool Feed::Keep(const std::vector<std::pair<std::size_t, std::string>>& failed,
                bool selected) {
  if (!failed.empty()) {
    for (const auto& [index, values] : failed) {
      Record(plan_.ConstraintProblem(index, values));
    }
    ++counts_.rejected;
    ++dropped_;
    return false;
  }
  if (!selected) {
    ++counts_.skipped;
    ++dropped_;
    return false;
  }
  return true;
}

bool Feed::Fresh(bool stale, std::optional<std::string> stored,
                 std::optional<std::string> incoming) {
  current_.pending_stale = stale;
  current_.stored = std::move(stored);
  current_.incoming = std::move(incoming);
  return !stale;
}

void Feed::Written() { current_.pending_stale = false; }

bool Feed::InBatch(const Datum* key_values) const {
  uint32 bucket = 0;
  PgTry([&]() noexcept { bucket = converter_.Bucket(key_values); });
  return buckets_.Seen(bucket);
}

bool Feed::Carries(int column) const {
  std::size_t c = static_cast<std::size_t>(column);
  if (current_.mapped != nullptr) {
    return c < current_.mapped->slots.size() &&
           current_.mapped->slots[c] != core::Slot::kAbsent;
  }
  return c < current_.slots.size() && current_.slots[c] != core::Slot::kAbsent;
}

// A row the merge found stale is settled once the merge has moved on: an
// insert retried after a concurrent change re-evaluates it.
void Feed::SettlePending() {
  if (!current_.pending_stale) return;
  current_.pending_stale = false;
  ++counts_.stale;
  std::string key = CurrentKey();
  ProblemRow about(current_.seq, &key, current_.payload,
                   current_.payload_length);
  about.version = &current_.incoming;
  about.kept_version = &current_.stored;
  problems_.Record(about, core::StaleProblem(plan_.options().version_column,
                                             current_.stored.value_or(""),
                                             current_.incoming.value_or("")));
}

void Feed::Finish() {
  SettlePending();
  if (!converted_done_ || !held_done_) {
    throw Error(ErrorCode::kInternal,
                "the staging query did not read every staged row");
  }
}

void Feed::EachProblem(const std::function<void(RecordedProblem&&)>& fn) {
  problems_.Each(fn);
}

void Feed::End() {
  held_.End();
  problems_.End();
  converter_.Close();
  MemoryContext context = context_;
  context_ = nullptr;
  PgTry([&]() noexcept { MemoryContextDelete(context); });
}

Feed* ActiveFeed(int64 token) {
  if (active_feed == nullptr || active_feed->token() != token) {
    throw Error(ErrorCode::kObjectNotInPrerequisiteState,
                "no staging feed with this token is open",
                "schema_guard.stage_feed() and its companions serve the "
                "statements that stage_validate() and stage_apply() run.",
                "Call stage_validate() or stage_apply() instead.");
  }
  return active_feed;
}

FeedActivation::FeedActivation(Feed* feed) : previous_(active_feed) {
  active_feed = feed;
}

FeedActivation::~FeedActivation() { active_feed = previous_; }

}  // namespace schema_guard::pg
