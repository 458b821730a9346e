#include "protocol/api_dispatcher.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <chrono>
#include <map>
#include <optional>
#include <set>

#include "audit/trail_rows.h"
#include "core/arn.h"
#include "core/ids.h"
#include "core/percent_encoding.h"
#include "protocol/operator_api.h"
#include "protocol/xml.h"

namespace coffer {
namespace json = boost::json;
namespace {

constexpr char kJsonContentType[] = "application/x-amz-json-1.1";
constexpr char kStsNamespace[] = "https://sts.amazonaws.com/doc/2011-06-15/";

// Overwrites every string of a parsed request in place.
void WipeStrings(json::value& v) {
  if (v.is_string()) {
    json::string& s = v.get_string();
    OPENSSL_cleanse(s.data(), s.size());
  } else if (v.is_object()) {
    for (auto& member : v.get_object()) WipeStrings(member.value());
  } else if (v.is_array()) {
    for (auto& element : v.get_array()) WipeStrings(element);
  }
}

void WipeStrings(json::object& o) {
  for (auto& member : o) WipeStrings(member.value());
}

std::string_view Header(const ApiRequest& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return {};
}

// Error messages quote values from the request; a request of a megabyte must not turn into an
// error of two. Long messages are cut (at a UTF-8 character boundary).
constexpr size_t kMaxErrorMessageBytes = 2048;
// Operator endpoints are coffer's own, not an AWS service's: their records name this source.
constexpr char kOperatorEventSource[] = "operator.coffer";
// The region an unsigned operator call (an unseal) is recorded in: it names none.
constexpr char kOperatorDefaultRegion[] = "us-east-1";
std::string BoundedMessage(std::string_view message) {
  if (message.size() <= kMaxErrorMessageBytes) return std::string(message);
  size_t cut = kMaxErrorMessageBytes;
  while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) --cut;
  return std::string(message.substr(0, cut)) + "...";
}

// AWS's JSON protocols, with or without parameters ("; charset=utf-8").
bool IsAwsJsonContentType(std::string_view type) {
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  auto iequals = [](std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
             return std::tolower(static_cast<unsigned char>(x)) ==
                    std::tolower(static_cast<unsigned char>(y));
           });
  };
  return iequals(type, "application/x-amz-json-1.1") || iequals(type, "application/x-amz-json-1.0");
}

}  // namespace

ApiResponse JsonErrorResponse(const Status& status, const std::string& request_id) {
  const Status s(status.code(), BoundedMessage(status.message()));
  ApiResponse resp;
  resp.status = ErrorCodeHttpStatus(s.code());
  resp.content_type = kJsonContentType;
  resp.headers.emplace_back("x-amzn-RequestId", request_id);
  resp.headers.emplace_back("x-amzn-ErrorType", s.code_name());
  // Secrets Manager models its error member as "Message", KMS and SSM as "message"; botocore
  // reads either, so both are sent.
  resp.body = json::serialize(
      json::object{{"__type", s.code_name()}, {"message", s.message()}, {"Message", s.message()}});
  return resp;
}

