#include "services/secrets/version_stages.h"

#include <algorithm>

namespace coffer::secrets {

std::vector<StageChange> StagesForNewVersion(const StageMap& current,
                                             const std::string& new_version_id,
                                             const std::vector<std::string>& requested) {
  std::vector<std::string> stages = requested;
  if (stages.empty() || current.find(kCurrent) == current.end()) {
    // Default, and first version: it becomes the current one.
    if (std::find(stages.begin(), stages.end(), kCurrent) == stages.end()) {
      stages.push_back(kCurrent);
    }
  }
  std::vector<StageChange> changes;
  bool moves_current = std::find(stages.begin(), stages.end(), kCurrent) != stages.end();
  if (moves_current) {
    auto it = current.find(kCurrent);
    if (it != current.end() && it->second != new_version_id) {
      changes.push_back({kPrevious, it->second});
      // A version promoted from AWSPENDING to AWSCURRENT still holds AWSPENDING; when a new
      // value replaces it, AWS leaves it AWSPREVIOUS only.
      auto pending = current.find(kPending);
      if (pending != current.end() && pending->second == it->second &&
          std::find(stages.begin(), stages.end(), kPending) == stages.end()) {
        changes.push_back({kPending, std::nullopt});
      }
    }
  }
  for (const auto& s : stages) {
    if (s == kPrevious && moves_current) continue;  // AWSPREVIOUS is assigned above
    changes.push_back({s, new_version_id});
  }
  return changes;
}

Result<std::vector<StageChange>> MoveStage(const StageMap& current,
                                           const std::set<std::string>& versions,
                                           const std::string& stage,
                                           const std::optional<std::string>& move_to,
                                           const std::optional<std::string>& remove_from) {
  if (move_to && !versions.count(*move_to)) {
    return Status(ErrorCode::kInvalidParameterException, "Not a valid version: " + *move_to);
  }
  if (remove_from && !versions.count(*remove_from)) {
    return Status(ErrorCode::kInvalidParameterException, "Not a valid version: " + *remove_from);
  }
  auto holder = current.find(stage);
  std::optional<std::string> held_by;
  if (holder != current.end()) held_by = holder->second;

  if (remove_from && held_by != remove_from) {
    return Status(ErrorCode::kInvalidParameterException,
                  "Version stage " + stage + " not found in version " + *remove_from);
  }
  if (move_to && held_by && *held_by != *move_to && !remove_from) {
    return Status(ErrorCode::kInvalidParameterException,
                  "The parameter RemoveFromVersionId can't be empty. Staging label " + stage +
                      " is currently attached to version " + *held_by +
                      ", so you must explicitly reference that version in RemoveFromVersionId.");
  }
  if (!move_to && !remove_from) {
    return Status(ErrorCode::kInvalidParameterException,
                  "You must specify either MoveToVersionId or RemoveFromVersionId.");
  }

  if (move_to && held_by != move_to) {
    size_t labels_on_target = 0;
    for (const auto& [s, v] : current) labels_on_target += (v == *move_to);
    if (labels_on_target >= kMaxStagesPerVersion) {
      return Status(ErrorCode::kLimitExceededException, "A version can have at most " +
                                                            std::to_string(kMaxStagesPerVersion) +
                                                            " staging labels.");
    }
  }

  std::vector<StageChange> changes;
  if (stage == kCurrent) {
    // AWSCURRENT can move but not disappear: a secret always has a current version once it has
    // any value.
    if (!move_to) {
      return Status(ErrorCode::kInvalidParameterException,
                    "You can only move staging label AWSCURRENT to a different secret version. "
                    "It can't be completely removed.");
    }
    if (held_by && *held_by != *move_to) {
      changes.push_back({kPrevious, *held_by});  // also takes AWSPREVIOUS off move_to
    } else if (!held_by) {
      auto prev = current.find(kPrevious);
      if (prev != current.end() && prev->second == *move_to) {
        changes.push_back({kPrevious, std::nullopt});
      }
    }
    changes.push_back({kCurrent, *move_to});
    return changes;
  }
  changes.push_back({stage, move_to});
  return changes;
}

StageMap Apply(StageMap current, const std::vector<StageChange>& changes) {
  for (const auto& c : changes) {
    if (c.version_id) {
      current[c.stage] = *c.version_id;
    } else {
      current.erase(c.stage);
    }
  }
  return current;
}

}  // namespace coffer::secrets
