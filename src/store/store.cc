#include "store/store.h"

#include <atomic>
#include <limits>

namespace coffer {
namespace {

struct PinnedCounts {
  const Store* store = nullptr;
  bool loaded = false;
  ChangeCounts counts;
};

thread_local PinnedCounts pinned;

}  // namespace

ChangeCounts Store::Changes() const {
  if (pinned.store != this) return ReadChanges();
  if (!pinned.loaded) {
    pinned.counts = ReadChanges();
    pinned.loaded = true;
  }
  return pinned.counts;
}

ChangeCounts Store::UnknownChanges() {
  // Counting down from the top: a real count never gets there.
  static std::atomic<uint64_t> next{std::numeric_limits<uint64_t>::max()};
  const uint64_t n = next.fetch_sub(1, std::memory_order_relaxed);
  return {n, n};
}

void Store::Committed() const {
  if (pinned.store == this) pinned.loaded = false;
}

ChangeCountsPin::ChangeCountsPin(const Store* store) {
  if (pinned.store != nullptr || store == nullptr) return;
  pinned = {store, false, {}};
  owner_ = true;
}

ChangeCountsPin::~ChangeCountsPin() {
  if (owner_) pinned = {};
}

}  // namespace coffer
