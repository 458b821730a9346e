#include "core/ids.h"

#include <gtest/gtest.h>

#include <cctype>
#include <set>

namespace coffer {
namespace {

TEST(Ids, SecretAccessKeysAreFortyBase64CharactersAndDiffer) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    SecretBytes key = NewSecretAccessKey();
    std::string text(key.Reveal());
    ASSERT_EQ(40u, text.size());
    for (char c : text) {
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/') << text;
    }
    seen.insert(text);
  }
  EXPECT_EQ(50u, seen.size());
}

TEST(Ids, AccessKeyIdsAndAccountIdsHaveAwsShapes) {
  const std::string id = NewAccessKeyId();
  EXPECT_EQ(20u, id.size());
  EXPECT_EQ(0u, id.rfind("AKIA", 0));
  EXPECT_TRUE(IsValidAccountId(NewAccountId()));
  EXPECT_EQ(36u, NewUuid().size());
}

TEST(Ids, TimeOrderedUuidsAreVersion7WithTheMillisecondsFirstAndSortByTime) {
  const int64_t ms = 1'780'000'000'123;  // 0x019e7044887b
  const std::string id = NewTimeOrderedUuid(ms);
  ASSERT_EQ(36u, id.size());
  EXPECT_EQ("019e7044-887b-7", id.substr(0, 15)) << id;
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;  // RFC 9562 variant
  EXPECT_NE(id, NewTimeOrderedUuid(ms));
  EXPECT_LT(NewTimeOrderedUuid(ms), NewTimeOrderedUuid(ms + 1));
  const std::string v4 = NewUuid();
  EXPECT_EQ('4', v4[14]) << v4;
  for (char c : v4) EXPECT_TRUE(c == '-' || std::isxdigit(static_cast<unsigned char>(c))) << v4;
}

}  // namespace
}  // namespace coffer
