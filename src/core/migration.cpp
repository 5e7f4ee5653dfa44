#include "core/migration.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
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

std::vector<std::string_view> VersionSegments(std::string_view version) {
  std::vector<std::string_view> segments;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= version.size(); ++i) {
    if (i == version.size() || version[i] == '.' || version[i] == '_') {
      segments.push_back(version.substr(start, i - start));
      start = i + 1;
    }
  }
  return segments;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) != 0;
  });
}

std::string_view StripZeros(std::string_view s) {
  if (!AllDigits(s)) return s;
  std::size_t i = 0;
  while (i + 1 < s.size() && s[i] == '0') ++i;
  return s.substr(i);
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::string CanonicalVersion(std::string_view version) {
  std::vector<std::string_view> segments = VersionSegments(version);
  while (segments.size() > 1 && StripZeros(segments.back()) == "0")
    segments.pop_back();
  std::string out;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) out += '.';
    out += StripZeros(segments[i]);
  }
  return out;
}

bool VersionLess(std::string_view a, std::string_view b) {
  std::vector<std::string_view> x = VersionSegments(a);
  std::vector<std::string_view> y = VersionSegments(b);
  std::size_t n = std::max(x.size(), y.size());
  for (std::size_t i = 0; i < n; ++i) {
    std::string_view s = i < x.size() ? StripZeros(x[i]) : "0";
    std::string_view t = i < y.size() ? StripZeros(y[i]) : "0";
    if (s == t) continue;
    if (AllDigits(s) && AllDigits(t) && s.size() != t.size())
      return s.size() < t.size();
    return s < t;
  }
  return false;
}

std::string TimestampText(long long epoch_micros) {
  long long seconds = epoch_micros / 1000000;
  long long fraction = epoch_micros % 1000000;
  if (fraction < 0) {
    fraction += 1000000;
    --seconds;
  }
  long long days = seconds / 86400;
  long long rest = seconds % 86400;
  if (rest < 0) {
    rest += 86400;
    --days;
  }
  // Civil date from days since 1970-01-01 (proleptic Gregorian).
  long long z = days + 719468;
  long long era = (z >= 0 ? z : z - 146096) / 146097;
  long long doe = z - era * 146097;
  long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  long long year = yoe + era * 400;
  long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  long long mp = (5 * doy + 2) / 153;
  long long day = doy - (153 * mp + 2) / 5 + 1;
  long long month = mp < 10 ? mp + 3 : mp - 9;
  if (month <= 2) ++year;
  year = std::clamp(year, 0LL, 9999LL);
  // Thousands of rows per check: digits by hand rather than fmt.
  std::string out = "0000-00-00 00:00:00.000000";
  auto put = [&out](std::size_t end, long long value, int width) {
    for (int k = 0; k < width; ++k) {
      out[end - static_cast<std::size_t>(k)] =
          static_cast<char>('0' + value % 10);
      value /= 10;
    }
  };
  put(3, year, 4);
  put(6, month, 2);
  put(9, day, 2);
  put(12, rest / 3600, 2);
  put(15, rest % 3600 / 60, 2);
  put(18, rest % 60, 2);
  put(25, fraction, 6);
  return out;
}

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

std::string HistoryQuery(Framework framework, std::string_view quoted_table) {
  switch (framework) {
    case Framework::kDjango:
      return fmt::format(
          "SELECT h.app, h.name, (pg_catalog.date_part('epoch', h.applied) * "
          "1000000)::int8 FROM {} h ORDER BY h.id",
          quoted_table);
    case Framework::kFlyway:
      return fmt::format(
          "SELECT h.version, h.description, h.type, h.checksum::text, "
          "h.success::text, h.installed_rank::text, "
          "(pg_catalog.date_part('epoch', h.installed_on) * 1000000)::int8 "
          "FROM {} h ORDER BY h.installed_rank",
          quoted_table);
    case Framework::kAlembic:
      return fmt::format(
          "SELECT h.version_num FROM {} h ORDER BY h.version_num",
          quoted_table);
    case Framework::kRails:
      return fmt::format("SELECT h.version FROM {} h ORDER BY h.version",
                         quoted_table);
    case Framework::kLiquibase:
      return fmt::format(
          "SELECT h.id, h.author, h.filename, h.exectype, h.md5sum, "
          "h.orderexecuted::text, (pg_catalog.date_part('epoch', "
          "h.dateexecuted) * 1000000)::int8 FROM {} h ORDER BY h.orderexecuted",
          quoted_table);
  }
  throw Error(ErrorCode::kInternal, "unknown migration framework");
}

