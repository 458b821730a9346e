#include "services/cloudtrail/cloudtrail_service.h"

#include <gtest/gtest.h>

#include <string>

#include "audit/cloudtrail_record.h"
#include "audit/log_files.h"
#include "crypto/crypto.h"
#include "testing/scratch_dir.h"

namespace coffer::cloudtrail {
namespace {
namespace json = boost::json;

constexpr EpochMillis kNow = 1767225600000;  // 2026-01-01

class CloudTrailServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto trail = audit::OpenAuditTrail(dir_.file("audit"), audit::OnFailure::kClosed);
    ASSERT_TRUE(trail.ok());
    trail_ = std::move(trail).value();
    // The delivery signs with a key wrapped under a fixed AES key (the keyring's, in a server).
    audit::DigestKeyProtection protection{
        .available = [] { return true; },
        .wrap = [this](std::string_view der) -> Result<std::string> {
          return crypto::AesGcmSeal(wrapping_key_.Reveal(), "k", der);
        },
        .unwrap = [this](std::string_view wrapped) -> Result<SecretBytes> {
          return std::move(*crypto::AesGcmOpen(wrapping_key_.Reveal(), "k", wrapped));
        }};
    auto delivery = audit::OpenLogDelivery(dir_.file("audit"), {}, &clock_, protection);
    ASSERT_TRUE(delivery.ok());
    delivery_ = std::move(delivery).value();
    service_ = std::make_unique<CloudTrailService>(trail_.get(), delivery_.get());
    ctx_.principal.account = "111122223333";
    ctx_.scope = Scope{"111122223333", "eu-west-1"};
    ctx_.now = kNow;
    ctx_.authorizer = &allow_;
  }

  void Add(EpochMillis t, const std::string& name) {
    AuditRow r;
    r.time_ms = t;
    r.account = "111122223333";
    r.region = "eu-west-1";
    r.event_id = "e" + std::to_string(t);
    r.event_name = name;
    r.event_source = "secretsmanager.amazonaws.com";
    r.username = "alice";
    r.access_key_id = "AKIAALICE";
    r.read_only = audit::IsReadOnly(name);
    r.record = "{\"eventName\":\"" + name + "\"}";
    ASSERT_TRUE(trail_->AppendAndWait(r).ok());
  }

  Result<json::object> Lookup(const json::object& input) {
    return service_->Handle("LookupEvents", ctx_, input);
  }

  coffer::testing::ScratchDir dir_;
  std::unique_ptr<audit::AuditTrail> trail_;
  FakeClock clock_{kNow};
  SecretBytes wrapping_key_ = crypto::RandomSecret(32);
  std::unique_ptr<audit::LogDelivery> delivery_;
  std::unique_ptr<CloudTrailService> service_;
  AllowAllAuthorizer allow_;
  RequestContext ctx_;
};

TEST_F(CloudTrailServiceTest, PagesNewestFirstWithTheEventsAsCloudTrailShapesThem) {
  for (int i = 1; i <= 5; ++i) Add(kNow - i * 1000, i % 2 ? "GetSecretValue" : "PutSecretValue");
  auto page = Lookup({{"MaxResults", 2}});
  ASSERT_TRUE(page.ok()) << page.status().message();
  const auto& events = page.value().at("Events").as_array();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].at("EventId"), "e1767225599000");
  EXPECT_EQ(events[0].at("ReadOnly"), "true");
  EXPECT_EQ(events[0].at("EventTime").as_double(), 1767225599.0);
  EXPECT_EQ(events[0].at("CloudTrailEvent"), "{\"eventName\":\"GetSecretValue\"}");
  std::vector<std::string> seen;
  json::object next{{"MaxResults", 2}};
  for (;;) {
    auto p = Lookup(next);
    ASSERT_TRUE(p.ok());
    for (const auto& e : p.value().at("Events").as_array()) {
      seen.emplace_back(e.at("EventId").as_string());
    }
    if (!p.value().contains("NextToken")) break;
    next["NextToken"] = p.value().at("NextToken");
  }
  EXPECT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen.back(), "e1767225595000");

  auto writes = Lookup(
      {{"LookupAttributes", json::array{json::object{{"AttributeKey", "EventName"},
                                                     {"AttributeValue", "PutSecretValue"}}}}});
  EXPECT_EQ(writes.value().at("Events").as_array().size(), 2u);
  // A token continues only the lookup it came from.
  auto first = Lookup({{"MaxResults", 1}});
  auto mixed = Lookup(
      {{"NextToken", first.value().at("NextToken")},
       {"LookupAttributes", json::array{json::object{{"AttributeKey", "EventName"},
                                                     {"AttributeValue", "PutSecretValue"}}}}});
  EXPECT_EQ(mixed.status().code(), ErrorCode::kInvalidNextTokenException);
}

