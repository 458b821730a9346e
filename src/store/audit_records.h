// The audit trail's records and the index LookupEvents reads. Kept in a database of its own
// (audit/trail.db under --audit-dir) rather than in the store of secrets: the trail is written on
// every call, reads included, and must not contend with the store's writers; and it outlives a
// store that is replaced or restored from a backup.
//
// Error contract: a storage fault (full or read-only disk, I/O error) is ServiceUnavailable; a
// batch is written in one transaction, so it is written whole or not at all.
// This is the index; the trail's records are durable first in its journal.
#pragma once

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
  std::string record;  // the CloudTrail record, JSON text
};

// One account's records in one region, newest first: those with time in [start_ms, end_ms],
// matching `attribute` = `value` when given, older than the cursor (time_ms, id) when given.
struct AuditQuery {
  std::string account;
  std::string region;
  std::optional<AuditAttribute> attribute;
  std::string value;
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
};

// The SQLite engine of the trail's index, at `path`. Not thread-safe: one writer thread and
// readers serialized by the caller, or one store per thread.
Result<std::unique_ptr<AuditRecordStore>> OpenSqliteAuditRecords(const std::string& path);

}  // namespace coffer
