// SQLite tables of the audit trail: one row per record, one per resource it names, and an index
// per LookupEvents attribute that ends in (time_ms, id), so a lookup reads its page newest first
// straight from an index however many records the account has.
#include "store/audit_records.h"

#include <sqlite3.h>

#include <string>
#include <utility>
#include <vector>

#include "store/sqlite/connection.h"

namespace coffer {
namespace {

using sqlite::Connection;
using sqlite::Query;

constexpr char kSchema[] =
    "CREATE TABLE IF NOT EXISTS audit_records ("
    "  id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, account TEXT NOT NULL,"
    "  region TEXT NOT NULL, event_id TEXT NOT NULL, event_name TEXT NOT NULL,"
    "  event_source TEXT NOT NULL, username TEXT NOT NULL, access_key_id TEXT NOT NULL,"
    "  read_only INTEGER NOT NULL, record TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS audit_resources ("
    "  record_id INTEGER NOT NULL REFERENCES audit_records(id) ON DELETE CASCADE,"
    "  account TEXT NOT NULL, region TEXT NOT NULL, time_ms INTEGER NOT NULL,"
    "  type TEXT NOT NULL, name TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS audit_by_time ON audit_records(account, region, time_ms, id);"
    "CREATE UNIQUE INDEX IF NOT EXISTS audit_by_event_id ON audit_records(event_id);"
    "CREATE INDEX IF NOT EXISTS audit_by_name "
    "  ON audit_records(account, region, event_name, time_ms, id);"
    "CREATE INDEX IF NOT EXISTS audit_by_read_only "
    "  ON audit_records(account, region, read_only, time_ms, id);"
    "CREATE INDEX IF NOT EXISTS audit_by_username "
    "  ON audit_records(account, region, username, time_ms, id);"
    "CREATE INDEX IF NOT EXISTS audit_by_source "
    "  ON audit_records(account, region, event_source, time_ms, id);"
    "CREATE INDEX IF NOT EXISTS audit_by_access_key "
    "  ON audit_records(account, region, access_key_id, time_ms, id);"
    "CREATE INDEX IF NOT EXISTS audit_resource_by_type "
    "  ON audit_resources(account, region, type, time_ms, record_id);"
    "CREATE INDEX IF NOT EXISTS audit_resource_by_name "
    "  ON audit_resources(account, region, name, time_ms, record_id);"
    "CREATE INDEX IF NOT EXISTS audit_resource_by_record ON audit_resources(record_id);"
    "CREATE TABLE IF NOT EXISTS audit_index_position ("
    "  id INTEGER PRIMARY KEY, journal_offset INTEGER NOT NULL);";

// The columns of a record's row, in the order RowOf reads them.
constexpr char kRowColumns[] =
    "id, time_ms, account, region, event_id, event_name, event_source, username, access_key_id, "
    "read_only, record";

AuditRow RowOf(const Query& q) {
  AuditRow r;
  r.id = q.Int(0);
  r.time_ms = q.Int(1);
  r.account = q.Text(2);
  r.region = q.Text(3);
  r.event_id = q.Text(4);
  r.event_name = q.Text(5);
  r.event_source = q.Text(6);
  r.username = q.Text(7);
  r.access_key_id = q.Text(8);
  r.read_only = q.Int(9) != 0;
  r.record = q.Text(10);
  return r;
}

// The column a lookup attribute selects on, in the records table or the resources table.
struct AttributeColumn {
  const char* column;
  bool in_resources;
};

AttributeColumn ColumnOf(AuditAttribute a) {
  switch (a) {
    case AuditAttribute::kEventId:
      return {"event_id", false};
    case AuditAttribute::kEventName:
      return {"event_name", false};
    case AuditAttribute::kReadOnly:
      return {"read_only", false};
    case AuditAttribute::kUsername:
      return {"username", false};
    case AuditAttribute::kEventSource:
      return {"event_source", false};
    case AuditAttribute::kAccessKeyId:
      return {"access_key_id", false};
    case AuditAttribute::kResourceType:
      return {"type", true};
    case AuditAttribute::kResourceName:
      return {"name", true};
  }
  return {"event_name", false};
}

class SqliteAuditRecords final : public AuditRecordStore {
 public:
  explicit SqliteAuditRecords(std::unique_ptr<Connection> conn) : c_(std::move(conn)) {}

