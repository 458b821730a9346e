#include "services/cloudtrail/access_summary.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "protocol/json_input.h"
#include "services/cloudtrail/cloudtrail_service.h"

namespace coffer::cloudtrail {
namespace json = boost::json;
namespace {

constexpr EpochMillis kDefaultRangeMs = 3600'000;
constexpr size_t kMaxPrincipals = 50;
constexpr int kRecentDenials = 20;
constexpr int kRecentRotations = 10;

json::array Numbers(const std::vector<int64_t>& counts) {
  json::array out;
  out.reserve(counts.size());
  for (int64_t n : counts) out.push_back(n);
  return out;
}

// A secret's name from its ARN: the resource after "secret:", less the six characters and
// hyphen Secrets Manager appends.
std::string SecretName(const std::string& arn) {
  const size_t at = arn.find(":secret:");
  if (at == std::string::npos) return arn;
  std::string name = arn.substr(at + 8);
  if (name.size() > 7 && name[name.size() - 7] == '-') name.resize(name.size() - 7);
  return name;
}

// The kind of principal an ARN names, and the role of an assumed-role session.
std::pair<std::string, std::string> PrincipalKind(const std::string& arn) {
  constexpr std::string_view kAssumed = ":assumed-role/";
  if (const size_t at = arn.find(kAssumed); at != std::string::npos) {
    const std::string rest = arn.substr(at + kAssumed.size());
    return {"AssumedRole", rest.substr(0, rest.find('/'))};
  }
  if (arn.find(":user/") != std::string::npos) return {"IAMUser", ""};
  if (arn.size() > 5 && arn.ends_with(":root")) return {"Root", ""};
  return {"AWSService", ""};
}

std::string StringAt(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

json::object RecordOf(const AuditRow& row) {
  boost::system::error_code ec;
  json::value v = json::parse(row.record, ec);
  return !ec && v.is_object() ? std::move(v.as_object()) : json::object();
}

struct Range {
  EpochMillis start = 0;
  EpochMillis end = 0;
  EpochMillis period = 0;
  size_t buckets = 0;
};

Result<Range> RangeOf(const RequestContext& ctx, const json::object& input) {
  JsonInput in(input);
  auto period = in.Int("Period", {.min = 10, .max = 86'400});
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(auto start,
                          EpochMillisMember(input, "StartTime", ErrorCode::kValidationException,
                                            "StartTime is not a possible time."));
  COFFER_ASSIGN_OR_RETURN(auto end,
                          EpochMillisMember(input, "EndTime", ErrorCode::kValidationException,
                                            "EndTime is not a possible time."));
  Range r;
  r.period = period.value_or(60) * 1000;
  if (r.period != 10'000 && r.period != 30'000 && r.period % 60'000 != 0) {
    return Status(ErrorCode::kValidationException,
                  "Period must be 10, 30 or a multiple of 60 seconds.");
  }
  r.end = end.value_or(ctx.now);
  r.start = start.value_or(r.end - kDefaultRangeMs);
  // No further back than LookupEvents sees.
  r.start = std::max(r.start, ctx.now - kLookupWindowMs);
  if (r.start >= r.end) {
    return Status(ErrorCode::kValidationException, "StartTime must be before EndTime.");
  }
  // Periods aligned to the clock, as CloudWatch aligns them.
  r.start -= ((r.start % r.period) + r.period) % r.period;
  const EpochMillis span = r.end - r.start;
  const EpochMillis buckets = span / r.period + (span % r.period != 0 ? 1 : 0);
  if (buckets > AccessSummaryService::kMaxBuckets) {
    return Status(ErrorCode::kValidationException,
                  "A summary has at most 1440 periods; choose a longer Period or a shorter range.");
  }
  r.buckets = static_cast<size_t>(buckets);
  r.end = r.start + buckets * r.period;
  return r;
}

}  // namespace

Result<json::object> AccessSummaryService::Handle(std::string_view operation,
                                                  const RequestContext& ctx,
                                                  const json::object& input) {
  if (operation == "GetAccessSummary") return GetAccessSummary(ctx, input);
  return Status(
      ErrorCode::kUnknownOperationException,
      "CofferInsights serves GetAccessSummary; " + std::string(operation) + " is not served.");
}

namespace {

// One summary's queries: its range, account and region, over the trail and the tally.
class Summarizer {
 public:
  Summarizer(AuditRecordStore* trail, const audit::AuthFailureTally* auth_failures,
             const RequestContext& ctx, const Range& range)
      : trail_(trail), auth_failures_(auth_failures), range_(range) {
    q_ = {.account = ctx.scope.account,
          .region = ctx.scope.region,
          .start_ms = range.start,
          .end_ms = range.end,
          .bucket_ms = range.period};
  }

  Result<std::vector<int64_t>> Count(AuditSignal signal, std::string resource = {}) {
    AuditSignalQuery one = q_;
    one.signal = signal;
    one.resource = std::move(resource);
    return trail_->CountSignal(one);
  }

  Result<std::vector<AuditTotal>> Totals(AuditSignal signal, AuditBreakdown by) {
    AuditSignalQuery one = q_;
    one.signal = signal;
    return trail_->TotalsBy(one, by);
  }

  // The newest `limit` records with `signal` in the range.
  Result<std::vector<AuditRow>> Latest(AuditSignal signal, int limit) {
    AuditQuery lookup{.account = q_.account,
                      .region = q_.region,
                      .start_ms = range_.start,
                      .end_ms = range_.end - 1,  // a lookup's end is inclusive, the range's not
                      .limit = limit};
    lookup.signal = signal;
    return trail_->Lookup(lookup);
  }

  // Reads in all and for the most-read secrets.
  Result<json::object> Reads() {
    COFFER_ASSIGN_OR_RETURN(auto reads, Count(AuditSignal::kSecretRead));
    COFFER_ASSIGN_OR_RETURN(auto by_secret,
                            Totals(AuditSignal::kSecretRead, AuditBreakdown::kSecret));
    std::sort(by_secret.begin(), by_secret.end(), [](const AuditTotal& a, const AuditTotal& b) {
      return a.count != b.count ? a.count > b.count : a.value < b.value;
    });
    if (by_secret.size() > AccessSummaryService::kTopSecrets) {
      by_secret.resize(AccessSummaryService::kTopSecrets);
    }
    json::array secrets;
    for (const auto& t : by_secret) {
      COFFER_ASSIGN_OR_RETURN(auto values, Count(AuditSignal::kSecretRead, t.value));
      secrets.push_back(json::object{{"SecretArn", t.value},
                                     {"Name", SecretName(t.value)},
                                     {"Total", t.count},
                                     {"Values", Numbers(values)}});
    }
    return json::object{{"Total", Numbers(reads)}, {"BySecret", std::move(secrets)}};
  }

  std::vector<int64_t> AuthenticationFailures() const {
    if (auth_failures_ == nullptr) return std::vector<int64_t>(range_.buckets);
    return auth_failures_->Count(q_.account, q_.region, range_.start, range_.period,
                                 range_.buckets);
  }

  // Reads and denials per principal, most active first.
  Result<json::array> Principals() {
    std::map<std::string, std::pair<int64_t, int64_t>> principals;
    COFFER_ASSIGN_OR_RETURN(auto read_by,
                            Totals(AuditSignal::kSecretRead, AuditBreakdown::kPrincipal));
    COFFER_ASSIGN_OR_RETURN(auto denied_by,
                            Totals(AuditSignal::kSecretAccessDenied, AuditBreakdown::kPrincipal));
    for (const auto& t : read_by) principals[t.value].first = t.count;
    for (const auto& t : denied_by) principals[t.value].second = t.count;
    std::vector<std::pair<std::string, std::pair<int64_t, int64_t>>> ranked(principals.begin(),
                                                                            principals.end());
    std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
      return a.second.first + a.second.second > b.second.first + b.second.second;
    });
    if (ranked.size() > kMaxPrincipals) ranked.resize(kMaxPrincipals);
    json::array out;
    for (const auto& [arn, n] : ranked) {
      auto [type, role] = PrincipalKind(arn);
      out.push_back(json::object{{"PrincipalArn", arn},
                                 {"Type", type},
                                 {"Role", role},
                                 {"Reads", n.first},
                                 {"Denied", n.second}});
    }
    return out;
  }

  Result<json::array> RecentDenials() {
    COFFER_ASSIGN_OR_RETURN(auto denials, Latest(AuditSignal::kSecretAccessDenied, kRecentDenials));
    json::array out;
    for (const auto& row : denials) {
      const json::object record = RecordOf(row);
      const json::value* identity = record.if_contains("userIdentity");
      out.push_back(json::object{
          {"EventTime", EpochSeconds(row.time_ms)},
          {"EventName", row.event_name},
          {"PrincipalArn", identity != nullptr && identity->is_object()
                               ? StringAt(identity->as_object(), "arn")
                               : std::string()},
          {"SourceIPAddress", StringAt(record, "sourceIPAddress")},
          {"ErrorCode", StringAt(record, "errorCode")},
          {"Resource", row.resources.empty() ? std::string() : row.resources.front().name}});
    }
    return out;
  }

  json::array RecentAuthenticationFailures() const {
    json::array out;
    if (auth_failures_ == nullptr) return out;
    for (const auto& f : auth_failures_->Recent(q_.account, q_.region)) {
      if (f.time_ms < range_.start || f.time_ms >= range_.end) continue;
      out.push_back(json::object{{"EventTime", EpochSeconds(f.time_ms)},
                                 {"AccessKeyId", f.access_key_id},
                                 {"Reason", f.reason},
                                 {"SourceIPAddress", f.source_ip}});
    }
    return out;
  }

  // The latest rotations, succeeded and failed together, newest first.
  Result<json::array> RecentRotations() {
    COFFER_ASSIGN_OR_RETURN(auto rows, Latest(AuditSignal::kRotationSucceeded, kRecentRotations));
    COFFER_ASSIGN_OR_RETURN(auto failed, Latest(AuditSignal::kRotationFailed, kRecentRotations));
    rows.insert(rows.end(), failed.begin(), failed.end());
    std::sort(rows.begin(), rows.end(), [](const AuditRow& a, const AuditRow& b) {
      return a.time_ms != b.time_ms ? a.time_ms > b.time_ms : a.id > b.id;
    });
    if (rows.size() > static_cast<size_t>(kRecentRotations)) rows.resize(kRecentRotations);
    json::array out;
    for (const auto& row : rows) {
      const json::object record = RecordOf(row);
      const json::value* data = record.if_contains("additionalEventData");
      std::string outcome = row.event_name;
      if (outcome.starts_with("Rotation")) outcome.erase(0, 8);
      out.push_back(json::object{{"EventTime", EpochSeconds(row.time_ms)},
                                 {"SecretArn", data != nullptr && data->is_object()
                                                   ? StringAt(data->as_object(), "SecretId")
                                                   : std::string()},
                                 {"Outcome", outcome},
                                 {"Message", StringAt(record, "errorMessage")}});
    }
    return out;
  }

 private:
  AuditRecordStore* trail_;
  const audit::AuthFailureTally* auth_failures_;
  Range range_;
  AuditSignalQuery q_;
};

}  // namespace

Result<json::object> AccessSummaryService::GetAccessSummary(const RequestContext& ctx,
                                                            const json::object& input) {
  COFFER_ASSIGN_OR_RETURN(Range range, RangeOf(ctx, input));
  COFFER_RETURN_IF_ERROR(ctx.Authorize({.action = "cloudtrail:LookupEvents", .resource = "*"}));
  json::object out{{"StartTime", EpochSeconds(range.start)},
                   {"EndTime", EpochSeconds(range.end)},
                   {"Period", range.period / 1000}};
  json::array timestamps;
  for (size_t i = 0; i < range.buckets; ++i) {
    timestamps.push_back(EpochSeconds(range.start + static_cast<EpochMillis>(i) * range.period));
  }
  out["Timestamps"] = std::move(timestamps);
  COFFER_RETURN_IF_ERROR(trail_->ReadForSummary([&](AuditRecordStore& store) -> Status {
    Summarizer summary(&store, auth_failures_, ctx, range);
    COFFER_ASSIGN_OR_RETURN(out["SecretReads"], summary.Reads());
    for (auto [name, signal] :
         {std::pair("AccessDenied", AuditSignal::kSecretAccessDenied),
          std::pair("UnauthorizedAccess", AuditSignal::kUnauthorizedSecretAccess),
          std::pair("RotationsSucceeded", AuditSignal::kRotationSucceeded),
          std::pair("RotationsFailed", AuditSignal::kRotationFailed)}) {
      COFFER_ASSIGN_OR_RETURN(auto counts, summary.Count(signal));
      out[name] = Numbers(counts);
    }
    out["AuthenticationFailures"] = Numbers(summary.AuthenticationFailures());
    COFFER_ASSIGN_OR_RETURN(out["Principals"], summary.Principals());
    COFFER_ASSIGN_OR_RETURN(out["RecentDenials"], summary.RecentDenials());
    out["RecentAuthenticationFailures"] = summary.RecentAuthenticationFailures();
    COFFER_ASSIGN_OR_RETURN(out["RecentRotations"], summary.RecentRotations());
    return Status::Ok();
  }));
  return out;
}

}  // namespace coffer::cloudtrail
