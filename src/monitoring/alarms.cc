#include "monitoring/alarms.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "core/ids.h"

namespace coffer::monitoring {
namespace json = boost::json;
namespace {

constexpr EpochMillis kDayMs = 24 * 3600'000LL;
constexpr EpochMillis kNearExpiryRefreshMs = 60'000;
constexpr char kDescribed[] = "coffer's built-in alarm";

Status Invalid(std::string message) {
  return Status(ErrorCode::kValidationError, std::move(message));
}

// "2019-10-02T17:04:40.985+0000", as CloudWatch writes times in alarm states and events.
std::string CloudWatchTime(EpochMillis t) {
  const std::time_t secs = static_cast<std::time_t>(t / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03d+0000", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(t % 1000));
  return buf;
}

// "02/10/19 16:59:00" (day/month/year), as CloudWatch names a datapoint in a state reason.
std::string ReasonTime(EpochMillis t) {
  const std::time_t secs = static_cast<std::time_t>(t / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[80];
  std::snprintf(buf, sizeof(buf), "%02d/%02d/%02d %02d:%02d:%02d", tm.tm_mday, tm.tm_mon + 1,
                tm.tm_year % 100, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", v);
  return buf;
}

bool ValidPeriod(int64_t seconds) {
  return seconds == 10 || seconds == 30 || (seconds >= 60 && seconds % 60 == 0);
}

json::object StateJson(const std::string& value, const std::string& reason,
                       const std::string& reason_data, EpochMillis t) {
  json::object o{{"value", value}, {"reason", reason}, {"timestamp", CloudWatchTime(t)}};
  if (!reason_data.empty()) o["reasonData"] = reason_data;
  return o;
}

}  // namespace

std::string_view AlarmName(Alarm alarm) {
  switch (alarm) {
    case Alarm::kSecretRotationFailed:
      return "SecretRotationFailed";
    case Alarm::kSecretAccessDenied:
      return "SecretAccessDenied";
    case Alarm::kUnauthorizedSecretAccess:
      return "UnauthorizedSecretAccess";
    case Alarm::kSecretNearExpiry:
      return "SecretNearExpiry";
  }
  return "";
}

std::string AlarmArn(const std::string& account, const std::string& region, std::string_view name) {
  return "arn:aws:cloudwatch:" + region + ":" + account + ":alarm:" + std::string(name);
}

std::optional<Alarm> AlarmNamed(std::string_view name) {
  for (Alarm a : kAlarms) {
    if (AlarmName(a) == name) return a;
  }
  return std::nullopt;
}

const char* MetricName(Alarm alarm) {
  switch (alarm) {
    case Alarm::kSecretRotationFailed:
      return "RotationFailures";
    case Alarm::kSecretAccessDenied:
      return "AccessDenied";
    case Alarm::kUnauthorizedSecretAccess:
      return "UnauthorizedAccess";
    case Alarm::kSecretNearExpiry:
      return "SecretsNearExpiry";
  }
  return "";
}

AlarmSettings DefaultSettings(Alarm alarm) {
  AlarmSettings s;
  if (alarm == Alarm::kSecretAccessDenied) s.threshold = 5;
  if (alarm == Alarm::kSecretNearExpiry) s.period_seconds = 3600;
  return s;
}

Status ApplySettings(Alarm alarm, const json::object& in, AlarmSettings* settings) {
  AlarmSettings s = *settings;
  auto integer = [&](const json::value& v, const char* name, int64_t lo, int64_t hi,
                     int64_t* out) -> Status {
    if (!v.is_int64() || v.as_int64() < lo || v.as_int64() > hi) {
      return Invalid(std::string(name) + " must be an integer from " + std::to_string(lo) + " to " +
                     std::to_string(hi) + ".");
    }
    *out = v.as_int64();
    return Status::Ok();
  };
  for (const auto& [key, v] : in) {
    int64_t n = 0;
    if (key == "Period") {
      COFFER_RETURN_IF_ERROR(integer(v, "Period", 10, 86'400, &n));
      if (!ValidPeriod(n)) return Invalid("Period must be 10, 30 or a multiple of 60 seconds.");
      s.period_seconds = n;
    } else if (key == "EvaluationPeriods") {
      COFFER_RETURN_IF_ERROR(integer(v, "EvaluationPeriods", 1, 100, &n));
      s.evaluation_periods = static_cast<int>(n);
    } else if (key == "DatapointsToAlarm") {
      COFFER_RETURN_IF_ERROR(integer(v, "DatapointsToAlarm", 1, 100, &n));
      s.datapoints_to_alarm = static_cast<int>(n);
    } else if (key == "Threshold") {
      if (!v.is_number() || v.to_number<double>() < 0 || !std::isfinite(v.to_number<double>())) {
        return Invalid("Threshold must be a number of 0 or more.");
      }
      s.threshold = v.to_number<double>();
    } else if (key == "ActionsEnabled") {
      if (!v.is_bool()) return Invalid("ActionsEnabled must be true or false.");
      s.actions_enabled = v.as_bool();
    } else if (alarm == Alarm::kSecretNearExpiry && key == "WithinDays") {
      COFFER_RETURN_IF_ERROR(integer(v, "WithinDays", 0, 3650, &s.within_days));
    } else if (alarm == Alarm::kSecretNearExpiry && key == "MaxAgeDays") {
      COFFER_RETURN_IF_ERROR(integer(v, "MaxAgeDays", 1, 36'500, &s.max_age_days));
    } else {
      return Invalid("Unknown setting '" + std::string(key) + "' of the alarm " +
                     std::string(AlarmName(alarm)) + ".");
    }
  }
  if (s.datapoints_to_alarm > s.evaluation_periods) {
    return Invalid("DatapointsToAlarm must be at most EvaluationPeriods.");
  }
  if (s.period_seconds * s.evaluation_periods > 7 * 86'400) {
    return Invalid("Period times EvaluationPeriods must be at most one week.");
  }
  *settings = s;
  return Status::Ok();
}

json::object SettingsJson(Alarm alarm, const AlarmSettings& s) {
  json::object o{{"Period", s.period_seconds},
                 {"EvaluationPeriods", s.evaluation_periods},
                 {"DatapointsToAlarm", s.datapoints_to_alarm},
                 {"Threshold", s.threshold},
                 {"ComparisonOperator", "GreaterThanOrEqualToThreshold"},
                 {"TreatMissingData", "notBreaching"},
                 {"ActionsEnabled", s.actions_enabled}};
  if (alarm == Alarm::kSecretNearExpiry) {
    o["WithinDays"] = s.within_days;
    o["MaxAgeDays"] = s.max_age_days;
  }
  return o;
}

Status ApplySettingsFile(const std::string& path, Store* store, EpochMillis now) {
  std::ifstream in(path);
  if (!in) return Invalid("cannot read the alarms file " + path);
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  json::value doc = json::parse(text.str(), ec);
  if (ec || !doc.is_object()) return Invalid(path + " is not a JSON object");
  std::vector<AlarmSettingsRow> rows;
  auto alarms_of = [&](const std::string& account, const json::value& v) -> Status {
    if (!v.is_object()) return Invalid(path + ": the alarms of " + account + " must be an object");
    for (const auto& [name, settings] : v.get_object()) {
      std::optional<Alarm> alarm = AlarmNamed(name);
      if (!alarm) return Invalid(path + ": no built-in alarm is named " + std::string(name));
      if (!settings.is_object())
        return Invalid(path + ": " + std::string(name) + " must be an object");
      AlarmSettings s = DefaultSettings(*alarm);
      Status applied = ApplySettings(*alarm, settings.get_object(), &s);
      if (!applied.ok()) return Invalid(path + ": " + std::string(name) + ": " + applied.message());
      rows.push_back({account, std::string(name), json::serialize(settings), now});
    }
    return Status::Ok();
  };
  for (const auto& [key, v] : doc.get_object()) {
    if (key == "Alarms") {
      COFFER_RETURN_IF_ERROR(alarms_of(kEveryAccount, v));
    } else if (key == "Accounts" && v.is_object()) {
      for (const auto& [account, alarms] : v.get_object()) {
        if (!IsValidAccountId(account))
          return Invalid(path + ": '" + std::string(account) + "' is no account id");
        COFFER_RETURN_IF_ERROR(alarms_of(std::string(account), alarms));
      }
    } else {
      return Invalid(path + ": unknown member '" + std::string(key) +
                     "' (expected Alarms and Accounts)");
    }
  }
  return store->Write([&](StoreWriter& w) -> Status {
    for (const auto& row : rows) COFFER_RETURN_IF_ERROR(w.alarms().PutSettings(row));
    return Status::Ok();
  });
}

namespace {

// The defaults, then the settings of every account, then the account's own.
AlarmSettings Resolve(const std::vector<AlarmSettingsRow>& rows, const std::string& account,
                      Alarm alarm) {
  AlarmSettings s = DefaultSettings(alarm);
  for (const std::string& who : {std::string(kEveryAccount), account}) {
    for (const auto& row : rows) {
      if (row.account != who || row.alarm != AlarmName(alarm)) continue;
      boost::system::error_code ec;
      json::value v = json::parse(row.settings, ec);
      // Stored rows were checked when written; one that no longer parses is left out.
      if (!ec && v.is_object()) (void)ApplySettings(alarm, v.get_object(), &s);
    }
  }
  return s;
}

std::string Datapoint(double v, EpochMillis t) { return Number(v) + " (" + ReasonTime(t) + ")"; }

// The state `d` puts the alarm in, with CloudWatch's reason and reason data.
AlarmStateRow Judge(const AuditScope& scope, Alarm alarm, const AlarmSettings& s,
                    const AlarmEvaluator::Datapoints& d, EpochMillis now) {
  AlarmStateRow row;
  row.account = scope.account;
  row.region = scope.region;
  row.alarm = std::string(AlarmName(alarm));
  row.updated_ms = now;
  if (!d.available) {
    row.state = "INSUFFICIENT_DATA";
    row.reason = d.unavailable_reason;
    return row;
  }
  const EpochMillis period = s.period_seconds * 1000;
  json::array recent;
  json::array evaluated;
  std::string listed;
  std::string breaching_listed;
  int breaching = 0;
  for (size_t i = d.values.size(); i-- > 0;) {  // newest first, as CloudWatch lists them
    const EpochMillis t = d.start_ms + static_cast<EpochMillis>(i) * period;
    recent.push_back(d.values[i]);
    evaluated.push_back(json::object{{"timestamp", CloudWatchTime(t)}, {"value", d.values[i]}});
    listed += (listed.empty() ? "" : ", ") + Datapoint(d.values[i], t);
    if (d.values[i] >= s.threshold) {
      ++breaching;
      breaching_listed += (breaching_listed.empty() ? "" : ", ") + Datapoint(d.values[i], t);
    }
  }
  const std::string threshold = Number(s.threshold);
  const auto n = d.values.size();
  if (breaching >= s.datapoints_to_alarm) {
    row.state = "ALARM";
    row.reason = "Threshold Crossed: " + std::to_string(breaching) + " out of the last " +
                 std::to_string(n) + " datapoints [" + breaching_listed +
                 "] was greater than or equal to the threshold (" + threshold + ") (minimum " +
                 std::to_string(s.datapoints_to_alarm) + " datapoint for OK -> ALARM transition).";
  } else {
    row.state = "OK";
    row.reason = "Threshold Crossed: " + std::to_string(n) +
                 (n == 1 ? " datapoint [" : " datapoints [") + listed + "] " +
                 (n == 1 ? "was" : "were") + " not greater than or equal to the threshold (" +
                 threshold + ").";
  }
  json::object data{{"version", "1.0"},
                    {"queryDate", CloudWatchTime(now)},
                    {"startDate", CloudWatchTime(d.start_ms)},
                    {"statistic", "Sum"},
                    {"period", s.period_seconds},
                    {"recentDatapoints", std::move(recent)},
                    {"threshold", s.threshold},
                    {"evaluatedDatapoints", std::move(evaluated)}};
  row.reason_data = json::serialize(data);
  return row;
}

}  // namespace

Result<AlarmSettings> AlarmEvaluator::SettingsOf(StoreReader& r, const std::string& account,
                                                 Alarm alarm) {
  COFFER_ASSIGN_OR_RETURN(auto rows, r.alarms().ListSettings());
  return Resolve(rows, account, alarm);
}

AlarmEvaluator::Datapoints AlarmEvaluator::CountDatapoints(const AuditScope& scope, Alarm alarm,
                                                           const AlarmSettings& s,
                                                           EpochMillis now) {
  Datapoints d;
  const EpochMillis period = s.period_seconds * 1000;
  if (alarm == Alarm::kSecretNearExpiry) {
    // A count of what is near expiry now: one datapoint, of the current period.
    d.start_ms = now / period * period;
    auto counts = near_expiry_.find({s.within_days, s.max_age_days});
    int64_t n = 0;
    if (counts != near_expiry_.end()) {
      auto it = counts->second.find({scope.account, scope.region});
      if (it != counts->second.end()) n = it->second;
    }
    d.values.push_back(static_cast<double>(n));
    return d;
  }
  // The last EvaluationPeriods whole periods, aligned to the clock as CloudWatch aligns them.
  const EpochMillis end = now / period * period;
  d.start_ms = end - period * s.evaluation_periods;
  d.values.assign(static_cast<size_t>(s.evaluation_periods), 0);
  auto add_signal = [&](AuditSignal signal) {
    if (publish_) {
      AddPublished(scope, SignalBit(signal), period, d);
      return;
    }
    AuditSignalQuery q;
    q.account = scope.account;
    q.region = scope.region;
    q.signal = signal;
    q.start_ms = d.start_ms;
    q.end_ms = end;
    q.bucket_ms = period;
    auto counts = trail_ != nullptr ? trail_->CountSignal(q)
                                    : Result<std::vector<int64_t>>(std::vector<int64_t>{});
    if (!counts.ok()) {
      d.available = false;
      d.unavailable_reason = "coffer could not read its audit trail: " + counts.status().message();
      return;
    }
    for (size_t i = 0; i < counts->size() && i < d.values.size(); ++i) {
      d.values[i] += static_cast<double>((*counts)[i]);
    }
  };
  switch (alarm) {
    case Alarm::kSecretRotationFailed:
      add_signal(AuditSignal::kRotationFailed);
      break;
    case Alarm::kSecretAccessDenied:
      add_signal(AuditSignal::kSecretAccessDenied);
      break;
    case Alarm::kUnauthorizedSecretAccess: {
      add_signal(AuditSignal::kUnauthorizedSecretAccess);
      if (publish_) {
        AddPublished(scope, audit::kAuthenticationFailure, period, d);
      } else if (auth_ != nullptr) {
        auto failures =
            auth_->Count(scope.account, scope.region, d.start_ms, period, d.values.size());
        for (size_t i = 0; i < failures.size(); ++i)
          d.values[i] += static_cast<double>(failures[i]);
      }
      break;
    }
    case Alarm::kSecretNearExpiry:
      break;
  }
  return d;
}

void AlarmEvaluator::AddPublished(const AuditScope& scope, int64_t kind, EpochMillis period,
                                  Datapoints& d) {
  std::vector<int64_t> sums;
  Status read = store_->Coordinate([&](ClusterView& c) -> Status {
    COFFER_ASSIGN_OR_RETURN(sums, c.SumSignalCounts(scope.account, scope.region, kind, d.start_ms,
                                                    period, d.values.size()));
    return Status::Ok();
  });
  if (!read.ok()) {
    d.available = false;
    d.unavailable_reason = "coffer could not read the nodes' counts: " + read.message();
    return;
  }
  for (size_t i = 0; i < sums.size() && i < d.values.size(); ++i) {
    d.values[i] += static_cast<double>(sums[i]);
  }
}

Status AlarmEvaluator::Evaluate() {
  if (publish_) {
    // This node's counts first, so that what it served up to now is counted with the others'.
    COFFER_RETURN_IF_ERROR(publish_());
  }
  const EpochMillis now = clock_->NowMillis();
  std::vector<AlarmSettingsRow> settings_rows;
  std::vector<AlarmStateRow> states;
  std::set<std::pair<std::string, std::string>> scopes;
  // What is near expiry, for each (WithinDays, MaxAgeDays) some account uses.
  const bool refresh = near_expiry_at_ms_ < 0 || now - near_expiry_at_ms_ >= kNearExpiryRefreshMs;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(settings_rows, r.alarms().ListSettings());
    COFFER_ASSIGN_OR_RETURN(states, r.alarms().ListStates(""));
    COFFER_ASSIGN_OR_RETURN(auto accounts, r.deployment().ListAccounts());
    if (!refresh) return Status::Ok();
    near_expiry_.clear();
    std::set<std::pair<int64_t, int64_t>> wanted;
    for (const auto& account : accounts) {
      const AlarmSettings s = Resolve(settings_rows, account, Alarm::kSecretNearExpiry);
      wanted.insert({s.within_days, s.max_age_days});
    }
    for (const auto& [within, max_age] : wanted) {
      auto& counts = near_expiry_[{within, max_age}];
      COFFER_ASSIGN_OR_RETURN(
          auto secrets, r.secrets().CountNearExpiry(now + within * kDayMs, now - max_age * kDayMs));
      for (const auto& c : secrets) counts[{c.account, c.region}] += c.rotation_due + c.unrotated;
      COFFER_ASSIGN_OR_RETURN(auto parameters, r.parameters().ListExpired(now + within * kDayMs));
      for (const auto& p : parameters) ++counts[{p.account, p.region}];
    }
    near_expiry_at_ms_ = now;
    return Status::Ok();
  }));
  for (const auto& st : states) scopes.insert({st.account, st.region});
  if (publish_) {
    // Every scope a node counted something in, within the longest window an alarm may look
    // back (Period x EvaluationPeriods is at most a week).
    COFFER_RETURN_IF_ERROR(store_->Coordinate([&](ClusterView& c) -> Status {
      COFFER_ASSIGN_OR_RETURN(auto counted, c.SignalCountScopes(now - kPublishedCountsKeptMs));
      scopes.insert(counted.begin(), counted.end());
      return Status::Ok();
    }));
  } else if (trail_ != nullptr) {
    auto seen = trail_->Scopes();
    if (seen.ok()) {
      for (const auto& sc : *seen) scopes.insert({sc.account, sc.region});
    }
  }
  if (auth_ != nullptr && !publish_) {
    for (const auto& sc : auth_->Scopes()) scopes.insert({sc.account, sc.region});
  }
  for (const auto& [key, counts] : near_expiry_) {
    for (const auto& [scope, n] : counts) scopes.insert(scope);
  }

  std::map<std::tuple<std::string, std::string, std::string>, const AlarmStateRow*> by_key;
  for (const auto& st : states) by_key[{st.account, st.region, st.alarm}] = &st;
  std::map<std::pair<std::string, std::string>, int64_t> counts;
  Status first_failure;
  for (const auto& [account, region] : scopes) {
    const AuditScope scope{account, region};
    for (Alarm alarm : kAlarms) {
      const AlarmSettings s = Resolve(settings_rows, account, alarm);
      std::optional<AlarmStateRow> before;
      if (auto it = by_key.find({account, region, std::string(AlarmName(alarm))});
          it != by_key.end()) {
        before = *it->second;
      }
      AlarmStateRow after = Judge(scope, alarm, s, CountDatapoints(scope, alarm, s, now), now);
      ++counts[{std::string(AlarmName(alarm)), after.state}];
      if (before && before->state == after.state) continue;
      Status written = Transition(scope, alarm, s, before, std::move(after));
      if (!written.ok() && first_failure.ok()) first_failure = written;
    }
  }
  {
    std::lock_guard lock(mu_);
    state_counts_ = std::move(counts);
  }
  return first_failure;
}

Status AlarmEvaluator::Transition(const AuditScope& scope, Alarm alarm, const AlarmSettings& s,
                                  const std::optional<AlarmStateRow>& before, AlarmStateRow after) {
  // Before its first evaluation an alarm is INSUFFICIENT_DATA, as a new CloudWatch alarm is.
  AlarmStateRow previous;
  if (before) {
    previous = *before;
  } else {
    previous.state = "INSUFFICIENT_DATA";
    previous.reason = "Unchecked: Initial alarm creation";
    previous.updated_ms = after.updated_ms;
  }
  const std::string name(AlarmName(alarm));
  AlarmHistoryRow history;
  history.account = scope.account;
  history.region = scope.region;
  history.alarm = name;
  history.time_ms = after.updated_ms;
  history.type = "StateUpdate";
  history.summary = "Alarm updated from " + previous.state + " to " + after.state;
  auto history_state = [](const AlarmStateRow& st) {
    json::object o{{"stateValue", st.state}, {"stateReason", st.reason}};
    if (!st.reason_data.empty()) {
      boost::system::error_code ec;
      json::value v = json::parse(st.reason_data, ec);
      if (!ec) o["stateReasonData"] = std::move(v);
    }
    return o;
  };
  history.data = json::serialize(json::object{{"version", "1.0"},
                                              {"oldState", history_state(previous)},
                                              {"newState", history_state(after)}});
  EventRow event;
  event.time_ms = after.updated_ms;
  event.account = scope.account;
  event.region = scope.region;
  event.source = "aws.cloudwatch";
  event.detail_type = "CloudWatch Alarm State Change";
  event.resources = json::serialize(
      json::array{json::string(AlarmArn(scope.account, scope.region, AlarmName(alarm)))});
  json::object metric{
      {"id", "m1"},
      {"metricStat", json::object{{"metric", json::object{{"namespace", "coffer"},
                                                          {"name", MetricName(alarm)},
                                                          {"dimensions", json::object{}}}},
                                  {"period", s.period_seconds},
                                  {"stat", "Sum"}}},
      {"returnData", true}};
  event.detail = json::serialize(json::object{
      {"alarmName", name},
      {"state", StateJson(after.state, after.reason, after.reason_data, after.updated_ms)},
      {"previousState",
       StateJson(previous.state, previous.reason, previous.reason_data, previous.updated_ms)},
      {"configuration",
       json::object{{"description", kDescribed}, {"metrics", json::array{std::move(metric)}}}}});
  return store_->Write([&](StoreWriter& w) -> Status {
    COFFER_RETURN_IF_ERROR(w.alarms().PutState(after));
    COFFER_RETURN_IF_ERROR(w.alarms().AppendHistory(history));
    return s.actions_enabled ? w.events().Append(event) : Status::Ok();
  });
}

std::string AlarmEvaluator::PrometheusText() const {
  std::string out =
      "# HELP coffer_alarms Built-in alarms by name and state, counted over accounts and "
      "regions.\n# TYPE coffer_alarms gauge\n";
  std::lock_guard lock(mu_);
  for (Alarm alarm : kAlarms) {
    for (const char* state : {"OK", "ALARM", "INSUFFICIENT_DATA"}) {
      auto it = state_counts_.find({std::string(AlarmName(alarm)), state});
      out += "coffer_alarms{alarm=\"" + std::string(AlarmName(alarm)) + "\",state=\"" + state +
             "\"} " + std::to_string(it == state_counts_.end() ? 0 : it->second) + "\n";
    }
  }
  return out;
}

}  // namespace coffer::monitoring
