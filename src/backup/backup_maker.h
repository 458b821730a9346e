// BackupMaker: online backups of a running server's store (backup_file.h's format), made for
// `coffer backup create` through the operator endpoints and on a schedule, as AWS Backup plans
// make them.
//
// A backup is a snapshot the store engine takes as of one moment while writes go on
// (Store::SnapshotTo), encrypted into a backup file under a key derived from the unseal key.
// The snapshot and the unseal key must belong together (a rekey replaces the unseal key and
// re-wraps the root key in the store): the seal is read before and after the snapshot, and a
// backup that straddles a rekey is taken again.
//
// Operator endpoints (protocol/operator_api.h's account endpoints, the operator only):
//   POST /coffer/backups        {} -> {"BackupId","Bytes","Secrets","Parameters","CreatedMs"}:
//                               a backup made now into the staging directory
//   GET  /coffer/backups/part?BackupId=..&Offset=N -> {"Data": base64 of up to 4 MiB, "Offset",
//                               "Bytes"}: the staged backup's bytes from N
//   POST /coffer/backups/delete {"BackupId"}: the staged backup removed (also an hour after
//                               it was made, and at the next start)
// Scheduled backups go to a directory as coffer-backup-<UTC time>.cbk; beyond the retention
// count the oldest are removed. Each outcome is an event ("aws.backup", "Backup Job State
// Change", state COMPLETED or FAILED) and is counted in the metrics. Thread-safe.
#pragma once

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "backup/backup_file.h"
#include "core/clock.h"
#include "core/status.h"
#include "keyring/keyring.h"
#include "keyring/seal_manager.h"
#include "store/store.h"

namespace coffer::backup {

struct ScheduleOptions {
  std::string dir;  // where scheduled backups go; empty: no schedule
  std::chrono::milliseconds interval = std::chrono::hours(24);
  int retain = 7;  // backups kept in `dir`
};

class BackupMaker {
 public:
  BackupMaker(Store* store, Keyring* keyring, SealManager* seal, std::string operator_account,
              std::string staging_dir, const Clock* clock);

  // Takes a snapshot of the store and writes it as a backup to `out_path`. Errors:
  // ServiceUnavailableException while sealed; InternalFailure for I/O errors.
  Result<BackupHeader> Create(const std::string& out_path, const Progress& progress = nullptr);

  // The operator endpoints (see above): (method, path, query, body) -> the answer.
  Result<boost::json::object> Handle(std::string_view method, std::string_view path,
                                     const std::map<std::string, std::string>& query,
                                     const boost::json::object& body);

  // A scheduled backup into `options.dir` when the newest there is `options.interval` old (or
  // there is none), the oldest beyond `options.retain` removed, and its outcome recorded as an
  // event; returns the outcome (OK when none was due).
  Status RunScheduledIfDue(const ScheduleOptions& options);

  // Removes staged backups older than an hour (all of them at start).
  void PruneStaging(std::chrono::milliseconds older_than = std::chrono::hours(1));

  std::string PrometheusText() const;

 private:
  Result<boost::json::object> Stage();
  Result<boost::json::object> ReadPart(const std::map<std::string, std::string>& query);
  Result<boost::json::object> Drop(const boost::json::object& body);
  Result<std::string> StagedPath(const std::string& id) const;
  void RecordOutcome(const std::string& job_id, const std::string& path, const Status& outcome,
                     const BackupHeader* header);

  Store* store_;
  Keyring* keyring_;
  SealManager* seal_;
  std::string operator_account_;
  std::string staging_dir_;
  const Clock* clock_;
  std::mutex create_mu_;  // one backup at a time
  std::atomic<int64_t> completed_{0};
  std::atomic<int64_t> failed_{0};
  std::atomic<int64_t> last_success_ms_{0};
  std::atomic<int64_t> last_bytes_{0};
};

}  // namespace coffer::backup
