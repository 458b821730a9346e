#include "monitoring/alarms_api.h"

#include <algorithm>
#include <string>
#include <utility>

#include "core/ids.h"
#include "core/time_format.h"
#include "monitoring/alarms.h"

namespace coffer::monitoring {
namespace json = boost::json;
namespace {

constexpr int kHistoryPage = 100;

std::string Query(const std::map<std::string, std::string>& query, const char* name) {
  auto it = query.find(name);
  return it == query.end() ? std::string() : it->second;
}

Result<json::object> Describe(Store* store, const std::string& account) {
  json::array alarms;
  json::object settings;
  COFFER_RETURN_IF_ERROR(store->Read([&](StoreReader& r) -> Status {
    std::map<std::string, AlarmSettings> effective;
    for (Alarm alarm : kAlarms) {
      COFFER_ASSIGN_OR_RETURN(AlarmSettings s, AlarmEvaluator::SettingsOf(r, account, alarm));
      effective[std::string(AlarmName(alarm))] = s;
      settings[AlarmName(alarm)] = SettingsJson(alarm, s);
    }
    COFFER_ASSIGN_OR_RETURN(auto states, r.alarms().ListStates(account));
    for (const auto& st : states) {
      std::optional<Alarm> alarm = AlarmNamed(st.alarm);
      if (!alarm) continue;
      json::object o{
          {"AlarmName", st.alarm},    {"AlarmArn", AlarmArn(account, st.region, st.alarm)},
          {"Region", st.region},      {"StateValue", st.state},
          {"StateReason", st.reason}, {"StateUpdatedTimestamp", FormatIso8601(st.updated_ms)},
          {"Statistic", "Sum"}};
      if (!st.reason_data.empty()) o["StateReasonData"] = st.reason_data;
      for (auto& [k, v] : SettingsJson(*alarm, effective[st.alarm])) o[k] = v;
      alarms.push_back(std::move(o));
    }
    return Status::Ok();
  }));
  return json::object{{"MetricAlarms", std::move(alarms)}, {"Settings", std::move(settings)}};
}

Result<json::object> History(Store* store, const std::string& account, const std::string& alarm,
                             const std::string& token) {
  if (!alarm.empty() && !AlarmNamed(alarm)) {
    return Status(ErrorCode::kValidationError, "No built-in alarm is named '" + alarm + "'.");
  }
  int64_t before = 0;
  if (!token.empty()) {
    const bool digits =
        std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || token.size() > 18) {
      return Status(ErrorCode::kInvalidNextToken, "The NextToken is not valid.");
    }
    before = std::stoll(token);
  }
  json::array items;
  int64_t last = 0;
  size_t n = 0;
  COFFER_RETURN_IF_ERROR(store->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto rows,
                            r.alarms().ListHistory(account, alarm, before, kHistoryPage));
    n = rows.size();
    for (const auto& h : rows) {
      last = h.id;
      items.push_back(json::object{{"AlarmName", h.alarm},
                                   {"AlarmType", "MetricAlarm"},
                                   {"Region", h.region},
                                   {"Timestamp", FormatIso8601(h.time_ms)},
                                   {"HistoryItemType", h.type},
                                   {"HistorySummary", h.summary},
                                   {"HistoryData", h.data}});
    }
    return Status::Ok();
  }));
  json::object out{{"AlarmHistoryItems", std::move(items)}};
  if (n == static_cast<size_t>(kHistoryPage)) out["NextToken"] = std::to_string(last);
  return out;
}

Result<json::object> Configure(Store* store, const json::object& body, const std::string& account,
                               EpochMillis now) {
  std::string name;
  const json::object* settings = nullptr;
  bool reset = false;
  for (const auto& [key, v] : body) {
    if (key == "AlarmName" && v.is_string()) {
      name = v.get_string();
    } else if (key == "Settings" && v.is_object()) {
      settings = &v.get_object();
    } else if (key == "Reset" && v.is_bool()) {
      reset = v.as_bool();
    } else if (key != "Account") {
      return Status(ErrorCode::kValidationError,
                    "Unknown or malformed member '" + std::string(key) + "'.");
    }
  }
  std::optional<Alarm> alarm = AlarmNamed(name);
  if (!alarm)
    return Status(ErrorCode::kValidationError, "No built-in alarm is named '" + name + "'.");
  if (reset == (settings != nullptr)) {
    return Status(ErrorCode::kValidationError, "Give either Settings or \"Reset\": true.");
  }
  if (settings != nullptr) {
    AlarmSettings checked = DefaultSettings(*alarm);
    COFFER_RETURN_IF_ERROR(ApplySettings(*alarm, *settings, &checked));
  }
  AlarmSettings effective;
  COFFER_RETURN_IF_ERROR(store->Write([&](StoreWriter& w) -> Status {
    if (reset) {
      COFFER_RETURN_IF_ERROR(w.alarms().DeleteSettings(account, name));
    } else {
      COFFER_RETURN_IF_ERROR(
          w.alarms().PutSettings({account, name, json::serialize(*settings), now}));
    }
    COFFER_ASSIGN_OR_RETURN(effective, AlarmEvaluator::SettingsOf(w, account, *alarm));
    return Status::Ok();
  }));
  return json::object{
      {"AlarmName", name}, {"Account", account}, {"Settings", SettingsJson(*alarm, effective)}};
}

}  // namespace

Result<std::string> EndpointAccount(const std::string& named, const std::string& caller_account,
                                    bool is_operator, bool every_account_allowed) {
  if (named.empty() || named == caller_account) return caller_account;
  if (!is_operator) {
    return Status(ErrorCode::kAccessDeniedException,
                  "Only the deployment operator may act on another account's alarms and sinks.");
  }
  if (named == kEveryAccount && every_account_allowed) return named;
  if (!IsValidAccountId(named)) {
    return Status(ErrorCode::kValidationError,
                  "Account must be a 12-digit account id" +
                      std::string(every_account_allowed ? " or \"*\"." : "."));
  }
  return named;
}

Result<json::object> HandleAlarmsCall(Store* store, std::string_view method, std::string_view path,
                                      const std::map<std::string, std::string>& query,
                                      const json::object& body, const std::string& caller_account,
                                      bool is_operator, EpochMillis now) {
  if (path == "/coffer/alarms" && method == "POST") {
    std::string named;
    if (auto* a = body.if_contains("Account"); a != nullptr && a->is_string())
      named = a->get_string();
    COFFER_ASSIGN_OR_RETURN(std::string account,
                            EndpointAccount(named, caller_account, is_operator, true));
    return Configure(store, body, account, now);
  }
  if (method != "GET") return Status(ErrorCode::kMethodNotAllowed, "Use GET.");
  COFFER_ASSIGN_OR_RETURN(std::string account, EndpointAccount(Query(query, "Account"),
                                                               caller_account, is_operator, false));
  if (path == "/coffer/alarms") return Describe(store, account);
  return History(store, account, Query(query, "AlarmName"), Query(query, "NextToken"));
}

}  // namespace coffer::monitoring
