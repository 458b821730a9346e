// ApiDispatcher: from one HTTP request to one AWS API response.
//
// Chooses the wire protocol (AWS JSON 1.1 when X-Amz-Target is present, else the AWS query
// protocol), verifies SigV4, builds the RequestContext (account from the credential, region from
// the credential scope), calls the service and encodes the result or the AWS error shape:
//   JSON:  HTTP status, x-amzn-ErrorType, {"__type": code, "message": ...}
//   query: <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>
// Nothing above this layer knows about JSON or XML; nothing below it knows about HTTP.
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "audit/audit_trail.h"
#include "audit/auth_failure_tally.h"
#include "audit/cloudtrail_record.h"
#include "auth/sigv4.h"
#include "core/clock.h"
#include "core/request_context.h"
#include "protocol/later_json.h"
#include "protocol/request_metrics.h"
#include "store/store.h"

namespace coffer {

struct ApiRequest {
  std::string_view method;
  std::string_view target;                                             // path and query as received
  std::vector<std::pair<std::string_view, std::string_view>> headers;  // lowercase names
  std::string_view body;
  bool secure_transport = false;
  std::string_view peer_ip;      // for aws:SourceIp
  std::string_view tls_version;  // the audit record's tlsDetails, over TLS
  std::string_view tls_cipher;
};

struct ApiResponse {
  int status = 200;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The call's audit record: the response may be sent only once the ticket reports the record
  // durable. Null when nothing was recorded (no trail, or a request that never became a call).
  std::shared_ptr<audit::Ticket> audit_ticket;
  // Send UnrecordedCallResponse(*this) instead when the record could not be written (the trail
  // fails closed).
  bool fail_if_not_recorded = false;
  // A long poll (AddJsonLongPoll): the server calls this with what answers the connection, and
  // answers when that is called (from any thread); the fields above are unused then.
  std::function<void(std::function<void(ApiResponse)> answer)> later;
};

// The answer to a call whose audit record could not be written: ServiceUnavailable in the
// protocol of `answered` (what the call would have been answered), with its request id.
ApiResponse UnrecordedCallResponse(const ApiResponse& answered);

// The AWS JSON error response for `s`.
ApiResponse JsonErrorResponse(const Status& s, const std::string& request_id);

class OperatorApi;
struct OperatorCall;

class ApiDispatcher {
 public:
  // `clock` is the request's "now" (RequestContext::now, credential expiry); `signature_clock`,
  // when given, is the real clock signatures are dated against (see OffsetClock).
  ApiDispatcher(CredentialSource* credentials, const Clock* clock,
                const Clock* signature_clock = nullptr)
      : credentials_(credentials),
        clock_(clock),
        signature_clock_(signature_clock ? signature_clock : clock) {}

  // A JSON-protocol service: requests whose X-Amz-Target is "<target_prefix>.<Operation>" and
  // whose credential is scoped to `signing_service` go to `handler` (e.g. "secretsmanager",
  // "AmazonSSM" with "ssm", "TrentService" with "kms"). The dispatcher knows no service itself.
  using JsonHandler = std::function<Result<boost::json::object>(
      std::string_view operation, const RequestContext& ctx, const boost::json::object& input)>;
  void AddJsonService(std::string target_prefix, std::string signing_service, JsonHandler handler) {
    json_services_[std::move(target_prefix)] = {std::move(signing_service), std::move(handler)};
  }

  // A JSON operation answered later (protocol/later_json.h): `target` is the whole X-Amz-Target.
  // Authenticated, authorized and recorded as every call is, when it begins. `end_all` answers
  // every waiting call at once (EndLongPolls).
  using LongPollHandler = std::function<Result<std::shared_ptr<LaterJson>>(
      const RequestContext& ctx, const boost::json::object& input)>;
  void AddJsonLongPoll(std::string target, std::string signing_service, LongPollHandler handler,
                       std::function<void()> end_all) {
    long_polls_[std::move(target)] = {std::move(signing_service), std::move(handler)};
    long_poll_enders_.push_back(std::move(end_all));
  }
  // The server is stopping: waiting long polls are answered now, so their connections close.
  void EndLongPolls() {
    for (const auto& end : long_poll_enders_) end();
  }

  // Routes /coffer/ paths to `operator_api` and, while it reports sealed, answers every other
  // request with ServiceUnavailable. Call before serving.
  void SetOperatorApi(OperatorApi* operator_api) { operator_api_ = operator_api; }
  // The store whose change counts each request pins (store/store.h: ChangeCountsPin), so that
  // the caches one request consults cost one read of them.
  void SetStore(const Store* store) { store_ = store; }

  // The authorizer every request is decided by: services ask it before they act, and a
  // successful response from an operation that never asked is refused (InternalFailure). Call
  // before serving; without one every check is refused (fail closed). Tests of the dispatcher
  // that are not about policies pass an AllowAllAuthorizer.
  void SetAuthorizer(const Authorizer* authorizer) { authorizer_ = authorizer; }

