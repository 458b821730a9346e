#include "services/secrets/secret_read_cache.h"

#include <mutex>

namespace coffer::secrets {
namespace {
size_t Cost(const std::string& key, const CachedSecretVersion& v) {
  return key.size() + v.version.envelope.size() + v.secret.arn.size() * 2 + 256;
}
}  // namespace

std::shared_ptr<const CachedSecretVersion> SecretReadCache::Find(const std::string& key,
                                                                 uint64_t epoch) const {
  std::shared_lock lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.epoch != epoch) return nullptr;
  return it->second.value;
}

void SecretReadCache::Insert(const std::string& key, uint64_t epoch,
                             std::shared_ptr<const CachedSecretVersion> value) {
  size_t cost = Cost(key, *value);
  if (cost > max_bytes_) return;
  std::unique_lock lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    bytes_ -= Cost(key, *it->second.value);
    entries_.erase(it);
  }
  if (bytes_ + cost > max_bytes_) {
    // Simple and bounded: start over. Stale entries (older epochs) go with the rest.
    entries_.clear();
    bytes_ = 0;
  }
  entries_.emplace(key, Entry{epoch, std::move(value)});
  bytes_ += cost;
}

}  // namespace coffer::secrets
