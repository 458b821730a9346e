// AuthFailureTally: authentication failures per account, region and 10 seconds, for the
// UnauthorizedSecretAccess alarm (monitoring/alarms.h).
//
// The one signal that is not counted from the trail: a request that fails authentication is
// not recorded there, since anyone can send one, naming any access key id, and a trail that
// grew a record per forged request would be a way to fill the disk. Only failures whose access
// key belongs to an account are tallied (a bad signature or an expired session token of a known
// key), in that account; an unknown or deleted key names no account and is only counted in
// /metrics (coffer_authentication_failures_total). The tally is in memory, bounded, and keeps
// the last 24 hours: after a restart the alarm sees no failures from before it.
#pragma once

#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "audit/slot_counts.h"
#include "core/clock.h"
#include "store/audit_records.h"

namespace coffer::audit {

// One failure as the dashboard lists it: never the signature or anything of the request beyond
// its key id and source.
struct AuthFailureSample {
  EpochMillis time_ms = 0;  // set by Add
  std::string access_key_id;
  std::string reason;  // the error code the caller was answered
  std::string source_ip;
};

class AuthFailureTally {
 public:
  // At most this many (account, region, 10 s) counts are kept; past it, failures of new ones
  // are not kept (dropped() counts them).
  static constexpr size_t kMaxEntries = 100'000;
  static constexpr EpochMillis kKeptMs = 24 * 3600'000LL;
  // The newest failures kept per (account, region), for 24 hours, for the first this many
  // regions of an account (a key's holder can sign for any region name: further regions are
  // counted but not listed until the listed ones age out) and this many in all (the oldest
  // dropped).
  static constexpr size_t kRecentPerScope = 20;
  static constexpr size_t kRecentScopesPerAccount = 16;
  static constexpr size_t kMaxRecentScopes = 10'000;

  // `sample` is kept among the recent failures, at `time_ms`.
  void Add(const std::string& account, const std::string& region, EpochMillis time_ms,
           AuthFailureSample sample = {});
  // The newest failures kept, newest first.
  std::vector<AuthFailureSample> Recent(const std::string& account,
                                        const std::string& region) const;
  // Failures in [start_ms, start_ms + n * bucket_ms), per bucket.
  std::vector<int64_t> Count(const std::string& account, const std::string& region,
                             EpochMillis start_ms, EpochMillis bucket_ms, size_t n) const;
  // Every (account, region) with a failure kept.
  std::vector<AuditScope> Scopes() const;
  // The failures per 10 s slot, for a node of a shared store to publish (audit/slot_counts.h).
  SlotCounts& slot_counts() { return slot_counts_; }
  int64_t dropped() const {
    std::lock_guard lock(mu_);
    return dropped_;
  }

 private:
  SlotCounts slot_counts_;
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, EpochMillis>, int64_t> by_slot_;
  using RecentMap = std::map<std::pair<std::string, std::string>, std::deque<AuthFailureSample>>;
  bool MakeRoomForRecent(const std::string& account);
  RecentMap recent_;
  EpochMillis newest_slot_ = 0;
  int64_t dropped_ = 0;
};

}  // namespace coffer::audit
