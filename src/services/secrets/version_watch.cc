#include "services/secrets/version_watch.h"

#include "protocol/json_input.h"

namespace coffer::secrets {

namespace json = boost::json;

namespace {

constexpr auto kCheckInterval = std::chrono::milliseconds(100);
constexpr int kMaxWaitSeconds = 20;
constexpr size_t kMaxSecrets = 1000;
constexpr size_t kMaxWatchedPerServer = 10000;

json::object Answer(json::array changed) { return json::object{{"Changed", std::move(changed)}}; }

}  // namespace

SecretVersionWatch::~SecretVersionWatch() {
  EndAll();
  if (checker_.joinable()) checker_.join();
}

Result<json::array> SecretVersionWatch::Moved(const std::vector<Watched>& items) const {
  json::array moved;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    for (const auto& item : items) {
      COFFER_ASSIGN_OR_RETURN(auto versions, r.secrets().ListVersions(item.secret_id));
      std::string holder;
      for (const auto& v : versions) {
        for (const auto& stage : v.stages) {
          if (stage == item.stage) holder = v.version_id;
        }
      }
      if (holder == item.held) continue;
      json::object change{{"SecretId", item.given_id}, {"ARN", item.arn}};
      if (!holder.empty()) change["VersionId"] = holder;
      moved.push_back(std::move(change));
    }
    return Status::Ok();
  }));
  return moved;
}

Result<std::shared_ptr<LaterJson>> SecretVersionWatch::Watch(const RequestContext& ctx,
                                                             const json::object& input) {
  // The count before the first check: a write after it is seen by the checker's next pass.
  const uint64_t writes = store_->CommittedWrites();
  JsonInput in(input);
  const json::array* secrets = in.Array("Secrets", true);
  auto wait = in.Int("WaitSeconds", {.min = 0, .max = kMaxWaitSeconds});
  auto watch_id = in.String("WatchId", {.min_len = 1, .max_len = 64});
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (secrets->empty() || secrets->size() > kMaxSecrets) {
    return Status(ErrorCode::kInvalidParameterException,
                  "Secrets must hold between 1 and " + std::to_string(kMaxSecrets) + " items.");
  }
  Waiter waiter;
  for (const auto& entry : *secrets) {
    if (!entry.is_object()) {
      return Status(ErrorCode::kInvalidParameterException, "Each of Secrets must be an object.");
    }
    JsonInput item(entry.get_object());
    auto id = item.String("SecretId", {.required = true, .min_len = 1, .max_len = 2048});
    auto held = item.String("VersionId", {.required = true, .min_len = 32, .max_len = 64});
    auto stage = item.String("VersionStage", {.min_len = 1, .max_len = 256});
    COFFER_RETURN_IF_ERROR(item.Finish());
    COFFER_ASSIGN_OR_RETURN(SecretRow row, secrets_->DescribableSecret(ctx, *id));
    waiter.items.push_back({*id, row.id, row.arn, stage ? *stage : "AWSCURRENT", *held});
  }
  auto answer = std::make_shared<LaterJson>();
  COFFER_ASSIGN_OR_RETURN(json::array moved, Moved(waiter.items));
  const int wait_seconds = wait ? static_cast<int>(*wait) : kMaxWaitSeconds;
  std::unique_lock lock(mu_);
  if (watch_id) {
    waiter.watch_key = ctx.principal.arn + "\n" + *watch_id;
    ReplaceWaiting(waiter.watch_key);
  }
  if (!moved.empty() || wait_seconds == 0 || ending_) {
    lock.unlock();
    answer->Complete(Answer(std::move(moved)));
    return answer;
  }
  if (watched_ + waiter.items.size() > kMaxWatchedPerServer) {
    return Status(ErrorCode::kThrottlingException,
                  "This server watches as many secrets as it may; try again later.");
  }
  watched_ += waiter.items.size();
  waiter.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_seconds);
  waiter.writes_checked = writes;
  waiter.answer = answer;
  waiters_.push_back(std::move(waiter));
  if (!checker_.joinable()) checker_ = std::thread([this] { Loop(); });
  wake_.notify_one();
  return answer;
}

void SecretVersionWatch::ReplaceWaiting(const std::string& watch_key) {
  for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
    if (it->watch_key != watch_key) continue;
    it->answer->Complete(Answer({}));  // LaterJson's callback only posts: safe under mu_
    watched_ -= it->items.size();
    waiters_.erase(it);
    return;
  }
  // The checker may hold it at this moment: it answers it when it is done.
  if (checking_) replaced_.insert(watch_key);
}

void SecretVersionWatch::Loop() {
  std::unique_lock lock(mu_);
  while (!ending_) {
    if (waiters_.empty()) {
      wake_.wait(lock, [&] { return ending_ || !waiters_.empty(); });
      continue;
    }
    wake_.wait_for(lock, kCheckInterval);
    if (ending_) break;
    // Checked without the lock: new calls register meanwhile and are seen next pass.
    std::vector<Waiter> waiting = std::move(waiters_);
    waiters_.clear();
    checking_ = true;
    lock.unlock();
    const uint64_t writes = store_->CommittedWrites();
    const auto now = std::chrono::steady_clock::now();
    std::vector<Waiter> still;
    size_t answered_items = 0;
    for (auto& w : waiting) {
      json::array moved;
      if (w.writes_checked != writes) {
        auto found = Moved(w.items);
        if (!found.ok()) {
          w.answer->Complete(found.status());
          answered_items += w.items.size();
          continue;
        }
        moved = std::move(*found);
        w.writes_checked = writes;
      }
      if (!moved.empty() || now >= w.deadline) {
        w.answer->Complete(Answer(std::move(moved)));
        answered_items += w.items.size();
      } else {
        still.push_back(std::move(w));
      }
    }
    lock.lock();
    checking_ = false;
    watched_ -= answered_items;
    if (ending_) {  // EndAll ran while these were checked: answered here instead
      lock.unlock();
      for (auto& w : still) w.answer->Complete(Answer({}));
      return;
    }
    for (auto& w : still) {
      if (!w.watch_key.empty() && replaced_.count(w.watch_key)) {
        w.answer->Complete(Answer({}));
        watched_ -= w.items.size();
      } else {
        waiters_.push_back(std::move(w));
      }
    }
    replaced_.clear();
  }
}

void SecretVersionWatch::EndAll() {
  std::vector<Waiter> waiting;
  {
    std::lock_guard lock(mu_);
    ending_ = true;
    waiting = std::move(waiters_);
    waiters_.clear();
    watched_ = 0;
  }
  wake_.notify_all();
  for (auto& w : waiting) w.answer->Complete(Answer({}));
}

}  // namespace coffer::secrets
