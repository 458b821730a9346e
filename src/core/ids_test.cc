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

}  // namespace
}  // namespace coffer
