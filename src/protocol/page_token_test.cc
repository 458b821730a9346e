#include "protocol/page_token.h"

#include <gtest/gtest.h>

namespace coffer {
namespace {

TEST(PageToken, RoundTripsAPositionWithinItsScope) {
  const std::string token = EncodePageToken("kms", "alias/a:b");
  EXPECT_EQ(DecodePageToken("kms", token), std::optional<std::string>("alias/a:b"));
  EXPECT_EQ(DecodePageToken("kms", std::nullopt), std::optional<std::string>(""));
  EXPECT_EQ(DecodePageToken("kms", EncodePageToken("kms", "")), std::optional<std::string>(""));
}

TEST(PageToken, RefusesTokensOfAnotherScopeAndGarbage) {
  EXPECT_EQ(DecodePageToken("iam", EncodePageToken("kms", "x")), std::nullopt);
  // A scope that merely starts like another is another scope.
  EXPECT_EQ(DecodePageToken("coffer-secrets:0", EncodePageToken("coffer-secrets:01", "x")),
            std::nullopt);
  EXPECT_EQ(DecodePageToken("kms", std::optional<std::string>("not base64!")), std::nullopt);
  EXPECT_EQ(DecodePageToken("kms", std::optional<std::string>("")), std::nullopt);
}

}  // namespace
}  // namespace coffer
