#include "services/params/value_rules.h"

#include "services/params/allowed_pattern.h"

namespace coffer::params {

Status CheckDeclaredKinds(const std::optional<std::string>& type,
                          const std::optional<std::string>& tier,
                          const std::optional<std::string>& data_type) {
  if (type && *type != "String" && *type != "StringList" && *type != "SecureString") {
    return Status(ErrorCode::kValidationException,
                  "1 validation error detected: Value '" + *type +
                      "' at 'type' failed to satisfy constraint: Member must satisfy enum value "
                      "set: [SecureString, StringList, String]");
  }
  if (tier && *tier != "Standard" && *tier != "Advanced" && *tier != "Intelligent-Tiering") {
    return Status(ErrorCode::kValidationException,
                  "1 validation error detected: Value '" + *tier +
                      "' at 'tier' failed to satisfy constraint: Member must satisfy enum value "
                      "set: [Standard, Advanced, Intelligent-Tiering]");
  }
  if (data_type && *data_type != "text" && *data_type != "aws:ec2:image" &&
      *data_type != "aws:ssm:integration") {
    return Status(ErrorCode::kValidationException,
                  "The following data type is not supported: " + *data_type +
                      " (Data type names are all lowercase.)");
  }
  return Status::Ok();
}

Status CheckParameterValue(std::string_view value,
                           const std::optional<std::string>& allowed_pattern,
                           const std::string& data_type) {
  if (value.size() > kAdvancedValueBytes) {
    return Status(ErrorCode::kValidationException,
                  "Advanced tier parameters support a maximum parameter value of 8192 "
                  "characters.");
  }
  if (allowed_pattern) {
    COFFER_ASSIGN_OR_RETURN(AllowedPattern pattern, AllowedPattern::Compile(*allowed_pattern));
    if (!pattern.Matches(value)) {
      return Status(
          ErrorCode::kParameterPatternMismatchException,
          "Parameter value, cannot be validated against allowedPattern: " + *allowed_pattern);
    }
  }
  if (data_type == "aws:ec2:image") {
    static const AllowedPattern kAmi =
        AllowedPattern::Compile("ami-[0-9a-f]{8}([0-9a-f]{9})?").value();
    if (!kAmi.Matches(value)) {
      return Status(ErrorCode::kValidationException,
                    "Parameter value, cannot be validated against data type aws:ec2:image: it "
                    "must be an AMI id such as ami-12345678.");
    }
  }
  return Status::Ok();
}

}  // namespace coffer::params
