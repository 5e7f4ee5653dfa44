// What the staging functions do, in C++: open a batch, stage a JSON array,
// validate, dry-run or apply a batch, purge old staged rows. The extern "C"
// shims are in staging_functions.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/staging_rows.hpp"

extern "C" {
#include "postgres.h"
}

namespace schema_guard::pg {

int64 OpenBatch(Oid relid, const std::vector<std::string>& key_columns,
                const std::optional<std::string>& source,
                const std::string& options_json);

// Stages the elements of a jsonb array (a Datum); returns how many.
int64 StageRows(int64 batch, Datum rows);

// One problem stage_validate() lists.
struct ListedProblem {
  int64 seq;
  std::string key;
  std::string problem;
  std::string detail;
};

void ValidateBatch(int64 batch,
                   const std::function<void(const ListedProblem&)>& emit);

core::StageCounts ApplyBatch(
    int64 batch, bool dry_run,
    const std::optional<std::vector<std::string>>& only_keys);

int64 PurgeBatches();

}  // namespace schema_guard::pg
