// GetAccessSummary: what the dashboard (/ui/) charts of the trail, in one call: secret reads per
// period (in all and for the most-read secrets), denied and unauthorized calls, authentication
// failures, rotation outcomes, reads and denials per principal, and the latest denials,
// authentication failures and rotations.
//
// coffer's own operation, not CloudTrail's: AWS JSON 1.1, target prefix CofferInsights_20261207,
// signed for the service "cloudtrail" and authorized as cloudtrail:LookupEvents — every figure is
// a count of records LookupEvents would return to the same caller, so a principal that may not
// look up the trail sees none of them. Like LookupEvents it sees the caller's account and the
// region its request is signed for.
//
// Counts come from the trail index's signal postings (store/audit_records.h), so a summary costs
// the records in its range, not the trail's history; authentication failures, which the trail does
// not record (audit/auth_failure_tally.h), come from the in-memory tally. No figure holds a
// secret's value: records never do.
#pragma once

#include <boost/json.hpp>
#include <string_view>

#include "audit/audit_trail.h"
#include "audit/auth_failure_tally.h"
#include "core/request_context.h"
#include "core/status.h"

namespace coffer::cloudtrail {

inline constexpr char kAccessSummaryTargetPrefix[] = "CofferInsights_20261207";

class AccessSummaryService {
 public:
  // `auth_failures` may be null (no authentication failures are shown).
  AccessSummaryService(audit::AuditTrail* trail, const audit::AuthFailureTally* auth_failures)
      : trail_(trail), auth_failures_(auth_failures) {}

  // Serves one operation (the part of X-Amz-Target after the prefix). Thread-safe.
  Result<boost::json::object> Handle(std::string_view operation, const RequestContext& ctx,
                                     const boost::json::object& input);

  // At most this many buckets a summary, and this many secrets charted one by one.
  static constexpr int64_t kMaxBuckets = 1440;
  static constexpr size_t kTopSecrets = 8;

 private:
  Result<boost::json::object> GetAccessSummary(const RequestContext& ctx,
                                               const boost::json::object& input);

  audit::AuditTrail* trail_;
  const audit::AuthFailureTally* auth_failures_;
};

}  // namespace coffer::cloudtrail