  Status Append(std::vector<AuditRow>& rows, int64_t journal_offset) override {
    COFFER_RETURN_IF_ERROR(c_->Exec("BEGIN IMMEDIATE"));
    Status s = Insert(rows);
    if (s.ok()) {
      COFFER_QUERY(q, *c_,
                   "INSERT INTO audit_index_position (id, journal_offset) VALUES (1, ?) "
                   "ON CONFLICT(id) DO UPDATE SET journal_offset = excluded.journal_offset");
      s = q.Bind(1, journal_offset).Run();
    }
    if (s.ok()) s = c_->Exec("COMMIT");
    if (!s.ok()) (void)c_->Exec("ROLLBACK");
    return s;
  }

  Result<int64_t> IndexedUpTo() override {
    COFFER_QUERY(q, *c_, "SELECT journal_offset FROM audit_index_position WHERE id = 1");
    int64_t offset = 0;
    if (q.Step()) offset = q.Int(0);
    COFFER_RETURN_IF_ERROR(q.status());
    return offset;
  }

  Status Sync() override { return c_->Exec("PRAGMA wal_checkpoint(TRUNCATE)"); }

  Result<std::vector<AuditRow>> Lookup(const AuditQuery& q) override {
    // The statement text is built from fixed pieces only (the column of the attribute and
    // whether there is a cursor), so the statements prepared stay few and cached.
    std::string sql;
    const bool by_attribute = q.attribute.has_value();
    const AttributeColumn col = by_attribute ? ColumnOf(*q.attribute) : AttributeColumn{};
    if (by_attribute && col.in_resources) {
      sql =
          "SELECT DISTINCT r.id, r.time_ms, r.account, r.region, r.event_id, r.event_name, "
          "r.event_source, r.username, r.access_key_id, r.read_only, r.record "
          "FROM audit_resources x JOIN audit_records r ON "
          "r.id = x.record_id WHERE x.account = ?1 AND x.region = ?2 AND x." +
          std::string(col.column) + " = ?3 AND x.time_ms BETWEEN ?4 AND ?5";
      if (q.before) sql += " AND (x.time_ms < ?6 OR (x.time_ms = ?6 AND x.record_id < ?7))";
      sql += " ORDER BY x.time_ms DESC, x.record_id DESC LIMIT ?8";
    } else {
      sql = "SELECT " + std::string(kRowColumns) +
            " FROM audit_records WHERE account = ?1 AND region = ?2";
      if (by_attribute) sql += " AND " + std::string(col.column) + " = ?3";
      sql += " AND time_ms BETWEEN ?4 AND ?5";
      if (q.before) sql += " AND (time_ms < ?6 OR (time_ms = ?6 AND id < ?7))";
      sql += " ORDER BY time_ms DESC, id DESC LIMIT ?8";
    }
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(c_->db(), sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      return sqlite::SqlError(c_->db(), "prepare lookup");
    }
    std::vector<AuditRow> out;
    Status read;
    {
      Query query(*c_, stmt);
      query.Bind(1, q.account).Bind(2, q.region);
      if (by_attribute) {
        if (*q.attribute == AuditAttribute::kReadOnly) {
          query.Bind(3, static_cast<int64_t>(q.value == "true" ? 1 : 0));
        } else {
          query.Bind(3, q.value);
        }
      }
      query.Bind(4, q.start_ms).Bind(5, q.end_ms);
      if (q.before) query.Bind(6, q.before->first).Bind(7, q.before->second);
      query.Bind(8, static_cast<int64_t>(q.limit));
      while (query.Step()) out.push_back(RowOf(query));
      read = query.status();
    }  // the query resets its statement here, before it is finalized
    sqlite3_finalize(stmt);
    COFFER_RETURN_IF_ERROR(read);
    for (auto& r : out) COFFER_RETURN_IF_ERROR(ReadResources(r));
    return out;
  }

