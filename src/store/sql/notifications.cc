// SQLite tables of the notification sinks and their outbox.
#include "store/notifications.h"

#include <memory>
#include <string>
#include <vector>

#include "store/sql/driver.h"
#include "store/sql/views.h"

namespace coffer::sql {
namespace {

#define SINK_SELECT \
  "SELECT account, name, kind, target, pattern, wrapped_key, created_ms FROM notification_sinks "

SinkRow ReadSink(const Query& q) {
  SinkRow r;
  r.account = q.Text(0);
  r.name = q.Text(1);
  r.kind = q.Text(2) == "command" ? SinkKind::kCommand : SinkKind::kWebhook;
  r.target = q.Text(3);
  r.pattern = q.Text(4);
  r.wrapped_key = q.Blob(5);
  r.created_ms = q.Int(6);
  return r;
}

class SqliteNotifications final : public NotificationsWriter {
 public:
  explicit SqliteNotifications(Connection& conn) : c_(conn) {}

  Result<std::vector<SinkRow>> ListSinks(const std::string& account) override {
    COFFER_QUERY(q, c_, SINK_SELECT "WHERE ? = '' OR account = ? ORDER BY account, name");
    q.Bind(1, account).Bind(2, account);
    std::vector<SinkRow> out;
    while (q.Step()) out.push_back(ReadSink(q));
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Result<std::optional<SinkRow>> FindSink(const std::string& account,
                                          const std::string& name) override {
    COFFER_QUERY(q, c_, SINK_SELECT "WHERE account = ? AND name = ?");
    q.Bind(1, account).Bind(2, name);
    std::optional<SinkRow> out;
    if (q.Step()) out = ReadSink(q);
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Result<std::vector<OutboxRow>> ListDue(EpochMillis now, int limit) override {
    COFFER_QUERY(q, c_,
                 "SELECT id, account, sink, event_id, body, attempts, created_ms, "
                 "next_attempt_ms, last_error FROM notification_outbox "
                 "WHERE next_attempt_ms <= ? ORDER BY id LIMIT ?");
    q.Bind(1, now).Bind(2, static_cast<int64_t>(limit));
    std::vector<OutboxRow> out;
    while (q.Step()) {
      OutboxRow r;
      r.id = q.Int(0);
      r.account = q.Text(1);
      r.sink = q.Text(2);
      r.event_id = q.Text(3);
      r.body = q.Text(4);
      r.attempts = static_cast<int>(q.Int(5));
      r.created_ms = q.Int(6);
      r.next_attempt_ms = q.Int(7);
      r.last_error = q.Text(8);
      out.push_back(std::move(r));
    }
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Result<OutboxSummary> Summarize(const std::string& account, const std::string& sink) override {
    OutboxSummary s;
    {
      COFFER_QUERY(q, c_,
                   "SELECT COUNT(*) FROM notification_outbox WHERE account = ? AND sink = ?");
      q.Bind(1, account).Bind(2, sink);
      if (q.Step()) s.pending = q.Int(0);
      COFFER_RETURN_IF_ERROR(q.status());
    }
    COFFER_QUERY(q, c_,
                 "SELECT last_error FROM notification_outbox WHERE account = ? AND sink = ? "
                 "AND attempts > 0 ORDER BY id DESC LIMIT 1");
    q.Bind(1, account).Bind(2, sink);
    if (q.Step()) s.last_error = q.Text(0);
    COFFER_RETURN_IF_ERROR(q.status());
    return s;
  }

  Status PutSink(const SinkRow& r) override {
    COFFER_QUERY(q, c_,
                 "INSERT INTO notification_sinks (account, name, kind, target, pattern, "
                 "wrapped_key, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?) "
                 "ON CONFLICT (account, name) DO UPDATE SET kind = excluded.kind, "
                 "target = excluded.target, pattern = excluded.pattern, "
                 "wrapped_key = excluded.wrapped_key");
    q.Bind(1, r.account).Bind(2, r.name);
    q.Bind(3, std::string_view(r.kind == SinkKind::kCommand ? "command" : "webhook"));
    q.Bind(4, r.target).Bind(5, r.pattern).BindBlob(6, r.wrapped_key).Bind(7, r.created_ms);
    return q.Run();
  }

  Status DeleteSink(const std::string& account, const std::string& name) override {
    {
      COFFER_QUERY(q, c_, "DELETE FROM notification_outbox WHERE account = ? AND sink = ?");
      COFFER_RETURN_IF_ERROR(q.Bind(1, account).Bind(2, name).Run());
    }
    COFFER_QUERY(q, c_, "DELETE FROM notification_sinks WHERE account = ? AND name = ?");
    return q.Bind(1, account).Bind(2, name).Run();
  }

  Status Enqueue(const OutboxRow& r) override {
    COFFER_QUERY(q, c_,
                 "INSERT INTO notification_outbox (account, sink, event_id, body, attempts, "
                 "created_ms, next_attempt_ms, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    q.Bind(1, r.account).Bind(2, r.sink).Bind(3, r.event_id).Bind(4, r.body);
    q.Bind(5, static_cast<int64_t>(r.attempts)).Bind(6, r.created_ms);
    q.Bind(7, r.next_attempt_ms).Bind(8, r.last_error);
    return q.Run();
  }

  Status Reschedule(int64_t id, int attempts, EpochMillis next_attempt_ms,
                    const std::string& last_error) override {
    COFFER_QUERY(q, c_,
                 "UPDATE notification_outbox SET attempts = ?, next_attempt_ms = ?, "
                 "last_error = ? WHERE id = ?");
    q.Bind(1, static_cast<int64_t>(attempts)).Bind(2, next_attempt_ms).Bind(3, last_error);
    return q.Bind(4, id).Run();
  }

  Status Remove(int64_t id) override {
    COFFER_QUERY(q, c_, "DELETE FROM notification_outbox WHERE id = ?");
    return q.Bind(1, id).Run();
  }

 private:
  Connection& c_;
};

}  // namespace

std::unique_ptr<NotificationsWriter> NewNotificationsView(Connection& conn) {
  return std::make_unique<SqliteNotifications>(conn);
}

}  // namespace coffer::sql
