// RequestMetrics: the API calls coffer served, for GET /metrics in Prometheus's text format.
//
//   coffer_requests_total{service, operation, outcome}  calls by outcome: "Success" or the AWS
//                                                        error code answered
//   coffer_request_duration_seconds{service, operation} a histogram of the time to answer
//   coffer_authentication_failures_total{reason}        calls refused before any operation ran
//
// Labels hold only names coffer itself defines: the signing service, an operation the service
// answered (an operation it does not know is "unknown", so a caller cannot mint label values),
// an error code of coffer's table. Never a secret's name, an ARN, a key id or a user name: those
// are what a policy may hide from whoever reads /metrics (docs/OPERATIONS.md, "What a label never
// holds").
//
// Recording is a few relaxed atomic increments on the series of the call's operation, found
// under a shared lock; a series is created once, at its operation's first call. Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>

#include "auth/sigv4.h"
#include "core/error_code.h"

namespace coffer {

class RequestMetrics {
 public:
  // One answered call of `operation` of `service` ("secretsmanager", "GetSecretValue"):
  // `outcome` kOk or the code answered; `seconds` from the request's arrival at the dispatcher
  // to its response (not counting the wait for its audit record to be durable).
  void Observe(std::string_view service, std::string_view operation, ErrorCode outcome,
               double seconds);
  void AuthenticationFailed(AuthFailure reason);

  std::string PrometheusText() const;

  // The histogram's upper bounds, in seconds.
  static constexpr std::array<double, 14> kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

 private:
  struct Series {
    std::array<std::atomic<uint64_t>, 256> outcomes{};             // by ErrorCode value; kOk = 0
    std::array<std::atomic<uint64_t>, kBuckets.size()> buckets{};  // not cumulative
    std::atomic<uint64_t> count{0};
    std::atomic<uint64_t> sum_ns{0};
  };
  Series& SeriesOf(std::string_view service, std::string_view operation);
  // Orders (service, operation) keys held as strings or looked up as views.
  struct KeyLess {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return std::pair<std::string_view, std::string_view>(a.first, a.second) <
             std::pair<std::string_view, std::string_view>(b.first, b.second);
    }
  };

  mutable std::shared_mutex mu_;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<Series>, KeyLess> series_;
  std::array<std::atomic<uint64_t>, 8> auth_failures_{};  // by AuthFailure value
};

// The operation label of a call: its name when the service answered it as an operation it knows
// (any outcome but UnknownOperationException / InvalidAction) and the name is a plain
// identifier, else "unknown".
std::string_view OperationLabel(std::string_view operation, ErrorCode outcome);

}  // namespace coffer
