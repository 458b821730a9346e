// The operator endpoints of the built-in alarms, answered for the operator API
// (protocol/operator_api.h), which verifies and authorizes the call first:
//
//   GET  /coffer/alarms[?Account=A]   the account's alarms in every region they were evaluated
//                                     in, as DescribeAlarms' MetricAlarms, and the account's
//                                     effective settings of each alarm
//   GET  /coffer/alarms/history[?AlarmName=N][&NextToken=T][&Account=A]
//                                     state changes, newest first, 100 a page, as
//                                     DescribeAlarmHistory's AlarmHistoryItems
//   POST /coffer/alarms               {"AlarmName", "Settings": {...}} sets an alarm's settings
//                                     (members as monitoring/alarms.h), {"AlarmName",
//                                     "Reset": true} returns it to the defaults; "Account"
//                                     (another account, or "*" for every account) is the
//                                     operator's
//
// An account's root reads and sets its own account's alarms; Account is for the operator.
#pragma once

#include <boost/json.hpp>
#include <map>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/status.h"
#include "store/store.h"

namespace coffer::monitoring {

// The account an endpoint's call acts on: the caller's, or for the operator the one `named`
// ("*", every account, where `every_account_allowed`). Errors: AccessDeniedException for
// another account's caller, ValidationError for a malformed id.
Result<std::string> EndpointAccount(const std::string& named, const std::string& caller_account,
                                    bool is_operator, bool every_account_allowed);

Result<boost::json::object> HandleAlarmsCall(Store* store, std::string_view method,
                                             std::string_view path,
                                             const std::map<std::string, std::string>& query,
                                             const boost::json::object& body,
                                             const std::string& caller_account, bool is_operator,
                                             EpochMillis now);

}  // namespace coffer::monitoring
