// CloudTrail records: how coffer writes down a call, in the shape CloudTrail delivers
// (eventVersion 1.08), so the tools that read CloudTrail read coffer's trail.
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
//
// What a record must never hold: secret values, SecureString values, KMS plaintexts and data
// keys, passwords, secret access keys and session tokens. Request members that carry them are
// left out (Secrets Manager's SecretString/SecretBinary, as AWS omits them) or replaced by
// HIDDEN_DUE_TO_SECURITY_REASONS (Parameter Store's Value, as AWS shows it), wherever in the
// request they sit; the responses of the operations that return them are recorded as null, as
// AWS records GetSecretValue's. Redaction is by member name across every service rather than per
// operation, so an operation added later is covered before anyone remembers to list it.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/principal.h"
#include "core/status.h"

namespace coffer::audit {

inline constexpr char kEventVersion[] = "1.08";
inline constexpr char kHidden[] = "HIDDEN_DUE_TO_SECURITY_REASONS";

// A resource a call touched: CloudTrail's resources[] entry (and LookupEvents' ResourceType /
// ResourceName), e.g. {"AWS::SecretsManager::Secret", "arn:aws:secretsmanager:..."}.
struct RecordResource {
  std::string type;
  std::string arn;
};

// One call as the dispatcher saw it.
struct ApiCall {
  std::string event_source;  // "secretsmanager.amazonaws.com"
  std::string event_name;    // "GetSecretValue"
  std::string region;
  int64_t time_ms = 0;
  Principal principal;
  // The AWS service that made the call on the caller's behalf ("secretsmanager.amazonaws.com"
  // using KMS), or empty.
  std::string invoked_by;
  std::string source_ip;
  std::string user_agent;
  std::string request_id;
  std::string event_id;
  std::string recipient_account;
  // A call on another account's resource is recorded in both accounts, each copy with its own
  // eventID and this common sharedEventID; empty otherwise.
  std::string shared_event_id;
  // The request's members as received, and the response's; both are redacted here.
  const boost::json::object* request = nullptr;
  const boost::json::object* response = nullptr;
  Status outcome = Status::Ok();
  std::vector<RecordResource> resources;
  // tlsDetails, for a call that came over TLS: "TLSv1.3", "TLS_AES_128_GCM_SHA256", the Host
  // header as sent.
  std::string tls_version;
  std::string cipher_suite;
  std::string host;
  // A data event (eventCategory Data, managementEvent false): Lambda's Invoke, which CloudTrail
  // counts as data rather than management.
  bool data_event = false;
};

// The userIdentity block: type, principalId, arn, accountId, accessKeyId, userName, and for
// role sessions sessionContext.sessionIssuer; invokedBy when a service acted.
boost::json::object UserIdentity(const Principal& principal, std::string_view invoked_by = {});

// The record of an API call (eventType AwsApiCall).
boost::json::object ApiCallRecord(const ApiCall& call);

// A service's own event (eventType AwsServiceEvent), e.g. RotationFailed: userIdentity
// {accountId, invokedBy}, sourceIPAddress and userAgent the service's name, requestParameters
// and responseElements null.
struct ServiceEvent {
  std::string event_source;
  std::string event_name;
  std::string account;
  std::string region;
  int64_t time_ms = 0;
  std::string request_id;
  std::string event_id;
  std::string error_message;
  boost::json::object additional_event_data;
  boost::json::object service_event_details;
};
boost::json::object ServiceEventRecord(const ServiceEvent& event);

// The request members CloudTrail shows: lowerCamelCase names (CloudTrail's spelling for the JSON
// services), values that hold secrets left out or hidden, recursively.
boost::json::value RequestParameters(const boost::json::object& request);
// The response members CloudTrail shows, or null for the operations whose response is a secret
// (GetSecretValue, BatchGetSecretValue, GetParameter(s), Decrypt, GenerateDataKey, ...).
boost::json::value ResponseElements(std::string_view event_source, std::string_view event_name,
                                    const boost::json::object* response);
// A request or response member as CloudTrail spells it: SecretId -> secretId,
// KMSKeyId -> kmsKeyId, ARN -> arn.
std::string CloudTrailMemberName(std::string_view member);
// Whether CloudTrail marks the operation readOnly: Get*, List*, Describe*, BatchGet*,
// Validate*, Lookup*, Simulate*, GenerateRandom, Decrypt... are reads.
bool IsReadOnly(std::string_view event_name);

}  // namespace coffer::audit
