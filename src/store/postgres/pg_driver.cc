#include "store/postgres/pg_driver.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>

namespace coffer::postgres {

std::string NumberParameters(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  char quote = 0;
  for (size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (quote != 0) {
      if (c == quote) quote = 0;  // a doubled quote closes and reopens: same result
      out.push_back(c);
    } else if (c == '\'' || c == '"') {
      quote = c;
      out.push_back(c);
    } else if (c == '?' && i + 1 < sql.size() &&
               std::isdigit(static_cast<unsigned char>(sql[i + 1]))) {
      out.push_back('$');  // ?NNN, SQLite's numbered parameter, is PostgreSQL's $NNN
    } else if (c == '?') {
      out += "$" + std::to_string(++n);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

namespace {

int CountParameters(std::string_view numbered) {
  int max = 0;
  for (size_t i = 0; i + 1 < numbered.size(); ++i) {
    if (numbered[i] == '$' && std::isdigit(static_cast<unsigned char>(numbered[i + 1]))) {
      max = std::max(max, std::atoi(numbered.data() + i + 1));
    }
  }
  return max;
}

}  // namespace

Statement::Statement(Connection* conn, std::string name, int params)
    : conn_(conn), name_(std::move(name)), values_(params), formats_(params, 0) {}

Statement::~Statement() {
  if (result_ != nullptr) PQclear(result_);
}

void Statement::BindText(int i, std::string_view s) {
  values_[i - 1] = std::string(s);
  formats_[i - 1] = 0;
}
void Statement::BindBlob(int i, std::string_view s) {
  values_[i - 1] = std::string(s);
  formats_[i - 1] = 1;  // binary: bytea as it is
}
void Statement::BindInt(int i, int64_t v) {
  values_[i - 1] = std::to_string(v);
  formats_[i - 1] = 0;
}
void Statement::BindNull(int i) { values_[i - 1].reset(); }

bool Statement::Step(Status* error) {
  if (result_ == nullptr) {
    std::vector<const char*> values(values_.size());
    std::vector<int> lengths(values_.size());
    for (size_t i = 0; i < values_.size(); ++i) {
      values[i] = values_[i] ? values_[i]->data() : nullptr;
      lengths[i] = values_[i] ? static_cast<int>(values_[i]->size()) : 0;
    }
    result_ = PQexecPrepared(conn_->raw(), name_.c_str(), static_cast<int>(values.size()),
                             values.data(), lengths.data(), formats_.data(), /*resultFormat=*/0);
    const ExecStatusType status = PQresultStatus(result_);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
      *error = conn_->ErrorOf(result_, "statement");
      row_ = 0;
      PQclear(result_);
      result_ = PQmakeEmptyPGresult(conn_->raw(), PGRES_COMMAND_OK);
      return false;
    }
    row_ = -1;
  }
  ++row_;
  return row_ < PQntuples(result_);
}

bool Statement::IsNull(int col) const { return PQgetisnull(result_, row_, col) == 1; }

std::string Statement::Text(int col) const {
  return std::string(PQgetvalue(result_, row_, col),
                     static_cast<size_t>(PQgetlength(result_, row_, col)));
}

std::string Statement::Blob(int col) const {
  if (IsNull(col)) return {};
  size_t n = 0;
  unsigned char* bytes =
      PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(result_, row_, col)), &n);
  if (bytes == nullptr) return {};
  std::string out(reinterpret_cast<const char*>(bytes), n);
  PQfreemem(bytes);
  return out;
}

int64_t Statement::Int(int col) const {
  const char* v = PQgetvalue(result_, row_, col);
  // A boolean expression reads as SQLite's 1 or 0.
  if (std::strcmp(v, "t") == 0) return 1;
  if (std::strcmp(v, "f") == 0) return 0;
  return std::strtoll(v, nullptr, 10);
}

std::string Statement::ColumnName(int col) const { return PQfname(result_, col); }

int64_t Statement::Changes() const {
  return result_ == nullptr ? 0 : std::strtoll(PQcmdTuples(result_), nullptr, 10);
}

void Statement::Reset() {
  if (result_ != nullptr) PQclear(result_);
  result_ = nullptr;
  row_ = -1;
  for (auto& v : values_) v.reset();
}

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& url,
                                                     int statement_timeout_ms) {
  auto conn = std::unique_ptr<Connection>(new Connection());
  // A database host that does not answer would otherwise hold a request for the operating
  // system's TCP timeout (minutes): 5 s unless the URL says otherwise (its own connect_timeout,
  // expanded after ours, wins).
  const char* keywords[] = {"connect_timeout", "dbname", nullptr};
  const char* values[] = {"5", url.c_str(), nullptr};
  conn->conn_ = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (conn->conn_ == nullptr || PQstatus(conn->conn_) != CONNECTION_OK) {
    std::string why = conn->conn_ ? PQerrorMessage(conn->conn_) : "out of memory";
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    return Status(ErrorCode::kServiceUnavailable,
                  "coffer cannot reach its PostgreSQL store (" + why + "). Retry later.");
  }
  // Notices (e.g. "relation already exists, skipping") are not coffer's to print.
  PQsetNoticeProcessor(
      conn->conn_, [](void*, const char*) {}, nullptr);
  const std::string settings = "SET statement_timeout = " + std::to_string(statement_timeout_ms) +
                               "; SET client_min_messages = warning";
  COFFER_RETURN_IF_ERROR(conn->Exec(settings.c_str()));
  return conn;
}

