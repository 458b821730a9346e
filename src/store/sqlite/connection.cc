#include "store/sqlite/connection.h"

namespace coffer::sqlite {

bool IsStorageFault(int extended_code) {
  const int primary = extended_code & 0xff;
  return primary == SQLITE_FULL || primary == SQLITE_IOERR || primary == SQLITE_READONLY ||
         primary == SQLITE_CANTOPEN;
}

Status SqlError(sqlite3* db, std::string_view what) {
  const std::string detail = db ? sqlite3_errmsg(db) : "out of memory";
  if (db != nullptr && IsStorageFault(sqlite3_extended_errcode(db))) {
    return Status(
        ErrorCode::kServiceUnavailable,
        "coffer cannot use its store (" + detail + "); the request was not applied. Retry later.");
  }
  return Status(ErrorCode::kInternalFailure, "store: " + std::string(what) + ": " + detail);
}

Connection::~Connection() {
  statements_.clear();  // finalized before the database is closed
  sqlite3_close_v2(db_);
}

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path) {
  auto conn = std::unique_ptr<Connection>(new Connection());
  int rc =
      sqlite3_open_v2(path.c_str(), &conn->db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) return SqlError(conn->db_, "open " + path);
  sqlite3_busy_timeout(conn->db_, 10000);
  // Reads through a memory map (no copy and no syscall per page) and a 16 MiB page cache per
  // connection keep a page of a large listing nearly as cheap as a page of a small one.
  COFFER_RETURN_IF_ERROR(
      conn->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
                 "PRAGMA mmap_size=1073741824; PRAGMA cache_size=-16384;"));
  return conn;
}

Status Connection::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown";
    sqlite3_free(err);
    if (IsStorageFault(sqlite3_extended_errcode(db_))) return SqlError(db_, "exec");
    return Status(ErrorCode::kInternalFailure, "store: " + msg);
  }
  return Status::Ok();
}

Result<sql::Statement*> Connection::Prepare(const char* sql) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) {
    it->second->Reset();
    return it->second.get();
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
    return SqlError(db_, "prepare");
  }
  auto owned = std::make_unique<Statement>(db_, stmt);
  sql::Statement* out = owned.get();
  statements_.emplace(sql, std::move(owned));
  return out;
}

}  // namespace coffer::sqlite
