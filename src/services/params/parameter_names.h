// Parameter names, paths, ARNs and selectors, as Parameter Store defines them.
// https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-parameter-name-constraints.html
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "store/store.h"

namespace coffer::params {

// https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-hierarchies.html
inline constexpr size_t kMaxHierarchyLevels = 15;
// The 1011 characters include the ARN prefix "arn:aws:ssm:<region>:<account>:parameter/".
inline constexpr size_t kMaxNameWithArnPrefix = 1011;

// Identity of a name: a one-level name is the same parameter with or without its leading '/'.
std::string NameKey(std::string_view name);
// The path one level up: "/a/b" -> "/a", "/a" and "a" -> "/".
std::string ParentPath(std::string_view name_key);
std::string ParameterArn(const Scope& scope, std::string_view name);

// Validates a name for PutParameter. Errors: ValidationException (characters, leading '/',
// reserved prefixes, length), AccessDeniedException (names under /aws/),
// HierarchyLevelLimitExceededException.
Status ValidateNewName(const Scope& scope, std::string_view name);

// Validates a path for GetParametersByPath / the Path filter ("/" or "/a/b", trailing '/' allowed)
// and returns it without a trailing '/'.
Result<std::string> NormalizePath(std::string_view path);

// "name", "name:3", "name:label", or an ARN with the same suffixes, as GetParameter takes them.
struct ParameterReference {
  std::string name;                  // without selector; an ARN is reduced to the name
  std::optional<int64_t> version;    // ":3"
  std::optional<std::string> label;  // ":label"
  std::string selector;              // ":3" or ":label" as given, for the response
};
Result<ParameterReference> ParseReference(const Scope& scope, std::string_view input);

// LabelParameterVersion's rules: 1-100 characters of [a-zA-Z0-9_.-], not starting with a digit
// or with "aws"/"ssm" (case-insensitive).
bool IsValidLabel(std::string_view label);

}  // namespace coffer::params
