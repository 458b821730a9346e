#include "audit/auth_failure_tally.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace coffer::audit {
namespace {

constexpr EpochMillis kT0 = 1'800'000'000'000;

AuthFailureSample Sample(EpochMillis t, std::string key) {
  return {.time_ms = t,
          .access_key_id = std::move(key),
          .reason = "SignatureDoesNotMatch",
          .source_ip = "127.0.0.1"};
}

std::vector<std::string> Keys(const std::vector<AuthFailureSample>& samples) {
  std::vector<std::string> out;
  for (const auto& s : samples) out.push_back(s.access_key_id);
  return out;
}

TEST(AuthFailureTallyTest, RecentFailuresAreTheNewestTwentyOfTheirAccountAndRegion) {
  AuthFailureTally tally;
  for (int i = 0; i < 25; ++i) {
    tally.Add("111122223333", "us-east-1", kT0 + i, Sample(kT0 + i, "K" + std::to_string(i)));
  }
  tally.Add("111122223333", "eu-west-1", kT0, Sample(kT0, "other-region"));
  tally.Add("444455556666", "us-east-1", kT0, Sample(kT0, "other-account"));
  const auto recent = tally.Recent("111122223333", "us-east-1");
  ASSERT_EQ(recent.size(), AuthFailureTally::kRecentPerScope);
  EXPECT_EQ(recent.front().access_key_id, "K24");
  EXPECT_EQ(recent.back().access_key_id, "K5");
  EXPECT_EQ(Keys(tally.Recent("111122223333", "eu-west-1")),
            std::vector<std::string>{"other-region"});
  EXPECT_EQ(Keys(tally.Recent("444455556666", "us-east-1")),
            std::vector<std::string>{"other-account"});
  EXPECT_TRUE(tally.Recent("444455556666", "eu-west-1").empty());
}

// A key's holder spraying made-up regions pushes out neither another account's failures nor
// those already listed for the key's own account; the spray is still counted.
TEST(AuthFailureTallyTest, ASprayOfMadeUpRegionsHidesNoListedFailure) {
  AuthFailureTally tally;
  tally.Add("444455556666", "us-east-1", kT0, Sample(kT0, "victim"));
  tally.Add("111122223333", "us-east-1", kT0, Sample(kT0, "real-attempt"));
  for (int i = 0; i < 500; ++i) {
    const EpochMillis t = kT0 + 1 + i;
    tally.Add("111122223333", "fake-" + std::to_string(i), t, Sample(t, "spray"));
  }
  EXPECT_EQ(Keys(tally.Recent("444455556666", "us-east-1")), std::vector<std::string>{"victim"});
  EXPECT_EQ(Keys(tally.Recent("111122223333", "us-east-1")),
            std::vector<std::string>{"real-attempt"});
  int listed = 0;
  for (int i = 0; i < 500; ++i) {
    listed += tally.Recent("111122223333", "fake-" + std::to_string(i)).empty() ? 0 : 1;
  }
  EXPECT_EQ(listed + 1, static_cast<int>(AuthFailureTally::kRecentScopesPerAccount));
  EXPECT_EQ(tally.Count("111122223333", "fake-499", kT0, 60'000, 1), std::vector<int64_t>{1});
}

TEST(AuthFailureTallyTest, RecentFailuresAreForgottenAfterADay) {
  AuthFailureTally tally;
  tally.Add("111122223333", "us-east-1", kT0, Sample(kT0, "old"));
  const EpochMillis later = kT0 + AuthFailureTally::kKeptMs + 60'000;
  tally.Add("111122223333", "eu-west-1", later, Sample(later, "new"));
  EXPECT_TRUE(tally.Recent("111122223333", "us-east-1").empty());
  EXPECT_EQ(Keys(tally.Recent("111122223333", "eu-west-1")), std::vector<std::string>{"new"});
}

}  // namespace
}  // namespace coffer::audit
