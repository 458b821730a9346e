// AgentCache: what `coffer agent` serves from memory, with the AWS agent's caching rules
// (aws-secretsmanager-caching): an LRU of at most max_entries GetSecretValue answers keyed by
// (secretId, versionId, versionStage), each fresh for ttl. A stale entry is checked with
// DescribeSecret: still the version holding the stage asked for (AWSCURRENT by default), or a
// version id that still exists, and it is served again for another ttl without reading the value;
// otherwise GetSecretValue. A transient failure (unreachable, throttled, 5xx) serves the stale
// value when ignore_transient_errors; refreshNow bypasses the cache and leaves it unchanged on
// failure. Parameters: GetParameter answers, fresh for their own ttl. A ttl of 0 caches nothing.
// Thread-safe; no call to the service is made under the lock.
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "agent/agent_request.h"
#include "client/aws_client.h"
#include "core/clock.h"
#include "core/secret_bytes.h"

namespace coffer::agent {

// The calls the cache makes. The real one is AwsSecretsBackend; tests give their own.
class SecretsBackend {
 public:
  virtual ~SecretsBackend() = default;
  virtual client::CallResult<boost::json::object> GetSecretValue(const SecretQuery& query) = 0;
  virtual client::CallResult<boost::json::object> DescribeSecret(const std::string& secret_id) = 0;
  virtual client::CallResult<boost::json::object> GetParameter(const ParameterQuery& query) = 0;
};

class AwsSecretsBackend final : public SecretsBackend {
 public:
  explicit AwsSecretsBackend(client::ClientSettings settings) : client_(std::move(settings)) {}
  client::CallResult<boost::json::object> GetSecretValue(const SecretQuery& query) override;
  client::CallResult<boost::json::object> DescribeSecret(const std::string& secret_id) override;
  client::CallResult<boost::json::object> GetParameter(const ParameterQuery& query) override;
  const client::AwsClient& client() const { return client_; }

 private:
  client::AwsClient client_;
};

struct CacheOptions {
  std::chrono::seconds secret_ttl{300};     // 0..3600
  std::chrono::seconds parameter_ttl{300};  // 0..3600
  size_t max_entries = 1000;                // secrets and parameters together
  bool ignore_transient_errors = true;
};

class AgentCache {
 public:
  AgentCache(SecretsBackend* backend, const Clock* clock, CacheOptions options)
      : backend_(backend), clock_(clock), options_(options) {}

  AgentReply Secret(const SecretQuery& query);
  AgentReply Parameter(const ParameterQuery& query);

  // Makes every cached entry of this secret (by its name or ARN) stale, so its next read checks
  // it with DescribeSecret. Returns how many entries it touched.
  size_t ExpireSecret(const std::string& name_or_arn);
  size_t size() const;

  // What push invalidation watches: each cached secret's ARN, the stage it was asked by
  // (AWSCURRENT when none) and the version held; entries asked by version id alone never move.
  struct WatchedSecret {
    std::string arn, stage, version_id;
    bool operator<(const WatchedSecret& o) const {
      return std::tie(arn, stage, version_id) < std::tie(o.arn, o.stage, o.version_id);
    }
  };
  std::vector<WatchedSecret> WatchedSecrets() const;
  // Called (without the lock) after a secret's answer is stored: the watched set may differ.
  void SetOnSecretStored(std::function<void()> stored) { on_secret_stored_ = std::move(stored); }

 private:
  struct Entry {
    std::string key;
    SecretBytes body;        // the answer, as served
    std::string version_id;  // Secrets Manager: the version the answer is
    std::string arn, name;
    std::string stage;  // the stage asked for ("" when a version id alone was)
    EpochMillis fresh_until = 0;
  };
  using Lru = std::list<Entry>;

  // Under mu_. The entry, moved to the front, or nullptr.
  Entry* Find(const std::string& key);
  void Store(Entry entry);
  AgentReply Serve(const std::string& key, bool refresh_ttl, std::chrono::seconds ttl);
  AgentReply FetchSecret(const std::string& key, const SecretQuery& query, bool stale_present);

  SecretsBackend* backend_;
  const Clock* clock_;
  const CacheOptions options_;
  mutable std::mutex mu_;
  Lru lru_;
  std::unordered_map<std::string, Lru::iterator> index_;
  std::function<void()> on_secret_stored_;
};

// The reply for a failed call: the service's status and {"__type","message"}; unreachable is
// 502 ConnectionError, as the AWS agent answers.
AgentReply FailureReply(const client::CallFailure& failure);

}  // namespace coffer::agent
