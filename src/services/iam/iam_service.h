// The IAM service (AWS query protocol): users, access keys, roles, groups, inline and customer
// managed policies with their versions and attachments, tags, and the policy simulator, as the
// AWS IAM API defines them. https://docs.aws.amazon.com/IAM/latest/APIReference/
//
// IAM is global: every entity belongs to the caller's account and the request's region is
// ignored. Policy documents are validated with the policy engine (policy/policy.h) before they
// are stored, and come back URL-encoded in responses, as AWS sends them.
//
// What coffer does not serve: login profiles, MFA, SSH keys, signing and server certificates,
// instance profiles, OIDC/SAML providers, permissions boundaries, renaming entities
// (UpdateUser/UpdateGroup) and tags on managed policies. Requests that would need them fail
// rather than being half applied.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/request_context.h"
#include "core/status.h"
#include "keyring/keyring.h"
#include "store/store.h"

namespace coffer::iam {

// Describes users, roles and groups to the operations they share (inline policies,
// attachments, tags, listing); defined in iam_common.h.
struct EntityKind;

class IamService {
 public:
  // Every committed write is a Store::WriteIdentity: the caches of identities (credentials,
  // compiled identity policies) miss from then on, on every node. The pointers must outlive the
  // service.
  IamService(Store* store, Keyring* keyring, const Clock* clock);

  // Serves one action. `params` is the decoded form of the query request ("Action" and
  // "Version" included and ignored); lists arrive as "Tags.member.1.Key", "TagKeys.member.1".
  // Returns the <ActionResult> element ("<CreateUserResult>...</CreateUserResult>"), or "" for
  // actions whose AWS response has none (DeleteUser, PutUserPolicy, ...). Every action asks
  // ctx.Authorize() once its input is valid and before it acts.
  // Errors (query protocol codes): ValidationError, InvalidInput, NoSuchEntity,
  // EntityAlreadyExists, DeleteConflict, LimitExceeded, MalformedPolicyDocument, InvalidAction
  // for an action coffer does not serve, or whatever the authorizer and the store return.
  // Thread-safe. Messages never contain a secret access key.
  Result<std::string> Handle(std::string_view action, const RequestContext& ctx,
                             const std::map<std::string, std::string>& params);

 private:
  using Params = std::map<std::string, std::string>;

