// AuditJournal: the trail's write-ahead journal, the one place a record must reach before its
// call is answered.
//
// Records are appended as framed entries ([length][CRC-32][row]) to segment files
// <dir>/<20-digit offset>.journal, named by the journal offset of their first byte. A batch is
// one write() and one fdatasync(): the cost of a synced record is shared by every record of the
// batch, and a journal append touches two pages, where an indexed database insert touches a page
// per index. The index LookupEvents reads (store/audit_records.h) is written after the journal,
// without syncing, and is caught up from the journal when the server starts: whatever the index
// lost in a crash, the journal still has.
//
// A crash can leave a torn entry at the end of the last segment (an append that never returned,
// so no call was answered on it); Open() cuts it off. A damaged entry anywhere else is refused:
// the journal is not silently shortened.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/audit_records.h"

namespace coffer::audit {

class AuditJournal {
 public:
  // Opens the journal in `dir` (created when missing), cutting off a torn tail.
  static Result<std::unique_ptr<AuditJournal>> Open(const std::string& dir);
  ~AuditJournal();
  AuditJournal(const AuditJournal&) = delete;
  AuditJournal& operator=(const AuditJournal&) = delete;

  // Appends `rows` durably (written and synced before this returns). Not thread-safe: one
  // writer.
  Status Append(const std::vector<AuditRow>& rows);

  // The journal's offset after its last entry.
  int64_t end() const { return end_; }

  // The rows of the entries from `from` (an entry boundary) to the end, in order, at most
  // `max_rows`; `*next` is the offset after the last one returned.
  Result<std::vector<AuditRow>> ReadFrom(int64_t from, size_t max_rows, int64_t* next) const;

  // Removes the segments that end at or before `offset` (entries the index holds durably).
  Status RemoveBefore(int64_t offset);
  // The first offset of the segment being appended to.
  int64_t segment_start() const { return segment_start_.load(std::memory_order_acquire); }

  // Space is reserved ahead of the entries (allocated past the end of the file, which keeps its
  // size), so an append never runs out of disk half-way through a call's record: when a new
  // reserve cannot be allocated, `low_on_space()` says so while the old one still holds what is
  // being written. ReserveAhead() tries again (the trail probes with it).
  static constexpr int64_t kReserveBytes = 1 << 20;
  bool low_on_space() const { return low_on_space_; }
  Status ReserveAhead();

  // A new segment starts once the current one holds this many bytes.
  static constexpr int64_t kSegmentBytes = 64 << 20;

 private:
  explicit AuditJournal(std::string dir) : dir_(std::move(dir)) {}
  Status OpenTail();
  Status StartSegment();
  std::string SegmentPath(int64_t first_offset) const;
  std::vector<int64_t> Segments() const;

  std::string dir_;
  int fd_ = -1;                            // the last segment, open for appending
  std::atomic<int64_t> segment_start_{0};  // its first offset
  int64_t end_ = 0;
  int64_t reserved_to_ = 0;  // offset in the segment up to which space is allocated
  bool low_on_space_ = false;
};

// One row as a journal entry's payload, and back (false: not an entry this version wrote).
std::string EncodeJournalRow(const AuditRow& row);
bool DecodeJournalRow(std::string_view payload, AuditRow* row);

}  // namespace coffer::audit
