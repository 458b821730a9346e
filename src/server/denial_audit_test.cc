#include "server/denial_audit.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/json.hpp>
#include <filesystem>

#include "store/sqlite/sqlite_store.h"
#include "testing/test_store.h"

namespace coffer {
namespace {

class DenialAuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/coffer-audit-XXXXXX";
    dir_ = mkdtemp(tmpl);
    store_ = std::move(test_support::OpenTestStore(dir_, &schema_.name).value());
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  // The events of `account`, or of every account when it is empty.
  std::vector<EventRow> Events(const std::string& account = "") {
    std::vector<EventRow> out;
    EXPECT_TRUE(store_
                    ->Read([&](StoreReader& r) -> Status {
                      if (account.empty()) {
                        COFFER_ASSIGN_OR_RETURN(out, r.events().List(0, 100000));
                      } else {
                        COFFER_ASSIGN_OR_RETURN(out, r.events().ListForAccount(account, 0, 100000));
                      }
                      return Status::Ok();
                    })
                    .ok());
    return out;
  }

  std::string dir_;
  test_support::ScopedTestSchema schema_;  // before the store: dropped after it closes
  std::unique_ptr<Store> store_;
};

TEST_F(DenialAuditTest, CountsPerServiceAndRecordsTheCallAsCloudTrailWould) {
  DenialAudit audit(store_.get());
  RequestContext ctx;
  ctx.principal.account = "123456789012";
  ctx.principal.arn = "arn:aws:iam::123456789012:user/bob";
  ctx.principal.type = PrincipalType::kIamUser;
  ctx.principal.user_name = "bob";
  ctx.principal.access_key_id = "AKIABOBBOBBOBBOBBOB1";
  ctx.scope = {"123456789012", "eu-west-1"};
  ctx.request_id = "req-1";
  ctx.now = 1767225600000;
  ctx.source_ip = "127.0.0.1";
  AuthzCheck check{"secretsmanager:GetSecretValue",
                   "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"};
  audit.Record(ctx, check, "User: bob is not authorized");
  audit.Record(ctx, AuthzCheck{"kms:Decrypt", "arn:aws:kms:eu-west-1:123456789012:key/k"}, "no");
  audit.Record(ctx, check, "again");
  EXPECT_EQ(audit.total(), 3u);
  const std::string metrics = audit.PrometheusText();
  EXPECT_NE(metrics.find("coffer_authz_denials_total{service=\"secretsmanager\"} 2"),
            std::string::npos);
  EXPECT_NE(metrics.find("coffer_authz_denials_total{service=\"kms\"} 1"), std::string::npos);

  EXPECT_TRUE(Events().empty());  // counted in memory until flushed
  ASSERT_TRUE(audit.Flush().ok());
  // One event per (principal, action, resource), with how often it was denied.
  std::vector<EventRow> events = Events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].source, "aws.secretsmanager");
  EXPECT_EQ(events[0].detail_type, "AWS API Call via CloudTrail");
  auto detail = boost::json::parse(events[0].detail).as_object();
  EXPECT_EQ(detail["eventName"].as_string(), "GetSecretValue");
  EXPECT_EQ(detail["errorCode"].as_string(), "AccessDenied");
  EXPECT_EQ(detail["sourceIPAddress"].as_string(), "127.0.0.1");
  EXPECT_EQ(detail["userIdentity"].as_object()["arn"].as_string(), ctx.principal.arn);
  EXPECT_NE(events[0].resources.find("secret:db-AbCdEf"), std::string::npos);
  auto counted = detail["additionalEventData"].as_object();
  EXPECT_EQ(counted["deniedCount"].as_int64(), 2);
  EXPECT_EQ(counted["firstEventTime"].as_string(), "2026-01-01T00:00:00Z");
}

// An unauthorized caller hammering with ever new resource names cannot grow the store faster
// than a bounded number of rows per flush, nor memory between flushes.
TEST_F(DenialAuditTest, AFloodOfDenialsWritesBoundedRows) {
  DenialAudit audit(store_.get());
  RequestContext ctx;
  ctx.principal.account = "210987654321";
  ctx.principal.arn = "arn:aws:iam::210987654321:user/mallory";
  ctx.principal.type = PrincipalType::kIamUser;
  ctx.scope = {"210987654321", "us-east-1"};
  ctx.now = 1767225600000;
  for (int i = 0; i < 50000; ++i) {
    ctx.now += 1;
    audit.Record(ctx,
                 AuthzCheck{"secretsmanager:GetSecretValue",
                            "arn:aws:secretsmanager:us-east-1:123456789012:secret:s" +
                                std::to_string(i % 5000)},
                 "denied");
  }
  ASSERT_TRUE(audit.Flush().ok());
  std::vector<EventRow> events = Events();
  EXPECT_EQ(events.size(), DenialAudit::kMaxKeysPerFlush + 1);
  uint64_t counted = 0;
  for (const auto& e : events) {
    counted += boost::json::parse(e.detail)
                   .as_object()["additionalEventData"]
                   .as_object()["deniedCount"]
                   .as_int64();
  }
  EXPECT_EQ(counted, 50000u);  // every denial is accounted for
  EXPECT_EQ(audit.total(), 50000u);
  ASSERT_TRUE(audit.Flush().ok());  // nothing new: nothing written

  // Retention keeps each account's newest rows, and drops what is too old.
  EventRow other;
  other.time_ms = ctx.now;
  other.account = "123456789012";
  other.region = "us-east-1";
  other.source = "aws.ssm";
  other.detail_type = "Parameter Store Change";
  other.resources = "[]";
  other.detail = "{}";
  ASSERT_TRUE(store_->Write([&](StoreWriter& w) { return w.events().Append(other); }).ok());
  ASSERT_TRUE(store_->Write([&](StoreWriter& w) { return w.events().Prune(0, 100); }).ok());
  std::vector<EventRow> mallory = Events("210987654321");
  EXPECT_EQ(mallory.size(), 100u);
  EXPECT_EQ(mallory.back().id, events.back().id);  // the newest kept
  EXPECT_EQ(Events("123456789012").size(), 1u);    // another account's events untouched
  ASSERT_TRUE(
      store_->Write([&](StoreWriter& w) { return w.events().Prune(ctx.now + 1, 100); }).ok());
  EXPECT_TRUE(Events().empty());
}

}  // namespace
}  // namespace coffer
