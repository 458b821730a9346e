#include "audit/audit_trail.h"

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <utility>

#include "core/thread_name.h"

namespace coffer::audit {
namespace {

// A journal batch is whatever is queued when the writer wakes, up to this many records: big
// enough that a busy server syncs a few hundred times a second, small enough that one write
// stays short.
constexpr size_t kMaxBatch = 1024;
constexpr auto kIndexDelay = std::chrono::milliseconds(200);
// A catch-up from the journal indexes this many records per transaction.
constexpr size_t kMaxIndexBatch = 8192;

}  // namespace

void Ticket::OnDone(std::function<void(bool)> done) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!completed_) {
    done_ = std::move(done);
    return;
  }
  const bool durable = durable_;
  lock.unlock();
  done(durable);
}

void Ticket::Complete(bool durable) {
  std::function<void(bool)> done;
  {
    std::lock_guard<std::mutex> lock(mu_);
    completed_ = true;
    durable_ = durable;
    done = std::move(done_);
  }
  if (done) done(durable);
}

AuditTrail::AuditTrail(std::unique_ptr<AuditJournal> journal,
                       std::unique_ptr<AuditRecordStore> index,
                       std::unique_ptr<AuditRecordStore> reader, OnFailure on_failure)
    : journal_(std::move(journal)),
      index_(std::move(index)),
      reader_(std::move(reader)),
      on_failure_(on_failure) {
  writable_.store(!journal_->low_on_space());
}

AuditTrail::~AuditTrail() { Stop(); }

Status AuditTrail::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (running_) return Status::Ok();
  COFFER_RETURN_IF_ERROR(CatchUpIndex());
  running_ = true;
  stopping_ = false;
  index_stopping_ = false;
  writer_ = std::thread([this] {
    NameThisThread("audit-journal");
    RunWriter();
  });
  indexer_ = std::thread([this] {
    NameThisThread("audit-index");
    RunIndexer();
  });
  return Status::Ok();
}

void AuditTrail::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!running_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  writer_.join();
  {
    std::lock_guard<std::mutex> lock(index_mu_);
    index_stopping_ = true;
  }
  index_wake_.notify_all();
  indexer_.join();
  std::lock_guard<std::mutex> lock(mu_);
  running_ = false;
}

std::shared_ptr<Ticket> AuditTrail::Append(AuditRow row) {
  auto ticket = std::make_shared<Ticket>();
  std::unique_lock<std::mutex> lock(mu_);
  if (running_ && !stopping_) {
    queue_.push_back({std::move(row), ticket});
    lock.unlock();
    wake_.notify_one();
    return ticket;
  }
  lock.unlock();
  std::vector<Pending> batch;
  batch.push_back({std::move(row), ticket});
  WriteBatch(batch);
  return ticket;
}

Status AuditTrail::AppendAndWait(AuditRow row) {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  bool durable = false;
  Append(std::move(row))->OnDone([&](bool ok) {
    std::lock_guard<std::mutex> lock(mu);
    done = true;
    durable = ok;
    cv.notify_one();
  });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done; });
  if (durable) return Status::Ok();
  return Status(ErrorCode::kServiceUnavailable, "coffer could not write the audit record");
}

