// The PostgreSQL engine's tables, and their migrations: a version in `coffer_schema`, and an
// append-only list of forward migrations run in one transaction under an advisory lock, so
// several coffer nodes starting at once migrate once.
#pragma once

#include "core/status.h"
#include "store/postgres/pg_driver.h"

namespace coffer::postgres {

int CurrentSchemaVersion();

// Brings the database's schema to the current version. Errors: InternalFailure when the
// database is from a newer coffer; the driver's errors.
Status Migrate(Connection& conn);

}  // namespace coffer::postgres
