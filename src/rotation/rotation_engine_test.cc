// The rotation engine with a real store, keyring, Secrets Manager and policy evaluation, and
// an injected clock: schedules fire at the simulated times they name, across engine restarts,
// and a failing step leaves AWSCURRENT where it was.
#include "rotation/rotation_engine.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "authz/policy_authorizer.h"
#include "core/ids.h"
#include "crypto/crypto.h"
#include "rotation/builtin_rotators.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/test_store.h"

namespace coffer::rotation {
namespace {
namespace json = boost::json;

constexpr char kAccount[] = "123456789012";
constexpr char kRegion[] = "us-east-1";
constexpr EpochMillis kHour = 3600 * 1000;

// Fails setSecret while `fail` is set; otherwise behaves as random-api-key.
class FlakyRotator final : public RotationFunction {
 public:
  explicit FlakyRotator(bool* fail) : fail_(fail), inner_(NewRandomApiKeyRotator()) {}
  Status Invoke(const StepEvent& e, SecretsClient& secrets, std::string* log) override {
    if (e.step == "setSecret" && *fail_) {
      return Status(ErrorCode::kServiceUnavailableException, "the provider refused the new key");
    }
    return inner_->Invoke(e, secrets, log);
  }

 private:
  bool* fail_;
  std::unique_ptr<RotationFunction> inner_;
};

class RotationEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/coffer-rotation-XXXXXX";
    dir_ = mkdtemp(tmpl);
    store_ = std::move(test_support::OpenTestStore(dir_, &schema_.name).value());
    keyring_ = Keyring::OpenUnsealedForTest(store_.get(), crypto::RandomSecret(32), &clock_);
    secrets_ = std::make_unique<secrets::SecretsService>(store_.get(), keyring_.get(), &clock_);
    sts_ = std::make_unique<sts::StsService>(store_.get(), keyring_.get());
    authorizer_ = std::make_unique<PolicyAuthorizer>(store_.get());
    engine_ = NewEngine("process-a");
    secrets_->SetRotationHooks(
        [this](const std::string& arn) { return engine_->FunctionExists(arn); }, nullptr);
    ASSERT_TRUE(store_
                    ->Write([&](StoreWriter& w) -> Status {
                      for (const char* name : {"api", "flaky"}) {
                        RotationFunctionRow f;
                        f.account = kAccount;
                        f.region = kRegion;
                        f.name = name;
                        f.kind = RotationFunctionKind::kBuiltin;
                        f.config = std::string(R"({"Builtin":")") +
                                   (std::string(name) == "api" ? "random-api-key" : "flaky") +
                                   "\"}";
                        COFFER_RETURN_IF_ERROR(w.rotation().PutFunction(f));
                      }
                      return Status::Ok();
                    })
                    .ok());
    root_.principal.account = kAccount;
    root_.principal.arn = std::string("arn:aws:iam::") + kAccount + ":root";
    root_.principal.type = PrincipalType::kRoot;
    root_.scope = {kAccount, kRegion};
    root_.authorizer = authorizer_.get();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<RotationEngine> NewEngine(const std::string& holder) {
    auto e = std::make_unique<RotationEngine>(
        store_.get(), keyring_.get(), secrets_.get(), sts_.get(), authorizer_.get(), &clock_,
        EngineOptions{holder, "http://127.0.0.1:1", 3, 60 * 1000});
    e->RegisterBuiltin("random-api-key", NewRandomApiKeyRotator);
    e->RegisterBuiltin("flaky", [this] { return std::make_unique<FlakyRotator>(&fail_); });
    return e;
  }

