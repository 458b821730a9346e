#include "services/params/parameter_policies.h"

#include <gtest/gtest.h>

namespace coffer::params {
namespace {

TEST(ParameterPolicies, ParsesTheDocumentedExamples) {
  auto p = ParsePolicies(
      R"([{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2030-06-30T00:00:00.000Z"}},
          {"Type":"ExpirationNotification","Version":"1.0","Attributes":{"Before":"5","Unit":"Days"}},
          {"Type":"NoChangeNotification","Version":"1.0","Attributes":{"After":"60","Unit":"Hours"}}])");
  ASSERT_TRUE(p.ok()) << p.status().message();
  ASSERT_EQ(p->size(), 3u);
  EXPECT_EQ((*p)[0].expiration_ms, ParseIsoTimestamp("2030-06-30T00:00:00Z"));
  EXPECT_EQ((*p)[1].AmountMillis(), 5 * kMillisPerDay);
  EXPECT_EQ((*p)[2].AmountMillis(), 60LL * 3600 * 1000);
  EXPECT_TRUE(ParsePolicies("[]").value().empty());
}

TEST(ParameterPolicies, Errors) {
  EXPECT_EQ(ParsePolicies(R"([{"Type":"Nope","Version":"1.0","Attributes":{}}])").status().code(),
            ErrorCode::kInvalidPolicyTypeException);
  EXPECT_EQ(
      ParsePolicies(R"([{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"soon"}}])")
          .status()
          .code(),
      ErrorCode::kInvalidPolicyAttributeException);
  EXPECT_EQ(
      ParsePolicies(
          R"([{"Type":"NoChangeNotification","Version":"1.0","Attributes":{"After":"3","Unit":"Weeks"}}])")
          .status()
          .code(),
      ErrorCode::kInvalidPolicyAttributeException);
  std::string two =
      R"({"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2030-01-01T00:00:00Z"}})";
  EXPECT_EQ(ParsePolicies("[" + two + "," + two + "]").status().code(),
            ErrorCode::kIncompatiblePolicyException);
  std::string many = "[";
  for (int i = 0; i < 11; ++i) {
    many +=
        std::string(i ? "," : "") +
        R"({"Type":"NoChangeNotification","Version":"1.0","Attributes":{"After":"1","Unit":"Days"}})";
  }
  many += "]";
  EXPECT_EQ(ParsePolicies(many).status().code(), ErrorCode::kPoliciesLimitExceededException);
}

TEST(ParameterPolicies, Timestamps) {
  EXPECT_EQ(ParseIsoTimestamp("1970-01-01T00:00:01Z"), 1000);
  EXPECT_EQ(ParseIsoTimestamp("1970-01-01T00:00:01.5Z"), 1500);
  EXPECT_EQ(ParseIsoTimestamp("1970-01-01T01:00:00+01:00"), 0);
  EXPECT_FALSE(ParseIsoTimestamp("1970-01-01 00:00:00"));
  EXPECT_FALSE(ParseIsoTimestamp("tomorrow"));
}

}  // namespace
}  // namespace coffer::params
