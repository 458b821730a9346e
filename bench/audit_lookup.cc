// audit_lookup: how long LookupEvents' query takes over a large trail (`make bench`, from
// bench/audit.sh). Fills a scratch trail index with N records (default 1,000,000) of one account
// spread over 90 days, then times the first page (50 events, newest first) and a following page
// for each lookup attribute, against the same lookups over a 1,000-record trail as the
// reference. Prints milliseconds per lookup (median and 99th percentile of the repetitions).
//
// Usage: coffer_audit_lookup_bench [RECORDS] [REPETITIONS]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "store/audit_records.h"

namespace {

using coffer::AuditAttribute;
using coffer::AuditQuery;
using coffer::AuditRecordStore;
using coffer::AuditRow;
using coffer::EpochMillis;

constexpr char kAccount[] = "111122223333";
constexpr char kRegion[] = "eu-west-1";
constexpr EpochMillis kNow = 1'780'000'000'000;
constexpr EpochMillis kDay = 24LL * 3600 * 1000;

const char* const kEvents[] = {"GetSecretValue", "GetSecretValue", "GetSecretValue",
                               "GetParameter",   "DescribeSecret", "Decrypt",
                               "ListSecrets",    "PutSecretValue", "AssumeRole"};
const char* const kSources[] = {"secretsmanager.amazonaws.com", "secretsmanager.amazonaws.com",
                                "secretsmanager.amazonaws.com", "ssm.amazonaws.com",
                                "secretsmanager.amazonaws.com", "kms.amazonaws.com",
                                "secretsmanager.amazonaws.com", "secretsmanager.amazonaws.com",
                                "sts.amazonaws.com"};

// Record i: one of 9 operations, one of 50 users, one of 2,000 secrets; one record in 100,000
// is a RotateSecret (a rare event name), spread evenly over 90 days, oldest first.
AuditRow Row(int64_t i, int64_t n) {
  AuditRow r;
  r.time_ms = kNow - 90 * kDay + (90 * kDay) * i / n;
  r.account = kAccount;
  r.region = kRegion;
  char id[40];
  std::snprintf(id, sizeof(id), "%08llx-0000-4000-8000-%012llx",
                static_cast<unsigned long long>(i >> 16), static_cast<unsigned long long>(i));
  r.event_id = id;
  const size_t op = static_cast<size_t>(i % 9);
  r.event_name = i % 100000 == 7 ? "RotateSecret" : kEvents[op];
  r.event_source = kSources[op];
  r.username = "user-" + std::to_string(i % 50);
  r.access_key_id = "AKIA" + std::to_string(1000000000 + i % 50);
  r.read_only = r.event_name.rfind("Get", 0) == 0 || r.event_name.rfind("Describe", 0) == 0 ||
                r.event_name.rfind("List", 0) == 0;
  r.resources.push_back({"AWS::SecretsManager::Secret",
                         "arn:aws:secretsmanager:eu-west-1:111122223333:secret:app/" +
                             std::to_string(i % 2000) + "-AbCdEf"});
  // A record of a typical size (~1 KB), as the index stores it.
  r.record = "{\"eventVersion\":\"1.08\",\"eventName\":\"" + r.event_name + "\",\"pad\":\"" +
             std::string(900, 'x') + "\"}";
  return r;
}

std::unique_ptr<AuditRecordStore> Fill(const std::string& path, int64_t n) {
  std::filesystem::remove(path);
  auto store = coffer::OpenSqliteAuditRecords(path);
  if (!store.ok()) {
    std::fprintf(stderr, "audit_lookup: %s\n", store.status().message().c_str());
    std::exit(1);
  }
  std::vector<AuditRow> batch;
  for (int64_t i = 0; i < n; ++i) {
    batch.push_back(Row(i, n));
    if (batch.size() == 10000 || i + 1 == n) {
      if (!(*store)->Append(batch, i).ok()) std::exit(1);
      batch.clear();
    }
  }
  return std::move(store).value();
}

struct Lookup {
  const char* label;
  std::optional<AuditAttribute> attribute;
  std::string value;
};

// Median and 99th percentile, in ms, of `reps` first pages then the page after each.
std::pair<double, double> Time(AuditRecordStore& store, const Lookup& l, int reps, bool next) {
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    AuditQuery q;
    q.account = kAccount;
    q.region = kRegion;
    q.attribute = l.attribute;
    q.value = l.value;
    q.start_ms = kNow - 90 * kDay;
    q.end_ms = kNow;
    q.limit = 51;
    if (next) {
      auto first = store.Lookup(q);
      if (!first.ok() || first->size() < 50) return {0, 0};
      q.before = {{(*first)[49].time_ms, (*first)[49].id}};
    }
    const auto start = std::chrono::steady_clock::now();
    auto page = store.Lookup(q);
    const auto end = std::chrono::steady_clock::now();
    if (!page.ok()) std::exit(1);
    ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[std::min(ms.size() - 1, ms.size() * 99 / 100)]};
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t n = argc > 1 ? std::atoll(argv[1]) : 1'000'000;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 200;
  const std::string dir = std::filesystem::temp_directory_path() / "coffer-audit-lookup-bench";
  std::filesystem::create_directories(dir);
  const auto fill_start = std::chrono::steady_clock::now();
  auto large = Fill(dir + "/large.db", n);
  const double fill_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - fill_start).count();
  auto small = Fill(dir + "/small.db", 1000);
  const std::vector<Lookup> lookups = {
      {"time range only", std::nullopt, ""},
      {"EventName (common)", AuditAttribute::kEventName, "GetSecretValue"},
      {"EventName (1 in 100,000)", AuditAttribute::kEventName, "RotateSecret"},
      {"EventId", AuditAttribute::kEventId, Row(n / 2, n).event_id},
      {"ReadOnly", AuditAttribute::kReadOnly, "false"},
      {"Username", AuditAttribute::kUsername, "user-7"},
      {"AccessKeyId", AuditAttribute::kAccessKeyId, "AKIA1000000007"},
      {"EventSource", AuditAttribute::kEventSource, "sts.amazonaws.com"},
      {"ResourceType", AuditAttribute::kResourceType, "AWS::SecretsManager::Secret"},
      {"ResourceName", AuditAttribute::kResourceName,
       "arn:aws:secretsmanager:eu-west-1:111122223333:secret:app/42-AbCdEf"},
  };
  std::printf("records: %lld (filled in %.1f s); reference: the same lookups over 1,000\n",
              static_cast<long long>(n), fill_s);
  std::printf("%-26s %12s %12s %12s %12s %12s\n", "lookup (50 a page)", "p50 ms", "p99 ms",
              "next p50 ms", "ref p50 ms", "p50 / ref");
  double worst = 0;
  for (const auto& l : lookups) {
    const auto [p50, p99] = Time(*large, l, reps, false);
    const auto [next50, next99] = Time(*large, l, reps, true);
    const auto [ref50, ref99] = Time(*small, l, reps, false);
    worst = std::max({worst, p99, next99});
    std::printf("%-26s %12.3f %12.3f %12.3f %12.3f %12.1f\n", l.label, p50, p99, next50, ref50,
                ref50 > 0 ? p50 / ref50 : 0.0);
  }
  std::printf("slowest 99th percentile: %.3f ms\n", worst);
  std::filesystem::remove_all(dir);
  return 0;
}
