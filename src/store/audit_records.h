// The audit trail's records and the index LookupEvents reads. Kept in a database of its own
// (audit/trail.db under --audit-dir) rather than in the store of secrets: the trail is written on
// every call, reads included, and must not contend with the store's writers; and it outlives a
// store that is replaced or restored from a backup.
//
// Error contract: a storage fault (full or read-only disk, I/O error) is ServiceUnavailable; a
// batch is written in one transaction, so it is written whole or not at all.
// This is the index; the trail's records are durable first in its journal.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace coffer {

// The attributes LookupEvents can select on, as CloudTrail names them.
// https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupAttribute.html
enum class AuditAttribute {
  kEventId,
  kEventName,
  kReadOnly,
  kUsername,
  kResourceType,
  kResourceName,
  kEventSource,
  kAccessKeyId,
};

// What a record counts towards beyond the attributes LookupEvents selects on: the per-minute
// tallies the alarms (monitoring/alarms.h) and the dashboard read, so that they are computed from
// the trail itself. audit/trail_rows.h decides a record's signals when it is written.
enum class AuditSignal : uint32_t {
  kSecretRead = 1u << 0,                // a secret's value read (GetSecretValue, BatchGet...)
  kSecretAccessDenied = 1u << 1,        // a Secrets Manager call refused by policy
  kUnauthorizedSecretAccess = 1u << 2,  // refused by a secret's resource policy
  kRotationSucceeded = 1u << 3,         // RotationSucceeded
  kRotationFailed = 1u << 4,            // RotationFailed or RotationAbandoned
};
inline constexpr AuditSignal kAllAuditSignals[] = {
    AuditSignal::kSecretRead, AuditSignal::kSecretAccessDenied,
    AuditSignal::kUnauthorizedSecretAccess, AuditSignal::kRotationSucceeded,
    AuditSignal::kRotationFailed};
constexpr uint32_t SignalBit(AuditSignal s) { return static_cast<uint32_t>(s); }

struct AuditResource {
  std::string type;  // "AWS::SecretsManager::Secret"
  std::string name;  // the ARN or name
};

struct AuditRow {
  int64_t id = 0;  // store-assigned, increasing
  EpochMillis time_ms = 0;
  std::string account;  // recipientAccountId
  std::string region;
  std::string event_id;
  std::string event_name;
  std::string event_source;
  std::string username;
  std::string access_key_id;
  bool read_only = false;
  std::vector<AuditResource> resources;
  uint32_t signals = 0;       // AuditSignal bits
  std::string principal_arn;  // the caller (userIdentity.arn); "" when none: signal postings
  std::string record;         // the CloudTrail record, JSON text
};

// How many of one account's records in one region carry `signal`, per bucket of `bucket_ms`
// from `start_ms` (the last bucket ends at or after `end_ms`); `resource` narrows them to the
// records naming that resource ARN (kSecretRead only), empty for all.
struct AuditSignalQuery {
  std::string account;
  std::string region;
  AuditSignal signal = AuditSignal::kSecretRead;
  std::string resource;
  EpochMillis start_ms = 0;
  EpochMillis end_ms = 0;
  EpochMillis bucket_ms = 60'000;
};

// What a signal's records are totalled by (AuditRecordStore::TotalsBy): the secret a read names,
// or the principal that made the call.
enum class AuditBreakdown { kSecret, kPrincipal };

struct AuditTotal {
  std::string value;  // a secret's or a principal's ARN
  int64_t count = 0;
};

struct AuditScope {
  std::string account;
  std::string region;
  bool operator==(const AuditScope&) const = default;
};

// One account's records in one region, newest first: those with time in [start_ms, end_ms],
// matching `attribute` = `value` when given, older than the cursor (time_ms, id) when given.
struct AuditQuery {
  std::string account;
  std::string region;
  std::optional<AuditAttribute> attribute;
  std::string value;
  // Instead of an attribute: the records carrying this signal (the dashboard's recent denials
  // and rotations).
  std::optional<AuditSignal> signal;
  EpochMillis start_ms = 0;
  EpochMillis end_ms = 0;
  std::optional<std::pair<EpochMillis, int64_t>> before;
  int limit = 50;
};

class AuditRecordStore {
 public:
  virtual ~AuditRecordStore() = default;
  // Appends `rows` in one transaction and records that the index now holds the trail's journal
  // up to `journal_offset`; assigns their ids. Not synced: after a crash the index is caught up
  // from the journal (audit/audit_journal.h), from IndexedUpTo().
  virtual Status Append(std::vector<AuditRow>& rows, int64_t journal_offset) = 0;
  virtual Result<int64_t> IndexedUpTo() = 0;
  // Makes every appended row durable (a synced checkpoint), before journal segments are removed.
  virtual Status Sync() = 0;
  virtual Result<std::vector<AuditRow>> Lookup(const AuditQuery& query) = 0;
  // Records from `after_id` on, oldest first (log-file delivery reads them in order).
  virtual Result<std::vector<AuditRow>> ReadFrom(int64_t after_id, int limit) = 0;
  // Removes records older than `older_than` (retention).
  virtual Status Prune(EpochMillis older_than) = 0;
  // The counts of AuditSignalQuery, one per bucket; at most 10,000 buckets.
  virtual Result<std::vector<int64_t>> CountSignal(const AuditSignalQuery& query) = 0;
  // How many records with `query.signal` in [start_ms, end_ms) each secret (reads only) or
  // principal has; `query.resource` and `bucket_ms` are not used. Unordered.
  virtual Result<std::vector<AuditTotal>> TotalsBy(const AuditSignalQuery& query,
                                                   AuditBreakdown by) = 0;
  // The newest record's id (0 for none).
  virtual Result<int64_t> LastId() = 0;
  // Every (account, region) the index has held a record of, in order.
  virtual Result<std::vector<AuditScope>> Scopes() = 0;
};

// The SQLite engine of the trail's index, at `path`. Not thread-safe: one writer thread and
// readers serialized by the caller, or one store per thread.
Result<std::unique_ptr<AuditRecordStore>> OpenSqliteAuditRecords(const std::string& path);

}  // namespace coffer
