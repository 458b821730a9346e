// Moving a whole store between the engines, table by table: how a PostgreSQL store is backed up
// (into a SQLite store file, the one format of a backup's snapshot) and how a backup is restored
// onto PostgreSQL. The engines' schemas have the same tables and columns (store/postgres/
// pg_schema.cc is SQLite's v11); values are copied as stored, still sealed.
#pragma once

#include <string>

#include "core/status.h"
#include "store/store.h"

namespace coffer::postgres {

// Copies every table of the PostgreSQL store at `url`, as one REPEATABLE READ snapshot sees it,
// into a new SQLite store at `sqlite_path`. parameter_tier_counts is rebuilt by SQLite's
// triggers as the parameters arrive. Errors: the drivers'; no file is left behind.
Result<StoreSnapshotInfo> SnapshotPostgresToSqlite(const std::string& url,
                                                   const std::string& sqlite_path);

// Copies the SQLite store at `sqlite_path` into the PostgreSQL store at `url`, which must hold
// no deployment yet (its tables are made if needed), in one transaction, and moves each identity
// column's sequence past the ids copied. Errors: FailedPrecondition when the store holds a
// deployment; the drivers'.
Status RestoreSqliteToPostgres(const std::string& sqlite_path, const std::string& url);

}  // namespace coffer::postgres
