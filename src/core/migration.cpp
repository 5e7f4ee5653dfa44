#include "core/migration.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

#include "core/error.hpp"

namespace schema_guard::core {
namespace {

struct FrameworkInfo {
  Framework framework;
  std::string_view name;
  std::string_view history_table;
  std::string_view other_bookkeeping_table;  // empty when none
};

constexpr std::array<FrameworkInfo, 5> kFrameworks{{
    {Framework::kDjango, "django", "django_migrations", ""},
    {Framework::kFlyway, "flyway", "flyway_schema_history", ""},
    {Framework::kAlembic, "alembic", "alembic_version", ""},
    {Framework::kRails, "rails", "schema_migrations", "ar_internal_metadata"},
    {Framework::kLiquibase, "liquibase", "databasechangelog",
     "databasechangeloglock"},
}};

const FrameworkInfo& Info(Framework framework) {
  for (const auto& info : kFrameworks) {
    if (info.framework == framework) return info;
  }
  throw Error(ErrorCode::kInternal, "unknown migration framework");
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::string_view FrameworkName(Framework framework) {
  return Info(framework).name;
}

Framework ParseFramework(std::string_view name) {
  for (const auto& info : kFrameworks) {
    if (EqualsIgnoreCase(name, info.name)) return info.framework;
  }
  throw Error(ErrorCode::kInvalidParameterValue,
              fmt::format("unknown migration framework \"{}\"", name),
              "A history table belongs to one of the supported frameworks.",
              "Use one of: django, flyway, alembic, rails, liquibase.");
}

std::string_view HistoryTableName(Framework framework) {
  return Info(framework).history_table;
}

std::optional<Framework> HistoryTableFramework(std::string_view table_name) {
  for (const auto& info : kFrameworks) {
    if (table_name == info.history_table) return info.framework;
  }
  return std::nullopt;
}

std::optional<Framework> BookkeepingTableFramework(
    std::string_view table_name) {
  for (const auto& info : kFrameworks) {
    if (table_name == info.history_table ||
        (!info.other_bookkeeping_table.empty() &&
         table_name == info.other_bookkeeping_table)) {
      return info.framework;
    }
  }
  return std::nullopt;
}

const std::vector<std::string_view>& HistoryColumns(Framework framework) {
  static const std::vector<std::string_view> kDjango{"app", "name"};
  static const std::vector<std::string_view> kFlyway{"version", "description"};
  static const std::vector<std::string_view> kAlembic{"version_num"};
  static const std::vector<std::string_view> kRails{"version"};
  static const std::vector<std::string_view> kLiquibase{"id", "author",
                                                        "filename"};
  switch (framework) {
    case Framework::kDjango:
      return kDjango;
    case Framework::kFlyway:
      return kFlyway;
    case Framework::kAlembic:
      return kAlembic;
    case Framework::kRails:
      return kRails;
    case Framework::kLiquibase:
      return kLiquibase;
  }
  throw Error(ErrorCode::kInternal, "unknown migration framework");
}

std::optional<std::string> HistoryRowLabel(
    Framework framework,
    const std::vector<std::optional<std::string>>& values) {
  if (values.size() != HistoryColumns(framework).size()) {
    throw Error(ErrorCode::kInternal,
                fmt::format("{} history row has {} values, expected {}",
                            FrameworkName(framework), values.size(),
                            HistoryColumns(framework).size()));
  }
  auto present = [&](std::size_t i) {
    return values[i].has_value() && !values[i]->empty();
  };
  switch (framework) {
    case Framework::kDjango:
      if (!present(0) || !present(1)) return std::nullopt;
      return fmt::format("{}.{}", *values[0], *values[1]);
    case Framework::kFlyway:
      if (present(0)) return fmt::format("flyway:{}", *values[0]);
      if (present(1)) return fmt::format("flyway:R:{}", *values[1]);
      return std::nullopt;
    case Framework::kAlembic:
      if (!present(0)) return std::nullopt;
      return fmt::format("alembic:{}", *values[0]);
    case Framework::kRails:
      if (!present(0)) return std::nullopt;
      return fmt::format("rails:{}", *values[0]);
    case Framework::kLiquibase:
      if (!present(0) || !present(1) || !present(2)) return std::nullopt;
      return fmt::format("liquibase:{}::{}::{}", *values[0], *values[1],
                         *values[2]);
  }
  return std::nullopt;
}

std::string BookkeepingLabel(Framework framework) {
  return fmt::format("{}:history_table", FrameworkName(framework));
}

void ValidateMigrationLabel(std::string_view label) {
  if (label.size() > kMaxMigrationLabelBytes) {
    throw Error(
        ErrorCode::kStringDataTooLong, "migration label is too long",
        fmt::format("The label is {} bytes long; the limit is {} bytes.",
                    label.size(), kMaxMigrationLabelBytes),
        "Use the migration's name, such as \"core.0002_add_invoice_models\".");
  }
  for (std::size_t i = 0; i < label.size(); ++i) {
    auto c = static_cast<unsigned char>(label[i]);
    if (c < 0x20 || c == 0x7F) {
      throw Error(ErrorCode::kInvalidParameterValue,
                  "migration label contains a control character",
                  fmt::format("Byte {} of the label is 0x{:02X}.", i + 1, c),
                  "Use a single-line label without tabs or newlines.");
    }
  }
}

Framework LabelFramework(std::string_view label) {
  for (const auto& info : kFrameworks) {
    if (info.framework == Framework::kDjango) continue;
    if (label.size() > info.name.size() + 1 &&
        label.substr(0, info.name.size()) == info.name &&
        label[info.name.size()] == ':') {
      return info.framework;
    }
  }
  return Framework::kDjango;
}

bool ClaimCounts(LabelSource source, bool may_write_history) {
  return source == LabelSource::kSession && may_write_history;
}

std::optional<std::string> LabelAtEvent(
    std::string_view session_label,
    std::optional<Framework> creates_bookkeeping_of) {
  if (!session_label.empty()) return std::string(session_label);
  if (creates_bookkeeping_of) return BookkeepingLabel(*creates_bookkeeping_of);
  return std::nullopt;
}

}  // namespace schema_guard::core
