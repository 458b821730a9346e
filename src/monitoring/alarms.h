// The four built-in alarms of coffer's monitoring, evaluated as CloudWatch evaluates a metric
// alarm, per account and region:
//
//   SecretRotationFailed      rotations that failed or were abandoned (RotationFailed and
//                             RotationAbandoned in the trail), Sum per period >= 1
//   SecretAccessDenied        Secrets Manager calls refused by policy, Sum per period >= 5
//   UnauthorizedSecretAccess  authentication failures with the account's keys (bad signatures,
//                             expired session tokens: audit/auth_failure_tally.h) plus calls a
//                             secret's resource policy refused, Sum per period >= 1
//   SecretNearExpiry          secrets whose rotation is overdue or due within WithinDays (14),
//                             secrets with rotation off whose current value is older than
//                             MaxAgeDays (90), and parameters whose Expiration policy falls within
//                             WithinDays: how many, at evaluation time, >= 1
//
// Counts come from the audit trail's signal tallies (store/audit_records.h), so an alarm says
// what the trail says. Each alarm has CloudWatch's settings — Period (10, 30 or a multiple of 60
// seconds; 300 by default, 3600 for SecretNearExpiry), EvaluationPeriods (1), DatapointsToAlarm
// (1), Threshold, ActionsEnabled (true) — compared with GreaterThanOrEqualToThreshold over
// periods aligned to the clock, missing data treated as not breaching (a count of zero). They
// are set per account, or for every account ("*"), by the operator (`coffer operator alarms`)
// or a file given to the server (--alarms-config).
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
//
// States are OK, ALARM and INSUFFICIENT_DATA (before the first evaluation, or while the trail
// cannot be read). A change of state is stored with the alarm's history and, with
// ActionsEnabled, appended to the event stream as EventBridge's "CloudWatch Alarm State Change"
// (source aws.cloudwatch), which notifications deliver.
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html
#pragma once

#include <array>
#include <boost/json.hpp>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit_trail.h"
#include "audit/auth_failure_tally.h"
#include "core/clock.h"
#include "core/status.h"
#include "store/store.h"

namespace coffer::monitoring {

enum class Alarm {
  kSecretRotationFailed,
  kSecretAccessDenied,
  kUnauthorizedSecretAccess,
  kSecretNearExpiry
};
inline constexpr std::array<Alarm, 4> kAlarms = {
    Alarm::kSecretRotationFailed, Alarm::kSecretAccessDenied, Alarm::kUnauthorizedSecretAccess,
    Alarm::kSecretNearExpiry};
std::string_view AlarmName(Alarm alarm);
std::optional<Alarm> AlarmNamed(std::string_view name);
// arn:aws:cloudwatch:REGION:ACCOUNT:alarm:NAME (NAME may be "*", every alarm).
std::string AlarmArn(const std::string& account, const std::string& region, std::string_view name);
// The metric an alarm watches (namespace "coffer"), as its configuration names it.
const char* MetricName(Alarm alarm);

// The settings row of every account: applies where an account has none of its own.
inline constexpr char kEveryAccount[] = "*";

struct AlarmSettings {
  int64_t period_seconds = 300;
  int evaluation_periods = 1;
  int datapoints_to_alarm = 1;
  double threshold = 1;
  bool actions_enabled = true;
  int64_t within_days = 14;   // SecretNearExpiry only
  int64_t max_age_days = 90;  // SecretNearExpiry only
};

AlarmSettings DefaultSettings(Alarm alarm);
// Sets the members `json` names (Period, EvaluationPeriods, DatapointsToAlarm, Threshold,
// ActionsEnabled; WithinDays and MaxAgeDays for SecretNearExpiry) on `settings`, checked as
// PutMetricAlarm checks them: ValidationError naming what is wrong, `settings` unchanged then.
Status ApplySettings(Alarm alarm, const boost::json::object& json, AlarmSettings* settings);
boost::json::object SettingsJson(Alarm alarm, const AlarmSettings& settings);

// Writes the settings a file holds: {"Alarms": {"<AlarmName>": {...}}, "Accounts":
// {"<account>": {"<AlarmName>": {...}}}} — "Alarms" for every account. An account's settings
// are set over those of every account, which are set over the defaults. Each alarm the file
// names replaces what was stored for it; the rest is left as the operator set it. The file is
// checked whole before anything is written.
Status ApplySettingsFile(const std::string& path, Store* store, EpochMillis now);

class AlarmEvaluator {
 public:
  AlarmEvaluator(Store* store, audit::AuditTrail* trail, const audit::AuthFailureTally* auth,
                 const Clock* clock)
      : store_(store), trail_(trail), auth_(auth), clock_(clock) {}

  // Evaluates every alarm in every account and region the trail, the authentication tally, the
  // store of secrets and the stored states know of; writes each change of state with its
  // history entry and event in one transaction.
  Status Evaluate();

  // On a store several nodes serve (Store::Shared): the counts are what every node published
  // (store/cluster.h: SignalCountRow) — this node's too, which `publish` writes first — instead
  // of this node's trail and authentication tally alone, which hold only what it served.
  void CountEveryNode(std::function<Status()> publish) { publish_ = std::move(publish); }
  // How long published counts are kept: the longest window an alarm looks back over (Period x
  // EvaluationPeriods, a week), and a day.
  static constexpr EpochMillis kPublishedCountsKeptMs = 8 * 24 * 3600'000LL;

  // The effective settings of `alarm` in `account`.
  static Result<AlarmSettings> SettingsOf(StoreReader& r, const std::string& account, Alarm alarm);

  // coffer_alarms{alarm,state}: how many (account, region) are in each state.
  std::string PrometheusText() const;

 public:
  // The datapoints of one evaluation.
  struct Datapoints {
    std::vector<double> values;  // oldest first, one per period
    EpochMillis start_ms = 0;    // of the first
    bool available = true;
    std::string unavailable_reason;
  };

 private:
  Datapoints CountDatapoints(const AuditScope& scope, Alarm alarm, const AlarmSettings& s,
                             EpochMillis now);
  // Adds the published counts of `kind`, summed over the nodes, to d's values; marks `d`
  // unavailable when the store cannot answer.
  void AddPublished(const AuditScope& scope, int64_t kind, EpochMillis period, Datapoints& d);
  Status Transition(const AuditScope& scope, Alarm alarm, const AlarmSettings& s,
                    const std::optional<AlarmStateRow>& before, AlarmStateRow after);

  Store* store_;
  audit::AuditTrail* trail_;
  const audit::AuthFailureTally* auth_;
  const Clock* clock_;
  std::function<Status()> publish_;  // set: count what every node published

  // The last near-expiry counts per (WithinDays, MaxAgeDays) an account uses, then per
  // (account, region); refreshed at most once a minute (they scan every secret).
  EpochMillis near_expiry_at_ms_ = -1;
  std::map<std::pair<int64_t, int64_t>, std::map<std::pair<std::string, std::string>, int64_t>>
      near_expiry_;

  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, int64_t> state_counts_;  // (alarm, state)
};

}  // namespace coffer::monitoring
