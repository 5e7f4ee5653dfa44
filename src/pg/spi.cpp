#include "pg/spi.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "pg/bridge.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "fmgr.h"
#include "utils/guc.h"
#include "utils/memutils.h"
}

namespace schema_guard::pg {

int PinSearchPath() {
  int level = NewGUCNestLevel();
  (void)set_config_option("search_path", kInternalSearchPath, PGC_USERSET,
                          PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
  return level;
}

void UnpinSearchPath(int level) { AtEOXact_GUC(true, level); }

void ExecuteSpi(const char* sql, const std::vector<QueryArg>& args,
                bool read_only) {
  std::vector<Oid> types(args.size());
  std::vector<Datum> values(args.size());
  std::vector<char> nulls(args.size() + 1, '\0');
  for (std::size_t i = 0; i < args.size(); ++i) {
    types[i] = args[i].type;
    values[i] = args[i].value;
    nulls[i] = args[i].is_null ? 'n' : ' ';
  }
  int rc = 0;
  PgTry([&]() noexcept {
    int level = PinSearchPath();
    rc = SPI_execute_with_args(sql, static_cast<int>(args.size()), types.data(),
                               values.data(), nulls.data(), read_only, 0);
    UnpinSearchPath(level);
  });
  if (rc < 0) {
    throw core::Error(core::ErrorCode::kInternal,
                      fmt::format("internal query failed: {}", rc));
  }
}

SpiSession::SpiSession() {
  int rc = 0;
  PgTry([&]() noexcept { rc = SPI_connect(); });
  if (rc != SPI_OK_CONNECT) {
    throw core::Error(core::ErrorCode::kInternal,
                      fmt::format("could not connect to SPI: {}", rc));
  }
  connected_ = true;
}

// Normally Finish() has closed the connection. When an exception unwinds
// past an open one, close it here: the error may be caught and reported
// without aborting the transaction. SPI_finish only frees memory; should it
// raise anyway, the error is dropped (the transaction's end cleans up).
SpiSession::~SpiSession() {
  if (!connected_) return;
  try {
    PgTry([]() noexcept { SPI_finish(); });
  } catch (...) {  // NOLINT(bugprone-empty-catch): see above
  }
}

void SpiSession::Finish() {
  if (!connected_) return;
  connected_ = false;
  PgTry([&]() noexcept { SPI_finish(); });
}

QueryResult SpiSession::Query(const char* sql,
                              const std::vector<QueryArg>& args,
                              bool read_only) {
  ExecuteSpi(sql, args, read_only);
  QueryResult result;
  if (SPI_tuptable == nullptr) return result;
  result.rows_ = SPI_processed;
  result.columns_ = static_cast<std::size_t>(SPI_tuptable->tupdesc->natts);
  result.cells_.assign(result.rows_ * result.columns_, nullptr);
  const char** cells = result.cells_.data();
  std::size_t rows = result.rows_;
  std::size_t columns = result.columns_;
  PgTry([&]() noexcept {
    for (std::size_t r = 0; r < rows; ++r) {
      for (std::size_t c = 0; c < columns; ++c) {
        cells[r * columns + c] =
            SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc,
                         static_cast<int>(c + 1));
      }
    }
  });
  return result;
}

TypedResult SpiSession::QueryTyped(const char* sql,
                                   const std::vector<CellKind>& kinds,
                                   const std::vector<QueryArg>& args) {
  ExecuteSpi(sql, args, true);
  TypedResult result;
  if (SPI_tuptable == nullptr) return result;
  TupleDesc desc = SPI_tuptable->tupdesc;
  if (static_cast<std::size_t>(desc->natts) != kinds.size()) {
    throw core::Error(core::ErrorCode::kInternal,
                      fmt::format("query returns {} columns, expected {}",
                                  desc->natts, kinds.size()));
  }
  for (std::size_t c = 0; c < kinds.size(); ++c) {
    Oid type = TupleDescAttr(desc, static_cast<int>(c))->atttypid;
    bool fits = kinds[c] == CellKind::kText
                    ? type == TEXTOID || type == VARCHAROID ||
                          type == BPCHAROID || type == BYTEAOID
                : kinds[c] == CellKind::kInt64 ? type == INT8OID
                                               : type == BOOLOID;
    if (!fits) {
      throw core::Error(
          core::ErrorCode::kInternal,
          fmt::format("query column {} has type {}", c + 1, type));
    }
  }
  result.rows_ = SPI_processed;
  result.columns_ = kinds.size();
  result.cells_.resize(result.rows_ * result.columns_);
  Cell* cells = result.cells_.data();
  const CellKind* kind = kinds.data();
  std::size_t rows = result.rows_;
  std::size_t columns = result.columns_;
  PgTry([&]() noexcept {
    for (std::size_t r = 0; r < rows; ++r) {
      HeapTuple tuple = SPI_tuptable->vals[r];
      for (std::size_t c = 0; c < columns; ++c) {
        Cell& cell = cells[r * columns + c];
        bool isnull = false;
        Datum value =
            SPI_getbinval(tuple, desc, static_cast<int>(c + 1), &isnull);
        cell.is_null = isnull;
        if (isnull) continue;
        switch (kind[c]) {
          case CellKind::kText: {
            struct varlena* v = pg_detoast_datum_packed(
                reinterpret_cast<struct varlena*>(DatumGetPointer(value)));
            cell.data = VARDATA_ANY(v);
            cell.length = VARSIZE_ANY_EXHDR(v);
            break;
          }
          case CellKind::kInt64:
            cell.number = DatumGetInt64(value);
            break;
          case CellKind::kBool:
            cell.number = DatumGetBool(value) ? 1 : 0;
            break;
        }
      }
    }
  });
  return result;
}

Datum TextArrayDatum(const std::vector<std::string>& values) {
  std::vector<Datum> elems(values.size());
  Datum result = 0;
  PgTry([&]() noexcept {
    for (std::size_t i = 0; i < values.size(); ++i) {
      elems[i] = PointerGetDatum(cstring_to_text_with_len(
          values[i].data(), static_cast<int>(values[i].size())));
    }
    result = PointerGetDatum(construct_array(elems.data(),
                                             static_cast<int>(elems.size()),
                                             TEXTOID, -1, false, TYPALIGN_INT));
  });
  return result;
}

Datum OidArrayDatum(const std::vector<std::string>& oids) {
  std::vector<Datum> elems;
  elems.reserve(oids.size());
  for (const auto& oid : oids) {
    elems.push_back(ObjectIdGetDatum(static_cast<Oid>(std::stoul(oid))));
  }
  Datum result = 0;
  PgTry([&]() noexcept {
    result = PointerGetDatum(
        construct_array(elems.data(), static_cast<int>(elems.size()), OIDOID,
                        sizeof(Oid), true, TYPALIGN_INT));
  });
  return result;
}

}  // namespace schema_guard::pg
