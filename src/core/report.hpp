// Text renderings of findings: the psql report of schema_check() and the
// fix script. Both render the rows check() returns; neither computes
// anything of its own.
#pragma once

#include <string>
#include <vector>

#include "core/diff.hpp"
#include "core/schema.hpp"

namespace schema_guard::core {

struct ReportHeader {
  std::string source;  // where the expected schema came from
  std::string set_at;  // when it was set
  std::string app;     // the app filter, or ""
};

std::string RenderSchemaReport(const std::vector<Finding>& findings,
                               const Summary& summary,
                               const ReportHeader& header,
                               const Schema* expected_for_verbose);

std::string RenderFixScript(const std::vector<Finding>& findings,
                            const ReportHeader& header, bool online,
                            bool include_drops);

}  // namespace schema_guard::core
