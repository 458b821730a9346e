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
  r.published = number;
  r.counts = counts;
  r.done.notify_all();
  return counts;
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

ChangeCountsPin::~ChangeCountsPin() {
  if (owner_) pinned = {};
}

}  // namespace coffer
