// The rules a Parameter Store value and its declared attributes must follow, as PutParameter
// checks them. Pure functions: no store, no keys.
// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace coffer::params {

// https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html
inline constexpr size_t kStandardValueBytes = 4096;
inline constexpr size_t kAdvancedValueBytes = 8192;

// ValidationException unless Type, Tier and DataType (each when given) name a value AWS
// accepts: String | StringList | SecureString; Standard | Advanced | Intelligent-Tiering;
// text | aws:ec2:image | aws:ssm:integration.
Status CheckDeclaredKinds(const std::optional<std::string>& type,
                          const std::optional<std::string>& tier,
                          const std::optional<std::string>& data_type);

// Checks a value against what every tier allows (8 KiB, before its content is looked at), the
// parameter's AllowedPattern (RE2, linear in the value) and its data type (aws:ec2:image must be
// an AMI id). Errors: ValidationException, ParameterPatternMismatchException,
// InvalidAllowedPatternException. Messages never contain the value.
Status CheckParameterValue(std::string_view value,
                           const std::optional<std::string>& allowed_pattern,
                           const std::string& data_type);

}  // namespace coffer::params
