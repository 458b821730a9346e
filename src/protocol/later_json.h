// LaterJson: the answer of a long poll, given later. The operation's handler returns one at once
// (the connection's I/O thread goes back to other connections) and completes it, from any
// thread, when there is something to say; the HTTP server then answers the call with it.
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <mutex>
#include <optional>
#include <utility>

#include "core/status.h"

namespace coffer {

class LaterJson {
 public:
  // The first completion counts; later ones are ignored (a deadline and a change may race).
  // Returns whether this one counted.
  bool Complete(Result<boost::json::object> answer) {
    std::function<void(Result<boost::json::object>)> done;
    {
      std::lock_guard lock(mu_);
      if (answer_) return false;
      answer_.emplace(std::move(answer));
      done = std::move(done_);
    }
    if (done) done(std::move(*answer_));
    return true;
  }
  // Calls `done` once the answer is given (at once, on this thread, when it already was).
  void OnComplete(std::function<void(Result<boost::json::object>)> done) {
    {
      std::lock_guard lock(mu_);
      if (!answer_) {
        done_ = std::move(done);
        return;
      }
    }
    done(std::move(*answer_));
  }
  bool completed() const {
    std::lock_guard lock(mu_);
    return answer_.has_value();
  }

 private:
  mutable std::mutex mu_;
  std::optional<Result<boost::json::object>> answer_;
  std::function<void(Result<boost::json::object>)> done_;
};

}  // namespace coffer
