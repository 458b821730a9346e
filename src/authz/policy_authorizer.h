// PolicyAuthorizer: answers every AuthzCheck with AWS's policy evaluation.
//
// For each request it gathers the caller's identity-based policies (IAM user: inline and
// attached, plus its groups'; role session: the role's, plus the session policies given to
// AssumeRole), the resource's policy (from the check), builds the request context (global keys
// from the principal and the connection, service keys from the check) and runs
// policy::Authorize. Policies are compiled once: identities are cached until the next IAM
// identity write by any node (Store::WriteIdentity, keyed by Store::IdentityWrites), resource
// policies by their text. The account root is allowed
// everything its account owns that no policy denies, as in AWS.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/request_context.h"
#include "policy/policy.h"
#include "store/store.h"

namespace coffer {

class PolicyAuthorizer final : public Authorizer {
 public:
  explicit PolicyAuthorizer(Store* store) : store_(store) {}

  Status Authorize(const RequestContext& ctx, const AuthzCheck& check) const override;

  // Called for every denial (from the request's thread), e.g. to count and audit it.
  using DenialObserver =
      std::function<void(const RequestContext&, const AuthzCheck&, const std::string& message)>;
  void SetDenialObserver(DenialObserver observer) { on_denial_ = std::move(observer); }

  // A policy compiled from its text, cached (bounded). Errors: MalformedPolicyDocument.
  Result<std::shared_ptr<const policy::Policy>> Compile(const std::string& text,
                                                        policy::PolicyKind kind) const;

 private:
  struct Identity {
    std::vector<std::shared_ptr<const policy::Policy>> policies;
    std::vector<std::shared_ptr<const policy::Policy>> session;
    bool has_session_policies = false;
    Tags principal_tags;
  };
  Result<std::shared_ptr<const Identity>> LoadIdentity(const Principal& p) const;
  Status AddManaged(StoreReader& r, const std::string& account, IamEntityKind kind,
                    const std::string& owner, Identity* out) const;

  Store* store_;
  DenialObserver on_denial_;
  mutable std::shared_mutex mu_;
  struct CachedIdentity {
    uint64_t identity_writes = 0;  // the store's count when read
    std::shared_ptr<const Identity> identity;
  };
  mutable std::unordered_map<std::string, CachedIdentity> identities_;
  mutable std::unordered_map<std::string, std::shared_ptr<const policy::Policy>> compiled_;
};

}  // namespace coffer
