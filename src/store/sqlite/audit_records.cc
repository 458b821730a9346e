// SQLite tables of the audit trail: one row per record, and posting lists that say which records
// each LookupEvents attribute value selects.
//
// Every call is recorded, so the index is written thousands of times a second on a busy server
// and its cost per record is what the trail costs a call. An index per attribute would insert
// each record into eight b-trees, mostly at random places; instead the records of one indexed
// batch are grouped in memory by (account, region, attribute, value) and each group is written as
// one row holding the (time, id) pairs of its records: a batch of thousands of records writes a
// few dozen postings rows, whatever its size. A record row itself is appended (ids increase) and
// its event id, time-ordered (core/ids.h), lands at the end of the one index it is in.
//
// A postings row holds records of one minute at most, so a lookup reads, newest first, the rows
// of its attribute value whose last record is within [start, end + 1 minute], takes their pairs
// in the time range, and stops once no further row can hold a newer pair than the page it has.
#include "store/audit_records.h"

#include <sqlite3.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "store/sqlite/connection.h"

namespace coffer {
namespace {

using sqlite::Connection;
using sqlite::Query;

// user_version of a trail index with postings; 0 is one with an index per attribute.
constexpr int kSchemaVersion = 2;

constexpr char kSchema[] =
    "CREATE TABLE IF NOT EXISTS audit_records ("
    "  id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, account TEXT NOT NULL,"
    "  region TEXT NOT NULL, event_id TEXT NOT NULL, event_name TEXT NOT NULL,"
    "  event_source TEXT NOT NULL, username TEXT NOT NULL, access_key_id TEXT NOT NULL,"
    "  read_only INTEGER NOT NULL, record TEXT NOT NULL, resources BLOB NOT NULL DEFAULT '');"
    "CREATE UNIQUE INDEX IF NOT EXISTS audit_by_event_id ON audit_records(event_id);"
    "CREATE TABLE IF NOT EXISTS audit_postings ("
    "  account TEXT NOT NULL, region TEXT NOT NULL, attribute INTEGER NOT NULL,"
    "  value TEXT NOT NULL, last_ms INTEGER NOT NULL, first_id INTEGER NOT NULL,"
    "  entries BLOB NOT NULL,"
    "  PRIMARY KEY (account, region, attribute, value, last_ms, first_id)) WITHOUT ROWID;"
    // The postings of one attribute by time, whatever their value: TotalsBy reads the rows of a
    // range without visiting each value's history.
    "CREATE INDEX IF NOT EXISTS audit_postings_by_time "
    "  ON audit_postings(account, region, attribute, last_ms);"
    "CREATE TABLE IF NOT EXISTS audit_index_position ("
    "  id INTEGER PRIMARY KEY, journal_offset INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS audit_scopes ("
    "  account TEXT NOT NULL, region TEXT NOT NULL, PRIMARY KEY (account, region)) WITHOUT ROWID;";

// A postings row spans at most this much time, which bounds how far past a lookup's end time
// a row holding a match can end.
constexpr EpochMillis kPostingSpanMs = 60'000;
constexpr EpochMillis kMaxSignalBuckets = 10'000;

// The attribute numbers of postings rows: 0 selects every record (a lookup by time only).
constexpr int kEveryRecord = 0;
int AttributeNumber(AuditAttribute a) { return static_cast<int>(a) + 1; }
// Signals' postings: 64 + the bit's position. Their value is "" for every record with the
// signal, or a resource ARN for those naming it (the per-secret read counts).
int SignalNumber(AuditSignal s) { return 64 + std::countr_zero(SignalBit(s)); }
// And 96 + the bit's position, valued with the caller's ARN: the records of a signal per
// principal (the dashboard's access by principal and role).
int PrincipalSignalNumber(AuditSignal s) { return 96 + std::countr_zero(SignalBit(s)); }

// One (time, id) pair of a postings row, as stored: two little-endian 64-bit integers.
struct Entry {
  EpochMillis time_ms;
  int64_t id;
  bool operator<(const Entry& o) const { return std::tie(time_ms, id) < std::tie(o.time_ms, o.id); }
};
constexpr size_t kEntryBytes = 16;

void PutEntry(std::string& out, const Entry& e) {
  char buf[kEntryBytes];
  for (int i = 0; i < 8; ++i) {
    buf[i] = static_cast<char>(static_cast<uint64_t>(e.time_ms) >> (8 * i));
    buf[8 + i] = static_cast<char>(static_cast<uint64_t>(e.id) >> (8 * i));
  }
  out.append(buf, kEntryBytes);
}

Entry GetEntry(const unsigned char* p) {
  uint64_t t = 0;
  uint64_t id = 0;
  for (int i = 0; i < 8; ++i) {
    t |= static_cast<uint64_t>(p[i]) << (8 * i);
    id |= static_cast<uint64_t>(p[8 + i]) << (8 * i);
  }
  return {static_cast<EpochMillis>(t), static_cast<int64_t>(id)};
}

// Calls `fn(time_ms)` for each entry of a postings row (as stored) with time in [start, end).
template <typename Fn>
void ForEachTimeIn(const std::string& entries, EpochMillis start, EpochMillis end, Fn fn) {
  const auto* p = reinterpret_cast<const unsigned char*>(entries.data());
  for (size_t i = 0; i + kEntryBytes <= entries.size(); i += kEntryBytes) {
    const EpochMillis t = GetEntry(p + i).time_ms;
    if (t >= start && t < end) fn(t);
  }
}

// A record's resources in its row: "<bytes>:<type><bytes>:<name>" per resource.
std::string EncodeResources(const std::vector<AuditResource>& resources) {
  std::string out;
  for (const auto& r : resources) {
    for (const std::string* s : {&r.type, &r.name}) {
      out += std::to_string(s->size());
      out += ':';
      out += *s;
    }
  }
  return out;
}

bool DecodeResources(std::string_view in, std::vector<AuditResource>* out) {
  auto next = [&in](std::string* s) {
    const size_t colon = in.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon > 9) return false;
    size_t n = 0;
    for (char c : in.substr(0, colon)) {
      if (c < '0' || c > '9') return false;
      n = n * 10 + static_cast<size_t>(c - '0');
    }
    if (in.size() - colon - 1 < n) return false;
    s->assign(in.substr(colon + 1, n));
    in.remove_prefix(colon + 1 + n);
    return true;
  };
  while (!in.empty()) {
    AuditResource r;
    if (!next(&r.type) || !next(&r.name)) return false;
    out->push_back(std::move(r));
  }
  return true;
}

// A record's row, from a SELECT of id, time_ms, account, region, event_id, event_name,
// event_source, username, access_key_id, read_only, record, resources (in that order).
Result<AuditRow> RowOf(const Query& q) {
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
  if (!DecodeResources(q.Blob(11), &r.resources)) {
    return Status(ErrorCode::kInternalFailure, "an audit record's resources are damaged");
  }
  return r;
}

// The postings of a set of rows, grouped by (account, region, attribute, value, minute).
class PostingsBuilder {
 public:
  void Add(const AuditRow& r) {
    const EpochMillis minute = r.time_ms / kPostingSpanMs;
    auto add = [&](int attribute, const std::string& value) {
      std::string& entries = groups_[{r.account, r.region, attribute, value, minute}];
      // A value a record names twice (two resources of one type) selects it once.
      if (entries.size() >= kEntryBytes &&
          GetEntry(reinterpret_cast<const unsigned char*>(entries.data()) + entries.size() -
                   kEntryBytes)
                  .id == r.id) {
        return;
      }
      PutEntry(entries, {r.time_ms, r.id});
    };
    add(kEveryRecord, "");
    add(AttributeNumber(AuditAttribute::kEventName), r.event_name);
    add(AttributeNumber(AuditAttribute::kReadOnly), r.read_only ? "true" : "false");
    add(AttributeNumber(AuditAttribute::kUsername), r.username);
    add(AttributeNumber(AuditAttribute::kEventSource), r.event_source);
    add(AttributeNumber(AuditAttribute::kAccessKeyId), r.access_key_id);
    for (const auto& res : r.resources) {
      add(AttributeNumber(AuditAttribute::kResourceType), res.type);
      add(AttributeNumber(AuditAttribute::kResourceName), res.name);
    }
    for (AuditSignal signal : kAllAuditSignals) {
      if ((r.signals & SignalBit(signal)) == 0) continue;
      add(SignalNumber(signal), "");
      if (!r.principal_arn.empty()) add(PrincipalSignalNumber(signal), r.principal_arn);
      if (signal != AuditSignal::kSecretRead) continue;
      for (const auto& res : r.resources) {
        if (res.type == "AWS::SecretsManager::Secret") add(SignalNumber(signal), res.name);
      }
    }
    scopes_.insert({r.account, r.region});
  }

