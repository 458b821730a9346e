#include "crypto/crypto.h"

#include <gtest/gtest.h>

namespace coffer::crypto {
namespace {

TEST(Crypto, Sha256KnownAnswer) {
  EXPECT_EQ(HexLower(Sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexLower(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// RFC 4231 test case 2.
TEST(Crypto, HmacSha256KnownAnswer) {
  EXPECT_EQ(HexLower(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Crypto, Base64RoundTripAndStrictness) {
  EXPECT_EQ(Base64Encode("hello"), "aGVsbG8=");
  EXPECT_EQ(Base64Decode("aGVsbG8="), "hello");
  EXPECT_EQ(Base64Decode(""), "");
  EXPECT_FALSE(Base64Decode("aGVsbG8"));    // missing padding
  EXPECT_FALSE(Base64Decode("aGV sbG8="));  // whitespace
  EXPECT_FALSE(Base64Decode("a=VsbG8="));   // padding in the middle
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  EXPECT_EQ(Base64Decode(Base64Encode(all)), all);
}

TEST(Crypto, AesGcmSealsAndDetectsTampering) {
  SecretBytes key = RandomSecret(kAesKeyBytes);
  std::string sealed = AesGcmSeal(key, "context", "attack at dawn");
  EXPECT_EQ(sealed.size(), kGcmNonceBytes + 14 + kGcmTagBytes);
  EXPECT_EQ(sealed.find("attack"), std::string::npos);
  auto opened = AesGcmOpen(key, "context", sealed);
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->Reveal(), "attack at dawn");
  EXPECT_FALSE(AesGcmOpen(key, "other context", sealed));
  EXPECT_FALSE(AesGcmOpen(RandomSecret(kAesKeyBytes), "context", sealed));
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string flipped = sealed;
    flipped[i] ^= 0x01;
    EXPECT_FALSE(AesGcmOpen(key, "context", flipped)) << "bit flip at byte " << i;
  }
  // Fresh nonce each time.
  EXPECT_NE(AesGcmSeal(key, "c", "x"), AesGcmSeal(key, "c", "x"));
}

TEST(Crypto, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
}

}  // namespace
}  // namespace coffer::crypto
