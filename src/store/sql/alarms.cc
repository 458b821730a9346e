// SQLite tables of the built-in alarms.
#include "store/alarms.h"

#include <memory>
#include <string>
#include <vector>

#include "store/sql/driver.h"
#include "store/sql/views.h"

namespace coffer::sql {
namespace {

class SqliteAlarms final : public AlarmsWriter {
 public:
  explicit SqliteAlarms(Connection& conn) : c_(conn) {}

  Result<std::vector<AlarmSettingsRow>> ListSettings() override {
    COFFER_QUERY(q, c_,
                 "SELECT account, alarm, settings, updated_ms FROM alarm_settings "
                 "ORDER BY account, alarm");
    std::vector<AlarmSettingsRow> out;
    while (q.Step()) out.push_back({q.Text(0), q.Text(1), q.Text(2), q.Int(3)});
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Result<std::vector<AlarmStateRow>> ListStates(const std::string& account) override {
    COFFER_QUERY(q, c_,
                 "SELECT account, region, alarm, state, reason, reason_data, updated_ms "
                 "FROM alarm_states WHERE ? = '' OR account = ? ORDER BY account, region, alarm");
    q.Bind(1, account).Bind(2, account);
    std::vector<AlarmStateRow> out;
    while (q.Step()) {
      out.push_back({q.Text(0), q.Text(1), q.Text(2), q.Text(3), q.Text(4), q.Text(5), q.Int(6)});
    }
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Result<std::vector<AlarmHistoryRow>> ListHistory(const std::string& account,
                                                   const std::string& alarm, int64_t cursor_id,
                                                   int limit, bool oldest_first) override {
    COFFER_QUERY(q, c_,
                 oldest_first
                     ? "SELECT id, account, region, alarm, time_ms, type, summary, data "
                       "FROM alarm_history WHERE account = ? AND (? = '' OR alarm = ?) AND id > ? "
                       "ORDER BY id LIMIT ?"
                     : "SELECT id, account, region, alarm, time_ms, type, summary, data "
                       "FROM alarm_history WHERE account = ? AND (? = '' OR alarm = ?) AND id < ? "
                       "ORDER BY id DESC LIMIT ?");
    q.Bind(1, account).Bind(2, alarm).Bind(3, alarm);
    q.Bind(4, oldest_first || cursor_id > 0 ? cursor_id : INT64_MAX);
    q.Bind(5, static_cast<int64_t>(limit));
    std::vector<AlarmHistoryRow> out;
    while (q.Step()) {
      out.push_back(
          {q.Int(0), q.Text(1), q.Text(2), q.Text(3), q.Int(4), q.Text(5), q.Text(6), q.Text(7)});
    }
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Status PutSettings(const AlarmSettingsRow& row) override {
    COFFER_QUERY(q, c_,
                 "INSERT INTO alarm_settings (account, alarm, settings, updated_ms) "
                 "VALUES (?, ?, ?, ?) ON CONFLICT (account, alarm) DO UPDATE SET "
                 "settings = excluded.settings, updated_ms = excluded.updated_ms");
    return q.Bind(1, row.account)
        .Bind(2, row.alarm)
        .Bind(3, row.settings)
        .Bind(4, row.updated_ms)
        .Run();
  }

  Status DeleteSettings(const std::string& account, const std::string& alarm) override {
    COFFER_QUERY(q, c_, "DELETE FROM alarm_settings WHERE account = ? AND alarm = ?");
    return q.Bind(1, account).Bind(2, alarm).Run();
  }

  Status PutState(const AlarmStateRow& row) override {
    COFFER_QUERY(q, c_,
                 "INSERT INTO alarm_states (account, region, alarm, state, reason, reason_data, "
                 "updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account, region, alarm) "
                 "DO UPDATE SET state = excluded.state, reason = excluded.reason, "
                 "reason_data = excluded.reason_data, updated_ms = excluded.updated_ms");
    q.Bind(1, row.account).Bind(2, row.region).Bind(3, row.alarm).Bind(4, row.state);
    q.Bind(5, row.reason).Bind(6, row.reason_data).Bind(7, row.updated_ms);
    return q.Run();
  }

  Status AppendHistory(const AlarmHistoryRow& row) override {
    COFFER_QUERY(q, c_,
                 "INSERT INTO alarm_history (account, region, alarm, time_ms, type, summary, data) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?)");
    q.Bind(1, row.account).Bind(2, row.region).Bind(3, row.alarm).Bind(4, row.time_ms);
    q.Bind(5, row.type).Bind(6, row.summary).Bind(7, row.data);
    return q.Run();
  }

  Status PruneHistory(EpochMillis older_than) override {
    COFFER_QUERY(q, c_, "DELETE FROM alarm_history WHERE time_ms < ?");
    return q.Bind(1, older_than).Run();
  }

 private:
  Connection& c_;
};

}  // namespace

std::unique_ptr<AlarmsWriter> NewAlarmsView(Connection& conn) {
  return std::make_unique<SqliteAlarms>(conn);
}

}  // namespace coffer::sql
