// IAM's tables: users, roles and groups (one table: they share names, ids, paths and tags),
// inline policies, customer managed policies with their versions, attachments and group
// membership. Names match case-insensitively, as in IAM. Error contract: store/deployment.h.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/enum_names.h"
#include "core/status.h"
#include "core/tags.h"

namespace coffer {

// The kinds of IAM identity coffer keeps in one table (stored as "user", "role", "group").
enum class IamEntityKind { kUser, kRole, kGroup };
inline constexpr EnumName<IamEntityKind> kIamEntityKindNames[] = {{IamEntityKind::kUser, "user"},
                                                                  {IamEntityKind::kRole, "role"},
                                                                  {IamEntityKind::kGroup, "group"}};
inline std::string_view IamEntityKindName(IamEntityKind k) {
  return NameOf(kIamEntityKindNames, k);
}

// An IAM user, role or group.
struct IamEntityRow {
  IamEntityKind kind = IamEntityKind::kUser;
  std::string account;
  std::string name;  // unique per account and kind, case-insensitively
  std::string id;    // AIDA... / AROA... / AGPA...
  std::string arn;
  std::string path = "/";
  std::string description;
  std::string trust_policy;            // roles: AssumeRolePolicyDocument
  int64_t max_session_seconds = 3600;  // roles
  EpochMillis created_ms = 0;
  Tags tags;
};

// A customer managed policy.
struct IamPolicyRow {
  std::string arn;
  std::string account;
  std::string name;
  std::string id;  // ANPA...
  std::string path = "/";
  std::string description;
  int64_t default_version = 1;
  int64_t next_version = 2;
  EpochMillis created_ms = 0;
  EpochMillis updated_ms = 0;
};

struct IamPolicyVersionRow {
  std::string policy_arn;
  int64_t version = 0;  // "v<version>" on the wire
  std::string document;
  EpochMillis created_ms = 0;
};

class IamReader {
 public:
  virtual ~IamReader() = default;

  virtual Result<std::optional<IamEntityRow>> FindEntity(const std::string& account,
                                                         IamEntityKind kind,
                                                         const std::string& name) = 0;
  // Ordered by name (case-folded), strictly after `after`; `path_prefix` filters.
  virtual Result<std::vector<IamEntityRow>> ListEntities(const std::string& account,
                                                         IamEntityKind kind,
                                                         const std::string& path_prefix,
                                                         const std::string& after, int limit) = 0;
  virtual Result<std::optional<std::string>> GetInlinePolicy(const std::string& account,
                                                             IamEntityKind kind,
                                                             const std::string& owner,
                                                             const std::string& policy_name) = 0;
  // (name, document) pairs ordered by name.
  virtual Result<std::vector<std::pair<std::string, std::string>>> ListInlinePolicies(
      const std::string& account, IamEntityKind kind, const std::string& owner) = 0;
  virtual Result<std::optional<IamPolicyRow>> FindManagedPolicy(const std::string& arn) = 0;
  virtual Result<std::vector<IamPolicyRow>> ListManagedPolicies(const std::string& account,
                                                                const std::string& path_prefix,
                                                                const std::string& after,
                                                                int limit) = 0;
  virtual Result<std::optional<IamPolicyVersionRow>> GetPolicyVersion(const std::string& arn,
                                                                      int64_t version) = 0;
  virtual Result<std::vector<IamPolicyVersionRow>> ListPolicyVersions(const std::string& arn) = 0;
  virtual Result<std::vector<std::string>> ListAttachedPolicies(const std::string& account,
                                                                IamEntityKind kind,
                                                                const std::string& owner) = 0;
  virtual Result<int64_t> CountPolicyAttachments(const std::string& arn) = 0;
  virtual Result<std::vector<std::string>> ListGroupsForUser(const std::string& account,
                                                             const std::string& user) = 0;
  virtual Result<std::vector<std::string>> ListGroupMembers(const std::string& account,
                                                            const std::string& group) = 0;
};

class IamWriter : public IamReader {
 public:
  virtual Status InsertEntity(const IamEntityRow& row) = 0;
  // Updates path-independent attributes: description, trust policy, max session, tags.
  virtual Status UpdateEntity(const IamEntityRow& row) = 0;
  // Removes the entity with its inline policies, attachments and group memberships.
  virtual Status DeleteEntity(const std::string& account, IamEntityKind kind,
                              const std::string& name) = 0;
  // Creates the inline policy or replaces its document.
  virtual Status PutInlinePolicy(const std::string& account, IamEntityKind kind,
                                 const std::string& owner, const std::string& policy_name,
                                 const std::string& document) = 0;
  virtual Status DeleteInlinePolicy(const std::string& account, IamEntityKind kind,
                                    const std::string& owner, const std::string& policy_name) = 0;
  virtual Status InsertManagedPolicy(const IamPolicyRow& row) = 0;
  virtual Status UpdateManagedPolicy(const IamPolicyRow& row) = 0;
  // Removes the policy with its versions.
  virtual Status DeleteManagedPolicy(const std::string& arn) = 0;
  virtual Status InsertPolicyVersion(const IamPolicyVersionRow& row) = 0;
  virtual Status DeletePolicyVersion(const std::string& arn, int64_t version) = 0;
  // Attaching an attached policy again, or adding a member twice, changes nothing.
  virtual Status AttachPolicy(const std::string& account, IamEntityKind kind,
                              const std::string& owner, const std::string& policy_arn) = 0;
  virtual Status DetachPolicy(const std::string& account, IamEntityKind kind,
                              const std::string& owner, const std::string& policy_arn) = 0;
  virtual Status AddUserToGroup(const std::string& account, const std::string& group,
                                const std::string& user) = 0;
  virtual Status RemoveUserFromGroup(const std::string& account, const std::string& group,
                                     const std::string& user) = 0;
};

}  // namespace coffer
