#include "agent/agent_cache.h"

#include <openssl/crypto.h>

#include <set>

namespace coffer::agent {

namespace json = boost::json;

namespace {

constexpr char kSeparator = '\n';  // not a character of names, ARNs, version ids or stages

std::string Text(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// Whether DescribeSecret says the cached version is still what the query asks for.
bool StillCurrent(const json::object& described, const std::string& cached_version,
                  const SecretQuery& query) {
  const auto* stages = described.if_contains("VersionIdsToStages");
  if (stages == nullptr || !stages->is_object()) return false;
  const auto* labels = stages->get_object().if_contains(cached_version);
  if (labels == nullptr || !labels->is_array()) return false;
  if (query.version_stage.empty() && !query.version_id.empty()) return true;  // still exists
  const std::string stage = query.version_stage.empty() ? "AWSCURRENT" : query.version_stage;
  for (const auto& label : labels->get_array()) {
    if (label.is_string() && label.get_string() == stage) return true;
  }
  return false;
}

AgentReply BodyReply(const SecretBytes& body) {
  return AgentReply{200, std::string(body.Reveal()), "application/json"};
}

SecretBytes Serialize(json::object& answer) {
  std::string text = json::serialize(answer);
  SecretBytes body(text);
  OPENSSL_cleanse(text.data(), text.size());
  for (const char* member : {"SecretString", "SecretBinary"}) {
    if (auto* v = answer.if_contains(member); v && v->is_string()) {
      OPENSSL_cleanse(v->get_string().data(), v->get_string().size());
    }
  }
  if (auto* p = answer.if_contains("Parameter"); p && p->is_object()) {
    if (auto* v = p->get_object().if_contains("Value"); v && v->is_string()) {
      OPENSSL_cleanse(v->get_string().data(), v->get_string().size());
    }
  }
  return body;
}

}  // namespace

client::CallResult<json::object> AwsSecretsBackend::GetSecretValue(const SecretQuery& query) {
  json::object input{{"SecretId", query.secret_id}};
  if (!query.version_id.empty()) input["VersionId"] = query.version_id;
  if (!query.version_stage.empty()) input["VersionStage"] = query.version_stage;
  return client_.CallJson("secretsmanager", "secretsmanager.GetSecretValue", input);
}

client::CallResult<json::object> AwsSecretsBackend::DescribeSecret(const std::string& secret_id) {
  return client_.CallJson("secretsmanager", "secretsmanager.DescribeSecret",
                          {{"SecretId", secret_id}});
}

client::CallResult<json::object> AwsSecretsBackend::GetParameter(const ParameterQuery& query) {
  return client_.CallJson("ssm", "AmazonSSM.GetParameter",
                          {{"Name", query.name}, {"WithDecryption", query.with_decryption}});
}

AgentReply FailureReply(const client::CallFailure& failure) {
  if (failure.http_status == 0) return ServiceErrorReply(502, "ConnectionError", "Read Error");
  return ServiceErrorReply(failure.http_status, failure.code, failure.message);
}

AgentCache::Entry* AgentCache::Find(const std::string& key) {
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return &*it->second;
}

void AgentCache::Store(Entry entry) {
  std::lock_guard lock(mu_);
  if (auto it = index_.find(entry.key); it != index_.end()) {
    lru_.erase(it->second);
    index_.erase(it);
  }
  while (!lru_.empty() && lru_.size() >= options_.max_entries) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
  lru_.push_front(std::move(entry));
  index_[lru_.front().key] = lru_.begin();
}

AgentReply AgentCache::Serve(const std::string& key, bool refresh_ttl, std::chrono::seconds ttl) {
  std::lock_guard lock(mu_);
  Entry* entry = Find(key);
  if (entry == nullptr) return ServiceErrorReply(500, "InternalFailure", "");
  if (refresh_ttl) {
    entry->fresh_until =
        clock_->NowMillis() + std::chrono::duration_cast<std::chrono::milliseconds>(ttl).count();
  }
  return BodyReply(entry->body);
}

AgentReply AgentCache::FetchSecret(const std::string& key, const SecretQuery& query,
                                   bool stale_present) {
  auto answer = backend_->GetSecretValue(query);
  if (!answer.ok()) {
    if (stale_present && !query.refresh_now && options_.ignore_transient_errors &&
        answer.failure.transient()) {
      return Serve(key, false, options_.secret_ttl);
    }
    return FailureReply(answer.failure);
  }
  Entry entry;
  entry.key = key;
  entry.version_id = Text(*answer.value, "VersionId");
  entry.arn = Text(*answer.value, "ARN");
  entry.name = Text(*answer.value, "Name");
  entry.stage = !query.version_stage.empty() ? query.version_stage
                : query.version_id.empty()   ? "AWSCURRENT"
                                             : "";
  entry.body = Serialize(*answer.value);
  entry.fresh_until =
      clock_->NowMillis() +
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.secret_ttl).count();
  AgentReply reply = BodyReply(entry.body);
  if (options_.secret_ttl.count() > 0) {
    Store(std::move(entry));
    if (on_secret_stored_) on_secret_stored_();
  }
  return reply;
}

AgentReply AgentCache::Secret(const SecretQuery& query) {
  const std::string key =
      "s" + query.secret_id + kSeparator + query.version_id + kSeparator + query.version_stage;
  if (options_.secret_ttl.count() == 0 || query.refresh_now) {
    std::unique_lock lock(mu_);
    const bool present = Find(key) != nullptr;
    lock.unlock();
    return FetchSecret(key, query, present);
  }
  std::string cached_version;
  {
    std::lock_guard lock(mu_);
    Entry* entry = Find(key);
    if (entry == nullptr) {
      cached_version.clear();
    } else if (clock_->NowMillis() < entry->fresh_until) {
      return BodyReply(entry->body);
    } else {
      cached_version = entry->version_id;
    }
  }
  if (cached_version.empty()) return FetchSecret(key, query, false);
  // Stale: is the cached version still the one asked for?
  auto described = backend_->DescribeSecret(query.secret_id);
  if (described.ok() ? StillCurrent(*described.value, cached_version, query)
                     : options_.ignore_transient_errors && described.failure.transient()) {
    return Serve(key, true, options_.secret_ttl);
  }
  if (!described.ok()) return FailureReply(described.failure);
  return FetchSecret(key, query, true);
}

AgentReply AgentCache::Parameter(const ParameterQuery& query) {
  const std::string key = "p" + query.name + kSeparator + (query.with_decryption ? "1" : "0");
  bool stale_present = false;
  if (options_.parameter_ttl.count() > 0) {
    std::lock_guard lock(mu_);
    if (Entry* entry = Find(key)) {
      if (clock_->NowMillis() < entry->fresh_until) return BodyReply(entry->body);
      stale_present = true;
    }
  }
  auto answer = backend_->GetParameter(query);
  if (!answer.ok()) {
    if (stale_present && options_.ignore_transient_errors && answer.failure.transient()) {
      return Serve(key, false, options_.parameter_ttl);
    }
    return FailureReply(answer.failure);
  }
  Entry entry;
  entry.key = key;
  if (auto* p = answer.value->if_contains("Parameter"); p && p->is_object()) {
    entry.name = Text(p->get_object(), "Name");
    entry.arn = Text(p->get_object(), "ARN");
  }
  entry.body = Serialize(*answer.value);
  entry.fresh_until =
      clock_->NowMillis() +
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.parameter_ttl).count();
  AgentReply reply = BodyReply(entry.body);
  if (options_.parameter_ttl.count() > 0) Store(std::move(entry));
  return reply;
}

size_t AgentCache::ExpireSecret(const std::string& name_or_arn) {
  std::lock_guard lock(mu_);
  size_t touched = 0;
  for (auto& entry : lru_) {
    if (entry.key[0] == 's' && (entry.arn == name_or_arn || entry.name == name_or_arn)) {
      entry.fresh_until = 0;
      ++touched;
    }
  }
  return touched;
}

std::vector<AgentCache::WatchedSecret> AgentCache::WatchedSecrets() const {
  std::lock_guard lock(mu_);
  std::set<WatchedSecret> watched;
  for (const auto& entry : lru_) {
    if (entry.key[0] == 's' && !entry.stage.empty() && !entry.arn.empty()) {
      watched.insert({entry.arn, entry.stage, entry.version_id});
    }
  }
  return {watched.begin(), watched.end()};
}

size_t AgentCache::size() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}

}  // namespace coffer::agent
