#include "monitoring/notifications.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "crypto/crypto.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/scratch_dir.h"
#include "testing/test_store.h"

namespace coffer::monitoring {
namespace {

namespace json = boost::json;
constexpr char kAccount[] = "111122223333";
constexpr EpochMillis kStart = 1'796'515'200'000;

// A command sink whose program is this test: it records what it was given and fails while
// `failing` is set.
struct FakeProgram {
  std::vector<std::string> inputs;
  bool failing = false;
  CommandRunner Runner() {
    return [this](const std::vector<std::string>& argv,
                  const std::string& input) -> Result<std::pair<int, std::string>> {
      EXPECT_EQ(argv, (std::vector<std::string>{"/usr/bin/notify", "--json"}));
      if (failing) return std::make_pair(3, std::string("down"));
      inputs.push_back(input);
      return std::make_pair(0, std::string());
    };
  }
};

class NotifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(test_support::OpenTestStore(dir_.path(), &schema_.name).value());
    keyring_ = Keyring::OpenUnsealedForTest(store_.get(), crypto::RandomSecret(32), &clock_);
    NotifierOptions options;
    options.max_backoff_ms = 60'000;
    notifier_ = std::make_unique<Notifier>(store_.get(), keyring_.get(), nullptr, &clock_, options,
                                           program_.Runner());
  }
  void Append(const std::string& account, const std::string& source, const std::string& name) {
    EventRow e;
    e.time_ms = clock_.NowMillis();
    e.account = account;
    e.region = "eu-west-1";
    e.source = source;
    e.detail_type = "Parameter Store Change";
    e.resources = "[]";
    e.detail = json::serialize(json::object{{"name", name}, {"operation", "Create"}});
    ASSERT_TRUE(store_->Write([&](StoreWriter& w) { return w.events().Append(e); }).ok());
  }
  // The operator's sink "ops", running FakeProgram for every event.
  void AddCommandSink() {
    auto request = json::parse(R"({"Name": "ops", "Command": ["/usr/bin/notify", "--json"]})");
    ASSERT_TRUE(notifier_->PutSink(kAccount, true, request.as_object()).ok());
  }
  std::vector<std::string> Delivered() {
    std::vector<std::string> names;
    for (const auto& in : program_.inputs) {
      names.push_back(json::value_to<std::string>(json::parse(in).at("detail").at("name")));
    }
    return names;
  }
  int64_t Pending() {
    OutboxSummary s;
    EXPECT_TRUE(store_
                    ->Read([&](StoreReader& r) -> Status {
                      COFFER_ASSIGN_OR_RETURN(s, r.notifications().Summarize(kAccount, "ops"));
                      return Status::Ok();
                    })
                    .ok());
    return s.pending;
  }

  coffer::testing::ScratchDir dir_;
  FakeClock clock_{kStart};
  test_support::ScopedTestSchema schema_;  // before the store: dropped after it closes
  std::unique_ptr<Store> store_;
  std::unique_ptr<Keyring> keyring_;
  FakeProgram program_;
  std::unique_ptr<Notifier> notifier_;
};

TEST_F(NotifierTest, MatchingEventsOfTheSinksAccountAreDeliveredOnceInOrder) {
  Append(kAccount, "aws.ssm", "before-the-sink");  // older than the sink: not sent
  ASSERT_TRUE(notifier_->Pass().ok());
  auto key = notifier_->PutSink(kAccount, true,
                                json::parse(R"({"Name": "ops",
      "Command": ["/usr/bin/notify", "--json"],
      "EventPattern": {"source": ["aws.ssm"], "detail": {"name": [{"prefix": "/prod/"}]}}})")
                                    .as_object());
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_EQ(*key, "");  // a command has no signing key
  Append(kAccount, "aws.ssm", "/prod/db");
  Append(kAccount, "aws.ssm", "/dev/db");             // the pattern leaves it out
  Append(kAccount, "aws.cloudwatch", "/prod/alarm");  // so does the source
  Append("999988887777", "aws.ssm", "/prod/theirs");  // another account's event
  Append(kAccount, "aws.ssm", "/prod/api");
  ASSERT_TRUE(notifier_->Pass().ok());
  EXPECT_EQ(Delivered(), (std::vector<std::string>{"/prod/db", "/prod/api"}));
  ASSERT_TRUE(notifier_->Pass().ok());
  EXPECT_EQ(program_.inputs.size(), 2u);  // nothing twice
  json::value envelope = json::parse(program_.inputs[0]);
  EXPECT_EQ(envelope.at("version"), "0");
  EXPECT_EQ(envelope.at("account"), kAccount);
  EXPECT_EQ(envelope.at("source"), "aws.ssm");
  EXPECT_EQ(envelope.at("id").as_string().size(), 36u);
}

