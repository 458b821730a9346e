#include "services/secrets/version_watch.h"

#include <gtest/gtest.h>

#include <thread>

#include "core/ids.h"
#include "testing/service_test_support.h"

namespace coffer::secrets {
namespace {

namespace json = boost::json;

class VersionWatchTest : public test_support::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    service_ = std::make_unique<SecretsService>(store_.get(), keyring_.get(), &clock_);
    watch_ = std::make_unique<SecretVersionWatch>(service_.get(), store_.get());
  }
  void TearDown() override {
    watch_.reset();
    StoreTest::TearDown();
  }
  RequestContext Context() {
    RequestContext ctx;
    ctx.authorizer = &allow_all_;
    ctx.scope = {"123456789012", "us-east-1"};
    ctx.principal.account = "123456789012";
    ctx.principal.arn = "arn:aws:iam::123456789012:root";
    ctx.now = clock_.NowMillis();
    return ctx;
  }
  json::object Call(std::string_view op, json::object input) {
    if (op == "PutSecretValue" || op == "CreateSecret") input["ClientRequestToken"] = NewUuid();
    auto r = service_->Handle(op, Context(), input);
    EXPECT_TRUE(r.ok()) << op << ": " << r.status().message();
    return r.ok() ? *r : json::object{};
  }
  std::string Current(const std::string& id) {
    return std::string(Call("GetSecretValue", {{"SecretId", id}})["VersionId"].as_string());
  }
  std::shared_ptr<LaterJson> Watch(const std::string& id, const std::string& held,
                                   int wait_seconds = 20, const std::string& watch_id = "") {
    json::object input{
        {"Secrets", json::array{json::object{{"SecretId", id}, {"VersionId", held}}}},
        {"WaitSeconds", wait_seconds}};
    if (!watch_id.empty()) input["WatchId"] = watch_id;
    auto later = watch_->Watch(Context(), input);
    EXPECT_TRUE(later.ok()) << later.status().message();
    return later.ok() ? *later : nullptr;
  }
  // The answer's Changed list, once given (within 10 s), or nullopt.
  static std::optional<json::array> Changed(const std::shared_ptr<LaterJson>& later) {
    std::optional<json::array> changed;
    std::mutex mu;
    std::condition_variable done;
    later->OnComplete([&](Result<json::object> answer) {
      std::lock_guard lock(mu);
      changed = answer.ok() ? answer->at("Changed").as_array() : json::array{"error"};
      done.notify_all();
    });
    std::unique_lock lock(mu);
    done.wait_for(lock, std::chrono::seconds(10), [&] { return changed.has_value(); });
    return changed;
  }

  std::unique_ptr<SecretsService> service_;
  std::unique_ptr<SecretVersionWatch> watch_;
};

TEST_F(VersionWatchTest, AnswersAtOnceWhenTheHeldVersionIsAlreadyOld) {
  Call("CreateSecret", {{"Name", "db"}, {"SecretString", "one"}});
  const std::string first = Current("db");
  Call("PutSecretValue", {{"SecretId", "db"}, {"SecretString", "two"}});
  auto later = Watch("db", first);
  ASSERT_TRUE(later->completed());
  auto changed = Changed(later);
  ASSERT_TRUE(changed);
  ASSERT_EQ(changed->size(), 1u);
  EXPECT_EQ(changed->at(0).at("SecretId").as_string(), "db");
  EXPECT_EQ(changed->at(0).at("VersionId").as_string(), Current("db"));
}

TEST_F(VersionWatchTest, WaitsForAStageMoveAndOnlyForTheWatchedStage) {
  Call("CreateSecret", {{"Name", "db"}, {"SecretString", "one"}});
  auto later = Watch("db", Current("db"));
  EXPECT_FALSE(later->completed());
  // AWSPENDING is not what it watches.
  Call("PutSecretValue",
       {{"SecretId", "db"}, {"SecretString", "p"}, {"VersionStages", json::array{"AWSPENDING"}}});
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // three checker passes
  EXPECT_FALSE(later->completed());
  Call("PutSecretValue", {{"SecretId", "db"}, {"SecretString", "two"}});
  auto changed = Changed(later);
  ASSERT_TRUE(changed);
  ASSERT_EQ(changed->size(), 1u);
  EXPECT_EQ(changed->at(0).at("VersionId").as_string(), Current("db"));
}

