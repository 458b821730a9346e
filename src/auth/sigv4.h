// AWS Signature Version 4 verification of incoming requests.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
//
// VerifySigV4 checks the Authorization header form and the presigned query form, in AWS's order:
// parse -> access key known -> credential scope and date -> clock skew -> signed headers (host,
// and X-Amz-Target and Content-Type whenever X-Amz-Target is sent) -> payload hash ->
// signature (constant-time) -> session token. Derived signing keys are cached per thread.
// UNSIGNED-PAYLOAD stands for a body only over TLS (header and presigned forms alike).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/clock.h"
#include "core/principal.h"
#include "core/secret_bytes.h"
#include "core/status.h"

namespace coffer {

struct SigV4Request {
  std::string_view method;
  std::string_view target;  // request-target as received: path plus optional "?query"
  // Header names lowercase, values as received, in arrival order (duplicates allowed).
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  std::string_view body;
  bool secure_transport = false;  // TLS
};

struct Credential {
  SecretBytes secret_access_key;
  Principal principal;
  // Temporary credentials only: SHA-256 (lowercase hex) of the session token, which coffer
  // does not keep.
  std::string session_token_sha256;
  std::optional<EpochMillis> expires_ms;
};

// The credential of an access key id: null when the key is unknown (or inactive), an error
// when the store holding the keys could not be read (the caller answers ServiceUnavailable,
// which clients retry, rather than calling a valid key invalid).
using CredentialLookup = Result<std::shared_ptr<const Credential>>;

// Looks up the credential of an access key id. Thread-safe.
class CredentialSource {
 public:
  virtual ~CredentialSource() = default;
  virtual CredentialLookup Find(std::string_view access_key_id) = 0;
};

enum class AuthFailure {
  kMissing,       // no Authorization header and no X-Amz-Signature query parameter
  kIncomplete,    // malformed or incomplete signature fields
  kUnknownKey,    // access key id not known
  kBadSignature,  // mismatch, wrong scope, skew, payload hash
  kExpiredToken,  // temporary credentials past their expiry
  kUnavailable,   // the credentials could not be looked up now (the store is unreachable)
};

struct AuthError {
  AuthFailure failure;
  std::string message;
  // When the access key is known (a bad signature, an expired session token): the account that
  // owns it and the region the request was signed for, for the UnauthorizedSecretAccess alarm.
  std::string key_account;
  std::string region;
  std::string access_key_id;  // the known key's id (the dashboard's recent failures)
};

struct VerifiedCaller {
  std::shared_ptr<const Credential> credential;
  std::string region;      // from the credential scope
  std::string service;     // from the credential scope
  bool presigned = false;  // signed in the query string (X-Amz-Signature)
  // Whether the signature covers the body (false for UNSIGNED-PAYLOAD with a body, which is
  // accepted only over TLS).
  bool payload_signed = true;
};

// `now` is coffer's clock, which credential expiry is checked against; `signature_now` is the
// real time the request's X-Amz-Date must be within 5 minutes of (or its presigned expiry after).
// They differ only on a server whose clock is offset (--clock-offset-seconds).
std::variant<VerifiedCaller, AuthError> VerifySigV4(const SigV4Request& request,
                                                    CredentialSource& credentials, EpochMillis now,
                                                    EpochMillis signature_now);
// Both times the same: the usual case.
inline std::variant<VerifiedCaller, AuthError> VerifySigV4(const SigV4Request& request,
                                                           CredentialSource& credentials,
                                                           EpochMillis now) {
  return VerifySigV4(request, credentials, now, now);
}

// Makes every thread drop (and wipe) its cached signing keys before it verifies again; called
// when coffer seals, so nothing derived from a secret access key outlives the unsealed state.
void ForgetCachedSigningKeys();

// Exposed for tests and for the load generator, which signs requests the same way.
std::string CanonicalQueryString(std::string_view raw_query, bool exclude_signature);
std::string CanonicalUri(std::string_view raw_path);
std::string UriEncode(std::string_view s, bool keep_slash);
std::string SigningKey(std::string_view secret, std::string_view date, std::string_view region,
                       std::string_view service);

// Signs a request (Authorization header form) and returns the header value; every header given
// is signed (names lowercase, "host" and "x-amz-date" among them). Used by `coffer operator`,
// the load generator and tests.
std::string SignRequest(std::string_view method, std::string_view target,
                        const std::vector<std::pair<std::string, std::string>>& headers,
                        std::string_view body, std::string_view access_key_id,
                        std::string_view secret, std::string_view amz_date, std::string_view region,
                        std::string_view service);

}  // namespace coffer
