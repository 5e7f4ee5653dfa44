#include "pg/django_history.hpp"

#include <algorithm>
#include <cstring>

#include "pg/bridge.hpp"
#include "pg/catalog_scan.hpp"

extern "C" {
#include "postgres.h"

#include "access/tableam.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
}

namespace schema_guard::pg {

namespace {

// Microseconds from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
constexpr long long kUnixToPostgresMicros =
    static_cast<long long>(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) *
    USECS_PER_DAY;

// One row copied out of the scan: plain data, palloc'd strings.
struct HeapRow {
  int64 id;
  bool id_null;
  char* app;  // nullptr: NULL
  char* name;
  bool applied_null;
  TimestampTz applied;
};

// Where Django's columns are, 0 when missing or of another type.
struct DjangoColumns {
  AttrNumber id = 0, app = 0, name = 0, applied = 0;
};

DjangoColumns FindColumns(TupleDesc desc) {
  DjangoColumns c;
  for (int i = 0; i < desc->natts; ++i) {
    Form_pg_attribute att = TupleDescAttr(desc, i);
    if (att->attisdropped) continue;
    const char* name = NameStr(att->attname);
    Oid type = att->atttypid;
    bool text = type == TEXTOID || type == VARCHAROID;
    bool integer = type == INT2OID || type == INT4OID || type == INT8OID;
    AttrNumber number = att->attnum;
    if (strcmp(name, "id") == 0 && integer) c.id = number;
    if (strcmp(name, "app") == 0 && text) c.app = number;
    if (strcmp(name, "name") == 0 && text) c.name = number;
    if (strcmp(name, "applied") == 0 && type == TIMESTAMPTZOID)
      c.applied = number;
  }
  return c;
}

int64 IdValue(Datum value, Oid type) {
  if (type == INT2OID) return DatumGetInt16(value);
  if (type == INT4OID) return DatumGetInt32(value);
  return DatumGetInt64(value);
}

// Whether the heap scan reads what `SELECT ... FROM rel` would for the
// current user.
bool PlainReadable(Relation rel) {
  Oid relid = RelationGetRelid(rel);
  // A table with inheritance children: the query reads theirs too.
  return rel->rd_rel->relkind == RELKIND_RELATION &&
         !rel->rd_rel->relhassubclass &&
         pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) == ACLCHECK_OK &&
         check_enable_rls(relid, InvalidOid, true) == RLS_NONE &&
         ActiveSnapshotSet();
}

// Scans the table into *rows (palloc'd); false when it cannot (see the
// header). Runs inside PgTry.
bool ScanRows(const char* table, HeapRow** rows, int* count) {
  // Locked as it is looked up: a table dropped meanwhile is not found
  // (the query then reports it) instead of failing to open.
  Oid relid = RelationByName(table, AccessShareLock);
  if (!OidIsValid(relid)) return false;
  Relation rel = table_open(relid, NoLock);
  TupleDesc desc = RelationGetDescr(rel);
  DjangoColumns c = FindColumns(desc);
  bool ok = PlainReadable(rel) && c.id != 0 && c.app != 0 && c.name != 0 &&
            c.applied != 0;
  if (ok) {
    Oid id_type = TupleDescAttr(desc, c.id - 1)->atttypid;
    TableScanDesc scan = table_beginscan(rel, GetActiveSnapshot(), 0, nullptr);
    TupleTableSlot* slot = table_slot_create(rel, nullptr);
    int capacity = 0;
    while (ok && table_scan_getnextslot(scan, ForwardScanDirection, slot)) {
      slot_getallattrs(slot);
      *rows = Grow(*rows, *count, &capacity);
      HeapRow& row = (*rows)[*count];
      row.id_null = slot->tts_isnull[c.id - 1];
      row.id = row.id_null ? 0 : IdValue(slot->tts_values[c.id - 1], id_type);
      row.app = slot->tts_isnull[c.app - 1]
                    ? nullptr
                    : TextDatumGetCString(slot->tts_values[c.app - 1]);
      row.name = slot->tts_isnull[c.name - 1]
                     ? nullptr
                     : TextDatumGetCString(slot->tts_values[c.name - 1]);
      row.applied_null = slot->tts_isnull[c.applied - 1];
      row.applied = row.applied_null
                        ? 0
                        : DatumGetTimestampTz(slot->tts_values[c.applied - 1]);
      // date_part('epoch', 'infinity') * 1000000 does not fit an int8: the
      // query reports that, not the scan.
      if (!row.applied_null && TIMESTAMP_NOT_FINITE(row.applied)) ok = false;
      ++*count;
    }
    ExecDropSingleTupleTableSlot(slot);
    table_endscan(scan);
  }
  table_close(rel, NoLock);
  return ok;
}

}  // namespace

bool ReadDjangoHistoryHeap(const std::string& table,
                           std::vector<DjangoHistoryRow>* rows) {
  const char* name = table.c_str();
  HeapRow* heap_rows = nullptr;
  int count = 0;
  bool ok = false;
  PgTry([&]() noexcept { ok = ScanRows(name, &heap_rows, &count); });
  if (!ok) return false;
  // ORDER BY id: ascending, NULLs last; rows with equal ids in heap order.
  std::vector<int> order(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) order[static_cast<std::size_t>(i)] = i;
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    const HeapRow& x = heap_rows[a];
    const HeapRow& y = heap_rows[b];
    if (x.id_null || y.id_null) return !x.id_null && y.id_null;
    return x.id < y.id;
  });
  rows->reserve(order.size());
  for (int i : order) {
    const HeapRow& h = heap_rows[i];
    DjangoHistoryRow row;
    if (h.app != nullptr) row.app = h.app;
    if (h.name != nullptr) row.name = h.name;
    if (!h.applied_null) row.applied_micros = h.applied + kUnixToPostgresMicros;
    rows->push_back(std::move(row));
  }
  return true;
}

}  // namespace schema_guard::pg
