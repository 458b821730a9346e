// SQLite tables of the audit trail's delivery ledger, beside the trail's index in trail.db. The
// connection keeps SQLite's default synchronous=FULL: a delivery is recorded only once its files
// are on disk, and the synced commit also makes every index row before it durable (one write-ahead
// log), so the record ids a delivery names survive a crash.
#include "store/audit_delivery.h"

#include <string>
#include <utility>
#include <vector>

#include "store/sqlite/connection.h"

namespace coffer {
namespace {

using sqlite::Connection;
using sqlite::Query;

constexpr char kSchema[] =
    "CREATE TABLE IF NOT EXISTS audit_delivery_position ("
    "  id INTEGER PRIMARY KEY, record_id INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS audit_log_files ("
    "  object TEXT PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL,"
    "  sha256 TEXT NOT NULL, delivered_ms INTEGER NOT NULL, oldest_ms INTEGER NOT NULL,"
    "  newest_ms INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS audit_log_files_by_chain "
    "  ON audit_log_files(account, region, delivered_ms);"
    "CREATE TABLE IF NOT EXISTS audit_digests ("
    "  object TEXT PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL,"
    "  start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, sha256 TEXT NOT NULL,"
    "  signature TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS audit_digests_by_chain ON audit_digests(account, region, end_ms);"
    "CREATE TABLE IF NOT EXISTS audit_digest_keys ("
    "  fingerprint TEXT PRIMARY KEY, public_der BLOB NOT NULL, wrapped_private BLOB NOT NULL,"
    "  valid_from_ms INTEGER NOT NULL);";

// Runs `body` in one write transaction.
template <typename Body>
Status InTransaction(Connection& c, Body body) {
  COFFER_RETURN_IF_ERROR(c.Exec("BEGIN IMMEDIATE"));
  Status s = body();
  if (s.ok()) s = c.Exec("COMMIT");
  if (!s.ok()) (void)c.Exec("ROLLBACK");
  return s;
}

class SqliteAuditDeliveryLedger final : public AuditDeliveryLedger {
 public:
  explicit SqliteAuditDeliveryLedger(std::unique_ptr<Connection> conn) : c_(std::move(conn)) {}

  Status Init() { return c_->Exec(kSchema); }

  Result<int64_t> DeliveredUpTo() override {
    COFFER_QUERY(q, *c_, "SELECT record_id FROM audit_delivery_position WHERE id = 1");
    int64_t id = 0;
    if (q.Step()) id = q.Int(0);
    COFFER_RETURN_IF_ERROR(q.status());
    return id;
  }

  Status RecordDelivery(const std::vector<DeliveredLogFile>& files, int64_t up_to_id) override {
    return InTransaction(*c_, [&]() -> Status {
      for (const auto& f : files) {
        // A file re-delivered after a crash (same name, same first record) replaces its row.
        COFFER_QUERY(q, *c_,
                     "INSERT OR REPLACE INTO audit_log_files (object, account, region, sha256, "
                     "delivered_ms, oldest_ms, newest_ms) VALUES (?, ?, ?, ?, ?, ?, ?)");
        q.Bind(1, f.object).Bind(2, f.account).Bind(3, f.region).Bind(4, f.sha256_hex);
        q.Bind(5, f.delivered_ms).Bind(6, f.oldest_event_ms).Bind(7, f.newest_event_ms);
        COFFER_RETURN_IF_ERROR(q.Run());
      }
      COFFER_QUERY(q, *c_,
                   "INSERT INTO audit_delivery_position (id, record_id) VALUES (1, ?) "
                   "ON CONFLICT(id) DO UPDATE SET record_id = excluded.record_id");
      return q.Bind(1, up_to_id).Run();
    });
  }

