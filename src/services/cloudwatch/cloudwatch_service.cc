#include "services/cloudwatch/cloudwatch_service.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "monitoring/alarms.h"
#include "protocol/json_input.h"
#include "protocol/page_token.h"

namespace coffer::cloudwatch {
namespace json = boost::json;
namespace {

constexpr int kMaxRecords = 100;

std::string AlarmArn(const RequestContext& ctx, std::string_view name) {
  return monitoring::AlarmArn(ctx.scope.account, ctx.scope.region, name);
}

Status Authorize(const RequestContext& ctx, const char* action) {
  return ctx.Authorize({.action = action, .resource = AlarmArn(ctx, "*")});
}

Result<std::optional<EpochMillis>> Timestamp(const json::object& input, std::string_view member) {
  return EpochMillisMember(input, member, ErrorCode::kInvalidParameterValue,
                           "Invalid " + std::string(member) + ".");
}

// One alarm as DescribeAlarms' MetricAlarm.
json::object MetricAlarm(const RequestContext& ctx, monitoring::Alarm alarm,
                         const monitoring::AlarmSettings& s, const AlarmStateRow& state) {
  json::object o{{"AlarmName", monitoring::AlarmName(alarm)},
                 {"AlarmArn", AlarmArn(ctx, monitoring::AlarmName(alarm))},
                 {"AlarmDescription", "coffer's built-in alarm"},
                 {"ActionsEnabled", s.actions_enabled},
                 {"OKActions", json::array{}},
                 {"AlarmActions", json::array{}},
                 {"InsufficientDataActions", json::array{}},
                 {"StateValue", state.state},
                 {"StateReason", state.reason},
                 {"StateUpdatedTimestamp", EpochSeconds(state.updated_ms)},
                 {"StateTransitionedTimestamp", EpochSeconds(state.updated_ms)},
                 {"MetricName", monitoring::MetricName(alarm)},
                 {"Namespace", "coffer"},
                 {"Statistic", "Sum"},
                 {"Dimensions", json::array{}},
                 {"Period", s.period_seconds},
                 {"EvaluationPeriods", s.evaluation_periods},
                 {"DatapointsToAlarm", s.datapoints_to_alarm},
                 {"Threshold", s.threshold},
                 {"ComparisonOperator", "GreaterThanOrEqualToThreshold"},
                 {"TreatMissingData", "notBreaching"}};
  if (!state.reason_data.empty()) o["StateReasonData"] = state.reason_data;
  return o;
}

}  // namespace

Result<json::object> CloudWatchService::Handle(std::string_view operation,
                                               const RequestContext& ctx,
                                               const json::object& input) {
  Result<json::object> out = Status(ErrorCode::kInternalFailure, "");
  if (operation == "DescribeAlarms") {
    out = DescribeAlarms(ctx, input);
  } else if (operation == "DescribeAlarmHistory") {
    out = DescribeAlarmHistory(ctx, input);
  } else {
    return Status(ErrorCode::kUnknownOperationException,
                  "coffer's CloudWatch serves DescribeAlarms and DescribeAlarmHistory; " +
                      std::string(operation) + " is not served.");
  }
  // CloudWatch answers with the query protocol's codes in its JSON protocol too.
  if (!out.ok() && out.status().code() == ErrorCode::kAccessDeniedException) {
    return Status(ErrorCode::kAccessDenied, out.status().message());
  }
  if (!out.ok() && out.status().code() == ErrorCode::kValidationException) {
    return Status(ErrorCode::kValidationError, out.status().message());
  }
  return out;
}

Result<json::object> CloudWatchService::DescribeAlarms(const RequestContext& ctx,
                                                       const json::object& input) {
  JsonInput in(input);
  auto names = in.StringList("AlarmNames", {.min_len = 1, .max_len = 255}, 100);
  auto prefix = in.String("AlarmNamePrefix", {.min_len = 1, .max_len = 255});
  auto types = in.StringList("AlarmTypes");
  auto state_value = in.String("StateValue");
  auto action_prefix = in.String("ActionPrefix", {.min_len = 1, .max_len = 1024});
  auto max_records = in.Int("MaxRecords", {.min = 1, .max = kMaxRecords});
  auto token = in.String("NextToken");
  (void)in.String("ChildrenOfAlarmName");
  (void)in.String("ParentsOfAlarmName");
  if (state_value && *state_value != "OK" && *state_value != "ALARM" &&
      *state_value != "INSUFFICIENT_DATA") {
    in.AddViolation("StateValue", *state_value, true,
                    "Member must satisfy enum value set: [INSUFFICIENT_DATA, ALARM, OK]");
  }
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (names && prefix) {
    return Status(ErrorCode::kInvalidParameterCombination,
                  "AlarmNames and AlarmNamePrefix cannot be used together.");
  }
  COFFER_RETURN_IF_ERROR(Authorize(ctx, "cloudwatch:DescribeAlarms"));
  const std::string scope = "cloudwatch:alarms:" + ctx.scope.account + ":" + ctx.scope.region;
  auto position = DecodePageToken(scope, token);
  if (!position) return Status(ErrorCode::kInvalidNextToken, "The NextToken is not valid.");

  std::vector<json::object> alarms;
  const bool metric_alarms =
      !types || std::find(types->begin(), types->end(), "MetricAlarm") != types->end();
  if (metric_alarms && !action_prefix) {
    std::map<std::string, AlarmStateRow> states;
    std::vector<std::pair<monitoring::Alarm, monitoring::AlarmSettings>> settings;
    COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
      COFFER_ASSIGN_OR_RETURN(auto rows, r.alarms().ListStates(ctx.scope.account));
      for (auto& row : rows) {
        if (row.region == ctx.scope.region) states[row.alarm] = std::move(row);
      }
      for (monitoring::Alarm alarm : monitoring::kAlarms) {
        COFFER_ASSIGN_OR_RETURN(
            auto s, monitoring::AlarmEvaluator::SettingsOf(r, ctx.scope.account, alarm));
        settings.emplace_back(alarm, s);
      }
      return Status::Ok();
    }));
    // In name order, the order CloudWatch lists alarms in.
    std::sort(settings.begin(), settings.end(), [](const auto& a, const auto& b) {
      return monitoring::AlarmName(a.first) < monitoring::AlarmName(b.first);
    });
    for (const auto& [alarm, s] : settings) {
      const std::string name(monitoring::AlarmName(alarm));
      if (names && std::find(names->begin(), names->end(), name) == names->end()) continue;
      if (prefix && name.rfind(*prefix, 0) != 0) continue;
      if (!position->empty() && name <= *position) continue;
      AlarmStateRow state;
      if (auto it = states.find(name); it != states.end()) {
        state = it->second;
      } else {
        state.state = "INSUFFICIENT_DATA";
        state.reason = "Unchecked: Initial alarm creation";
      }
      if (state_value && state.state != *state_value) continue;
      alarms.push_back(MetricAlarm(ctx, alarm, s, state));
    }
  }
  const size_t page = static_cast<size_t>(max_records.value_or(50));
  json::object out{{"CompositeAlarms", json::array{}}};
  if (alarms.size() > page) {
    alarms.resize(page);
    out["NextToken"] =
        EncodePageToken(scope, json::value_to<std::string>(alarms.back().at("AlarmName")));
  }
  json::array metric;
  for (auto& a : alarms) metric.push_back(std::move(a));
  out["MetricAlarms"] = std::move(metric);
  return out;
}

