#include "core/time_format.h"

#include <gtest/gtest.h>

namespace coffer {
namespace {

constexpr EpochMillis kExample = 1440938160000;  // 2015-08-30T12:36:00Z

TEST(TimeFormat, AmzDateRoundTrip) {
  EXPECT_EQ(FormatAmzDate(kExample), "20150830T123600Z");
  EXPECT_EQ(ParseAmzDate("20150830T123600Z"), kExample);
  EXPECT_FALSE(ParseAmzDate("2015-08-30T12:36:00Z"));
  EXPECT_FALSE(ParseAmzDate("20151330T123600Z"));
}

TEST(TimeFormat, HttpDateRoundTrip) {
  EXPECT_EQ(FormatHttpDate(kExample), "Sun, 30 Aug 2015 12:36:00 GMT");
  EXPECT_EQ(ParseHttpDate("Sun, 30 Aug 2015 12:36:00 GMT"), kExample);
  EXPECT_FALSE(ParseHttpDate("Sun, 30 Foo 2015 12:36:00 GMT"));
}

TEST(TimeFormat, IsoAndDayTruncation) {
  EXPECT_EQ(FormatIso8601(kExample), "2015-08-30T12:36:00Z");
  EXPECT_EQ(FormatIso8601(TruncateToDay(kExample + 123)), "2015-08-30T00:00:00Z");
}

}  // namespace
}  // namespace coffer
