#include "audit/slot_counts.h"

namespace coffer::audit {

void SlotCounts::Add(const std::string& account, const std::string& region, int64_t kind,
                     EpochMillis time_ms) {
  if (!enabled()) return;
  const EpochMillis slot = kind == kActivity ? kActivitySlotMs : kSlotMs;
  Key key{account, region, kind, time_ms / slot * slot};
  std::lock_guard lock(mu_);
  auto it = counts_.find(key);
  if (it == counts_.end()) {
    if (counts_.size() >= kMaxSlots) {
      ++dropped_;
      return;
    }
    it = counts_.emplace(key, 0).first;
  }
  ++it->second;
  changed_.insert(std::move(key));
}

std::vector<SignalCountRow> SlotCounts::TakeChanged(EpochMillis now) {
  std::lock_guard lock(mu_);
  std::vector<SignalCountRow> out;
  out.reserve(changed_.size());
  for (const auto& key : changed_) {
    const auto& [account, region, kind, slot] = key;
    out.push_back({account, region, kind, slot, counts_.at(key)});
  }
  changed_.clear();
  std::erase_if(counts_,
                [&](const auto& entry) { return std::get<3>(entry.first) < now - kKeptMs; });
  return out;
}

void SlotCounts::Untake(const std::vector<SignalCountRow>& rows) {
  std::lock_guard lock(mu_);
  for (const auto& r : rows) {
    Key key{r.account, r.region, r.kind, r.slot_ms};
    if (counts_.count(key) != 0) changed_.insert(std::move(key));
  }
}

int64_t SlotCounts::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

}  // namespace coffer::audit
