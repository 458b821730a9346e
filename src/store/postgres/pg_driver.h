// The PostgreSQL driver (store/sql/driver.h) over libpq: prepared statements on one connection,
// and how PostgreSQL's errors become coffer's.
//
// Statements are written with `?` parameters; the driver numbers them ($1, $2, ...) once, when it
// prepares them. Parameters go as text, except blobs, which go as binary (bytea); results come
// as text (bytea unescaped by Blob()).
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "store/sql/driver.h"

namespace coffer::postgres {

// `sql` with each `?` outside quotes replaced by $1, $2, ...
std::string NumberParameters(std::string_view sql);

// What an error from the database means for the caller.
enum class PgFailure {
  kNone,
  kRetry,        // serialization failure or deadlock: run the whole transaction again
  kUnavailable,  // the connection or the server is gone, full or too slow: ServiceUnavailable
  kOther,        // a bug or a constraint: InternalFailure
};

class Connection;

class Statement final : public sql::Statement {
 public:
  Statement(Connection* conn, std::string name, int params);
  ~Statement() override;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  void BindText(int i, std::string_view s) override;
  void BindBlob(int i, std::string_view s) override;
  void BindInt(int i, int64_t v) override;
  void BindNull(int i) override;
  bool Step(Status* error) override;
  bool IsNull(int col) const override;
  std::string Text(int col) const override;
  std::string Blob(int col) const override;
  int64_t Int(int col) const override;
  std::string ColumnName(int col) const override;
  int64_t Changes() const override;
  void Reset() override;

 private:
  Connection* conn_;
  std::string name_;
  std::vector<std::optional<std::string>> values_;
  std::vector<int> formats_;
  PGresult* result_ = nullptr;
  int row_ = -1;
};

// One connection to the database with its prepared statements. Not thread-safe.
class Connection final : public sql::Connection {
 public:
  // Connects (libpq's URL or key=value string: sslmode=verify-full and the rest work as libpq
  // documents them; connect_timeout is 5 s unless the URL sets it) and sets the session's
  // statement timeout. Errors: ServiceUnavailable naming the server (never the password).
  static Result<std::unique_ptr<Connection>> Open(const std::string& url, int statement_timeout_ms);
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Status Exec(const char* sql) override;
  Result<sql::Statement*> Prepare(const char* sql) override;

  PGconn* raw() { return conn_; }
  // The last error's meaning; kNone after a success.
  PgFailure last_failure() const { return last_failure_; }
  // Whether the connection can still be used (a broken one is dropped from the pool).
  bool healthy() const;
  // Turns a failed result (or a failed connection when `result` is null) into a Status, and
  // notes what it means in last_failure().
  Status ErrorOf(const PGresult* result, std::string_view what);
  void ClearFailure() { last_failure_ = PgFailure::kNone; }

 private:
  Connection() = default;
  PGconn* conn_ = nullptr;
  PgFailure last_failure_ = PgFailure::kNone;
  int next_statement_ = 0;
  std::unordered_map<const char*, std::unique_ptr<Statement>> statements_;
};

}  // namespace coffer::postgres
