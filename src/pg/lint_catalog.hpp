// What lint rules need from the live catalog: where a name in a script
// points, how large a table is, a column's current type. Sizes are read
// without waiting for a lock: the table's lock is taken only if it is free
// at once (and released right after); if it is not, pg_class's figures
// from the last VACUUM or ANALYZE stand in.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>

#include "core/lint.hpp"

extern "C" {
#include "postgres.h"

#include "nodes/primnodes.h"
}

namespace schema_guard::pg {

class LiveCatalog : public core::LintCatalog {
 public:
  // The relation a name stands for, as the script would resolve it with
  // the session's search_path: an existing relation's schema, else the
  // schema CREATE would use. `temporary` tells whether it is (or would be)
  // a temporary relation.
  core::LintName Resolve(const RangeVar* relation, bool* temporary);

  // The table of an index: an existing index's, or one created earlier in
  // the script (NoteIndex).
  std::optional<core::LintName> IndexTable(const RangeVar* index);
  void NoteIndex(const core::LintName& index, const core::LintName& table);

  std::optional<core::LintTableSize> TableSize(
      const core::LintName& table) override;
  std::optional<core::LintTableSize> TableSizeOf(Oid relid);
  std::optional<core::LintType> ColumnType(const core::LintName& table,
                                           const std::string& column) override;
  bool HasNotNullCheck(const core::LintName& table,
                       const std::string& column) override;

 private:
  Oid RelationOid(const core::LintName& name);

  struct Resolved {
    core::LintName name;
    Oid relid;
    bool temporary;
  };
  std::map<std::pair<std::string, std::string>, Resolved> resolved_;
  std::map<core::LintName, Oid> oids_;
  std::map<Oid, std::optional<core::LintTableSize>> sizes_;
  std::map<core::LintName, core::LintName> script_indexes_;
};

}  // namespace schema_guard::pg
