#include "keyring/shamir.h"

#include <gtest/gtest.h>

#include "crypto/crypto.h"

namespace coffer {
namespace {

TEST(Shamir, AnyThresholdSubsetReconstructs) {
  SecretBytes root = crypto::RandomSecret(32);
  auto shares = SplitSecret(root, 5, 3);
  ASSERT_TRUE(shares.ok());
  ASSERT_EQ(shares->size(), 5u);
  for (int a = 0; a < 5; ++a) {
    for (int b = a + 1; b < 5; ++b) {
      for (int c = b + 1; c < 5; ++c) {
        auto got = CombineShares({(*shares)[a], (*shares)[b], (*shares)[c]});
        ASSERT_TRUE(got.ok());
        EXPECT_EQ(got->Reveal(), root.Reveal());
      }
    }
  }
  // All five also work.
  EXPECT_EQ(CombineShares(*shares)->Reveal(), root.Reveal());
}

TEST(Shamir, FewerThanThresholdDoNotReveal) {
  SecretBytes root = crypto::RandomSecret(32);
  auto shares = SplitSecret(root, 3, 3).value();
  auto two = CombineShares({shares[0], shares[1]});
  ASSERT_TRUE(two.ok());
  EXPECT_NE(two->Reveal(), root.Reveal());
  // A share alone is unrelated to the secret's bytes (overwhelmingly likely to differ).
  EXPECT_NE(shares[0].y.Reveal(), root.Reveal());
}

TEST(Shamir, KnownSmallCase) {
  // Threshold 1: every share is the secret itself.
  SecretBytes s(std::string_view("k"));
  auto shares = SplitSecret(s, 2, 1).value();
  EXPECT_EQ(shares[0].y.Reveal(), "k");
  EXPECT_EQ(shares[1].y.Reveal(), "k");
}

TEST(Shamir, Errors) {
  SecretBytes root = crypto::RandomSecret(16);
  EXPECT_FALSE(SplitSecret(root, 2, 3).ok());
  EXPECT_FALSE(SplitSecret(root, 256, 3).ok());
  EXPECT_FALSE(SplitSecret(SecretBytes(), 3, 2).ok());
  auto shares = SplitSecret(root, 3, 2).value();
  EXPECT_FALSE(CombineShares({shares[0], shares[0]}).ok());
  EXPECT_FALSE(CombineShares({}).ok());
}

}  // namespace
}  // namespace coffer
