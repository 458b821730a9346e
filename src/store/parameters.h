// Parameter Store's tables: parameters (their latest version's attributes), every version with
// its sealed value, labels, tags, and the policy notifications already sent. Listing calls return
// rows ordered by name_key, strictly after `after` (a name_key; empty = from the start), at most
// `limit` rows: index range scans, so a page costs O(limit + log n). Error contract:
// store/deployment.h.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/enum_names.h"
#include "core/scope.h"
#include "core/status.h"
#include "core/tags.h"

namespace coffer {

// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_Parameter.html
enum class ParameterType { kString, kStringList, kSecureString };
inline constexpr EnumName<ParameterType> kParameterTypeNames[] = {
    {ParameterType::kString, "String"},
    {ParameterType::kStringList, "StringList"},
    {ParameterType::kSecureString, "SecureString"}};
inline std::string_view ParameterTypeName(ParameterType t) {
  return NameOf(kParameterTypeNames, t);
}

// The tier a parameter is stored in (a request may also ask for Intelligent-Tiering, which picks
// one of these).
enum class ParameterTier { kStandard, kAdvanced };
inline constexpr EnumName<ParameterTier> kParameterTierNames[] = {
    {ParameterTier::kStandard, "Standard"}, {ParameterTier::kAdvanced, "Advanced"}};
inline std::string_view ParameterTierName(ParameterTier t) {
  return NameOf(kParameterTierNames, t);
}

// A parameter's current state (its latest version's attributes).
struct ParameterRow {
  int64_t id = 0;
  std::string account;
  std::string region;
  std::string name;      // as created ("/a/b", "foo" or "/foo")
  std::string name_key;  // identity: a one-level name without its leading '/'
  std::string parent;    // the path one level up ("/a" for "/a/b"; "/" for top-level names)
  ParameterType type = ParameterType::kString;
  ParameterTier tier = ParameterTier::kStandard;
  std::string data_type;
  std::optional<std::string> key_id;  // SecureString: the KMS key as named by the caller
  std::optional<std::string> description;
  std::optional<std::string> allowed_pattern;
  std::optional<std::string> policies;  // JSON array text, as given
  int64_t version = 0;
  EpochMillis last_modified_ms = 0;
  std::string last_modified_user;
  std::optional<EpochMillis> expires_at_ms;  // from an Expiration policy
};

struct ParameterVersionRow {
  int64_t version = 0;
  ParameterType type = ParameterType::kString;
  ParameterTier tier = ParameterTier::kStandard;
  std::string data_type;
  std::optional<std::string> key_id;
  std::optional<std::string> description;
  std::optional<std::string> allowed_pattern;
  std::optional<std::string> policies;
  EpochMillis last_modified_ms = 0;
  std::string last_modified_user;
  std::string sealed_value;  // see ParamsService: root-sealed (String) or KMS envelope
  std::vector<std::string> labels;
};

class ParametersReader {
 public:
  virtual ~ParametersReader() = default;

  virtual Result<std::optional<ParameterRow>> Find(const Scope& scope,
                                                   const std::string& name_key) = 0;
  virtual Result<std::vector<ParameterRow>> ListByParent(const Scope& scope,
                                                         const std::string& parent,
                                                         const std::string& after, int limit) = 0;
  // name_key >= prefix and starting with it (empty prefix: every parameter of the scope).
  virtual Result<std::vector<ParameterRow>> ListByPrefix(const Scope& scope,
                                                         const std::string& prefix,
                                                         const std::string& after, int limit) = 0;
  virtual Result<int64_t> Count(const Scope& scope, ParameterTier tier) = 0;
  virtual Result<std::optional<ParameterVersionRow>> GetVersion(int64_t parameter_id,
                                                                int64_t version) = 0;
  // Oldest first, with values and labels.
  virtual Result<std::vector<ParameterVersionRow>> ListVersions(int64_t parameter_id) = 0;
  virtual Result<std::optional<int64_t>> VersionForLabel(int64_t parameter_id,
                                                         const std::string& label) = 0;
  virtual Result<Tags> GetTags(int64_t parameter_id) = 0;
  // Every scope: parameters whose Expiration is at or before `now`.
  virtual Result<std::vector<ParameterRow>> ListExpired(EpochMillis now) = 0;
  // Every scope: parameters that carry policies (for the notification job).
  virtual Result<std::vector<ParameterRow>> ListWithPolicies() = 0;
  virtual Result<bool> NotificationSent(int64_t parameter_id, int64_t version,
                                        const std::string& policy_type) = 0;
};

class ParametersWriter : public ParametersReader {
 public:
  // Assigns row->id.
  virtual Status Insert(ParameterRow* row) = 0;
  virtual Status Update(const ParameterRow& row) = 0;
  // Removes the parameter with its versions, labels and tags.
  virtual Status Delete(int64_t parameter_id) = 0;
  virtual Status InsertVersion(int64_t parameter_id, const ParameterVersionRow& row) = 0;
  virtual Status DeleteVersion(int64_t parameter_id, int64_t version) = 0;
  // A label names at most one version of a parameter: setting it moves it.
  virtual Status SetLabel(int64_t parameter_id, const std::string& label, int64_t version) = 0;
  virtual Status RemoveLabel(int64_t parameter_id, const std::string& label) = 0;
  virtual Status SetTags(int64_t parameter_id, const Tags& tags) = 0;
  virtual Status MarkNotificationSent(int64_t parameter_id, int64_t version,
                                      const std::string& policy_type) = 0;
};

}  // namespace coffer