TEST_F(NotifierTest, ADownSinkIsRetriedWithBackoffAcrossARestartAndMissesNothing) {
  AddCommandSink();
  program_.failing = true;
  Append(kAccount, "aws.ssm", "one");
  Append(kAccount, "aws.ssm", "two");
  ASSERT_TRUE(notifier_->Pass().ok());
  EXPECT_EQ(Pending(), 2);
  // An hour of outage: retries at growing intervals, capped at the maximum backoff.
  for (int i = 0; i < 60; ++i) {
    clock_.Advance(std::chrono::seconds(60));
    ASSERT_TRUE(notifier_->Pass().ok());
  }
  EXPECT_EQ(Pending(), 2);
  EXPECT_TRUE(program_.inputs.empty());
  // The server restarts (a new Notifier on the same store); the sink comes back.
  NotifierOptions options;
  options.max_backoff_ms = 60'000;
  notifier_ = std::make_unique<Notifier>(store_.get(), keyring_.get(), nullptr, &clock_, options,
                                         program_.Runner());
  program_.failing = false;
  Append(kAccount, "aws.ssm", "three");
  clock_.Advance(std::chrono::seconds(60));
  ASSERT_TRUE(notifier_->Pass().ok());
  EXPECT_EQ(Delivered(), (std::vector<std::string>{"one", "two", "three"}));
  EXPECT_EQ(Pending(), 0);
}

TEST_F(NotifierTest, DeliveriesThatFailFor24HoursAreDroppedAndCounted) {
  AddCommandSink();
  program_.failing = true;
  Append(kAccount, "aws.ssm", "lost");
  ASSERT_TRUE(notifier_->Pass().ok());
  clock_.Advance(std::chrono::hours(24));
  ASSERT_TRUE(notifier_->Pass().ok());
  EXPECT_EQ(Pending(), 0);
  EXPECT_NE(notifier_->PrometheusText().find("coffer_notifications_dropped_total 1"),
            std::string::npos);
}

TEST_F(NotifierTest, SinksAreCheckedAndOnlyTheOperatorRunsCommandsOrCallsLoopback) {
  auto put = [&](bool by_operator, const char* request) {
    return notifier_->PutSink(kAccount, by_operator, json::parse(request).as_object()).status();
  };
  EXPECT_EQ(put(false, R"({"Name": "x", "Command": ["/bin/sh"]})").code(),
            ErrorCode::kAccessDeniedException);
  EXPECT_EQ(put(false, R"({"Name": "x", "Url": "http://127.0.0.1:9/hook"})").code(),
            ErrorCode::kAccessDeniedException);
  EXPECT_EQ(put(true, R"({"Name": "x", "Url": "http://10.0.0.5/hook"})").code(),
            ErrorCode::kAccessDeniedException);
  EXPECT_EQ(put(true, R"({"Name": "bad name!", "Url": "http://127.0.0.1:9/"})").code(),
            ErrorCode::kValidationError);
  EXPECT_EQ(put(true, R"({"Name": "x"})").code(), ErrorCode::kValidationError);
  EXPECT_EQ(
      put(true, R"({"Name": "x", "Url": "http://127.0.0.1:9/", "EventPattern": {"a": 1}})").code(),
      ErrorCode::kInvalidEventPatternException);
  auto key = notifier_->PutSink(
      kAccount, true, json::parse(R"({"Name": "hook", "Url": "http://127.0.0.1:9/"})").as_object());
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->size(), 64u);  // 32 random bytes, hex
  SinkRow stored;
  ASSERT_TRUE(store_
                  ->Read([&](StoreReader& r) -> Status {
                    COFFER_ASSIGN_OR_RETURN(auto row, r.notifications().FindSink(kAccount, "hook"));
                    stored = *row;
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(stored.wrapped_key.find(*key), std::string::npos);  // kept wrapped, not in clear
}

}  // namespace
}  // namespace coffer::monitoring
