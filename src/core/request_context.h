// RequestContext: what every service handler knows about the call it serves.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/ascii.h"
#include "core/clock.h"
#include "core/principal.h"
#include "core/scope.h"
#include "core/status.h"
#include "core/tags.h"

namespace coffer {

struct RequestContext;

// Condition keys of one request, by lowercase name.
using ConditionKeys = std::map<std::string, std::vector<std::string>>;

// aws:RequestTag/<key> for each tag and aws:TagKeys: the keys of a request that sets tags.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
inline void AddRequestTagKeys(const Tags& tags, ConditionKeys* keys) {
  if (tags.empty()) return;
  std::vector<std::string> names;
  for (const auto& [k, v] : tags) {
    (*keys)["aws:requesttag/" + AsciiLower(k)] = {v};
    names.push_back(k);
  }
  (*keys)["aws:tagkeys"] = std::move(names);
}

// aws:ResourceTag/<key> for each tag of the resource acted on, and the service's own
// <service>:ResourceTag/<key> too when `service` is not empty.
inline void AddResourceTagKeys(const Tags& tags, std::string_view service, ConditionKeys* keys) {
  for (const auto& [k, v] : tags) {
    (*keys)["aws:resourcetag/" + AsciiLower(k)] = {v};
    if (!service.empty()) (*keys)[std::string(service) + ":resourcetag/" + AsciiLower(k)] = {v};
  }
}

// One authorization question: may the caller perform `action` on `resource`?
struct AuthzCheck {
  std::string action;            // "service:Operation", e.g. "secretsmanager:GetSecretValue"
  std::string resource;          // the resource ARN, or "*" for actions without one
  std::string resource_account;  // the resource owner; empty = the caller's account
  // The resource's own policy as stored (secret resource policy, KMS key policy, role trust
  // policy); null or empty = none.
  const std::string* resource_policy = nullptr;
  bool key_policy = false;    // `resource_policy` is a KMS key policy (authoritative for the key)
  bool trust_policy = false;  // `resource_policy` is a role's trust policy
  // Service condition keys (lowercase names), e.g. "secretsmanager:versionstage",
  // "aws:resourcetag/team", "aws:requesttag/team", "aws:tagkeys", "kms:encryptioncontext:x".
  ConditionKeys context;
  // The resource as the request named it (a SecretId as given), which a denial message names
  // instead of `resource`, as AWS's do: resolving a name to its ARN must not tell a caller who
  // may not see the secret its full ARN. Empty: `resource`.
  std::string named_as;
};

class Authorizer {
 public:
  virtual ~Authorizer() = default;
  // OK, or AccessDeniedException (AccessDenied for query protocols) with AWS's message.
  virtual Status Authorize(const RequestContext& ctx, const AuthzCheck& check) const = 0;
};

// Allows every check. For a service's unit tests, which test the service's own rules and not
// policies, and for coffer's own calls (SystemContext); a server's requests are always decided
// by the policy authorizer.
class AllowAllAuthorizer final : public Authorizer {
 public:
  Status Authorize(const RequestContext&, const AuthzCheck&) const override { return Status::Ok(); }
};

// What one request asked the authorizer. The dispatcher owns one per request and refuses a
// successful response from an operation that asked nothing, so no operation can skip
// authorization unnoticed. One request's thread only.
class AuthorizationLog {
 public:
  // A check on `resource`: the audit record names the resources a call was checked on.
  void Asked(const std::string& resource, bool allowed) {
    ++asked_;
    if (resource.empty() || resource == "*") return;
    AddOnce(resources_, resource);
    if (allowed) AddOnce(allowed_resources_, resource);
  }
  const std::vector<std::string>& resources() const { return resources_; }
  // Those of them the caller was allowed to act on (a batch call may be refused some and still
  // succeed): only these are another account's business in its own trail.
  const std::vector<std::string>& allowed_resources() const { return allowed_resources_; }
  // The operation is one AWS serves to every correctly signed caller (GetCallerIdentity,
  // GetSessionToken): answering it without a check is by design, not an omission.
  void NeedsNoPermission() { no_permission_needed_ = true; }