  // The trail every authenticated call is recorded in (allowed, denied or failed), in
  // CloudTrail's record format; while it fails closed and cannot write, calls are refused with
  // ServiceUnavailable before they act. Call before serving; without one nothing is recorded.
  // `exclude_kms_events`: KMS's events (its own API and its use by other services) are not
  // recorded, as a CloudTrail trail with ExcludeManagementEventSources ["kms.amazonaws.com"]
  // leaves them out: one record per GetSecretValue instead of two.
  // Where authentication failures with a known key are tallied (UnauthorizedSecretAccess).
  void SetAuthFailureTally(audit::AuthFailureTally* tally) { auth_failures_ = tally; }
  void SetAuditTrail(audit::AuditTrail* trail, bool exclude_kms_events = false) {
    trail_ = trail;
    exclude_kms_events_ = exclude_kms_events;
  }

  // A query-protocol service (STS, IAM) for credentials scoped to `signing_service`: returns the
  // response's inner XML (the <ActionResult> element, or "" for actions without one).
  using QueryHandler =
      std::function<Result<std::string>(std::string_view action, const RequestContext& ctx,
                                        const std::map<std::string, std::string>& params)>;
  void AddQueryService(std::string signing_service, std::string xml_namespace,
                       QueryHandler handler) {
    query_services_[std::move(signing_service)] = {std::move(xml_namespace), std::move(handler)};
  }

  // Thread-safe; never throws. `counts`: the store's change counts, read for this request as
  // it began (ReadChangesThen); without them they are read when first needed.
  ApiResponse Handle(const ApiRequest& request, const ChangeCounts* counts = nullptr);
  // On a store several nodes share, the counts a request needs are a round trip to the
  // database: this reads them without holding the caller's thread, then calls `resume` (on
  // the store's reading thread) for the caller to Handle the request with them on its own.
  // Returns false, and never calls `resume`, when the counts are in memory (a store of one
  // process): Handle at once.
  bool ReadChangesThen(std::function<void(ChangeCounts)> resume) const {
    return store_ != nullptr && store_->ReadChangesThen(std::move(resume));
  }

  // Calls answered and refused, for GET /metrics.
  const RequestMetrics& request_metrics() const { return metrics_; }

 private:
  // What a call is counted under in the metrics; not counted while `service` is empty (a call
  // refused before it reached a service).
  struct CallLabels {
    std::string service;
    std::string operation;
    ErrorCode outcome = ErrorCode::kOk;
  };
  // Counts the failure, and for a known key tallies it (with the code `answer` carries) for the
  // alarms and the dashboard.
  void AuthenticationFailed(const AuthError& err, const Status& answer, const ApiRequest& request,
                            EpochMillis now);
  ApiResponse HandleJson(const ApiRequest& request, std::string_view amz_target,
                         const std::string& request_id, CallLabels* labels);
  ApiResponse HandleQuery(const ApiRequest& request, const std::string& request_id,
                          CallLabels* labels);
  // Whether a call may act: false while the trail fails closed and cannot write.
  bool TrailAccepting() const { return trail_ == nullptr || trail_->accepting(); }
  // Records the call `response` answers and ties the response to the record's ticket.
  struct CallOutcome {
    std::string_view signing_service;
    std::string_view operation;
    const boost::json::object* input;
    const boost::json::object* output;
    Status status;
  };
  void Record(const ApiRequest& request, const RequestContext& ctx,
              const AuthorizationLog& authorization, const CallOutcome& call,
              ApiResponse* response) const;
  // Adds the request's tlsDetails to `call`, queues its record and ties `response` to the
  // record's ticket (both Record and RecordOperatorCall end here).
  // `also_to`: other accounts whose trails get a copy (the call's shared_event_id is set).
  void AppendAnswered(const ApiRequest& request, audit::ApiCall& call, ApiResponse* response,
                      const std::set<std::string>& also_to = {}) const;
  // The same for a call of an operator endpoint (eventSource operator.coffer).
  void RecordOperatorCall(const ApiRequest& request, const std::string& request_id,
                          const OperatorCall& call, ApiResponse* response) const;

  CredentialSource* credentials_;
  const Clock* clock_;
  const Clock* signature_clock_;
  OperatorApi* operator_api_ = nullptr;
  const Store* store_ = nullptr;
  const Authorizer* authorizer_ = nullptr;
  audit::AuditTrail* trail_ = nullptr;
  audit::AuthFailureTally* auth_failures_ = nullptr;
  bool exclude_kms_events_ = false;
  RequestMetrics metrics_;
  std::map<std::string, std::pair<std::string, QueryHandler>> query_services_;
  std::map<std::string, std::pair<std::string, JsonHandler>, std::less<>> json_services_;
  std::map<std::string, std::pair<std::string, LongPollHandler>, std::less<>> long_polls_;
  std::vector<std::function<void()>> long_poll_enders_;
};

}  // namespace coffer
