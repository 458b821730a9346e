#include "store/sqlite/sqlite_store.h"

#include <sqlite3.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "store/sql/views.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/schema.h"
#include "store/write_health.h"

namespace coffer {
namespace sqlite {
namespace {

// A pooled SQLite connection with its views.
using SqliteTxn = sql::Transaction<Connection>;

Result<std::unique_ptr<SqliteTxn>> OpenTxn(const std::string& path) {
  COFFER_ASSIGN_OR_RETURN(auto conn, Connection::Open(path));
  return std::make_unique<SqliteTxn>(std::move(conn));
}

class SqliteStore final : public Store {
 public:
  SqliteStore(std::string path, std::unique_ptr<SqliteTxn> writer)
      : path_(std::move(path)), writer_(std::move(writer)) {}

  Status Read(const std::function<Status(StoreReader&)>& fn) override {
    std::unique_ptr<SqliteTxn> txn;
    {
      std::lock_guard<std::mutex> lock(pool_mu_);
      if (!readers_.empty()) {
        txn = std::move(readers_.back());
        readers_.pop_back();
      }
    }
    if (!txn) {
      COFFER_ASSIGN_OR_RETURN(txn, OpenTxn(path_));
    }
    Status status = txn->conn().Exec("BEGIN");
    if (status.ok()) {
      status = fn(*txn);
      Status end = txn->conn().Exec("COMMIT");  // read-only: COMMIT just ends the snapshot
      if (status.ok()) status = end;
    }
    std::lock_guard<std::mutex> lock(pool_mu_);
    readers_.push_back(std::move(txn));
    return status;
  }

  Status Coordinate(const std::function<Status(ClusterView&)>& fn) override {
    return Transact([&] { return fn(writer_->cluster()); }, nullptr);
  }

  // VACUUM INTO copies the database as one read transaction sees it (WAL: writers go on), into
  // a compact new file.
  Result<StoreSnapshotInfo> SnapshotTo(const std::string& path) override {
    COFFER_ASSIGN_OR_RETURN(auto source, Connection::Open(path_));
    {
      COFFER_QUERY(q, *source, "VACUUM INTO ?");
      q.Bind(1, path);
      q.Step();
      if (!q.status().ok()) {
        std::remove(path.c_str());
        return Status(ErrorCode::kInternalFailure, "snapshot failed: " + q.status().message());
      }
    }
    {
      // The nodes serving this store are not part of its contents (store/cluster.h).
      auto copy = Connection::Open(path);
      Status cleared = copy.ok()
                           ? (*copy)->Exec("DELETE FROM cluster_nodes; DELETE FROM job_leases; "
                                           "DELETE FROM node_signal_counts")
                           : copy.status();
      if (!cleared.ok()) {
        std::remove(path.c_str());
        return Status(ErrorCode::kInternalFailure, "snapshot failed: " + cleared.message());
      }
    }
    return DescribeSqliteSnapshot(path);
  }

  std::string WriteProblem() const override { return health_.Problem(); }
  std::string PrometheusText() const override { return health_.PrometheusText(); }

 protected:
  Status WriteCounted(const std::function<Status(StoreWriter&)>& fn, bool identity) override {
    return Transact([&] { return fn(*writer_); }, identity ? &identity_writes_ : &writes_);
  }

  // One process serves a SQLite store (the data directory's lock), so its own counts are all.
  ChangeCounts ReadChanges() const override {
    ChangeCounts counts;
    // writes_ first: the writer bumps identity_writes_ before it, so counts that include a
    // write include its identity count too.
    counts.writes = writes_.load(std::memory_order_acquire);
    counts.identity_writes = identity_writes_.load(std::memory_order_acquire);
    return counts;
  }

 private:
  // Runs fn in a write transaction and, once it committed, adds one to `count` (if any) and to
  // writes_ too when `count` is identity_writes_.
  Status Transact(const std::function<Status()>& fn, std::atomic<uint64_t>* count) {
    std::lock_guard<std::mutex> lock(write_mu_);
    changes_before_ = sqlite3_total_changes64(writer_->conn().db());
    Status begun = writer_->conn().Exec("BEGIN IMMEDIATE");
    if (!begun.ok()) return NoteWrite(begun);
    Status status = fn();
    if (!status.ok()) {
      (void)writer_->conn().Exec("ROLLBACK");
      return NoteWrite(status);
    }
    Status commit = writer_->conn().Exec("COMMIT");
    if (!commit.ok()) {
      (void)writer_->conn().Exec("ROLLBACK");
    } else if (count != nullptr) {
      // identity_writes_ first: a reader that sees the new writes_ sees it too (ReadChanges).
      count->fetch_add(1, std::memory_order_release);
      if (count != &writes_) writes_.fetch_add(1, std::memory_order_release);
      Committed();
    }
    return NoteWrite(commit);
  }

  // Only a commit that wrote something proves the store writes again (an empty one does not
  // touch the disk).
  Status NoteWrite(Status status) {
    return health_.Note(std::move(status),
                        sqlite3_total_changes64(writer_->conn().db()) != changes_before_);
  }

  std::string path_;
  std::mutex write_mu_;
  std::unique_ptr<SqliteTxn> writer_;  // the one writer connection
  std::atomic<uint64_t> writes_{0};
  std::atomic<uint64_t> identity_writes_{0};
  int64_t changes_before_ = 0;  // under write_mu_
  WriteHealth health_;
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<SqliteTxn>> readers_;  // idle reader connections
};

}  // namespace
}  // namespace sqlite

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path) {
  COFFER_ASSIGN_OR_RETURN(auto writer, sqlite::OpenTxn(path));
  COFFER_RETURN_IF_ERROR(sqlite::Migrate(writer->conn()));
  return std::unique_ptr<Store>(new sqlite::SqliteStore(path, std::move(writer)));
}

Result<StoreSnapshotInfo> DescribeSqliteSnapshot(const std::string& path) {
  COFFER_ASSIGN_OR_RETURN(auto copy, sqlite::Connection::Open(path));
  StoreSnapshotInfo info;
  info.engine = "sqlite";
  auto count = [&](const char* sql) -> Result<int64_t> {
    COFFER_QUERY(q, *copy, sql);
    const int64_t n = q.Step() ? q.Int(0) : 0;
    COFFER_RETURN_IF_ERROR(q.status());
    return n;
  };
  COFFER_ASSIGN_OR_RETURN(const int64_t version, count("PRAGMA user_version"));
  info.schema_version = static_cast<int>(version);
  COFFER_ASSIGN_OR_RETURN(info.secrets, count("SELECT COUNT(*) FROM secrets"));
  COFFER_ASSIGN_OR_RETURN(info.parameters, count("SELECT COUNT(*) FROM parameters"));
  return info;
}

Result<std::vector<std::string>> CheckSqliteIntegrity(const std::string& path) {
  COFFER_ASSIGN_OR_RETURN(auto conn, sqlite::Connection::Open(path));
  COFFER_QUERY(q, *conn, "PRAGMA integrity_check(100)");
  std::vector<std::string> problems;
  while (q.Step()) {
    std::string line = q.Text(0);
    if (line != "ok") problems.push_back(std::move(line));
  }
  if (!q.status().ok()) {
    // A database too damaged to check at all is one problem, named.
    problems.push_back(q.status().message());
  }
  return problems;
}

}  // namespace coffer
