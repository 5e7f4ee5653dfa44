// The batch log (schema_guard.stage_batches), the quarantine
// (schema_guard.stage_rejected) and the staged rows' retention: read and
// written as the extension's owner.
//
// Staging into a batch and applying it serialise on the batch's row in the
// log: every statement that stages rows updates it (the staged-row check,
// once per batch and statement), and an apply holds it FOR UPDATE from
// start to commit. A row is thus staged before the apply reads the batch,
// or refused because the batch is applied by then; under REPEATABLE READ
// the later of the two fails with a serialization error instead.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/staging.hpp"
#include "core/staging_rows.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "postgres.h"
}

namespace schema_guard::pg {

struct Batch {
  int64 id = 0;
  Oid target = InvalidOid;
  std::vector<std::string> key_columns;
  core::StageOptions options;
  std::string status;
  std::string applied_at;
  std::string applied_by;
};

// Whether the database's schema_guard has the staging tables and functions
// of 0.2.0. Under 0.1.0's (a database not yet updated) batches can be
// opened and rows staged, but not validated, applied or purged:
// RequireStagingSchema refuses those with 55000.
bool StagingSchemaCurrent(SpiSession& spi);
void RequireStagingSchema(SpiSession& spi);

// Loads a batch the caller may use (opened by the caller's role or a role
// it is a member of); with `lock`, holds its row FOR UPDATE.
Batch LoadBatch(SpiSession& spi, int64 id, bool lock);

// Logs a new batch; returns its id.
int64 InsertBatch(SpiSession& spi, Oid target, const std::string& display,
                  const std::vector<std::string>& key_columns,
                  const std::optional<std::string>& source,
                  const core::StageOptions& options);

// Records an apply or a dry run ("applied", "dry_run") and its counts.
void RecordBatch(SpiSession& spi, int64 id, const char* status,
                 const core::StageCounts& counts,
                 const std::optional<std::vector<std::string>>& only_keys);

// Removes the staged rows of batches applied longer ago than
// schema_guard.stage_retention; returns how many rows it removed.
int64 PurgeStagedRows(SpiSession& spi);

// One quarantined row.
struct QuarantineRow {
  int64 seq = 0;
  std::string key;
  std::string problem;
  std::string detail;
  std::string payload;
  std::optional<std::string> version;
  std::optional<std::string> kept_version;
  std::optional<int64> kept_seq;
};

// Writes quarantined rows of a batch, a thousand per statement.
class QuarantineWriter {
 public:
  QuarantineWriter(SpiSession& spi, int64 batch) : spi_(spi), batch_(batch) {}
  void Add(QuarantineRow row);
  void Flush();

 private:
  SpiSession& spi_;
  int64 batch_;
  std::vector<QuarantineRow> rows_;
};

// The staged-row check's memory of the batch it locked, forgotten when this
// backend applies a batch.
void ForgetStagingLock();

// How many rows this backend has staged: rows a later statement of the
// same transaction stages do not update the batch's row in the log again.
int64 RowsStagedHere();

}  // namespace schema_guard::pg
