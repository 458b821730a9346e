#include "agent/push_invalidation.h"

#include <openssl/rand.h>

#include <iostream>

namespace coffer::agent {

namespace json = boost::json;

namespace {

constexpr int kWaitSeconds = 20;
constexpr auto kMaxBackoff = std::chrono::seconds(30);

std::string RandomWatchId() {
  unsigned char bytes[16];
  RAND_bytes(bytes, sizeof bytes);
  static const char kHex[] = "0123456789abcdef";
  std::string id;
  for (unsigned char b : bytes) {
    id += kHex[b >> 4];
    id += kHex[b & 15];
  }
  return id;
}

}  // namespace

PushInvalidation::PushInvalidation(const client::AwsClient* client, AgentCache* cache)
    : client_(client), cache_(cache), watch_id_(RandomWatchId()) {}

PushInvalidation::~PushInvalidation() { Stop(); }

void PushInvalidation::Start() {
  cache_->SetOnSecretStored([this] { Rewatch(); });
  thread_ = std::thread([this] { Loop(); });
}

void PushInvalidation::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cancel_ = true;
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PushInvalidation::Rewatch() {
  {
    std::lock_guard lock(mu_);
    changed_ = true;
  }
  cancel_ = true;
  wake_.notify_all();
}

void PushInvalidation::Loop() {
  auto backoff = std::chrono::seconds(1);
  std::unique_lock lock(mu_);
  while (!stopping_) {
    auto watched = cache_->WatchedSecrets();
    if (watched.empty()) {
      state_ = State::kIdle;
      wake_.wait(lock, [&] { return stopping_ || changed_; });
      changed_ = false;
      continue;
    }
    changed_ = false;
    cancel_ = false;
    lock.unlock();
    json::array secrets;
    for (const auto& w : watched) {
      secrets.push_back(json::object{
          {"SecretId", w.arn}, {"VersionId", w.version_id}, {"VersionStage", w.stage}});
    }
    state_ = State::kWatching;
    auto reply = client_->CallJson(
        "secretsmanager", "coffer.WatchSecretVersions",
        {{"Secrets", std::move(secrets)}, {"WaitSeconds", kWaitSeconds}, {"WatchId", watch_id_}},
        "", &cancel_, std::chrono::seconds(kWaitSeconds + 10));
    lock.lock();
    if (stopping_) break;
    if (reply.ok()) {
      backoff = std::chrono::seconds(1);
      if (const auto* changed = reply.value->if_contains("Changed");
          changed && changed->is_array()) {
        for (const auto& c : changed->get_array()) {
          if (!c.is_object()) continue;
          if (const auto* arn = c.get_object().if_contains("ARN"); arn && arn->is_string()) {
            invalidations_ += cache_->ExpireSecret(std::string(arn->get_string()));
          }
        }
      }
      continue;
    }
    if (changed_) continue;  // abandoned for a new watched set
    if (reply.failure.code == "UnknownOperationException") {
      // Not a coffer server: the TTL alone, as the AWS agent does.
      state_ = State::kUnsupported;
      std::cerr << "coffer agent: the server has no push invalidation; entries refresh after "
                   "their TTL\n";
      wake_.wait(lock, [&] { return stopping_; });
      break;
    }
    // Down, throttled, or refused (a secret no longer describable): retry later; the TTL
    // keeps serving meanwhile.
    state_ = State::kRetrying;
    std::cerr << "coffer agent: push invalidation paused (" << reply.failure.code
              << "); retrying in " << backoff.count() << " s\n";
    wake_.wait_for(lock, backoff, [&] { return stopping_; });
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

}  // namespace coffer::agent
