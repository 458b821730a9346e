// The nodes that serve one store, and which node runs each job that must run on one node only.
//
// These rows coordinate processes; no read cache holds them, so they are written through
// Store::Coordinate, which advances no change counter (a heartbeat every few seconds must not
// empty every node's caches). Error contract: store/deployment.h.
#pragma once

#include <optional>
#include <string>
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
};

}  // namespace coffer
