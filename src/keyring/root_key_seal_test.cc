#include "keyring/root_key_seal.h"

#include <gtest/gtest.h>

#include "crypto/crypto.h"

namespace coffer {
namespace {

TEST(RootKeySeal, RoundTripAndWrongPassphrase) {
  SecretBytes root = crypto::RandomSecret(32);
  std::string sealed = SealRootKeyWithPassphrase(root, "correct horse battery staple", 1000);
  EXPECT_EQ(sealed.rfind("coffer-sealed-root-v1 pbkdf2-sha256 1000 ", 0), 0u);
  EXPECT_EQ(sealed.find(crypto::Base64Encode(root.Reveal())), std::string::npos);
  auto back = UnsealRootKeyWithPassphrase(sealed, "correct horse battery staple");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->Reveal(), root.Reveal());
  auto wrong = UnsealRootKeyWithPassphrase(sealed, "Tr0ub4dor&3");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), ErrorCode::kSealed);
  // A fresh salt each time.
  EXPECT_NE(SealRootKeyWithPassphrase(root, "p", 1000), SealRootKeyWithPassphrase(root, "p", 1000));
}

TEST(RootKeySeal, MalformedInputs) {
  EXPECT_EQ(UnsealRootKeyWithPassphrase("", "p").status().code(), ErrorCode::kInvalidParameter);
  EXPECT_EQ(
      UnsealRootKeyWithPassphrase("coffer-sealed-root-v1 pbkdf2-sha256 x a b", "p").status().code(),
      ErrorCode::kInvalidParameter);
  EXPECT_EQ(
      UnsealRootKeyWithPassphrase("coffer-sealed-root-v1 scrypt 10 YQ== YQ==", "p").status().code(),
      ErrorCode::kInvalidParameter);
}

}  // namespace
}  // namespace coffer
