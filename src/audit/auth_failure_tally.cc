#include "audit/auth_failure_tally.h"

#include <set>

namespace coffer::audit {
namespace {
// Alarm periods are 10 s, 30 s or whole minutes: 10-second slots split into any of them.
constexpr EpochMillis kSlotMs = 10'000;
}  // namespace

void AuthFailureTally::Add(const std::string& account, const std::string& region,
                           EpochMillis time_ms, AuthFailureSample sample) {
  slot_counts_.Add(account, region, kAuthenticationFailure, time_ms);
  const EpochMillis slot = time_ms / kSlotMs;
  std::lock_guard lock(mu_);
  auto recent = recent_.find({account, region});
  if (recent == recent_.end() && MakeRoomForRecent(account)) {
    recent =
        recent_.emplace(std::make_pair(account, region), std::deque<AuthFailureSample>{}).first;
  }
  if (recent != recent_.end()) {
    sample.time_ms = time_ms;
    recent->second.push_front(std::move(sample));
    if (recent->second.size() > kRecentPerScope) recent->second.pop_back();
  }
  if (slot > newest_slot_) {
    newest_slot_ = slot;
    const EpochMillis oldest_kept = newest_slot_ - kKeptMs / kSlotMs;
    for (auto it = by_slot_.begin(); it != by_slot_.end();) {
      it = std::get<2>(it->first) < oldest_kept ? by_slot_.erase(it) : std::next(it);
    }
    for (auto it = recent_.begin(); it != recent_.end();) {
      it = it->second.front().time_ms < time_ms - kKeptMs ? recent_.erase(it) : std::next(it);
    }
  }
  auto it = by_slot_.find({account, region, slot});
  if (it != by_slot_.end()) {
    ++it->second;
  } else if (by_slot_.size() < kMaxEntries) {
    by_slot_.emplace(std::make_tuple(account, region, slot), 1);
  } else {
    ++dropped_;  // a flood over more scopes than the bound: counted, not kept
  }
}

std::vector<int64_t> AuthFailureTally::Count(const std::string& account, const std::string& region,
                                             EpochMillis start_ms, EpochMillis bucket_ms,
                                             size_t n) const {
  std::vector<int64_t> out(n);
  if (bucket_ms <= 0 || n == 0) return out;
  const EpochMillis end_ms = start_ms + bucket_ms * static_cast<EpochMillis>(n);
  std::lock_guard lock(mu_);
  auto it = by_slot_.lower_bound({account, region, start_ms / kSlotMs});
  for (; it != by_slot_.end(); ++it) {
    const auto& [a, r, slot] = it->first;
    if (a != account || r != region) break;
    const EpochMillis t = slot * kSlotMs;
    if (t >= end_ms) break;
    if (t < start_ms) continue;
    out[static_cast<size_t>((t - start_ms) / bucket_ms)] += it->second;
  }
  return out;
}

// Whether one more (account, region) may be listed: not past the account's share, so a key's
// holder spraying made-up regions can neither push out the regions already listed (its
// failures are still counted, and the alarm sees them) nor another account's; when the map is
// full of many accounts, the region with the oldest failure goes.
bool AuthFailureTally::MakeRoomForRecent(const std::string& account) {
  size_t regions = 0;
  for (auto it = recent_.lower_bound({account, ""});
       it != recent_.end() && it->first.first == account; ++it) {
    ++regions;
  }
  if (regions >= kRecentScopesPerAccount) return false;
  if (recent_.size() < kMaxRecentScopes) return true;
  auto oldest = recent_.begin();
  for (auto it = recent_.begin(); it != recent_.end(); ++it) {
    if (it->second.front().time_ms < oldest->second.front().time_ms) oldest = it;
  }
  recent_.erase(oldest);
  return true;
}

std::vector<AuthFailureSample> AuthFailureTally::Recent(const std::string& account,
                                                        const std::string& region) const {
  std::lock_guard lock(mu_);
  auto it = recent_.find({account, region});
  if (it == recent_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

std::vector<AuditScope> AuthFailureTally::Scopes() const {
  std::set<std::pair<std::string, std::string>> seen;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, n] : by_slot_) seen.insert({std::get<0>(key), std::get<1>(key)});
  }
  std::vector<AuditScope> out;
  for (const auto& [a, r] : seen) out.push_back({a, r});
  return out;
}

}  // namespace coffer::audit
