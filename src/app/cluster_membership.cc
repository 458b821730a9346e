#include "app/cluster_membership.h"

#include <utility>

#include "core/ids.h"

namespace coffer {

ClusterMembership::ClusterMembership(Store* store, const Keyring* keyring, const Clock* clock,
                                     std::string name)
    : store_(store),
      keyring_(keyring),
      clock_(clock),
      node_id_(NewUuid()),
      started_ms_(clock->NowMillis()),
      name_(std::move(name)) {}

void ClusterMembership::set_name(std::string name) {
  std::lock_guard lock(mu_);
  name_ = std::move(name);
}

Status ClusterMembership::Report() {
  const EpochMillis now = clock_->NowMillis();
  NodeRow row;
  row.node_id = node_id_;
  {
    std::lock_guard lock(mu_);
    row.name = name_;
  }
  row.sealed = keyring_->sealed();
  row.started_ms = started_ms_;
  row.heartbeat_ms = now;
  Status written = store_->Coordinate([&](ClusterView& c) -> Status {
    COFFER_RETURN_IF_ERROR(c.PutNode(row));
    return c.ForgetNodesSilentSince(now - kForgetAfterMs).status();
  });
  std::lock_guard lock(mu_);
  if (written.ok()) last_report_ms_ = now;
  // A sealed node's leases are for others to take: ask again once unsealed.
  if (row.sealed) leases_.clear();
  return written;
}

Status ClusterMembership::Leave() {
  {
    std::lock_guard lock(mu_);
    leases_.clear();
  }
  return store_->Coordinate([&](ClusterView& c) { return c.DeleteNode(node_id_); });
}

Result<bool> ClusterMembership::AskForLease(const std::string& job, EpochMillis now) {
  bool held = false;
  COFFER_RETURN_IF_ERROR(store_->Coordinate([&](ClusterView& c) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto holder, c.JobLeaseHolder(job));
    if (holder && *holder == node_id_) {
      held = true;
      return Status::Ok();
    }
    if (holder) {
      COFFER_ASSIGN_OR_RETURN(auto nodes, c.ListNodes());
      for (const auto& n : nodes) {
        if (n.node_id == *holder && !n.sealed && n.heartbeat_ms >= now - kSilenceMs) {
          return Status::Ok();  // held by a live node
        }
      }
    }
    held = true;
    return c.SetJobLeaseHolder(job, node_id_, now);
  }));
  return held;
}

bool ClusterMembership::HoldsLease(const std::string& job) {
  const EpochMillis now = clock_->NowMillis();
  if (keyring_->sealed()) return false;  // its rows say sealed: the lease is for others to take
  {
    std::lock_guard lock(mu_);
    // Without a recent report of its own, another node may already have taken the lease.
    if (last_report_ms_ < now - (kSilenceMs - 2 * kReportEveryMs)) {
      leases_.erase(job);
      return false;
    }
    auto it = leases_.find(job);
    if (it != leases_.end() && it->second.asked_ms >= now - kReportEveryMs) return it->second.held;
  }
  auto held = AskForLease(job, now);
  std::lock_guard lock(mu_);
  leases_[job] = {held.ok() && *held, now};
  return held.ok() && *held;
}

Result<std::vector<ClusterMembership::Node>> ClusterMembership::Nodes() {
  const EpochMillis now = clock_->NowMillis();
  std::vector<NodeRow> rows;
  COFFER_RETURN_IF_ERROR(store_->Coordinate([&](ClusterView& c) -> Status {
    COFFER_ASSIGN_OR_RETURN(rows, c.ListNodes());
    return Status::Ok();
  }));
  std::vector<Node> out;
  for (auto& row : rows) {
    Node n;
    n.alive = row.heartbeat_ms >= now - kSilenceMs;
    n.self = row.node_id == node_id_;
    n.row = std::move(row);
    out.push_back(std::move(n));
  }
  return out;
}

}  // namespace coffer
