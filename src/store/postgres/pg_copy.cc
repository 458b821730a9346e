#include "store/postgres/pg_copy.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <vector>

#include "store/postgres/pg_driver.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"

namespace coffer::postgres {
namespace {

// PostgreSQL's type oids of the columns coffer's tables use.
constexpr Oid kInt8 = 20, kInt2 = 21, kInt4 = 23, kBytea = 17;
// Rows fetched from a cursor at a time.
constexpr int kFetchRows = 5000;

Status SqliteFailure(sqlite3* db, const std::string& what) {
  return Status(ErrorCode::kInternalFailure,
                what + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

struct SqliteHandle {
  sqlite3* db = nullptr;
  ~SqliteHandle() { sqlite3_close(db); }
};

// The tables to copy, in the order their migrations made them (so a table comes after the ones
// its foreign keys name). The tier counts are the triggers' to rebuild; the nodes, their job
// leases and signal counts (store/cluster.h) belong to the processes serving a store, not to its
// contents.
Result<std::vector<std::string>> TablesOf(sqlite3* db) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db,
                         "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE "
                         "'sqlite_%' AND name NOT IN ('parameter_tier_counts', 'cluster_nodes', "
                         "'job_leases', 'node_signal_counts') ORDER BY rowid",
                         -1, &stmt, nullptr) != SQLITE_OK) {
    return SqliteFailure(db, "list tables");
  }
  std::vector<std::string> tables;
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    tables.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
  }
  sqlite3_finalize(stmt);
  return tables;
}

// "?, ?, ..., ?": n of them.
std::string Placeholders(int n) {
  std::string out;
  for (int i = 1; i <= n; ++i) out += i > 1 ? ", ?" : "?";
  return out;
}

// Copies one PostgreSQL table into the SQLite table of the same name, a cursor's page at a time.
Status CopyTableOut(Connection& pg, sqlite3* db, const std::string& table) {
  COFFER_RETURN_IF_ERROR(
      pg.Exec(("DECLARE coffer_copy NO SCROLL CURSOR FOR SELECT * FROM " + table).c_str()));
  sqlite3_stmt* insert = nullptr;
  Status status = Status::Ok();
  for (;;) {
    PGresult* page =
        PQexec(pg.raw(), ("FETCH " + std::to_string(kFetchRows) + " FROM coffer_copy").c_str());
    if (PQresultStatus(page) != PGRES_TUPLES_OK) {
      status = pg.ErrorOf(page, "copy " + table);
      PQclear(page);
      break;
    }
    const int rows = PQntuples(page), cols = PQnfields(page);
    if (insert == nullptr && rows > 0) {
      std::string columns;
      for (int c = 0; c < cols; ++c) columns += (c ? ", " : "") + std::string(PQfname(page, c));
      const std::string sql =
          "INSERT INTO " + table + " (" + columns + ") VALUES (" + Placeholders(cols) + ")";
      if (sqlite3_prepare_v2(db, sql.c_str(), -1, &insert, nullptr) != SQLITE_OK) {
        status = SqliteFailure(db, "copy " + table);
        PQclear(page);
        break;
      }
    }
    for (int r = 0; r < rows && status.ok(); ++r) {
      sqlite3_reset(insert);
      for (int c = 0; c < cols; ++c) {
        if (PQgetisnull(page, r, c)) {
          sqlite3_bind_null(insert, c + 1);
          continue;
        }
        const char* text = PQgetvalue(page, r, c);
        const Oid type = PQftype(page, c);
        if (type == kInt8 || type == kInt4 || type == kInt2) {
          sqlite3_bind_int64(insert, c + 1, std::strtoll(text, nullptr, 10));
        } else if (type == kBytea) {
          size_t n = 0;
          unsigned char* bytes = PQunescapeBytea(reinterpret_cast<const unsigned char*>(text), &n);
          sqlite3_bind_blob(insert, c + 1, bytes, static_cast<int>(n), SQLITE_TRANSIENT);
          PQfreemem(bytes);
        } else {
          sqlite3_bind_text(insert, c + 1, text, PQgetlength(page, r, c), SQLITE_TRANSIENT);
        }
      }
      if (sqlite3_step(insert) != SQLITE_DONE) status = SqliteFailure(db, "copy " + table);
    }
    PQclear(page);
    if (!status.ok() || rows < kFetchRows) break;
  }
  sqlite3_finalize(insert);
  Status closed = pg.Exec("CLOSE coffer_copy");
  return status.ok() ? closed : status;
}