  Result<std::vector<AuditRow>> ReadFrom(int64_t after_id, int limit) override {
    COFFER_QUERY(q, *c_,
                 "SELECT id, time_ms, account, region, event_id, event_name, event_source, "
                 "username, access_key_id, read_only, record FROM audit_records WHERE id > ? "
                 "ORDER BY id LIMIT ?");
    q.Bind(1, after_id).Bind(2, static_cast<int64_t>(limit));
    std::vector<AuditRow> out;
    while (q.Step()) out.push_back(RowOf(q));
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Status Prune(EpochMillis older_than) override {
    COFFER_RETURN_IF_ERROR(c_->Exec("BEGIN IMMEDIATE"));
    Status s;
    {
      COFFER_QUERY(q, *c_,
                   "DELETE FROM audit_resources WHERE record_id IN "
                   "(SELECT id FROM audit_records WHERE time_ms < ?)");
      s = q.Bind(1, older_than).Run();
    }
    if (s.ok()) {
      COFFER_QUERY(q, *c_, "DELETE FROM audit_records WHERE time_ms < ?");
      s = q.Bind(1, older_than).Run();
    }
    if (s.ok()) s = c_->Exec("COMMIT");
    if (!s.ok()) (void)c_->Exec("ROLLBACK");
    return s;
  }

  // The index is caught up from the journal after a crash, so its commits need not be synced.
  Status Init() {
    COFFER_RETURN_IF_ERROR(c_->Exec("PRAGMA synchronous=NORMAL"));
    return c_->Exec(kSchema);
  }

 private:
  Status Insert(std::vector<AuditRow>& rows) {
    for (auto& r : rows) {
      {
        COFFER_QUERY(
            q, *c_,
            "INSERT OR IGNORE INTO audit_records (time_ms, account, region, event_id, event_name, "
            "event_source, username, access_key_id, read_only, record) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        q.Bind(1, r.time_ms).Bind(2, r.account).Bind(3, r.region).Bind(4, r.event_id);
        q.Bind(5, r.event_name).Bind(6, r.event_source).Bind(7, r.username);
        q.Bind(8, r.access_key_id).Bind(9, static_cast<int64_t>(r.read_only ? 1 : 0));
        q.Bind(10, r.record);
        COFFER_RETURN_IF_ERROR(q.Run());
      }
      // A record the index holds already (caught up from the journal twice) is not repeated.
      if (sqlite3_changes(c_->db()) == 0) continue;
      r.id = sqlite3_last_insert_rowid(c_->db());
      for (const auto& res : r.resources) {
        COFFER_QUERY(q, *c_,
                     "INSERT INTO audit_resources (record_id, account, region, time_ms, type, "
                     "name) VALUES (?, ?, ?, ?, ?, ?)");
        q.Bind(1, r.id).Bind(2, r.account).Bind(3, r.region).Bind(4, r.time_ms);
        q.Bind(5, res.type).Bind(6, res.name);
        COFFER_RETURN_IF_ERROR(q.Run());
      }
    }
    return Status::Ok();
  }

  Status ReadResources(AuditRow& r) {
    COFFER_QUERY(q, *c_, "SELECT type, name FROM audit_resources WHERE record_id = ?");
    q.Bind(1, r.id);
    while (q.Step()) r.resources.push_back({q.Text(0), q.Text(1)});
    return q.status();
  }

  std::unique_ptr<Connection> c_;
};

}  // namespace

Result<std::unique_ptr<AuditRecordStore>> OpenSqliteAuditRecords(const std::string& path) {
  COFFER_ASSIGN_OR_RETURN(auto conn, Connection::Open(path));
  auto store = std::make_unique<SqliteAuditRecords>(std::move(conn));
  COFFER_RETURN_IF_ERROR(store->Init());
  return std::unique_ptr<AuditRecordStore>(std::move(store));
}

}  // namespace coffer
