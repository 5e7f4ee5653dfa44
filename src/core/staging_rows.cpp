#include "core/staging_rows.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "core/error.hpp"

namespace schema_guard::core {
namespace {

// ProblemOrder's bands: payload fields come first, in payload order.
constexpr int kKeyBand = 100000;
constexpr int kNotNullBand = 200000;
constexpr int kConstraintBand = 300000;
constexpr int kSupersededBand = 500000;
constexpr int kStaleBand = 600000;

constexpr std::size_t kArenaBlock = std::size_t{64} * 1024;
// How many leading field positions RowPlan::LookupAt remembers.
constexpr std::size_t kRecentFields = 256;

RowProblem Make(Problem problem, int index, std::string detail) {
  return {problem, ProblemOrder(problem, index), std::move(detail)};
}

}  // namespace

const char* ProblemName(Problem problem) {
  switch (problem) {
    case Problem::kNotAnObject:
      return "not_an_object";
    case Problem::kDuplicateField:
      return "duplicate_field";
    case Problem::kUnknownColumn:
      return "unknown_column";
    case Problem::kGeneratedColumn:
      return "generated_column";
    case Problem::kTouchColumn:
      return "touch_column";
    case Problem::kMissingKey:
      return "missing_key";
    case Problem::kInvalidValue:
      return "invalid_value";
    case Problem::kTooLong:
      return "too_long";
    case Problem::kNotNull:
      return "not_null";
    case Problem::kCheckViolation:
      return "check_violation";
    case Problem::kForeignKeyViolation:
      return "foreign_key_violation";
    case Problem::kSuperseded:
      return "superseded";
    case Problem::kStale:
      return "stale";
  }
  return "invalid_value";
}

bool Rejects(Problem problem) {
  return problem != Problem::kSuperseded && problem != Problem::kStale;
}

int ProblemOrder(Problem problem, int index) {
  switch (problem) {
    case Problem::kMissingKey:
      return kKeyBand + index;
    case Problem::kNotNull:
      return kNotNullBand + index;
    case Problem::kCheckViolation:
    case Problem::kForeignKeyViolation:
      return kConstraintBand + index;
    case Problem::kSuperseded:
      return kSupersededBand;
    case Problem::kStale:
      return kStaleBand;
    default:
      return index;
  }
}

RowProblem ConversionProblem(std::string_view column, int field,
                             std::string_view sqlstate,
                             std::string_view message) {
  return Make(sqlstate == "22001" ? Problem::kTooLong : Problem::kInvalidValue,
              field, fmt::format("column \"{}\": {}", column, message));
}

RowProblem SupersededProblem(ConflictRule rule, long long winner) {
  return Make(
      Problem::kSuperseded, 0,
      fmt::format("the row with seq {} has the same key and {}", winner,
                  rule == ConflictRule::kNewerWins ? "a newer version"
                                                   : "was staged later"));
}

RowProblem StaleProblem(std::string_view version_column,
                        std::string_view stored, std::string_view staged) {
  return Make(
      Problem::kStale, 0,
      fmt::format("the stored row's \"{}\" ({}) is newer than the "
                  "staged row's ({})",
                  version_column, stored, staged.empty() ? "null" : staged));
}

// ---------------------------------------------------------------------

char* TextArena::Allocate(std::size_t size) {
  while (block_ < blocks_.size() && used_ + size > sizes_[block_]) {
    ++block_;
    used_ = 0;
  }
  if (block_ == blocks_.size()) {
    std::size_t n = std::max(kArenaBlock, size);
    blocks_.push_back(std::make_unique<char[]>(n));
    sizes_.push_back(n);
    used_ = 0;
  }
  char* out = blocks_[block_].get() + used_;
  used_ += size;
  return out;
}

char* TextArena::Copy(std::string_view text) {
  char* out = Allocate(text.size() + 1);
  std::memcpy(out, text.data(), text.size());
  out[text.size()] = '\0';
  return out;
}

char* TextArena::Unescape(std::string_view literal, Unescaped* result) {
  scratch_.clear();
  *result = AppendUnescaped(literal, &scratch_);
  return Copy(scratch_);
}

void TextArena::Reset() {
  block_ = 0;
  used_ = 0;
}

// ---------------------------------------------------------------------

RowPlan::RowPlan(const StageTarget& target,
                 std::vector<std::string> key_columns, StageOptions options,
                 bool server_utf8)
    : target_(target),
      key_names_(std::move(key_columns)),
      options_(std::move(options)),
      server_utf8_(server_utf8),
      carried_(target_.columns.size(), false),
      partial_(target_.columns.size(), false) {
  for (std::size_t i = 0; i < target_.columns.size(); ++i) {
    const StageColumn& c = target_.columns[i];
    lookup_.emplace(c.name, static_cast<int>(i));
    if (c.name == options_.version_column) version_ = static_cast<int>(i);
    if (c.name == options_.touch_column) touch_ = static_cast<int>(i);
  }
  for (const auto& name : options_.ignore_columns) {
    // An ignored key that is also a column is still ignored.
    lookup_[name] = kIgnored;
  }
  for (const auto& k : key_names_) {
    auto it = lookup_.find(k);
    keys_.push_back(it == lookup_.end() ? -1 : it->second);
  }
  if (std::find(keys_.begin(), keys_.end(), -1) != keys_.end()) {
    throw Error(ErrorCode::kInternal, "key column not in the target");
  }
}

int RowPlan::Lookup(std::string_view field) const {
  auto it = lookup_.find(field);
  return it == lookup_.end() ? kUnknown : it->second;
}

int RowPlan::LookupAt(std::size_t position, std::string_view field) const {
  if (position < recent_.size() && recent_[position].field == field) {
    return recent_[position].column;
  }
  int column = Lookup(field);
  if (position >= recent_.size()) {
    if (position >= kRecentFields) return column;
    recent_.resize(position + 1, Recent{std::string(), Lookup({})});
  }
  recent_[position].field.assign(field);
  recent_[position].column = column;
  return column;
}

void RowPlan::SetCarried(const std::vector<std::int64_t>& named,
                         std::int64_t objects) {
  for (std::size_t c = 0; c < carried_.size(); ++c) {
    std::int64_t n = c < named.size() ? named[c] : 0;
    carried_[c] = n > 0;
    partial_[c] = n > 0 && n < objects;
  }
  auto all_carried = [&](const std::vector<std::string>& columns) {
    return std::all_of(columns.begin(), columns.end(), [&](const auto& name) {
      int c = Lookup(name);
      return c >= 0 && carried_[static_cast<std::size_t>(c)];
    });
  };
  checks_.clear();
  for (const auto& check : target_.checks) {
    if (all_carried(check.columns)) checks_.push_back(check);
  }
  fks_.clear();
  for (const auto& fk : target_.foreign_keys) {
    if (all_carried(fk.columns)) fks_.push_back(fk);
  }
}

std::vector<std::string> RowPlan::MergeColumns() const {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < target_.columns.size(); ++i) {
    const StageColumn& c = target_.columns[i];
    int pos = static_cast<int>(i);
    if (!carried_[i] || c.generated || c.identity_always || pos == touch_ ||
        std::find(keys_.begin(), keys_.end(), pos) != keys_.end()) {
      continue;
    }
    out.push_back(c.name);
  }
  return out;
}

