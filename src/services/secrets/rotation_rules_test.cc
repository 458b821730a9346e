#include "services/secrets/rotation_rules.h"

#include <gtest/gtest.h>

namespace coffer::secrets {
namespace {

constexpr EpochMillis kHour = 3600 * 1000;

TEST(ScheduleTest, WindowsFollowAwsRules) {
  const EpochMillis jan1 = 1767225600000;  // Thursday 2026-01-01T00:00:00Z
  auto days = Schedule::Parse({.automatically_after_days = 30}).value();
  EXPECT_EQ(days.NextWindowStart(jan1 + 5 * kHour), jan1 + 30 * kMillisPerDay);
  EXPECT_EQ(days.WindowEnd(jan1), jan1 + kMillisPerDay);
  auto hours = Schedule::Parse({.schedule_expression = "rate(6 hours)"}).value();
  EXPECT_EQ(hours.NextWindowStart(jan1 + 90 * 60000), jan1 + 7 * kHour);
  EXPECT_EQ(hours.WindowEnd(jan1), jan1 + kHour);
  // 16:00 UTC on the 1st and 15th of every month, three-hour window.
  auto cron =
      Schedule::Parse({.schedule_expression = "cron(0 16 1,15 * ? *)", .duration = "3h"}).value();
  EXPECT_EQ(cron.NextWindowStart(jan1), jan1 + 16 * kHour);
  EXPECT_EQ(cron.NextWindowStart(jan1 + 16 * kHour), jan1 + 14 * kMillisPerDay + 16 * kHour);
  EXPECT_EQ(cron.WindowEnd(jan1 + 16 * kHour), jan1 + 19 * kHour);
  // Mondays at 09:30: the first is 2026-01-05.
  auto monday = Schedule::Parse({.schedule_expression = "cron(30 9 ? * MON *)"}).value();
  EXPECT_EQ(monday.NextWindowStart(jan1), jan1 + 4 * kMillisPerDay + 9 * kHour + 30 * 60000);
  for (auto bad :
       {RotationRules{.automatically_after_days = 0},
        RotationRules{.automatically_after_days = 1001},
        RotationRules{.automatically_after_days = 3, .schedule_expression = "rate(3 days)"},
        RotationRules{.schedule_expression = "rate(2 hours)"},
        RotationRules{.schedule_expression = "rate(5 minutes)"},
        RotationRules{.schedule_expression = "cron(0 16 1 * MON *)"},
        RotationRules{.schedule_expression = "cron(*/5 * * * ? *)"},
        RotationRules{.schedule_expression = "rate(6 hours)", .duration = "7h"},
        RotationRules{.schedule_expression = "cron(0 22 * * ? *)", .duration = "4h"},
        RotationRules{.automatically_after_days = 1, .duration = "25h"}, RotationRules{}}) {
    EXPECT_EQ(Schedule::Parse(bad).status().code(), ErrorCode::kInvalidParameterException);
  }
}

}  // namespace
}  // namespace coffer::secrets
