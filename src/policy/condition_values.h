// The values of policy conditions: the condition operators AWS defines and how one context
// value is compared with one policy value under each (strings, numbers, dates, booleans, IP
// ranges, ARNs). Internal to policy/; policy.cc parses conditions into these and evaluates them.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coffer::policy {

// ASCII case-insensitive equality (condition keys, Bool and StringEqualsIgnoreCase values).
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// ---- condition operators -----------------------------------------------------------------
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html

enum class Family {
  kString,
  kStringIgnoreCase,
  kStringLike,
  kNumeric,
  kDate,
  kBool,
  kBinary,
  kIp,
  kArn,
  kNull
};

enum class Compare { kEq, kLt, kLe, kGt, kGe };

enum class SetQualifier { kNone, kForAllValues, kForAnyValue };

struct OperatorInfo {
  const char* name;
  Family family;
  Compare compare;
  bool negated;
};

inline constexpr std::array<OperatorInfo, 27> kOperators = {{
    {"StringEquals", Family::kString, Compare::kEq, false},
    {"StringNotEquals", Family::kString, Compare::kEq, true},
    {"StringEqualsIgnoreCase", Family::kStringIgnoreCase, Compare::kEq, false},
    {"StringNotEqualsIgnoreCase", Family::kStringIgnoreCase, Compare::kEq, true},
    {"StringLike", Family::kStringLike, Compare::kEq, false},
    {"StringNotLike", Family::kStringLike, Compare::kEq, true},
    {"NumericEquals", Family::kNumeric, Compare::kEq, false},
    {"NumericNotEquals", Family::kNumeric, Compare::kEq, true},
    {"NumericLessThan", Family::kNumeric, Compare::kLt, false},
    {"NumericLessThanEquals", Family::kNumeric, Compare::kLe, false},
    {"NumericGreaterThan", Family::kNumeric, Compare::kGt, false},
    {"NumericGreaterThanEquals", Family::kNumeric, Compare::kGe, false},
    {"DateEquals", Family::kDate, Compare::kEq, false},
    {"DateNotEquals", Family::kDate, Compare::kEq, true},
    {"DateLessThan", Family::kDate, Compare::kLt, false},
    {"DateLessThanEquals", Family::kDate, Compare::kLe, false},
    {"DateGreaterThan", Family::kDate, Compare::kGt, false},
    {"DateGreaterThanEquals", Family::kDate, Compare::kGe, false},
    {"Bool", Family::kBool, Compare::kEq, false},
    {"BinaryEquals", Family::kBinary, Compare::kEq, false},
    {"IpAddress", Family::kIp, Compare::kEq, false},
    {"NotIpAddress", Family::kIp, Compare::kEq, true},
    {"ArnEquals", Family::kArn, Compare::kEq, false},
    {"ArnLike", Family::kArn, Compare::kEq, false},
    {"ArnNotEquals", Family::kArn, Compare::kEq, true},
    {"ArnNotLike", Family::kArn, Compare::kEq, true},
    {"Null", Family::kNull, Compare::kEq, false},
}};
struct Condition {
  OperatorInfo op;
  bool if_exists = false;
  SetQualifier set = SetQualifier::kNone;
  std::string key;  // lowercase
  std::vector<std::string> values;
};

// ---- dates, numbers, addresses ------------------------------------------------------------

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);

// ISO 8601 (date, date-time with optional seconds, fraction and offset) or epoch seconds, as
// AWS accepts in Date conditions; returns epoch milliseconds.
std::optional<double> ParseDate(std::string_view s);

std::optional<double> ParseNumber(std::string_view s);

struct IpRange {
  int family = 0;  // AF_INET or AF_INET6
  std::array<uint8_t, 16> bytes{};
  int prefix = 0;
};

std::optional<IpRange> ParseIp(std::string_view text, bool allow_prefix);

bool InRange(const IpRange& range, const IpRange& ip);

// ARNs compare component by component (arn:partition:service:region:account:resource), each
// with wildcards; the resource part keeps its own colons.
bool ArnMatch(std::string_view pattern, std::string_view arn);

// Whether one context value matches one policy value under the operator's positive sense.
bool ValueMatches(const OperatorInfo& op, std::string_view context, std::string_view policy);

// Positive sense over the policy's values: OR. The negated operators are the NOR of the same.
bool AnyPolicyValueMatches(const OperatorInfo& op, std::string_view context,
                           const std::vector<std::string>& values);

}  // namespace coffer::policy
