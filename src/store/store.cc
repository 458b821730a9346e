#include "store/store.h"

#include <atomic>
#include <limits>

namespace coffer {
namespace {

struct PinnedCounts {
  const Store* store = nullptr;
  uint64_t ticket = 0;  // taken when the request began, or when it last wrote
  bool loaded = false;
  ChangeCounts counts;
};

thread_local PinnedCounts pinned;

}  // namespace

ChangeCounts Store::Changes() const {
  if (pinned.store != this) return ChangesSince(ChangesTicket());
  if (!pinned.loaded) {
    pinned.counts = ChangesSince(pinned.ticket);
    pinned.loaded = true;
  }
  return pinned.counts;
}

uint64_t Store::ChangesTicket() const {
  if (!ChangesAreShared()) return 0;
  std::lock_guard lock(shared_reads_.mu);
  return shared_reads_.started;
}

ChangeCounts Store::ChangesSince(uint64_t ticket) const {
  if (!ChangesAreShared()) return ReadChanges();
  SharedReads& r = shared_reads_;
  std::unique_lock lock(r.mu);
  while (true) {
    if (r.published > ticket) return r.counts;  // a read issued after the ticket was taken
    if (!r.in_flight) break;
    r.done.wait(lock);  // the read in flight may be recent enough; if not, start the next one
  }
  const uint64_t number = ++r.started;
  r.in_flight = true;
  lock.unlock();
  const ChangeCounts counts = ReadChanges();
  lock.lock();
  r.in_flight = false;
  Publish(number, counts);
  return counts;
}

void Store::Publish(uint64_t number, const ChangeCounts& counts) const {
  SharedReads& r = shared_reads_;
  // Reads of both kinds may be in flight at once: the latest started is the one kept.
  if (number > r.published) {
    r.published = number;
    r.counts = counts;
  }
  r.done.notify_all();
}

bool Store::ReadChangesThen(std::function<void(ChangeCounts)> done) const {
  if (!ChangesAreShared()) return false;
  SharedReads& r = shared_reads_;
  bool queued = false;
  {
    std::lock_guard lock(r.mu);
    if (!r.stopping) {
      r.waiters.push_back(std::move(done));
      queued = true;
      if (!r.reader.joinable()) r.reader = std::thread([this] { ReadForWaiters(); });
    }
  }
  if (queued) {
    r.wake.notify_one();
  } else {
    done(UnknownChanges());  // the store is closing: every cache misses
  }
  return true;
}

void Store::ReadForWaiters() const {
  SharedReads& r = shared_reads_;
  std::unique_lock lock(r.mu);
  while (true) {
    r.wake.wait(lock, [&] { return r.stopping || !r.waiters.empty(); });
    if (r.waiters.empty()) return;  // stopping, and nobody waits
    // Everyone waiting now began before this read is issued: it counts what they must see.
    std::vector<std::function<void(ChangeCounts)>> batch;
    batch.swap(r.waiters);
    const uint64_t number = ++r.started;
    lock.unlock();
    const ChangeCounts counts = ReadChanges();
    lock.lock();
    Publish(number, counts);
    lock.unlock();
    for (auto& done : batch) done(counts);
    lock.lock();
  }
}

void Store::StopChangesReader() {
  SharedReads& r = shared_reads_;
  {
    std::lock_guard lock(r.mu);
    r.stopping = true;
  }
  r.wake.notify_all();
  if (r.reader.joinable()) r.reader.join();
}

ChangeCounts Store::UnknownChanges() {
  // Counting down from the top: a real count never gets there.
  static std::atomic<uint64_t> next{std::numeric_limits<uint64_t>::max()};
  const uint64_t n = next.fetch_sub(1, std::memory_order_relaxed);
  return {n, n};
}

void Store::Committed() const {
  if (pinned.store != this) return;
  pinned.loaded = false;
  pinned.ticket = ChangesTicket();
}

ChangeCountsPin::ChangeCountsPin(const Store* store) {
  if (pinned.store != nullptr || store == nullptr) return;
  pinned = {store, store->ChangesTicket(), false, {}};
  owner_ = true;
}

ChangeCountsPin::ChangeCountsPin(const Store* store, const ChangeCounts& counts) {
  if (pinned.store != nullptr || store == nullptr) return;
  // The ticket is taken again when the request writes (Committed), the only time it is used.
  pinned = {store, 0, true, counts};
  owner_ = true;
}

ChangeCountsPin::~ChangeCountsPin() {
  if (owner_) pinned = {};
}

}  // namespace coffer
