// SQLite implementation of Store: the embedded default.
//
// WAL journal with synchronous=FULL, so a write acknowledged by Write() survives kill -9 and
// power loss. One writer connection (writes are serialised by a mutex, as SQLite serialises them
// anyway) and a pool of reader connections that run concurrently with the writer.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "store/store.h"

namespace coffer {

// Opens (creating if needed) the database at `path` and migrates its schema to the current
// version. Errors: "InternalFailure" when the file cannot be opened or is from a newer coffer.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path);

// What a SQLite store file holds, for a backup's header: its schema version and its counts of
// secrets and parameters. Errors: the driver's.
Result<StoreSnapshotInfo> DescribeSqliteSnapshot(const std::string& path);

// SQLite's full integrity check (PRAGMA integrity_check) of the database at `path`: every page,
// index and constraint. Returns the problems found, none when the database is sound. Reads the
// whole file, so it takes a while on a large store.
Result<std::vector<std::string>> CheckSqliteIntegrity(const std::string& path);

}  // namespace coffer
