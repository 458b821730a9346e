// Principal: who made a request, as established by SigV4 verification.
#pragma once

#include <string>

namespace coffer {

struct Principal {
  std::string account;        // 12-digit account id
  std::string arn;            // e.g. arn:aws:iam::123456789012:root
  std::string user_id;        // GetCallerIdentity's UserId
  std::string access_key_id;  // the key that signed the request
  std::string type;           // "Root", "IAMUser", "AssumedRole"
};

}  // namespace coffer
