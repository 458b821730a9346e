// The SQLite driver (store/sql/driver.h): a connection with its prepared-statement cache, and
// how SQLite's errors become coffer's.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/status.h"
#include "store/sql/driver.h"

namespace coffer::sqlite {

// True when the disk, not the request, is at fault: a full or read-only file system, or I/O
// errors.
bool IsStorageFault(int extended_code);

// Storage faults are ServiceUnavailable (503), as an AWS endpoint that cannot take a request
// answers; SDKs retry them. The message names the cause, never request content.
Status SqlError(sqlite3* db, std::string_view what);

// A prepared SQLite statement.
class Statement final : public sql::Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement() override { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  void BindText(int i, std::string_view s) override {
    sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }
  void BindBlob(int i, std::string_view s) override {
    sqlite3_bind_blob(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }
  void BindInt(int i, int64_t v) override { sqlite3_bind_int64(stmt_, i, v); }
  void BindNull(int i) override { sqlite3_bind_null(stmt_, i); }
  bool Step(Status* error) override {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) *error = SqlError(db_, "step");
    return false;
  }
  bool IsNull(int col) const override { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string Text(int col) const override {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))) : "";
  }
  std::string Blob(int col) const override {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))) : "";
  }
  int64_t Int(int col) const override { return sqlite3_column_int64(stmt_, col); }
  std::string ColumnName(int col) const override { return sqlite3_column_name(stmt_, col); }
  int64_t Changes() const override { return sqlite3_changes64(db_); }
  void Reset() override {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

// One SQLite connection with a cache of prepared statements keyed by their SQL text's address
// (statement texts are literals in static storage). Not thread-safe: one thread at a time.
class Connection final : public sql::Connection {
 public:
  // Opens or creates the database: WAL journal, synchronous=FULL, foreign keys, a memory map and
  // a 16 MiB page cache.
  static Result<std::unique_ptr<Connection>> Open(const std::string& path);
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Status Exec(const char* sql) override;
  Result<sql::Statement*> Prepare(const char* sql) override;

  sqlite3* db() { return db_; }

 private:
  Connection() = default;
  sqlite3* db_ = nullptr;
  std::unordered_map<const char*, std::unique_ptr<Statement>> statements_;
};

using sql::Query;

}  // namespace coffer::sqlite
