#include "monitoring/alarms.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>

#include "audit/trail_rows.h"
#include "core/ids.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/scratch_dir.h"
#include "testing/test_store.h"

namespace coffer::monitoring {
namespace {

namespace json = boost::json;
constexpr char kAccount[] = "111122223333";
constexpr char kRegion[] = "eu-west-1";
// A period boundary of every period: midnight, 2026-12-06.
constexpr EpochMillis kStart = 1'796'515'200'000;

class AlarmsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(test_support::OpenTestStore(dir_.path(), &schema_.name).value());
    ASSERT_TRUE(
        store_->Write([](StoreWriter& w) { return w.deployment().InsertAccount(kAccount, 0); })
            .ok());
    trail_ =
        std::move(audit::OpenAuditTrail(dir_.file("audit"), audit::OnFailure::kClosed).value());
    ASSERT_TRUE(trail_->Start().ok());
    evaluator_ = std::make_unique<AlarmEvaluator>(store_.get(), trail_.get(), &tally_, &clock_);
  }
  void TearDown() override { trail_->Stop(); }

  // A Secrets Manager call by `principal_account` in kAccount, refused or not.
  void Call(const std::string& operation, bool denied,
            const std::string& principal_account = kAccount,
            const std::string& message = "not authorized because no identity-based policy allows") {
    audit::ApiCall call;
    call.event_source = "secretsmanager.amazonaws.com";
    call.event_name = operation;
    call.region = kRegion;
    call.time_ms = clock_.NowMillis();
    call.principal.account = principal_account;
    call.principal.arn = "arn:aws:iam::" + principal_account + ":user/alice";
    call.event_id = NewTimeOrderedUuid(call.time_ms);
    call.recipient_account = kAccount;
    if (denied) call.outcome = Status(ErrorCode::kAccessDeniedException, message);
    ASSERT_TRUE(trail_->AppendAndWait(audit::ApiCallRow(call)).ok());
  }
  void Rotation(const std::string& outcome) {
    audit::ServiceEvent e;
    e.event_source = "secretsmanager.amazonaws.com";
    e.event_name = outcome;
    e.account = kAccount;
    e.region = kRegion;
    e.time_ms = clock_.NowMillis();
    e.event_id = NewTimeOrderedUuid(e.time_ms);
    ASSERT_TRUE(trail_->AppendAndWait(audit::ServiceEventRow(e)).ok());
  }
  // Evaluates after what was appended is indexed.
  void Evaluate() {
    trail_->WaitIndexed();
    Status evaluated = evaluator_->Evaluate();
    ASSERT_TRUE(evaluated.ok()) << evaluated.message();
  }
  // The alarm's state row in kAccount and kRegion ("(none)" as its state before any).
  AlarmStateRow StateRow(const std::string& alarm) {
    AlarmStateRow found;
    found.state = "(none)";
    EXPECT_TRUE(store_
                    ->Read([&](StoreReader& r) -> Status {
                      COFFER_ASSIGN_OR_RETURN(auto states, r.alarms().ListStates(kAccount));
                      for (const auto& s : states) {
                        if (s.alarm == alarm && s.region == kRegion) found = s;
                      }
                      return Status::Ok();
                    })
                    .ok());
    return found;
  }
  std::string State(const std::string& alarm) { return StateRow(alarm).state; }
  std::vector<EventRow> AlarmEvents() {
    std::vector<EventRow> out;
    EXPECT_TRUE(store_
                    ->Read([&](StoreReader& r) -> Status {
                      COFFER_ASSIGN_OR_RETURN(auto all, r.events().List(0, 1000));
                      for (auto& e : all) {
                        if (e.detail_type == "CloudWatch Alarm State Change") out.push_back(e);
                      }
                      return Status::Ok();
                    })
                    .ok());
    return out;
  }
  void Set(const std::string& account, const std::string& alarm, const std::string& settings) {
    ASSERT_TRUE(store_
                    ->Write([&](StoreWriter& w) {
                      return w.alarms().PutSettings({account, alarm, settings, 0});
                    })
                    .ok());
  }

