// The SQLite schema: forward migrations, one per schema version, recorded in PRAGMA
// user_version.
#pragma once

#include "core/status.h"
#include "store/sqlite/connection.h"

namespace coffer::sqlite {

// Migrates the database to the current schema, one transaction per version. A database from a
// newer coffer: InternalFailure, and nothing is changed.
Status Migrate(Connection& conn);

}  // namespace coffer::sqlite
