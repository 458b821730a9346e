// DenialAudit: every authorization denial is counted (per service, exposed at GET /metrics in
// the Prometheus text format) and recorded in coffer's event stream as the CloudTrail record
// of the failed call would read ("AWS API Call via CloudTrail", errorCode AccessDenied), with
// who asked, for what action on which resource, and from where — never request values.
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
//
// A caller who is refused pays nothing to be refused again, so denials are aggregated rather
// than written one by one: Record only counts, in memory, per (account, region, principal,
// action, resource); Flush writes one event per such key with the first denial's record and
// additionalEventData {deniedCount, firstEventTime, lastEventTime}, in one transaction. At most
// kMaxKeysPerFlush keys are kept between flushes; further keys are folded into one per account
// (principal, action and resource "*"). So a flood of denials costs a bounded number of rows
// per flush, and event retention (Store::PruneEvents) bounds what stays. Thread-safe.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "core/request_context.h"
#include "store/store.h"

namespace coffer {

class DenialAudit {
 public:
  static constexpr size_t kMaxKeysPerFlush = 1000;

  explicit DenialAudit(Store* store) : store_(store) {}

  // Counts one denial (no store write).
  void Record(const RequestContext& ctx, const AuthzCheck& check, const std::string& message);
  // Writes the denials counted since the last flush. Errors: the store's (the counts are kept
  // for the next flush).
  Status Flush();

  uint64_t total() const { return total_.load(std::memory_order_relaxed); }
  // "coffer_authz_denials_total{service="secretsmanager"} 3\n..."
  std::string PrometheusText() const;

 private:
  // account, region, principal ARN, action, resource
  using Key = std::tuple<std::string, std::string, std::string, std::string, std::string>;
  struct Pending {
    uint64_t seq = 0;  // order of the first denial
    uint64_t count = 0;
    EpochMillis first_ms = 0;
    EpochMillis last_ms = 0;
    EventRow first;  // the first denial's event, as it would have been written alone
  };
  static EventRow EventFor(const RequestContext& ctx, const AuthzCheck& check,
                           const std::string& message);

  Store* store_;
  std::atomic<uint64_t> total_{0};
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> by_service_;
  std::map<Key, Pending> pending_;
  uint64_t next_seq_ = 0;
};

}  // namespace coffer
