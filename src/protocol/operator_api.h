// OperatorApi: coffer's own endpoints for the deployment and its accounts, beside the AWS APIs
// on the same listener.
//
// Two kinds of caller sign them (SigV4, service "coffer", long-term root keys only):
//   the deployment operator  the root of the deployment's first account (the one `coffer
//                            operator init` or the first start created): seals, unseals,
//                            re-keys and rotates the root key, creates accounts, and alone
//                            chooses the programs `exec` functions run on the host;
//   an account's root        registers http and builtin functions in its own account and
//                            reads its own account's events.
// Other callers, other accounts' roots included, get AccessDeniedException.
//
//   GET  /coffer/seal-status  no auth  {"Sealed","Type","Shares","Threshold","Progress"}
//   POST /coffer/unseal       no auth  {"Share","Nonce"?} | {"Passphrase"} |
//                             {"Reset":true,"Nonce" or "Share"}
//                             -> seal status, with the attempt's "Nonce" to whoever gave a share
//   POST /coffer/seal         operator
//   POST /coffer/rotate-root  operator; only while unsealed
//   POST /coffer/rekey        operator: {"Seal":"file"|"passphrase"|"shamir","Shares",
//                             "Threshold","Passphrase"} -> {"Seal","Shares":[...],"Threshold"}
//   POST /coffer/accounts     operator: creates another account with its root access key
//                             {"AccountId"?} -> credentials
//   GET  /coffer/events?after=N  an account's root: the account's events (rotation, parameter
//                             changes, denials) after id N, oldest first, up to 100
//   /coffer/alarms, /coffer/alarms/history, /coffer/sinks, /coffer/sinks/test
//                             an account's root: its account's built-in alarms, their history
//                             and settings (monitoring/alarms_api.h), its notification sinks
//                             (monitoring/notifications.h); added by the composition root
//   POST /coffer/functions    an account's root: registers (or with "Delete": true removes) a
//                             rotation function in the signing region
//                             {"Name","Kind":"exec"|"http"|"builtin","Command":[...]|"Url"|
//                              "Builtin","RoleArn","TimeoutSeconds","Environment":{...},
//                              "Account"?} -> {"FunctionArn","SigningKey"?}; exec functions and
//                             "Account" (another account's function) are the operator's
//
// Every POST takes Content-Type application/json (so no web page can post a form to them), and
// every request is SigV4-signed but the unseal and the seal status. Unsealing cannot require a
// signature: while sealed the secret access keys themselves are locked away. Shares and
// passphrases protect it instead (see keyring/seal_manager.h), and no response or error carries
// them. Errors use the AWS JSON error shape. Thread-safe.
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "auth/sigv4.h"
#include "core/clock.h"
#include "keyring/keyring.h"
#include "keyring/seal_manager.h"
#include "protocol/api_dispatcher.h"
#include "store/store.h"

namespace coffer {

// An operator call as its audit record tells it (the dispatcher writes the record): what was
// asked and who signed it. Request bodies are not recorded: they carry unseal shares,
// passphrases and functions' environments.
struct OperatorCall {
  std::string event_name;                    // "Unseal", "RotateRoot", ...; empty: no endpoint
  std::shared_ptr<const Credential> caller;  // null when the call was not signed or not verified
  std::string region;                        // the signature's region
};

class OperatorApi {
 public:
  // `key_file` keeps the file seal's key for rekeys (may be null: no rekey to the file seal).
  // `signature_clock` as for ApiDispatcher.
  OperatorApi(CredentialSource* credentials, SealManager* seal, Keyring* keyring, Store* store,
              std::string operator_account, const Clock* clock, UnsealKeyFile* key_file = nullptr,
              const Clock* signature_clock = nullptr)
      : credentials_(credentials),
        seal_(seal),
        keyring_(keyring),
        store_(store),
        operator_account_(std::move(operator_account)),
        clock_(clock),
        signature_clock_(signature_clock ? signature_clock : clock),
        key_file_(key_file) {
    AddAccountEndpoint(
        {"/coffer/events", "ListEvents", "",
         [this](std::string_view, std::string_view, const std::map<std::string, std::string>& query,
                const boost::json::object&, const std::string& account,
                bool) { return ListEvents(query, account); }});
  }

