// Module load: settings, the statement-capture hook and transaction
// callbacks.
#include "pg/settings.hpp"
#include "pg/statement_capture.hpp"

extern "C" {
#include "postgres.h"

#include "fmgr.h"

PG_MODULE_MAGIC;

void _PG_init(void);
}

namespace schema_guard::pg {
void RegisterEventTriggerCallbacks();
}

extern "C" void _PG_init(void) {
  schema_guard::pg::DefineSettings();
  schema_guard::pg::InstallStatementCapture();
  schema_guard::pg::RegisterEventTriggerCallbacks();
}