namespace {

ApiResponse JsonError(const Status& s, const std::string& request_id) {
  return JsonErrorResponse(s, request_id);
}

ApiResponse QueryError(const Status& status, const std::string& request_id) {
  // The query protocols spell the JSON protocols' AccessDeniedException as AccessDenied.
  const Status s(
      status.code() == ErrorCode::kAccessDeniedException ? ErrorCode::kAccessDenied : status.code(),
      BoundedMessage(status.message()));
  ApiResponse resp;
  resp.status = ErrorCodeHttpStatus(s.code());
  resp.content_type = "text/xml";
  resp.headers.emplace_back("x-amzn-RequestId", request_id);
  const char* type = resp.status >= 500 ? "Receiver" : "Sender";
  resp.body = std::string("<ErrorResponse xmlns=\"") + kStsNamespace + "\"><Error><Type>" + type +
              "</Type><Code>" + XmlEscape(s.code_name()) + "</Code><Message>" +
              XmlEscape(s.message()) + "</Message></Error><RequestId>" + request_id +
              "</RequestId></ErrorResponse>";
  return resp;
}

enum class Protocol { kJson, kQuery };

Status AuthStatus(const AuthError& e, Protocol p) {
  const bool j = p == Protocol::kJson;
  switch (e.failure) {
    case AuthFailure::kMissing:
      return Status(j ? ErrorCode::kMissingAuthenticationTokenException
                      : ErrorCode::kMissingAuthenticationToken,
                    e.message);
    case AuthFailure::kIncomplete:
      return Status(j ? ErrorCode::kIncompleteSignatureException : ErrorCode::kIncompleteSignature,
                    e.message);
    case AuthFailure::kUnknownKey:
      return Status(j ? ErrorCode::kUnrecognizedClientException : ErrorCode::kInvalidClientTokenId,
                    e.message);
    case AuthFailure::kBadSignature:
      return Status(j ? ErrorCode::kInvalidSignatureException : ErrorCode::kSignatureDoesNotMatch,
                    e.message);
    case AuthFailure::kExpiredToken:
      return Status(j ? ErrorCode::kExpiredTokenException : ErrorCode::kExpiredToken, e.message);
    case AuthFailure::kUnavailable:
      return Status(ErrorCode::kServiceUnavailable, e.message);
  }
  return Status(ErrorCode::kInternalFailure, "unknown authentication failure");
}

void ParseForm(std::string_view s, std::map<std::string, std::string>* out) {
  size_t start = 0;
  while (start <= s.size()) {
    size_t amp = s.find('&', start);
    std::string_view part =
        s.substr(start, amp == std::string_view::npos ? std::string_view::npos : amp - start);
    if (!part.empty()) {
      size_t eq = part.find('=');
      if (eq == std::string_view::npos) {
        (*out)[PercentDecode(part, true)] = "";
      } else {
        (*out)[PercentDecode(part.substr(0, eq), true)] = PercentDecode(part.substr(eq + 1), true);
      }
    }
    if (amp == std::string_view::npos) break;
    start = amp + 1;
  }
}

RequestContext ContextFor(const VerifiedCaller& caller, const ApiRequest& request,
                          const std::string& request_id, EpochMillis now,
                          const Authorizer* authorizer, AuthorizationLog* log) {
  RequestContext ctx;
  ctx.principal = caller.credential->principal;
  ctx.scope = Scope{caller.credential->principal.account, caller.region};
  ctx.request_id = request_id;
  ctx.now = now;
  ctx.source_ip = std::string(request.peer_ip);
  ctx.secure_transport = request.secure_transport;
  ctx.authorizer = authorizer;
  ctx.authorization = log;
  return ctx;
}

// Runs a service's handler, unless the trail cannot record calls now (then the call is refused
// with `unavailable` before it acts). A third-party exception escaping a service is a bug; it is
// reported without detail, which could otherwise carry request content.
template <typename T, typename Handler>
Result<T> RunHandler(bool trail_accepting, ErrorCode unavailable, Handler handler) {
  if (!trail_accepting) return Status(unavailable, audit::kTrailUnavailableMessage);
  try {
    return handler();
  } catch (const std::exception&) {
    return Status(ErrorCode::kInternalFailure, "An internal error occurred.");
  }
}

// An operation that succeeded without asking the authorizer is a defect in coffer; refusing it
// keeps a missing check from ever becoming an open door.
Status Unauthorized(std::string_view operation) {
  return Status(ErrorCode::kInternalFailure, "coffer did not authorize " + std::string(operation) +
                                                 "; the request was refused.");
}

}  // namespace

