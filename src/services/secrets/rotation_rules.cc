#include "services/secrets/rotation_rules.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <ctime>
#include <sstream>

namespace coffer::secrets {
namespace {

constexpr EpochMillis kHour = 3600 * 1000;

Status Invalid(const std::string& message) {
  return Status(ErrorCode::kInvalidParameterException, message);
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(s);
  while (std::getline(in, item, sep)) out.push_back(item);
  return out;
}

std::optional<int> Number(const std::string& s, const std::vector<std::string>& names,
                          int name_base) {
  if (s.empty()) return std::nullopt;
  if (std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); })) {
    if (s.size() > 4) return std::nullopt;
    return std::stoi(s);
  }
  std::string upper;
  for (char c : s) upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == upper) return static_cast<int>(i) + name_base;
  }
  return std::nullopt;
}

// One cron field into a set over [lo, hi]: "*", "n", "a-b", "a/step", "*/step", "a-b/step", lists.
bool ParseField(const std::string& field, int lo, int hi, const std::vector<std::string>& names,
                int name_base, std::vector<bool>* out) {
  out->assign(static_cast<size_t>(hi + 1), false);
  for (const auto& part : Split(field, ',')) {
    std::string range = part;
    int step = 1;
    if (size_t slash = part.find('/'); slash != std::string::npos) {
      auto s = Number(part.substr(slash + 1), {}, 0);
      if (!s || *s < 1) return false;
      step = *s;
      range = part.substr(0, slash);
    }
    int a = lo, b = hi;
    if (range != "*") {
      size_t dash = range.find('-');
      auto first = Number(range.substr(0, dash), names, name_base);
      if (!first) return false;
      a = *first;
      b = *first;
      if (dash != std::string::npos) {
        auto last = Number(range.substr(dash + 1), names, name_base);
        if (!last) return false;
        b = *last;
      } else if (part.find('/') != std::string::npos) {
        b = hi;
      }
    }
    if (a < lo || b > hi || a > b) return false;
    for (int v = a; v <= b; v += step) (*out)[static_cast<size_t>(v)] = true;
  }
  return true;
}

EpochMillis DayStart(EpochMillis t) {
  return t - ((t % kMillisPerDay) + kMillisPerDay) % kMillisPerDay;
}

std::tm Utc(EpochMillis t) {
  time_t secs = static_cast<time_t>(t / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}

}  // namespace

RotationRules RotationRulesFromJson(std::string_view json) {
  RotationRules rules;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(json, ec);
  if (ec || !v.is_object()) return rules;
  const auto& o = v.get_object();
  if (auto* d = o.if_contains("AutomaticallyAfterDays"); d && d->is_int64()) {
    rules.automatically_after_days = d->get_int64();
  }
  if (auto* e = o.if_contains("ScheduleExpression"); e && e->is_string()) {
    rules.schedule_expression = std::string(e->get_string());
  }
  if (auto* d = o.if_contains("Duration"); d && d->is_string()) {
    rules.duration = std::string(d->get_string());
  }
  return rules;
}

