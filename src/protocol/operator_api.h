// OperatorApi: coffer's own endpoints for the seal, beside the AWS APIs on the same listener.
//
//   GET  /coffer/seal-status  no auth  {"Sealed","Type","Shares","Threshold","Progress"}
//   POST /coffer/unseal       no auth  {"Share": ...} | {"Passphrase": ...} | {"Reset": true}
//   POST /coffer/seal         SigV4 (service "coffer"), an account's root credentials
//   POST /coffer/rotate-root  SigV4 as above; only while unsealed
//   POST /coffer/accounts     SigV4 by the deployment's first account's root: creates another
//                             account with its root access key {"AccountId"?} -> credentials
//   GET  /coffer/events?after=N  SigV4 by an account's root: the account's events (rotation,
//                             parameter changes, denials) after id N, oldest first, up to 100
//   POST /coffer/functions    SigV4 by an account's root: registers (or with "Delete": true
//                             removes) a rotation function in the signing region
//                             {"Name","Kind":"exec"|"builtin","Command":[...]|"Builtin":...,
//                              "RoleArn","TimeoutSeconds","Environment":{...}} -> {"FunctionArn"}
//
// Unsealing cannot require a signature: while sealed the secret access keys themselves are
// locked away. Shares and passphrases protect it instead, and no response or error carries
// them. Errors use the AWS JSON error shape. Thread-safe.
#pragma once

#include <string>
#include <utility>

#include "auth/sigv4.h"
#include "core/clock.h"
#include "keyring/keyring.h"
#include "keyring/seal_manager.h"
#include "protocol/api_dispatcher.h"
#include "store/store.h"

namespace coffer {

class OperatorApi {
 public:
  OperatorApi(CredentialSource* credentials, SealManager* seal, Keyring* keyring, Store* store,
              std::string operator_account, const Clock* clock)
      : credentials_(credentials),
        seal_(seal),
        keyring_(keyring),
        store_(store),
        operator_account_(std::move(operator_account)),
        clock_(clock) {}

  static bool IsOperatorPath(std::string_view target);
  bool sealed() const { return keyring_->sealed(); }

  ApiResponse Handle(const ApiRequest& request, const std::string& request_id);

 private:
  ApiResponse SealStatusResponse(const std::string& request_id) const;
  // Verifies the signature of an operator call; the caller must be an account's root (the
  // operator account's root when `operator_only`).
  Status Authorize(const ApiRequest& request, bool operator_only, VerifiedCaller* caller);
  ApiResponse CreateAccount(const ApiRequest& request, const std::string& request_id);
  ApiResponse ListEvents(const ApiRequest& request, const VerifiedCaller& caller,
                         const std::string& request_id);
  ApiResponse PutFunction(const ApiRequest& request, const VerifiedCaller& caller,
                          const std::string& request_id);

  CredentialSource* credentials_;
  SealManager* seal_;
  Keyring* keyring_;
  Store* store_;
  std::string operator_account_;
  const Clock* clock_;
};

}  // namespace coffer