RowProblem RowPlan::ConstraintProblem(std::size_t index,
                                      std::string_view values) const {
  if (index < checks_.size()) {
    return Make(Problem::kCheckViolation, static_cast<int>(index),
                fmt::format("new row for relation \"{}\" violates check "
                            "constraint \"{}\"",
                            target_.name, checks_[index].name));
  }
  const StageForeignKey& fk = fks_.at(index - checks_.size());
  std::string columns;
  for (std::size_t i = 0; i < fk.columns.size(); ++i) {
    columns += (i > 0 ? ", " : "") + fk.columns[i];
  }
  return Make(Problem::kForeignKeyViolation, static_cast<int>(index),
              fmt::format("key ({})=({}) is not present in table \"{}\" "
                          "(foreign key \"{}\")",
                          columns, values, fk.referenced_name, fk.name));
}

void RowPlan::Reset(MappedRow* row) const {
  std::size_t n = target_.columns.size();
  if (row->slots.size() != n) {
    row->slots.assign(n, Slot::kAbsent);
    row->texts.assign(n, nullptr);
    row->fields.assign(n, -1);
  } else {
    std::fill(row->slots.begin(), row->slots.end(), Slot::kAbsent);
  }
  row->problems.clear();
  row->keyed = false;
}

bool RowPlan::Structure(PayloadShape shape, const PayloadScanner& scanner,
                        MappedRow* row) const {
  if (shape != PayloadShape::kObject) {
    row->problems.push_back(
        Make(Problem::kNotAnObject, 0,
             shape == PayloadShape::kInvalid
                 ? "The payload is not valid JSON."
                 : "The payload is not a JSON object of column names and "
                   "values."));
    return false;
  }
  int dup = scanner.FirstDuplicate();
  if (dup < 0) return true;
  row->problems.push_back(
      Make(Problem::kDuplicateField, dup,
           fmt::format("field \"{}\" appears more than once in the payload",
                       scanner.fields()[static_cast<std::size_t>(dup)].key)));
  return false;
}

