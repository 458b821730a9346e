// SecretReadCache: GetSecretValue's read-through cache of *sealed* secret versions.
//
// An entry holds the secret's row and one version with its envelope (still encrypted: plaintext
// never lives longer than the request that needs it). Entries are tagged with the store's
// committed-write counter at the time they were read, and an entry whose tag differs from the
// current counter is a miss: any committed write invalidates everything, which is always
// correct and costs nothing on the read-mostly path this cache exists for. Bounded by the bytes
// of envelopes it holds. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "store/store.h"

namespace coffer::secrets {

struct CachedSecretVersion {
  SecretRow secret;
  SecretVersionRow version;
};

class SecretReadCache {
 public:
  explicit SecretReadCache(size_t max_bytes) : max_bytes_(max_bytes) {}

  std::shared_ptr<const CachedSecretVersion> Find(const std::string& key, uint64_t epoch) const;
  void Insert(const std::string& key, uint64_t epoch,
              std::shared_ptr<const CachedSecretVersion> value);

 private:
  struct Entry {
    uint64_t epoch;
    std::shared_ptr<const CachedSecretVersion> value;
  };
  const size_t max_bytes_;
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  size_t bytes_ = 0;
};

}  // namespace coffer::secrets
