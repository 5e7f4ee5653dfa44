#include "pg/staging_scan_cache.hpp"

#include <fmt/format.h>

#include "core/staging.hpp"
#include "pg/bridge.hpp"
#include "pg/owner_scope.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/guc.h"
}

namespace schema_guard::pg {
namespace {

struct Kept {
  int64 batch = 0;
  std::string fingerprint;
  std::shared_ptr<const BatchScan> scan;
};
Kept kept;

std::string Setting(const char* name) {
  const char* value = nullptr;
  PgTry([&]() noexcept { value = GetConfigOption(name, true, false); });
  return value == nullptr ? std::string() : std::string(value);
}

}  // namespace

std::string ScanFingerprint(SpiSession& spi, const Batch& batch,
                            const Target& target, const KeyOrdering& ordering) {
  QueryResult version;
  {
    OwnerScope owner;
    version = spi.Query(
        "SELECT xmin::text || ':' || ctid::text FROM "
        "schema_guard.stage_batches WHERE batch_id = $1",
        {{INT8OID, Int64GetDatum(batch.id), false}}, false);
  }
  std::string out = fmt::format("{}|{}|{}|{}|", batch.id, version.Text(0, 0),
                                RowsStagedHere(), target.oid);
  for (std::size_t c = 0; c < target.columns.size(); ++c) {
    const TargetColumn& t = target.columns[c];
    out += fmt::format("{}:{}:{}:{}:{};", target.info.columns[c].name, t.attnum,
                       t.type, t.typmod, t.collation);
  }
  for (std::size_t k = 0; k < ordering.less.size(); ++k) {
    out += fmt::format("{}:{}:{};", ordering.less[k], ordering.equal[k],
                       ordering.collation[k]);
  }
  for (const auto& k : batch.key_columns) out += k + "|";
  out += core::StageOptionsJson(batch.options);
  out += "|" + Setting("DateStyle") + "|" + Setting("TimeZone") + "|" +
         Setting("IntervalStyle");
  return out;
}

std::shared_ptr<const BatchScan> KeptScan(int64 batch,
                                          const std::string& fingerprint) {
  if (kept.scan == nullptr || kept.batch != batch ||
      kept.fingerprint != fingerprint) {
    return nullptr;
  }
  return kept.scan;
}

void KeepScan(int64 batch, std::string fingerprint,
              std::shared_ptr<const BatchScan> scan) {
  kept = Kept{batch, std::move(fingerprint), std::move(scan)};
}

void ForgetScan() { kept = Kept{}; }

}  // namespace schema_guard::pg