  Status Write(Connection& c) {
    for (auto& [key, entries] : groups_) {
      const auto& [account, region, attribute, value, minute] = key;
      const auto* p = reinterpret_cast<const unsigned char*>(entries.data());
      EpochMillis last_ms = 0;
      for (size_t i = 0; i < entries.size(); i += kEntryBytes) {
        last_ms = std::max(last_ms, GetEntry(p + i).time_ms);
      }
      COFFER_QUERY(q, c,
                   "INSERT INTO audit_postings (account, region, attribute, value, "
                   "last_ms, first_id, entries) VALUES (?, ?, ?, ?, ?, ?, ?)");
      q.Bind(1, account).Bind(2, region).Bind(3, static_cast<int64_t>(attribute)).Bind(4, value);
      q.Bind(5, last_ms).Bind(6, GetEntry(p).id).BindBlob(7, entries);
      COFFER_RETURN_IF_ERROR(q.Run());
    }
    groups_.clear();
    for (const auto& [account, region] : scopes_) {
      COFFER_QUERY(q, c, "INSERT OR IGNORE INTO audit_scopes (account, region) VALUES (?, ?)");
      COFFER_RETURN_IF_ERROR(q.Bind(1, account).Bind(2, region).Run());
    }
    scopes_.clear();
    return Status::Ok();
  }