  coffer::testing::ScratchDir dir_;
  FakeClock clock_{kStart + 1'000};
  test_support::ScopedTestSchema schema_;  // before the store: dropped after it closes
  std::unique_ptr<Store> store_;
  std::unique_ptr<audit::AuditTrail> trail_;
  audit::AuthFailureTally tally_;
  std::unique_ptr<AlarmEvaluator> evaluator_;
};

TEST_F(AlarmsTest, AccessDeniedFiresAtItsThresholdInAPeriodAndClearsInTheNextQuietOne) {
  for (int i = 0; i < 4; ++i) Call("GetSecretValue", /*denied=*/true);
  Call("GetSecretValue", /*denied=*/false);
  clock_.Set(kStart + 300'000 + 1'000);  // the period with 4 denials is over
  Evaluate();
  EXPECT_EQ(State("SecretAccessDenied"), "OK");  // 4 < 5
  Call("DescribeSecret", true);
  for (int i = 0; i < 4; ++i) Call("GetSecretValue", true);
  clock_.Set(kStart + 600'000 + 1'000);
  Evaluate();
  EXPECT_EQ(State("SecretAccessDenied"), "ALARM");
  EXPECT_EQ(State("SecretRotationFailed"), "OK");
  EXPECT_EQ(State("UnauthorizedSecretAccess"), "OK");
  clock_.Set(kStart + 900'000 + 1'000);
  Evaluate();
  EXPECT_EQ(State("SecretAccessDenied"), "OK");

  // Each change is an event of EventBridge's shape, with the previous state.
  std::vector<std::string> changes;
  for (const auto& e : AlarmEvents()) {
    json::value d = json::parse(e.detail);
    if (d.at("alarmName") != "SecretAccessDenied") continue;
    EXPECT_EQ(e.source, "aws.cloudwatch");
    EXPECT_EQ(json::parse(e.resources).at(0),
              "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:SecretAccessDenied");
    changes.push_back(json::value_to<std::string>(d.at("previousState").at("value")) + "->" +
                      json::value_to<std::string>(d.at("state").at("value")));
    if (d.at("state").at("value") == "ALARM") {
      EXPECT_EQ(d.at("state").at("reason"),
                "Threshold Crossed: 1 out of the last 1 datapoints [5.0 (06/12/26 00:05:00)] was "
                "greater than or equal to the threshold (5.0) (minimum 1 datapoint for OK -> "
                "ALARM transition).");
      json::value data = json::parse(d.at("state").at("reasonData").as_string());
      EXPECT_EQ(data.at("recentDatapoints").at(0).to_number<double>(), 5.0);
      EXPECT_EQ(data.at("period"), 300);
    }
  }
  EXPECT_EQ(changes, (std::vector<std::string>{"INSUFFICIENT_DATA->OK", "OK->ALARM", "ALARM->OK"}));
}

TEST_F(AlarmsTest, RotationFailuresAndAbandonsFireSecretRotationFailedButSuccessesDoNot) {
  Rotation("RotationSucceeded");
  clock_.Set(kStart + 300'000 + 1'000);
  Evaluate();
  EXPECT_EQ(State("SecretRotationFailed"), "OK");
  Rotation("RotationAbandoned");
  clock_.Set(kStart + 600'000 + 1'000);
  Evaluate();
  EXPECT_EQ(State("SecretRotationFailed"), "ALARM");
  clock_.Set(kStart + 900'000 + 1'000);
  Evaluate();
  EXPECT_EQ(State("SecretRotationFailed"), "OK");
}

TEST_F(AlarmsTest, UnauthorizedCountsAuthenticationFailuresAndResourcePolicyRefusals) {
  Set("*", "UnauthorizedSecretAccess", R"({"Threshold": 4, "Period": 60})");
  tally_.Add(kAccount, kRegion, clock_.NowMillis());
  Call("GetSecretValue", true, "999988887777", "no resource-based policy allows it");  // outsider
  Call("GetSecretValue", true, kAccount, "with an explicit deny in a resource-based policy");
  Call("GetSecretValue", true);  // refused by the caller's own policies: not unauthorized
  Call("GetSecretValue", true);
  clock_.Set(kStart + 60'000 + 1'000);
  Evaluate();
  EXPECT_EQ(State("UnauthorizedSecretAccess"), "OK");  // 3 of the 5 count: under 4
  Call("GetSecretValue", true, "999988887777", "no resource-based policy allows it");
  for (int i = 0; i < 3; ++i) tally_.Add(kAccount, kRegion, clock_.NowMillis());
  tally_.Add("999988887777", kRegion, clock_.NowMillis());  // another account's key
  clock_.Set(kStart + 120'000 + 1'000);
  Evaluate();
  EXPECT_EQ(State("UnauthorizedSecretAccess"), "ALARM");  // 1 refusal and 3 failures
  clock_.Set(kStart + 180'000 + 1'000);
  Evaluate();
  EXPECT_EQ(State("UnauthorizedSecretAccess"), "OK");
}

TEST_F(AlarmsTest, OnASharedStoreTheAlarmsCountWhatEveryNodePublished) {
  // This node publishes what its trail and tally counted, as the App does (app/app.cc).
  trail_->signal_counts().Enable();
  tally_.slot_counts().Enable();
  int publications = 0;
  evaluator_->CountEveryNode([&] {
    ++publications;
    auto signals = trail_->signal_counts().TakeChanged(clock_.NowMillis());
    auto failures = tally_.slot_counts().TakeChanged(clock_.NowMillis());
    return store_->Coordinate([&](ClusterView& c) -> Status {
      COFFER_RETURN_IF_ERROR(c.PutSignalCounts("this-node", signals));
      return c.PutSignalCounts("this-node", failures);
    });
  });
  // Another node served 3 refused calls and one failed authentication in the same period.
  ASSERT_TRUE(store_
                  ->Coordinate([&](ClusterView& c) {
                    return c.PutSignalCounts(
                        "other-node",
                        {{kAccount, kRegion, SignalBit(AuditSignal::kSecretAccessDenied),
                          kStart + 10'000, 3},
                         {kAccount, kRegion, audit::kAuthenticationFailure, kStart + 20'000, 1}});
                  })
                  .ok());
  Call("GetSecretValue", /*denied=*/true);
  Call("DescribeSecret", /*denied=*/true);
  clock_.Set(kStart + 300'000 + 1'000);
  Evaluate();
  EXPECT_EQ(publications, 1);
  EXPECT_EQ(State("SecretAccessDenied"), "ALARM");        // 2 here + 3 there >= 5
  EXPECT_EQ(State("UnauthorizedSecretAccess"), "ALARM");  // the failure there
  // Counted once: this node's 2 are the published ones, not also its trail's.
  Set("*", "SecretAccessDenied", R"({"Threshold": 6})");
  Evaluate();
  EXPECT_EQ(State("SecretAccessDenied"), "OK");
  EXPECT_EQ(publications, 2);
}

TEST_F(AlarmsTest, SeveralEvaluationPeriodsNeedDatapointsToAlarmBreachingOnes) {
  Set(kAccount, "SecretAccessDenied",
      R"({"Threshold": 1, "Period": 60, "EvaluationPeriods": 3, "DatapointsToAlarm": 2})");
  Call("GetSecretValue", true);
  clock_.Set(kStart + 60'000 + 1'000);
  Evaluate();
  EXPECT_EQ(State("SecretAccessDenied"), "OK");  // 1 of 3
  clock_.Set(kStart + 120'000 + 5'000);
  Call("GetSecretValue", true);
  clock_.Set(kStart + 180'000 + 1'000);
  Evaluate();
  EXPECT_EQ(State("SecretAccessDenied"), "ALARM");  // 2 of 3
  clock_.Set(kStart + 240'000 + 5'000);
  Call("GetSecretValue", true);
  Evaluate();
  EXPECT_EQ(State("SecretAccessDenied"), "OK");  // periods [60 s, 240 s): one breaching
  clock_.Set(kStart + 300'000 + 1'000);
  Evaluate();
  EXPECT_EQ(State("SecretAccessDenied"), "ALARM");  // [120 s, 300 s): the calls at 125 and 245 s
  clock_.Set(kStart + 360'000 + 1'000);
  Evaluate();
  EXPECT_EQ(State("SecretAccessDenied"), "OK");
}

TEST_F(AlarmsTest, ActionsDisabledKeepsStateAndHistoryButSendsNoEvent) {
  Set(kAccount, "SecretRotationFailed", R"({"ActionsEnabled": false})");
  Rotation("RotationFailed");
  clock_.Set(kStart + 300'000 + 1'000);
  Evaluate();
  EXPECT_EQ(State("SecretRotationFailed"), "ALARM");
  for (const auto& e : AlarmEvents()) {
    EXPECT_NE(json::parse(e.detail).at("alarmName"), "SecretRotationFailed");
  }
  std::vector<AlarmHistoryRow> history;
  ASSERT_TRUE(store_
                  ->Read([&](StoreReader& r) -> Status {
                    COFFER_ASSIGN_OR_RETURN(
                        history, r.alarms().ListHistory(kAccount, "SecretRotationFailed", 0, 10));
                    return Status::Ok();
                  })
                  .ok());
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].summary, "Alarm updated from INSUFFICIENT_DATA to ALARM");
}

TEST_F(AlarmsTest, NearExpiryCountsRotationsDueSoonAndOldValuesOfSecretsThatDoNotRotate) {
  constexpr EpochMillis kDay = 86'400'000;
  const EpochMillis now = clock_.NowMillis();
  auto add = [&](const std::string& name, bool rotation, std::optional<EpochMillis> next,
                 EpochMillis value_created, bool deleted = false) {
    ASSERT_TRUE(store_
                    ->Write([&](StoreWriter& w) -> Status {
                      SecretRow row;
                      row.account = kAccount;
                      row.region = kRegion;
                      row.name = name;
                      row.arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:" + name;
                      row.created_ms = row.last_changed_ms = value_created;
                      row.rotation_enabled = rotation;
                      row.next_rotation_ms = next;
                      if (deleted) row.deleted_ms = now;
                      COFFER_RETURN_IF_ERROR(w.secrets().Insert(&row));
                      SecretVersionRow v;
                      v.version_id = "v-" + name;
                      v.created_ms = value_created;
                      v.kms_key_arn = "key";
                      v.envelope = "sealed";
                      COFFER_RETURN_IF_ERROR(w.secrets().InsertVersion(row.id, v));
                      return w.secrets().SetStage(row.id, "AWSCURRENT", v.version_id);
                    })
                    .ok());
  };
  add("due-in-3-days", true, now + 3 * kDay, now - 10 * kDay);
  add("overdue", true, now - kDay, now - 40 * kDay);
  add("due-in-30-days", true, now + 30 * kDay, now - 10 * kDay);
  add("unrotated-100-days", false, std::nullopt, now - 100 * kDay);
  add("unrotated-10-days", false, std::nullopt, now - 10 * kDay);
  add("deleted-and-old", false, std::nullopt, now - 100 * kDay, /*deleted=*/true);
  Evaluate();
  EXPECT_EQ(State("SecretNearExpiry"), "ALARM");
  const std::string reason = StateRow("SecretNearExpiry").reason;
  EXPECT_NE(reason.find("[3.0 ("), std::string::npos) << reason;  // three of the six
  // Narrower settings, read at the next refresh (once a minute): none is near expiry.
  Set(kAccount, "SecretNearExpiry", R"({"WithinDays": 0, "MaxAgeDays": 365})");
  clock_.Advance(std::chrono::seconds(61));
  Evaluate();
  EXPECT_EQ(State("SecretNearExpiry"), "ALARM");  // "overdue" still is
  ASSERT_TRUE(store_
                  ->Write([&](StoreWriter& w) -> Status {
                    COFFER_ASSIGN_OR_RETURN(
                        auto row, w.secrets().FindByName(Scope{kAccount, kRegion}, "overdue"));
                    row->next_rotation_ms = now + 10 * kDay;
                    return w.secrets().Update(*row);
                  })
                  .ok());
  clock_.Advance(std::chrono::seconds(61));
  Evaluate();
  EXPECT_EQ(State("SecretNearExpiry"), "OK");
}

TEST(AlarmSettingsTest, SettingsAreCheckedAsPutMetricAlarmChecksThem) {
  AlarmSettings s = DefaultSettings(Alarm::kSecretAccessDenied);
  EXPECT_EQ(s.threshold, 5);
  EXPECT_EQ(s.period_seconds, 300);
  for (const char* bad : {R"({"Period": 45})", R"({"Period": 0})", R"({"Threshold": -1})",
                          R"({"EvaluationPeriods": 2, "DatapointsToAlarm": 3})",
                          R"({"WithinDays": 3})", R"({"Nope": 1})", R"({"ActionsEnabled": 1})"}) {
    Status st = ApplySettings(Alarm::kSecretAccessDenied, json::parse(bad).as_object(), &s);
    EXPECT_EQ(st.code(), ErrorCode::kValidationError) << bad;
  }
  EXPECT_EQ(s.threshold, 5);  // unchanged by a refused setting
  ASSERT_TRUE(ApplySettings(Alarm::kSecretNearExpiry,
                            json::parse(R"({"WithinDays": 3, "Period": 30})").as_object(), &s)
                  .ok());
  EXPECT_EQ(s.within_days, 3);
  EXPECT_EQ(s.period_seconds, 30);
}

TEST_F(AlarmsTest, AFileSetsEveryAccountsAndOneAccountsSettingsOrIsRefusedWhole) {
  const std::string path = dir_.file("alarms.json");
  std::ofstream(path) << R"({"Alarms": {"SecretAccessDenied": {"Threshold": 10}},
      "Accounts": {"111122223333": {"SecretAccessDenied": {"Period": 60}}}})";
  ASSERT_TRUE(ApplySettingsFile(path, store_.get(), 0).ok());
  AlarmSettings mine, theirs;
  ASSERT_TRUE(store_
                  ->Read([&](StoreReader& r) -> Status {
                    COFFER_ASSIGN_OR_RETURN(
                        mine, AlarmEvaluator::SettingsOf(r, kAccount, Alarm::kSecretAccessDenied));
                    COFFER_ASSIGN_OR_RETURN(
                        theirs,
                        AlarmEvaluator::SettingsOf(r, "999988887777", Alarm::kSecretAccessDenied));
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(mine.threshold, 10);
  EXPECT_EQ(mine.period_seconds, 60);
  EXPECT_EQ(theirs.threshold, 10);
  EXPECT_EQ(theirs.period_seconds, 300);

  std::ofstream(path) << R"({"Alarms": {"SecretAccessDenied": {"Threshold": 1}},
      "Accounts": {"1111": {"SecretAccessDenied": {"Period": 60}}}})";
  EXPECT_EQ(ApplySettingsFile(path, store_.get(), 0).code(), ErrorCode::kValidationError);
  ASSERT_TRUE(store_
                  ->Read([&](StoreReader& r) -> Status {
                    COFFER_ASSIGN_OR_RETURN(
                        mine, AlarmEvaluator::SettingsOf(r, kAccount, Alarm::kSecretAccessDenied));
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(mine.threshold, 10);  // nothing of the refused file was written
}

}  // namespace
}  // namespace coffer::monitoring
