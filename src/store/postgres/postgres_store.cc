#include "store/postgres/postgres_store.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "store/postgres/pg_copy.h"
#include "store/postgres/pg_driver.h"
#include "store/postgres/pg_schema.h"
#include "store/sql/views.h"
#include "store/write_health.h"

namespace coffer {
namespace postgres {
namespace {

using PgTxn = sql::Transaction<Connection>;

constexpr int kMaxAttempts = 8;

class PostgresStore final : public Store {
 public:
  explicit PostgresStore(PostgresStoreOptions options) : options_(std::move(options)) {}

  Status Read(const std::function<Status(StoreReader&)>& fn) override {
    std::unique_ptr<PgTxn> txn;
    {
      std::lock_guard lock(pool_mu_);
      if (!readers_.empty()) {
        txn = std::move(readers_.back());
        readers_.pop_back();
      }
    }
    if (!txn) {
      COFFER_ASSIGN_OR_RETURN(txn, Connect());
    }
    Status status = txn->conn().Exec("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    if (status.ok()) {
      status = fn(*txn);
      Status end = txn->conn().Exec(status.ok() ? "COMMIT" : "ROLLBACK");
      if (status.ok()) status = end;
    }
    txn->conn().ClearFailure();
    if (txn->conn().healthy()) {
      std::lock_guard lock(pool_mu_);
      if (static_cast<int>(readers_.size()) < options_.max_idle_readers) {
        readers_.push_back(std::move(txn));
      }
    }
    return status;
  }

  Status Write(const std::function<Status(StoreWriter&)>& fn) override {
    std::lock_guard lock(write_mu_);
    Status status = Status::Ok();
    for (int attempt = 1; attempt <= kMaxAttempts; ++attempt) {
      if (!writer_ || !writer_->conn().healthy()) {
        writer_.reset();
        auto connected = Connect();
        if (!connected.ok()) return NoteWrite(connected.status());
        writer_ = std::move(*connected);
      }
      Connection& conn = writer_->conn();
      conn.ClearFailure();
      status = conn.Exec("BEGIN ISOLATION LEVEL SERIALIZABLE");
      if (status.ok()) status = fn(*writer_);
      if (status.ok()) {
        status = conn.Exec("COMMIT");
      } else {
        (void)conn.Exec("ROLLBACK");
      }
      if (status.ok()) {
        committed_writes_.fetch_add(1, std::memory_order_release);
        return NoteWrite(status);
      }
      if (conn.last_failure() != PgFailure::kRetry || attempt == kMaxAttempts) break;
      // Another node's write conflicted with this one: run it again on a fresh snapshot.
      std::this_thread::sleep_for(std::chrono::milliseconds(attempt * attempt));
    }
    return NoteWrite(status);
  }

  // A backup's snapshot is a SQLite store whatever the engine (backup/backup_file.h): the
  // tables are copied into one as a REPEATABLE READ snapshot sees them.
  Result<StoreSnapshotInfo> SnapshotTo(const std::string& path) override {
    return SnapshotPostgresToSqlite(options_.url, path);
  }

  uint64_t CommittedWrites() const override {
    return committed_writes_.load(std::memory_order_acquire);
  }

  std::string WriteProblem() const override { return health_.Problem(); }
  std::string PrometheusText() const override { return health_.PrometheusText(); }

  // Takes the store's node lock on a connection of its own, held until the store closes.
  Status HoldNodeLock() {
    COFFER_ASSIGN_OR_RETURN(lock_conn_,
                            Connection::Open(options_.url, options_.statement_timeout_ms));
    COFFER_QUERY(q, *lock_conn_,
                 "SELECT pg_try_advisory_lock(hashtext(current_database() || '/' || "
                 "current_schema() || '/coffer-node'))");
    const bool held = q.Step() && q.Int(0) == 1;
    COFFER_RETURN_IF_ERROR(q.status());
    if (!held) {
      return Status(ErrorCode::kFailedPrecondition,
                    "another coffer node serves this PostgreSQL store: one node per database "
                    "(and schema) for now, since the nodes' caches are not kept coherent across "
                    "processes yet");
    }
    return Status::Ok();
  }

  Result<std::unique_ptr<PgTxn>> Connect() {
    COFFER_ASSIGN_OR_RETURN(auto conn,
                            Connection::Open(options_.url, options_.statement_timeout_ms));
    return std::make_unique<PgTxn>(std::move(conn));
  }

 private:
  Status NoteWrite(Status status) { return health_.Note(std::move(status)); }

  PostgresStoreOptions options_;
  std::unique_ptr<Connection> lock_conn_;  // holds the node lock (exclusive stores)
  std::mutex write_mu_;
  std::unique_ptr<PgTxn> writer_;  // under write_mu_
  std::atomic<uint64_t> committed_writes_{0};
  WriteHealth health_;
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<PgTxn>> readers_;  // idle reader connections
};

}  // namespace
}  // namespace postgres

bool IsPostgresUrl(const std::string& text) {
  return text.rfind("postgresql://", 0) == 0 || text.rfind("postgres://", 0) == 0;
}

std::string RedactPostgresUrl(const std::string& url) {
  std::string out = url;
  // postgresql://user:password@host/...: the password is what sits between the first ':' after
  // the scheme and the '@'.
  const size_t scheme = out.find("://");
  const size_t at = out.find('@');
  if (scheme != std::string::npos && at != std::string::npos) {
    const size_t colon = out.find(':', scheme + 3);
    if (colon != std::string::npos && colon < at)
      out = out.substr(0, colon) + ":***" + out.substr(at);
  }
  // ...?password=...&...: a parameter of its own.
  for (size_t p = out.find("password="); p != std::string::npos; p = out.find("password=", p + 1)) {
    if (p > 0 && out[p - 1] != '?' && out[p - 1] != '&') continue;
    const size_t end = out.find('&', p);
    out = out.substr(0, p + 9) + "***" + (end == std::string::npos ? "" : out.substr(end));
  }
  return out;
}

Result<std::unique_ptr<Store>> OpenPostgresStore(const PostgresStoreOptions& options) {
  auto store = std::make_unique<postgres::PostgresStore>(options);
  COFFER_ASSIGN_OR_RETURN(auto txn, store->Connect());
  COFFER_RETURN_IF_ERROR(postgres::Migrate(txn->conn()));
  if (options.exclusive) COFFER_RETURN_IF_ERROR(store->HoldNodeLock());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace coffer
