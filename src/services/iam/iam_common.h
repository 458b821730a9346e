// What IAM's operations share: the entity kinds, AWS's IAM quotas, input rules, pagination,
// the XML shapes of users, roles, groups and policies, ARNs, IAM's errors and policy document
// checks. Internal to services/iam.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/request_context.h"
#include "core/status.h"
#include "core/tags.h"
#include "policy/policy.h"
#include "protocol/query_input.h"
#include "store/store.h"

namespace coffer::iam {

// Describes users, roles and groups to the operations they share (inline policies,
// attachments, tags, listing).
struct EntityKind {
  IamEntityKind kind;
  const char* title;           // "User": spells action names (iam:PutUserPolicy) and elements
  const char* name_param;      // "UserName"
  size_t max_name;             // longest name the model allows for this kind
  const char* id_prefix;       // unique id prefix (core/ids.h)
  size_t inline_quota;         // aggregate size of the inline policies, non-whitespace chars
  const char* attached_quota;  // the quota AWS names when attachments run out
};

using Context = ConditionKeys;

// Quotas are AWS's defaults.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
inline constexpr EntityKind kUser{IamEntityKind::kUser, "User", "UserName", 64, "AIDA", 2048,
                                  "PoliciesPerUser"};
inline constexpr EntityKind kRole{IamEntityKind::kRole, "Role", "RoleName", 64, "AROA", 10240,
                                  "PoliciesPerRole"};
inline constexpr EntityKind kGroup{IamEntityKind::kGroup, "Group", "GroupName", 128, "AGPA", 5120,
                                   "PoliciesPerGroup"};
inline constexpr size_t kMaxTags = 50;
inline constexpr size_t kMaxAccessKeysPerUser = 2;
inline constexpr size_t kMaxPolicyVersions = 5;
inline constexpr size_t kMaxAttachedPolicies = 10;
inline constexpr size_t kMaxGroupsPerUser = 10;
inline constexpr size_t kManagedPolicyQuota = 6144;
inline constexpr size_t kTrustPolicyQuota = 2048;
inline constexpr size_t kMaxDocument = 131072;
inline constexpr int64_t kDefaultMaxItems = 100;

bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// The request's time (fixed for the whole request), else the clock's.
EpochMillis Now(const RequestContext& ctx, const Clock* clock);

// ---- input rules (botocore data/iam/2010-05-08/service-2.json) ------------------------------

Rule NameRule(size_t max_len, bool required = true);
Rule DocumentRule(bool required = true);
Rule ArnRule(bool required = true);
Status InvalidInput(std::string message);

// ---- pagination -----------------------------------------------------------------------------
// Markers are opaque to clients: base64 of "iam:" and either the last name returned (lists the
// store pages by name) or the offset of the next item (lists built in memory).

struct PageInput {
  std::optional<std::string> marker;
  size_t max_items = kDefaultMaxItems;
};

PageInput ReadPage(QueryInput& in);

std::string EncodeMarker(std::string_view position);

Result<std::string> DecodeMarker(const std::optional<std::string>& marker);

struct PageEnd {
  bool truncated = false;
  std::string marker;
};

std::string PageEndXml(const PageEnd& end);

// Keeps the page of `items` the marker and MaxItems select.
template <typename T>
Result<PageEnd> SliceByOffset(std::vector<T>* items, const PageInput& page) {
  COFFER_ASSIGN_OR_RETURN(std::string position, DecodeMarker(page.marker));
  size_t offset = 0;
  if (!position.empty()) {
    auto [end, ec] = std::from_chars(position.data(), position.data() + position.size(), offset);
    if (ec != std::errc() || end != position.data() + position.size()) {
      return InvalidInput("Invalid Marker.");
    }
  }
  PageEnd out;
  if (offset >= items->size()) {
    items->clear();
    return out;
  }
  items->erase(items->begin(), items->begin() + static_cast<std::ptrdiff_t>(offset));
  if (items->size() > page.max_items) {
    items->erase(items->begin() + static_cast<std::ptrdiff_t>(page.max_items), items->end());
    out.truncated = true;
    out.marker = EncodeMarker(std::to_string(offset + page.max_items));
  }
  return out;
}

// ---- XML ------------------------------------------------------------------------------------

std::string X(std::string_view s);  // escaped text
// Appends <element>escaped text</element>.
void Add(std::string* out, std::string_view element, std::string_view text);
std::string Wrap(std::string_view element, std::string_view inner);
// <ActionResult>inner</ActionResult>
std::string ResultXml(std::string_view action, std::string_view inner);
std::string Date(EpochMillis ms);  // ISO 8601, as IAM writes dates

// IAM returns policy documents URL-encoded (RFC 3986); SDKs decode them.
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRolePolicy.html
std::string EncodedDocument(std::string_view document);

std::string TagsXml(const Tags& tags);
std::string UserXml(const IamEntityRow& u, bool with_tags);
std::string RoleXml(const IamEntityRow& r, bool with_tags);
std::string GroupXml(const IamEntityRow& g);
std::string EntityXml(const EntityKind& kind, const IamEntityRow& row);
std::string VersionId(int64_t version);  // 3 -> "v3"

std::string PolicyXml(const IamPolicyRow& p, int64_t attachments, bool with_description);

// ---- ARNs -----------------------------------------------------------------------------------
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns

std::string RootArn(const std::string& account);

std::string EntityArn(const std::string& account, const EntityKind& kind, const std::string& path,
                      const std::string& name);

std::string ManagedPolicyArn(const std::string& account, const std::string& path,
                             const std::string& name);

struct PolicyArnParts {
  std::string account;
  std::string path;
  std::string name;
};

std::optional<PolicyArnParts> ParsePolicyArn(const std::string& text);

// ---- errors and entities --------------------------------------------------------------------

Status NotValidArn(const std::string& arn);
Status PolicyNotFound(const std::string& arn);
Status NoSuchEntity(const EntityKind& kind, const std::string& name);
Status NoBoundaries();
Status DeleteConflict(const std::string& message);
// The authorization question for `action` on `resource`.
AuthzCheck Check(std::string action, std::string resource);

// aws:ResourceTag/<key> for users and roles, the IAM resources that support it.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/access_iam-tags.html
void AddResourceTagContext(const IamEntityRow& row, ConditionKeys* context);

// IAM tag keys are case-insensitive with their case kept: "department" replaces "Department".
// https://docs.aws.amazon.com/IAM/latest/UserGuide/id_tags.html#case-sensitivity
void PutTagIgnoreCase(Tags* tags, const std::string& key, const std::string& value);

// InvalidInput for reserved ("aws:") or duplicate (case-insensitively) tag keys.
Status CheckRequestTags(const Tags& tags);

// The entity as the transaction sees it; NoSuchEntity when it is gone.
Result<IamEntityRow> FreshEntity(StoreReader& r, const std::string& account, const EntityKind& kind,
                                 const std::string& name);

// EntityAlreadyExists when the name is taken (case-insensitively), else inserts.
Status InsertNewEntity(StoreWriter& w, const EntityKind& kind, const IamEntityRow& row);

// A new entity of the caller's account with a fresh unique id.
IamEntityRow NewEntity(const RequestContext& ctx, const EntityKind& kind, const std::string& name,
                       const std::string& path, EpochMillis now);

// AWS refuses to delete an entity that still has subordinate things; the caller removes them.
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteUser.html
Status CheckNothingAttached(StoreReader& r, const EntityKind& kind, const IamEntityRow& row);

// ---- policy documents -----------------------------------------------------------------------

// IAM counts policy sizes in characters and leaves white space out.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
size_t PolicySize(std::string_view document);

// MalformedPolicyDocument with the policy engine's reason when the document does not parse.
Result<std::shared_ptr<const policy::Policy>> ParseDocument(const std::string& document,
                                                            policy::PolicyKind kind);

// Parses and checks the size quota of a managed policy / a role's trust policy.
Status CheckManagedDocument(const std::string& document);
Status CheckTrustDocument(const std::string& document);

// "v3" -> 3; nullopt for a version id coffer never issues (AWS allows a ".suffix").
std::optional<int64_t> ParseVersionId(const std::string& id);

Status VersionNotFound(const std::string& arn, const std::string& version_id);

// Policy names are unique in an account whatever their path, and case-insensitively.
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreatePolicy.html
Result<bool> PolicyNameTaken(StoreReader& r, const std::string& account, const std::string& name);

}  // namespace coffer::iam
