// Amazon Resource Names: arn:<partition>:<service>:<region>:<account>:<resource>.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace coffer {

struct Arn {
  std::string partition;
  std::string service;
  std::string region;
  std::string account;
  std::string resource;  // everything after the fifth ':' (may itself contain ':' or '/')

  std::string ToString() const;
};

// Returns nullopt unless s has the six ':'-separated parts with "arn" first and a non-empty
// partition and service.
std::optional<Arn> ParseArn(std::string_view s);

// The name at the end of an IAM ARN's path ("arn:aws:iam::<acct>:role/<path>/<name>" ->
// "<name>"); empty when the ARN has no '/'.
std::string IamNameOfArn(std::string_view arn);

// True when the region name has AWS's shape (e.g. "us-east-1", "eu-central-2",
// "us-gov-west-1"): lowercase letters and digits in '-'-separated groups ending in a digit.
bool IsValidRegionName(std::string_view region);

}  // namespace coffer