 private:
  std::map<std::tuple<std::string, std::string, int, std::string, EpochMillis>, std::string>
      groups_;
  std::set<std::pair<std::string, std::string>> scopes_;
};

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
    if (q.attribute == AuditAttribute::kEventId) return LookupByEventId(q);
    // Pairs in the range, from the rows newest first, until the page is full and the next row
    // ends before the page's oldest pair.
    EpochMillis end = q.end_ms;
    if (q.before) end = std::min(end, q.before->first);
    std::vector<Entry> page;
    const auto limit = static_cast<size_t>(std::max(q.limit, 0));
    auto in_range = [&](const Entry& e) {
      if (e.time_ms < q.start_ms || e.time_ms > q.end_ms) return false;
      return !q.before || e < Entry{q.before->first, q.before->second};
    };
    {
      COFFER_QUERY(rows, *c_,
                   "SELECT last_ms, entries FROM audit_postings WHERE account = ? AND region = ? "
                   "AND attribute = ? AND value = ? AND last_ms BETWEEN ? AND ? "
                   "ORDER BY last_ms DESC, first_id DESC");
      int attribute = kEveryRecord;
      std::string value;
      if (q.signal) {
        attribute = SignalNumber(*q.signal);
      } else if (q.attribute) {
        attribute = AttributeNumber(*q.attribute);
        value = *q.attribute == AuditAttribute::kReadOnly ? (q.value == "true" ? "true" : "false")
                                                          : q.value;
      }
      rows.Bind(1, q.account).Bind(2, q.region).Bind(3, static_cast<int64_t>(attribute));
      rows.Bind(4, value).Bind(5, q.start_ms).Bind(6, end + kPostingSpanMs);
      while (rows.Step()) {
        if (page.size() >= limit && limit > 0 && rows.Int(0) < page.front().time_ms) break;
        const std::string entries = rows.Blob(1);
        const auto* p = reinterpret_cast<const unsigned char*>(entries.data());
        for (size_t i = 0; i + kEntryBytes <= entries.size(); i += kEntryBytes) {
          const Entry e = GetEntry(p + i);
          if (!in_range(e)) continue;
          // `page` is a min-heap of the newest `limit` pairs seen.
          if (page.size() < limit) {
            page.push_back(e);
            std::push_heap(page.begin(), page.end(), [](auto& a, auto& b) { return b < a; });
          } else if (limit > 0 && page.front() < e) {
            std::pop_heap(page.begin(), page.end(), [](auto& a, auto& b) { return b < a; });
            page.back() = e;
            std::push_heap(page.begin(), page.end(), [](auto& a, auto& b) { return b < a; });
          }
        }
      }
      COFFER_RETURN_IF_ERROR(rows.status());
    }
    std::sort(page.begin(), page.end(), [](const Entry& a, const Entry& b) { return b < a; });
    std::vector<AuditRow> out;
    for (const Entry& e : page) {
      COFFER_QUERY(r, *c_,
                   "SELECT id, time_ms, account, region, event_id, event_name, "
                   "event_source, username, access_key_id, read_only, record, resources "
                   "FROM audit_records WHERE id = ?");
      r.Bind(1, e.id);
      if (r.Step()) {
        COFFER_ASSIGN_OR_RETURN(AuditRow row, RowOf(r));
        out.push_back(std::move(row));  // (a record pruned since its postings row is skipped)
      }
      COFFER_RETURN_IF_ERROR(r.status());
    }
    return out;
  }

  Result<std::vector<AuditRow>> ReadFrom(int64_t after_id, int limit) override {
    COFFER_QUERY(q, *c_,
                 "SELECT id, time_ms, account, region, event_id, event_name, event_source, "
                 "username, access_key_id, read_only, record, resources FROM audit_records "
                 "WHERE id > ? ORDER BY id LIMIT ?");
    q.Bind(1, after_id).Bind(2, static_cast<int64_t>(limit));
    std::vector<AuditRow> out;
    while (q.Step()) {
      COFFER_ASSIGN_OR_RETURN(AuditRow row, RowOf(q));
      out.push_back(std::move(row));
    }
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Status Prune(EpochMillis older_than) override {
    COFFER_RETURN_IF_ERROR(c_->Exec("BEGIN IMMEDIATE"));
    Status s;
    {
      COFFER_QUERY(q, *c_, "DELETE FROM audit_postings WHERE last_ms < ?");
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

  Result<std::vector<int64_t>> CountSignal(const AuditSignalQuery& q) override {
    if (q.bucket_ms <= 0 || q.end_ms < q.start_ms ||
        (q.end_ms - q.start_ms) / q.bucket_ms >= kMaxSignalBuckets) {
      return Status(ErrorCode::kValidationException, "too many buckets for a signal count");
    }
    const EpochMillis span = q.end_ms - q.start_ms;
    std::vector<int64_t> counts(
        static_cast<size_t>(span / q.bucket_ms + (span % q.bucket_ms ? 1 : 0)));
    if (counts.empty()) return counts;
    const EpochMillis end = q.start_ms + static_cast<EpochMillis>(counts.size()) * q.bucket_ms;
    COFFER_QUERY(rows, *c_,
                 "SELECT entries FROM audit_postings WHERE account = ? AND region = ? "
                 "AND attribute = ? AND value = ? AND last_ms BETWEEN ? AND ?");
    rows.Bind(1, q.account).Bind(2, q.region).Bind(3, static_cast<int64_t>(SignalNumber(q.signal)));
    rows.Bind(4, q.resource).Bind(5, q.start_ms).Bind(6, end + kPostingSpanMs);
    while (rows.Step()) {
      ForEachTimeIn(rows.Blob(0), q.start_ms, end, [&](EpochMillis t) {
        ++counts[static_cast<size_t>((t - q.start_ms) / q.bucket_ms)];
      });
    }
    COFFER_RETURN_IF_ERROR(rows.status());
    return counts;
  }

  // The rows of the attribute in the range, whatever their value (audit_postings_by_time), their
  // entries tallied by value: the cost is the records in range, not the trail's history.
  Result<std::vector<AuditTotal>> TotalsBy(const AuditSignalQuery& q, AuditBreakdown by) override {
    const int attribute =
        by == AuditBreakdown::kSecret ? SignalNumber(q.signal) : PrincipalSignalNumber(q.signal);
    COFFER_QUERY(rows, *c_,
                 "SELECT value, entries FROM audit_postings INDEXED BY audit_postings_by_time "
                 "WHERE account = ? AND region = ? AND attribute = ? AND last_ms BETWEEN ? AND ? "
                 "AND value <> ''");
    rows.Bind(1, q.account).Bind(2, q.region).Bind(3, static_cast<int64_t>(attribute));
    rows.Bind(4, q.start_ms).Bind(5, q.end_ms + kPostingSpanMs);
    std::map<std::string, int64_t> totals;
    while (rows.Step()) {
      int64_t count = 0;
      ForEachTimeIn(rows.Blob(1), q.start_ms, q.end_ms, [&](EpochMillis) { ++count; });
      if (count > 0) totals[rows.Text(0)] += count;
    }
    COFFER_RETURN_IF_ERROR(rows.status());
    std::vector<AuditTotal> out;
    out.reserve(totals.size());
    for (auto& [value, count] : totals) out.push_back({value, count});
    return out;
  }

  Result<int64_t> LastId() override {
    COFFER_QUERY(q, *c_, "SELECT coalesce(max(id), 0) FROM audit_records");
    int64_t id = 0;
    if (q.Step()) id = q.Int(0);
    COFFER_RETURN_IF_ERROR(q.status());
    return id;
  }

  Result<std::vector<AuditScope>> Scopes() override {
    COFFER_QUERY(q, *c_, "SELECT account, region FROM audit_scopes ORDER BY account, region");
    std::vector<AuditScope> out;
    while (q.Step()) out.push_back({q.Text(0), q.Text(1)});
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  // The index is caught up from the journal after a crash, so its commits need not be synced.
  Status Init() {
    COFFER_RETURN_IF_ERROR(c_->Exec("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF"));
    COFFER_ASSIGN_OR_RETURN(int version, UserVersion());
    COFFER_ASSIGN_OR_RETURN(bool attribute_indexes, HasTable("audit_resources"));
    if (version < kSchemaVersion && attribute_indexes) return MigrateToPostings();
    COFFER_ASSIGN_OR_RETURN(bool had_scopes, HasTable("audit_scopes"));
    COFFER_RETURN_IF_ERROR(c_->Exec(kSchema));
    // An index written before scopes were kept: its scopes, once.
    if (!had_scopes) {
      COFFER_RETURN_IF_ERROR(
          c_->Exec("INSERT OR IGNORE INTO audit_scopes SELECT DISTINCT account, region "
                   "FROM audit_records"));
    }
    return c_->Exec("PRAGMA user_version = 2");
  }

 private:
  Status Insert(std::vector<AuditRow>& rows) {
    PostingsBuilder postings;
    for (auto& r : rows) {
      COFFER_QUERY(
          q, *c_,
          "INSERT OR IGNORE INTO audit_records (time_ms, account, region, event_id, event_name, "
          "event_source, username, access_key_id, read_only, record, resources) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      q.Bind(1, r.time_ms).Bind(2, r.account).Bind(3, r.region).Bind(4, r.event_id);
      q.Bind(5, r.event_name).Bind(6, r.event_source).Bind(7, r.username);
      q.Bind(8, r.access_key_id).Bind(9, static_cast<int64_t>(r.read_only ? 1 : 0));
      q.Bind(10, r.record).BindBlob(11, EncodeResources(r.resources));
      COFFER_RETURN_IF_ERROR(q.Run());
      // A record the index holds already (caught up from the journal twice) is not repeated.
      if (sqlite3_changes(c_->db()) == 0) continue;
      r.id = sqlite3_last_insert_rowid(c_->db());
      postings.Add(r);
    }
    return postings.Write(*c_);
  }

  Result<std::vector<AuditRow>> LookupByEventId(const AuditQuery& q) {
    std::vector<AuditRow> out;
    COFFER_QUERY(r, *c_,
                 "SELECT id, time_ms, account, region, event_id, event_name, event_source, "
                 "username, access_key_id, read_only, record, resources FROM audit_records "
                 "WHERE event_id = ? AND account = ? AND region = ? AND time_ms BETWEEN ? AND ?");
    r.Bind(1, q.value).Bind(2, q.account).Bind(3, q.region).Bind(4, q.start_ms).Bind(5, q.end_ms);
    while (r.Step()) {
      COFFER_ASSIGN_OR_RETURN(AuditRow row, RowOf(r));
      if (q.before && !(Entry{row.time_ms, row.id} < Entry{q.before->first, q.before->second})) {
        continue;
      }
      if (static_cast<int>(out.size()) < q.limit) out.push_back(std::move(row));
    }
    COFFER_RETURN_IF_ERROR(r.status());
    return out;
  }

  Result<int> UserVersion() {
    COFFER_QUERY(q, *c_, "PRAGMA user_version");
    int version = 0;
    if (q.Step()) version = static_cast<int>(q.Int(0));
    COFFER_RETURN_IF_ERROR(q.status());
    return version;
  }

  Result<bool> HasTable(const char* name) {
    COFFER_QUERY(q, *c_, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
    q.Bind(1, std::string_view(name));
    const bool found = q.Step();
    COFFER_RETURN_IF_ERROR(q.status());
    return found;
  }

  // A trail index written with an index per attribute (and a table of resources) becomes one
  // with postings, in one transaction: every record keeps its id, so the log-file delivery's
  // position still points where it did.
  Status MigrateToPostings() {
    COFFER_RETURN_IF_ERROR(c_->Exec("BEGIN IMMEDIATE"));
    Status s = c_->Exec(
        "ALTER TABLE audit_records ADD COLUMN resources BLOB NOT NULL DEFAULT '';"
        "UPDATE audit_records SET resources = (SELECT coalesce(group_concat("
        "  length(CAST(x.type AS BLOB)) || ':' || x.type || "
        "  length(CAST(x.name AS BLOB)) || ':' || x.name, ''), '') "
        "  FROM audit_resources x WHERE x.record_id = audit_records.id);"
        "DROP TABLE audit_resources;"
        "DROP INDEX IF EXISTS audit_by_time; DROP INDEX IF EXISTS audit_by_name;"
        "DROP INDEX IF EXISTS audit_by_read_only; DROP INDEX IF EXISTS audit_by_username;"
        "DROP INDEX IF EXISTS audit_by_source; DROP INDEX IF EXISTS audit_by_access_key;");
    if (s.ok()) s = c_->Exec(kSchema);
    for (int64_t after = 0; s.ok();) {
      auto rows = ReadFrom(after, 8192);
      if (!rows.ok()) {
        s = rows.status();
        break;
      }
      if (rows->empty()) break;
      PostingsBuilder postings;
      for (const auto& r : *rows) postings.Add(r);
      s = postings.Write(*c_);
      after = rows->back().id;
    }
    if (s.ok()) s = c_->Exec("PRAGMA user_version = 2");
    if (s.ok()) s = c_->Exec("COMMIT");
    if (!s.ok()) (void)c_->Exec("ROLLBACK");
    return s;
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
