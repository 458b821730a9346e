// Which tier a parameter is stored in, as PutParameter decides it: the tier asked for
// (Intelligent-Tiering picks the cheapest that fits), never a downgrade from Advanced, the size
// and policy limits of each tier, and the per-region parameter quotas. A pure function.
// https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "core/enum_names.h"
#include "core/status.h"
#include "store/parameters.h"

namespace coffer::params {

// https://docs.aws.amazon.com/general/latest/gr/ssm.html#limits_ssm
inline constexpr int64_t kStandardParametersPerRegion = 10000;
inline constexpr int64_t kAdvancedParametersPerRegion = 100000;

// The tiers a PutParameter request may ask for.
enum class RequestedTier { kStandard, kAdvanced, kIntelligentTiering };
inline constexpr EnumName<RequestedTier> kRequestedTierNames[] = {
    {RequestedTier::kStandard, "Standard"},
    {RequestedTier::kAdvanced, "Advanced"},
    {RequestedTier::kIntelligentTiering, "Intelligent-Tiering"}};

struct TierRequest {
  std::optional<RequestedTier> requested;      // the request's Tier, if any
  std::optional<ParameterTier> existing_tier;  // the parameter's tier; nullopt for a new one
  size_t value_bytes = 0;
  bool has_policies = false;
  int64_t standard_count = 0;  // parameters of the region in each tier now
  int64_t advanced_count = 0;
};

// The tier to store. Errors: ValidationException (a downgrade, a value too large for the
// tier, policies on a Standard parameter), ParameterLimitExceeded (the tier's quota is full).
Result<ParameterTier> ChooseTier(const TierRequest& r);

}  // namespace coffer::params
