// ClusterMembership: this process as one of the nodes serving a store (store/cluster.h).
//
// Several coffer nodes may serve one PostgreSQL store behind a load balancer; a SQLite store has
// one node at a time. Each node reports every 2 s (its row: name, sealed or not, when); a node
// silent for 15 s is taken for dead, and one silent for a day is forgotten.
//
// Jobs that must run on one node at a time (the maintenance pass, notification delivery, the
// alarms, scheduled backups) run on the node holding their lease. A node takes a lease no node
// holds, or whose holder is dead or sealed, and keeps it while it reports and stays unsealed:
// so a job moves only when its node dies or seals, and runs again on another node within about
// 15 s. Rotation runs have leases of their own, lapsing by the same rule
// (rotation/rotation_engine.h). Nodes' clocks must agree to within a few seconds (NTP), as
// request signatures already require. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.h"
#include "keyring/keyring.h"
#include "store/store.h"

namespace coffer {

class ClusterMembership {
 public:
  static constexpr EpochMillis kReportEveryMs = 2000;
  static constexpr EpochMillis kSilenceMs = 15000;             // then taken for dead
  static constexpr EpochMillis kForgetAfterMs = 86400 * 1000;  // then its row is removed

  // `name` is how operators tell the node (host and port); the node id is new at every start.
  ClusterMembership(Store* store, const Keyring* keyring, const Clock* clock, std::string name);

  const std::string& node_id() const { return node_id_; }
  void set_name(std::string name);

  // Writes this node's row (a background job, every kReportEveryMs, sealed or not) and forgets
  // nodes silent for a day.
  Status Report();
  // Removes this node's row, as a node stopping on purpose; its leases lapse at once.
  Status Leave();

  // Whether this node holds `job`'s lease now, taking it when it is free. Asks the store at
  // most every kReportEveryMs per job; between asks a held lease stays held only while this
  // node's reports succeed, since another node may take it once they stop.
  bool HoldsLease(const std::string& job);

  struct Node {
    NodeRow row;
    bool alive = false;  // reported within kSilenceMs
    bool self = false;   // this process
  };
  // Every node the store knows, by name.
  Result<std::vector<Node>> Nodes();

 private:
  Result<bool> AskForLease(const std::string& job, EpochMillis now);

  Store* store_;
  const Keyring* keyring_;
  const Clock* clock_;
  const std::string node_id_;
  const EpochMillis started_ms_;
  std::mutex mu_;
  std::string name_;                // under mu_
  EpochMillis last_report_ms_ = 0;  // under mu_: the last report that was written
  struct Lease {
    bool held = false;
    EpochMillis asked_ms = 0;
  };
  std::map<std::string, Lease> leases_;  // under mu_
};

}  // namespace coffer
