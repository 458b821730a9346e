#include "store/audit_records.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "testing/scratch_dir.h"

namespace coffer {
namespace {

using testing::ScratchDir;

constexpr EpochMillis kMinute = 60'000;

// Record i of a trail of two accounts, four users, three secrets (two per record at times),
// one record every 7 seconds, so postings rows of many minutes and batches are involved.
AuditRow Row(int i) {
  AuditRow r;
  r.time_ms = 1'000'000 + i * 7'000LL;
  r.account = i % 5 == 0 ? "222233334444" : "111122223333";
  r.region = "eu-west-1";
  r.event_id = "evt-" + std::to_string(i);
  static const char* const kNames[] = {"GetSecretValue", "PutSecretValue", "Decrypt"};
  r.event_name = kNames[i % 3];
  r.event_source = i % 3 == 2 ? "kms.amazonaws.com" : "secretsmanager.amazonaws.com";
  r.username = "user-" + std::to_string(i % 4);
  r.access_key_id = "AKIA" + std::to_string(i % 4);
  r.read_only = i % 3 != 1;
  r.resources.push_back({"AWS::SecretsManager::Secret", "secret-" + std::to_string(i % 3)});
  if (i % 4 == 0) r.resources.push_back({"AWS::SecretsManager::Secret", "secret-extra"});
  if (i % 6 == 0) r.resources.push_back({"AWS::SecretsManager::Secret", "secret-extra"});
  r.record = "{\"eventID\":\"" + r.event_id + "\"}";
  return r;
}

bool Matches(const AuditRow& r, const AuditQuery& q) {
  if (r.account != q.account || r.region != q.region) return false;
  if (r.time_ms < q.start_ms || r.time_ms > q.end_ms) return false;
  if (q.before && !(std::pair(r.time_ms, r.id) < *q.before)) return false;
  if (!q.attribute) return true;
  switch (*q.attribute) {
    case AuditAttribute::kEventId:
      return r.event_id == q.value;
    case AuditAttribute::kEventName:
      return r.event_name == q.value;
    case AuditAttribute::kReadOnly:
      return r.read_only == (q.value == "true");
    case AuditAttribute::kUsername:
      return r.username == q.value;
    case AuditAttribute::kEventSource:
      return r.event_source == q.value;
    case AuditAttribute::kAccessKeyId:
      return r.access_key_id == q.value;
    case AuditAttribute::kResourceType:
    case AuditAttribute::kResourceName:
      for (const auto& res : r.resources) {
        if ((*q.attribute == AuditAttribute::kResourceType ? res.type : res.name) == q.value) {
          return true;
        }
      }
      return false;
  }
  return false;
}

// The ids of every page of `q`, following the cursor as LookupEvents' NextToken does.
std::vector<int64_t> AllPages(AuditRecordStore& store, AuditQuery q) {
  std::vector<int64_t> ids;
  for (int pages = 0; pages < 1000; ++pages) {
    auto page = store.Lookup(q);
    EXPECT_TRUE(page.ok()) << page.status().message();
    if (!page.ok()) break;
    for (const auto& r : *page) ids.push_back(r.id);
    if (static_cast<int>(page->size()) < q.limit) break;
    q.before = {{page->back().time_ms, page->back().id}};
  }
  return ids;
}

std::vector<AuditQuery> Queries(EpochMillis end_of_trail) {
  std::vector<std::pair<std::optional<AuditAttribute>, std::string>> selections = {
      {std::nullopt, ""},
      {AuditAttribute::kEventName, "PutSecretValue"},
      {AuditAttribute::kReadOnly, "true"},
      {AuditAttribute::kReadOnly, "false"},
      {AuditAttribute::kUsername, "user-3"},
      {AuditAttribute::kEventSource, "kms.amazonaws.com"},
      {AuditAttribute::kAccessKeyId, "AKIA1"},
      {AuditAttribute::kResourceType, "AWS::SecretsManager::Secret"},
      {AuditAttribute::kResourceName, "secret-extra"},
      {AuditAttribute::kResourceName, "secret-2"},
      {AuditAttribute::kEventId, "evt-42"},
      {AuditAttribute::kEventName, "NoSuchEvent"},
  };
  std::vector<AuditQuery> out;
  for (const auto& [attribute, value] : selections) {
    for (auto [start, end] : {std::pair<EpochMillis, EpochMillis>{0, end_of_trail},
                              {1'000'000 + 5 * kMinute + 1, 1'000'000 + 9 * kMinute}}) {
      for (int limit : {7, 50}) {
        AuditQuery q;
        q.account = "111122223333";
        q.region = "eu-west-1";
        q.attribute = attribute;
        q.value = value;
        q.start_ms = start;
        q.end_ms = end;
        q.limit = limit;
        out.push_back(q);
      }
    }
  }
  return out;
}

void ExpectLookupsMatch(AuditRecordStore& store, const std::vector<AuditRow>& rows) {
  for (const AuditQuery& q : Queries(rows.back().time_ms + kMinute)) {
    std::vector<const AuditRow*> expected;
    for (const auto& r : rows) {
      if (Matches(r, q)) expected.push_back(&r);
    }
    std::sort(expected.begin(), expected.end(), [](const AuditRow* a, const AuditRow* b) {
      return std::pair(a->time_ms, a->id) > std::pair(b->time_ms, b->id);
    });
    std::vector<int64_t> want;
    for (const AuditRow* r : expected) want.push_back(r->id);
    EXPECT_EQ(AllPages(store, q), want)
        << "attribute " << (q.attribute ? static_cast<int>(*q.attribute) : -1) << " = " << q.value
        << " in [" << q.start_ms << ", " << q.end_ms << "], " << q.limit << " a page";
  }
}

TEST(SqliteAuditRecords, LookupsAnswerWhatAScanOfEveryRecordAnswersPageByPage) {
  ScratchDir dir;
  auto store = OpenSqliteAuditRecords(dir.file("trail.db"));
  ASSERT_TRUE(store.ok()) << store.status().message();
  std::vector<AuditRow> all;
  // Batches of varied sizes, as the indexer writes them; one record out of time order.
  std::mt19937 rng(7);
  for (int i = 0; i < 600;) {
    std::vector<AuditRow> batch;
    const int n = 1 + static_cast<int>(rng() % 60);
    for (int k = 0; k < n && i < 600; ++k, ++i) {
      batch.push_back(Row(i));
      if (i == 299) batch.back().time_ms -= 3 * kMinute;
    }
    ASSERT_TRUE((*store)->Append(batch, i).ok());
    for (auto& r : batch) all.push_back(r);
  }
  // A batch caught up twice (after a crash) adds nothing.
  std::vector<AuditRow> again = {Row(10), Row(11)};
  ASSERT_TRUE((*store)->Append(again, 600).ok());
  ExpectLookupsMatch(**store, all);

  auto first = (*store)->Lookup(Queries(all.back().time_ms)[0]);
  ASSERT_TRUE(first.ok());
  ASSERT_FALSE(first->empty());
  const AuditRow& newest = first->front();
  EXPECT_EQ(newest.event_id, "evt-599");
  EXPECT_EQ(newest.record, "{\"eventID\":\"evt-599\"}");
  ASSERT_EQ(newest.resources.size(), 1u);
  EXPECT_EQ(newest.resources[0].name, "secret-2");

  // Pruning removes the records and the postings rows that end before the cut.
  const EpochMillis cut = all[400].time_ms;
  ASSERT_TRUE((*store)->Prune(cut).ok());
  std::vector<AuditRow> kept;
  for (const auto& r : all) {
    if (r.time_ms >= cut) kept.push_back(r);
  }
  ExpectLookupsMatch(**store, kept);
}

// 500 records in batches of random sizes, with signals and principals, one batch indexed twice
// (as after a crash): what the signal queries below are checked against.
std::vector<AuditRow> FillWithSignals(AuditRecordStore& store) {
  std::vector<AuditRow> all;
  std::mt19937 rng(11);
  for (int i = 0; i < 500;) {
    std::vector<AuditRow> batch;
    const int n = 1 + static_cast<int>(rng() % 40);
    for (int k = 0; k < n && i < 500; ++k, ++i) {
      AuditRow r = Row(i);
      if (i % 3 == 0) r.signals |= SignalBit(AuditSignal::kSecretRead);
      if (i % 7 == 0) r.signals |= SignalBit(AuditSignal::kSecretAccessDenied);
      if (i % 14 == 0) r.signals |= SignalBit(AuditSignal::kUnauthorizedSecretAccess);
      // Every thirteenth record is of another region, with the same principals and secrets.
      if (i % 13 == 0) r.region = "us-east-2";
      // Every eleventh record has no principal (an unauthenticated or service call).
      if (i % 11 != 0) r.principal_arn = "arn:aws:iam::111122223333:user/u" + std::to_string(i % 6);
      batch.push_back(r);
    }
    EXPECT_TRUE(store.Append(batch, i).ok());
    for (auto& r : batch) all.push_back(r);
  }
  std::vector<AuditRow> again = {all[21]};
  EXPECT_TRUE(store.Append(again, 500).ok());  // caught up twice: counted once
  return all;
}

TEST(SqliteAuditRecords, SignalCountsPerBucketAreWhatAScanOfEveryRecordCounts) {
  ScratchDir dir;
  auto store = OpenSqliteAuditRecords(dir.file("trail.db"));
  ASSERT_TRUE(store.ok()) << store.status().message();
  const std::vector<AuditRow> all = FillWithSignals(**store);

  struct Case {
    AuditSignal signal;
    std::string resource;
    EpochMillis start, end, bucket;
  };
  const EpochMillis t0 = 1'000'000;
  const std::vector<Case> cases = {
      {AuditSignal::kSecretRead, "", t0, t0 + 60 * kMinute, 5 * kMinute},
      {AuditSignal::kSecretRead, "secret-extra", t0 + 10'000, t0 + 40 * kMinute, 10'000},
      {AuditSignal::kSecretAccessDenied, "", t0 + 3 * kMinute + 7, t0 + 17 * kMinute, kMinute},
      {AuditSignal::kUnauthorizedSecretAccess, "", t0, t0 + 59 * kMinute + 1, 59 * kMinute},
      {AuditSignal::kRotationFailed, "", t0, t0 + 10 * kMinute, kMinute},
  };
  for (const Case& c : cases) {
    AuditSignalQuery q;
    q.account = "111122223333";
    q.region = "eu-west-1";
    q.signal = c.signal;
    q.resource = c.resource;
    q.start_ms = c.start;
    q.end_ms = c.end;
    q.bucket_ms = c.bucket;
    auto counts = (*store)->CountSignal(q);
    ASSERT_TRUE(counts.ok()) << counts.status().message();
    const EpochMillis span = c.end - c.start;
    std::vector<int64_t> want(static_cast<size_t>((span + c.bucket - 1) / c.bucket));
    for (const auto& r : all) {
      if (r.account != q.account || r.region != q.region ||
          (r.signals & SignalBit(c.signal)) == 0) {
        continue;
      }
      if (r.time_ms < c.start ||
          r.time_ms >= c.start + c.bucket * static_cast<EpochMillis>(want.size()))
        continue;
      bool names = c.resource.empty();
      for (const auto& res : r.resources) names = names || res.name == c.resource;
      if (names) ++want[static_cast<size_t>((r.time_ms - c.start) / c.bucket)];
    }
    EXPECT_EQ(*counts, want) << "signal " << SignalBit(c.signal) << " " << c.resource;
  }
  auto scopes = (*store)->Scopes();
  ASSERT_TRUE(scopes.ok());
  EXPECT_EQ(*scopes, (std::vector<AuditScope>{{"111122223333", "eu-west-1"},
                                              {"111122223333", "us-east-2"},
                                              {"222233334444", "eu-west-1"},
                                              {"222233334444", "us-east-2"}}));
}

TEST(SqliteAuditRecords, TotalsBySecretAndPrincipalAndLookupsBySignalAreWhatAScanFinds) {
  ScratchDir dir;
  auto store = OpenSqliteAuditRecords(dir.file("trail.db"));
  ASSERT_TRUE(store.ok()) << store.status().message();
  const std::vector<AuditRow> all = FillWithSignals(**store);
  const EpochMillis t0 = 1'000'000;
  for (AuditSignal signal : {AuditSignal::kSecretRead, AuditSignal::kSecretAccessDenied}) {
    for (auto [start, end] :
         {std::pair(t0, t0 + 60 * kMinute), std::pair(t0 + 7 * kMinute + 5, t0 + 23 * kMinute)}) {
      AuditSignalQuery q{.account = "111122223333",
                         .region = "eu-west-1",
                         .signal = signal,
                         .start_ms = start,
                         .end_ms = end};
      std::map<std::string, int64_t> by_secret, by_principal;
      for (const auto& r : all) {
        if (r.account != q.account || r.region != q.region ||
            (r.signals & SignalBit(signal)) == 0 || r.time_ms < start || r.time_ms >= end) {
          continue;
        }
        if (!r.principal_arn.empty()) ++by_principal[r.principal_arn];
        std::set<std::string> named;
        for (const auto& res : r.resources) named.insert(res.name);
        if (signal == AuditSignal::kSecretRead) {
          for (const auto& name : named) ++by_secret[name];
        }
      }
      for (auto [by, want] : {std::pair(AuditBreakdown::kSecret, by_secret),
                              std::pair(AuditBreakdown::kPrincipal, by_principal)}) {
        auto totals = (*store)->TotalsBy(q, by);
        ASSERT_TRUE(totals.ok()) << totals.status().message();
        std::map<std::string, int64_t> got;
        for (const auto& t : *totals) got[t.value] = t.count;
        EXPECT_EQ(got, want) << "signal " << SignalBit(signal);
      }
      EXPECT_FALSE(by_principal.empty());
    }
    // The newest records with the signal, newest first.
    AuditQuery lookup{.account = "111122223333",
                      .region = "eu-west-1",
                      .start_ms = t0,
                      .end_ms = t0 + 60 * kMinute,
                      .limit = 5};
    lookup.signal = signal;
    auto page = (*store)->Lookup(lookup);
    ASSERT_TRUE(page.ok()) << page.status().message();
    std::vector<std::string> want;
    for (auto it = all.rbegin(); it != all.rend() && want.size() < 5; ++it) {
      if (it->account == lookup.account && it->region == lookup.region &&
          (it->signals & SignalBit(signal)) != 0 && it->time_ms <= lookup.end_ms &&
          std::find(want.begin(), want.end(), it->event_id) == want.end()) {
        want.push_back(it->event_id);
      }
    }
    std::vector<std::string> got;
    for (const auto& r : *page) got.push_back(r.event_id);
    EXPECT_EQ(got, want);
  }
}

// The index as coffer wrote it with an index per attribute and a table of resources.
constexpr char kAttributeIndexSchema[] =
    "CREATE TABLE audit_records (id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL,"
    "  account TEXT NOT NULL, region TEXT NOT NULL, event_id TEXT NOT NULL,"
    "  event_name TEXT NOT NULL, event_source TEXT NOT NULL, username TEXT NOT NULL,"
    "  access_key_id TEXT NOT NULL, read_only INTEGER NOT NULL, record TEXT NOT NULL);"
    "CREATE TABLE audit_resources (record_id INTEGER NOT NULL REFERENCES audit_records(id)"
    "  ON DELETE CASCADE, account TEXT NOT NULL, region TEXT NOT NULL, time_ms INTEGER NOT NULL,"
    "  type TEXT NOT NULL, name TEXT NOT NULL);"
    "CREATE INDEX audit_by_time ON audit_records(account, region, time_ms, id);"
    "CREATE UNIQUE INDEX audit_by_event_id ON audit_records(event_id);"
    "CREATE INDEX audit_by_name ON audit_records(account, region, event_name, time_ms, id);"
    "CREATE INDEX audit_resource_by_record ON audit_resources(record_id);"
    "CREATE TABLE audit_index_position (id INTEGER PRIMARY KEY, journal_offset INTEGER NOT NULL);"
    "INSERT INTO audit_index_position VALUES (1, 4242);";

TEST(SqliteAuditRecords, AnIndexWithAnIndexPerAttributeIsMigratedKeepingIdsAndResources) {
  ScratchDir dir;
  const std::string path = dir.file("trail.db");
  std::vector<AuditRow> all;
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, kAttributeIndexSchema, nullptr, nullptr, nullptr), SQLITE_OK);
    for (int i = 0; i < 200; ++i) {
      AuditRow r = Row(i);
      r.id = 1000 + i * 2;  // ids with gaps, as pruning and ignored duplicates leave them
      if (i == 5) r.resources.push_back({"AWS::KMS::Key", "arn:aws:kms:eu-west-1:1:key/a:b"});
      const std::string sql = "INSERT INTO audit_records VALUES (" + std::to_string(r.id) + ", " +
                              std::to_string(r.time_ms) + ", '" + r.account + "', '" + r.region +
                              "', '" + r.event_id + "', '" + r.event_name + "', '" +
                              r.event_source + "', '" + r.username + "', '" + r.access_key_id +
                              "', " + (r.read_only ? "1" : "0") + ", '" + r.record + "')";
      ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sql;
      for (const auto& res : r.resources) {
        const std::string res_sql = "INSERT INTO audit_resources VALUES (" + std::to_string(r.id) +
                                    ", '" + r.account + "', '" + r.region + "', " +
                                    std::to_string(r.time_ms) + ", '" + res.type + "', '" +
                                    res.name + "')";
        ASSERT_EQ(sqlite3_exec(db, res_sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
      }
      all.push_back(r);
    }
    sqlite3_close(db);
  }
  auto store = OpenSqliteAuditRecords(path);
  ASSERT_TRUE(store.ok()) << store.status().message();
  EXPECT_EQ((*store)->IndexedUpTo().value(), 4242);
  ExpectLookupsMatch(**store, all);
  auto read = (*store)->ReadFrom(1008, 3);
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->size(), 3u);
  EXPECT_EQ((*read)[0].id, 1010);
  ASSERT_EQ((*read)[0].resources.size(), 2u);  // record 5: its secret and the key
  EXPECT_TRUE((*read)[0].resources[0].name == "arn:aws:kms:eu-west-1:1:key/a:b" ||
              (*read)[0].resources[1].name == "arn:aws:kms:eu-west-1:1:key/a:b");

  // New records go on after the migrated ones, and a second open changes nothing.
  std::vector<AuditRow> more = {Row(200)};
  ASSERT_TRUE((*store)->Append(more, 5000).ok());
  EXPECT_GT(more[0].id, all.back().id);
  all.push_back(more[0]);
  store = OpenSqliteAuditRecords(path);
  ASSERT_TRUE(store.ok()) << store.status().message();
  ExpectLookupsMatch(**store, all);
}

}  // namespace
}  // namespace coffer
