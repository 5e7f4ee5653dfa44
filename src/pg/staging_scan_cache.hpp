// The first pass over a batch (BatchScan), kept in the session for the
// apply that follows a validate or a dry run of the same batch: it is
// reused only while nothing it depends on changed. Every statement that
// stages rows into a batch, and every apply or dry run, writes the batch's
// row in the log, so a new version of that row (its xmin and ctid) means
// the batch may have changed (this backend's own later statements in one
// transaction are counted instead: see RowsStagedHere); the target's
// columns, the key's ordering, the batch's options and the settings that
// steer input functions are compared as well. At most one batch's scan
// (8 MB of bitmaps) is kept.
#pragma once

#include <memory>
#include <string>

#include "pg/spi.hpp"
#include "pg/staging_batch.hpp"
#include "pg/staging_convert.hpp"
#include "pg/staging_target.hpp"

namespace schema_guard::pg {

// What a scan of the batch depends on, as of now.
std::string ScanFingerprint(SpiSession& spi, const Batch& batch,
                            const Target& target, const KeyOrdering& ordering);

// The kept scan if its fingerprint is `fingerprint`, else nothing.
std::shared_ptr<const BatchScan> KeptScan(int64 batch,
                                          const std::string& fingerprint);
void KeepScan(int64 batch, std::string fingerprint,
              std::shared_ptr<const BatchScan> scan);
void ForgetScan();

}  // namespace schema_guard::pg
