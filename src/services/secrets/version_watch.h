// SecretVersionWatch: coffer's long poll of secret versions, X-Amz-Target
// "coffer.WatchSecretVersions" (signed for secretsmanager), for `coffer agent`'s push
// invalidation: an agent learns that a rotation or a stage move changed what it caches within
// a fraction of a second, instead of after its TTL. It is not an AWS operation; an agent pointed
// at AWS gets UnknownOperationException and keeps to its TTL.
//
//   input  {"Secrets": [{"SecretId", "VersionId" (the one held), "VersionStage"?}] (1-1000),
//           "WaitSeconds"? (0-20, default 20), "WatchId"? (1-64 characters)}
//   answer {"Changed": [{"SecretId" (as given), "ARN", "VersionId"? (now holding the stage;
//           absent when none does or the secret is gone)}]}: at once when one already moved,
//           else when one moves, else empty at WaitSeconds.
//
// At most 10,000 secrets are watched at once on a server, over every waiting call: beyond,
// ThrottlingException (the checker's pass re-reads every watched secret, so this bounds its
// cost whatever callers ask).
//
// A call with a WatchId replaces the same caller's waiting call with that id (answered at once,
// empty): an agent whose cache changed asks again with the new set, and its abandoned call does
// not linger, so one agent costs one waiting call however often its set changes.
//
// Each secret is authorized as DescribeSecret is, when the call begins: a watch tells what
// DescribeSecret would (which version holds a stage), nothing more, and only to who may ask.
// While calls wait, one thread checks them after every change of the store's write count (any
// node's, on a shared store) and at most every 100 ms, reading only the watched secrets'
// version rows; waiting costs no thread of the HTTP server.
#pragma once

#include <boost/json.hpp>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "protocol/later_json.h"
#include "services/secrets/secrets_service.h"

namespace coffer::secrets {

class SecretVersionWatch {
 public:
  SecretVersionWatch(SecretsService* secrets, Store* store) : secrets_(secrets), store_(store) {}
  ~SecretVersionWatch();

  // Errors: ValidationException / InvalidParameterException for the input; DescribeSecret's for a
  // secret (not found, access denied). Thread-safe.
  Result<std::shared_ptr<LaterJson>> Watch(const RequestContext& ctx,
                                           const boost::json::object& input);
  // Answers every waiting call now (with what has changed so far: nothing) and every later one
  // at once: the server is stopping.
  void EndAll();

 private:
  struct Watched {
    std::string given_id;
    int64_t secret_id = 0;
    std::string arn;
    std::string stage;
    std::string held;
  };
  struct Waiter {
    std::vector<Watched> items;
    std::chrono::steady_clock::time_point deadline;
    uint64_t writes_checked = 0;  // the store's write count the last check saw
    std::string watch_key;        // the caller's ARN and WatchId; empty without a WatchId
    std::shared_ptr<LaterJson> answer;
  };

  // The items whose stage another version (or none) now holds.
  Result<boost::json::array> Moved(const std::vector<Watched>& items) const;
  void Loop();
  // Under mu_: answers and removes the waiting call with this key.
  void ReplaceWaiting(const std::string& watch_key);

  SecretsService* secrets_;
  Store* store_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::vector<Waiter> waiters_;
  size_t watched_ = 0;              // items over waiters_ and those the checker holds
  bool checking_ = false;           // the checker holds the waiters (without the lock)
  std::set<std::string> replaced_;  // keys replaced meanwhile
  bool ending_ = false;
  std::thread checker_;  // started by the first call that waits
};

}  // namespace coffer::secrets
