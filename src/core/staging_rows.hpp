// The rules for one staged row: how its payload's fields map onto the
// target's columns, the problems that reject it, their names, order and
// messages, and the counts an apply reports. The boundary converts the
// values this hands it with the columns' input functions and reports the
// values that do not convert back here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/staging.hpp"
#include "core/staging_payload.hpp"

namespace schema_guard::core {

// Why a staged row is not written. The names are stable: users filter the
// quarantine on them.
enum class Problem : unsigned char {
  kNotAnObject,
  kDuplicateField,
  kUnknownColumn,
  kGeneratedColumn,
  kTouchColumn,
  kMissingKey,
  kInvalidValue,
  kTooLong,
  kNotNull,
  kCheckViolation,
  kForeignKeyViolation,
  kSuperseded,  // a later (or newer) row of the batch has the same key
  kStale,       // newer_wins: the stored row is newer
};

const char* ProblemName(Problem problem);

// Superseded and stale rows are listed with the problems, but are not
// rejected: the batch carries a better version of their key.
bool Rejects(Problem problem);

// Where a problem is listed among a row's problems: those of its payload's
// fields in payload order (`index`: the field's position), then a missing
// key (`index`: the key column), NOT NULL (`index`: the column), CHECK
// constraints and foreign keys (`index`: their position by name), then
// superseded and stale.
int ProblemOrder(Problem problem, int index);

struct RowProblem {
  Problem problem;
  int order;
  std::string detail;
};

// The problem of a value its column's input function refused, from the
// error's SQLSTATE and message.
RowProblem ConversionProblem(std::string_view column, int field,
                             std::string_view sqlstate,
                             std::string_view message);

// "the row with seq 12 has the same key and was staged later"
RowProblem SupersededProblem(ConflictRule rule, long long winner);

// newer_wins: the stored row's version is newer than the staged one's.
RowProblem StaleProblem(std::string_view version_column,
                        std::string_view stored, std::string_view staged);

// Memory for value texts, NUL-terminated as input functions take them;
// pointers stay valid until Reset().
class TextArena {
 public:
  char* Copy(std::string_view text);
  char* Unescape(std::string_view literal, Unescaped* result);
  void Reset();

 private:
  char* Allocate(std::size_t size);
  std::vector<std::unique_ptr<char[]>> blocks_;
  std::vector<std::size_t> sizes_;
  std::size_t block_ = 0;
  std::size_t used_ = 0;
  std::string scratch_;
};

// A payload mapped onto the target's columns: per column, whether the
// payload gives it a value, and the value's text.
enum class Slot : unsigned char { kAbsent, kNull, kValue };

struct MappedRow {
  std::vector<Slot> slots;         // per target column
  std::vector<const char*> texts;  // kValue: the text for the input function
  std::vector<int> fields;         // kValue: the payload field it came from
  std::vector<RowProblem> problems;
  // The payload is an object without a field named twice, and every key
  // column has a value: the row has a key and takes part in deduplication
  // (once its key converts).
  bool keyed = false;
};

// How a batch maps payloads onto its target: built from the target's
// columns, the key columns and the options; told after the first pass over
// the batch which columns its payloads name ("carried"), and which of them
// only some payloads name ("partial": a row that lacks one keeps the stored
// value on update and takes the column's default on insert).
class RowPlan {
 public:
  // `server_utf8`: \u escapes beyond ASCII can be taken as they are.
  RowPlan(const StageTarget& target, std::vector<std::string> key_columns,
          StageOptions options, bool server_utf8 = true);

  const StageTarget& target() const { return target_; }
  const std::vector<std::string>& key_columns() const { return key_names_; }
  const StageOptions& options() const { return options_; }
  std::size_t width() const { return target_.columns.size(); }
  // Column positions of the key columns, in key order.
  const std::vector<int>& keys() const { return keys_; }
  // Column position of the version column, or -1.
  int version() const { return version_; }

