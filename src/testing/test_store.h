// The store a unit test runs on: SQLite in the test's directory, or, when
// COFFER_TEST_POSTGRES_URL is set (tests/e2e/with_postgres.py runs the unit tests so), a
// PostgreSQL store in a schema of the test's own, so every test that uses this fixture checks
// both engines against the same expectations.
#pragma once

#include <libpq-fe.h>
#include <sqlite3.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "core/ids.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"

namespace coffer::test_support {

inline const char* TestPostgresUrl() {
  const char* url = std::getenv("COFFER_TEST_POSTGRES_URL");
  return url != nullptr && *url != '\0' ? url : nullptr;
}

// Runs `sql` on the test server as its superuser. Errors: InternalFailure with the server's.
inline Status RunOnTestPostgres(const std::string& sql) {
  PGconn* conn = PQconnectdb(TestPostgresUrl());
  Status out = Status::Ok();
  if (PQstatus(conn) != CONNECTION_OK) {
    out = Status(ErrorCode::kInternalFailure, PQerrorMessage(conn));
  } else {
    PQsetNoticeProcessor(
        conn, [](void*, const char*) {}, nullptr);
    PGresult* r = PQexec(conn, sql.c_str());
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
      out = Status(ErrorCode::kInternalFailure, PQresultErrorMessage(r));
    }
    PQclear(r);
  }
  PQfinish(conn);
  return out;
}

// The store OpenTestStore made, opened anew (as after a restart).
inline Result<std::unique_ptr<Store>> ReopenTestStore(const std::string& dir,
                                                      const std::string& schema) {
  if (TestPostgresUrl() == nullptr) return OpenSqliteStore(dir + "/coffer.db");
  PostgresStoreOptions options;
  options.url = std::string(TestPostgresUrl()) + "&options=-csearch_path%3D" + schema;
  return OpenPostgresStore(options);
}

// A store of the test's own: `dir`/coffer.db, or a new PostgreSQL schema (its name in
// `*schema`, for DropTestSchema).
inline Result<std::unique_ptr<Store>> OpenTestStore(const std::string& dir, std::string* schema) {
  if (TestPostgresUrl() == nullptr) return OpenSqliteStore(dir + "/coffer.db");
  *schema = "t_" + NewUuid().substr(0, 8) + NewUuid().substr(0, 8);
  for (char& c : *schema) {
    if (c == '-') c = '_';
  }
  COFFER_RETURN_IF_ERROR(RunOnTestPostgres("CREATE SCHEMA " + *schema));
  return ReopenTestStore(dir, *schema);
}

// The first column of the first row of `sql`, run on the test's store directly (beside the
// store's own views, as another program would): SQLite in `dir`, or the test's schema.
inline Result<int64_t> QueryTestStoreInt(const std::string& dir, const std::string& schema,
                                         const std::string& sql) {
  if (TestPostgresUrl() == nullptr) {
    sqlite3* db = nullptr;
    int64_t out = 0;
    Status s = Status::Ok();
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_open((dir + "/coffer.db").c_str(), &db) != SQLITE_OK ||
        sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK ||
        sqlite3_step(stmt) != SQLITE_ROW) {
      s = Status(ErrorCode::kInternalFailure, sqlite3_errmsg(db));
    } else {
      out = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    if (!s.ok()) return s;
    return out;
  }
  PGconn* conn =
      PQconnectdb((std::string(TestPostgresUrl()) + "&options=-csearch_path%3D" + schema).c_str());
  Result<int64_t> out = Status(ErrorCode::kInternalFailure, PQerrorMessage(conn));
  if (PQstatus(conn) == CONNECTION_OK) {
    PGresult* r = PQexec(conn, sql.c_str());
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) {
      out = std::strtoll(PQgetvalue(r, 0, 0), nullptr, 10);
    } else {
      out = Status(ErrorCode::kInternalFailure, PQresultErrorMessage(r));
    }
    PQclear(r);
  }
  PQfinish(conn);
  return out;
}

inline void DropTestSchema(const std::string& schema) {
  if (!schema.empty()) (void)RunOnTestPostgres("DROP SCHEMA " + schema + " CASCADE");
}

// A fixture member that drops the test's PostgreSQL schema when it goes (declare it before the
// store, so the store closes first).
struct ScopedTestSchema {
  std::string name;
  ScopedTestSchema() = default;
  ScopedTestSchema(const ScopedTestSchema&) = delete;
  ScopedTestSchema& operator=(const ScopedTestSchema&) = delete;
  ~ScopedTestSchema() { DropTestSchema(name); }
};

}  // namespace coffer::test_support
