#include "services/secrets/secret_filters.h"

#include <gtest/gtest.h>

namespace coffer::secrets {
namespace {

SecretRow Secret(std::string name, std::optional<std::string> description, Tags tags = {}) {
  SecretRow s;
  s.name = std::move(name);
  s.description = std::move(description);
  s.tags = std::move(tags);
  return s;
}

// AWS splits name and description into words of letters and digits and matches each word of the
// value as a case-insensitive prefix of some word, in any order.
TEST(SecretFilters, NameMatchesWordPrefixesInAnyOrder) {
  auto s = Secret("mistersmith/aurora/master", std::nullopt);
  EXPECT_TRUE(MatchesFilters(s, {{"name", {"mistersmith/"}}}));
  EXPECT_TRUE(MatchesFilters(s, {{"name", {"MisterSmith/"}}}));
  EXPECT_TRUE(MatchesFilters(s, {{"name", {"aurora"}}}));
  EXPECT_TRUE(MatchesFilters(s, {{"name", {"mast auro"}}}));
  EXPECT_FALSE(MatchesFilters(s, {{"name", {"smith"}}}));
  EXPECT_FALSE(MatchesFilters(s, {{"name", {"aurora replica"}}}));
  // No letter or digit: no word to match.
  EXPECT_FALSE(MatchesFilters(s, {{"name", {"/"}}}));
}

TEST(SecretFilters, DescriptionMatchesWordPrefixes) {
  auto s = Secret("x", "Database credentials");
  EXPECT_TRUE(MatchesFilters(s, {{"description", {"database"}}}));
  EXPECT_TRUE(MatchesFilters(s, {{"description", {"CRED"}}}));
  EXPECT_FALSE(MatchesFilters(s, {{"description", {"base"}}}));
  EXPECT_FALSE(MatchesFilters(Secret("x", std::nullopt), {{"description", {"database"}}}));
}

TEST(SecretFilters, FiltersWithTheSameKeyAreAnded) {
  auto s = Secret("mistersmith/app/jwt", std::nullopt);
  EXPECT_TRUE(MatchesFilters(s, {{"name", {"app"}}, {"name", {"jwt"}}}));
  EXPECT_FALSE(MatchesFilters(s, {{"name", {"app"}}, {"name", {"aurora"}}}));
}

TEST(SecretFilters, TagsAndNegation) {
  auto s = Secret("x", std::nullopt, {{"env", "production"}, {"team", "core"}});
  EXPECT_TRUE(MatchesFilters(s, {{"tag-key", {"env"}}}));
  EXPECT_TRUE(MatchesFilters(s, {{"tag-value", {"prod"}}}));
  EXPECT_FALSE(MatchesFilters(s, {{"tag-value", {"!prod"}}}));
  EXPECT_TRUE(MatchesFilters(s, {{"tag-key", {"!owner"}}}));
}

TEST(SecretFilters, ValuesAreOredFiltersAreAnded) {
  auto s = Secret("app/jwt", "signing key", {{"env", "staging"}});
  EXPECT_TRUE(MatchesFilters(s, {{"name", {"db/", "app/"}}}));
  EXPECT_FALSE(MatchesFilters(s, {{"name", {"app/"}}, {"tag-value", {"production"}}}));
}

TEST(SecretFilters, AllMatchesWordsAcrossAttributes) {
  auto s = Secret("MyDBPassword2", "Primary aurora cluster", {{"Owner", "platform-team"}});
  EXPECT_TRUE(MatchesFilters(s, {{"all", {"password"}}}));
  EXPECT_TRUE(MatchesFilters(s, {{"all", {"AURORA"}}}));
  EXPECT_TRUE(MatchesFilters(s, {{"all", {"team"}}}));
  EXPECT_FALSE(MatchesFilters(s, {{"all", {"secret"}}}));
}

TEST(SecretFilters, SplitWords) {
  EXPECT_EQ(SplitWords("MyDBPassword2"), (std::vector<std::string>{"my", "db", "password", "2"}));
  EXPECT_EQ(SplitWords("app/jwt-key"), (std::vector<std::string>{"app", "jwt", "key"}));
  EXPECT_EQ(AlnumWords("Prod-DB password2/"),
            (std::vector<std::string>{"prod", "db", "password2"}));
}

TEST(SecretFilters, ValueRules) {
  EXPECT_TRUE(IsValidFilterValue("!mistersmith/app_1:x@y+z=w.v-u"));
  EXPECT_FALSE(IsValidFilterValue("bad*value"));
  EXPECT_FALSE(IsValidFilterValue(std::string(513, 'a')));
  EXPECT_TRUE(IsFilterKey("owning-service"));
  EXPECT_FALSE(IsFilterKey("Name"));
}

}  // namespace
}  // namespace coffer::secrets
