// Rotation rules: RotateSecret's RotationRules, validated as Secrets Manager validates them, and
// the rotation windows they define. Part of the secret's configuration, so they live with the
// Secrets Manager service; the rotation engine reads them from here.
// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotationRulesType.html
// https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_schedule.html
//
//   AutomaticallyAfterDays N  = rate(N days): a window each N days after the last rotation,
//                               starting at 00:00 UTC and closing at the end of that UTC day
//   rate(N hours)             : a window N hours after the last rotation, one hour long
//   cron(min hour dom month dow year): windows starting at each cron time, closing at the end
//                               of the UTC day
//   Duration "Nh"             : the window is N hours long instead (never past the UTC day or
//                               into the next window)
// coffer rotates at the start of the window, or as soon as it can if the window has passed
// while it was down.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace coffer::secrets {

struct RotationRules {
  std::optional<int64_t> automatically_after_days;
  std::optional<std::string> schedule_expression;
  std::optional<std::string> duration;
};

// The rules as stored on a secret (RotateSecret's RotationRules JSON); members missing or of the
// wrong type are left unset.
RotationRules RotationRulesFromJson(std::string_view json);

class Schedule {
 public:
  // Errors: InvalidParameterException with Secrets Manager's message for rules it refuses.
  static Result<Schedule> Parse(const RotationRules& rules);

  // The start of the first window that begins strictly after `last_rotation`.
  EpochMillis NextWindowStart(EpochMillis last_rotation) const;
  // When the window that starts at `start` closes.
  EpochMillis WindowEnd(EpochMillis start) const;

 private:
  enum class Kind { kDays, kHours, kCron };
  Kind kind_ = Kind::kDays;
  int64_t every_ = 1;  // days or hours
  std::optional<int64_t> duration_hours_;
  // cron fields as sets of allowed values
  std::vector<bool> minutes_, hours_, dom_, months_, dow_;
  bool dom_any_ = true, dow_any_ = true;
  std::vector<int> years_;  // empty = every year
};

}  // namespace coffer::secrets
