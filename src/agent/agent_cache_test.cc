#include "agent/agent_cache.h"

#include <gtest/gtest.h>

namespace coffer::agent {
namespace {

namespace json = boost::json;

// A Secrets Manager of one secret whose versions and stages the test moves, counting calls.
class FakeBackend final : public SecretsBackend {
 public:
  client::CallResult<json::object> GetSecretValue(const SecretQuery& query) override {
    ++gets;
    client::CallResult<json::object> r;
    if (down) {
      r.failure = {"ConnectionError", "refused", 0};
      return r;
    }
    const std::string version = query.version_id.empty() ? current : query.version_id;
    r.value = json::object{{"ARN", "arn:s"},
                           {"Name", "s"},
                           {"VersionId", version},
                           {"SecretString", "value-" + version}};
    return r;
  }
  client::CallResult<json::object> DescribeSecret(const std::string&) override {
    ++describes;
    client::CallResult<json::object> r;
    if (down) {
      r.failure = {"ConnectionError", "refused", 0};
      return r;
    }
    r.value =
        json::object{{"VersionIdsToStages", json::object{{current, json::array{"AWSCURRENT"}}}}};
    return r;
  }
  client::CallResult<json::object> GetParameter(const ParameterQuery& query) override {
    ++parameter_gets;
    client::CallResult<json::object> r;
    r.value = json::object{{"Parameter", json::object{{"Name", query.name}, {"Value", "p"}}}};
    return r;
  }
  std::string current = "v1";
  bool down = false;
  int gets = 0, describes = 0, parameter_gets = 0;
};

std::string ValueOf(const AgentReply& reply) {
  return std::string(json::parse(reply.body).as_object().at("SecretString").as_string());
}

class AgentCacheTest : public ::testing::Test {
 protected:
  AgentCache Make(int ttl_seconds, size_t max_entries = 1000) {
    CacheOptions options;
    options.secret_ttl = options.parameter_ttl = std::chrono::seconds(ttl_seconds);
    options.max_entries = max_entries;
    return AgentCache(&backend_, &clock_, options);
  }
  FakeBackend backend_;
  FakeClock clock_{1'000'000};
};

TEST_F(AgentCacheTest, FreshEntriesAreServedWithoutACall) {
  auto cache = Make(300);
  EXPECT_EQ(ValueOf(cache.Secret({"s"})), "value-v1");
  EXPECT_EQ(ValueOf(cache.Secret({"s"})), "value-v1");
  EXPECT_EQ(backend_.gets, 1);
  EXPECT_EQ(backend_.describes, 0);
}

// aws-secretsmanager-caching: a stale entry still holding AWSCURRENT is served again after one
// DescribeSecret, without reading the value; a moved stage is read anew.
TEST_F(AgentCacheTest, StaleEntriesAreCheckedWithDescribeSecret) {
  auto cache = Make(300);
  cache.Secret({"s"});
  clock_.Advance(std::chrono::seconds(301));
  EXPECT_EQ(ValueOf(cache.Secret({"s"})), "value-v1");
  EXPECT_EQ(backend_.gets, 1);
  EXPECT_EQ(backend_.describes, 1);
  backend_.current = "v2";
  EXPECT_EQ(ValueOf(cache.Secret({"s"})), "value-v1");  // refreshed for another TTL
  clock_.Advance(std::chrono::seconds(301));
  EXPECT_EQ(ValueOf(cache.Secret({"s"})), "value-v2");
  EXPECT_EQ(backend_.gets, 2);
}

TEST_F(AgentCacheTest, TransientErrorsServeStaleValuesButRefreshNowDoesNot) {
  auto cache = Make(300);
  cache.Secret({"s"});
  backend_.down = true;
  clock_.Advance(std::chrono::seconds(301));
  EXPECT_EQ(ValueOf(cache.Secret({"s"})), "value-v1");
  SecretQuery refresh{"s"};
  refresh.refresh_now = true;
  AgentReply failed = cache.Secret(refresh);
  EXPECT_EQ(failed.status, 502);
  EXPECT_EQ(ValueOf(cache.Secret({"s"})), "value-v1");
  EXPECT_EQ(cache.Secret({"other"}).status, 502);
}

TEST_F(AgentCacheTest, ZeroTtlCachesNothingAndTheLruKeepsItsSize) {
  auto none = Make(0);
  none.Secret({"s"});
  none.Secret({"s"});
  EXPECT_EQ(backend_.gets, 2);
  EXPECT_EQ(none.size(), 0u);
  auto small = Make(300, 2);
  small.Secret({"a"});
  small.Secret({"b"});
  small.Secret({"a"});  // a is now the most recent
  small.Secret({"c"});  // b goes
  EXPECT_EQ(small.size(), 2u);
  const int before = backend_.gets;
  small.Secret({"a"});
  EXPECT_EQ(backend_.gets, before);
  small.Secret({"b"});
  EXPECT_EQ(backend_.gets, before + 1);
}

TEST_F(AgentCacheTest, ExpireMakesTheNextReadCheck) {
  auto cache = Make(300);
  cache.Secret({"s"});
  backend_.current = "v2";
  EXPECT_EQ(cache.ExpireSecret("arn:s"), 1u);
  EXPECT_EQ(ValueOf(cache.Secret({"s"})), "value-v2");
  EXPECT_EQ(backend_.describes, 1);
}

TEST_F(AgentCacheTest, ParametersExpireWithTheirTtl) {
  auto cache = Make(10);
  cache.Parameter({"/p", true});
  cache.Parameter({"/p", true});
  EXPECT_EQ(backend_.parameter_gets, 1);
  cache.Parameter({"/p", false});  // another entry
  EXPECT_EQ(backend_.parameter_gets, 2);
  clock_.Advance(std::chrono::seconds(11));
  cache.Parameter({"/p", true});
  EXPECT_EQ(backend_.parameter_gets, 3);
}

}  // namespace
}  // namespace coffer::agent
