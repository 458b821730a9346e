#include "services/sts/sts_service.h"

#include <algorithm>
#include <cctype>

#include "auth/credential_registry.h"
#include "core/arn.h"
#include "core/ids.h"
#include "core/time_format.h"
#include "crypto/crypto.h"
#include "policy/policy.h"
#include "protocol/operation_table.h"
#include "protocol/query_input.h"
#include "protocol/xml.h"

namespace coffer::sts {
namespace {

constexpr int64_t kMinDurationSeconds = 900;
constexpr int64_t kChainedMaxSeconds = 3600;
constexpr int64_t kMaxRoleDurationSeconds = 43200;   // the model's roleDurationSecondsType
constexpr int64_t kMaxSessionTokenSeconds = 129600;  // the model's durationSecondsType
constexpr size_t kMaxSessionPolicyChars = 2048;
constexpr size_t kMaxPolicyArns = 10;

Status ValidationError(const std::string& message) {
  return Status(ErrorCode::kValidationError, "1 validation error detected: " + message);
}

// A duration the model allows but the caller's limit does not (the role's MaxSessionDuration,
// GetSessionToken's hour for the root user).
Result<int64_t> WithinMaxDuration(std::optional<int64_t> requested, int64_t default_s,
                                  int64_t max_s) {
  if (requested && *requested > max_s) {
    return Status(ErrorCode::kValidationError,
                  "The requested DurationSeconds exceeds the MaxSessionDuration set for this "
                  "role.");
  }
  return requested.value_or(default_s);
}

std::string Credentials(const std::string& id, std::string_view secret, const std::string& token,
                        EpochMillis expires_ms) {
  return "<Credentials><AccessKeyId>" + id + "</AccessKeyId><SecretAccessKey>" + XmlEscape(secret) +
         "</SecretAccessKey><SessionToken>" + XmlEscape(token) + "</SessionToken><Expiration>" +
         FormatIso8601(expires_ms) + "</Expiration></Credentials>";
}

}  // namespace

// https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
// Needs no permission and never fails for a correctly signed request.
Result<std::string> StsService::GetCallerIdentity(const RequestContext& ctx, const Params&) {
  ctx.NeedsNoPermission();
  return "<GetCallerIdentityResult><UserId>" + XmlEscape(ctx.principal.user_id) +
         "</UserId><Account>" + XmlEscape(ctx.principal.account) + "</Account><Arn>" +
         XmlEscape(ctx.principal.arn) + "</Arn></GetCallerIdentityResult>";
}

Result<std::string> StsService::Handle(std::string_view action, const RequestContext& ctx,
                                       const Params& params) {
  static const OperationTable<StsService, Params, std::string> kOperations = {
      {"GetCallerIdentity", &StsService::GetCallerIdentity},
      {"AssumeRole", &StsService::AssumeRole},
      {"GetSessionToken", &StsService::GetSessionToken},
  };
  if (auto answer = kOperations.Run(*this, action, ctx, params)) return std::move(*answer);
  return Status(ErrorCode::kInvalidAction, "Could not find operation " + std::string(action) +
                                               " for version 2011-06-15 in coffer's STS.");
}

Result<StsService::IssuedCredentials> StsService::IssueSession(StsSessionRow* row) {
  IssuedCredentials out;
  row->access_key_id = NewIamId("ASIA");
  out.secret_access_key = NewSecretAccessKey();
  SecretBytes token_raw = crypto::RandomSecret(96);
  out.session_token = SecretBytes(crypto::Base64Encode(token_raw.Reveal()));
  row->token_hash = crypto::HexLower(crypto::Sha256(out.session_token.Reveal()));
  COFFER_ASSIGN_OR_RETURN(
      row->wrapped_secret,
      keyring_->WrapWithStorageKey(CredentialRegistry::SecretPurpose(row->access_key_id),
                                   out.secret_access_key.Reveal()));
  COFFER_RETURN_IF_ERROR(
      store_->Write([&](StoreWriter& w) -> Status { return w.credentials().InsertSession(*row); }));
  out.access_key_id = row->access_key_id;
  out.expires_ms = row->expires_ms;
  return out;
}

Result<std::string> StsService::Issue(StsSessionRow* row) {
  COFFER_ASSIGN_OR_RETURN(IssuedCredentials creds, IssueSession(row));
  return Credentials(creds.access_key_id, creds.secret_access_key.Reveal(),
                     std::string(creds.session_token.Reveal()), creds.expires_ms);
}

namespace {

// AssumeRole's request as STS's model constrains it (botocore sts/2011-06-15), with its session
// policies (inline and managed) and session tags put in `row`.
// https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
struct AssumeRoleInput {
  std::string role_arn;
  std::string session_name;
  std::optional<std::string> external_id;
  std::optional<int64_t> duration_seconds;
};

Result<AssumeRoleInput> ReadAssumeRoleInput(const std::map<std::string, std::string>& params,
                                            StsSessionRow* row) {
  QueryInput in(params);
  auto role_arn = in.String("RoleArn", {.required = true, .min_len = 20, .max_len = 2048});
  auto session_name =
      in.String("RoleSessionName",
                {.required = true, .min_len = 2, .max_len = 64, .pattern = Pattern::kName});
  auto external_id = in.String("ExternalId", {.min_len = 2, .max_len = 1224});
  auto policy_text =
      in.String("Policy", {.min_len = 1, .pattern = Pattern::kDocument, .echo = false});
  auto duration = in.Int("DurationSeconds", kMinDurationSeconds, kMaxRoleDurationSeconds);
  auto tags = in.TagList("Tags", /*required=*/false);
  std::vector<std::string> policy_arns;
  for (size_t i = 1;; ++i) {
    auto arn = in.String("PolicyArns.member." + std::to_string(i) + ".arn",
                         {.min_len = 20, .max_len = 2048});
    if (!arn) break;
    policy_arns.push_back(std::move(*arn));
  }
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (policy_arns.size() > kMaxPolicyArns) {
    return ValidationError(
        "Value at 'policyArns' failed to satisfy constraint: Member must "
        "have length less than or equal to 10");
  }
  if (policy_text) {
    if (policy_text->size() > kMaxSessionPolicyChars) {
      return Status(ErrorCode::kPackedPolicyTooLarge,
                    "Packed policy consumes more than 100 percent of the allotted size.");
    }
    auto parsed = policy::Policy::Parse(*policy_text, policy::PolicyKind::kSession);
    if (!parsed.ok()) return Status(ErrorCode::kMalformedPolicyDocument, parsed.status().message());
    row->session_policy = *policy_text;
    row->has_session_policies = true;
  }
  for (const auto& arn : policy_arns) row->session_policy_arns += arn + "\n";
  if (!policy_arns.empty()) row->has_session_policies = true;
  if (tags) {
    for (auto& [key, value] : *tags) PutTag(&row->session_tags, key, value);
  }
  return AssumeRoleInput{std::move(*role_arn), std::move(*session_name), std::move(external_id),
                         duration};
}

}  // namespace

// https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
Result<std::string> StsService::AssumeRole(const RequestContext& ctx,
                                           const std::map<std::string, std::string>& params) {
  StsSessionRow row;
  COFFER_ASSIGN_OR_RETURN(AssumeRoleInput input, ReadAssumeRoleInput(params, &row));
  const std::optional<std::string>& external_id = input.external_id;

  // The root user cannot assume roles.
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use.html
  const Principal& caller = ctx.principal;
  auto arn = ParseArn(input.role_arn);
  std::string role_account, role_name;
  if (arn && arn->service == "iam" && arn->resource.rfind("role/", 0) == 0) {
    role_account = arn->account;
    role_name = arn->resource.substr(arn->resource.rfind('/') + 1);
  }
  std::optional<IamEntityRow> role;
  if (!role_account.empty()) {
    COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
      COFFER_ASSIGN_OR_RETURN(role,
                              r.iam().FindEntity(role_account, IamEntityKind::kRole, role_name));
      return Status::Ok();
    }));
  }
  // An unknown role is indistinguishable from a forbidden one, as in AWS.
  std::string empty_trust;
  AuthzCheck check{"sts:AssumeRole",
                   input.role_arn,
                   role_account.empty() ? caller.account : role_account,
                   role ? &role->trust_policy : &empty_trust,
                   false,
                   true,
                   {}};
  if (external_id) check.context["sts:externalid"] = {*external_id};
  check.context["sts:rolesessionname"] = {input.session_name};
  AddRequestTagKeys(row.session_tags, &check.context);
  Status allowed = ctx.Authorize(check);
  if (caller.type == PrincipalType::kRoot && !caller.temporary) {
    return Status(ErrorCode::kAccessDenied, "Roles may not be assumed by root accounts.");
  }
  if (!allowed.ok()) return allowed;
  if (!role || role->arn != input.role_arn) {
    return Status(ErrorCode::kAccessDenied, "User: " + caller.arn +
                                                " is not authorized to perform: sts:AssumeRole on "
                                                "resource: " +
                                                input.role_arn);
  }

  // Role chaining: a role session assuming a role gets at most one hour.
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html
  const bool chained = caller.type == PrincipalType::kAssumedRole;
  int64_t max_s = chained ? kChainedMaxSeconds : role->max_session_seconds;
  if (chained && input.duration_seconds.value_or(0) > kChainedMaxSeconds) {
    return Status(ErrorCode::kValidationError,
                  "The requested DurationSeconds exceeds the 1 hour session limit for roles "
                  "assumed by role chaining.");
  }
  COFFER_ASSIGN_OR_RETURN(int64_t duration, WithinMaxDuration(input.duration_seconds, 3600, max_s));

  row.account = role_account;
  row.principal_arn =
      "arn:aws:sts::" + role_account + ":assumed-role/" + role->name + "/" + input.session_name;
  row.user_id = role->id + ":" + input.session_name;
  row.principal_type = SessionPrincipal::kAssumedRole;
  row.role_arn = role->arn;
  row.chain_depth = chained ? 1 : 0;
  row.created_ms = ctx.now;
  row.expires_ms = ctx.now + duration * 1000;
  COFFER_ASSIGN_OR_RETURN(std::string credentials, Issue(&row));
  const size_t packed = row.session_policy.size() + row.session_policy_arns.size();
  return "<AssumeRoleResult>" + credentials + "<AssumedRoleUser><AssumedRoleId>" +
         XmlEscape(row.user_id) + "</AssumedRoleId><Arn>" + XmlEscape(row.principal_arn) +
         "</Arn></AssumedRoleUser><PackedPolicySize>" +
         std::to_string(packed * 100 / kMaxSessionPolicyChars) +
         "</PackedPolicySize></AssumeRoleResult>";
}