  // The first pass counts, per column, the payloads that name it, and the
  // payloads that are objects.
  void SetCarried(const std::vector<std::int64_t>& named, std::int64_t objects);
  bool carried(std::size_t column) const { return carried_[column]; }
  bool partial(std::size_t column) const { return partial_[column]; }
  // The columns the merge writes besides the key: carried, in target order.
  std::vector<std::string> MergeColumns() const;
  // The CHECK constraints and foreign keys the apply checks before the
  // merge: those over carried columns only.
  const std::vector<StageCheck>& checks() const { return checks_; }
  const std::vector<StageForeignKey>& foreign_keys() const { return fks_; }
  // The problem SQL found with a converted row: the constraint at `index`
  // of checks() and foreign_keys() taken together; for a foreign key,
  // `values` is the row's text of its columns ("42" or "a, b").
  RowProblem ConstraintProblem(std::size_t index,
                               std::string_view values) const;

  // Payload field name -> column position, or kIgnored / kUnknown.
  static constexpr int kIgnored = -1;
  static constexpr int kUnknown = -2;
  int Lookup(std::string_view field) const;
  // Lookup() of the field at `position` of a payload: payloads of a batch
  // name their fields in the same order, so the answer for the previous
  // payload's field there is checked first.
  int LookupAt(std::size_t position, std::string_view field) const;

  // First pass: counts the columns `row` names into *named (and returns
  // whether it is an object) and, when the row has a key, the key values'
  // texts (row->texts at the key positions).
  bool MapKeys(std::string_view payload, PayloadScanner* scanner,
               TextArena* arena, MappedRow* row,
               std::vector<std::int64_t>* named) const;
  // Second pass: every value, and the problems found before conversion.
  void Map(std::string_view payload, PayloadScanner* scanner, TextArena* arena,
           MappedRow* row) const;

  // The row's key as staged, for the quarantine: see RenderKey.
  std::string KeyText(const MappedRow& row) const;

 private:
  void Reset(MappedRow* row) const;
  bool Structure(PayloadShape shape, const PayloadScanner& scanner,
                 MappedRow* row) const;
  void Assign(const PayloadField& field, int index, int column,
              TextArena* arena, MappedRow* row) const;
  bool HasKey(MappedRow* row, bool report) const;
  void NotNull(MappedRow* row) const;

  StageTarget target_;
  std::vector<std::string> key_names_;
  StageOptions options_;
  std::vector<int> keys_;
  int version_ = -1;
  int touch_ = -1;
  bool server_utf8_ = true;
  std::vector<bool> carried_;
  std::vector<bool> partial_;
  std::vector<StageCheck> checks_;
  std::vector<StageForeignKey> fks_;
  std::unordered_map<std::string_view, int> lookup_;
  struct Recent {
    std::string field;
    int column;
  };
  mutable std::vector<Recent> recent_;  // by field position
};

// What an apply (or a dry run) did with a batch's rows. Every staged row is
// counted once: rejected, superseded, skipped (outside only_keys), or merged
// as inserted, updated, unchanged or stale.
struct StageCounts {
  std::int64_t staged = 0;
  std::int64_t inserted = 0;
  std::int64_t updated = 0;
  std::int64_t unchanged = 0;
  std::int64_t stale = 0;
  std::int64_t superseded = 0;
  std::int64_t rejected = 0;
  std::int64_t skipped = 0;
};

// Which row of a key wins: the rows of one key ordered by these, the first
// wins. Under newer_wins the newest version first (a NULL version last),
// then, whatever the rule, the row staged last first.
enum class WinnerKey : unsigned char { kVersionNewestFirst, kSeqLatestFirst };
std::vector<WinnerKey> WinnerOrder(const StageOptions& options);

// After a merge that reported `merged` rows handed to it, of which it
// inserted and updated some and found some stale: the unchanged rest.
// Throws Error(kInternal) when the counts do not add up.
void SettleCounts(std::int64_t merged, StageCounts* counts);

}  // namespace schema_guard::core
