#include "audit/cloudtrail_record.h"

#include <array>
#include <cctype>

#include "core/arn.h"
#include "core/time_format.h"

namespace coffer::audit {
namespace json = boost::json;
namespace {

// Members that hold secrets, left out of a record wherever they occur: Secrets Manager's values,
// KMS's plaintexts (and the ciphertexts AWS does not record either), IAM's and STS's secrets.
constexpr std::array<std::string_view, 13> kOmitted = {
    "SecretString",    "SecretBinary", "Plaintext", "CiphertextBlob", "SourceCiphertextBlob",
    "SecretAccessKey", "SessionToken", "Password",  "NewPassword",    "OldPassword",
    "PrivateKey",      "SigningKey",   "Passphrase"};

bool Omitted(std::string_view member) {
  for (std::string_view name : kOmitted) {
    if (member == name) return true;
  }
  return false;
}

// Reads whose answer is a secret or a page of them: CloudTrail records their response as null.
// STS's credentials are the exception AWS makes (AssumeRole and GetSessionToken record the
// issued key id and expiry; coffer drops the secret parts, see kOmitted).
bool RecordsResponse(std::string_view source, std::string_view name) {
  if (source == "sts.amazonaws.com") return name == "AssumeRole" || name == "GetSessionToken";
  return !IsReadOnly(name);
}

json::value Redacted(const json::value& v);

// Members whose value is a map of the caller's own names (a KMS encryption context): its keys
// are data, recorded as given, not member names to respell.
bool IsNameMap(std::string_view member) {
  return member == "EncryptionContext" || member == "encryptionContext";
}

json::object RedactedObject(const json::object& in) {
  json::object out;
  for (const auto& [key, value] : in) {
    if (Omitted(key)) continue;
    out[CloudTrailMemberName(key)] = IsNameMap(key) && value.is_object() ? value : Redacted(value);
  }
  return out;
}

json::value Redacted(const json::value& v) {
  if (v.is_object()) return RedactedObject(v.get_object());
  if (v.is_array()) {
    json::array out;
    for (const auto& element : v.get_array()) out.push_back(Redacted(element));
    return out;
  }
  return v;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

std::string CloudTrailMemberName(std::string_view member) {
  std::string out(member);
  // The leading run of capitals is lowered, but for the last when it starts a word:
  // SecretId -> secretId, KMSKeyId -> kmsKeyId, ARN -> arn.
  size_t run = 0;
  while (run < out.size() && std::isupper(static_cast<unsigned char>(out[run]))) ++run;
  const bool word_follows =
      run > 1 && run < out.size() && std::islower(static_cast<unsigned char>(out[run]));
  const size_t lower = word_follows ? run - 1 : run;
  for (size_t i = 0; i < lower; ++i) {
    out[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[i])));
  }
  return out;
}

bool IsReadOnly(std::string_view name) {
  // https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-concepts.html
  // (read and write events); KMS's cryptographic operations and STS's credential calls are
  // recorded as reads.
  for (std::string_view prefix :
       {"Get", "List", "Describe", "BatchGet", "Validate", "Lookup", "Simulate", "Generate",
        "Encrypt", "Decrypt", "ReEncrypt", "AssumeRole"}) {
    if (StartsWith(name, prefix)) return true;
  }
  return false;
}

json::object UserIdentity(const Principal& p, std::string_view invoked_by) {
  // A call nobody could be identified for (unsigned, or its signature did not verify), as
  // CloudTrail records one.
  if (p.arn.empty() && invoked_by.empty()) return json::object{{"type", "Unknown"}};
  // A service acting on its own account (Secrets Manager invoking a rotation function).
  if (p.type == PrincipalType::kAwsService && p.arn.empty()) {
    return json::object{{"type", "AWSService"}, {"invokedBy", invoked_by}};
  }
  json::object identity{{"type", PrincipalTypeName(p.type)},
                        {"principalId", p.user_id},
                        {"arn", p.arn},
                        {"accountId", p.account},
                        {"accessKeyId", p.access_key_id}};
  if (!p.user_name.empty()) identity["userName"] = p.user_name;
  if (p.type == PrincipalType::kAssumedRole) {
    identity["sessionContext"] =
        json::object{{"sessionIssuer", json::object{{"type", "Role"},
                                                    {"arn", p.role_arn},
                                                    {"accountId", p.account},
                                                    {"userName", p.role_name}}}};
  }
  if (!invoked_by.empty()) identity["invokedBy"] = invoked_by;
  return identity;
}

json::value RequestParameters(const json::object& request) {
  json::object out = RedactedObject(request);
  // Parameter Store's value, as AWS shows it in PutParameter.
  if (request.contains("Value")) out["value"] = kHidden;
  return out.empty() ? json::value(nullptr) : json::value(std::move(out));
}

json::value ResponseElements(std::string_view event_source, std::string_view event_name,
                             const json::object* response) {
  if (response == nullptr || !RecordsResponse(event_source, event_name)) return nullptr;
  json::object out = RedactedObject(*response);
  return out.empty() ? json::value(nullptr) : json::value(std::move(out));
}

json::object ApiCallRecord(const ApiCall& call) {
  json::array resources;
  for (const auto& r : call.resources) {
    // The resource's owner, as its ARN names it (another account's, for a cross-account call).
    const std::optional<Arn> arn = ParseArn(r.arn);
    const std::string& owner = arn && !arn->account.empty() ? arn->account : call.recipient_account;
    resources.push_back(json::object{{"accountId", owner}, {"type", r.type}, {"ARN", r.arn}});
  }
  json::object record{
      {"eventVersion", kEventVersion},
      {"userIdentity", UserIdentity(call.principal, call.invoked_by)},
      {"eventTime", FormatIso8601(call.time_ms)},
      {"eventSource", call.event_source},
      {"eventName", call.event_name},
      {"awsRegion", call.region},
      {"sourceIPAddress", call.invoked_by.empty() ? call.source_ip : call.invoked_by},
      {"requestParameters",
       call.request == nullptr ? json::value(nullptr) : RequestParameters(*call.request)},
      {"responseElements", call.outcome.ok()
                               ? ResponseElements(call.event_source, call.event_name, call.response)
                               : json::value(nullptr)},
      {"requestID", call.request_id},
      {"eventID", call.event_id},
      {"readOnly", IsReadOnly(call.event_name)},
      {"eventType", "AwsApiCall"},
      {"managementEvent", !call.data_event},
      {"recipientAccountId", call.recipient_account},
      {"eventCategory", call.data_event ? "Data" : "Management"}};
  // userAgent is optional in CloudTrail's record; a call that sent none has none.
  const std::string& agent = call.invoked_by.empty() ? call.user_agent : call.invoked_by;
  if (!agent.empty()) record["userAgent"] = agent;
  if (!call.outcome.ok()) {
    record["errorCode"] = call.outcome.code_name();
    record["errorMessage"] = call.outcome.message();
  }
  if (!resources.empty()) record["resources"] = std::move(resources);
  if (!call.shared_event_id.empty()) record["sharedEventID"] = call.shared_event_id;
  if (!call.tls_version.empty()) {
    record["tlsDetails"] = json::object{{"tlsVersion", call.tls_version},
                                        {"cipherSuite", call.cipher_suite},
                                        {"clientProvidedHostHeader", call.host}};
  }
  return record;
}

json::object ServiceEventRecord(const ServiceEvent& e) {
  json::object record{
      {"eventVersion", kEventVersion},
      {"userIdentity", json::object{{"accountId", e.account}, {"invokedBy", e.event_source}}},
      {"eventTime", FormatIso8601(e.time_ms)},
      {"eventSource", e.event_source},
      {"eventName", e.event_name},
      {"awsRegion", e.region},
      {"sourceIPAddress", e.event_source},
      {"userAgent", e.event_source},
      {"requestParameters", nullptr},
      {"responseElements", nullptr},
      {"requestID", e.request_id},
      {"eventID", e.event_id},
      {"readOnly", false},
      {"eventType", "AwsServiceEvent"},
      {"managementEvent", true},
      {"recipientAccountId", e.account},
      {"eventCategory", "Management"}};
  if (!e.error_message.empty()) record["errorMessage"] = e.error_message;
  if (!e.additional_event_data.empty()) record["additionalEventData"] = e.additional_event_data;
  if (!e.service_event_details.empty()) record["serviceEventDetails"] = e.service_event_details;
  return record;
}

}  // namespace coffer::audit
