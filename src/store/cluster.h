// The nodes that serve one store, and which node runs each job that must run on one node only.
//
// These rows coordinate processes; no read cache holds them, so they are written through
// Store::Coordinate, which advances no change counter (a heartbeat every few seconds must not
// empty every node's caches). Error contract: store/deployment.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace coffer {

// A coffer process serving the store. `node_id` is new at every start; `name` is the operator's
// (--node-name: by default the host and the listening port).
struct NodeRow {
  std::string node_id;
  std::string name;
  bool sealed = true;
  EpochMillis started_ms = 0;
  EpochMillis heartbeat_ms = 0;  // the node's clock when it last reported
};

// How many events of one kind (an audit signal, an authentication failure: audit/slot_counts.h)
// a node counted in one (account, region) and slot of time. Each node publishes what it counted
// itself, so that the node evaluating the alarms counts what every node served.
struct SignalCountRow {
  std::string account;
  std::string region;
  int64_t kind = 0;
  EpochMillis slot_ms = 0;  // the slot's start
  int64_t n = 0;
};

class ClusterView {
 public:
  virtual ~ClusterView() = default;
  // Inserts or replaces the node's row.
  virtual Status PutNode(const NodeRow& node) = 0;
  virtual Status DeleteNode(const std::string& node_id) = 0;
  // Removes the rows of nodes silent since `before_ms`; returns how many.
  virtual Result<int> ForgetNodesSilentSince(EpochMillis before_ms) = 0;
  // Every node's row, by name then id.
  virtual Result<std::vector<NodeRow>> ListNodes() = 0;
  // The node holding `job`'s lease, if any node does.
  virtual Result<std::optional<std::string>> JobLeaseHolder(const std::string& job) = 0;
  // Gives `job`'s lease to `node_id` (whoever held it).
  virtual Status SetJobLeaseHolder(const std::string& job, const std::string& node_id,
                                   EpochMillis now) = 0;

  // Sets `node_id`'s count of each row's (account, region, kind, slot) to the row's n.
  virtual Status PutSignalCounts(const std::string& node_id,
                                 const std::vector<SignalCountRow>& rows) = 0;
  // Every node's counts of `kind` in (account, region), summed per bucket: `buckets` of
  // `bucket_ms` from `start_ms`.
  virtual Result<std::vector<int64_t>> SumSignalCounts(const std::string& account,
                                                       const std::string& region, int64_t kind,
                                                       EpochMillis start_ms, EpochMillis bucket_ms,
                                                       size_t buckets) = 0;
  // The (account, region) pairs counted in a slot starting at or after `since_ms`.
  virtual Result<std::vector<std::pair<std::string, std::string>>> SignalCountScopes(
      EpochMillis since_ms) = 0;
  // Removes the counts of slots that started before `before_ms`; returns how many.
  virtual Result<int> ForgetSignalCountsBefore(EpochMillis before_ms) = 0;
};

}  // namespace coffer
