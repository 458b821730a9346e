// What this process counted, per (account, region, kind) and 10 s slot, for a node of a shared
// store to publish (store/cluster.h: SignalCountRow): the node evaluating the alarms then counts
// what every node served, not only what it served itself.
//
// Kinds are the audit signals (store/audit_records.h: SignalBit) and kAuthenticationFailure.
// Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "core/clock.h"
#include "store/cluster.h"

namespace coffer::audit {

// Past every AuditSignal bit.
inline constexpr int64_t kAuthenticationFailure = int64_t{1} << 32;
// Every record of the trail, counted per hour (its slot is the hour's): which accounts and
// regions were active, so that their alarms are evaluated (and OK) before any signal.
inline constexpr int64_t kActivity = int64_t{1} << 33;
inline constexpr EpochMillis kActivitySlotMs = 3600'000;

class SlotCounts {
 public:
  // Slots are 10 s, the shortest alarm period (monitoring/alarms.h); every period is a whole
  // number of them, aligned to the clock as they are.
  static constexpr EpochMillis kSlotMs = 10'000;
  // Slots older than this are forgotten (once published, a slot is kept only to publish its
  // whole count again if a late record falls in it); at most kMaxSlots are kept (past it,
  // counts of new slots are not kept, and dropped() counts them).
  static constexpr EpochMillis kKeptMs = 3600'000;
  static constexpr size_t kMaxSlots = 100'000;

  // Counting starts with Enable(): a node of a store no other process serves publishes
  // nothing, and keeps nothing.
  void Enable() { enabled_.store(true, std::memory_order_relaxed); }
  bool enabled() const { return enabled_.load(std::memory_order_relaxed); }
  // Counts one event at `time_ms`, in the 10 s slot that holds it (for kActivity, the hour).
  void Add(const std::string& account, const std::string& region, int64_t kind,
           EpochMillis time_ms);
  // The slots counted into since the last call, with their whole counts (a publication
  // replaces what the node published before); forgets slots older than kKeptMs before `now`.
  std::vector<SignalCountRow> TakeChanged(EpochMillis now);
  // Puts `rows` back among the changed ones: a publication that failed is made again.
  void Untake(const std::vector<SignalCountRow>& rows);
  int64_t dropped() const;

 private:
  using Key = std::tuple<std::string, std::string, int64_t, EpochMillis>;
  std::atomic<bool> enabled_{false};
  mutable std::mutex mu_;
  std::map<Key, int64_t> counts_;
  std::set<Key> changed_;
  int64_t dropped_ = 0;
};

}  // namespace coffer::audit