TEST_F(CloudTrailServiceTest, RefusesWhatCloudTrailRefuses) {
  auto code = [&](const json::object& input) { return Lookup(input).status().code(); };
  EXPECT_EQ(code({{"MaxResults", 51}}), ErrorCode::kInvalidMaxResultsException);
  EXPECT_EQ(code({{"MaxResults", 0}}), ErrorCode::kInvalidMaxResultsException);
  EXPECT_EQ(code({{"StartTime", 2000}, {"EndTime", 1000}}), ErrorCode::kInvalidTimeRangeException);
  EXPECT_EQ(code({{"NextToken", "not-a-token"}}), ErrorCode::kInvalidNextTokenException);
  EXPECT_EQ(code({{"EventCategory", "data"}}), ErrorCode::kInvalidEventCategoryException);
  const json::object two{{"AttributeKey", "EventName"}, {"AttributeValue", "x"}};
  EXPECT_EQ(code({{"LookupAttributes", json::array{two, two}}}),
            ErrorCode::kInvalidLookupAttributesException);
  EXPECT_EQ(code({{"LookupAttributes",
                   json::array{json::object{{"AttributeKey", "Color"}, {"AttributeValue", "x"}}}}}),
            ErrorCode::kInvalidLookupAttributesException);
  EXPECT_EQ(code({{"LookupAttributes", json::array{json::object{{"AttributeKey", "ReadOnly"},
                                                                {"AttributeValue", "maybe"}}}}}),
            ErrorCode::kInvalidLookupAttributesException);
  EXPECT_EQ(code({{"MaxResults", "ten"}}), ErrorCode::kSerializationException);
}

TEST_F(CloudTrailServiceTest, SeesOnlyTheLast90Days) {
  Add(kNow - 91LL * 86400000, "GetSecretValue");
  Add(kNow - 89LL * 86400000, "GetSecretValue");
  auto page = Lookup({});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page.value().at("Events").as_array().size(), 1u);
}

TEST_F(CloudTrailServiceTest, ListPublicKeysReturnsTheDigestKeyOnceADigestWasSigned) {
  auto none = service_->Handle("ListPublicKeys", ctx_, {});
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_TRUE(none.value().at("PublicKeyList").as_array().empty());

  ASSERT_TRUE(trail_->Start().ok());
  Add(kNow, "GetSecretValue");
  trail_->WaitIndexed();
  ASSERT_TRUE(delivery_->Finish().ok());  // delivers the record and signs a closing digest
  auto keys = service_->Handle("ListPublicKeys", ctx_, {{"StartTime", kNow / 1000 - 60}});
  ASSERT_TRUE(keys.ok()) << keys.status().message();
  const auto& list = keys.value().at("PublicKeyList").as_array();
  ASSERT_EQ(list.size(), 1u);
  const auto& key = list[0].as_object();
  EXPECT_EQ(key.at("Fingerprint").as_string().size(), 32u);
  auto der = crypto::Base64Decode(key.at("Value").as_string());
  ASSERT_TRUE(der.has_value());
  EXPECT_EQ(audit::KeyFingerprint(*der), key.at("Fingerprint").as_string());
  EXPECT_FALSE(key.contains("ValidityEndTime"));  // the key in use

  auto reversed =
      service_->Handle("ListPublicKeys", ctx_, {{"StartTime", kNow / 1000}, {"EndTime", 1}});
  ASSERT_FALSE(reversed.ok());
  EXPECT_EQ(reversed.status().code(), ErrorCode::kInvalidTimeRangeException);
  trail_->Stop();
}

}  // namespace
}  // namespace coffer::cloudtrail
