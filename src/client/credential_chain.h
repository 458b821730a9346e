// The AWS credential and configuration chain, as the AWS CLI and SDKs resolve it, so `coffer
// exec` finds the same credentials, region and endpoint as the workload's own SDK would.
//
// Credentials, first that answers:
//   1. --profile not given: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN);
//   2. the profile (--profile, else AWS_PROFILE, else "default") in the shared config and
//      credentials files (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/...):
//      role_arn with source_profile (chained, cycles refused) or credential_source=Environment,
//      assumed through STS AssumeRole; else static keys; else credential_process.
//   Then, with --role-arn, that role is assumed with what the chain found.
// Not resolved here (an error names them): SSO, web identity, MFA, the container and instance
// metadata endpoints.
// Region: --region, AWS_REGION, AWS_DEFAULT_REGION, the profile's region.
// Endpoint, per service: --endpoint-url, AWS_ENDPOINT_URL_<SERVICE> (SECRETS_MANAGER, SSM,
// STS), AWS_ENDPOINT_URL, the profile's endpoint_url; none of the last three when
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true. None: AWS's own endpoint.
// https://docs.aws.amazon.com/sdkref/latest/guide/standardized-credentials.html
// https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "client/aws_client.h"
#include "core/status.h"

namespace coffer::client {

struct ChainOptions {
  std::string profile;       // --profile
  std::string region;        // --region
  std::string endpoint_url;  // --endpoint-url
  std::string role_arn;      // --role-arn
  std::string role_session_name = "coffer-exec";
  int duration_seconds = 3600;
};

// One file's sections: profile name -> key -> value. In the config file "[profile NAME]" and
// "[default]" name profiles; in the credentials file "[NAME]". Keys are lowercased; comments
// (# or ;) and nested "sub-section" lines are skipped.
using ProfileSections = std::map<std::string, std::map<std::string, std::string>>;
ProfileSections ParseProfileFile(std::string_view text, bool config_file);

// The profile the options and environment name ("default" when none).
std::string SelectedProfile(const ChainOptions& options, const Environment& env);

// Resolves credentials, region and endpoints. Errors: InvalidParameter naming what is missing
// or unsupported; an STS or credential_process failure, with its text.
Result<ClientSettings> ResolveClientSettings(const ChainOptions& options, const Environment& env);

// Temporary credentials for `role_arn`, from STS AssumeRole called with `base`'s credentials.
Result<AwsCredentials> AssumeRole(const ClientSettings& base, const std::string& role_arn,
                                  const std::string& session_name, int duration_seconds,
                                  const std::string& external_id = "");
// Temporary credentials from STS GetSessionToken, for long-term keys (as aws-vault exports).
Result<AwsCredentials> GetSessionToken(const ClientSettings& base, int duration_seconds);

}  // namespace coffer::client