void RowPlan::Assign(const PayloadField& field, int index, int column,
                     TextArena* arena, MappedRow* row) const {
  std::size_t c = static_cast<std::size_t>(column);
  if (row->slots[c] != Slot::kAbsent) return;  // a field named twice
  row->fields[c] = index;
  if (field.kind == PayloadValue::kNull) {
    row->slots[c] = Slot::kNull;
    return;
  }
  row->slots[c] = Slot::kValue;
  const StageColumn& col = target_.columns[c];
  if (col.is_json || field.kind != PayloadValue::kString) {
    row->texts[c] = arena->Copy(field.raw);
    return;
  }
  if (!field.escaped) {
    row->texts[c] = arena->Copy(field.raw.substr(1, field.raw.size() - 2));
    return;
  }
  Unescaped result = Unescaped::kOk;
  row->texts[c] = arena->Unescape(field.raw, &result);
  const char* problem = nullptr;
  if (result == Unescaped::kNulCharacter) {
    problem = "\\u0000 cannot be converted to text";
  } else if (result == Unescaped::kLoneSurrogate) {
    problem = "invalid Unicode surrogate pair";
  } else if (result == Unescaped::kOkNonAscii && !server_utf8_) {
    problem =
        "Unicode escape values cannot be used for code point values above "
        "007F when the server encoding is not UTF8";
  }
  if (problem != nullptr) {
    row->problems.push_back(
        ConversionProblem(col.name, index, "22P05", problem));
    row->slots[c] = Slot::kNull;
  }
}

bool RowPlan::HasKey(MappedRow* row, bool report) const {
  bool ok = true;
  for (std::size_t k = 0; k < keys_.size(); ++k) {
    Slot s = row->slots[static_cast<std::size_t>(keys_[k])];
    if (s == Slot::kValue) continue;
    ok = false;
    if (!report) continue;
    row->problems.push_back(
        Make(Problem::kMissingKey, static_cast<int>(k),
             fmt::format("key column \"{}\" is {}", key_names_[k],
                         s == Slot::kNull ? "null" : "missing")));
  }
  return ok;
}

void RowPlan::NotNull(MappedRow* row) const {
  for (std::size_t i = 0; i < target_.columns.size(); ++i) {
    const StageColumn& c = target_.columns[i];
    int pos = static_cast<int>(i);
    if (!c.not_null || c.generated || c.identity_always || pos == touch_ ||
        std::find(keys_.begin(), keys_.end(), pos) != keys_.end()) {
      continue;
    }
    if (row->slots[i] == Slot::kNull) {
      row->problems.push_back(
          Make(Problem::kNotNull, pos,
               fmt::format("null value in column \"{}\" of relation \"{}\" "
                           "violates not-null constraint",
                           c.name, target_.name)));
    } else if (row->slots[i] == Slot::kAbsent && !c.has_default) {
      // INSERT ... ON CONFLICT checks NOT NULL on the proposed row before it
      // looks for a conflict: such rows cannot be merged at all.
      row->problems.push_back(Make(
          Problem::kNotNull, pos,
          fmt::format("column \"{}\" of relation \"{}\" is not null and has "
                      "no default, and the {} does not carry it",
                      c.name, target_.name, carried_[i] ? "row" : "batch")));
    }
  }
}

