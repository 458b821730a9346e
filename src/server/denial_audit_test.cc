#include "server/denial_audit.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/json.hpp>
#include <filesystem>

#include "store/sqlite_store.h"

namespace coffer {
namespace {

TEST(DenialAuditTest, CountsPerServiceAndRecordsTheCallAsCloudTrailWould) {
  char tmpl[] = "/tmp/coffer-audit-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  auto store = std::move(OpenSqliteStore(dir + "/coffer.db").value());
  DenialAudit audit(store.get());
  RequestContext ctx;
  ctx.principal.account = "123456789012";
  ctx.principal.arn = "arn:aws:iam::123456789012:user/bob";
  ctx.principal.type = "IAMUser";
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

  std::vector<EventRow> events;
  ASSERT_TRUE(store
                  ->Read([&](StoreReader& r) -> Status {
                    COFFER_ASSIGN_OR_RETURN(events, r.ListEvents(0, 10));
                    return Status::Ok();
                  })
                  .ok());
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].source, "aws.secretsmanager");
  EXPECT_EQ(events[0].detail_type, "AWS API Call via CloudTrail");
  auto detail = boost::json::parse(events[0].detail).as_object();
  EXPECT_EQ(detail["eventName"].as_string(), "GetSecretValue");
  EXPECT_EQ(detail["errorCode"].as_string(), "AccessDenied");
  EXPECT_EQ(detail["sourceIPAddress"].as_string(), "127.0.0.1");
  EXPECT_EQ(detail["userIdentity"].as_object()["arn"].as_string(), ctx.principal.arn);
  EXPECT_NE(events[0].resources.find("secret:db-AbCdEf"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace coffer
