// SQLite tables of the event stream.
#include "store/events.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/sql/driver.h"
#include "store/sql/views.h"

namespace coffer::sql {
namespace {

class SqliteEvents final : public EventsWriter {
 public:
  explicit SqliteEvents(Connection& conn) : c_(conn) {}

  Result<std::vector<EventRow>> List(int64_t after_id, int limit) override {
    COFFER_QUERY(q, c_,
                 "SELECT id, time_ms, account, region, source, detail_type, resources, detail "
                 "FROM events WHERE id > ? ORDER BY id LIMIT ?");
    q.Bind(1, after_id).Bind(2, static_cast<int64_t>(limit));
    return ReadEvents(q);
  }

  Result<std::vector<EventRow>> ListForAccount(const std::string& account, int64_t after_id,
                                               int limit) override {
    COFFER_QUERY(q, c_,
                 "SELECT id, time_ms, account, region, source, detail_type, resources, detail "
                 "FROM events WHERE account = ? AND id > ? ORDER BY id LIMIT ?");
    q.Bind(1, account).Bind(2, after_id).Bind(3, static_cast<int64_t>(limit));
    return ReadEvents(q);
  }

  Status Append(const EventRow& e) override {
    COFFER_QUERY(q, c_,
                 "INSERT INTO events (time_ms, account, region, source, detail_type, resources, "
                 "detail) VALUES (?, ?, ?, ?, ?, ?, ?)");
    q.Bind(1, e.time_ms).Bind(2, e.account).Bind(3, e.region).Bind(4, e.source);
    q.Bind(5, e.detail_type).Bind(6, e.resources).Bind(7, e.detail);
    return q.Run();
  }

  Status Prune(EpochMillis older_than, int64_t max_per_account) override {
    {
      COFFER_QUERY(q, c_, "DELETE FROM events WHERE time_ms < ?");
      COFFER_RETURN_IF_ERROR(q.Bind(1, older_than).Run());
    }
    // Per account: one tenant's flood never evicts another's events.
    std::vector<std::pair<std::string, int64_t>> over;
    {
      COFFER_QUERY(q, c_,
                   "SELECT account, COUNT(*) FROM events GROUP BY account HAVING COUNT(*) > ?");
      q.Bind(1, max_per_account);
      while (q.Step()) over.emplace_back(q.Text(0), q.Int(1));
      COFFER_RETURN_IF_ERROR(q.status());
    }
    for (const auto& [account, count] : over) {
      COFFER_QUERY(q, c_,
                   "DELETE FROM events WHERE account = ? AND id <= (SELECT id FROM events WHERE "
                   "account = ? ORDER BY id LIMIT 1 OFFSET ?)");
      COFFER_RETURN_IF_ERROR(
          q.Bind(1, account).Bind(2, account).Bind(3, count - max_per_account - 1).Run());
    }
    return Status::Ok();
  }

 private:
  Result<std::vector<EventRow>> ReadEvents(Query& q) {
    std::vector<EventRow> out;
    while (q.Step()) {
      EventRow e;
      e.id = q.Int(0);
      e.time_ms = q.Int(1);
      e.account = q.Text(2);
      e.region = q.Text(3);
      e.source = q.Text(4);
      e.detail_type = q.Text(5);
      e.resources = q.Text(6);
      e.detail = q.Text(7);
      out.push_back(std::move(e));
    }
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Connection& c_;
};

}  // namespace

std::unique_ptr<EventsWriter> NewEventsView(Connection& conn) {
  return std::make_unique<SqliteEvents>(conn);
}

}  // namespace coffer::sql