ApiResponse ApiDispatcher::Handle(const ApiRequest& request, const ChangeCounts* counts) {
  const std::string request_id = NewUuid();
  std::optional<ChangeCountsPin> pin;
  if (counts != nullptr) {
    pin.emplace(store_, *counts);
  } else {
    pin.emplace(store_);
  }
  if (operator_api_ != nullptr && OperatorApi::IsOperatorPath(request.target)) {
    OperatorCall call;
    // Failing closed, an operator call acts only if it can be recorded, as every other call;
    // sealing (and reading whether sealed) stays possible, so a server whose trail is broken
    // can still be locked.
    const std::string_view event = OperatorApi::EventNameOf(request.target);
    if (!TrailAccepting() && event != "Seal" && event != "GetSealStatus") {
      call.event_name = std::string(event);
      ApiResponse refused = JsonError(
          Status(ErrorCode::kServiceUnavailableException, audit::kTrailUnavailableMessage),
          request_id);
      RecordOperatorCall(request, request_id, call, &refused);
      return refused;
    }
    ApiResponse resp = operator_api_->Handle(request, request_id, &call);
    RecordOperatorCall(request, request_id, call, &resp);
    return resp;
  }
  std::string_view target = Header(request, "x-amz-target");
  if (operator_api_ != nullptr && operator_api_->sealed()) {
    // Nothing is served while sealed, not even an authentication verdict: the credentials
    // themselves are locked away.
    const std::string message =
        "coffer is sealed; no request can be served until an operator unseals it "
        "(coffer operator unseal).";
    if (!target.empty()) {
      return JsonError(Status(ErrorCode::kServiceUnavailableException, message), request_id);
    }
    return QueryError(Status(ErrorCode::kServiceUnavailable, message), request_id);
  }
  const auto started = std::chrono::steady_clock::now();
  CallLabels labels;
  ApiResponse resp = !target.empty() ? HandleJson(request, target, request_id, &labels)
                                     : HandleQuery(request, request_id, &labels);
  if (!labels.service.empty()) {
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
    metrics_.Observe(labels.service, labels.operation, labels.outcome, took.count());
  }
  return resp;
}

void ApiDispatcher::AuthenticationFailed(const AuthError& err, const Status& answer,
                                         const ApiRequest& request, EpochMillis now) {
  metrics_.AuthenticationFailed(err.failure);
  if (auth_failures_ != nullptr && !err.key_account.empty() && IsValidRegionName(err.region)) {
    auth_failures_->Add(err.key_account, err.region, now,
                        {.access_key_id = err.access_key_id,
                         .reason = std::string(ErrorCodeName(answer.code())),
                         .source_ip = std::string(request.peer_ip)});
  }
}

