#include "monitoring/event_pattern.h"

#include <gtest/gtest.h>

namespace coffer::monitoring {
namespace {

namespace json = boost::json;

// A rotation failure as EventBridge delivers it.
const json::object kEvent = json::parse(R"({
  "version": "0", "id": "x", "detail-type": "AWS Service Event via CloudTrail",
  "source": "aws.secretsmanager", "account": "111122223333", "region": "eu-west-1",
  "resources": ["arn:aws:secretsmanager:eu-west-1:111122223333:secret:db-AbCdEf"],
  "detail": {"eventName": "RotationFailed", "eventSource": "secretsmanager.amazonaws.com",
             "errorMessage": "boom", "additionalEventData": {"SecretId": "arn:x"},
             "count": 3, "readOnly": false}})")
                                .as_object();

bool Matches(const char* pattern) {
  json::value p = json::parse(pattern);
  EXPECT_TRUE(CheckEventPattern(p).ok()) << pattern;
  return MatchesEventPattern(p.as_object(), kEvent);
}

TEST(EventPatternTest, ExactValuesPrefixesAnythingButAndExistsMatchAsEventBridgeDoes) {
  EXPECT_TRUE(Matches(R"({"source": ["aws.secretsmanager"]})"));
  EXPECT_FALSE(Matches(R"({"source": ["aws.ssm"]})"));
  EXPECT_TRUE(Matches(R"({"source": ["aws.ssm", "aws.secretsmanager"]})"));
  EXPECT_TRUE(Matches(
      R"({"detail-type": ["AWS Service Event via CloudTrail"],
          "detail": {"eventName": ["RotationFailed", "RotationAbandoned"]}})"));
  EXPECT_FALSE(Matches(R"({"detail": {"eventName": ["RotationSucceeded"]}})"));
  EXPECT_TRUE(Matches(R"({"detail": {"additionalEventData": {"SecretId": ["arn:x"]}}})"));
  EXPECT_TRUE(Matches(R"({"detail": {"count": [3.0]}, "detail-type": [{"prefix": "AWS "}]})"));
  EXPECT_TRUE(Matches(R"({"detail": {"readOnly": [false]}})"));
  EXPECT_FALSE(Matches(R"({"detail": {"readOnly": [true]}})"));
  // Arrays in the event: any element.
  EXPECT_TRUE(Matches(R"({"resources": [{"prefix": "arn:aws:secretsmanager:"}]})"));
  EXPECT_FALSE(Matches(R"({"resources": [{"prefix": "arn:aws:ssm:"}]})"));
  EXPECT_TRUE(Matches(R"({"source": [{"anything-but": "aws.ssm"}]})"));
  EXPECT_FALSE(Matches(R"({"source": [{"anything-but": ["aws.ssm", "aws.secretsmanager"]}]})"));
  EXPECT_FALSE(Matches(R"({"source": [{"anything-but": {"prefix": "aws."}}]})"));
  EXPECT_TRUE(Matches(R"({"detail": {"errorMessage": [{"exists": true}]}})"));
  EXPECT_FALSE(Matches(R"({"detail": {"errorMessage": [{"exists": false}]}})"));
  EXPECT_TRUE(Matches(R"({"detail": {"errorCode": [{"exists": false}]}})"));
  EXPECT_FALSE(Matches(R"({"detail": {"errorCode": ["AccessDenied"]}})"));
  // A nested pattern under a field that is not an object.
  EXPECT_FALSE(Matches(R"({"source": {"x": ["y"]}})"));
}

TEST(EventPatternTest, MalformedPatternsAreRefusedWithEventBridgesError) {
  for (const char* bad :
       {R"([])", R"({})", R"({"source": "aws.ssm"})", R"({"source": []})",
        R"({"source": [{"suffix": "x"}]})", R"({"source": [{"prefix": 1}]})",
        R"({"source": [{"exists": "yes"}]})", R"({"source": [{"anything-but": {"suffix": "x"}}]})",
        R"({"source": [[1]]})", R"({"detail": {}})"}) {
    Status s = CheckEventPattern(json::parse(bad));
    EXPECT_EQ(s.code(), ErrorCode::kInvalidEventPatternException) << bad;
  }
}

}  // namespace
}  // namespace coffer::monitoring