// One SQLite cell as a PostgreSQL parameter: text, or binary for a blob; null when absent.
struct Cell {
  bool null = true;
  int format = 0;
  std::string bytes;
};

// Inserts `rows` rows of `cells` (row-major) into `table` with one statement.
Status InsertRows(Connection& pg, const std::string& table, const std::string& columns, int cols,
                  int rows, const std::vector<Cell>& cells) {
  std::string sql = "INSERT INTO " + table + " (" + columns + ") VALUES ";
  std::vector<const char*> values(rows * cols);
  std::vector<int> lengths(rows * cols), formats(rows * cols);
  for (int r = 0; r < rows; ++r) {
    sql += r ? ", (" : "(";
    for (int c = 0; c < cols; ++c) {
      const int i = r * cols + c;
      sql += (c ? ", $" : "$") + std::to_string(i + 1);
      values[i] = cells[i].null ? nullptr : cells[i].bytes.data();
      lengths[i] = static_cast<int>(cells[i].bytes.size());
      formats[i] = cells[i].format;
    }
    sql += ")";
  }
  PGresult* result = PQexecParams(pg.raw(), sql.c_str(), rows * cols, nullptr, values.data(),
                                  lengths.data(), formats.data(), 0);
  Status s = PQresultStatus(result) == PGRES_COMMAND_OK ? Status::Ok()
                                                        : pg.ErrorOf(result, "copy " + table);
  PQclear(result);
  return s;
}

// Copies one SQLite table into the PostgreSQL table of the same name, many rows per statement
// (one round trip each).
Status CopyTableIn(sqlite3* db, Connection& pg, const std::string& table) {
  sqlite3_stmt* select = nullptr;
  if (sqlite3_prepare_v2(db, ("SELECT * FROM " + table).c_str(), -1, &select, nullptr) !=
      SQLITE_OK) {
    return SqliteFailure(db, "copy " + table);
  }
  const int cols = sqlite3_column_count(select);
  std::string columns;
  for (int c = 0; c < cols; ++c) {
    columns += (c ? ", " : "") + std::string(sqlite3_column_name(select, c));
  }
  // PostgreSQL takes at most 65,535 parameters a statement.
  const int batch = std::max(1, std::min(500, 30000 / std::max(1, cols)));
  std::vector<Cell> cells;
  cells.reserve(static_cast<size_t>(batch * cols));
  int rows = 0;
  Status s = Status::Ok();
  while (s.ok() && sqlite3_step(select) == SQLITE_ROW) {
    for (int c = 0; c < cols; ++c) {
      Cell cell;
      const int type = sqlite3_column_type(select, c);
      if (type != SQLITE_NULL) {
        cell.null = false;
        cell.format = type == SQLITE_BLOB ? 1 : 0;
        const void* p = type == SQLITE_BLOB
                            ? sqlite3_column_blob(select, c)
                            : static_cast<const void*>(sqlite3_column_text(select, c));
        cell.bytes.assign(static_cast<const char*>(p ? p : ""),
                          static_cast<size_t>(sqlite3_column_bytes(select, c)));
      }
      cells.push_back(std::move(cell));
    }
    if (++rows == batch) {
      s = InsertRows(pg, table, columns, cols, rows, cells);
      cells.clear();
      rows = 0;
    }
  }
  if (s.ok() && rows > 0) s = InsertRows(pg, table, columns, cols, rows, cells);
  sqlite3_finalize(select);
  return s;
}

}  // namespace