Result<Schedule> Schedule::Parse(const RotationRules& rules) {
  Schedule s;
  if (rules.automatically_after_days && rules.schedule_expression) {
    return Invalid("You can't specify both AutomaticallyAfterDays and ScheduleExpression.");
  }
  if (!rules.automatically_after_days && !rules.schedule_expression) {
    return Invalid("You must specify AutomaticallyAfterDays or ScheduleExpression.");
  }
  if (rules.automatically_after_days) {
    if (*rules.automatically_after_days < 1 || *rules.automatically_after_days > 1000) {
      return Invalid("AutomaticallyAfterDays must be between 1 and 1000.");
    }
    s.kind_ = Kind::kDays;
    s.every_ = *rules.automatically_after_days;
  } else {
    const std::string& e = *rules.schedule_expression;
    if (e.rfind("rate(", 0) == 0 && e.back() == ')') {
      auto words = Split(e.substr(5, e.size() - 6), ' ');
      if (words.size() != 2) return Invalid("Invalid rate expression: " + e);
      auto n = Number(words[0], {}, 0);
      if (!n) return Invalid("Invalid rate expression: " + e);
      const std::string& unit = words[1];
      if (unit == "day" || unit == "days") {
        if (*n < 1 || *n > 1000 || (unit == "day") != (*n == 1)) {
          return Invalid("Invalid rate expression: " + e);
        }
        s.kind_ = Kind::kDays;
      } else if (unit == "hour" || unit == "hours") {
        // Secrets Manager rotates at most every four hours.
        if (*n < 4 || *n > 23) {
          return Invalid("The rotation interval for hours must be between 4 and 23 hours.");
        }
        s.kind_ = Kind::kHours;
      } else {
        return Invalid("Invalid rate expression: " + e);
      }
      s.every_ = *n;
    } else if (e.rfind("cron(", 0) == 0 && e.back() == ')') {
      auto fields = Split(e.substr(5, e.size() - 6), ' ');
      fields.erase(std::remove(fields.begin(), fields.end(), ""), fields.end());
      if (fields.size() != 6) return Invalid("Invalid cron expression: " + e);
      static const std::vector<std::string> kMonths = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                       "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
      static const std::vector<std::string> kDays = {"SUN", "MON", "TUE", "WED",
                                                     "THU", "FRI", "SAT"};
      s.kind_ = Kind::kCron;
      s.dom_any_ = fields[2] == "?" || fields[2] == "*";
      s.dow_any_ = fields[4] == "?" || fields[4] == "*";
      // As in EventBridge cron: one of day-of-month and day-of-week must be '?'.
      if ((fields[2] == "?") == (fields[4] == "?")) {
        return Invalid("Invalid cron expression: one of day-of-month and day-of-week must be ?: " +
                       e);
      }
      bool ok = ParseField(fields[0], 0, 59, {}, 0, &s.minutes_) &&
                ParseField(fields[1], 0, 23, {}, 0, &s.hours_) &&
                ParseField(fields[2] == "?" ? "*" : fields[2], 1, 31, {}, 0, &s.dom_) &&
                ParseField(fields[3], 1, 12, kMonths, 1, &s.months_) &&
                ParseField(fields[4] == "?" ? "*" : fields[4], 1, 7, kDays, 1, &s.dow_);
      if (!ok) return Invalid("Invalid cron expression: " + e);
      // Rotating more often than every four hours is refused.
      if (std::count(s.hours_.begin(), s.hours_.end(), true) > 6 ||
          std::count(s.minutes_.begin(), s.minutes_.end(), true) > 1) {
        return Invalid(
            "The rotation schedule is too frequent: Secrets Manager rotates at most "
            "every four hours.");
      }
      if (fields[5] != "*") {
        std::vector<bool> years;
        if (!ParseField(fields[5], 1970, 2199, {}, 0, &years)) {
          return Invalid("Invalid cron expression: " + e);
        }
        for (int y = 1970; y <= 2199; ++y) {
          if (years[static_cast<size_t>(y)]) s.years_.push_back(y);
        }
      }
    } else {
      return Invalid("Invalid ScheduleExpression: " + e + ". Use rate() or cron().");
    }
  }
  if (rules.duration) {
    const std::string& d = *rules.duration;
    auto n =
        d.size() >= 2 && d.back() == 'h' ? Number(d.substr(0, d.size() - 1), {}, 0) : std::nullopt;
    if (!n || *n < 1 || *n > 24) return Invalid("Duration must be between 1h and 24h: " + d);
    if (s.kind_ == Kind::kHours && *n > s.every_) {
      return Invalid("The rotation window must not extend into the next rotation window.");
    }
    if (s.kind_ == Kind::kCron) {
      // Every window opens at a cron time of day and must close by the end of that UTC day.
      int latest = 0;
      for (int h = 0; h < 24; ++h) {
        for (int m = 0; m < 60; ++m) {
          if (s.hours_[static_cast<size_t>(h)] && s.minutes_[static_cast<size_t>(m)]) {
            latest = std::max(latest, h * 60 + m);
          }
        }
      }
      if (latest + *n * 60 > 24 * 60) {
        return Invalid("The rotation window must not extend into the next UTC day.");
      }
    }
    s.duration_hours_ = *n;
  }
  return s;
}

EpochMillis Schedule::NextWindowStart(EpochMillis last) const {
  switch (kind_) {
    case Kind::kDays:
      return DayStart(last) + every_ * kMillisPerDay;
    case Kind::kHours:
      return (last / kHour) * kHour + every_ * kHour;
    case Kind::kCron:
      break;
  }
  // Day by day for up to 5 years, then the first allowed time of the day after `last`.
  EpochMillis day = DayStart(last);
  for (int i = 0; i < 5 * 366; ++i, day += kMillisPerDay) {
    std::tm tm = Utc(day);
    int year = tm.tm_year + 1900;
    if (!years_.empty() && std::find(years_.begin(), years_.end(), year) == years_.end()) continue;
    if (!months_[static_cast<size_t>(tm.tm_mon + 1)]) continue;
    bool dom_ok = dom_[static_cast<size_t>(tm.tm_mday)];
    bool dow_ok = dow_[static_cast<size_t>(tm.tm_wday + 1)];
    if (!(dom_any_ ? dow_ok : dow_any_ ? dom_ok : dom_ok && dow_ok)) continue;
    for (int h = 0; h < 24; ++h) {
      if (!hours_[static_cast<size_t>(h)]) continue;
      for (int m = 0; m < 60; ++m) {
        if (!minutes_[static_cast<size_t>(m)]) continue;
        EpochMillis t = day + h * kHour + m * 60000LL;
        if (t > last) return t;
      }
    }
  }
  return last + 1000LL * kMillisPerDay;  // unreachable for valid expressions
}

EpochMillis Schedule::WindowEnd(EpochMillis start) const {
  const EpochMillis end_of_day = DayStart(start) + kMillisPerDay;
  if (duration_hours_) return std::min(start + *duration_hours_ * kHour, end_of_day);
  if (kind_ == Kind::kHours) return start + kHour;
  return end_of_day;
}

}  // namespace coffer::secrets