  // Runs before events are listed (to write what is counted but not yet stored).
  void SetBeforeListEvents(std::function<void()> hook) { before_list_events_ = std::move(hook); }

  // Stores a rotation function whose request this API has parsed and checked, doing what only
  // the rotation side knows (the execution role's trust, an http function's signing key, returned
  // hex or ""). The composition root wires it to the rotation module; unset, registering a
  // function answers that rotation is not available.
  using FunctionRegistrar = std::function<Result<std::string>(RotationFunctionRow row)>;
  void SetFunctionRegistrar(FunctionRegistrar registrar) {
    register_function_ = std::move(registrar);
  }

  // An endpoint of an account's own, answered elsewhere once this API has verified the call
  // and found its signer an account's root: (method, path, query parameters, JSON body, the
  // caller's account, whether the caller is the operator) -> the answer. The composition root
  // adds the alarms' (monitoring/alarms_api.h) and the notification sinks' endpoints.
  using AccountHandler = std::function<Result<boost::json::object>(
      std::string_view method, std::string_view path,
      const std::map<std::string, std::string>& query, const boost::json::object& body,
      const std::string& account, bool is_operator)>;
  struct AccountEndpoint {
    std::string path;        // exact, e.g. "/coffer/alarms"
    std::string get_event;   // the audit record's event name of a GET ("" : no GET)
    std::string post_event;  // of a POST ("" : no POST)
    AccountHandler handler;
  };
  void AddAccountEndpoint(AccountEndpoint endpoint) {
    account_endpoints_.push_back(std::move(endpoint));
  }

  static bool IsOperatorPath(std::string_view target);
  // The event name calls of the endpoint `target` names are recorded under ("Unseal",
  // "RotateRoot", ...); empty for a path that is no endpoint.
  static std::string_view EventNameOf(std::string_view target);
  bool sealed() const { return keyring_->sealed(); }

  // `call`, when given, is filled in for the call's audit record.
  ApiResponse Handle(const ApiRequest& request, const std::string& request_id,
                     OperatorCall* call = nullptr);
  const std::string& operator_account() const { return operator_account_; }

 private:
  enum class Caller { kAccountRoot, kOperator };
  ApiResponse SealStatusResponse(const std::string& request_id) const;
  // Verifies the signature of an operator call; the caller must be an account's root (the
  // deployment operator for kOperator).
  Status Authorize(const ApiRequest& request, Caller who, VerifiedCaller* caller);
  bool IsOperator(const Principal& p) const;
  ApiResponse Unseal(const ApiRequest& request, const std::string& request_id);
  ApiResponse Rekey(const ApiRequest& request, const std::string& request_id);
  ApiResponse CreateAccount(const ApiRequest& request, const std::string& request_id);
  Result<boost::json::object> ListEvents(const std::map<std::string, std::string>& query,
                                         const std::string& account);
  ApiResponse CallAccountEndpoint(const AccountEndpoint& endpoint, const ApiRequest& request,
                                  const std::string& request_id, OperatorCall* call);
  ApiResponse PutFunction(const ApiRequest& request, const VerifiedCaller& caller,
                          const std::string& request_id);

  CredentialSource* credentials_;
  SealManager* seal_;
  Keyring* keyring_;
  Store* store_;
  std::string operator_account_;
  const Clock* clock_;
  const Clock* signature_clock_;
  UnsealKeyFile* key_file_;
  std::function<void()> before_list_events_;
  FunctionRegistrar register_function_;
  std::vector<AccountEndpoint> account_endpoints_;
};

}  // namespace coffer