  Result<std::vector<std::pair<std::string, std::string>>> Chains() override {
    COFFER_QUERY(q, *c_,
                 "SELECT account, region FROM audit_log_files UNION "
                 "SELECT account, region FROM audit_digests ORDER BY 1, 2");
    std::vector<std::pair<std::string, std::string>> out;
    while (q.Step()) out.emplace_back(q.Text(0), q.Text(1));
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Result<std::vector<DeliveredLogFile>> FilesDelivered(const std::string& account,
                                                       const std::string& region,
                                                       EpochMillis start_ms,
                                                       EpochMillis end_ms) override {
    COFFER_QUERY(q, *c_,
                 "SELECT object, sha256, delivered_ms, oldest_ms, newest_ms FROM audit_log_files "
                 "WHERE account = ? AND region = ? AND delivered_ms >= ? AND delivered_ms < ? "
                 "ORDER BY delivered_ms, object");
    q.Bind(1, account).Bind(2, region).Bind(3, start_ms).Bind(4, end_ms);
    std::vector<DeliveredLogFile> out;
    while (q.Step()) {
      out.push_back({.account = account,
                     .region = region,
                     .object = q.Text(0),
                     .sha256_hex = q.Text(1),
                     .delivered_ms = q.Int(2),
                     .oldest_event_ms = q.Int(3),
                     .newest_event_ms = q.Int(4)});
    }
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Result<std::optional<EpochMillis>> FirstDelivery(const std::string& account,
                                                   const std::string& region) override {
    COFFER_QUERY(q, *c_,
                 "SELECT MIN(delivered_ms) FROM audit_log_files WHERE account = ? AND region = ?");
    q.Bind(1, account).Bind(2, region);
    std::optional<EpochMillis> first;
    if (q.Step() && q.OptText(0)) first = q.Int(0);
    COFFER_RETURN_IF_ERROR(q.status());
    return first;
  }

  Result<std::optional<DeliveredDigest>> LastDigest(const std::string& account,
                                                    const std::string& region) override {
    COFFER_QUERY(q, *c_,
                 "SELECT object, start_ms, end_ms, sha256, signature FROM audit_digests "
                 "WHERE account = ? AND region = ? ORDER BY end_ms DESC LIMIT 1");
    q.Bind(1, account).Bind(2, region);
    std::optional<DeliveredDigest> last;
    if (q.Step()) {
      last = DeliveredDigest{.account = account,
                             .region = region,
                             .object = q.Text(0),
                             .start_ms = q.Int(1),
                             .end_ms = q.Int(2),
                             .sha256_hex = q.Text(3),
                             .signature_hex = q.Text(4)};
    }
    COFFER_RETURN_IF_ERROR(q.status());
    return last;
  }

  Status RecordDigest(const DeliveredDigest& d) override {
    COFFER_QUERY(q, *c_,
                 "INSERT OR REPLACE INTO audit_digests (object, account, region, start_ms, end_ms, "
                 "sha256, signature) VALUES (?, ?, ?, ?, ?, ?, ?)");
    q.Bind(1, d.object).Bind(2, d.account).Bind(3, d.region).Bind(4, d.start_ms);
    q.Bind(5, d.end_ms).Bind(6, d.sha256_hex).Bind(7, d.signature_hex);
    return q.Run();
  }

  Result<std::vector<DigestKeyRow>> DigestKeys() override {
    COFFER_QUERY(q, *c_,
                 "SELECT fingerprint, public_der, wrapped_private, valid_from_ms "
                 "FROM audit_digest_keys ORDER BY valid_from_ms, fingerprint");
    std::vector<DigestKeyRow> out;
    while (q.Step()) {
      out.push_back({.fingerprint = q.Text(0),
                     .public_der = q.Blob(1),
                     .wrapped_private = q.Blob(2),
                     .valid_from_ms = q.Int(3)});
    }
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Status AddDigestKey(const DigestKeyRow& key) override {
    COFFER_QUERY(q, *c_,
                 "INSERT INTO audit_digest_keys (fingerprint, public_der, wrapped_private, "
                 "valid_from_ms) VALUES (?, ?, ?, ?)");
    q.Bind(1, key.fingerprint).BindBlob(2, key.public_der).BindBlob(3, key.wrapped_private);
    return q.Bind(4, key.valid_from_ms).Run();
  }

  Status Prune(EpochMillis older_than) override {
    return InTransaction(*c_, [&]() -> Status {
      {
        COFFER_QUERY(q, *c_, "DELETE FROM audit_log_files WHERE delivered_ms < ?");
        COFFER_RETURN_IF_ERROR(q.Bind(1, older_than).Run());
      }
      // The newest digest of a chain stays: the next one names it.
      COFFER_QUERY(q, *c_,
                   "DELETE FROM audit_digests AS d WHERE d.end_ms < ?1 AND d.end_ms < "
                   "(SELECT MAX(e.end_ms) FROM audit_digests e WHERE e.account = d.account AND "
                   "e.region = d.region)");
      return q.Bind(1, older_than).Run();
    });
  }

 private:
  std::unique_ptr<Connection> c_;
};

}  // namespace

Result<std::unique_ptr<AuditDeliveryLedger>> OpenSqliteAuditDeliveryLedger(
    const std::string& path) {
  COFFER_ASSIGN_OR_RETURN(auto conn, Connection::Open(path));
  auto ledger = std::make_unique<SqliteAuditDeliveryLedger>(std::move(conn));
  COFFER_RETURN_IF_ERROR(ledger->Init());
  return std::unique_ptr<AuditDeliveryLedger>(std::move(ledger));
}

}  // namespace coffer