// https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html
Result<std::string> StsService::GetSessionToken(const RequestContext& ctx,
                                                const std::map<std::string, std::string>& params) {
  const Principal& caller = ctx.principal;
  // GetSessionToken needs no permission; it is refused to temporary credentials.
  ctx.NeedsNoPermission();
  if (caller.temporary) {
    return Status(ErrorCode::kAccessDenied, "Cannot call GetSessionToken with session credentials");
  }
  QueryInput in(params);
  auto requested = in.Int("DurationSeconds", kMinDurationSeconds, kMaxSessionTokenSeconds);
  COFFER_RETURN_IF_ERROR(in.Finish());
  const bool root = caller.type == PrincipalType::kRoot;
  COFFER_ASSIGN_OR_RETURN(int64_t duration,
                          WithinMaxDuration(requested, root ? 3600 : 43200, root ? 3600 : 129600));
  StsSessionRow row;
  row.account = caller.account;
  row.principal_arn = caller.arn;
  row.user_id = caller.user_id;
  row.principal_type = root ? SessionPrincipal::kRoot : SessionPrincipal::kUser;
  row.user_name = caller.user_name;
  row.created_ms = ctx.now;
  row.expires_ms = ctx.now + duration * 1000;
  COFFER_ASSIGN_OR_RETURN(std::string credentials, Issue(&row));
  return "<GetSessionTokenResult>" + credentials + "</GetSessionTokenResult>";
}

