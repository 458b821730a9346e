// AwsClient: coffer's own client of the AWS APIs it also serves (Secrets Manager, Parameter
// Store, STS), for the commands that run beside a workload: `coffer exec`, `coffer env` and
// `coffer agent`. It signs with SigV4 and talks to whichever endpoint the settings name: a coffer
// server, or AWS itself when none is set, so the same binary works in both worlds.
#pragma once

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/secret_bytes.h"
#include "core/status.h"

namespace coffer::client {

// The process environment, as a map, so resolution can be tested without touching the real one.
using Environment = std::map<std::string, std::string>;
Environment ProcessEnvironment();

struct AwsCredentials {
  std::string access_key_id;
  SecretBytes secret_access_key;
  std::string session_token;  // empty for long-term keys
  std::string expiration;     // ISO 8601, when temporary credentials say so
  std::string source;         // where they came from, for messages ("environment", "profile dev")
};

// Everything a call needs besides its input: who signs, in which region, and where to.
struct ClientSettings {
  AwsCredentials credentials;
  std::string region;
  // Per signing service ("secretsmanager", "ssm", "sts"): the endpoint URL. A service missing
  // here goes to AWS's public endpoint for the region.
  std::map<std::string, std::string> endpoints;
  std::string ca_bundle;  // PEM file for https endpoints; empty = the system's store
  std::chrono::seconds timeout{30};
};

// The URL the settings send `service` calls to.
std::string EndpointFor(const ClientSettings& settings, const std::string& service);

// A failed call keeps the service's error code (the wire `__type` or `<Code>`) even when coffer
// itself has no such code, and whether a retry could succeed.
struct CallFailure {
  std::string code;     // e.g. "ResourceNotFoundException"; "ConnectionError" when unreachable
  std::string message;  // the service's message
  int http_status = 0;  // 0 when no response came
  // Unreachable, timed out, throttled or a 5xx: the agent serves a stale value then.
  bool transient() const;
  // "Code: message", as the AWS SDKs print an error.
  std::string Text() const;
};

template <typename T>
struct CallResult {
  std::optional<T> value;
  CallFailure failure;  // set when !value
  bool ok() const { return value.has_value(); }
};

class AwsClient {
 public:
  explicit AwsClient(ClientSettings settings) : settings_(std::move(settings)) {}

  // A JSON 1.1 protocol call (Secrets Manager: target "secretsmanager.GetSecretValue"; Parameter
  // Store: "AmazonSSM.GetParameters"), signed for `service`, in `region` (empty: the settings').
  // Answers the response object. Thread-safe.
  // `cancel`, when set during the call, abandons it (a ConnectionError); `timeout` overrides the
  // settings' (a long poll waits longer than a call).
  CallResult<boost::json::object> CallJson(const std::string& service, const std::string& target,
                                           const boost::json::object& input,
                                           const std::string& region = "",
                                           const std::atomic<bool>* cancel = nullptr,
                                           std::optional<std::chrono::seconds> timeout = {}) const;
  // A query protocol call (STS): `params` without Action and Version, which are added. Answers
  // the XML body.
  CallResult<std::string> CallQuery(const std::string& service, const std::string& action,
                                    const std::string& version,
                                    const std::vector<std::pair<std::string, std::string>>& params,
                                    const std::string& region = "") const;

  const ClientSettings& settings() const { return settings_; }

 private:
  CallResult<std::string> Send(const std::string& service, const std::string& region,
                               const std::vector<std::pair<std::string, std::string>>& headers,
                               const std::string& content_type, const std::string& body,
                               const std::atomic<bool>* cancel = nullptr,
                               std::optional<std::chrono::seconds> timeout = {}) const;

  ClientSettings settings_;
};

// The text of the first <tag>...</tag> in an XML document (entities decoded), if any. Enough for
// the flat responses of STS.
std::optional<std::string> XmlElementText(const std::string& xml, const std::string& tag);

}  // namespace coffer::client
