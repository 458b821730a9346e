#include "server/denial_audit.h"

#include <algorithm>
#include <boost/json.hpp>
#include <iostream>
#include <vector>

#include "audit/cloudtrail_record.h"
#include "core/ids.h"
#include "core/time_format.h"

namespace coffer {
namespace json = boost::json;

EventRow DenialAudit::EventFor(const RequestContext& ctx, const AuthzCheck& check,
                               const std::string& message) {
  const std::string service = check.action.substr(0, check.action.find(':'));
  const std::string operation = check.action.find(':') == std::string::npos
                                    ? check.action
                                    : check.action.substr(check.action.find(':') + 1);
  audit::ApiCall call;
  call.event_source = service + ".amazonaws.com";
  call.event_name = operation;
  call.region = ctx.scope.region;
  call.time_ms = ctx.now;
  call.principal = ctx.principal;
  call.source_ip = ctx.source_ip;
  call.request_id = ctx.request_id;
  call.event_id = NewTimeOrderedUuid(call.time_ms);
  call.recipient_account =
      check.resource_account.empty() ? ctx.scope.account : check.resource_account;
  // CloudTrail's errorCode for a denial (many JSON services log AccessDeniedException; the
  // stream has said AccessDenied since it began, and the event patterns people wrote match it).
  call.outcome = Status(ErrorCode::kAccessDenied, message);
  json::object detail = audit::ApiCallRecord(call);
  EventRow event;
  event.time_ms = ctx.now;
  event.account = ctx.scope.account;
  event.region = ctx.scope.region;
  event.source = "aws." + service;
  event.detail_type = "AWS API Call via CloudTrail";
  event.resources = json::serialize(json::array{json::string(check.resource)});
  event.detail = json::serialize(detail);
  return event;
}

void DenialAudit::Record(const RequestContext& ctx, const AuthzCheck& check,
                         const std::string& message) {
  const std::string service = check.action.substr(0, check.action.find(':'));
  total_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  ++by_service_[service];
  Key key{ctx.scope.account, ctx.scope.region, ctx.principal.arn, check.action, check.resource};
  auto it = pending_.find(key);
  if (it == pending_.end() && pending_.size() >= kMaxKeysPerFlush) {
    // Past the bound: fold into the account's catch-all key, so memory and rows stay bounded.
    key = Key{ctx.scope.account, ctx.scope.region, "*", "*", "*"};
    it = pending_.find(key);
  }
  if (it == pending_.end()) {
    Pending fresh;
    fresh.seq = next_seq_++;
    fresh.first_ms = ctx.now;
    if (std::get<2>(key) == "*") {
      AuthzCheck any{"*", "*"};
      RequestContext anyone = ctx;
      anyone.principal = Principal{};
      anyone.principal.account = ctx.scope.account;
      anyone.principal.arn = "*";
      fresh.first = EventFor(anyone, any, "Denials beyond the per-flush bound, aggregated");
      fresh.first.source = "aws.coffer";
    } else {
      fresh.first = EventFor(ctx, check, message);
    }
    it = pending_.emplace(std::move(key), std::move(fresh)).first;
  }
  ++it->second.count;
  it->second.last_ms = std::max(it->second.last_ms, ctx.now);
}

Status DenialAudit::Flush() {
  std::map<Key, Pending> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(pending_);
  }
  if (batch.empty()) return Status::Ok();
  // In the order the first denials happened.
  std::vector<const Pending*> ordered;
  for (const auto& [key, p] : batch) ordered.push_back(&p);
  std::sort(ordered.begin(), ordered.end(),
            [](const Pending* a, const Pending* b) { return a->seq < b->seq; });
  Status s = store_->Write([&](StoreWriter& w) -> Status {
    for (const Pending* pending : ordered) {
      const Pending& p = *pending;
      EventRow event = p.first;
      boost::system::error_code ec;
      json::value detail = json::parse(event.detail, ec);
      if (!ec && detail.is_object()) {
        detail.get_object()["additionalEventData"] =
            json::object{{"deniedCount", p.count},
                         {"firstEventTime", FormatIso8601(p.first_ms)},
                         {"lastEventTime", FormatIso8601(p.last_ms)}};
        event.detail = json::serialize(detail);
      }
      COFFER_RETURN_IF_ERROR(w.events().Append(event));
    }
    return Status::Ok();
  });
  if (!s.ok()) {
    // Keep the counts for the next flush (merged with what arrived meanwhile).
    std::lock_guard lock(mu_);
    for (auto& [key, p] : batch) {
      auto [it, inserted] = pending_.try_emplace(key, std::move(p));
      if (!inserted) {
        it->second.count += p.count;
        it->second.first_ms = std::min(it->second.first_ms, p.first_ms);
      }
    }
    std::cerr << "coffer: could not record denials: " << s.message() << "\n";
  }
  return s;
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
