// Parameter policies (Advanced tier): Expiration, ExpirationNotification, NoChangeNotification.
// https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-policies.html
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/enum_names.h"
#include "core/status.h"

namespace coffer::params {

inline constexpr size_t kMaxPolicies = 10;

// https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-policies.html
enum class ParameterPolicyType { kExpiration, kExpirationNotification, kNoChangeNotification };
inline constexpr EnumName<ParameterPolicyType> kParameterPolicyTypeNames[] = {
    {ParameterPolicyType::kExpiration, "Expiration"},
    {ParameterPolicyType::kExpirationNotification, "ExpirationNotification"},
    {ParameterPolicyType::kNoChangeNotification, "NoChangeNotification"}};
inline std::string_view ParameterPolicyTypeName(ParameterPolicyType t) {
  return NameOf(kParameterPolicyTypeNames, t);
}

struct ParameterPolicy {
  ParameterPolicyType type = ParameterPolicyType::kExpiration;
  std::string text;                          // the policy object as given, re-serialised
  std::optional<EpochMillis> expiration_ms;  // Expiration
  int64_t amount = 0;                        // Before / After
  std::string unit;                          // Days | Hours
  EpochMillis AmountMillis() const;
  // Identifies this policy among the parameter's policies (for once-only notifications).
  std::string Key() const;
};

// Parses the Policies JSON array. An empty array clears policies. Errors:
// InvalidPolicyTypeException, InvalidPolicyAttributeException, IncompatiblePolicyException,
// PoliciesLimitExceededException, ValidationException (not JSON).
Result<std::vector<ParameterPolicy>> ParsePolicies(const std::string& json);

// "2030-01-01T00:00:00.000Z", with optional fraction and a Z or +hh:mm offset.
std::optional<EpochMillis> ParseIsoTimestamp(const std::string& text);

}  // namespace coffer::params