void AuditTrail::WaitIndexed() {
  for (;;) {
    bool idle = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      idle = queue_.empty();
    }
    if (idle) {
      std::lock_guard<std::mutex> lock(index_mu_);
      if (to_index_.empty() && !index_busy_) {
        // The writer may hold a batch it took from the queue: it is in the journal before it
        // is handed on, so wait for the journal's end to be indexed too.
        std::lock_guard<std::mutex> journal(journal_mu_);
        std::lock_guard<std::mutex> reader(reader_mu_);
        auto indexed = reader_->IndexedUpTo();
        if (!indexed.ok() || indexed.value() >= journal_->end()) return;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

bool AuditTrail::accepting() const {
  return on_failure_ == OnFailure::kOpen || writable_.load(std::memory_order_relaxed);
}

void AuditTrail::RunWriter() {
  std::vector<Pending> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      // While the journal cannot be written, probe it every second: failing closed, no call
      // comes to write a record, and the server must notice by itself that the disk is back.
      while (!stopping_ && queue_.empty()) {
        if (writable_.load(std::memory_order_relaxed)) {
          wake_.wait(lock);
        } else if (wake_.wait_for(lock, std::chrono::seconds(1)) == std::cv_status::timeout) {
          lock.unlock();
          ProbeJournal();
          lock.lock();
        }
      }
      if (queue_.empty()) return;  // stopping, and everything is written
      while (!queue_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    WriteBatch(batch);
    batch.clear();
  }
}

void AuditTrail::WriteBatch(std::vector<Pending>& batch) {
  std::vector<AuditRow> rows;
  rows.reserve(batch.size());
  for (auto& p : batch) rows.push_back(std::move(p.row));
  Status written;
  int64_t end = 0;
  bool low_on_space = false;
  {
    std::lock_guard<std::mutex> lock(journal_mu_);
    written = journal_->Append(rows);
    end = journal_->end();
    low_on_space = journal_->low_on_space();
  }
  batches_.fetch_add(1, std::memory_order_relaxed);
  if (written.ok()) {
    records_.fetch_add(rows.size(), std::memory_order_relaxed);
    // Written, but out of room for more: refuse new calls now, while the reserve still holds
    // the records of those refused (failing closed must never mean acting unrecorded).
    writable_.store(!low_on_space, std::memory_order_relaxed);
  } else {
    write_failures_.fetch_add(1, std::memory_order_relaxed);
    lost_.fetch_add(rows.size(), std::memory_order_relaxed);
    writable_.store(false, std::memory_order_relaxed);
  }
  for (auto& p : batch) p.ticket->Complete(written.ok());
  if (!written.ok()) return;
  for (const auto& row : rows) {
    if (!signal_counts_.enabled()) break;
    signal_counts_.Add(row.account, row.region, kActivity, row.time_ms);
    if (row.signals == 0) continue;
    for (AuditSignal signal : kAllAuditSignals) {
      if ((row.signals & SignalBit(signal)) != 0) {
        signal_counts_.Add(row.account, row.region, SignalBit(signal), row.time_ms);
      }
    }
  }

  bool indexer_running = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    indexer_running = running_;
  }
  if (!indexer_running) {
    // Stopped: index at once (a record appended after Stop, or by a test that never started).
    std::lock_guard<std::mutex> lock(index_mu_);
    if (!index_->Append(rows, end).ok()) index_failures_.fetch_add(1);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(index_mu_);
    if (index_overflowed_ || to_index_.size() + rows.size() > max_pending_index_rows_) {
      // The indexer is this far behind: the records wait in the journal, where they already
      // are, not in memory, and the indexer catches up from there. Memory stays bounded
      // however long the calls outpace the index.
      if (!index_overflowed_) index_overflows_.fetch_add(1, std::memory_order_relaxed);
      index_overflowed_ = true;
      std::vector<AuditRow>().swap(to_index_);
    } else {
      for (auto& r : rows) to_index_.push_back(std::move(r));
      to_index_end_ = end;
    }
  }
  index_wake_.notify_one();
}

void AuditTrail::RunIndexer() {
  std::vector<AuditRow> rows;
  bool behind = false;  // an index write failed: catch up from the journal
  int64_t removed_below = journal_->segment_start();
  for (;;) {
    int64_t end = 0;
    {
      std::unique_lock<std::mutex> lock(index_mu_);
      index_busy_ = false;
      index_wake_.wait_for(lock, std::chrono::seconds(1), [this] {
        return index_stopping_ || !to_index_.empty() || index_overflowed_;
      });
      if (to_index_.empty() && !index_overflowed_ && index_stopping_) return;
      // Records gather for a moment before they are indexed: a transaction rewrites every
      // index's last page whatever it holds, so a few large ones cost far less than many
      // small ones. LookupEvents sees a record within this delay.
      if (!index_stopping_) {
        index_wake_.wait_for(lock, kIndexDelay, [this] { return index_stopping_; });
      }
      if (index_overflowed_) {  // what was dropped is read back from the journal
        index_overflowed_ = false;
        behind = true;
        to_index_.clear();
      }
      if (to_index_.empty() && !behind) continue;
      rows.swap(to_index_);
      end = to_index_end_;
      index_busy_ = true;
    }
    // After a failed write the journal is the index's source: what is queued is in it too (a
    // record indexed twice is ignored by its event id).
    if (behind) {
      behind = !CatchUpIndex().ok();
    } else if (!rows.empty()) {
      behind = !index_->Append(rows, end).ok();
    }
    if (behind) index_failures_.fetch_add(1, std::memory_order_relaxed);
    rows.clear();
    // Journal segments the index holds durably are not needed any more.
    const int64_t current = journal_->segment_start();
    if (!behind && current > removed_below && end >= current) {
      if (index_->Sync().ok() && journal_->RemoveBefore(end).ok()) removed_below = current;
    }
  }
}

Status AuditTrail::CatchUpIndex() {
  COFFER_ASSIGN_OR_RETURN(int64_t offset, index_->IndexedUpTo());
  for (;;) {
    int64_t next = offset;
    COFFER_ASSIGN_OR_RETURN(std::vector<AuditRow> rows,
                            journal_->ReadFrom(offset, kMaxIndexBatch, &next));
    if (rows.empty()) return Status::Ok();
    COFFER_RETURN_IF_ERROR(index_->Append(rows, next));
    offset = next;
  }
}

void AuditTrail::ProbeJournal() {
  std::lock_guard<std::mutex> lock(journal_mu_);
  if (journal_->ReserveAhead().ok()) writable_.store(true, std::memory_order_relaxed);
}

Result<std::vector<AuditRow>> AuditTrail::Lookup(const AuditQuery& query) {
  std::lock_guard<std::mutex> lock(reader_mu_);
  return reader_->Lookup(query);
}

Result<std::vector<int64_t>> AuditTrail::CountSignal(const AuditSignalQuery& query) {
  std::lock_guard<std::mutex> lock(reader_mu_);
  return reader_->CountSignal(query);
}

Status AuditTrail::ReadForSummary(const std::function<Status(AuditRecordStore&)>& read) {
  if (summary_reader_ == nullptr) {
    std::lock_guard<std::mutex> lock(reader_mu_);
    return read(*reader_);
  }
  std::lock_guard<std::mutex> lock(summary_mu_);
  return read(*summary_reader_);
}

Result<std::vector<AuditRow>> AuditTrail::ReadFrom(int64_t after_id, int limit) {
  std::lock_guard<std::mutex> lock(reader_mu_);
  return reader_->ReadFrom(after_id, limit);
}

Result<int64_t> AuditTrail::LastIndexedId() {
  std::lock_guard<std::mutex> lock(reader_mu_);
  return reader_->LastId();
}

Result<std::vector<AuditScope>> AuditTrail::Scopes() {
  std::lock_guard<std::mutex> lock(reader_mu_);
  return reader_->Scopes();
}

Status AuditTrail::Prune(EpochMillis older_than) {
  std::lock_guard<std::mutex> lock(reader_mu_);
  return reader_->Prune(older_than);
}

std::string AuditTrail::PrometheusText() const {
  auto line = [](const char* name, const char* help, uint64_t value, const char* type) {
    return std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
           name + " " + std::to_string(value) + "\n";
  };
  return line("coffer_audit_records_total", "Audit records written to the journal.",
              records_.load(), "counter") +
         line("coffer_audit_batches_total", "Audit journal batches (one sync each) attempted.",
              batches_.load(), "counter") +
         line("coffer_audit_write_failures_total",
              "Audit journal batches that could not be written.", write_failures_.load(),
              "counter") +
         line("coffer_audit_records_lost_total", "Audit records that could not be written.",
              lost_.load(), "counter") +
         line("coffer_audit_index_failures_total",
              "Index writes that failed (the index is caught up from the journal).",
              index_failures_.load(), "counter") +
         line("coffer_audit_index_overflows_total",
              "Times the index fell so far behind that queued records were left to be read "
              "back from the journal.",
              index_overflows_.load(), "counter") +
         line("coffer_audit_writable", "1 when the last audit journal write succeeded.",
              writable_.load() ? 1 : 0, "gauge");
}

Result<std::unique_ptr<AuditTrail>> OpenAuditTrail(const std::string& dir, OnFailure on_failure) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status(ErrorCode::kInvalidParameter,
                  "cannot create the audit directory " + dir + ": " + std::strerror(errno));
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status(ErrorCode::kInvalidParameter,
                  "the audit directory " + dir + " is not a directory");
  }
  COFFER_ASSIGN_OR_RETURN(auto journal, AuditJournal::Open(dir + "/journal"));
  const std::string path = dir + "/trail.db";
  COFFER_ASSIGN_OR_RETURN(auto index, OpenSqliteAuditRecords(path));
  COFFER_ASSIGN_OR_RETURN(auto reader, OpenSqliteAuditRecords(path));
  COFFER_ASSIGN_OR_RETURN(auto summary_reader, OpenSqliteAuditRecords(path));
  auto trail = std::make_unique<AuditTrail>(std::move(journal), std::move(index), std::move(reader),
                                            on_failure);
  trail->SetSummaryReader(std::move(summary_reader));
  return trail;
}

}  // namespace coffer::audit
