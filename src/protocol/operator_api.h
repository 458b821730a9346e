// OperatorApi: coffer's own endpoints for the seal, beside the AWS APIs on the same listener.
//
//   GET  /coffer/seal-status  no auth  {"Sealed","Type","Shares","Threshold","Progress"}
//   POST /coffer/unseal       no auth  {"Share": ...} | {"Passphrase": ...} | {"Reset": true}
//   POST /coffer/seal         SigV4 (service "coffer"), an account's root credentials
//   POST /coffer/rotate-root  SigV4 as above; only while unsealed
//
// Unsealing cannot require a signature: while sealed the secret access keys themselves are
// locked away. Shares and passphrases protect it instead, and no response or error carries
// them. Errors use the AWS JSON error shape. Thread-safe.
#pragma once

#include <string>

#include "auth/sigv4.h"
#include "core/clock.h"
#include "keyring/keyring.h"
#include "keyring/seal_manager.h"
#include "protocol/api_dispatcher.h"

namespace coffer {

class OperatorApi {
 public:
  OperatorApi(CredentialSource* credentials, SealManager* seal, Keyring* keyring,
              const Clock* clock)
      : credentials_(credentials), seal_(seal), keyring_(keyring), clock_(clock) {}

  static bool IsOperatorPath(std::string_view target);
  bool sealed() const { return keyring_->sealed(); }

  ApiResponse Handle(const ApiRequest& request, const std::string& request_id);

 private:
  ApiResponse SealStatusResponse(const std::string& request_id) const;
  // Verifies the signature of an operator call; the caller must be an account's root.
  Status Authorize(const ApiRequest& request);

  CredentialSource* credentials_;
  SealManager* seal_;
  Keyring* keyring_;
  const Clock* clock_;
};

}  // namespace coffer