TEST_F(VersionWatchTest, ADeletedSecretIsReportedWithoutAVersion) {
  Call("CreateSecret", {{"Name", "db"}, {"SecretString", "one"}});
  auto later = Watch("db", Current("db"));
  Call("DeleteSecret", {{"SecretId", "db"}, {"ForceDeleteWithoutRecovery", true}});
  auto changed = Changed(later);
  ASSERT_TRUE(changed);
  ASSERT_EQ(changed->size(), 1u);
  EXPECT_FALSE(changed->at(0).as_object().contains("VersionId"));
}

TEST_F(VersionWatchTest, TimesOutEmptyAndEndAllAnswersEveryone) {
  Call("CreateSecret", {{"Name", "db"}, {"SecretString", "one"}});
  const std::string held = Current("db");
  auto short_wait = Watch("db", held, 1);
  auto changed = Changed(short_wait);
  ASSERT_TRUE(changed);
  EXPECT_TRUE(changed->empty());
  auto waiting = Watch("db", held);
  watch_->EndAll();
  changed = Changed(waiting);
  ASSERT_TRUE(changed);
  EXPECT_TRUE(changed->empty());
  EXPECT_TRUE(Watch("db", held)->completed());  // after EndAll: answered at once
}

TEST_F(VersionWatchTest, ANewCallWithTheSameWatchIdReplacesTheWaitingOne) {
  Call("CreateSecret", {{"Name", "db"}, {"SecretString", "one"}});
  const std::string held = Current("db");
  auto first = Watch("db", held, 20, "agent-1");
  auto other = Watch("db", held, 20, "agent-2");
  auto second = Watch("db", held, 20, "agent-1");
  // The replaced call is answered, empty: at once, or when the checker's pass that holds it
  // ends (a round trip or two on PostgreSQL).
  auto replaced = Changed(first);
  ASSERT_TRUE(replaced);
  EXPECT_TRUE(replaced->empty());
  EXPECT_FALSE(other->completed());
  EXPECT_FALSE(second->completed());
  Call("PutSecretValue", {{"SecretId", "db"}, {"SecretString", "two"}});
  EXPECT_EQ(Changed(second)->size(), 1u);
  EXPECT_EQ(Changed(other)->size(), 1u);
}

// The checker re-reads every watched secret: their number is bounded per server.
TEST_F(VersionWatchTest, WatchesAtMostTenThousandSecretsAtOnce) {
  Call("CreateSecret", {{"Name", "db"}, {"SecretString", "one"}});
  const std::string held = Current("db");
  json::array thousand;
  for (int i = 0; i < 1000; ++i) {
    thousand.push_back(json::object{{"SecretId", "db"}, {"VersionId", held}});
  }
  std::vector<std::shared_ptr<LaterJson>> waiting;
  for (int i = 0; i < 10; ++i) {
    auto later = watch_->Watch(Context(), {{"Secrets", thousand}});
    ASSERT_TRUE(later.ok()) << i << ": " << later.status().message();
    waiting.push_back(*later);
  }
  auto refused = watch_->Watch(Context(), {{"Secrets", json::array{thousand[0]}}});
  EXPECT_EQ(refused.status().code(), ErrorCode::kThrottlingException);
  // A move answers them all, and the room is back.
  Call("PutSecretValue", {{"SecretId", "db"}, {"SecretString", "two"}});
  for (auto& later : waiting) EXPECT_EQ(Changed(later)->size(), 1000u);
  // The room is back once the checker's pass ends (polled: it ends just after answering).
  json::array one{json::object{{"SecretId", "db"}, {"VersionId", Current("db")}}};
  auto again = watch_->Watch(Context(), {{"Secrets", one}});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!again.ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    again = watch_->Watch(Context(), {{"Secrets", one}});
  }
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_FALSE((*again)->completed());  // waiting: it counted against the limit
}

TEST_F(VersionWatchTest, RefusesBadInputAndUnknownSecrets) {
  Call("CreateSecret", {{"Name", "db"}, {"SecretString", "one"}});
  auto run = [&](json::object input) { return watch_->Watch(Context(), input).status(); };
  EXPECT_EQ(run({{"Secrets", json::array{}}}).code(), ErrorCode::kInvalidParameterException);
  EXPECT_EQ(run({}).code(), ErrorCode::kValidationException);
  EXPECT_EQ(run({{"Secrets", json::array{json::object{{"SecretId", "db"}}}}}).code(),
            ErrorCode::kValidationException);
  EXPECT_EQ(run({{"Secrets", json::array{json::object{
                                 {"SecretId", "nope"},
                                 {"VersionId", "00000000-0000-0000-0000-000000000000"}}}}})
                .code(),
            ErrorCode::kResourceNotFoundException);
}

}  // namespace
}  // namespace coffer::secrets
