// `coffer operator ...`: initialise a data directory, and inspect, unseal, seal and rotate the
// root key of a running server through its operator endpoints (protocol/operator_api.h).
#pragma once

#include <boost/beast/http/verb.hpp>
#include <boost/json.hpp>
#include <string>
#include <vector>

#include "keyring/seal_manager.h"

namespace coffer::cli {

struct InitFlags {
  std::string data_dir = "./data";
  std::string account_id;
  std::string seal = "file";
  int key_shares = 5;
  int key_threshold = 3;
  std::string passphrase_file;
};

struct RemoteFlags {
  std::string endpoint;   // default: $COFFER_ENDPOINT, else http://127.0.0.1:4600
  std::string ca_bundle;  // PEM file to verify an https endpoint with (default: system store)
  // unseal
  bool reset = false;
  std::string share_file;
  std::string passphrase_file;
  std::string nonce;  // the unseal attempt's, from the first share
  // seal, rotate-root
  std::string profile;
  std::string region = "us-east-1";
};

struct FunctionFlags {
  std::string name;
  std::string kind = "exec";
  std::vector<std::string> command;
  std::string builtin;
  std::string url;
  std::string role_arn;
  std::string account;  // the operator registering another account's function
  int timeout_seconds = 300;
  std::vector<std::string> environment;  // NAME=VALUE
  bool remove = false;
};

// Each returns the process exit code and prints its own messages.
int RunInit(const InitFlags& flags);
// `coffer operator check --data-dir DIR`: the files' types, the write-ahead log and SQLite's
// integrity check, reported; exit 0 when sound, 1 when damaged.
int RunCheck(const std::string& data_dir);
int RunStatus(const RemoteFlags& flags);
int RunUnseal(const RemoteFlags& flags);
int RunSeal(const RemoteFlags& flags);
int RunRotateRoot(const RemoteFlags& flags);
// A new unseal key and seal (`seal`'s seal, shares, threshold and passphrase file).
int RunRekey(const RemoteFlags& flags, const InitFlags& seal);
int RunCreateAccount(const RemoteFlags& flags, const std::string& account_id);
int RunRegisterFunction(const RemoteFlags& flags, const FunctionFlags& function);
int RunEvents(const RemoteFlags& flags, int64_t after);
// Makes a signed call of an operator endpoint ("GET" or "POST", a path with its query, a JSON
// body) and prints the JSON it answers; returns 0, or 1 with the error on stderr.
int PrintOperatorCall(const RemoteFlags& flags, const std::string& method, const std::string& path,
                      const std::string& body);

// Makes a call of an operator endpoint (signed when `sign`) and returns the JSON object it
// answers. Errors: InternalFailure with the server's error or what went wrong.
Result<boost::json::object> CallForObject(const RemoteFlags& flags, boost::beast::http::verb method,
                                          const std::string& path, const std::string& body,
                                          bool sign);
// Prints "coffer: MESSAGE" on stderr and returns exit status 1.
int Fail(const std::string& message);
// The first line of a file, without its line end. Errors: InvalidParameter when unreadable.
Result<SecretBytes> ReadFirstLine(const std::string& path);

// Reads a passphrase for the server or for init: from `file` when given, else
// $COFFER_PASSPHRASE, else a prompt without echo when stdin is a terminal (twice when
// `confirm`). Errors: InvalidParameter when none is available or it is empty.
Result<SecretBytes> ReadPassphrase(const std::string& file, bool confirm);
// Whether a passphrase is available without prompting (a file or $COFFER_PASSPHRASE).
bool PassphraseGivenWithoutPrompt(const std::string& file);

}  // namespace coffer::cli