Result<json::object> CloudWatchService::DescribeAlarmHistory(const RequestContext& ctx,
                                                             const json::object& input) {
  JsonInput in(input);
  auto name = in.String("AlarmName", {.min_len = 1, .max_len = 255});
  auto types = in.StringList("AlarmTypes");
  auto item_type = in.String("HistoryItemType");
  auto max_records = in.Int("MaxRecords", {.min = 1, .max = kMaxRecords});
  auto token = in.String("NextToken");
  auto scan_by = in.String("ScanBy");
  if (item_type && *item_type != "ConfigurationUpdate" && *item_type != "StateUpdate" &&
      *item_type != "Action" && *item_type != "AlarmContributorStateUpdate" &&
      *item_type != "AlarmContributorAction") {
    in.AddViolation("HistoryItemType", *item_type, true,
                    "Member must satisfy enum value set: [ConfigurationUpdate, StateUpdate, "
                    "Action, AlarmContributorStateUpdate, AlarmContributorAction]");
  }
  if (scan_by && *scan_by != "TimestampDescending" && *scan_by != "TimestampAscending") {
    in.AddViolation("ScanBy", *scan_by, true,
                    "Member must satisfy enum value set: [TimestampDescending, "
                    "TimestampAscending]");
  }
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(auto start, Timestamp(input, "StartDate"));
  COFFER_ASSIGN_OR_RETURN(auto end, Timestamp(input, "EndDate"));
  COFFER_RETURN_IF_ERROR(Authorize(ctx, "cloudwatch:DescribeAlarmHistory"));
  const bool oldest_first = scan_by && *scan_by == "TimestampAscending";
  const std::string scope = "cloudwatch:history:" + ctx.scope.account + ":" + ctx.scope.region +
                            ":" + name.value_or("") + ":" + (oldest_first ? "a" : "d");
  auto position = DecodePageToken(scope, token);
  if (!position) return Status(ErrorCode::kInvalidNextToken, "The NextToken is not valid.");
  int64_t cursor = 0;
  if (!position->empty()) cursor = std::stoll(*position);

  const bool metric_alarms =
      !types || std::find(types->begin(), types->end(), "MetricAlarm") != types->end();
  const size_t page = static_cast<size_t>(max_records.value_or(kMaxRecords));
  json::array items;
  int64_t last = cursor;
  bool more = false;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    // Rows of other regions, kinds and times are skipped; read in batches until a page is full.
    while (metric_alarms && !more) {
      COFFER_ASSIGN_OR_RETURN(
          auto rows,
          r.alarms().ListHistory(ctx.scope.account, name.value_or(""), last, 500, oldest_first));
      for (const auto& h : rows) {
        if (items.size() == page) {
          more = true;
          break;
        }
        last = h.id;
        if (h.region != ctx.scope.region || (item_type && h.type != *item_type) ||
            (start && h.time_ms < *start) || (end && h.time_ms > *end)) {
          continue;
        }
        items.push_back(json::object{{"AlarmName", h.alarm},
                                     {"AlarmType", "MetricAlarm"},
                                     {"Timestamp", EpochSeconds(h.time_ms)},
                                     {"HistoryItemType", h.type},
                                     {"HistorySummary", h.summary},
                                     {"HistoryData", h.data}});
      }
      if (rows.size() < 500) break;
    }
    return Status::Ok();
  }));
  json::object out{{"AlarmHistoryItems", std::move(items)}};
  if (more) out["NextToken"] = EncodePageToken(scope, std::to_string(last));
  return out;
}

}  // namespace coffer::cloudwatch
