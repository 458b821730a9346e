// The staging-label state machine of a secret, as a pure function of the current assignment.
//
// A staging label is attached to at most one version of a secret. AWSCURRENT marks the value
// clients read by default; when it moves, the version it left receives AWSPREVIOUS.
// https://docs.aws.amazon.com/secretsmanager/latest/userguide/whats-in-a-secret.html#term_version
// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_UpdateSecretVersionStage.html
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"

namespace coffer::secrets {

inline constexpr char kCurrent[] = "AWSCURRENT";
inline constexpr char kPrevious[] = "AWSPREVIOUS";
inline constexpr char kPending[] = "AWSPENDING";
// https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html
inline constexpr size_t kMaxStagesPerVersion = 20;

// stage -> version id
using StageMap = std::map<std::string, std::string>;

// Result of a transition: the assignment to persist.
struct StageChange {
  std::string stage;
  std::optional<std::string> version_id;  // nullopt: the stage is removed from the secret
};

// Stages for a version created by CreateSecret/PutSecretValue/UpdateSecret. `requested` empty
// means AWSCURRENT. The first version of a secret always gets AWSCURRENT.
std::vector<StageChange> StagesForNewVersion(const StageMap& current,
                                             const std::string& new_version_id,
                                             const std::vector<std::string>& requested);

// UpdateSecretVersionStage. Errors (InvalidParameterException) when a version does not exist,
// when RemoveFromVersionId doesn't hold the stage, or when the stage is attached elsewhere and
// RemoveFromVersionId doesn't name that holder.
Result<std::vector<StageChange>> MoveStage(const StageMap& current,
                                           const std::set<std::string>& versions,
                                           const std::string& stage,
                                           const std::optional<std::string>& move_to,
                                           const std::optional<std::string>& remove_from);

// Applies changes to a map (used by callers and tests to see the resulting assignment).
StageMap Apply(StageMap current, const std::vector<StageChange>& changes);

}  // namespace coffer::secrets
