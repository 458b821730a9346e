#include "cli/monitoring_commands.h"

#include <boost/json.hpp>

#include "auth/sigv4.h"

namespace coffer::cli {
namespace json = boost::json;

std::vector<CLI::App*> AddMonitoringCommands(CLI::App* op, MonitoringCommands& c) {
  AlarmFlags& f = c.alarm;
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

  SinkFlags& s = c.sink;
  auto* sinks = op->add_subcommand(
      "sinks",
      "Notification sinks: where the account's events (alarm state changes, rotation "
      "outcomes, changes) are delivered.");
  sinks->require_subcommand(1);
  c.sinks_list = sinks->add_subcommand("list", "Print the account's sinks as JSON.");
  c.sinks_add = sinks->add_subcommand(
      "add", "Add (or replace) a sink: a webhook (--url) or, for the operator, a command.");
  c.sinks_add->add_option("--name", s.name, "The sink's name.")->required();
  c.sinks_add->add_option("--url", s.url,
                          "Webhook: POST each event here, signed (X-Coffer-Signature).");
  c.sinks_add->add_option("--pattern", s.pattern,
                          "EventBridge event pattern (JSON) the events must match.");
  c.sinks_add
      ->add_option("--command", s.command,
                   "Operator: a program given each event on stdin (goes last).")
      ->expected(1, -1);
  c.sinks_remove = sinks->add_subcommand("remove", "Remove a sink and what waits for it.");
  c.sinks_remove->add_option("--name", s.name, "The sink's name.")->required();
  c.sinks_test = sinks->add_subcommand("test", "Deliver a test event to a sink now.");
  c.sinks_test->add_option("--name", s.name, "The sink's name.")->required();
  for (auto* cmd : {c.sinks_list, c.sinks_add, c.sinks_remove, c.sinks_test}) {
    cmd->add_option("--account", s.account, "Operator: another account's sinks.");
  }
  c.nodes = op->add_subcommand(
      "nodes",
      "Print the nodes serving the store as JSON: name, whether alive (reported within 15 s) "
      "and sealed (operator only).");
  return {c.list,      c.history,      c.set,        c.sinks_list,
          c.sinks_add, c.sinks_remove, c.sinks_test, c.nodes};
}

namespace {

int RunSinkCommand(const MonitoringCommands& c, const RemoteFlags& remote) {
  const SinkFlags& s = c.sink;
  if (c.sinks_list->parsed()) {
    return PrintOperatorCall(
        remote, "GET",
        "/coffer/sinks" +
            (s.account.empty() ? std::string() : "?Account=" + UriEncode(s.account, false)),
        "");
  }
  json::object body{{"Name", s.name}};
  if (!s.account.empty()) body["Account"] = s.account;
  if (c.sinks_remove->parsed()) {
    body["Delete"] = true;
    return PrintOperatorCall(remote, "POST", "/coffer/sinks", json::serialize(body));
  }
  if (c.sinks_test->parsed()) {
    return PrintOperatorCall(remote, "POST", "/coffer/sinks/test", json::serialize(body));
  }
  if (!c.sinks_add->parsed()) return -1;
  if (!s.url.empty()) body["Url"] = s.url;
  if (!s.command.empty()) {
    json::array argv;
    for (const auto& a : s.command) argv.push_back(json::string(a));
    body["Command"] = std::move(argv);
  }
  if (!s.pattern.empty()) body["EventPattern"] = s.pattern;
  return PrintOperatorCall(remote, "POST", "/coffer/sinks", json::serialize(body));
}

}  // namespace

int RunMonitoringCommand(const MonitoringCommands& c, const RemoteFlags& remote) {
  if (int rc = RunSinkCommand(c, remote); rc >= 0) return rc;
  if (c.nodes->parsed()) return PrintOperatorCall(remote, "GET", "/coffer/nodes", "");
  const AlarmFlags& f = c.alarm;
  auto param = [](const std::string& name, const std::string& value) {
    return value.empty() ? std::string() : "&" + name + "=" + UriEncode(value, false);
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
