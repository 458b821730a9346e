// What the audit trail has delivered as log files and digests (audit/log_delivery.h): the
// ledger that says which records are in a file already, which files each digest must list, and
// where each digest chain ends. Kept beside the trail's index (audit/trail.db), in its own
// tables; every write is one synced transaction.
//
// Error contract: a storage fault is ServiceUnavailable; nothing is written in part.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace coffer {

// A log file written under the audit directory.
struct DeliveredLogFile {
  std::string account;
  std::string region;
  std::string object;      // its path under the audit directory: AWSLogs/<account>/CloudTrail/...
  std::string sha256_hex;  // of the uncompressed file
  EpochMillis delivered_ms = 0;
  EpochMillis oldest_event_ms = 0;
  EpochMillis newest_event_ms = 0;
};

// A digest file: the end of its chain once written.
struct DeliveredDigest {
  std::string account;
  std::string region;
  std::string object;
  EpochMillis start_ms = 0;
  EpochMillis end_ms = 0;
  std::string sha256_hex;     // of the uncompressed digest
  std::string signature_hex;  // SHA256withRSA over CloudTrail's signing string
};

// A key digests are signed with. The private key is kept only wrapped (by the keyring's storage
// key), so a copy of the audit directory cannot sign.
struct DigestKeyRow {
  std::string fingerprint;  // 32 hex digits
  std::string public_der;   // PKCS#1 RSAPublicKey
  std::string wrapped_private;
  EpochMillis valid_from_ms = 0;
};

class AuditDeliveryLedger {
 public:
  virtual ~AuditDeliveryLedger() = default;

  // The id of the last record in a delivered log file (0: none yet).
  virtual Result<int64_t> DeliveredUpTo() = 0;
  // Records `files` and moves the cursor to `up_to_id`, in one synced transaction.
  virtual Status RecordDelivery(const std::vector<DeliveredLogFile>& files, int64_t up_to_id) = 0;

  // The (account, region) pairs that have a log file or a digest: each has a digest chain.
  virtual Result<std::vector<std::pair<std::string, std::string>>> Chains() = 0;
  // The chain's files delivered in [start_ms, end_ms), in delivery order.
  virtual Result<std::vector<DeliveredLogFile>> FilesDelivered(const std::string& account,
                                                               const std::string& region,
                                                               EpochMillis start_ms,
                                                               EpochMillis end_ms) = 0;
  // When the chain's first log file was delivered.
  virtual Result<std::optional<EpochMillis>> FirstDelivery(const std::string& account,
                                                           const std::string& region) = 0;
  virtual Result<std::optional<DeliveredDigest>> LastDigest(const std::string& account,
                                                            const std::string& region) = 0;
  virtual Status RecordDigest(const DeliveredDigest& digest) = 0;

  // Every signing key, oldest first; the last is the one in use.
  virtual Result<std::vector<DigestKeyRow>> DigestKeys() = 0;
  virtual Status AddDigestKey(const DigestKeyRow& key) = 0;

  // Forgets files and digests older than `older_than` (their files are removed by retention).
  virtual Status Prune(EpochMillis older_than) = 0;
};

// The SQLite engine, in the database at `path` (the trail's index). One thread at a time.
Result<std::unique_ptr<AuditDeliveryLedger>> OpenSqliteAuditDeliveryLedger(const std::string& path);

}  // namespace coffer
