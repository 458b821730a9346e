// The SQLite engine's plumbing: a connection with its prepared-statement cache, a bound
// statement being stepped, and how SQLite's errors become coffer's.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/enum_names.h"
#include "core/status.h"

namespace coffer::sqlite {

// True when the disk, not the request, is at fault: a full or read-only file system, or I/O
// errors.
bool IsStorageFault(int extended_code);

// Storage faults are ServiceUnavailable (503), as an AWS endpoint that cannot take a request
// answers; SDKs retry them. The message names the cause, never request content.
Status SqlError(sqlite3* db, std::string_view what);

// One SQLite connection with a cache of prepared statements keyed by their SQL text's address
// (statement texts are literals in static storage). Not thread-safe: one thread at a time.
class Connection {
 public:
  // Opens or creates the database: WAL journal, synchronous=FULL, foreign keys, a memory map and
  // a 16 MiB page cache.
  static Result<std::unique_ptr<Connection>> Open(const std::string& path);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Status Exec(const char* sql);
  // The cached statement for `sql`, reset and with no bindings.
  Result<sqlite3_stmt*> Prepare(const char* sql);

  sqlite3* db() { return db_; }

 private:
  Connection() = default;
  sqlite3* db_ = nullptr;
  std::unordered_map<const char*, sqlite3_stmt*> statements_;
};

// A bound statement being stepped; resets itself when done.
class Query {
 public:
  Query(Connection& conn, sqlite3_stmt* stmt) : conn_(conn), stmt_(stmt) {}
  ~Query() { sqlite3_reset(stmt_); }

  Query& Bind(int i, std::string_view s) {
    sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Query& Bind(int i, const std::string& s) { return Bind(i, std::string_view(s)); }
  Query& BindBlob(int i, std::string_view s) {
    sqlite3_bind_blob(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Query& Bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Query& Bind(int i, const std::optional<std::string>& s) {
    if (s) return Bind(i, std::string_view(*s));
    sqlite3_bind_null(stmt_, i);
    return *this;
  }
  Query& Bind(int i, const std::optional<int64_t>& v) {
    if (v) return Bind(i, *v);
    sqlite3_bind_null(stmt_, i);
    return *this;
  }

  // True when a row is available; false at the end. Errors are reported through status().
  bool Step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) status_ = SqlError(conn_.db(), "step");
    return false;
  }
  Status Run() {
    while (Step()) {
    }
    return status_;
  }
  const Status& status() const { return status_; }

  std::string Text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))) : "";
  }
  std::string Blob(int col) const {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))) : "";
  }
  std::optional<std::string> OptText(int col) const {
    if (sqlite3_column_type(stmt_, col) == SQLITE_NULL) return std::nullopt;
    return Text(col);
  }
  // An enum-like column: the value its text names in `table`. Text no table entry names (a
  // database written by hand or by a newer coffer) reads as the table's first value and makes
  // status() InternalFailure, which every reader checks before using a row.
  template <typename Enum, size_t N>
  Enum Named(int col, const EnumName<Enum> (&table)[N]) const {
    if (auto value = ValueNamed(table, Text(col))) return *value;
    if (status_.ok()) {
      status_ = Status(ErrorCode::kInternalFailure,
                       std::string("the database holds a value coffer does not know in column ") +
                           sqlite3_column_name(stmt_, col));
    }
    return table[0].value;
  }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::optional<int64_t> OptInt(int col) const {
    if (sqlite3_column_type(stmt_, col) == SQLITE_NULL) return std::nullopt;
    return Int(col);
  }

 private:
  Connection& conn_;
  sqlite3_stmt* stmt_;
  mutable Status status_;  // mutable: Named() records a bad value while reading a row
};

#define COFFER_QUERY(var, conn, sql)                                      \
  COFFER_ASSIGN_OR_RETURN(sqlite3_stmt* var##_stmt, (conn).Prepare(sql)); \
  Query var(conn, var##_stmt)

}  // namespace coffer::sqlite
