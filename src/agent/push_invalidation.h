// PushInvalidation: `coffer agent`'s subscription to the server's secret versions (the long poll
// coffer.WatchSecretVersions, services/secrets/version_watch.h). It watches what the cache holds;
// when a rotation or a stage move changes one, the entry is made stale, so the next read fetches
// the new version: within a fraction of a second rather than after the TTL. When the server does
// not offer the poll (AWS itself: UnknownOperationException) it stops and the TTL alone rules;
// on other failures it tries again with backoff, the TTL ruling meanwhile. Runs one thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "agent/agent_cache.h"
#include "client/aws_client.h"

namespace coffer::agent {

class PushInvalidation {
 public:
  PushInvalidation(const client::AwsClient* client, AgentCache* cache);
  ~PushInvalidation();  // Stop()s

  void Start();
  void Stop();
  // The watched set changed: the waiting poll is abandoned and made again with it.
  void Rewatch();

  // For the log and tests: what the subscription is doing.
  enum class State { kIdle, kWatching, kRetrying, kUnsupported };
  State state() const { return state_.load(); }
  uint64_t invalidations() const { return invalidations_.load(); }

 private:
  void Loop();

  const client::AwsClient* client_;
  AgentCache* cache_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool changed_ = true;
  std::atomic<bool> cancel_{false};
  std::atomic<State> state_{State::kIdle};
  std::atomic<uint64_t> invalidations_{0};
  const std::string watch_id_;  // random per agent: its new poll replaces its abandoned one
  std::thread thread_;
};

}  // namespace coffer::agent