  Result<json::object> Call(std::string_view op, json::object in) {
    root_.now = clock_.NowMillis();
    // The SDKs fill in the idempotency token; so does this client.
    if ((op == "CreateSecret" || op == "PutSecretValue") && !in.contains("ClientRequestToken")) {
      in["ClientRequestToken"] = NewUuid();
    }
    return secrets_->Handle(op, root_, in);
  }
  std::string Value(const char* stage) {
    auto v = Call("GetSecretValue", {{"SecretId", "api-key"}, {"VersionStage", stage}});
    return v.ok() ? std::string(v->at("SecretString").as_string()) : "";
  }
  int64_t SecretId(const std::string& name) {
    auto d = Call("DescribeSecret", {{"SecretId", name}});
    std::string arn(d.value().at("ARN").as_string());
    int64_t id = 0;
    (void)store_->Read([&](StoreReader& r) -> Status {
      auto found = r.secrets().FindByArn({kAccount, kRegion}, arn);
      if (found.ok() && found.value().has_value()) id = found.value()->id;
      return Status::Ok();
    });
    return id;
  }
  std::string FunctionArn(const char* name) {
    return std::string("arn:aws:lambda:") + kRegion + ":" + kAccount + ":function:" + name;
  }
  std::vector<std::string> EventNames() {
    std::vector<std::string> names;
    (void)store_->Read([&](StoreReader& r) -> Status {
      COFFER_ASSIGN_OR_RETURN(auto events, r.events().List(0, 1000));
      for (const auto& e : events) {
        names.emplace_back(json::parse(e.detail).as_object()["eventName"].as_string());
      }
      return Status::Ok();
    });
    return names;
  }