Result<StoreSnapshotInfo> SnapshotPostgresToSqlite(const std::string& url,
                                                   const std::string& sqlite_path) {
  {
    // A new SQLite store: its tables, triggers and schema version.
    COFFER_ASSIGN_OR_RETURN(auto made, OpenSqliteStore(sqlite_path));
  }
  auto fail = [&](Status s) -> Status {
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((sqlite_path + suffix).c_str());
    return s;
  };
  SqliteHandle out;
  if (sqlite3_open(sqlite_path.c_str(), &out.db) != SQLITE_OK ||
      sqlite3_exec(out.db, "PRAGMA foreign_keys = OFF; BEGIN", nullptr, nullptr, nullptr) !=
          SQLITE_OK) {
    return fail(SqliteFailure(out.db, "open " + sqlite_path));
  }
  auto tables = TablesOf(out.db);
  if (!tables.ok()) return fail(tables.status());
  auto pg = Connection::Open(url, /*statement_timeout_ms=*/0);
  if (!pg.ok()) return fail(pg.status());
  Status s = (*pg)->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  for (const std::string& table : *tables) {
    if (!s.ok()) break;
    s = CopyTableOut(**pg, out.db, table);
  }
  if (s.ok()) (void)(*pg)->Exec("COMMIT");
  if (s.ok() && sqlite3_exec(out.db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    s = SqliteFailure(out.db, "commit " + sqlite_path);
  }
  sqlite3_close(out.db);
  out.db = nullptr;
  if (!s.ok()) return fail(s);
  auto info = DescribeSqliteSnapshot(sqlite_path);
  if (!info.ok()) return fail(info.status());
  return info;
}

Status RestoreSqliteToPostgres(const std::string& sqlite_path, const std::string& url) {
  {
    PostgresStoreOptions options;
    options.url = url;
    COFFER_ASSIGN_OR_RETURN(auto store, OpenPostgresStore(options));  // makes the tables
    std::optional<std::string> account;
    COFFER_RETURN_IF_ERROR(store->Read([&](StoreReader& r) -> Status {
      COFFER_ASSIGN_OR_RETURN(account, r.deployment().GetMeta("account_id"));
      return Status::Ok();
    }));
    if (account) {
      return Status(ErrorCode::kFailedPrecondition,
                    "the PostgreSQL store already holds a deployment (account " + *account +
                        "): a backup is restored only into an empty one");
    }
  }
  SqliteHandle in;
  if (sqlite3_open_v2(sqlite_path.c_str(), &in.db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    return SqliteFailure(in.db, "open " + sqlite_path);
  }
  COFFER_ASSIGN_OR_RETURN(auto tables, TablesOf(in.db));
  COFFER_ASSIGN_OR_RETURN(auto pg, Connection::Open(url, /*statement_timeout_ms=*/0));
  COFFER_RETURN_IF_ERROR(pg->Exec("BEGIN"));
  Status s = Status::Ok();
  for (const std::string& table : tables) {
    s = CopyTableIn(in.db, *pg, table);
    if (!s.ok()) break;
  }
  // Identity columns were given their ids: their sequences continue after the largest.
  for (const char* table :
       {"secrets", "parameters", "events", "alarm_history", "notification_outbox"}) {
    if (!s.ok()) break;
    const std::string t = table;
    s = pg->Exec(("SELECT setval(pg_get_serial_sequence('" + t +
                  "', 'id'), COALESCE((SELECT "
                  "MAX(id) FROM " +
                  t + "), 0) + 1, false)")
                     .c_str());
  }
  if (!s.ok()) {
    (void)pg->Exec("ROLLBACK");
    return s;
  }
  return pg->Exec("COMMIT");
}

}  // namespace coffer::postgres
