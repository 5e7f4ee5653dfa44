// Read-only SPI from C++ code. Every PostgreSQL call goes through PgTry; a
// query's cells are copied out as C strings (palloc'd in SPI's context,
// valid until Finish) without allocating C++ memory inside the PG_TRY.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

extern "C" {
#include "postgres.h"
}

namespace schema_guard::pg {

class QueryResult {
 public:
  std::size_t rows() const { return rows_; }
  std::size_t columns() const { return columns_; }
  // The cell's text, or nullptr for NULL.
  const char* Get(std::size_t row, std::size_t column) const {
    return cells_[row * columns_ + column];
  }
  std::string Text(std::size_t row, std::size_t column) const {
    const char* cell = Get(row, column);
    return cell == nullptr ? std::string() : std::string(cell);
  }
  bool Bool(std::size_t row, std::size_t column) const {
    const char* cell = Get(row, column);
    return cell != nullptr && cell[0] == 't';
  }

 private:
  friend class SpiSession;
  std::vector<const char*> cells_;
  std::size_t rows_ = 0;
  std::size_t columns_ = 0;
};

// A query read without output functions, for large results: text, varchar
// and char columns as bytes pointing into SPI's memory (valid until
// Finish; bytea too, as its bytes), int8 columns as numbers, booleans.
enum class CellKind { kText, kInt64, kBool };

struct Cell {
  const char* data = nullptr;  // kText
  std::size_t length = 0;      // kText
  long long number = 0;        // kInt64; kBool as 0 or 1
  bool is_null = true;
  std::string Text() const {
    return data == nullptr ? std::string() : std::string(data, length);
  }
};

class TypedResult {
 public:
  std::size_t rows() const { return rows_; }
  const Cell& At(std::size_t row, std::size_t column) const {
    return cells_[row * columns_ + column];
  }

 private:
  friend class SpiSession;
  std::vector<Cell> cells_;
  std::size_t rows_ = 0;
  std::size_t columns_ = 0;
};

struct QueryArg {
  Oid type;
  Datum value;
  bool is_null;
};

// The search_path every internal statement runs with: names and operators
// are never resolved through the caller's path (a role that may CREATE in a
// schema on it could otherwise run code with the caller's rights, or the
// owner's). Called only from PgTry bodies: PinSearchPath() opens a GUC nest
// level and returns it; UnpinSearchPath() closes it on success. On an error
// the (sub)transaction's abort restores the setting, as for a function's
// SET clause.
constexpr const char* kInternalSearchPath = "pg_catalog, pg_temp";
int PinSearchPath();
void UnpinSearchPath(int level);

// Runs a statement on the current SPI connection, with the pinned
// search_path; its rows, if any, are in SPI_tuptable. Throws on an SPI
// failure; PostgreSQL errors become PgError.
void ExecuteSpi(const char* sql, const std::vector<QueryArg>& args,
                bool read_only);

class SpiSession {
 public:
  SpiSession();
  ~SpiSession();
  SpiSession(const SpiSession&) = delete;
  SpiSession& operator=(const SpiSession&) = delete;

  QueryResult Query(const char* sql, const std::vector<QueryArg>& args = {},
                    bool read_only = true);
  // Read-only; the result's columns must be of the kinds given.
  TypedResult QueryTyped(const char* sql, const std::vector<CellKind>& kinds,
                         const std::vector<QueryArg>& args = {});
  void Finish();

 private:
  bool connected_ = false;
};

// A text[] Datum from strings (palloc'd in the current memory context).
Datum TextArrayDatum(const std::vector<std::string>& values);

// An oid[] Datum from OIDs written as decimal strings.
Datum OidArrayDatum(const std::vector<std::string>& oids);

}  // namespace schema_guard::pg
