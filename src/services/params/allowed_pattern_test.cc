#include "services/params/allowed_pattern.h"

#include <gtest/gtest.h>

#include <string>

namespace coffer::params {
namespace {

bool Match(std::string_view pattern, std::string_view value) {
  auto p = AllowedPattern::Compile(pattern);
  EXPECT_TRUE(p.ok()) << pattern;
  return p.ok() && p->Matches(value);
}

TEST(AllowedPattern, MatchesTheWholeValueAsJavaMatchesDoes) {
  EXPECT_TRUE(Match("^\\d+$", "123"));
  EXPECT_FALSE(Match("^\\d+$", "12a"));
  EXPECT_TRUE(Match("\\d+", "123"));
  EXPECT_FALSE(Match("\\d+", "x123"));  // no partial matches
  EXPECT_TRUE(Match("https://[a-z.]+(:\\d{2,5})?/?", "https://api.mistersmith.ai/"));
  EXPECT_TRUE(Match("(debug|info|warn|error)", "info"));
  EXPECT_FALSE(Match("(debug|info|warn|error)", "trace"));
}

// The Java POSIX classes Parameter Store users write, mapped to RE2's.
TEST(AllowedPattern, UnderstandsJavaPosixClasses) {
  EXPECT_EQ(ToRe2Syntax("\\p{Alpha}+"), "[[:alpha:]]+");
  EXPECT_EQ(ToRe2Syntax("[\\p{Digit}_]+"), "[[:digit:]_]+");
  EXPECT_EQ(ToRe2Syntax("\\P{Space}*"), "[^[:space:]]*");
  EXPECT_EQ(ToRe2Syntax("[^\\P{Upper}]"), "[^[:^upper:]]");
  EXPECT_EQ(ToRe2Syntax("a\\Z"), "a(?:\\n?\\z)");
  EXPECT_EQ(ToRe2Syntax("[]\\p{Lower}]"), "[][:lower:]]");
  EXPECT_TRUE(Match("\\p{Upper}\\p{Lower}+\\p{Digit}", "Coffer7"));
  EXPECT_FALSE(Match("\\p{Upper}\\p{Lower}+\\p{Digit}", "coffer7"));
  EXPECT_TRUE(Match("\\p{Greek}+", "αβγ"));  // Unicode scripts pass through
}

// Constructs that only a backtracking engine has are refused when the pattern is given.
TEST(AllowedPattern, RefusesConstructsThatNeedBacktracking) {
  for (const char* pattern : {"(a)\\1", "(?=a)a", "(?!a)b", "(?<=a)b", "a*+", "(?>a)", "(",
                              "a{1001}", "((a{100}){100}){100}", "\\h"}) {
    auto p = AllowedPattern::Compile(pattern);
    ASSERT_FALSE(p.ok()) << pattern;
    EXPECT_EQ(p.status().code(), ErrorCode::kInvalidAllowedPatternException) << pattern;
  }
}

// The patterns that make a backtracking engine run for minutes on a short value are answered
// at once: RE2's work grows with the value's length, not exponentially.
TEST(AllowedPattern, CatastrophicPatternsRunInLinearTime) {
  std::string nested = "^(";
  for (int i = 0; i < 40; ++i) nested += "(a+)+";
  nested += ")$";
  std::string value(8192, 'a');
  value += "!";
  EXPECT_FALSE(Match(nested, value));
  EXPECT_FALSE(Match("^(a|aa)+$", value));
  EXPECT_FALSE(Match("^(\\w+\\s?)*$", std::string(8000, 'x') + "!"));
  // A 400-character pattern of the kind that froze the server before.
  std::string long_pattern = "^";
  while (long_pattern.size() < 400) long_pattern += "(a|a?)+";
  long_pattern += "$";
  EXPECT_FALSE(Match(long_pattern, std::string(4000, 'a') + "b"));
}

}  // namespace
}  // namespace coffer::params