  // Users.
  Result<std::string> CreateUser(const RequestContext& ctx, const Params& p);
  Result<std::string> GetUser(const RequestContext& ctx, const Params& p);
  Result<std::string> DeleteUser(const RequestContext& ctx, const Params& p);
  // Access keys.
  Result<std::string> CreateAccessKey(const RequestContext& ctx, const Params& p);
  Result<std::string> ListAccessKeys(const RequestContext& ctx, const Params& p);
  Result<std::string> UpdateAccessKey(const RequestContext& ctx, const Params& p);
  Result<std::string> DeleteAccessKey(const RequestContext& ctx, const Params& p);
  // Roles.
  Result<std::string> CreateRole(const RequestContext& ctx, const Params& p);
  Result<std::string> GetRole(const RequestContext& ctx, const Params& p);
  Result<std::string> DeleteRole(const RequestContext& ctx, const Params& p);
  Result<std::string> UpdateAssumeRolePolicy(const RequestContext& ctx, const Params& p);
  Result<std::string> UpdateRole(const RequestContext& ctx, const Params& p);
  // Groups.
  Result<std::string> CreateGroup(const RequestContext& ctx, const Params& p);
  Result<std::string> GetGroup(const RequestContext& ctx, const Params& p);
  Result<std::string> DeleteGroup(const RequestContext& ctx, const Params& p);
  Result<std::string> AddUserToGroup(const RequestContext& ctx, const Params& p);
  Result<std::string> RemoveUserFromGroup(const RequestContext& ctx, const Params& p);
  Result<std::string> ListGroupsForUser(const RequestContext& ctx, const Params& p);
  // Shared by users, roles and groups.
  Result<std::string> ListEntities(const RequestContext& ctx, const Params& p,
                                   const EntityKind& kind);
  Result<std::string> TagEntity(const RequestContext& ctx, const Params& p, const EntityKind& kind);
  Result<std::string> UntagEntity(const RequestContext& ctx, const Params& p,
                                  const EntityKind& kind);
  Result<std::string> ListEntityTags(const RequestContext& ctx, const Params& p,
                                     const EntityKind& kind);
  Result<std::string> PutInlinePolicy(const RequestContext& ctx, const Params& p,
                                      const EntityKind& kind);
  Result<std::string> GetInlinePolicy(const RequestContext& ctx, const Params& p,
                                      const EntityKind& kind);
  Result<std::string> DeleteInlinePolicy(const RequestContext& ctx, const Params& p,
                                         const EntityKind& kind);
  Result<std::string> ListInlinePolicies(const RequestContext& ctx, const Params& p,
                                         const EntityKind& kind);
  Result<std::string> AttachPolicy(const RequestContext& ctx, const Params& p,
                                   const EntityKind& kind);
  Result<std::string> DetachPolicy(const RequestContext& ctx, const Params& p,
                                   const EntityKind& kind);
  Result<std::string> ListAttachedPolicies(const RequestContext& ctx, const Params& p,
                                           const EntityKind& kind);
  // Customer managed policies.
  Result<std::string> CreatePolicy(const RequestContext& ctx, const Params& p);
  Result<std::string> GetPolicy(const RequestContext& ctx, const Params& p);
  Result<std::string> DeletePolicy(const RequestContext& ctx, const Params& p);
  Result<std::string> ListPolicies(const RequestContext& ctx, const Params& p);
  Result<std::string> CreatePolicyVersion(const RequestContext& ctx, const Params& p);
  Result<std::string> GetPolicyVersion(const RequestContext& ctx, const Params& p);
  Result<std::string> ListPolicyVersions(const RequestContext& ctx, const Params& p);
  Result<std::string> DeletePolicyVersion(const RequestContext& ctx, const Params& p);
  Result<std::string> SetDefaultPolicyVersion(const RequestContext& ctx, const Params& p);
  // The policy simulator.
  Result<std::string> SimulateCustomPolicy(const RequestContext& ctx, const Params& p);
  Result<std::string> SimulatePrincipalPolicy(const RequestContext& ctx, const Params& p);

  // Reads the entity, asks the authorizer about `action` on its ARN (or, when it does not
  // exist, the ARN it would have at path "/"), then fails with NoSuchEntity if it is absent:
  // AWS answers AccessDenied before it reveals whether an entity exists.
  // `context` adds condition keys (request tags, iam:PolicyARN) to the entity's resource tags.
  Result<IamEntityRow> AuthorizedEntity(
      const RequestContext& ctx, const std::string& action, const EntityKind& kind,
      const std::string& name, const std::map<std::string, std::vector<std::string>>& context = {});
  // The user whose access keys an action names: `user_name`, else the caller. For the account
  // root (no UserName, root credentials) a row with an empty name, the account as id and the
  // root ARN. Errors: ValidationError for a caller that is neither a user nor the root.
  Result<IamEntityRow> AuthorizedKeyOwner(const RequestContext& ctx, const std::string& action,
                                          const std::optional<std::string>& user_name);
  // Reads a customer managed policy of the caller's account by ARN, with the same order of
  // authorization and NoSuchEntity as AuthorizedEntity.
  Result<IamPolicyRow> AuthorizedPolicy(const RequestContext& ctx, const std::string& action,
                                        const std::string& arn);
  // Runs a write transaction and, once it committed, tells the authorizer.
  Status Commit(const std::function<Status(StoreWriter&)>& fn);
  // AuthorizedEntity, then one committed write in which `change` gets the entity as it is now
  // and makes its own writes: the sequence of every operation that changes one user, role or
  // group. NoSuchEntity when it went in between; ConcurrentModification (409: retry the request)
  // when it was recreated or retagged since it was authorized.
  Status ChangeEntity(const RequestContext& ctx, const std::string& action, const EntityKind& kind,
                      const std::string& name,
                      const std::map<std::string, std::vector<std::string>>& context,
                      const std::function<Status(StoreWriter&, IamEntityRow&)>& change);

  Store* store_;
  Keyring* keyring_;
  const Clock* clock_;
};

}  // namespace coffer::iam
