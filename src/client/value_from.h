// What a container definition's `secrets[].valueFrom` names, read as the ECS agent reads it.
//
// A Secrets Manager ARN names the whole secret ("arn:aws:secretsmanager:R:A:secret:name-AbCdEf"),
// or with selectors "...:secret:name-AbCdEf:json-key:version-stage:version-id" (every field
// optional, every colon kept). Anything else is a Parameter Store parameter: its ARN, or its name
// in the task's region.
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-ssm-paramstore.html
#pragma once

#include <boost/json.hpp>
#include <string>

#include "core/status.h"

namespace coffer::client {

struct SecretReference {
  enum class Service { kSecretsManager, kParameterStore };

  std::string env_name;    // the variable it becomes
  std::string value_from;  // as written
  Service service = Service::kParameterStore;
  std::string region;  // the ARN's; empty: the task's region
  // Secrets Manager: the SecretId to ask for, the JSON key to pick, the version selectors (both
  // may be given: they are passed on as the agent passes them).
  std::string secret_id;
  std::string json_key;
  std::string version_stage;
  std::string version_id;
};

// Errors: InvalidParameter, with the ECS agent's message for a malformed Secrets Manager ARN.
Result<SecretReference> ParseValueFrom(const std::string& env_name, const std::string& value_from);

// A JSON value as ECS injects a non-string JSON key: Go's fmt "%v" of the decoded value (numbers
// as float64 — 1e+06, 12.5 —, true, <nil>, map[a:1 b:x], [1 2]).
std::string RenderAsEcs(const boost::json::value& value);

}  // namespace coffer::client
