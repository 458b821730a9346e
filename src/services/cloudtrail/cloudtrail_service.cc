#include "services/cloudtrail/cloudtrail_service.h"

#include <array>
#include <cmath>
#include <optional>
#include <string>
#include <utility>

#include "core/enum_names.h"
#include "crypto/crypto.h"
#include "protocol/json_input.h"
#include "protocol/page_token.h"

namespace coffer::cloudtrail {
namespace json = boost::json;
namespace {

constexpr int kMaxResults = 50;

constexpr EnumName<AuditAttribute> kAttributeNames[] = {
    {AuditAttribute::kEventId, "EventId"},
    {AuditAttribute::kEventName, "EventName"},
    {AuditAttribute::kReadOnly, "ReadOnly"},
    {AuditAttribute::kUsername, "Username"},
    {AuditAttribute::kResourceType, "ResourceType"},
    {AuditAttribute::kResourceName, "ResourceName"},
    {AuditAttribute::kEventSource, "EventSource"},
    {AuditAttribute::kAccessKeyId, "AccessKeyId"}};

Status InvalidAttributes(const std::string& message) {
  return Status(ErrorCode::kInvalidLookupAttributesException, message);
}

Result<std::optional<EpochMillis>> Timestamp(const json::object& input, std::string_view member) {
  return EpochMillisMember(input, member, ErrorCode::kInvalidTimeRangeException,
                           "The time range is outside the range of possible values.");
}

struct Lookup {
  AuditQuery query;
  std::string scope;  // of the page token: the query's parameters
};

Result<Lookup> ReadLookup(const RequestContext& ctx, const json::object& input) {
  Lookup lookup;
  AuditQuery& q = lookup.query;
  q.account = ctx.scope.account;
  q.region = ctx.scope.region;
  JsonInput in(input);
  const json::array* attributes = in.Array("LookupAttributes");
  std::optional<int64_t> max_results = in.Int("MaxResults");
  std::optional<std::string> next_token = in.String("NextToken");
  std::optional<std::string> category = in.String("EventCategory");
  COFFER_RETURN_IF_ERROR(in.Finish());

  if (category && *category != "insight") {
    return Status(ErrorCode::kInvalidEventCategoryException,
                  "Event category " + *category + " is not valid; the only value is insight.");
  }
  if (attributes != nullptr && attributes->size() > 1) {
    return InvalidAttributes("You can specify only one lookup attribute.");
  }
  if (attributes != nullptr && attributes->size() == 1) {
    const json::value& a = (*attributes)[0];
    if (!a.is_object()) {
      return Status(ErrorCode::kSerializationException, "Start of structure or map expected.");
    }
    const auto* key = a.as_object().if_contains("AttributeKey");
    const auto* value = a.as_object().if_contains("AttributeValue");
    if (key == nullptr || !key->is_string() || value == nullptr || !value->is_string()) {
      return InvalidAttributes("A lookup attribute needs an AttributeKey and an AttributeValue.");
    }
    const std::string key_text(key->get_string());
    auto attribute = ValueNamed(kAttributeNames, key_text);
    if (!attribute) {
      return InvalidAttributes("The lookup attribute key " + key_text +
                               " is not valid. Valid keys: EventId, EventName, ReadOnly, "
                               "Username, ResourceType, ResourceName, EventSource, AccessKeyId.");
    }
    q.attribute = *attribute;
    q.value = std::string(value->get_string());
    if (q.value.empty() || q.value.size() > 2000) {
      return InvalidAttributes("The lookup attribute value must be 1 to 2000 characters long.");
    }
    if (*attribute == AuditAttribute::kReadOnly && q.value != "true" && q.value != "false") {
      return InvalidAttributes("The value of ReadOnly must be true or false.");
    }
  }
  if (max_results && (*max_results < 1 || *max_results > kMaxResults)) {
    return Status(ErrorCode::kInvalidMaxResultsException, "MaxResults must be between 1 and 50.");
  }
  q.limit = static_cast<int>(max_results.value_or(kMaxResults));

  COFFER_ASSIGN_OR_RETURN(auto start, Timestamp(input, "StartTime"));
  COFFER_ASSIGN_OR_RETURN(auto end, Timestamp(input, "EndTime"));
  if (start && end && *start > *end) {
    return Status(ErrorCode::kInvalidTimeRangeException,
                  "The start time must not be after the end time.");
  }
  q.start_ms = std::max(start.value_or(0), ctx.now - kLookupWindowMs);
  q.end_ms = end.value_or(ctx.now);

  // A token continues the listing it came from: the same attribute and time range.
  lookup.scope = "cloudtrail:lookup:" + std::to_string(attributes ? attributes->size() : 0) + ":" +
                 (q.attribute ? std::string(NameOf(kAttributeNames, *q.attribute)) : "") + "=" +
                 q.value + ":" + (start ? std::to_string(*start) : "") + ":" +
                 (end ? std::to_string(*end) : "");
  auto position = DecodePageToken(lookup.scope, next_token);
  if (!position) {
    return Status(ErrorCode::kInvalidNextTokenException,
                  "The token is not valid, or was issued for a request with other parameters.");
  }
  if (!position->empty()) {
    const size_t colon = position->find(':');
    try {
      q.before = std::make_pair(std::stoll(position->substr(0, colon)),
                                std::stoll(position->substr(colon + 1)));
    } catch (const std::exception&) {
      return Status(ErrorCode::kInvalidNextTokenException, "The token is not valid.");
    }
  }
  return lookup;
}

json::object EventOf(const AuditRow& row) {
  json::array resources;
  for (const auto& r : row.resources) {
    resources.push_back(json::object{{"ResourceType", r.type}, {"ResourceName", r.name}});
  }
  json::object event{{"EventId", row.event_id},
                     {"EventName", row.event_name},
                     {"ReadOnly", row.read_only ? "true" : "false"},
                     {"EventTime", EpochSeconds(row.time_ms)},
                     {"EventSource", row.event_source},
                     {"Username", row.username},
                     {"Resources", std::move(resources)},
                     {"CloudTrailEvent", row.record}};
  if (!row.access_key_id.empty()) event["AccessKeyId"] = row.access_key_id;
  return event;
}

}  // namespace

Result<json::object> CloudTrailService::Handle(std::string_view operation,
                                               const RequestContext& ctx,
                                               const json::object& input) {
  if (operation == "LookupEvents") return LookupEvents(ctx, input);
  if (operation == "ListPublicKeys") return ListPublicKeys(ctx, input);
  return Status(ErrorCode::kUnknownOperationException,
                "coffer's CloudTrail serves LookupEvents and ListPublicKeys; " +
                    std::string(operation) + " is not served.");
}

Result<json::object> CloudTrailService::LookupEvents(const RequestContext& ctx,
                                                     const json::object& input) {
  COFFER_RETURN_IF_ERROR(ctx.Authorize({.action = "cloudtrail:LookupEvents", .resource = "*"}));
  COFFER_ASSIGN_OR_RETURN(Lookup lookup, ReadLookup(ctx, input));
  if (lookup.query.end_ms < lookup.query.start_ms) {
    return json::object{{"Events", json::array()}};
  }
  // One more than the page: whether a next page exists without a second query.
  const int page = lookup.query.limit;
  lookup.query.limit = page + 1;
  COFFER_ASSIGN_OR_RETURN(std::vector<AuditRow> rows, trail_->Lookup(lookup.query));
  json::array events;
  for (int i = 0; i < static_cast<int>(rows.size()) && i < page; ++i) {
    events.push_back(EventOf(rows[static_cast<size_t>(i)]));
  }
  json::object out{{"Events", std::move(events)}};
  if (static_cast<int>(rows.size()) > page) {
    const AuditRow& last = rows[static_cast<size_t>(page - 1)];
    out["NextToken"] =
        EncodePageToken(lookup.scope, std::to_string(last.time_ms) + ":" + std::to_string(last.id));
  }
  return out;
}

Result<json::object> CloudTrailService::ListPublicKeys(const RequestContext& ctx,
                                                       const json::object& input) {
  COFFER_RETURN_IF_ERROR(ctx.Authorize({.action = "cloudtrail:ListPublicKeys", .resource = "*"}));
  COFFER_ASSIGN_OR_RETURN(auto start, Timestamp(input, "StartTime"));
  COFFER_ASSIGN_OR_RETURN(auto end, Timestamp(input, "EndTime"));
  // Both default to now: without a range, the key in use now.
  const EpochMillis now = ctx.now;
  const EpochMillis from = start.value_or(now);
  const EpochMillis to = end.value_or(now);
  if (to < from) {
    return Status(ErrorCode::kInvalidTimeRangeException, "Start time must be before end time.");
  }
  json::array keys;
  if (delivery_ != nullptr) {
    const auto all = delivery_->PublicKeys();
    for (size_t i = 0; i < all.size(); ++i) {
      // A key is valid from its creation until the next one replaces it; the key in use has
      // no end yet, and its ValidityEndTime is left out.
      const bool replaced = i + 1 < all.size();
      const EpochMillis valid_to = replaced ? all[i + 1].valid_from_ms : now;
      if (all[i].valid_from_ms > to || (replaced && valid_to < from)) continue;
      json::object key{{"Value", crypto::Base64Encode(all[i].public_der)},
                       {"ValidityStartTime", EpochSeconds(all[i].valid_from_ms)},
                       {"Fingerprint", all[i].fingerprint}};
      if (replaced) key["ValidityEndTime"] = EpochSeconds(valid_to);
      keys.push_back(std::move(key));
    }
  }
  return json::object{{"PublicKeyList", std::move(keys)}};
}

}  // namespace coffer::cloudtrail
