// What the store's views need of a SQL database, so that one set of views (store/sql/) runs on
// every engine: a connection that prepares statements, and a bound statement being stepped.
// The SQLite driver (store/sqlite/) and the PostgreSQL driver (store/postgres/) implement it.
//
// Statements are written once, in the SQL both engines accept: `?` parameters (the PostgreSQL
// driver numbers them), UPSERTs as `INSERT ... ON CONFLICT (...) DO UPDATE/NOTHING`, generated
// ids by `RETURNING id`, COALESCE, and a CAST where a parameter's type cannot be inferred from
// a column. The tables themselves are each engine's (types, triggers): store/*/schema.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/enum_names.h"
#include "core/status.h"

namespace coffer::sql {

// A prepared statement with its bindings and, while stepped, its current row. Owned by its
// connection; one Query at a time uses it.
class Statement {
 public:
  virtual ~Statement() = default;
  // Parameters are numbered from 1.
  virtual void BindText(int i, std::string_view s) = 0;
  virtual void BindBlob(int i, std::string_view s) = 0;
  virtual void BindInt(int i, int64_t v) = 0;
  virtual void BindNull(int i) = 0;
  // Runs the statement on the first call and moves to the next row: true when one is
  // available, false at the end or on an error (`*error` set).
  virtual bool Step(Status* error) = 0;
  // The current row's columns, numbered from 0.
  virtual bool IsNull(int col) const = 0;
  virtual std::string Text(int col) const = 0;
  virtual std::string Blob(int col) const = 0;
  virtual int64_t Int(int col) const = 0;
  virtual std::string ColumnName(int col) const = 0;
  // Rows the last run changed (an INSERT, UPDATE or DELETE).
  virtual int64_t Changes() const = 0;
  // Ends the run and clears the bindings.
  virtual void Reset() = 0;
};

// One connection with a cache of prepared statements keyed by their SQL text's address
// (statement texts are literals in static storage). Not thread-safe: one thread at a time.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual Status Exec(const char* sql) = 0;
  // The cached statement for `sql`, reset and with no bindings.
  virtual Result<Statement*> Prepare(const char* sql) = 0;
};

// A bound statement being stepped; resets itself when done.
class Query {
 public:
  explicit Query(Statement* stmt) : stmt_(stmt) {}
  ~Query() { stmt_->Reset(); }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  Query& Bind(int i, std::string_view s) {
    stmt_->BindText(i, s);
    return *this;
  }
  Query& Bind(int i, const std::string& s) { return Bind(i, std::string_view(s)); }
  Query& BindBlob(int i, std::string_view s) {
    stmt_->BindBlob(i, s);
    return *this;
  }
  Query& Bind(int i, int64_t v) {
    stmt_->BindInt(i, v);
    return *this;
  }
  Query& Bind(int i, const std::optional<std::string>& s) {
    if (s) return Bind(i, std::string_view(*s));
    stmt_->BindNull(i);
    return *this;
  }
  Query& Bind(int i, const std::optional<int64_t>& v) {
    if (v) return Bind(i, *v);
    stmt_->BindNull(i);
    return *this;
  }

  // True when a row is available; false at the end. Errors are reported through status().
  bool Step() { return status_.ok() && stmt_->Step(&status_); }
  Status Run() {
    while (Step()) {
    }
    return status_;
  }
  const Status& status() const { return status_; }
  int64_t Changes() const { return stmt_->Changes(); }

  std::string Text(int col) const { return stmt_->Text(col); }
  std::string Blob(int col) const { return stmt_->Blob(col); }
  std::optional<std::string> OptText(int col) const {
    if (stmt_->IsNull(col)) return std::nullopt;
    return Text(col);
  }
  // An enum-like column: the value its text names in `table`. Text no table entry names (a
  // database written by hand or by a newer coffer) reads as the table's first value and makes
  // status() InternalFailure, which every reader checks before using a row.
  template <typename Enum, size_t N>
  Enum Named(int col, const EnumName<Enum> (&table)[N]) const {
    if (auto value = ValueNamed(table, Text(col))) return *value;
    if (status_.ok()) {
      status_ = Status(
          ErrorCode::kInternalFailure,
          "the database holds a value coffer does not know in column " + stmt_->ColumnName(col));
    }
    return table[0].value;
  }
  int64_t Int(int col) const { return stmt_->Int(col); }
  std::optional<int64_t> OptInt(int col) const {
    if (stmt_->IsNull(col)) return std::nullopt;
    return Int(col);
  }

 private:
  Statement* stmt_;
  mutable Status status_;  // mutable: Named() records a bad value while reading a row
};

#define COFFER_QUERY(var, conn, statement_text)                                                  \
  COFFER_ASSIGN_OR_RETURN(::coffer::sql::Statement* var##_stmt, (conn).Prepare(statement_text)); \
  ::coffer::sql::Query var(var##_stmt)

}  // namespace coffer::sql
