#include "audit/audit_trail.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "audit/trail_rows.h"
#include "testing/scratch_dir.h"

namespace coffer::audit {
namespace {

using TempDir = coffer::testing::ScratchDir;

AuditRow Row(EpochMillis t, const std::string& name, const std::string& user,
             const std::string& secret_arn = "") {
  AuditRow r;
  r.time_ms = t;
  r.account = "111122223333";
  r.region = "eu-west-1";
  r.event_id = "evt-" + std::to_string(t) + "-" + name;
  r.event_name = name;
  r.event_source = "secretsmanager.amazonaws.com";
  r.username = user;
  r.access_key_id = "AKIA" + user;
  r.read_only = IsReadOnly(name);
  if (!secret_arn.empty()) r.resources.push_back({"AWS::SecretsManager::Secret", secret_arn});
  r.record = "{\"eventName\":\"" + name + "\"}";
  return r;
}

std::unique_ptr<AuditTrail> OpenTrail(const TempDir& dir, OnFailure on_failure) {
  auto trail = OpenAuditTrail(dir.file("audit"), on_failure);
  EXPECT_TRUE(trail.ok()) << trail.status().message();
  return std::move(trail).value();
}

AuditQuery Query(std::optional<AuditAttribute> attribute = {}, std::string value = "") {
  AuditQuery q;
  q.account = "111122223333";
  q.region = "eu-west-1";
  q.attribute = attribute;
  q.value = std::move(value);
  q.start_ms = 0;
  q.end_ms = 1'000'000;
  return q;
}

TEST(AuditTrailTest, EveryTicketCompletesDurableAndConcurrentAppendsShareBatches) {
  TempDir dir;
  auto trail = OpenTrail(dir, OnFailure::kClosed);
  ASSERT_TRUE(trail->Start().ok());
  constexpr int kThreads = 8, kEach = 200;
  std::atomic<int> durable{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto ticket = trail->Append(Row(t * 1000 + i, "GetSecretValue", "u" + std::to_string(t)));
        ticket->OnDone([&](bool ok) {
          if (ok) durable.fetch_add(1);
        });
      }
    });
  }
  for (auto& th : threads) th.join();
  trail->Stop();  // writes what is queued
  EXPECT_EQ(durable.load(), kThreads * kEach);
  const std::string metrics = trail->PrometheusText();
  EXPECT_NE(metrics.find("coffer_audit_records_total 1600"), std::string::npos) << metrics;
  // Group commit: fewer synced batches than records.
  const std::string sample = "\ncoffer_audit_batches_total ";
  const size_t at = metrics.find(sample);
  ASSERT_NE(at, std::string::npos);
  EXPECT_LT(std::stoll(metrics.substr(at + sample.size())), kThreads * kEach);
}

// Calls that outpace the indexer leave their records in the journal rather than in memory; the
// index still gets every one of them, once.
TEST(AuditTrailTest, AnIndexFarBehindReadsTheJournalInsteadOfHoldingRecordsInMemory) {
  TempDir dir;
  auto trail = OpenTrail(dir, OnFailure::kClosed);
  trail->set_max_pending_index_rows(16);
  ASSERT_TRUE(trail->Start().ok());
  constexpr int kRecords = 600;
  // Appended within the indexer's gathering delay, so far more than 16 wait at once.
  std::vector<std::shared_ptr<Ticket>> tickets;
  for (int i = 0; i < kRecords; ++i)
    tickets.push_back(trail->Append(Row(i + 1, "GetSecretValue", "u")));
  for (int i = kRecords; i < kRecords + 5; ++i) {
    ASSERT_TRUE(trail->AppendAndWait(Row(i + 1, "GetSecretValue", "u")).ok());
  }
  trail->WaitIndexed();
  AuditQuery q = Query(AuditAttribute::kEventName, "GetSecretValue");
  q.limit = 1000;
  auto rows = trail->Lookup(q);
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  ASSERT_EQ(rows->size(), static_cast<size_t>(kRecords + 5));
  for (size_t i = 0; i < rows->size(); ++i) {  // each once, newest first
    EXPECT_EQ((*rows)[i].time_ms, static_cast<EpochMillis>(kRecords + 5 - i));
  }
  const std::string metrics = trail->PrometheusText();
  EXPECT_EQ(metrics.find("coffer_audit_index_overflows_total 0\n"), std::string::npos) << metrics;
  trail->Stop();
}

