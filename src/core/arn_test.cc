#include "core/arn.h"

#include <gtest/gtest.h>

namespace coffer {
namespace {

TEST(Arn, ParsesSecretArnWithColonsAndSlashesInResource) {
  auto arn = ParseArn("arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-AbCdEf");
  ASSERT_TRUE(arn);
  EXPECT_EQ(arn->partition, "aws");
  EXPECT_EQ(arn->service, "secretsmanager");
  EXPECT_EQ(arn->region, "us-east-1");
  EXPECT_EQ(arn->account, "123456789012");
  EXPECT_EQ(arn->resource, "secret:app/db-AbCdEf");
  EXPECT_EQ(arn->ToString(), "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-AbCdEf");
}

TEST(Arn, IamArnsHaveEmptyRegion) {
  auto arn = ParseArn("arn:aws:iam::123456789012:root");
  ASSERT_TRUE(arn);
  EXPECT_EQ(arn->region, "");
  EXPECT_EQ(arn->resource, "root");
}

TEST(Arn, RejectsNonArns) {
  EXPECT_FALSE(ParseArn("mysecret"));
  EXPECT_FALSE(ParseArn("arn:aws:secretsmanager"));
  EXPECT_FALSE(ParseArn("urn:aws:s3:::b:c"));
  EXPECT_FALSE(ParseArn("arn::s3:::b"));
}

TEST(Arn, RegionNames) {
  EXPECT_TRUE(IsValidRegionName("us-east-1"));
  EXPECT_TRUE(IsValidRegionName("eu-central-2"));
  EXPECT_TRUE(IsValidRegionName("us-gov-west-1"));
  EXPECT_FALSE(IsValidRegionName(""));
  EXPECT_FALSE(IsValidRegionName("US-EAST-1"));
  EXPECT_FALSE(IsValidRegionName("us-east"));
  EXPECT_FALSE(IsValidRegionName("us--east-1"));
  EXPECT_FALSE(IsValidRegionName("../etc"));
}

}  // namespace
}  // namespace coffer
