// `coffer operator alarms|alarm-history|set-alarm`: the built-in alarms of an account
// (monitoring/alarms.h) through the operator endpoints (monitoring/alarms_api.h).
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

struct AlarmCommands {
  AlarmFlags flags;
  CLI::App* list = nullptr;
  CLI::App* history = nullptr;
  CLI::App* set = nullptr;
};

// Adds the three subcommands under `op` (the caller adds the remote flags to each); returns them.
std::vector<CLI::App*> AddAlarmCommands(CLI::App* op, AlarmCommands& c);
// Runs the one parsed; -1 when none was.
int RunAlarmCommand(const AlarmCommands& c, const RemoteFlags& remote);

}  // namespace coffer::cli
