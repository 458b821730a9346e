#include "services/params/parameter_names.h"

#include <cctype>

#include "core/arn.h"

namespace coffer::params {
namespace {

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

// AWS's text names only "ssm" here, though "aws" is reserved too (its own message says so).
constexpr char kInvalidNameMessage[] =
    "Parameter name: can't be prefixed with \"ssm\" (case-insensitive). If formed as a path, it "
    "can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of "
    "letters, numbers and the following 3 symbols .-_";

}  // namespace

std::string NameKey(std::string_view name) {
  if (name.size() > 1 && name[0] == '/' && name.find('/', 1) == std::string_view::npos) {
    return std::string(name.substr(1));
  }
  return std::string(name);
}

std::string ParentPath(std::string_view name_key) {
  size_t slash = name_key.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return "/";
  return std::string(name_key.substr(0, slash));
}

std::string ParameterArn(const Scope& scope, std::string_view name) {
  std::string arn = "arn:aws:ssm:" + scope.region + ":" + scope.account + ":parameter";
  if (name.empty() || name[0] != '/') arn += '/';
  arn += name;
  return arn;
}

Status ValidateNewName(const Scope& scope, std::string_view name) {
  if (name.empty()) {
    return Status(ErrorCode::kValidationException,
                  "1 validation error detected: Value '' at 'name' failed to satisfy constraint: "
                  "Member must have length greater than or equal to 1");
  }
  std::string_view bare = name[0] == '/' ? name.substr(1) : name;
  bool is_path = bare.find('/') != std::string_view::npos;
  if (StartsWithIgnoreCase(bare, "aws") || StartsWithIgnoreCase(bare, "ssm")) {
    if (is_path && StartsWithIgnoreCase(name, "/aws")) {
      return Status(ErrorCode::kAccessDeniedException,
                    "No access to reserved parameter name: " + std::string(name) + ".");
    }
    if (!is_path) {
      return Status(ErrorCode::kValidationException,
                    "Parameter name: can't be prefixed with \"aws\" or \"ssm\" "
                    "(case-insensitive).");
    }
    return Status(ErrorCode::kValidationException, kInvalidNameMessage);
  }
  if (is_path && name[0] != '/') {
    // A hierarchy must start with "/": "a/b/c" is refused with the sub-path rules.
    return Status(ErrorCode::kValidationException, kInvalidNameMessage);
  }
  if (bare.empty() || bare.back() == '/' || bare.find("//") != std::string_view::npos) {
    return Status(ErrorCode::kValidationException, kInvalidNameMessage);
  }
  for (char c : bare) {
    if (c != '/' && !IsNameChar(c))
      return Status(ErrorCode::kValidationException, kInvalidNameMessage);
  }
  if (ParameterArn(scope, "").size() + bare.size() > kMaxNameWithArnPrefix) {
    return Status(ErrorCode::kValidationException,
                  "Parameter name: the name, together with the ARN prefix "
                  "arn:aws:ssm:<region>:<account>:parameter/, can be at most 1011 characters "
                  "long.");
  }
  size_t levels = 1;
  for (char c : bare) levels += (c == '/');
  if (levels > kMaxHierarchyLevels) {
    return Status(ErrorCode::kHierarchyLevelLimitExceededException,
                  "A hierarchy can have a maximum of 15 levels. For more information, see "
                  "Requirements and constraints for parameter names in the AWS Systems Manager "
                  "User Guide.");
  }
  return Status::Ok();
}

Result<std::string> NormalizePath(std::string_view path) {
  auto invalid = [] {
    return Status(ErrorCode::kValidationException,
                  "The parameter doesn't meet the parameter name requirements. The parameter name "
                  "must begin with a forward slash \"/\". It can't be prefixed with \"aws\" or "
                  "\"ssm\" (case-insensitive). It must use only letters, numbers, or the "
                  "following symbols: . (period), - (hyphen), _ (underscore). Special characters "
                  "are not allowed. All sub-paths, if specified, must use the forward slash symbol "
                  "\"/\". Valid example: /get/parameters2-/by1./path0_.");
  };
  if (path.empty() || path[0] != '/' || path.find("//") != std::string_view::npos) {
    return invalid();
  }
  for (char c : path) {
    if (c != '/' && !IsNameChar(c)) return invalid();
  }
  std::string p(path);
  if (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

Result<ParameterReference> ParseReference(const Scope& scope, std::string_view input) {
  ParameterReference ref;
  std::string_view rest = input;
  if (input.rfind("arn:", 0) == 0) {
    auto arn = ParseArn(input);
    if (!arn || arn->service != "ssm" || arn->resource.rfind("parameter", 0) != 0) {
      return Status(ErrorCode::kValidationException, "Invalid ARN: " + std::string(input));
    }
    if (arn->account != scope.account || arn->region != scope.region) {
      return Status(ErrorCode::kParameterNotFound, "");
    }
    rest = std::string_view(input).substr(input.size() - arn->resource.size() + 9);  // "parameter"
    // "parameter/a/b" names "/a/b"; "parameter/foo" names "foo" (one level, either spelling).
    if (rest.size() > 1 && rest.find('/', 1) == std::string_view::npos) rest.remove_prefix(1);
  }
  size_t colon = rest.find(':');
  std::string_view name_part = rest.substr(0, colon);
  for (char c : name_part) {
    if (c != '/' && !IsNameChar(c))
      return Status(ErrorCode::kValidationException, kInvalidNameMessage);
  }
  if (colon == std::string_view::npos) {
    ref.name = std::string(rest);
    return ref;
  }
  std::string_view selector = rest.substr(colon + 1);
  ref.name = std::string(rest.substr(0, colon));
  if (selector.empty() || selector.find(':') != std::string_view::npos) {
    return Status(ErrorCode::kValidationException,
                  "Invalid parameter name. Please ensure that the selector is a version number or "
                  "a label.");
  }
  ref.selector = ":" + std::string(selector);
  bool digits = true;
  for (char c : selector) digits = digits && std::isdigit(static_cast<unsigned char>(c));
  if (digits && selector.size() <= 18) {
    ref.version = std::stoll(std::string(selector));
  } else {
    ref.label = std::string(selector);
  }
  return ref;
}

bool IsValidLabel(std::string_view label) {
  if (label.empty() || label.size() > 100) return false;
  if (std::isdigit(static_cast<unsigned char>(label[0]))) return false;
  if (StartsWithIgnoreCase(label, "aws") || StartsWithIgnoreCase(label, "ssm")) return false;
  for (char c : label) {
    if (!IsNameChar(c)) return false;
  }
  return true;
}

}  // namespace coffer::params
