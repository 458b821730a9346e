// The CloudTrail service: LookupEvents over coffer's own trail, as the AWS CLI, boto3's
// paginator and the JS SDK call it (AWS JSON 1.1, target prefix
// com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101).
// https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html
//
// A lookup sees the caller's account and the region its request is signed for, the last 90 days
// (or the trail's retention, if shorter), newest first, at most 50 events a page; it needs
// cloudtrail:LookupEvents.
//
// ListPublicKeys returns the keys the trail's digest files are signed with (audit/log_delivery.h),
// as CloudTrail returns the keys `aws cloudtrail validate-logs` checks digests with.
// https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_ListPublicKeys.html
#pragma once

#include <boost/json.hpp>
#include <string_view>

#include "audit/audit_trail.h"
#include "audit/log_delivery.h"
#include "core/request_context.h"
#include "core/status.h"

namespace coffer::cloudtrail {

// How far back a lookup (and the dashboard's summary of the trail) sees: CloudTrail's 90 days.
inline constexpr EpochMillis kLookupWindowMs = 90LL * 24 * 3600 * 1000;

class CloudTrailService {
 public:
  // `delivery` may be null (no log files are delivered): ListPublicKeys returns no key.
  CloudTrailService(audit::AuditTrail* trail, const audit::LogDelivery* delivery)
      : trail_(trail), delivery_(delivery) {}

  // Serves one operation (the part of X-Amz-Target after the prefix). Thread-safe.
  Result<boost::json::object> Handle(std::string_view operation, const RequestContext& ctx,
                                     const boost::json::object& input);

 private:
  Result<boost::json::object> LookupEvents(const RequestContext& ctx,
                                           const boost::json::object& input);
  Result<boost::json::object> ListPublicKeys(const RequestContext& ctx,
                                             const boost::json::object& input);

  audit::AuditTrail* trail_;
  const audit::LogDelivery* delivery_;
};

}  // namespace coffer::cloudtrail