TEST(AuditTrailTest, LookupsSelectByEachAttributeNewestFirstAndPageWithACursor) {
  TempDir dir;
  auto trail = OpenTrail(dir, OnFailure::kClosed);
  const std::string arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:db-AbCdEf";
  ASSERT_TRUE(trail->AppendAndWait(Row(100, "CreateSecret", "alice", arn)).ok());
  ASSERT_TRUE(trail->AppendAndWait(Row(200, "GetSecretValue", "bob", arn)).ok());
  ASSERT_TRUE(trail->AppendAndWait(Row(300, "GetSecretValue", "alice")).ok());
  ASSERT_TRUE(trail->AppendAndWait(Row(300, "DeleteSecret", "alice", arn)).ok());

  auto all = trail->Lookup(Query());
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all.value().size(), 4u);
  EXPECT_EQ(all.value()[0].event_name, "DeleteSecret");  // same time: the later record first
  EXPECT_EQ(all.value()[3].event_name, "CreateSecret");

  auto by_name = trail->Lookup(Query(AuditAttribute::kEventName, "GetSecretValue"));
  ASSERT_EQ(by_name.value().size(), 2u);
  EXPECT_EQ(by_name.value()[0].username, "alice");
  auto by_user = trail->Lookup(Query(AuditAttribute::kUsername, "bob"));
  ASSERT_EQ(by_user.value().size(), 1u);
  EXPECT_EQ(by_user.value()[0].resources.at(0).name, arn);
  auto by_resource = trail->Lookup(Query(AuditAttribute::kResourceName, arn));
  EXPECT_EQ(by_resource.value().size(), 3u);
  auto by_type = trail->Lookup(Query(AuditAttribute::kResourceType, "AWS::SecretsManager::Secret"));
  EXPECT_EQ(by_type.value().size(), 3u);
  auto reads = trail->Lookup(Query(AuditAttribute::kReadOnly, "true"));
  EXPECT_EQ(reads.value().size(), 2u);
  auto writes = trail->Lookup(Query(AuditAttribute::kReadOnly, "false"));
  EXPECT_EQ(writes.value().size(), 2u);
  auto by_key = trail->Lookup(Query(AuditAttribute::kAccessKeyId, "AKIAbob"));
  EXPECT_EQ(by_key.value().size(), 1u);
  auto by_id = trail->Lookup(Query(AuditAttribute::kEventId, "evt-100-CreateSecret"));
  EXPECT_EQ(by_id.value().size(), 1u);

  // Pages of one, each continuing below the last one's (time, id).
  AuditQuery q = Query();
  q.limit = 1;
  std::vector<std::string> order;
  for (;;) {
    auto page = trail->Lookup(q);
    ASSERT_TRUE(page.ok());
    if (page.value().empty()) break;
    order.push_back(page.value()[0].event_name);
    q.before = std::make_pair(page.value()[0].time_ms, page.value()[0].id);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"DeleteSecret", "GetSecretValue", "GetSecretValue",
                                             "CreateSecret"}));
  // Another account sees nothing.
  AuditQuery other = Query();
  other.account = "444455556666";
  EXPECT_TRUE(trail->Lookup(other).value().empty());
  // Retention.
  ASSERT_TRUE(trail->Prune(250).ok());
  EXPECT_EQ(trail->Lookup(Query()).value().size(), 2u);
}

// A journal whose segment is /dev/full: every write fails with ENOSPC, as on a full disk.
std::unique_ptr<AuditTrail> OpenFullTrail(const TempDir& dir, OnFailure on_failure) {
  const std::string audit = dir.file("audit");
  std::filesystem::create_directories(audit + "/journal");
  std::filesystem::create_symlink("/dev/full", audit + "/journal/00000000000000000000.journal");
  return OpenTrail(dir, on_failure);
}

