#include "audit/slot_counts.h"

#include <gtest/gtest.h>

namespace coffer::audit {
namespace {

constexpr EpochMillis kT = 1'796'515'200'000;  // a slot's start

TEST(SlotCountsTest, EachTakeHasTheWholeCountOfTheSlotsCountedIntoSinceTheLast) {
  SlotCounts counts;
  counts.Add("111122223333", "us-east-1", 2, kT);  // not enabled: not kept
  counts.Enable();
  counts.Add("111122223333", "us-east-1", 2, kT + 1);
  counts.Add("111122223333", "us-east-1", 2, kT + 9'999);
  counts.Add("111122223333", "us-east-1", 2, kT + 10'000);  // the next slot
  counts.Add("111122223333", "eu-west-1", kAuthenticationFailure, kT);
  auto rows = counts.TakeChanged(kT + 20'000);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].region, "eu-west-1");
  EXPECT_EQ(rows[0].kind, kAuthenticationFailure);
  EXPECT_EQ((std::pair{rows[1].slot_ms, rows[1].n}), (std::pair{kT, int64_t{2}}));
  EXPECT_EQ((std::pair{rows[2].slot_ms, rows[2].n}), (std::pair{kT + 10'000, int64_t{1}}));
  EXPECT_TRUE(counts.TakeChanged(kT + 20'000).empty());

  // A slot counted into again is taken with its whole count, the others not again.
  counts.Add("111122223333", "us-east-1", 2, kT + 5);
  rows = counts.TakeChanged(kT + 20'000);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].n, 3);

  // What could not be published is taken again.
  counts.Untake(rows);
  rows = counts.TakeChanged(kT + 20'000);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].n, 3);
}

TEST(SlotCountsTest, OldSlotsAreForgotten) {
  SlotCounts counts;
  counts.Enable();
  counts.Add("111122223333", "us-east-1", 2, kT);
  counts.TakeChanged(kT + SlotCounts::kKeptMs + 10'000);
  // A record late for a forgotten slot starts its count again (the store keeps the published
  // one; a new publication replaces it).
  counts.Add("111122223333", "us-east-1", 2, kT);
  auto rows = counts.TakeChanged(kT + 10'000);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].n, 1);
  EXPECT_EQ(counts.dropped(), 0);
}

TEST(SlotCountsTest, ActivityIsCountedPerHour) {
  SlotCounts counts;
  counts.Enable();
  counts.Add("111122223333", "us-east-1", kActivity, kT + 1);
  counts.Add("111122223333", "us-east-1", kActivity, kT + kActivitySlotMs - 1);
  auto rows = counts.TakeChanged(kT);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ((std::pair{rows[0].slot_ms, rows[0].n}), (std::pair{kT, int64_t{2}}));
}

}  // namespace
}  // namespace coffer::audit
