// A container's environment and secrets as a task definition states them, read from the files
// ECS users already have: an ECS task definition (RegisterTaskDefinition's input or
// DescribeTaskDefinition's output) or a CloudFormation template such as `cdk synth` writes
// (AWS::ECS::TaskDefinition, its ContainerDefinitions). And ECS's environment files.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace coffer::client {

struct ContainerEnvironment {
  std::string container;
  std::vector<std::pair<std::string, std::string>> environment;  // name, value (plaintext)
  std::vector<std::pair<std::string, std::string>> secrets;      // name, valueFrom
  std::vector<std::string> environment_files;                    // local paths
};

// What a template's references resolve to. Called only when a template needs them.
struct TemplateContext {
  std::string region;
  std::string partition = "aws";
  std::function<Result<std::string>()> account_id;  // AWS::AccountId
};

// Reads `text` (JSON) as a task definition or a CloudFormation template and answers the named
// container (any name when the file holds one container). Relative environment file paths are
// taken from `base_dir`. In a template, Ref, Fn::Join and Fn::Sub are resolved: pseudo
// parameters, template parameters with a Default, secrets and SSM parameters that set their
// Name. A secret's Ref is its ARN; here, its partial ARN (without the random suffix), which
// GetSecretValue takes and policies on "secret:NAME-*" match, so no call is needed to find it.
// Errors: InvalidParameter naming every reference that cannot be resolved (a resource
// CloudFormation names itself, Fn::GetAtt, Fn::ImportValue...), an S3 environment file, a
// container that is missing or not named when there are several.
Result<ContainerEnvironment> ReadContainerEnvironment(const std::string& text,
                                                      const std::string& container,
                                                      const std::string& base_dir,
                                                      const TemplateContext& context);

// An ECS environment file: one VARIABLE=VALUE per line, '#' lines and blank lines skipped, spaces
// and quotes kept as part of the value. Appends the variables not already in `out` (the first
// file to set a variable wins). Errors: InvalidParameter naming the file and line (never its
// text) of a line without '='.
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/use-environment-file.html
Status ReadEnvironmentFile(const std::string& path,
                           std::vector<std::pair<std::string, std::string>>* out);

}  // namespace coffer::client
