#include "server/denial_audit.h"

#include <boost/json.hpp>
#include <iostream>

#include "core/time_format.h"

namespace coffer {
namespace json = boost::json;

void DenialAudit::Record(const RequestContext& ctx, const AuthzCheck& check,
                         const std::string& message) {
  const std::string service = check.action.substr(0, check.action.find(':'));
  const std::string operation = check.action.find(':') == std::string::npos
                                    ? check.action
                                    : check.action.substr(check.action.find(':') + 1);
  total_.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard lock(mu_);
    ++by_service_[service];
  }
  const Principal& p = ctx.principal;
  json::object identity{{"type", p.type == "Root" ? "Root" : p.type},
                        {"principalId", p.user_id},
                        {"arn", p.arn},
                        {"accountId", p.account},
                        {"accessKeyId", p.access_key_id}};
  if (!p.user_name.empty()) identity["userName"] = p.user_name;
  if (p.type == "AssumedRole") {
    identity["sessionContext"] =
        json::object{{"sessionIssuer", json::object{{"type", "Role"},
                                                    {"arn", p.role_arn},
                                                    {"accountId", p.account},
                                                    {"userName", p.role_name}}}};
  }
  json::object detail{
      {"eventVersion", "1.08"},
      {"userIdentity", std::move(identity)},
      {"eventTime", FormatIso8601(ctx.now)},
      {"eventSource", service + ".amazonaws.com"},
      {"eventName", operation},
      {"awsRegion", ctx.scope.region},
      {"sourceIPAddress", ctx.source_ip},
      {"errorCode", "AccessDenied"},
      {"errorMessage", message},
      {"requestID", ctx.request_id},
      {"eventType", "AwsApiCall"},
      {"recipientAccountId",
       check.resource_account.empty() ? ctx.scope.account : check.resource_account}};
  EventRow event;
  event.time_ms = ctx.now;
  event.account = ctx.scope.account;
  event.region = ctx.scope.region;
  event.source = "aws." + service;
  event.detail_type = "AWS API Call via CloudTrail";
  event.resources = json::serialize(json::array{json::string(check.resource)});
  event.detail = json::serialize(detail);
  Status s = store_->Write([&](StoreWriter& w) -> Status { return w.AppendEvent(event); });
  if (!s.ok()) std::cerr << "coffer: could not record a denial: " << s.message() << "\n";
}

std::string DenialAudit::PrometheusText() const {
  std::string out =
      "# HELP coffer_authz_denials_total Requests refused by policy evaluation.\n"
      "# TYPE coffer_authz_denials_total counter\n";
  std::lock_guard lock(mu_);
  for (const auto& [service, n] : by_service_) {
    out += "coffer_authz_denials_total{service=\"" + service + "\"} " + std::to_string(n) + "\n";
  }
  if (by_service_.empty()) out += "coffer_authz_denials_total 0\n";
  return out;
}

}  // namespace coffer
