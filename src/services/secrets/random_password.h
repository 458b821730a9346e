// GetRandomPassword's generator.
// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetRandomPassword.html
#pragma once

#include <string>

#include "core/secret_bytes.h"
#include "core/status.h"

namespace coffer::secrets {

struct PasswordOptions {
  int64_t length = 32;
  std::string exclude_characters;
  bool exclude_numbers = false;
  bool exclude_punctuation = false;
  bool exclude_uppercase = false;
  bool exclude_lowercase = false;
  bool include_space = false;
  bool require_each_included_type = true;
};

// Draws from the CSPRNG without modulo bias. When require_each_included_type is set, every
// character class left after exclusions appears at least once. Errors: InvalidParameterException
// when every character is excluded or the length can't hold one of each required class.
Result<SecretBytes> GenerateRandomPassword(const PasswordOptions& options);

}  // namespace coffer::secrets
