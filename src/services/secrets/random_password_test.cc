#include "services/secrets/random_password.h"

#include <gtest/gtest.h>

#include <cctype>

namespace coffer::secrets {
namespace {

TEST(RandomPassword, DefaultsTo32CharactersOfEveryClass) {
  for (int i = 0; i < 50; ++i) {
    auto p = GenerateRandomPassword({});
    ASSERT_TRUE(p.ok());
    std::string_view s = p->Reveal();
    ASSERT_EQ(s.size(), 32u);
    bool lower = false, upper = false, digit = false, punct = false;
    for (char c : s) {
      lower |= std::islower(static_cast<unsigned char>(c)) != 0;
      upper |= std::isupper(static_cast<unsigned char>(c)) != 0;
      digit |= std::isdigit(static_cast<unsigned char>(c)) != 0;
      punct |= std::ispunct(static_cast<unsigned char>(c)) != 0;
      EXPECT_NE(c, ' ');
    }
    EXPECT_TRUE(lower && upper && digit && punct) << s;
  }
}

TEST(RandomPassword, HonoursExclusions) {
  PasswordOptions o;
  o.length = 200;
  o.exclude_punctuation = true;
  o.exclude_uppercase = true;
  o.exclude_characters = "abc012";
  auto p = GenerateRandomPassword(o);
  ASSERT_TRUE(p.ok());
  for (char c : p->Reveal()) {
    EXPECT_TRUE(std::islower(static_cast<unsigned char>(c)) ||
                std::isdigit(static_cast<unsigned char>(c)));
    EXPECT_EQ(std::string("abc012").find(c), std::string::npos);
  }
}

TEST(RandomPassword, IncludeSpace) {
  PasswordOptions o;
  o.length = 4;
  o.include_space = true;
  o.exclude_numbers = o.exclude_punctuation = o.exclude_uppercase = o.exclude_lowercase = true;
  auto p = GenerateRandomPassword(o);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->Reveal(), "    ");
}

TEST(RandomPassword, Errors) {
  PasswordOptions o;
  o.length = 3;  // four classes required
  auto p = GenerateRandomPassword(o);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(), "Password length is too short based on the required types.");
  o.require_each_included_type = false;
  EXPECT_TRUE(GenerateRandomPassword(o).ok());
  PasswordOptions none;
  none.exclude_numbers = none.exclude_punctuation = none.exclude_uppercase =
      none.exclude_lowercase = true;
  auto q = GenerateRandomPassword(none);
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.status().code(), ErrorCode::kInvalidParameterException);
}

}  // namespace
}  // namespace coffer::secrets
