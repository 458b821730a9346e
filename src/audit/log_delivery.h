// LogDelivery: turns the trail's records into the files CloudTrail delivers (audit/log_files.h)
// — a gzip log file per account and region for the records indexed since the last pass, and,
// at every digest period's end, a signed digest per account and region that lists the hash of
// every log file delivered in the period and chains to the digest before it. A pass runs every
// few minutes (--audit-log-interval), so a record is in a closed log file within that time.
//
// Crash safety: files are written whole (temporary file, sync, rename) before the ledger
// (store/audit_delivery.h) records them, in one synced transaction with the new cursor. A crash
// in between makes the next pass write the same files again: a log file is named by its first
// record, and a digest's content and (deterministic, PKCS#1 v1.5) signature depend only on the
// ledger, so the second write replaces the first with the same name.
//
// Digests are signed with an RSA key made on first use whose private half is kept only wrapped
// by the keyring's storage key: while the keyring is sealed, log files are still delivered and
// digests wait. Whoever can unseal the server can sign; whoever can only write the audit
// directory cannot, which is what makes a rewritten file or a broken chain detectable.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/secret_bytes.h"
#include "core/status.h"
#include "store/audit_delivery.h"
#include "store/audit_records.h"

namespace coffer::audit {

// How the digest key's private half is kept: wrapped and unwrapped by the keyring. `available`
// is false while the keyring is sealed (no digest is signed then).
struct DigestKeyProtection {
  std::function<bool()> available;
  std::function<Result<std::string>(std::string_view private_der)> wrap;
  std::function<Result<SecretBytes>(std::string_view wrapped)> unwrap;
};

struct LogDeliveryOptions {
  std::string audit_dir;
  EpochMillis digest_period_ms = 3600 * 1000;
  size_t max_records_per_file = 5000;
};

// A public key digests are verified with, as ListPublicKeys returns it.
struct DigestPublicKey {
  std::string fingerprint;
  std::string public_der;
  EpochMillis valid_from_ms = 0;
};

// The public halves of `keys`, as ListPublicKeys and `coffer audit verify` use them.
std::vector<DigestPublicKey> PublicKeysOf(const std::vector<DigestKeyRow>& keys);

class LogDelivery {
 public:
  // `records` is a connection to the trail's index of its own (read only here).
  LogDelivery(LogDeliveryOptions options, std::unique_ptr<AuditRecordStore> records,
              std::unique_ptr<AuditDeliveryLedger> ledger, const Clock* clock,
              DigestKeyProtection protection);

  // Delivers the records indexed since the last pass, then writes the digests of the periods
  // that have ended. Pass, Finish and Prune are serialized (the delivery job and the
  // maintenance job's retention run on different threads and share one ledger connection).
  Status Pass();
  // At stop, after the trail has indexed its last record: delivers every record and closes each
  // chain with a digest that ends now (as CloudTrail delivers a final digest when logging stops).
  Status Finish();
  // Removes log files and digests dated before `older_than` (retention).
  Status Prune(EpochMillis older_than);

  // Every key digests have been signed with, oldest first (ListPublicKeys). Thread-safe.
  std::vector<DigestPublicKey> PublicKeys() const;

 private:
  Status Deliver(EpochMillis now);
  Status WriteDigests(EpochMillis now, bool closing);
  Status WriteDigest(const std::string& account, const std::string& region, EpochMillis end);
  Status EnsureSigningKey(EpochMillis now);
  Status RemoveTemporaryFiles();

  const LogDeliveryOptions options_;
  std::unique_ptr<AuditRecordStore> records_;
  std::unique_ptr<AuditDeliveryLedger> ledger_;
  const Clock* clock_;
  DigestKeyProtection protection_;
  std::mutex pass_mu_;    // one of Pass, Finish, Prune at a time
  bool started_ = false;  // under pass_mu_

  mutable std::mutex keys_mu_;
  std::vector<DigestKeyRow> keys_;  // loaded at the first pass, then grown here
};

// The delivery of the trail kept in `dir` (audit/audit_trail.h's OpenAuditTrail).
Result<std::unique_ptr<LogDelivery>> OpenLogDelivery(const std::string& dir,
                                                     LogDeliveryOptions options, const Clock* clock,
                                                     DigestKeyProtection protection);

}  // namespace coffer::audit
