#include "protocol/request_metrics.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace coffer {
namespace {

TEST(RequestMetrics, OperationLabelsAreOnlyNamesTheServiceAnswered) {
  EXPECT_EQ(OperationLabel("GetSecretValue", ErrorCode::kOk), "GetSecretValue");
  EXPECT_EQ(OperationLabel("GetSecretValue", ErrorCode::kResourceNotFoundException),
            "GetSecretValue");
  EXPECT_EQ(OperationLabel("MadeUp", ErrorCode::kUnknownOperationException), "unknown");
  EXPECT_EQ(OperationLabel("MadeUp", ErrorCode::kInvalidAction), "unknown");
  EXPECT_EQ(OperationLabel("Get\"Secret", ErrorCode::kOk), "unknown");
  EXPECT_EQ(OperationLabel("", ErrorCode::kOk), "unknown");
  EXPECT_EQ(OperationLabel(std::string(65, 'A'), ErrorCode::kOk), "unknown");
}

TEST(RequestMetrics, CountsOutcomesAndCumulativeBuckets) {
  RequestMetrics m;
  m.Observe("secretsmanager", "GetSecretValue", ErrorCode::kOk, 0.0004);
  m.Observe("secretsmanager", "GetSecretValue", ErrorCode::kOk, 0.003);
  m.Observe("secretsmanager", "GetSecretValue", ErrorCode::kResourceNotFoundException, 20);
  m.AuthenticationFailed(AuthFailure::kUnknownKey);
  const std::string text = m.PrometheusText();
  const std::string labels = R"(service="secretsmanager",operation="GetSecretValue")";
  for (const std::string& line : std::vector<std::string>{
           "coffer_requests_total{" + labels + R"(,outcome="Success"} 2)",
           "coffer_requests_total{" + labels + R"(,outcome="ResourceNotFoundException"} 1)",
           "coffer_request_duration_seconds_bucket{" + labels + R"(,le="0.0005"} 1)",
           "coffer_request_duration_seconds_bucket{" + labels + R"(,le="0.0025"} 1)",
           "coffer_request_duration_seconds_bucket{" + labels + R"(,le="0.005"} 2)",
           "coffer_request_duration_seconds_bucket{" + labels + R"(,le="10"} 2)",
           "coffer_request_duration_seconds_bucket{" + labels + R"(,le="+Inf"} 3)",
           "coffer_request_duration_seconds_count{" + labels + "} 3",
           "coffer_request_duration_seconds_sum{" + labels + "} 20.003400000",
           std::string(R"(coffer_authentication_failures_total{reason="unknown_key"} 1)"),
           R"(coffer_authentication_failures_total{reason="bad_signature"} 0)"}) {
    EXPECT_NE(text.find(line + "\n"), std::string::npos) << line << "\n" << text;
  }
}

}  // namespace
}  // namespace coffer