TEST(AuditTrailTest, FailingClosedRefusesCallsWhileTheJournalCannotBeWritten) {
  TempDir dir;
  auto trail = OpenFullTrail(dir, OnFailure::kClosed);
  EXPECT_FALSE(trail->AppendAndWait(Row(1, "GetSecretValue", "a")).ok());
  EXPECT_FALSE(trail->accepting());
  const std::string metrics = trail->PrometheusText();
  EXPECT_NE(metrics.find("coffer_audit_write_failures_total 1"), std::string::npos);
  EXPECT_NE(metrics.find("coffer_audit_records_lost_total 1"), std::string::npos);
  EXPECT_NE(metrics.find("coffer_audit_writable 0"), std::string::npos);
}

TEST(AuditTrailTest, FailingOpenKeepsAcceptingAndCountsTheLoss) {
  TempDir dir;
  auto trail = OpenFullTrail(dir, OnFailure::kOpen);
  EXPECT_FALSE(trail->AppendAndWait(Row(1, "GetSecretValue", "a")).ok());
  EXPECT_TRUE(trail->accepting());
  EXPECT_NE(trail->PrometheusText().find("coffer_audit_records_lost_total 1"), std::string::npos);
}

TEST(AuditTrailTest, AnIndexLostInACrashIsRebuiltFromTheJournal) {
  TempDir dir;
  {
    auto trail = OpenTrail(dir, OnFailure::kClosed);
    ASSERT_TRUE(trail->Start().ok());
    for (int i = 0; i < 50; ++i)
      ASSERT_TRUE(trail->AppendAndWait(Row(i, "GetSecretValue", "a")).ok());
    trail->Stop();
  }
  // The index goes (as an unsynced index can after a power loss); the journal stays.
  std::filesystem::remove(dir.file("audit/trail.db"));
  std::filesystem::remove(dir.file("audit/trail.db-wal"));
  std::filesystem::remove(dir.file("audit/trail.db-shm"));
  auto trail = OpenTrail(dir, OnFailure::kClosed);
  ASSERT_TRUE(trail->Start().ok());
  AuditQuery q = Query();
  q.limit = 100;
  EXPECT_EQ(trail->Lookup(q).value().size(), 50u);
  // A second catch-up over the same journal repeats nothing.
  trail->Stop();
  ASSERT_TRUE(trail->Start().ok());
  EXPECT_EQ(trail->Lookup(q).value().size(), 50u);
}

TEST(TrailRowsTest, ResourceTypesAndUsernamesAsLookupEventsNamesThem) {
  EXPECT_EQ(ResourceTypeOf("arn:aws:secretsmanager:eu-west-1:111122223333:secret:db-AbCdEf"),
            "AWS::SecretsManager::Secret");
  EXPECT_EQ(ResourceTypeOf("arn:aws:ssm:eu-west-1:111122223333:parameter/app/db"),
            "AWS::SSM::Parameter");
  EXPECT_EQ(ResourceTypeOf("arn:aws:kms:eu-west-1:111122223333:key/1234"), "AWS::KMS::Key");
  EXPECT_EQ(ResourceTypeOf("arn:aws:iam::111122223333:role/app"), "AWS::IAM::Role");
  EXPECT_EQ(ResourceTypeOf("*"), "");
  Principal p;
  p.type = PrincipalType::kAssumedRole;
  p.arn = "arn:aws:sts::111122223333:assumed-role/app/task-1";
  EXPECT_EQ(LookupUsername(p), "task-1");
  p.type = PrincipalType::kIamUser;
  p.user_name = "alice";
  EXPECT_EQ(LookupUsername(p), "alice");
  p.type = PrincipalType::kRoot;
  EXPECT_EQ(LookupUsername(p), "root");
}

}  // namespace
}  // namespace coffer::audit
