// RequestContext: what every service handler knows about the call it serves.
#pragma once

#include <map>
#include <string>
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

struct RequestContext {
  Principal principal;
  Scope scope;                    // account of the principal, region of the SigV4 credential scope
  std::string request_id;         // x-amzn-RequestId
  EpochMillis now = 0;            // one timestamp for the whole request
  std::string source_ip;          // the peer address (aws:SourceIp)
  bool secure_transport = false;  // TLS (aws:SecureTransport)
  const Authorizer* authorizer = nullptr;  // null: every call is allowed (unit tests)
  // Set by Authorize(): the dispatcher refuses a successful response from an operation that
  // never asked, so no operation can skip authorization unnoticed.
  mutable bool authorized = false;

  Status Authorize(const AuthzCheck& check) const {
    authorized = true;
    return authorizer == nullptr ? Status::Ok() : authorizer->Authorize(*this, check);
  }
};

}  // namespace coffer
