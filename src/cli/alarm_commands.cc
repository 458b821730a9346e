#include "cli/alarm_commands.h"

#include <boost/json.hpp>

namespace coffer::cli {
namespace json = boost::json;
namespace {

// A query parameter's value with everything but RFC 3986's unreserved characters escaped.
std::string PercentEncode(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : s) {
    if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
        ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += kHex[ch >> 4];
      out += kHex[ch & 15];
    }
  }
  return out;
}

}  // namespace

std::vector<CLI::App*> AddAlarmCommands(CLI::App* op, AlarmCommands& c) {
  AlarmFlags& f = c.flags;
  c.list = op->add_subcommand("alarms",
                              "Print the account's built-in alarms (state and settings) as JSON.");
  c.list->add_option("--account", f.account, "Operator: another account's alarms.");
  c.history = op->add_subcommand("alarm-history",
                                 "Print the state changes of the account's alarms as JSON.");
  c.history->add_option("--alarm", f.alarm, "Only this alarm's history.");
  c.history->add_option("--account", f.account, "Operator: another account's history.");
  c.history->add_option("--next-token", f.next_token, "The NextToken of the previous page.");
  c.set = op->add_subcommand(
      "set-alarm",
      "Set a built-in alarm's settings (what is not given keeps its default), or --reset them.");
  c.set
      ->add_option("--alarm", f.alarm,
                   "SecretRotationFailed, SecretAccessDenied, "
                   "UnauthorizedSecretAccess or SecretNearExpiry.")
      ->required();
  c.set->add_option("--account", f.account,
                    "Operator: another account, or '*' for every account's setting.");
  c.set->add_option("--period", f.period, "Seconds per period: 10, 30 or a multiple of 60.");
  c.set->add_option("--threshold", f.threshold, "ALARM when a period's count reaches it.");
  c.set->add_option("--evaluation-periods", f.evaluation_periods, "Periods evaluated.");
  c.set->add_option("--datapoints-to-alarm", f.datapoints_to_alarm,
                    "Periods of them at the threshold that make ALARM.");
  c.set->add_option("--within-days", f.within_days,
                    "SecretNearExpiry: rotation due, or a parameter expiring, within these days.");
  c.set->add_option("--max-age-days", f.max_age_days,
                    "SecretNearExpiry: a secret with rotation off whose value is older.");
  c.set->add_option("--actions-enabled", f.actions_enabled,
                    "false: state changes are recorded but send no event (notification).");
  c.set->add_flag("--reset", f.reset, "Back to the defaults (or to every account's setting).");
  return {c.list, c.history, c.set};
}

int RunAlarmCommand(const AlarmCommands& c, const RemoteFlags& remote) {
  const AlarmFlags& f = c.flags;
  auto param = [](const std::string& name, const std::string& value) {
    return value.empty() ? std::string() : "&" + name + "=" + PercentEncode(value);
  };
  if (c.list->parsed()) {
    return PrintOperatorCall(remote, "GET", "/coffer/alarms?" + param("Account", f.account), "");
  }
  if (c.history->parsed()) {
    return PrintOperatorCall(remote, "GET",
                             "/coffer/alarms/history?" + param("AlarmName", f.alarm) +
                                 param("Account", f.account) + param("NextToken", f.next_token),
                             "");
  }
  if (!c.set->parsed()) return -1;
  json::object body{{"AlarmName", f.alarm}};
  if (!f.account.empty()) body["Account"] = f.account;
  if (f.reset) {
    body["Reset"] = true;
  } else {
    json::object settings;
    if (f.period) settings["Period"] = *f.period;
    if (f.threshold) settings["Threshold"] = *f.threshold;
    if (f.evaluation_periods) settings["EvaluationPeriods"] = *f.evaluation_periods;
    if (f.datapoints_to_alarm) settings["DatapointsToAlarm"] = *f.datapoints_to_alarm;
    if (f.within_days) settings["WithinDays"] = *f.within_days;
    if (f.max_age_days) settings["MaxAgeDays"] = *f.max_age_days;
    if (f.actions_enabled) settings["ActionsEnabled"] = *f.actions_enabled;
    body["Settings"] = std::move(settings);
  }
  return PrintOperatorCall(remote, "POST", "/coffer/alarms", json::serialize(body));
}

}  // namespace coffer::cli
