// The data directory's defences: one server at a time, files of the right type, and a
// write-ahead log checked before SQLite reads it.
//
// A data directory is DATA_DIR/coffer.db (+ -wal, -shm), the file seal's root.key (and a
// rekey's root.key.next), root-credentials, and coffer.lock. coffer.lock is held with an
// exclusive flock(2) for as long as a process uses the directory (the kernel releases it when
// the process dies, even by kill -9), so a second server exits at once instead of serving from
// a store another process is changing. Several nodes share one store only through a database
// server (PostgreSQL), never through one directory.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace coffer {

constexpr char kStoreFile[] = "coffer.db";
constexpr char kWalFile[] = "coffer.db-wal";
constexpr char kLockFile[] = "coffer.lock";
// The audit trail's default directory (--audit-dir), inside the data directory.
constexpr char kAuditDir[] = "audit";
// Where backups are staged while they are made and fetched (a directory of its own).
constexpr char kBackupStagingDir[] = "backup-staging";
// Present while `coffer backup restore` fills the directory: a server refuses to start on it.
constexpr char kRestoreMarkerFile[] = "restore-in-progress";

// An exclusive lock on a data directory, released on destruction (or when the process ends).
class DataDirLock {
 public:
  DataDirLock() = default;
  DataDirLock(DataDirLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  DataDirLock& operator=(DataDirLock&& other) noexcept;
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;
  ~DataDirLock();

  // Takes DIR/coffer.lock and records this process's id in it. Errors: FailedPrecondition
  // naming the process that holds it; InternalFailure for I/O errors.
  static Result<DataDirLock> Acquire(const std::string& dir);

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// What a data directory holds, read before the store is opened.
struct DataDirContents {
  bool store = false;                // coffer.db exists and is not empty
  bool root_key = false;             // root.key exists
  bool wal = false;                  // coffer.db-wal exists and is not empty
  bool restore_incomplete = false;   // a restore was interrupted (kRestoreMarkerFile)
  std::vector<std::string> foreign;  // entries that are not coffer's
};

// Errors: InvalidParameter when DIR or one of coffer's files there is of the wrong type (a
// directory where a file belongs, a device, ...), naming it.
Result<DataDirContents> InspectDataDir(const std::string& dir);

// SQLite's write-ahead log, read frame by frame as SQLite recovers it
// (https://www.sqlite.org/fileformat2.html#walformat): frames count until the first whose salt
// or cumulative checksum does not match, and SQLite silently drops everything from there on.
struct WalReport {
  bool present = false;
  uint32_t page_size = 0;
  int64_t valid_frames = 0;
  int64_t valid_commits = 0;     // transactions SQLite will recover
  int64_t first_bad_frame = -1;  // index of the first frame that fails, -1 when none
  // Commit frames of the current log at or after the first bad frame: transactions SQLite will
  // drop. The last of them may be a write a crash interrupted before it was acknowledged (its
  // fsync never completed); every earlier one was acknowledged.
  int64_t dropped_commits = 0;
  bool bad_header = false;  // the header itself fails: SQLite ignores the whole log

  // Acknowledged transactions that will be lost if the store is opened.
  int64_t lost_acknowledged() const { return dropped_commits > 1 ? dropped_commits - 1 : 0; }
  // One line for people.
  std::string Describe() const;
};

Result<WalReport> ScanWal(const std::string& path);

}  // namespace coffer