namespace {

const std::string& Cell(const std::vector<std::optional<std::string>>& cells,
                        std::size_t i) {
  static const std::string kEmpty;
  return i < cells.size() && cells[i] ? *cells[i] : kEmpty;
}

std::optional<std::string> OptionalCell(
    const std::vector<std::optional<std::string>>& cells, std::size_t i) {
  return i < cells.size() ? cells[i] : std::nullopt;
}

std::string AppliedAtCell(const std::vector<std::optional<std::string>>& cells,
                          std::size_t i) {
  if (i >= cells.size() || !cells[i]) return {};
  return TimestampText(std::strtoll(cells[i]->c_str(), nullptr, 10));
}

long long RankCell(const std::vector<std::optional<std::string>>& cells,
                   std::size_t i, long long fallback) {
  if (i >= cells.size() || !cells[i] || cells[i]->empty()) return fallback;
  return std::strtoll(cells[i]->c_str(), nullptr, 10);
}

// flyway_schema_history: version, description, type, checksum, success,
// installed_rank, installed_on.
void ReadFlywayRow(const std::vector<std::optional<std::string>>& cells,
                   AppliedMigration* row) {
  const std::string& type = Cell(cells, 2);
  if (!cells.empty() && cells[0]) {
    row->key.name = CanonicalVersion(*cells[0]);
  } else {
    // A repeatable migration: identified by its description, re-run
    // whenever it changes; it records nothing the graph orders.
    row->key.name = "R:" + Cell(cells, 1);
    row->state = HistoryState::kIgnored;
  }
  row->checksum = OptionalCell(cells, 3);
  if (type == "BASELINE" || type == "JDBC_BASELINE") {
    row->state = HistoryState::kBaseline;
  } else if (type == "DELETE") {
    row->state = HistoryState::kDeleted;
  } else if (type == "UNDO_SQL" || type == "UNDO_JDBC" || type == "SCHEMA") {
    row->state = HistoryState::kIgnored;
  }
  const std::string& success = Cell(cells, 4);
  if (success == "false" || success == "f") row->state = HistoryState::kFailed;
  row->rank = RankCell(cells, 5, row->rank);
  row->applied_at = AppliedAtCell(cells, 6);
}

// databasechangelog: id, author, filename, exectype, md5sum, orderexecuted,
// dateexecuted.
void ReadLiquibaseRow(const std::vector<std::optional<std::string>>& cells,
                      AppliedMigration* row) {
  row->key.name =
      fmt::format("{}::{}::{}", Cell(cells, 0), Cell(cells, 1), Cell(cells, 2));
  const std::string& exectype = Cell(cells, 3);
  if (exectype == "FAILED") {
    row->state = HistoryState::kFailed;
  } else if (exectype == "MARK_RAN") {
    row->state = HistoryState::kMarkedRan;
  } else if (exectype == "SKIPPED") {
    row->state = HistoryState::kIgnored;
  }
  row->checksum = OptionalCell(cells, 4);
  row->rank = RankCell(cells, 5, row->rank);
  row->applied_at = AppliedAtCell(cells, 6);
}

}  // namespace

AppliedMigration ReadHistoryRow(
    Framework framework, const std::vector<std::optional<std::string>>& cells,
    long long position, const std::string& app) {
  AppliedMigration row;
  row.key.app = app;
  row.rank = position;
  switch (framework) {
    case Framework::kDjango:
      row.key.app = Cell(cells, 0);
      row.key.name = Cell(cells, 1);
      row.applied_at = AppliedAtCell(cells, 2);
      break;
    case Framework::kFlyway:
      ReadFlywayRow(cells, &row);
      break;
    case Framework::kAlembic:  // version_num: a head; what is below is applied
    case Framework::kRails:    // version: one applied migration
      row.key.name = Cell(cells, 0);
      break;
    case Framework::kLiquibase:
      ReadLiquibaseRow(cells, &row);
      break;
  }
  return row;
}

}  // namespace schema_guard::core
