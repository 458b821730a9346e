// Principal: who made a request, as established by SigV4 verification.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace coffer {

struct Principal {
  std::string account;        // 12-digit account id
  std::string arn;            // e.g. arn:aws:iam::123456789012:root
  std::string user_id;        // GetCallerIdentity's UserId
  std::string access_key_id;  // the key that signed the request
  std::string type;           // "Root", "IAMUser", "AssumedRole"; "AWSService" for coffer itself
  std::string user_name;      // IAMUser, or the user behind GetSessionToken credentials
  std::string role_arn;       // AssumedRole: arn:aws:iam::<acct>:role/<path><name>
  std::string role_name;      // AssumedRole
  bool temporary = false;     // STS credentials (access key id ASIA...)
  int chain_depth = 0;        // AssumedRole: 1 when assumed by another role session
};

}  // namespace coffer