  FakeClock clock_{1767225600000};  // 2026-01-01T00:00:00Z
  bool fail_ = false;
  std::string dir_;
  test_support::ScopedTestSchema schema_;  // before the store: dropped after it closes
  std::unique_ptr<Store> store_;
  std::unique_ptr<Keyring> keyring_;
  std::unique_ptr<secrets::SecretsService> secrets_;
  std::unique_ptr<sts::StsService> sts_;
  std::unique_ptr<PolicyAuthorizer> authorizer_;
  std::unique_ptr<RotationEngine> engine_;
  RequestContext root_;
};

TEST_F(RotationEngineTest, RotateSecretRunsAllFourStepsAndMovesTheLabels) {
  ASSERT_TRUE(
      Call("CreateSecret",
           {{"Name", "api-key"}, {"SecretString", R"({"apiKey":"first-key-value","owner":"ci"})"}})
          .ok());
  const std::string before = Value("AWSCURRENT");
  auto rotated = Call("RotateSecret", {{"SecretId", "api-key"},
                                       {"RotationLambdaARN", FunctionArn("api")},
                                       {"RotationRules", {{"AutomaticallyAfterDays", 90}}}});
  ASSERT_TRUE(rotated.ok()) << rotated.status().message();
  const std::string token(rotated->at("VersionId").as_string());
  ASSERT_EQ(engine_->RunDue().value(), 4);
  const std::string after = Value("AWSCURRENT");
  EXPECT_NE(after, before);
  EXPECT_NE(after.find("\"owner\":\"ci\""), std::string::npos);  // other members kept
  EXPECT_EQ(Value("AWSPREVIOUS"), before);
  auto described = Call("DescribeSecret", {{"SecretId", "api-key"}}).value();
  EXPECT_EQ(described["RotationEnabled"], json::value(true));
  EXPECT_EQ(described["RotationLambdaARN"].as_string(), FunctionArn("api"));
  EXPECT_EQ(described["LastRotatedDate"], json::value(clock_.NowMillis() / 1000));
  EXPECT_EQ(described["NextRotationDate"],
            json::value((clock_.NowMillis() + 90 * kMillisPerDay) / 1000));
  EXPECT_EQ(described["VersionIdsToStages"].as_object()[token].as_array()[0], "AWSCURRENT");
  EXPECT_EQ(EventNames(), (std::vector<std::string>{"RotationStarted", "RotationSucceeded"}));
  EXPECT_EQ(engine_->RunDue().value(), 0);  // nothing left
  EXPECT_NE(
      engine_->PrometheusText().find("coffer_rotation_events_total{event=\"RotationSucceeded\"} 1"),
      std::string::npos);
}

TEST_F(RotationEngineTest, AFailingStepKeepsAwsCurrentAndSucceedsOnTheNextAttempt) {
  ASSERT_TRUE(Call("CreateSecret", {{"Name", "api-key"}, {"SecretString", "old-key-0000"}}).ok());
  fail_ = true;
  ASSERT_TRUE(
      Call("RotateSecret", {{"SecretId", "api-key"}, {"RotationLambdaARN", FunctionArn("flaky")}})
          .ok());
  EXPECT_EQ(engine_->RunDue().value(), 2);  // createSecret, then setSecret fails
  EXPECT_EQ(Value("AWSCURRENT"), "old-key-0000");
  const std::string pending = Value("AWSPENDING");
  EXPECT_FALSE(pending.empty());
  // The error is recorded without the pending value.
  std::optional<RotationRunRow> run;
  const int64_t secret_id = SecretId("api-key");
  ASSERT_TRUE(store_
                  ->Read([&](StoreReader& r) -> Status {
                    COFFER_ASSIGN_OR_RETURN(run, r.rotation().FindRun(secret_id));
                    return Status::Ok();
                  })
                  .ok());
  ASSERT_TRUE(run.has_value());
  EXPECT_EQ(run->attempts, 1);
  EXPECT_EQ(run->step, "setSecret");
  EXPECT_NE(run->last_error.find("refused"), std::string::npos);
  EXPECT_EQ(run->last_error.find(pending), std::string::npos);
  // Not retried before the backoff; another RotateSecret says a rotation is under way.
  EXPECT_EQ(engine_->RunDue().value(), 0);
  auto again = Call("RotateSecret", {{"SecretId", "api-key"}});
  EXPECT_EQ(again.status().code(), ErrorCode::kInvalidRequestException);
  EXPECT_NE(again.status().message().find("previous rotation isn't complete"), std::string::npos);
  fail_ = false;
  // ... and that call asked for the retry now: it resumes at setSecret.
  EXPECT_EQ(engine_->RunDue().value(), 3);
  EXPECT_EQ(Value("AWSCURRENT"), pending);
  EXPECT_EQ(Value("AWSPREVIOUS"), "old-key-0000");
  EXPECT_EQ(EventNames(),
            (std::vector<std::string>{"RotationStarted", "RotationFailed", "RotationSucceeded"}));
}

TEST_F(RotationEngineTest, RetriesBackOffAndAreAbandonedAfterTheLimit) {
  ASSERT_TRUE(Call("CreateSecret", {{"Name", "api-key"}, {"SecretString", "old-key-0000"}}).ok());
  fail_ = true;
  ASSERT_TRUE(
      Call("RotateSecret", {{"SecretId", "api-key"}, {"RotationLambdaARN", FunctionArn("flaky")}})
          .ok());
  EXPECT_EQ(engine_->RunDue().value(), 2);
  clock_.Advance(std::chrono::seconds(59));
  EXPECT_EQ(engine_->RunDue().value(), 0);
  clock_.Advance(std::chrono::seconds(1));  // 1 minute after the first failure
  EXPECT_EQ(engine_->RunDue().value(), 1);
  clock_.Advance(std::chrono::minutes(2));  // then 2 minutes
  EXPECT_EQ(engine_->RunDue().value(), 1);
  EXPECT_EQ(Value("AWSCURRENT"), "old-key-0000");
  auto names = EventNames();
  EXPECT_EQ(names.back(), "RotationAbandoned");
  clock_.Advance(std::chrono::hours(1));
  EXPECT_EQ(engine_->RunDue().value(), 0);
}

TEST_F(RotationEngineTest, SchedulesFireAtTheirSimulatedTimesAcrossRestarts) {
  ASSERT_TRUE(Call("CreateSecret", {{"Name", "api-key"}, {"SecretString", "v0-initial"}}).ok());
  ASSERT_TRUE(Call("RotateSecret", {{"SecretId", "api-key"},
                                    {"RotationLambdaARN", FunctionArn("api")},
                                    {"RotationRules", {{"AutomaticallyAfterDays", 30}}},
                                    {"RotateImmediately", false}})
                  .ok());
  // RotateImmediately=false only tests the function (testSecret), and the value stays.
  EXPECT_EQ(engine_->RunDue().value(), 1);
  EXPECT_EQ(Value("AWSCURRENT"), "v0-initial");
  EXPECT_EQ(EventNames().back(), "TestRotationSucceeded");
  const std::string v0 = Value("AWSCURRENT");
  clock_.Advance(std::chrono::hours(24 * 29 + 23));
  EXPECT_EQ(engine_->RunDue().value(), 0);
  EXPECT_EQ(Value("AWSCURRENT"), v0);
  // The process restarts; the schedule is in the store.
  engine_ = NewEngine("process-b");
  clock_.Advance(std::chrono::hours(1));  // day 30, 00:00 UTC: the window opens
  EXPECT_EQ(engine_->RunDue().value(), 4);
  const std::string v1 = Value("AWSCURRENT");
  EXPECT_NE(v1, v0);
  // Down for 45 days: the missed window is caught up at once, once.
  engine_.reset();
  clock_.Advance(std::chrono::hours(24 * 45));
  engine_ = NewEngine("process-c");
  EXPECT_EQ(engine_->RunDue().value(), 4);
  EXPECT_NE(Value("AWSCURRENT"), v1);
  EXPECT_EQ(engine_->RunDue().value(), 0);
  // A manual change counts as a rotation: the next window moves 30 days from it.
  clock_.Advance(std::chrono::hours(24 * 10));
  ASSERT_TRUE(
      Call("PutSecretValue", {{"SecretId", "api-key"},
                              {"SecretString", "set-by-hand"},
                              {"ClientRequestToken", "00000000-0000-4000-8000-00000000aaaa"}})
          .ok());
  auto described = Call("DescribeSecret", {{"SecretId", "api-key"}}).value();
  EXPECT_EQ(described["LastRotatedDate"], json::value(clock_.NowMillis() / 1000));
  clock_.Advance(std::chrono::hours(24 * 25));
  EXPECT_EQ(engine_->RunDue().value(), 0);
  EXPECT_EQ(Value("AWSCURRENT"), "set-by-hand");
}

TEST_F(RotationEngineTest, TwoProcessesNeverRunOneRotationTwice) {
  ASSERT_TRUE(Call("CreateSecret", {{"Name", "api-key"}, {"SecretString", "old-key-0000"}}).ok());
  ASSERT_TRUE(
      Call("RotateSecret", {{"SecretId", "api-key"}, {"RotationLambdaARN", FunctionArn("api")}})
          .ok());
  // Process B claims the run first (its lease is in the store); A finds nothing to do.
  auto other = NewEngine("process-b");
  std::optional<RotationRunRow> run;
  ASSERT_TRUE(store_
                  ->Write([&](StoreWriter& w) -> Status {
                    COFFER_ASSIGN_OR_RETURN(auto runs,
                                            w.rotation().ListDueRuns(clock_.NowMillis(), 0, 10));
                    EXPECT_EQ(runs.size(), 1u);
                    runs[0].lease_holder = "process-b";
                    runs[0].lease_expires_ms = clock_.NowMillis() + 60000;
                    return w.rotation().PutRun(runs[0]);
                  })
                  .ok());
  EXPECT_EQ(engine_->RunDue().value(), 0);
  EXPECT_EQ(Value("AWSCURRENT"), "old-key-0000");
  // B dies holding the lease; after it expires, A takes over.
  clock_.Advance(std::chrono::seconds(61));
  EXPECT_EQ(engine_->RunDue().value(), 4);
  EXPECT_NE(Value("AWSCURRENT"), "old-key-0000");
}

// Counts the steps it runs, per secret, then behaves as random-api-key.
class CountingRotator final : public RotationFunction {
 public:
  CountingRotator(std::mutex* mu, std::map<std::string, int>* steps)
      : mu_(mu), steps_(steps), inner_(NewRandomApiKeyRotator()) {}
  Status Invoke(const StepEvent& e, SecretsClient& secrets, std::string* log) override {
    {
      std::lock_guard lock(*mu_);
      ++(*steps_)[e.secret_arn + " " + e.step];
    }
    return inner_->Invoke(e, secrets, log);
  }