bool RowPlan::MapKeys(std::string_view payload, PayloadScanner* scanner,
                      TextArena* arena, MappedRow* row,
                      std::vector<std::int64_t>* named) const {
  Reset(row);
  PayloadShape shape = scanner->Scan(payload);
  bool sound = Structure(shape, *scanner, row);
  row->problems.clear();
  if (shape != PayloadShape::kObject) return false;
  const auto& fields = scanner->fields();
  for (std::size_t i = 0; i < fields.size(); ++i) {
    int column = LookupAt(i, fields[i].key);
    if (column < 0) continue;
    std::size_t c = static_cast<std::size_t>(column);
    if (row->slots[c] != Slot::kAbsent) continue;  // named twice
    ++(*named)[c];
    if (std::find(keys_.begin(), keys_.end(), column) != keys_.end()) {
      Assign(fields[i], static_cast<int>(i), column, arena, row);
    } else {
      row->slots[c] = Slot::kNull;  // counted; its value is not needed yet
    }
  }
  row->keyed = sound && HasKey(row, false) && row->problems.empty();
  return true;
}

void RowPlan::Map(std::string_view payload, PayloadScanner* scanner,
                  TextArena* arena, MappedRow* row) const {
  Reset(row);
  PayloadShape shape = scanner->Scan(payload);
  bool sound = Structure(shape, *scanner, row);
  if (shape != PayloadShape::kObject) return;
  const auto& fields = scanner->fields();
  bool key_text_ok = true;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    int column = LookupAt(i, fields[i].key);
    int index = static_cast<int>(i);
    if (column == kIgnored) continue;
    if (column == kUnknown) {
      row->problems.push_back(
          Make(Problem::kUnknownColumn, index,
               fmt::format("column \"{}\" does not exist in table \"{}\"",
                           fields[i].key, target_.name)));
      continue;
    }
    const StageColumn& c = target_.columns[static_cast<std::size_t>(column)];
    if (c.generated || c.identity_always) {
      row->problems.push_back(Make(
          Problem::kGeneratedColumn, index,
          c.generated
              ? fmt::format("column \"{}\" is generated and cannot be written",
                            c.name)
              : fmt::format("column \"{}\" is an identity column generated "
                            "always and cannot be written",
                            c.name)));
      continue;
    }
    if (column == touch_) {
      row->problems.push_back(
          Make(Problem::kTouchColumn, index,
               fmt::format("column \"{}\" is set by the apply (touch_column) "
                           "and cannot be staged",
                           c.name)));
      continue;
    }
    std::size_t before = row->problems.size();
    Assign(fields[i], index, column, arena, row);
    if (row->problems.size() != before &&
        std::find(keys_.begin(), keys_.end(), column) != keys_.end()) {
      key_text_ok = false;
    }
  }
  bool has_key = HasKey(row, true);
  // The same rule as MapKeys: a key whose text is unusable is no key.
  row->keyed = sound && has_key && key_text_ok;
  NotNull(row);
}

std::string RowPlan::KeyText(const MappedRow& row) const {
  std::vector<std::optional<std::string>> parts;
  parts.reserve(keys_.size());
  for (int k : keys_) {
    std::size_t c = static_cast<std::size_t>(k);
    if (row.slots.size() > c && row.slots[c] == Slot::kValue) {
      parts.emplace_back(row.texts[c]);
    } else {
      parts.emplace_back(std::nullopt);
    }
  }
  return RenderKey(parts);
}

std::vector<WinnerKey> WinnerOrder(const StageOptions& options) {
  if (options.conflict == ConflictRule::kNewerWins &&
      !options.version_column.empty()) {
    return {WinnerKey::kVersionNewestFirst, WinnerKey::kSeqLatestFirst};
  }
  return {WinnerKey::kSeqLatestFirst};
}

void SettleCounts(std::int64_t merged, StageCounts* counts) {
  counts->unchanged =
      merged - counts->inserted - counts->updated - counts->stale;
  if (counts->unchanged < 0) {
    throw Error(ErrorCode::kInternal,
                fmt::format("the merge wrote {} rows of the {} it was handed",
                            counts->inserted + counts->updated, merged));
  }
}

}  // namespace schema_guard::core
