// The CloudWatch service, for coffer's built-in alarms (monitoring/alarms.h): DescribeAlarms and
// DescribeAlarmHistory as the AWS CLI, boto3 and the JS SDK call them (AWS JSON 1.0, target
// prefix GraniteServiceVersion20100801, signing name "monitoring"), so `aws cloudwatch
// describe-alarms` shows the four alarms of the caller's account in the region it signs for.
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarmHistory.html
//
// The alarms exist in every account and region; one not evaluated there yet is
// INSUFFICIENT_DATA. They have no actions (notifications go to sinks: monitoring/notifications.h),
// so an ActionPrefix matches none, and there are no composite alarms. IAM:
// cloudwatch:DescribeAlarms and cloudwatch:DescribeAlarmHistory on
// arn:aws:cloudwatch:REGION:ACCOUNT:alarm:*.
#pragma once

#include <boost/json.hpp>
#include <string_view>

#include "core/request_context.h"
#include "core/status.h"
#include "store/store.h"

namespace coffer::cloudwatch {

class CloudWatchService {
 public:
  explicit CloudWatchService(Store* store) : store_(store) {}

  // Serves one operation (the part of X-Amz-Target after the prefix). Thread-safe.
  Result<boost::json::object> Handle(std::string_view operation, const RequestContext& ctx,
                                     const boost::json::object& input);

 private:
  Result<boost::json::object> DescribeAlarms(const RequestContext& ctx,
                                             const boost::json::object& input);
  Result<boost::json::object> DescribeAlarmHistory(const RequestContext& ctx,
                                                   const boost::json::object& input);

  Store* store_;
};

}  // namespace coffer::cloudwatch
