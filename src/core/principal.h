// Principal: who made a request, as established by SigV4 verification.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/enum_names.h"

namespace coffer {

// The kinds of caller, named as CloudTrail's userIdentity.type names them; AWSService is coffer
// itself acting for a service (rotation, jobs).
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html
enum class PrincipalType { kRoot, kIamUser, kAssumedRole, kAwsService };
inline constexpr EnumName<PrincipalType> kPrincipalTypeNames[] = {
    {PrincipalType::kRoot, "Root"},
    {PrincipalType::kIamUser, "IAMUser"},
    {PrincipalType::kAssumedRole, "AssumedRole"},
    {PrincipalType::kAwsService, "AWSService"}};
inline std::string_view PrincipalTypeName(PrincipalType t) {
  return NameOf(kPrincipalTypeNames, t);
}

struct Principal {
  std::string account;        // 12-digit account id
  std::string arn;            // e.g. arn:aws:iam::123456789012:root
  std::string user_id;        // GetCallerIdentity's UserId
  std::string access_key_id;  // the key that signed the request
  PrincipalType type = PrincipalType::kRoot;
  std::string user_name;   // IAMUser, or the user behind GetSessionToken credentials
  std::string role_arn;    // AssumedRole: arn:aws:iam::<acct>:role/<path><name>
  std::string role_name;   // AssumedRole
  bool temporary = false;  // STS credentials (access key id ASIA...)
  int chain_depth = 0;     // AssumedRole: 1 when assumed by another role session
};

}  // namespace coffer
