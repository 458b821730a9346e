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

#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "core/clock.h"
#include "store/audit_records.h"

namespace coffer::audit {

class AuthFailureTally {
 public:
  // At most this many (account, region, 10 s) counts are kept; past it, failures of new ones
  // are not kept (dropped() counts them).
  static constexpr size_t kMaxEntries = 100'000;
  static constexpr EpochMillis kKeptMs = 24 * 3600'000LL;

  void Add(const std::string& account, const std::string& region, EpochMillis time_ms);
  // Failures in [start_ms, start_ms + n * bucket_ms), per bucket.
  std::vector<int64_t> Count(const std::string& account, const std::string& region,
                             EpochMillis start_ms, EpochMillis bucket_ms, size_t n) const;
  // Every (account, region) with a failure kept.
  std::vector<AuditScope> Scopes() const;
  int64_t dropped() const {
    std::lock_guard lock(mu_);
    return dropped_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, EpochMillis>, int64_t> by_slot_;
  EpochMillis newest_slot_ = 0;
  int64_t dropped_ = 0;
};

}  // namespace coffer::audit