Connection::~Connection() {
  statements_.clear();
  if (conn_ != nullptr) PQfinish(conn_);
}

bool Connection::healthy() const { return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK; }

Status Connection::ErrorOf(const PGresult* result, std::string_view what) {
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  // The primary message only: the detail can quote the values of a row.
  const char* primary = result ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string message = primary ? primary : PQerrorMessage(conn_);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
    message.pop_back();
  }
  const std::string code = state ? state : "";
  if (code == "40001" || code == "40P01") {
    last_failure_ = PgFailure::kRetry;
    return Status(ErrorCode::kServiceUnavailable,
                  "coffer's store had a conflicting write; retry the request.");
  }
  // Connection lost (08), out of resources such as a full disk (53), shutting down (57P0x),
  // a statement that ran past the timeout (57014), a read-only server (25006).
  if (!healthy() || code.rfind("08", 0) == 0 || code.rfind("53", 0) == 0 ||
      code.rfind("57", 0) == 0 || code == "25006") {
    last_failure_ = PgFailure::kUnavailable;
    return Status(ErrorCode::kServiceUnavailable,
                  "coffer cannot use its PostgreSQL store (" + message +
                      "); the request was not applied. Retry later.");
  }
  last_failure_ = PgFailure::kOther;
  return Status(ErrorCode::kInternalFailure, "store: " + std::string(what) + ": " + message);
}

Status Connection::Exec(const char* sql) {
  PGresult* result = PQexec(conn_, sql);
  const ExecStatusType status = PQresultStatus(result);
  Status out = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK ? Status::Ok()
                                                                       : ErrorOf(result, "exec");
  PQclear(result);
  return out;
}

Result<sql::Statement*> Connection::Prepare(const char* sql) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) {
    it->second->Reset();
    return it->second.get();
  }
  const std::string numbered = NumberParameters(sql);
  const std::string name = "coffer_" + std::to_string(next_statement_++);
  PGresult* result = PQprepare(conn_, name.c_str(), numbered.c_str(), 0, nullptr);
  if (PQresultStatus(result) != PGRES_COMMAND_OK) {
    Status s = ErrorOf(result, "prepare");
    PQclear(result);
    return s;
  }
  PQclear(result);
  auto owned = std::make_unique<Statement>(this, name, CountParameters(numbered));
  sql::Statement* out = owned.get();
  statements_.emplace(sql, std::move(owned));
  return out;
}

}  // namespace coffer::postgres
