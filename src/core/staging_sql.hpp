// The SQL a validate, a dry run and an apply run over a batch. The batch's
// rows reach it converted, one at a time, from the feed function
// schema_guard.stage_feed($2, NULL::target), which yields rows of the
// target's row type; nothing is written to a table first. SQL adds what
// only SQL can check (CHECK constraints, foreign keys, only_keys) and tells
// the feed through schema_guard.stage_feed_keep($2, failed, selected) which
// rows it drops; the merge is one INSERT ... ON CONFLICT over the rows kept.
//
// Parameters: $1 the apply time (timestamptz, the touch column's value),
// $2 the feed's token (bigint), $3 only_keys (text[]).
#pragma once

#include <string>
#include <vector>

#include "core/staging.hpp"
#include "core/staging_rows.hpp"

namespace schema_guard::core {

struct FeedQuery {
  const RowPlan* plan = nullptr;
  bool only_keys = false;  // $3 restricts the merge to these keys
};

// The rows the feed keeps, as a query whose columns are the target's.
std::string FeedSql(const FeedQuery& query, const QuoteFn& quote);

// How many rows the feed keeps: drives a validate.
std::string ValidateSql(const FeedQuery& query, const QuoteFn& quote);

// The merge: one row (inserted, updated).
std::string MergeSql(const FeedQuery& query, const QuoteFn& quote);

// What the merge would do, without writing: one row (inserted, updated,
// unchanged, stale).
std::string DryRunSql(const FeedQuery& query, const QuoteFn& quote);

// A self-referencing foreign key whose referenced columns are the batch's
// key columns, with the same types: a row may refer to a key of its own
// batch. Its columns in key order; empty when the key is not referenced so.
std::vector<std::string> InBatchColumns(const RowPlan& plan,
                                        const StageForeignKey& fk);

// The text of a value of the key, as only_keys is matched: the column's
// text for a one-column key, the row's text for several.
std::string KeyTextSql(const std::vector<std::string>& key_columns,
                       std::string_view alias, const QuoteFn& quote);

}  // namespace schema_guard::core