ApiResponse ApiDispatcher::HandleJson(const ApiRequest& request, std::string_view amz_target,
                                      const std::string& request_id, CallLabels* labels) {
  // AWS routes a JSON-protocol request by its content type as well as its target: a body of
  // another type is no operation it knows (Kinesis answers application/octet-stream with
  // UnknownOperationException), and a form post from a browser page is never an API call.
  if (!IsAwsJsonContentType(Header(request, "content-type"))) {
    return JsonError(Status(ErrorCode::kUnknownOperationException,
                            "A request with X-Amz-Target must have Content-Type "
                            "application/x-amz-json-1.1."),
                     request_id);
  }
  const EpochMillis now = clock_->NowMillis();
  SigV4Request sig{request.method, request.target, request.headers, request.body,
                   request.secure_transport};
  auto verified = VerifySigV4(sig, *credentials_, now, signature_clock_->NowMillis());
  if (auto* err = std::get_if<AuthError>(&verified)) {
    Status answer = AuthStatus(*err, Protocol::kJson);
    AuthenticationFailed(*err, answer, request, now);
    return JsonError(std::move(answer), request_id);
  }
  const auto& caller = std::get<VerifiedCaller>(verified);

  size_t dot = amz_target.rfind('.');  // prefixes may hold dots (CloudTrail's)
  std::string_view prefix = amz_target.substr(0, dot);
  std::string_view operation =
      dot == std::string_view::npos ? std::string_view() : amz_target.substr(dot + 1);
  auto service = json_services_.find(prefix);
  auto long_poll = long_polls_.find(amz_target);
  if (service == json_services_.end() && long_poll == long_polls_.end()) {
    return JsonError(Status(ErrorCode::kUnknownOperationException,
                            "The target " + std::string(amz_target) + " is not known."),
                     request_id);
  }
  const std::string& signing_service =
      long_poll != long_polls_.end() ? long_poll->second.first : service->second.first;
  if (caller.service != signing_service) {
    return JsonError(Status(ErrorCode::kInvalidSignatureException,
                            "Credential should be scoped to correct service: '" +
                                std::string(signing_service) + "'. "),
                     request_id);
  }
  if (!IsValidRegionName(caller.region)) {
    return JsonError(
        Status(ErrorCode::kInvalidSignatureException,
               "Credential should be scoped to a valid region, not '" + caller.region + "'. "),
        request_id);
  }

  labels->service = signing_service;
  labels->operation = std::string(operation);
  json::object input;
  if (!request.body.empty()) {
    boost::system::error_code ec;
    json::value parsed = json::parse(request.body, ec);
    if (ec || !parsed.is_object()) {
      labels->outcome = ErrorCode::kSerializationException;
      return JsonError(
          Status(ErrorCode::kSerializationException, ec ? "The request body is not valid JSON."
                                                        : "Start of structure or map expected."),
          request_id);
    }
    input = std::move(parsed.get_object());
  }

  AuthorizationLog authorization;
  RequestContext ctx = ContextFor(caller, request, request_id, now, authorizer_, &authorization);
  std::shared_ptr<LaterJson> later;
  Result<json::object> result = RunHandler<json::object>(
      TrailAccepting(), ErrorCode::kServiceUnavailableException, [&]() -> Result<json::object> {
        if (long_poll == long_polls_.end()) {
          return service->second.second(operation, ctx, input);
        }
        COFFER_ASSIGN_OR_RETURN(later, long_poll->second.second(ctx, input));
        return json::object();
      });
  if (result.ok() && !authorization.answered()) result = Unauthorized(amz_target);
  labels->outcome = result.ok() ? ErrorCode::kOk : result.status().code();

  ApiResponse resp;
  if (result.ok()) {
    resp.content_type = kJsonContentType;
    resp.headers.emplace_back("x-amzn-RequestId", request_id);
    resp.body = json::serialize(result.value());
  } else {
    resp = JsonError(result.status(), request_id);
  }
  Record(request, ctx, authorization,
         {signing_service, operation, &input, result.ok() ? &result.value() : nullptr,
          result.ok() ? Status::Ok() : result.status()},
         &resp);
  if (later && result.ok()) {
    // Recorded as it began (a read: its answer is not in the record); answered when it ends.
    resp.later = [later, request_id](std::function<void(ApiResponse)> answer) {
      later->OnComplete([answer = std::move(answer), request_id](Result<json::object> given) {
        ApiResponse out;
        if (given.ok()) {
          out.content_type = kJsonContentType;
          out.headers.emplace_back("x-amzn-RequestId", request_id);
          out.body = json::serialize(given.value());
        } else {
          out = JsonErrorResponse(given.status(), request_id);
        }
        answer(std::move(out));
      });
    };
  }
  // Request members may have held secret values: overwrite the parsed copies before they are
  // freed (the request body itself is cleansed by the HTTP server).
  WipeStrings(input);
  input.clear();
  return resp;
}

