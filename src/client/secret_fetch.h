// Fetches the secrets a container asks for, all or nothing, as the ECS agent does before it
// starts a task: one GetSecretValue per distinct secret and version (JSON keys picked from it),
// GetParameters with decryption in batches of 10 per region. Any failure fails the whole fetch
// with ECS's ResourceInitializationError text, each secret's AWS error joined.
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/troubleshoot-task-secrets.html
#pragma once

#include <string>
#include <vector>

#include "client/aws_client.h"
#include "client/value_from.h"
#include "core/secret_bytes.h"
#include "core/status.h"

namespace coffer::client {

struct FetchedSecret {
  std::string env_name;
  SecretBytes value;
  std::string version;  // Secrets Manager: the VersionId served; Parameter Store: the Version
};

// In the order of `refs`. Errors: InvalidParameter whose message begins
// "ResourceInitializationError: unable to pull secrets".
Result<std::vector<FetchedSecret>> FetchSecrets(const AwsClient& client,
                                                const std::vector<SecretReference>& refs);

// Whether a fetched secret would now be served another version: another version holds the
// requested stage (DescribeSecret), or a parameter has a new version (GetParameters without
// decryption). A secret pinned to a version id never changes. Reads no secret value.
// Errors: the first failed call's text (InvalidParameter).
Result<bool> SecretsMoved(const AwsClient& client, const std::vector<SecretReference>& refs,
                          const std::vector<FetchedSecret>& fetched);

}  // namespace coffer::client
