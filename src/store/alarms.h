// The built-in alarms' settings, states and state history (monitoring/alarms.h). Error contract:
// store/deployment.h.
#pragma once

#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace coffer {

// An account's settings of one alarm, as the operator set them (JSON text; monitoring/alarms.h
// reads it): what is not set is the default.
struct AlarmSettingsRow {
  std::string account;
  std::string alarm;     // "SecretAccessDenied", ...
  std::string settings;  // JSON object text
  EpochMillis updated_ms = 0;
};

// An alarm's state in one account and region, as CloudWatch's DescribeAlarms tells it.
struct AlarmStateRow {
  std::string account;
  std::string region;
  std::string alarm;
  std::string state;        // "OK", "ALARM", "INSUFFICIENT_DATA"
  std::string reason;       // StateReason
  std::string reason_data;  // StateReasonData, JSON text
  EpochMillis updated_ms = 0;
};

// One entry of an alarm's history (DescribeAlarmHistory's AlarmHistoryItem).
struct AlarmHistoryRow {
  int64_t id = 0;  // store-assigned, increasing
  std::string account;
  std::string region;
  std::string alarm;
  EpochMillis time_ms = 0;
  std::string type;     // "StateUpdate", "ConfigurationUpdate"
  std::string summary;  // HistorySummary
  std::string data;     // HistoryData, JSON text
};

class AlarmsReader {
 public:
  virtual ~AlarmsReader() = default;
  // Every account's settings (few rows: four alarms an account at most).
  virtual Result<std::vector<AlarmSettingsRow>> ListSettings() = 0;
  // One account's states (every account's when `account` is empty), by region and alarm.
  virtual Result<std::vector<AlarmStateRow>> ListStates(const std::string& account) = 0;
  // One account's history, newest first, older than `cursor_id` (0: from the newest); or, when
  // `oldest_first`, newer than `cursor_id` (0: from the oldest). Only `alarm`'s when it is not
  // empty.
  virtual Result<std::vector<AlarmHistoryRow>> ListHistory(const std::string& account,
                                                           const std::string& alarm,
                                                           int64_t cursor_id, int limit,
                                                           bool oldest_first = false) = 0;
};

class AlarmsWriter : public AlarmsReader {
 public:
  virtual Status PutSettings(const AlarmSettingsRow& row) = 0;
  virtual Status DeleteSettings(const std::string& account, const std::string& alarm) = 0;
  virtual Status PutState(const AlarmStateRow& row) = 0;
  // The store assigns the id (row.id is ignored).
  virtual Status AppendHistory(const AlarmHistoryRow& row) = 0;
  // Retention: removes history older than `older_than`.
  virtual Status PruneHistory(EpochMillis older_than) = 0;
};

}  // namespace coffer
