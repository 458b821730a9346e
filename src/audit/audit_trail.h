// AuditTrail: where every call's CloudTrail record goes, durably, before the call is answered.
//
// Records are queued by the threads that serve requests and appended by one writer thread to
// the journal (audit/audit_journal.h) in batches, each one write and one sync (group commit): a
// server answering thousands of calls a second pays one sync per batch, not one per call, and no
// serving thread waits for the disk. Each record gets a Ticket; the HTTP server sends a call's
// response only when its ticket reports the record durable, so kill -9 can lose the answer to a
// call but never the record of a call that was answered. An indexer thread then writes the
// records into the index LookupEvents reads (store/audit_records.h), in larger batches and
// without syncing; at start the index is caught up from the journal.
//
// When the journal cannot be written (a full or failing disk), what happens to calls is the
// operator's choice, as Vault offers it: `kClosed` (the default) answers them
// ServiceUnavailable — new calls are refused before they act as soon as the journal cannot
// reserve room for more (so the records of calls already acting still fit), a call whose record
// was not written is not answered as done, and the journal is probed every second until it can
// take records again;
// `kOpen` answers them and counts the records lost. Either way /metrics says so
// (coffer_audit_write_failures_total, coffer_audit_records_lost_total, coffer_audit_writable).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "audit/audit_journal.h"
#include "audit/slot_counts.h"
#include "core/status.h"
#include "store/audit_records.h"

namespace coffer::audit {

enum class OnFailure { kClosed, kOpen };

// What a call is answered (ServiceUnavailable) when failing closed: no call acts while the trail
// cannot be written, and none is answered as done without its record.
inline constexpr char kTrailUnavailableMessage[] =
    "coffer cannot write its audit trail, so it takes no calls; the request was not applied. "
    "Retry later.";
inline constexpr char kCallUnrecordedMessage[] =
    "coffer could not write the audit record of this call and answers no call it has not "
    "recorded. Retry later.";

// A queued record's fate: durable, or not written. OnDone's callback runs once, on the writer
// thread (or at once, on the caller's, when the fate is already known).
class Ticket {
 public:
  void OnDone(std::function<void(bool durable)> done);
  void Complete(bool durable);

 private:
  std::mutex mu_;
  bool completed_ = false;
  bool durable_ = false;
  std::function<void(bool)> done_;
};

class AuditTrail {
 public:
  // `index` is written by the indexer thread only; `reader` serves Lookup (under a lock).
  AuditTrail(std::unique_ptr<AuditJournal> journal, std::unique_ptr<AuditRecordStore> index,
             std::unique_ptr<AuditRecordStore> reader, OnFailure on_failure);
  ~AuditTrail();
  AuditTrail(const AuditTrail&) = delete;
  AuditTrail& operator=(const AuditTrail&) = delete;

  // Catches the index up with the journal, then starts the writer and indexer threads. Stop()
  // writes and indexes what is queued, then ends them; records appended while stopped are
  // written at once, on the caller's thread.
  Status Start();
  void Stop();

  // Queues `row`. The ticket completes when the batch holding it is synced (or failed).
  std::shared_ptr<Ticket> Append(AuditRow row);
  // Appends and waits: for callers with no connection to answer later (jobs, tests).
  Status AppendAndWait(AuditRow row);
  // Waits until every record appended so far is in the index (tests, and LookupEvents right
  // after a call in the same test).
  void WaitIndexed();

  // Whether a call may act now: false only when failing closed and the last write failed.
  bool accepting() const;
  OnFailure on_failure() const { return on_failure_; }

  Result<std::vector<AuditRow>> Lookup(const AuditQuery& query);
  // The index's signal tallies (store/audit_records.h): what alarms and the dashboard read.
  Result<std::vector<int64_t>> CountSignal(const AuditSignalQuery& query);
  // Runs `read` on the summary reader (SetSummaryReader), or on the shared one when there is
  // none: a long summary (the dashboard's) then holds up neither LookupEvents nor the alarms
  // nor the notifier. One summary at a time.
  Status ReadForSummary(const std::function<Status(AuditRecordStore&)>& read);
  void SetSummaryReader(std::unique_ptr<AuditRecordStore> reader) {
    summary_reader_ = std::move(reader);
  }
  Result<std::vector<AuditScope>> Scopes();
  // The signals of the records this process wrote, per 10 s slot: what a node of a shared
  // store publishes for the alarms (audit/slot_counts.h).
  SlotCounts& signal_counts() { return signal_counts_; }
  // Indexed records after index id `after_id`, oldest first (notifications read the trail's
  // write calls in order).
  Result<std::vector<AuditRow>> ReadFrom(int64_t after_id, int limit);
  Result<int64_t> LastIndexedId();
  Status Prune(EpochMillis older_than);

  // At most this many written records wait in memory for the indexer; past it they are read
  // back from the journal (coffer_audit_index_overflows_total counts the times).
  static constexpr size_t kMaxPendingIndexRows = 20'000;
  void set_max_pending_index_rows(size_t n) {  // tests
    std::lock_guard<std::mutex> lock(index_mu_);
    max_pending_index_rows_ = n;
  }

  // coffer_audit_records_total, coffer_audit_batches_total, coffer_audit_write_failures_total,
  // coffer_audit_records_lost_total, coffer_audit_index_overflows_total, coffer_audit_writable.
  std::string PrometheusText() const;

 private:
  struct Pending {
    AuditRow row;
    std::shared_ptr<Ticket> ticket;
  };
  void RunWriter();
  void RunIndexer();
  void WriteBatch(std::vector<Pending>& batch);
  Status CatchUpIndex();
  void ProbeJournal();

  std::unique_ptr<AuditJournal> journal_;
  std::unique_ptr<AuditRecordStore> index_;
  std::unique_ptr<AuditRecordStore> reader_;
  std::mutex reader_mu_;
  std::unique_ptr<AuditRecordStore> summary_reader_;
  std::mutex summary_mu_;
  const OnFailure on_failure_;

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;
  bool running_ = false;
  bool stopping_ = false;
  std::thread writer_;
  std::mutex journal_mu_;  // one batch at a time (the writer thread, or a caller while stopped)

  // Written to the journal, waiting for the index; the journal offset after them.
  std::mutex index_mu_;
  std::condition_variable index_wake_;
  std::vector<AuditRow> to_index_;
  int64_t to_index_end_ = 0;
  bool index_overflowed_ = false;  // records were dropped from to_index_: read the journal
  size_t max_pending_index_rows_ = kMaxPendingIndexRows;
  bool index_busy_ = false;
  bool index_stopping_ = false;
  std::thread indexer_;

  std::atomic<bool> writable_{true};
  std::atomic<uint64_t> records_{0};
  SlotCounts signal_counts_;
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> write_failures_{0};
  std::atomic<uint64_t> lost_{0};
  std::atomic<uint64_t> index_failures_{0};
  std::atomic<uint64_t> index_overflows_{0};
};

// The trail kept in `dir` (created, private to the server's user, when missing): the journal in
// dir/journal, the index in dir/trail.db.
Result<std::unique_ptr<AuditTrail>> OpenAuditTrail(const std::string& dir, OnFailure on_failure);

}  // namespace coffer::audit
