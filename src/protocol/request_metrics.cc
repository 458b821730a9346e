#include "protocol/request_metrics.h"

#include <cmath>
#include <cstdio>
#include <mutex>

namespace coffer {
namespace {

const char* AuthFailureName(AuthFailure f) {
  switch (f) {
    case AuthFailure::kMissing:
      return "missing";
    case AuthFailure::kIncomplete:
      return "incomplete";
    case AuthFailure::kUnknownKey:
      return "unknown_key";
    case AuthFailure::kBadSignature:
      return "bad_signature";
    case AuthFailure::kExpiredToken:
      return "expired_token";
    case AuthFailure::kUnavailable:
      return "unavailable";
  }
  return "other";
}
constexpr AuthFailure kAuthFailures[] = {AuthFailure::kMissing,      AuthFailure::kIncomplete,
                                         AuthFailure::kUnknownKey,   AuthFailure::kBadSignature,
                                         AuthFailure::kExpiredToken, AuthFailure::kUnavailable};

std::string Bound(double le) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", le);
  return buf;
}

}  // namespace

std::string_view OperationLabel(std::string_view operation, ErrorCode outcome) {
  if (outcome == ErrorCode::kUnknownOperationException || outcome == ErrorCode::kInvalidAction ||
      operation.empty() || operation.size() > 64) {
    return "unknown";
  }
  for (char c : operation) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
      return "unknown";
    }
  }
  return operation;
}

RequestMetrics::Series& RequestMetrics::SeriesOf(std::string_view service,
                                                 std::string_view operation) {
  const std::pair<std::string_view, std::string_view> key{service, operation};
  {
    std::shared_lock lock(mu_);
    auto it = series_.find(key);
    if (it != series_.end()) return *it->second;
  }
  std::unique_lock lock(mu_);
  auto& slot = series_[{std::string(service), std::string(operation)}];
  if (!slot) slot = std::make_unique<Series>();
  return *slot;
}

void RequestMetrics::Observe(std::string_view service, std::string_view operation,
                             ErrorCode outcome, double seconds) {
  Series& s = SeriesOf(service, OperationLabel(operation, outcome));
  s.outcomes[static_cast<uint8_t>(outcome)].fetch_add(1, std::memory_order_relaxed);
  size_t b = 0;
  while (b < kBuckets.size() && seconds > kBuckets[b]) ++b;
  if (b < kBuckets.size()) s.buckets[b].fetch_add(1, std::memory_order_relaxed);
  s.count.fetch_add(1, std::memory_order_relaxed);
  s.sum_ns.fetch_add(static_cast<uint64_t>(std::llround(seconds * 1e9)), std::memory_order_relaxed);
}

void RequestMetrics::AuthenticationFailed(AuthFailure reason) {
  auth_failures_[static_cast<size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
}

std::string RequestMetrics::PrometheusText() const {
  std::string requests =
      "# HELP coffer_requests_total API calls answered, by service, operation and outcome "
      "(Success or the error code).\n"
      "# TYPE coffer_requests_total counter\n";
  std::string durations =
      "# HELP coffer_request_duration_seconds Time to answer an API call, by service and "
      "operation.\n"
      "# TYPE coffer_request_duration_seconds histogram\n";
  {
    std::shared_lock lock(mu_);
    for (const auto& [key, s] : series_) {
      const std::string labels = "service=\"" + key.first + "\",operation=\"" + key.second + "\"";
      for (size_t code = 0; code < s->outcomes.size(); ++code) {
        const uint64_t n = s->outcomes[code].load(std::memory_order_relaxed);
        if (n == 0) continue;
        const std::string_view name = ErrorCodeName(static_cast<ErrorCode>(code));
        requests += "coffer_requests_total{" + labels + ",outcome=\"" +
                    std::string(code == 0 ? "Success" : name) + "\"} " + std::to_string(n) + "\n";
      }
      uint64_t cumulative = 0;
      for (size_t b = 0; b < kBuckets.size(); ++b) {
        cumulative += s->buckets[b].load(std::memory_order_relaxed);
        durations += "coffer_request_duration_seconds_bucket{" + labels + ",le=\"" +
                     Bound(kBuckets[b]) + "\"} " + std::to_string(cumulative) + "\n";
      }
      const uint64_t count = s->count.load(std::memory_order_relaxed);
      char sum[48];
      std::snprintf(sum, sizeof(sum), "%.9f",
                    static_cast<double>(s->sum_ns.load(std::memory_order_relaxed)) / 1e9);
      durations += "coffer_request_duration_seconds_bucket{" + labels + ",le=\"+Inf\"} " +
                   std::to_string(count) + "\n";
      durations += "coffer_request_duration_seconds_sum{" + labels + "} " + sum + "\n";
      durations +=
          "coffer_request_duration_seconds_count{" + labels + "} " + std::to_string(count) + "\n";
    }
  }
  std::string auth =
      "# HELP coffer_authentication_failures_total Calls refused before any operation ran: no "
      "signature, an incomplete one, an unknown access key, a wrong signature, an expired token.\n"
      "# TYPE coffer_authentication_failures_total counter\n";
  for (AuthFailure f : kAuthFailures) {
    auth += std::string("coffer_authentication_failures_total{reason=\"") + AuthFailureName(f) +
            "\"} " +
            std::to_string(auth_failures_[static_cast<size_t>(f)].load(std::memory_order_relaxed)) +
            "\n";
  }
  return requests + durations + auth;
}

}  // namespace coffer