 private:
  std::mutex* mu_;
  std::map<std::string, int>* steps_;
  std::unique_ptr<RotationFunction> inner_;
};

// Two engines (two processes' worth) on one store, passing at the same time from two threads:
// the leases in the store give every rotation to exactly one of them, so no step of any
// rotation runs twice and every rotation completes.
TEST_F(RotationEngineTest, TwoEnginesRacingOnOneStoreRunEachStepOfEachRotationOnce) {
  std::mutex mu;
  std::map<std::string, int> steps;
  ASSERT_TRUE(store_
                  ->Write([&](StoreWriter& w) -> Status {
                    RotationFunctionRow f;
                    f.account = kAccount;
                    f.region = kRegion;
                    f.name = "counting";
                    f.kind = RotationFunctionKind::kBuiltin;
                    f.config = R"({"Builtin":"counting"})";
                    return w.rotation().PutFunction(f);
                  })
                  .ok());
  std::vector<std::unique_ptr<RotationEngine>> engines;
  for (const char* holder : {"process-a", "process-b"}) {
    engines.push_back(NewEngine(holder));
    engines.back()->RegisterBuiltin("counting",
                                    [&] { return std::make_unique<CountingRotator>(&mu, &steps); });
  }
  constexpr int kSecrets = 12;
  for (int i = 0; i < kSecrets; ++i) {
    const std::string name = "race-" + std::to_string(i);
    ASSERT_TRUE(Call("CreateSecret", {{"Name", name}, {"SecretString", "old-" + name}}).ok());
    ASSERT_TRUE(
        Call("RotateSecret", {{"SecretId", name}, {"RotationLambdaARN", FunctionArn("counting")}})
            .ok());
  }
  std::atomic<int> total_steps{0};
  std::vector<std::thread> racers;
  for (auto& engine : engines) {
    racers.emplace_back([&, e = engine.get()] {
      for (int pass = 0; pass < 5; ++pass) {
        auto ran = e->RunDue();
        EXPECT_TRUE(ran.ok()) << ran.status().message();
        if (ran.ok()) total_steps += ran.value();
      }
    });
  }
  for (auto& t : racers) t.join();
  EXPECT_EQ(total_steps, kSecrets * 4);
  ASSERT_EQ(steps.size(), static_cast<size_t>(kSecrets * 4));
  for (const auto& [secret_step, count] : steps) {
    EXPECT_EQ(count, 1) << secret_step << " ran " << count << " times";
  }
  for (int i = 0; i < kSecrets; ++i) {
    const std::string name = "race-" + std::to_string(i);
    auto v = Call("GetSecretValue", {{"SecretId", name}});
    ASSERT_TRUE(v.ok());
    EXPECT_NE(v->at("SecretString").as_string(), "old-" + name) << name << " was not rotated";
  }
}

TEST_F(RotationEngineTest, RotateSecretRefusesUnknownFunctionsBadRulesAndCancelStops) {
  ASSERT_TRUE(Call("CreateSecret", {{"Name", "api-key"}, {"SecretString", "old-key-0000"}}).ok());
  EXPECT_EQ(
      Call("RotateSecret", {{"SecretId", "api-key"}, {"RotationLambdaARN", FunctionArn("missing")}})
          .status()
          .code(),
      ErrorCode::kAccessDeniedException);
  EXPECT_EQ(Call("RotateSecret", {{"SecretId", "api-key"}}).status().code(),
            ErrorCode::kInvalidRequestException);
  EXPECT_EQ(Call("RotateSecret", {{"SecretId", "api-key"},
                                  {"RotationLambdaARN", FunctionArn("api")},
                                  {"RotationRules", {{"ScheduleExpression", "rate(1 minute)"}}}})
                .status()
                .code(),
            ErrorCode::kInvalidParameterException);
  ASSERT_TRUE(Call("RotateSecret", {{"SecretId", "api-key"},
                                    {"RotationLambdaARN", FunctionArn("api")},
                                    {"RotationRules", {{"ScheduleExpression", "rate(10 days)"}}}})
                  .ok());
  auto cancelled = Call("CancelRotateSecret", {{"SecretId", "api-key"}});
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(engine_->RunDue().value(), 0);
  auto described = Call("DescribeSecret", {{"SecretId", "api-key"}}).value();
  EXPECT_EQ(described["RotationEnabled"], json::value(false));
  EXPECT_FALSE(described.contains("NextRotationDate"));
  EXPECT_EQ(Value("AWSCURRENT"), "old-key-0000");
  ASSERT_TRUE(Call("DeleteSecret", {{"SecretId", "api-key"}}).ok());
  EXPECT_EQ(Call("RotateSecret", {{"SecretId", "api-key"}}).status().code(),
            ErrorCode::kInvalidRequestException);
}

}  // namespace
}  // namespace coffer::rotation