Result<IamEntityRow> ServiceMayAssumeRole(StoreReader& r, const std::string& role_arn,
                                          const std::string& account,
                                          std::string_view service_principal, ErrorCode code) {
  auto arn = ParseArn(role_arn);
  if (!arn || arn->service != "iam" || arn->resource.rfind("role/", 0) != 0) {
    return Status(code, "The role defined for the function is not a role ARN: " + role_arn);
  }
  // A function acts as a role of its own account only: naming another account's role would
  // hand that account's permissions to whoever controls the function.
  if (arn->account != account) {
    return Status(code,
                  "The role defined for the function must belong to the function's "
                  "account " +
                      account + ".");
  }
  const std::string name = arn->resource.substr(arn->resource.rfind('/') + 1);
  COFFER_ASSIGN_OR_RETURN(auto role, r.iam().FindEntity(arn->account, IamEntityKind::kRole, name));
  const Status cannot(code, "The role defined for the function cannot be assumed by Lambda.");
  if (!role || role->arn != role_arn) return cannot;
  auto trust = policy::Policy::Parse(role->trust_policy, policy::PolicyKind::kTrust);
  if (!trust.ok()) return cannot;
  policy::RequestFacts facts;
  facts.action = "sts:AssumeRole";
  facts.resource = role->arn;
  facts.service_principal = std::string(service_principal);
  const policy::StatementEffect effect = (*trust)->Evaluate(facts);
  if (!effect.allow || effect.deny) return cannot;
  return std::move(*role);
}

Result<StsService::IssuedCredentials> StsService::IssueRoleSession(
    const std::string& role_arn, const std::string& account, std::string_view service_principal,
    const std::string& session_name, EpochMillis now, int64_t duration_seconds) {
  std::optional<IamEntityRow> role;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(role, ServiceMayAssumeRole(r, role_arn, account, service_principal,
                                                       ErrorCode::kAccessDenied));
    return Status::Ok();
  }));
  StsSessionRow row;
  row.account = role->account;
  row.principal_arn =
      "arn:aws:sts::" + role->account + ":assumed-role/" + role->name + "/" + session_name;
  row.user_id = role->id + ":" + session_name;
  row.principal_type = SessionPrincipal::kAssumedRole;
  row.role_arn = role->arn;
  row.created_ms = now;
  row.expires_ms = now + duration_seconds * 1000;
  return IssueSession(&row);
}

Status StsService::PurgeExpiredSessions(EpochMillis now) {
  return store_->Write([&](StoreWriter& w) -> Status {
    return w.credentials().DeleteExpiredSessions(now - kMillisPerDay);
  });
}

}  // namespace coffer::sts
