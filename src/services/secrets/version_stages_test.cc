#include "services/secrets/version_stages.h"

#include <gtest/gtest.h>

namespace coffer::secrets {
namespace {

const std::string kV1(32, '1'), kV2(32, '2'), kV3(32, '3');

TEST(VersionStages, FirstVersionBecomesCurrent) {
  StageMap m = Apply({}, StagesForNewVersion({}, kV1, {}));
  EXPECT_EQ(m, (StageMap{{kCurrent, kV1}}));
  // Even when other labels are requested, the first version is current.
  m = Apply({}, StagesForNewVersion({}, kV1, {"blue"}));
  EXPECT_EQ(m, (StageMap{{kCurrent, kV1}, {"blue", kV1}}));
}

TEST(VersionStages, NewCurrentPushesOldToPrevious) {
  StageMap m{{kCurrent, kV1}};
  m = Apply(m, StagesForNewVersion(m, kV2, {}));
  EXPECT_EQ(m, (StageMap{{kCurrent, kV2}, {kPrevious, kV1}}));
  m = Apply(m, StagesForNewVersion(m, kV3, {}));
  EXPECT_EQ(m, (StageMap{{kCurrent, kV3}, {kPrevious, kV2}}));
}

TEST(VersionStages, PendingDoesNotMoveCurrent) {
  StageMap m{{kCurrent, kV1}, {kPrevious, kV2}};
  m = Apply(m, StagesForNewVersion(m, kV3, {kPending}));
  EXPECT_EQ(m, (StageMap{{kCurrent, kV1}, {kPrevious, kV2}, {kPending, kV3}}));
}

TEST(VersionStages, ANewCurrentTakesPendingOffThePromotedVersion) {
  // V2 was put as AWSPENDING and promoted to AWSCURRENT: it holds both.
  StageMap m{{kCurrent, kV2}, {kPending, kV2}, {kPrevious, kV1}};
  m = Apply(m, StagesForNewVersion(m, kV3, {}));
  EXPECT_EQ(m, (StageMap{{kCurrent, kV3}, {kPrevious, kV2}}));
  // AWSPENDING on another version (a rotation in progress) stays where it is.
  StageMap other{{kCurrent, kV1}, {kPending, kV2}};
  other = Apply(other, StagesForNewVersion(other, kV3, {}));
  EXPECT_EQ(other, (StageMap{{kCurrent, kV3}, {kPrevious, kV1}, {kPending, kV2}}));
}

TEST(VersionStages, CustomLabelMovesOffItsOldVersion) {
  StageMap m{{kCurrent, kV1}, {"blue", kV1}};
  m = Apply(m, StagesForNewVersion(m, kV2, {"blue"}));
  EXPECT_EQ(m, (StageMap{{kCurrent, kV1}, {"blue", kV2}}));
}

TEST(VersionStages, MovingCurrentRequiresRemoveFrom) {
  StageMap m{{kCurrent, kV1}, {kPending, kV2}};
  std::set<std::string> versions{kV1, kV2};
  auto r = MoveStage(m, versions, kCurrent, kV2, std::nullopt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidParameterException);
  EXPECT_EQ(r.status().message(),
            "The parameter RemoveFromVersionId can't be empty. Staging label AWSCURRENT is "
            "currently attached to version " +
                kV1 + ", so you must explicitly reference that version in RemoveFromVersionId.");
  auto ok = MoveStage(m, versions, kCurrent, kV2, kV1);
  ASSERT_TRUE(ok.ok());
  // Rotation's finishSecret: AWSPENDING stays until removed; AWSPREVIOUS follows.
  EXPECT_EQ(Apply(m, *ok), (StageMap{{kCurrent, kV2}, {kPrevious, kV1}, {kPending, kV2}}));
}

TEST(VersionStages, RemoveFromMustHoldTheStage) {
  StageMap m{{kCurrent, kV1}};
  auto r = MoveStage(m, {kV1, kV2}, kCurrent, kV2, kV2);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "Version stage AWSCURRENT not found in version " + kV2);
}

TEST(VersionStages, UnknownVersionIsInvalid) {
  auto r = MoveStage({}, {kV1}, "blue", kV3, std::nullopt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "Not a valid version: " + kV3);
}

TEST(VersionStages, RemovingACustomLabelLeavesPreviousAlone) {
  StageMap m{{kCurrent, kV2}, {kPrevious, kV1}, {"blue", kV1}};
  auto r = MoveStage(m, {kV1, kV2}, "blue", std::nullopt, kV1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Apply(m, *r), (StageMap{{kCurrent, kV2}, {kPrevious, kV1}}));
}

TEST(VersionStages, CurrentCannotBeRemovedOutright) {
  StageMap m{{kCurrent, kV1}};
  auto r = MoveStage(m, {kV1}, kCurrent, std::nullopt, kV1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidParameterException);
}

TEST(VersionStages, MovingCurrentBackClearsPreviousFromTarget) {
  StageMap m{{kCurrent, kV2}, {kPrevious, kV1}};
  auto r = MoveStage(m, {kV1, kV2}, kCurrent, kV1, kV2);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Apply(m, *r), (StageMap{{kCurrent, kV1}, {kPrevious, kV2}}));
}

TEST(VersionStages, AtMostTwentyLabelsPerVersion) {
  StageMap m{{kCurrent, kV1}};
  for (int i = 0; i < 19; ++i) m["l" + std::to_string(i)] = kV1;
  auto r = MoveStage(m, {kV1}, "one-too-many", kV1, std::nullopt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kLimitExceededException);
}

}  // namespace
}  // namespace coffer::secrets
