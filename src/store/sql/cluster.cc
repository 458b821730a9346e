// Tables of the nodes serving the store, of the one-node jobs' leases and of the signal counts
// each node publishes.
#include "store/cluster.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "store/sql/driver.h"
#include "store/sql/views.h"

namespace coffer::sql {
namespace {

class SqlCluster final : public ClusterView {
 public:
  explicit SqlCluster(Connection& conn) : c_(conn) {}

  Status PutNode(const NodeRow& n) override {
    COFFER_QUERY(q, c_,
                 "INSERT INTO cluster_nodes (node_id, name, sealed, started_ms, heartbeat_ms) "
                 "VALUES (?, ?, ?, ?, ?) ON CONFLICT (node_id) DO UPDATE SET name = excluded.name, "
                 "sealed = excluded.sealed, started_ms = excluded.started_ms, "
                 "heartbeat_ms = excluded.heartbeat_ms");
    q.Bind(1, n.node_id).Bind(2, n.name).Bind(3, int64_t{n.sealed ? 1 : 0});
    q.Bind(4, n.started_ms).Bind(5, n.heartbeat_ms);
    q.Step();
    return q.status();
  }

  Status DeleteNode(const std::string& node_id) override {
    COFFER_QUERY(q, c_, "DELETE FROM cluster_nodes WHERE node_id = ?");
    q.Bind(1, node_id);
    q.Step();
    return q.status();
  }

  Result<int> ForgetNodesSilentSince(EpochMillis before_ms) override {
    COFFER_QUERY(q, c_, "DELETE FROM cluster_nodes WHERE heartbeat_ms < ?");
    q.Bind(1, before_ms);
    q.Step();
    COFFER_RETURN_IF_ERROR(q.status());
    return static_cast<int>(q.Changes());
  }

  Result<std::vector<NodeRow>> ListNodes() override {
    COFFER_QUERY(q, c_,
                 "SELECT node_id, name, sealed, started_ms, heartbeat_ms FROM "
                 "cluster_nodes ORDER BY name, node_id");
    std::vector<NodeRow> out;
    while (q.Step()) {
      NodeRow n;
      n.node_id = q.Text(0);
      n.name = q.Text(1);
      n.sealed = q.Int(2) != 0;
      n.started_ms = q.Int(3);
      n.heartbeat_ms = q.Int(4);
      out.push_back(std::move(n));
    }
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Result<std::optional<std::string>> JobLeaseHolder(const std::string& job) override {
    COFFER_QUERY(q, c_, "SELECT node_id FROM job_leases WHERE job = ?");
    q.Bind(1, job);
    std::optional<std::string> holder;
    if (q.Step()) holder = q.Text(0);
    COFFER_RETURN_IF_ERROR(q.status());
    return holder;
  }

  Status SetJobLeaseHolder(const std::string& job, const std::string& node_id,
                           EpochMillis now) override {
    COFFER_QUERY(q, c_,
                 "INSERT INTO job_leases (job, node_id, taken_ms) VALUES (?, ?, ?) ON CONFLICT "
                 "(job) DO UPDATE SET node_id = excluded.node_id, taken_ms = excluded.taken_ms");
    q.Bind(1, job).Bind(2, node_id).Bind(3, now);
    q.Step();
    return q.status();
  }

  Status PutSignalCounts(const std::string& node_id,
                         const std::vector<SignalCountRow>& rows) override {
    for (const auto& r : rows) {
      COFFER_QUERY(q, c_,
                   "INSERT INTO node_signal_counts (node_id, account, region, kind, slot_ms, n) "
                   "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (node_id, account, region, kind, "
                   "slot_ms) DO UPDATE SET n = excluded.n");
      q.Bind(1, node_id).Bind(2, r.account).Bind(3, r.region).Bind(4, r.kind);
      q.Bind(5, r.slot_ms).Bind(6, r.n);
      q.Step();
      COFFER_RETURN_IF_ERROR(q.status());
    }
    return Status::Ok();
  }

  Result<std::vector<int64_t>> SumSignalCounts(const std::string& account,
                                               const std::string& region, int64_t kind,
                                               EpochMillis start_ms, EpochMillis bucket_ms,
                                               size_t buckets) override {
    std::vector<int64_t> out(buckets, 0);
    if (buckets == 0 || bucket_ms <= 0) return out;
    COFFER_QUERY(q, c_,
                 "SELECT slot_ms, SUM(n) FROM node_signal_counts WHERE account = ? AND "
                 "region = ? AND kind = ? AND slot_ms >= ? AND slot_ms < ? GROUP BY slot_ms");
    q.Bind(1, account).Bind(2, region).Bind(3, kind).Bind(4, start_ms);
    q.Bind(5, start_ms + bucket_ms * static_cast<int64_t>(buckets));
    while (q.Step()) {
      const auto i = static_cast<size_t>((q.Int(0) - start_ms) / bucket_ms);
      if (i < buckets) out[i] += q.Int(1);
    }
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Result<std::vector<std::pair<std::string, std::string>>> SignalCountScopes(
      EpochMillis since_ms) override {
    COFFER_QUERY(q, c_,
                 "SELECT DISTINCT account, region FROM node_signal_counts WHERE slot_ms >= ? "
                 "ORDER BY account, region");
    q.Bind(1, since_ms);
    std::vector<std::pair<std::string, std::string>> out;
    while (q.Step()) out.emplace_back(q.Text(0), q.Text(1));
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Result<int> ForgetSignalCountsBefore(EpochMillis before_ms) override {
    COFFER_QUERY(q, c_, "DELETE FROM node_signal_counts WHERE slot_ms < ?");
    q.Bind(1, before_ms);
    q.Step();
    COFFER_RETURN_IF_ERROR(q.status());
    return static_cast<int>(q.Changes());
  }

 private:
  Connection& c_;
};

}  // namespace

std::unique_ptr<ClusterView> NewClusterView(Connection& conn) {
  return std::make_unique<SqlCluster>(conn);
}

}  // namespace coffer::sql
