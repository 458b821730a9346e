#include "services/params/parameter_tiers.h"

#include <gtest/gtest.h>

namespace coffer::params {
namespace {

std::string Tier(const TierRequest& r) {
  auto t = ChooseTier(r);
  return std::string(t.ok() ? ParameterTierName(t.value()) : t.status().code_name());
}

TEST(ChooseTier, NewParametersAreStandardUnlessAskedOtherwise) {
  EXPECT_EQ(Tier({.value_bytes = 10}), "Standard");
  EXPECT_EQ(Tier({.requested = RequestedTier::kAdvanced, .value_bytes = 10}), "Advanced");
}

TEST(ChooseTier, IntelligentTieringPicksTheCheapestTierThatFits) {
  EXPECT_EQ(Tier({.requested = RequestedTier::kIntelligentTiering, .value_bytes = 4096}),
            "Standard");
  EXPECT_EQ(Tier({.requested = RequestedTier::kIntelligentTiering, .value_bytes = 4097}),
            "Advanced");
  EXPECT_EQ(Tier({.requested = RequestedTier::kIntelligentTiering,
                  .value_bytes = 1,
                  .has_policies = true}),
            "Advanced");
  EXPECT_EQ(Tier({.requested = RequestedTier::kIntelligentTiering,
                  .value_bytes = 1,
                  .standard_count = kStandardParametersPerRegion}),
            "Advanced");
  // An Advanced parameter stays Advanced.
  EXPECT_EQ(Tier({.requested = RequestedTier::kIntelligentTiering,
                  .existing_tier = ParameterTier::kAdvanced,
                  .value_bytes = 1}),
            "Advanced");
}

TEST(ChooseTier, AnOverwriteKeepsTheTierAndNeverDowngrades) {
  EXPECT_EQ(Tier({.existing_tier = ParameterTier::kAdvanced, .value_bytes = 1}), "Advanced");
  EXPECT_EQ(Tier({.requested = RequestedTier::kStandard,
                  .existing_tier = ParameterTier::kAdvanced,
                  .value_bytes = 1}),
            "ValidationException");
  EXPECT_EQ(Tier({.requested = RequestedTier::kAdvanced,
                  .existing_tier = ParameterTier::kStandard,
                  .value_bytes = 1}),
            "Advanced");
}

TEST(ChooseTier, EachTierHasItsSizeAndPolicyLimits) {
  EXPECT_EQ(Tier({.requested = RequestedTier::kStandard, .value_bytes = 4097}),
            "ValidationException");
  EXPECT_EQ(Tier({.requested = RequestedTier::kAdvanced, .value_bytes = 8193}),
            "ValidationException");
  EXPECT_EQ(Tier({.requested = RequestedTier::kStandard, .value_bytes = 1, .has_policies = true}),
            "ValidationException");
}

TEST(ChooseTier, QuotasCountOnlyParametersThatEnterATier) {
  EXPECT_EQ(Tier({.value_bytes = 1, .standard_count = kStandardParametersPerRegion}),
            "ParameterLimitExceeded");
  // Overwriting a Standard parameter adds none.
  EXPECT_EQ(Tier({.existing_tier = ParameterTier::kStandard,
                  .value_bytes = 1,
                  .standard_count = kStandardParametersPerRegion}),
            "Standard");
  EXPECT_EQ(Tier({.requested = RequestedTier::kAdvanced,
                  .existing_tier = ParameterTier::kStandard,
                  .value_bytes = 1,
                  .advanced_count = kAdvancedParametersPerRegion}),
            "ParameterLimitExceeded");
}

}  // namespace
}  // namespace coffer::params