  // True when the operation asked at least once or declared it needs no permission.
  bool answered() const { return asked_ > 0 || no_permission_needed_; }
  int asked() const { return asked_; }

  // A call a service made for the caller while serving it (Secrets Manager and Parameter Store
  // using a KMS key): CloudTrail records it beside the caller's call, as the caller's, with
  // invokedBy the service.
  // https://docs.aws.amazon.com/kms/latest/developerguide/ct-decrypt.html
  struct CallOnBehalf {
    std::string event_source;  // "kms.amazonaws.com"
    std::string event_name;    // "Decrypt"
    std::string invoked_by;    // "secretsmanager.amazonaws.com"
    std::string key_arn;
    std::vector<std::pair<std::string, std::string>> encryption_context;
  };
  void MadeOnBehalf(CallOnBehalf call) {
    if (on_behalf_.size() < kMaxOnBehalf) on_behalf_.push_back(std::move(call));
  }
  const std::vector<CallOnBehalf>& on_behalf() const { return on_behalf_; }

 private:
  static constexpr size_t kMaxResources = 8;
  static void AddOnce(std::vector<std::string>& list, const std::string& resource) {
    if (list.size() >= kMaxResources) return;
    for (const auto& r : list) {
      if (r == resource) return;
    }
    list.push_back(resource);
  }
  std::vector<std::string> allowed_resources_;
  // BatchGetSecretValue opens at most 20 values.
  static constexpr size_t kMaxOnBehalf = 32;
  std::vector<CallOnBehalf> on_behalf_;
  int asked_ = 0;
  bool no_permission_needed_ = false;
  std::vector<std::string> resources_;
};

struct RequestContext {
  Principal principal;
  Scope scope;                    // account of the principal, region of the SigV4 credential scope
  std::string request_id;         // x-amzn-RequestId
  EpochMillis now = 0;            // one timestamp for the whole request
  std::string source_ip;          // the peer address (aws:SourceIp)
  bool secure_transport = false;  // TLS (aws:SecureTransport)
  // Decides every check. Null refuses every check (fail closed): there is no implicit
  // "allow everything" mode.
  const Authorizer* authorizer = nullptr;
  // The request's record of what it asked (the dispatcher's); null for calls no dispatcher
  // serves (unit tests, coffer's own calls).
  AuthorizationLog* authorization = nullptr;

  Status Authorize(const AuthzCheck& check) const {
    Status decided = authorizer != nullptr
                         ? authorizer->Authorize(*this, check)
                         : Status(ErrorCode::kInternalFailure,
                                  "coffer has no authorizer for this request; it was refused.");
    if (authorization != nullptr) authorization->Asked(check.resource, decided.ok());
    return decided;
  }
  void NeedsNoPermission() const {
    if (authorization != nullptr) authorization->NeedsNoPermission();
  }
  void MadeOnBehalf(AuthorizationLog::CallOnBehalf call) const {
    if (authorization != nullptr) authorization->MadeOnBehalf(std::move(call));
  }
};

// coffer acting for itself — a rotation's steps, background jobs — in `scope`: the service
// principal `service` (e.g. "secretsmanager.amazonaws.com"), allowed everything it asks.
inline RequestContext SystemContext(const Scope& scope, EpochMillis now,
                                    const std::string& service) {
  static const AllowAllAuthorizer kSystem;
  RequestContext ctx;
  ctx.principal.type = PrincipalType::kAwsService;
  ctx.principal.account = scope.account;
  ctx.principal.arn = service;
  ctx.principal.user_id = service;
  ctx.scope = scope;
  ctx.now = now;
  ctx.authorizer = &kSystem;
  return ctx;
}

}  // namespace coffer
