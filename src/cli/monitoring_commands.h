// `coffer operator alarms|alarm-history|set-alarm` (the built-in alarms of an account,
// monitoring/alarms.h) and `coffer operator sinks list|add|remove|test` (its notification
// sinks, monitoring/notifications.h) and `coffer operator nodes` (the nodes serving the store,
// app/cluster_membership.h), through the operator endpoints.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/operator_commands.h"

namespace coffer::cli {

struct AlarmFlags {
  std::string account;  // another account's (operator), or "*" for every account (set-alarm)
  std::string alarm;
  std::string next_token;
  std::optional<int64_t> period;
  std::optional<double> threshold;
  std::optional<int64_t> evaluation_periods;
  std::optional<int64_t> datapoints_to_alarm;
  std::optional<int64_t> within_days;
  std::optional<int64_t> max_age_days;
  std::optional<bool> actions_enabled;
  bool reset = false;
};

struct SinkFlags {
  std::string account;  // another account's (operator)
  std::string name;
  std::string url;
  std::vector<std::string> command;
  std::string pattern;  // JSON text
};

struct MonitoringCommands {
  AlarmFlags alarm;
  CLI::App* list = nullptr;
  CLI::App* history = nullptr;
  CLI::App* set = nullptr;
  SinkFlags sink;
  CLI::App* sinks_list = nullptr;
  CLI::App* sinks_add = nullptr;
  CLI::App* sinks_remove = nullptr;
  CLI::App* sinks_test = nullptr;
  CLI::App* nodes = nullptr;
};

// Adds the subcommands under `op`; returns those that call the server (the caller adds the
// remote flags to each).
std::vector<CLI::App*> AddMonitoringCommands(CLI::App* op, MonitoringCommands& c);
// Runs the one parsed; -1 when none was.
int RunMonitoringCommand(const MonitoringCommands& c, const RemoteFlags& remote);

}  // namespace coffer::cli
