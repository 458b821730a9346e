#include "audit/trail_rows.h"

#include <boost/json.hpp>
#include <optional>
#include <utility>

#include "core/arn.h"
#include "core/ids.h"

namespace coffer::audit {
namespace {

// The part of an ARN after its fifth colon: "secret:x", "parameter/x", "key/x", "user/x".
std::string_view ResourcePart(std::string_view arn) {
  size_t pos = 0;
  for (int i = 0; i < 5; ++i) {
    pos = arn.find(':', pos);
    if (pos == std::string_view::npos) return {};
    ++pos;
  }
  return arn.substr(pos);
}

std::string_view ServicePart(std::string_view arn) {
  size_t first = arn.find(':');
  if (first == std::string_view::npos) return {};
  size_t second = arn.find(':', first + 1);
  if (second == std::string_view::npos) return {};
  size_t third = arn.find(':', second + 1);
  if (third == std::string_view::npos) return {};
  return arn.substr(second + 1, third - second - 1);
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

uint32_t SignalsOf(const ApiCall& call) {
  if (call.event_source != "secretsmanager.amazonaws.com") return 0;
  const ErrorCode code = call.outcome.code();
  if (call.outcome.ok()) {
    const bool read =
        call.event_name == "GetSecretValue" || call.event_name == "BatchGetSecretValue";
    return read ? SignalBit(AuditSignal::kSecretRead) : 0;
  }
  if (code != ErrorCode::kAccessDenied && code != ErrorCode::kAccessDeniedException) return 0;
  uint32_t signals = SignalBit(AuditSignal::kSecretAccessDenied);
  // A principal of another account is only ever let in by the secret's resource policy, so its
  // refusal is one the policy made; as is any refusal the message names the policy for.
  const bool other_account =
      !call.principal.account.empty() && call.principal.account != call.recipient_account;
  if (other_account || call.outcome.message().find("resource-based policy") != std::string::npos) {
    signals |= SignalBit(AuditSignal::kUnauthorizedSecretAccess);
  }
  return signals;
}

std::string ResourceTypeOf(std::string_view arn) {
  const std::string_view service = ServicePart(arn);
  const std::string_view resource = ResourcePart(arn);
  if (service == "secretsmanager" && StartsWith(resource, "secret:")) {
    return "AWS::SecretsManager::Secret";
  }
  if (service == "ssm" && StartsWith(resource, "parameter")) return "AWS::SSM::Parameter";
  if (service == "kms" && StartsWith(resource, "key/")) return "AWS::KMS::Key";
  if (service == "kms" && StartsWith(resource, "alias/")) return "AWS::KMS::Alias";
  if (service == "iam" && StartsWith(resource, "user/")) return "AWS::IAM::User";
  if (service == "iam" && StartsWith(resource, "role/")) return "AWS::IAM::Role";
  if (service == "iam" && StartsWith(resource, "group/")) return "AWS::IAM::Group";
  if (service == "iam" && StartsWith(resource, "policy/")) return "AWS::IAM::Policy";
  if (service == "lambda" && StartsWith(resource, "function:")) return "AWS::Lambda::Function";
  return "";
}

std::string LookupUsername(const Principal& p) {
  switch (p.type) {
    case PrincipalType::kRoot:
      return "root";
    case PrincipalType::kIamUser:
      return p.user_name;
    case PrincipalType::kAssumedRole: {
      const size_t slash = p.arn.rfind('/');
      return slash == std::string::npos ? p.arn : p.arn.substr(slash + 1);
    }
    case PrincipalType::kAwsService:
      return p.arn;
  }
  return "";
}

AuditRow ApiCallRow(const ApiCall& call) {
  AuditRow row;
  row.time_ms = call.time_ms;
  row.account = call.recipient_account;
  row.region = call.region;
  row.event_id = call.event_id;
  row.event_name = call.event_name;
  row.event_source = call.event_source;
  row.username = LookupUsername(call.principal);
  if (row.username.empty()) row.username = call.invoked_by;  // a service acting on its own
  row.access_key_id = call.principal.access_key_id;
  row.read_only = IsReadOnly(call.event_name);
  for (const auto& r : call.resources) row.resources.push_back({r.type, r.arn});
  row.signals = SignalsOf(call);
  row.principal_arn = call.principal.arn;
  row.record = boost::json::serialize(ApiCallRecord(call));
  return row;
}

std::vector<AuditRow> OnBehalfRows(const RequestContext& ctx, const AuthorizationLog& log,
                                   bool exclude_kms) {
  std::vector<AuditRow> rows;
  for (const auto& made : log.on_behalf()) {
    if (exclude_kms && made.event_source == "kms.amazonaws.com") continue;
    boost::json::object context;
    for (const auto& [name, value] : made.encryption_context) context[name] = value;
    boost::json::object input{{"encryptionContext", std::move(context)}};
    if (made.event_name == "Decrypt" || made.event_name == "Encrypt") {
      input["encryptionAlgorithm"] = "SYMMETRIC_DEFAULT";
    } else {
      input["keyId"] = made.key_arn;
      input["keySpec"] = "AES_256";
    }
    ApiCall c;
    c.event_source = made.event_source;
    c.event_name = made.event_name;
    c.region = ctx.scope.region;
    c.time_ms = ctx.now;
    c.principal = ctx.principal;
    c.invoked_by = made.invoked_by;
    c.request_id = NewUuid();
    c.event_id = NewTimeOrderedUuid(c.time_ms);
    // The key's account: a secret of another account is decrypted under that account's key.
    const std::optional<Arn> key = ParseArn(made.key_arn);
    c.recipient_account = key ? key->account : ctx.scope.account;
    c.request = &input;
    c.resources.push_back({"AWS::KMS::Key", made.key_arn});
    rows.push_back(ApiCallRow(c));
  }
  return rows;
}

ApiCall CallOf(const RequestContext& ctx, std::string event_source, std::string_view operation,
               const boost::json::object* request, const boost::json::object* response,
               const Status& outcome, const AuthorizationLog& log) {
  ApiCall c;
  c.event_source = std::move(event_source);
  c.event_name = std::string(operation);
  c.region = ctx.scope.region;
  c.time_ms = ctx.now;
  c.principal = ctx.principal;
  c.source_ip = ctx.source_ip;
  c.request_id = ctx.request_id;
  c.event_id = NewTimeOrderedUuid(c.time_ms);
  c.recipient_account = ctx.scope.account;
  c.request = request;
  c.response = response;
  c.outcome = outcome;
  c.resources = CallResources(log);
  return c;
}

std::vector<RecordResource> CallResources(const AuthorizationLog& log) {
  std::vector<RecordResource> out;
  for (const auto& arn : log.resources()) {
    std::string type = ResourceTypeOf(arn);
    if (!type.empty()) out.push_back({std::move(type), arn});
  }
  return out;
}

AuditRow ServiceEventRow(const ServiceEvent& e) {
  AuditRow row;
  row.time_ms = e.time_ms;
  row.account = e.account;
  row.region = e.region;
  row.event_id = e.event_id;
  row.event_name = e.event_name;
  row.event_source = e.event_source;
  row.username = e.event_source;
  row.read_only = false;
  if (e.event_source == "secretsmanager.amazonaws.com") {
    if (e.event_name == "RotationSucceeded")
      row.signals = SignalBit(AuditSignal::kRotationSucceeded);
    if (e.event_name == "RotationFailed" || e.event_name == "RotationAbandoned") {
      row.signals = SignalBit(AuditSignal::kRotationFailed);
    }
  }
  row.record = boost::json::serialize(ServiceEventRecord(e));
  return row;
}

}  // namespace coffer::audit
