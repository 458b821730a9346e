// DenialAudit: every authorization denial is counted (per service, exposed at GET /metrics in
// the Prometheus text format) and recorded in coffer's event stream as the CloudTrail record
// of the failed call would read ("AWS API Call via CloudTrail", errorCode AccessDenied), with
// who asked, for what action on which resource, and from where — never request values.
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>

#include "core/request_context.h"
#include "store/store.h"

namespace coffer {

class DenialAudit {
 public:
  explicit DenialAudit(Store* store) : store_(store) {}

  void Record(const RequestContext& ctx, const AuthzCheck& check, const std::string& message);

  uint64_t total() const { return total_.load(std::memory_order_relaxed); }
  // "coffer_authz_denials_total{service="secretsmanager"} 3\n..."
  std::string PrometheusText() const;

 private:
  Store* store_;
  std::atomic<uint64_t> total_{0};
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> by_service_;
};

}  // namespace coffer
