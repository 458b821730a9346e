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
  ~PostgresStore() override { StopChangesReader(); }

  Status Read(const std::function<Status(StoreReader&)>& fn) override {
    COFFER_ASSIGN_OR_RETURN(auto txn, TakeReader());
    Status status = txn->conn().Exec("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    if (status.ok()) {
      status = fn(*txn);
      Status end = txn->conn().Exec(status.ok() ? "COMMIT" : "ROLLBACK");
      if (status.ok()) status = end;
    }
    ReturnReader(std::move(txn));
    return status;
  }

  Status Coordinate(const std::function<Status(ClusterView&)>& fn) override {
    return Transact([&](PgTxn& txn) { return fn(txn.cluster()); }, Count::kNothing);
  }

  // A backup's snapshot is a SQLite store whatever the engine (backup/backup_file.h): the
  // tables are copied into one as a REPEATABLE READ snapshot sees them.
  Result<StoreSnapshotInfo> SnapshotTo(const std::string& path) override {
    return SnapshotPostgresToSqlite(options_.url, path);
  }

  std::string WriteProblem() const override { return health_.Problem(); }
  std::string PrometheusText() const override { return health_.PrometheusText(); }

  Result<std::unique_ptr<PgTxn>> Connect() {
    COFFER_ASSIGN_OR_RETURN(auto conn,
                            Connection::Open(options_.url, options_.statement_timeout_ms));
    return std::make_unique<PgTxn>(std::move(conn));
  }

 protected:
  Status WriteCounted(const std::function<Status(StoreWriter&)>& fn, bool identity) override {
    return Transact([&](PgTxn& txn) { return fn(txn); },
                    identity ? Count::kIdentityWrite : Count::kWrite);
  }

  // The counts are a row every write updates in its own transaction (Transact), so counts read
  // now include every committed write of every node; one round trip on a pooled connection.
  bool ChangesAreShared() const override { return true; }

  ChangeCounts ReadChanges() const override {
    ChangeCounts counts = UnknownChanges();
    auto txn = const_cast<PostgresStore*>(this)->TakeReader();
    if (!txn.ok()) return counts;
    Status read = [&]() -> Status {
      COFFER_QUERY(q, (*txn)->conn(),
                   "SELECT writes, identity_writes FROM coffer_changes WHERE id = 1");
      if (q.Step()) {
        counts.writes = static_cast<uint64_t>(q.Int(0));
        counts.identity_writes = static_cast<uint64_t>(q.Int(1));
      }
      return q.status();
    }();
    if (!read.ok()) counts = UnknownChanges();
    const_cast<PostgresStore*>(this)->ReturnReader(std::move(*txn));
    return counts;
  }

 private:
  enum class Count { kNothing, kWrite, kIdentityWrite };

  // Runs fn in a SERIALIZABLE transaction, run again when PostgreSQL cannot serialize it. A
  // counted write first adds one to the change counts: the row is the first thing it writes, so
  // writers of different nodes queue on it at once (a loser retries before doing any work) and
  // the counts commit atomically with the write they count.
  Status Transact(const std::function<Status(PgTxn&)>& fn, Count count) {
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
      if (status.ok() && count != Count::kNothing) status = CountWrite(conn, count);
      if (status.ok()) status = fn(*writer_);
      if (status.ok()) {
        status = conn.Exec("COMMIT");
      } else {
        (void)conn.Exec("ROLLBACK");
      }
      if (status.ok()) {
        if (count != Count::kNothing) Committed();
        return NoteWrite(status);
      }
      if (conn.last_failure() != PgFailure::kRetry || attempt == kMaxAttempts) break;
      // Another node's write conflicted with this one: run it again on a fresh snapshot.
      std::this_thread::sleep_for(std::chrono::milliseconds(attempt * attempt));
    }
    return NoteWrite(status);
  }

  static Status CountWrite(Connection& conn, Count count) {
    COFFER_QUERY(q, conn,
                 "UPDATE coffer_changes SET writes = writes + 1, identity_writes = "
                 "identity_writes + ? WHERE id = 1");
    q.Bind(1, int64_t{count == Count::kIdentityWrite ? 1 : 0});
    return q.Run();
  }

  Result<std::unique_ptr<PgTxn>> TakeReader() {
    {
      std::lock_guard lock(pool_mu_);
      if (!readers_.empty()) {
        auto txn = std::move(readers_.back());
        readers_.pop_back();
        return txn;
      }
    }
    return Connect();
  }

  void ReturnReader(std::unique_ptr<PgTxn> txn) {
    txn->conn().ClearFailure();
    if (!txn->conn().healthy()) return;
    std::lock_guard lock(pool_mu_);
    if (static_cast<int>(readers_.size()) < options_.max_idle_readers) {
      readers_.push_back(std::move(txn));
    }
  }

  Status NoteWrite(Status status) { return health_.Note(std::move(status)); }

  PostgresStoreOptions options_;
  std::mutex write_mu_;
  std::unique_ptr<PgTxn> writer_;  // under write_mu_
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
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace coffer
