// PostgreSQL implementation of Store: for deployments whose store must outlive a machine (RDS,
// Aurora, Cloud SQL, Patroni). The same views as the SQLite engine (store/sql/), over libpq.
//
// Isolation: a Write runs SERIALIZABLE, so the invariants the services check inside one write
// (an idempotency token seen once, a staging label on one version, version limits, tier counts)
// hold against writers on other connections too; a transaction PostgreSQL cannot serialize
// (SQLSTATE 40001, or a deadlock) is rolled back and its function run again, up to 8 times with
// a growing pause. A Read is a REPEATABLE READ, READ ONLY snapshot. Within one process writes
// are also serialised by a mutex, as in SQLite, so retries come only from other processes.
// Several nodes: every write (but a Coordinate) also adds one to a row of change counts in its
// own transaction; Changes() reads that row, so a node's caches see every node's writes.
// Connections: one writer and a pool of readers, connected on demand and dropped when broken (a
// restarted database is reconnected to by the next call; calls while it is down answer
// ServiceUnavailable, which SDKs retry). Every statement has a timeout.
#pragma once

#include <memory>
#include <string>

#include "store/store.h"

namespace coffer {

struct PostgresStoreOptions {
  // libpq's connection URL or key=value string (postgresql://user:pass@host:5432/db?sslmode=
  // verify-full&sslrootcert=...): TLS, certificates and timeouts as libpq documents them.
  std::string url;
  int statement_timeout_ms = 10000;
  // Reader connections kept open (more are opened when more reads run at once): enough for the
  // I/O threads a PostgreSQL store gets by default (4 per core) and the background jobs.
  int max_idle_readers = 16;
};

// Connects, migrates the schema to the current version and returns the store. Errors:
// ServiceUnavailable when the database cannot be reached; InternalFailure when its schema is
// from a newer coffer.
Result<std::unique_ptr<Store>> OpenPostgresStore(const PostgresStoreOptions& options);

// Whether `text` names a PostgreSQL store (postgresql:// or postgres://).
bool IsPostgresUrl(const std::string& text);

// `url` without its password, for messages and logs.
std::string RedactPostgresUrl(const std::string& url);

}  // namespace coffer