namespace coffer::rotation {
namespace {

TEST_F(RotationEngineTest, RateAndCronSchedulesFireAtTheirSimulatedTimesAcrossRestarts) {
  ASSERT_TRUE(Call("CreateSecret", {{"Name", "api-key"}, {"SecretString", "v0-initial"}}).ok());
  // Every 6 hours, from the rotation made now (2026-01-01T00:00Z).
  ASSERT_TRUE(Call("RotateSecret", {{"SecretId", "api-key"},
                                    {"RotationLambdaARN", FunctionArn("api")},
                                    {"RotationRules", {{"ScheduleExpression", "rate(6 hours)"}}}})
                  .ok());
  EXPECT_EQ(engine_->RunDue().value(), 4);
  std::string value = Value("AWSCURRENT");
  clock_.Advance(std::chrono::hours(5) + std::chrono::minutes(59));
  EXPECT_EQ(engine_->RunDue().value(), 0);
  engine_ = NewEngine("after-restart");
  clock_.Advance(std::chrono::minutes(1));  // 06:00
  EXPECT_EQ(engine_->RunDue().value(), 4);
  EXPECT_NE(Value("AWSCURRENT"), value);
  value = Value("AWSCURRENT");

  // 16:00 UTC on the 1st and 15th of each month, three-hour window.
  ASSERT_TRUE(
      Call("RotateSecret", {{"SecretId", "api-key"},
                            {"RotationRules",
                             {{"ScheduleExpression", "cron(0 16 1,15 * ? *)"}, {"Duration", "3h"}}},
                            {"RotateImmediately", false}})
          .ok());
  EXPECT_EQ(engine_->RunDue().value(), 1);  // the configuration test only
  EXPECT_EQ(Value("AWSCURRENT"), value);
  auto described = Call("DescribeSecret", {{"SecretId", "api-key"}}).value();
  const EpochMillis jan1 = 1767225600000;
  EXPECT_EQ(described["NextRotationDate"], json::value((jan1 + 16 * kHour) / 1000));
  clock_.Set(jan1 + 16 * kHour - 1000);
  EXPECT_EQ(engine_->RunDue().value(), 0);
  engine_ = NewEngine("second-restart");
  clock_.Set(jan1 + 16 * kHour);
  EXPECT_EQ(engine_->RunDue().value(), 4);
  EXPECT_NE(Value("AWSCURRENT"), value);
  described = Call("DescribeSecret", {{"SecretId", "api-key"}}).value();
  EXPECT_EQ(described["NextRotationDate"],
            json::value((jan1 + 14 * kMillisPerDay + 16 * kHour) / 1000));
}

}  // namespace
}  // namespace coffer::rotation
