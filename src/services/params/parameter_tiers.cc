#include "services/params/parameter_tiers.h"

#include "services/params/value_rules.h"

namespace coffer::params {

Result<ParameterTier> ChooseTier(const TierRequest& r) {
  using enum ParameterTier;
  const bool exists = r.existing_tier.has_value();
  const bool was_advanced = r.existing_tier == kAdvanced;
  ParameterTier tier = r.existing_tier.value_or(kStandard);
  if (r.requested == RequestedTier::kStandard) tier = kStandard;
  if (r.requested == RequestedTier::kAdvanced) tier = kAdvanced;
  if (r.requested == RequestedTier::kIntelligentTiering) {
    const bool needs_advanced = r.value_bytes > kStandardValueBytes || r.has_policies ||
                                (!exists && r.standard_count >= kStandardParametersPerRegion);
    tier = (was_advanced || needs_advanced) ? kAdvanced : kStandard;
  }
  if (was_advanced && tier == kStandard) {
    return Status(ErrorCode::kValidationException,
                  "This parameter uses the advanced-parameter tier. You can't downgrade a "
                  "parameter from the advanced-parameter tier to the standard-parameter tier. If "
                  "necessary, you can delete the advanced parameter and recreate it as a standard "
                  "parameter.");
  }
  if (tier == kStandard && r.value_bytes > kStandardValueBytes) {
    return Status(ErrorCode::kValidationException,
                  "Standard tier parameters support a maximum parameter value of 4096 "
                  "characters. To create a larger parameter value, upgrade the parameter to use "
                  "the advanced-parameter tier. For more information, see "
                  "https://docs.aws.amazon.com/systems-manager/latest/userguide/"
                  "parameter-store-advanced-parameters.html");
  }
  if (tier == kAdvanced && r.value_bytes > kAdvancedValueBytes) {
    return Status(ErrorCode::kValidationException,
                  "Advanced tier parameters support a maximum parameter value of 8192 "
                  "characters.");
  }
  if (tier == kStandard && r.has_policies) {
    return Status(ErrorCode::kValidationException,
                  "Parameter policies are supported only for parameters in the "
                  "advanced-parameter tier. Use the advanced-parameter tier or remove the "
                  "policies.");
  }
  const bool becomes_standard = tier == kStandard && r.existing_tier != kStandard;
  const bool becomes_advanced = tier == kAdvanced && !was_advanced;
  if ((becomes_standard && r.standard_count >= kStandardParametersPerRegion) ||
      (becomes_advanced && r.advanced_count >= kAdvancedParametersPerRegion)) {
    return Status(ErrorCode::kParameterLimitExceeded,
                  "You have exceeded the number of parameters for this AWS account. Delete one "
                  "or more parameters and try again.");
  }
  return tier;
}

}  // namespace coffer::params