ApiResponse ApiDispatcher::HandleQuery(const ApiRequest& request, const std::string& request_id,
                                       CallLabels* labels) {
  const EpochMillis now = clock_->NowMillis();
  SigV4Request sig{request.method, request.target, request.headers, request.body,
                   request.secure_transport};
  auto verified = VerifySigV4(sig, *credentials_, now, signature_clock_->NowMillis());
  if (auto* err = std::get_if<AuthError>(&verified)) {
    Status answer = AuthStatus(*err, Protocol::kQuery);
    AuthenticationFailed(*err, answer, request, now);
    return QueryError(std::move(answer), request_id);
  }
  const auto& caller = std::get<VerifiedCaller>(verified);

  std::map<std::string, std::string> params;
  if (size_t q = request.target.find('?'); q != std::string_view::npos) {
    ParseForm(request.target.substr(q + 1), &params);
  }
  // A presigned request is what its URL says: its signed query string alone names the action
  // and its parameters, so nothing in a body (unsigned, or signed apart from the URL) can add
  // to or override them.
  if (request.method == "POST" && !caller.presigned) ParseForm(request.body, &params);
  for (const char* signing : {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                              "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token"}) {
    params.erase(signing);
  }
  auto action = params.find("Action");
  if (action == params.end() || action->second.empty()) {
    return QueryError(Status(ErrorCode::kMissingAction, "Request is missing Action parameter."),
                      request_id);
  }
  auto service = query_services_.find(caller.service);
  if (service == query_services_.end()) {
    return QueryError(Status(ErrorCode::kInvalidAction,
                             "coffer serves the query protocol for STS and IAM; the credential "
                             "scope names '" +
                                 caller.service + "'."),
                      request_id);
  }
  AuthorizationLog authorization;
  RequestContext ctx = ContextFor(caller, request, request_id, now, authorizer_, &authorization);
  const std::string name = action->second;
  Result<std::string> result =
      RunHandler<std::string>(TrailAccepting(), ErrorCode::kServiceUnavailable,
                              [&] { return service->second.second(name, ctx, params); });
  if (result.ok() && !authorization.answered()) result = Unauthorized(name);
  labels->service = caller.service;
  labels->operation = name;
  labels->outcome = result.ok() ? ErrorCode::kOk : result.status().code();
  // The response's members for the record, read back from the XML before it is wiped.
  std::optional<json::object> response;
  if (trail_ != nullptr && result.ok()) response = QueryResultJson(result.value());
  ApiResponse resp;
  if (result.ok()) {
    resp.content_type = "text/xml";
    resp.headers.emplace_back("x-amzn-RequestId", request_id);
    resp.body = "<" + name + "Response xmlns=\"" + service->second.first + "\">" + result.value() +
                "<ResponseMetadata><RequestId>" + request_id + "</RequestId></ResponseMetadata></" +
                name + "Response>";
    OPENSSL_cleanse(result.value().data(), result.value().size());
  } else {
    resp = QueryError(result.status(), request_id);
  }
  if (trail_ != nullptr) {
    // The record's requestParameters: the query's members but the action and API version.
    json::object input;
    for (const auto& [key, value] : params) {
      if (key != "Action" && key != "Version") input[key] = value;
    }
    Record(request, ctx, authorization,
           {caller.service, name, &input, response ? &*response : nullptr,
            result.ok() ? Status::Ok() : result.status()},
           &resp);
    WipeStrings(input);
    if (response) WipeStrings(*response);
  }
  // Parameters may have held secrets (a session policy is not one, but an IAM password would be).
  for (auto& [k, v] : params) OPENSSL_cleanse(v.data(), v.size());
  return resp;
}

// The calls a service made for this one are recorded first: the trail writes in order, so the
// ticket of the caller's own record, which the response waits for, is durable only after them.
void ApiDispatcher::Record(const ApiRequest& request, const RequestContext& ctx,
                           const AuthorizationLog& authorization, const CallOutcome& call,
                           ApiResponse* response) const {
  if (trail_ == nullptr) return;
  for (auto& row : audit::OnBehalfRows(ctx, authorization, exclude_kms_events_)) {
    (void)trail_->Append(std::move(row));  // the caller's own record's ticket waits for it
  }
  if (exclude_kms_events_ && call.signing_service == "kms") return;
  audit::ApiCall c =
      audit::CallOf(ctx, std::string(call.signing_service) + ".amazonaws.com", call.operation,
                    call.input, call.output, call.status, authorization);
  c.user_agent = std::string(Header(request, "user-agent"));
  // A call on another account's resource goes to that account's trail too, as CloudTrail
  // delivers it to both: each copy its own eventID, both the same sharedEventID. Only for the
  // resources the owner's policies let the caller act on: one it was refused stays in the
  // caller's trail, so no account can write into another's by naming its ARNs.
  // https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
  std::set<std::string> owners;
  for (const auto& resource : authorization.allowed_resources()) {
    const std::optional<Arn> arn = ParseArn(resource);
    if (arn && !arn->account.empty() && arn->account != c.recipient_account) {
      owners.insert(arn->account);
    }
  }
  if (!owners.empty()) c.shared_event_id = NewUuid();
  AppendAnswered(request, c, response, owners);
}

