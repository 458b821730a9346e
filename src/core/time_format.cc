#include "core/time_format.h"

#include <cstdio>
#include <cstring>
#include <ctime>

namespace coffer {
namespace {

std::tm ToTm(EpochMillis t) {
  std::time_t secs = static_cast<std::time_t>(t / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}

std::optional<EpochMillis> FromTm(std::tm tm) {
  std::time_t secs = timegm(&tm);
  if (secs == static_cast<std::time_t>(-1)) return std::nullopt;
  return static_cast<EpochMillis>(secs) * 1000;
}

bool ParseDigits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

}  // namespace

std::string FormatAmzDate(EpochMillis t) {
  std::tm tm = ToTm(t);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::optional<EpochMillis> ParseAmzDate(std::string_view s) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return std::nullopt;
  std::tm tm{};
  int y, mo, d, h, mi, se;
  if (!ParseDigits(s, 0, 4, &y) || !ParseDigits(s, 4, 2, &mo) || !ParseDigits(s, 6, 2, &d) ||
      !ParseDigits(s, 9, 2, &h) || !ParseDigits(s, 11, 2, &mi) || !ParseDigits(s, 13, 2, &se)) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = se;
  return FromTm(tm);
}

std::string FormatHttpDate(EpochMillis t) {
  std::tm tm = ToTm(t);
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

std::optional<EpochMillis> ParseHttpDate(std::string_view s) {
  // "Sun, 30 Aug 2015 12:36:00 GMT"
  if (s.size() != 29 || s.substr(25) != " GMT") return std::nullopt;
  int d, y, h, mi, se;
  if (!ParseDigits(s, 5, 2, &d) || !ParseDigits(s, 12, 4, &y) || !ParseDigits(s, 17, 2, &h) ||
      !ParseDigits(s, 20, 2, &mi) || !ParseDigits(s, 23, 2, &se)) {
    return std::nullopt;
  }
  int mo = -1;
  for (int i = 0; i < 12; ++i) {
    if (s.substr(8, 3) == kMonths[i]) mo = i;
  }
  if (mo < 0) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = se;
  return FromTm(tm);
}

std::string FormatIso8601(EpochMillis t) {
  std::tm tm = ToTm(t);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

EpochMillis TruncateToDay(EpochMillis t) { return t - (t % kMillisPerDay); }

}  // namespace coffer