void ApiDispatcher::AppendAnswered(const ApiRequest& request, audit::ApiCall& call,
                                   ApiResponse* response,
                                   const std::set<std::string>& also_to) const {
  if (!request.tls_version.empty()) {
    call.tls_version = std::string(request.tls_version);
    call.cipher_suite = std::string(request.tls_cipher);
    call.host = std::string(Header(request, "host"));
  }
  if (!call.shared_event_id.empty()) {
    for (const std::string& owner : also_to) {
      audit::ApiCall copy = call;
      copy.recipient_account = owner;
      copy.event_id = NewTimeOrderedUuid(call.time_ms);
      (void)trail_->Append(audit::ApiCallRow(copy));
    }
  }
  response->audit_ticket = trail_->Append(audit::ApiCallRow(call));
  response->fail_if_not_recorded = trail_->on_failure() == audit::OnFailure::kClosed;
}

void ApiDispatcher::RecordOperatorCall(const ApiRequest& request, const std::string& request_id,
                                       const OperatorCall& call, ApiResponse* response) const {
  if (trail_ == nullptr || call.event_name.empty()) return;
  audit::ApiCall c;
  c.event_source = kOperatorEventSource;
  c.event_name = call.event_name;
  c.time_ms = clock_->NowMillis();
  // An unsigned call (an unseal, the seal status) or one whose signature did not verify is
  // recorded as CloudTrail records unauthenticated calls: userIdentity type Unknown, in the
  // deployment operator's account.
  if (call.caller != nullptr) c.principal = call.caller->principal;
  c.recipient_account =
      call.caller != nullptr ? call.caller->principal.account : operator_api_->operator_account();
  c.region = call.region.empty() ? std::string(kOperatorDefaultRegion) : call.region;
  c.source_ip = std::string(request.peer_ip);
  c.user_agent = std::string(Header(request, "user-agent"));
  c.request_id = request_id;
  c.event_id = NewTimeOrderedUuid(c.time_ms);
  if (response->status >= 400) {
    // The endpoint's error, from the AWS JSON error body it answered.
    boost::system::error_code ec;
    json::value body = json::parse(response->body, ec);
    const json::object* error = ec ? nullptr : body.if_object();
    const json::value* type = error ? error->if_contains("__type") : nullptr;
    const json::value* message = error ? error->if_contains("message") : nullptr;
    std::optional<ErrorCode> code =
        type && type->is_string() ? ErrorCodeNamed(type->get_string()) : std::nullopt;
    c.outcome = Status(code.value_or(ErrorCode::kInternalFailure),
                       message && message->is_string() ? std::string(message->get_string()) : "");
  }
  AppendAnswered(request, c, response);
}

ApiResponse UnrecordedCallResponse(const ApiResponse& answered) {
  std::string request_id;
  for (const auto& [name, value] : answered.headers) {
    if (name == "x-amzn-RequestId") request_id = value;
  }
  if (answered.content_type == "text/xml") {
    return QueryError(Status(ErrorCode::kServiceUnavailable, audit::kCallUnrecordedMessage),
                      request_id);
  }
  return JsonError(Status(ErrorCode::kServiceUnavailableException, audit::kCallUnrecordedMessage),
                   request_id);
}

}  // namespace coffer
