// Whether a store can write, as its engine learns it from each write: kept by both engines so
// /health, /metrics and the log say the same whatever the store. A change of state is logged
// once, not per request. Thread-safe.
#pragma once

#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>

#include "core/status.h"

namespace coffer {

class WriteHealth {
 public:
  // Notes the outcome of a write and returns it. ServiceUnavailable is the store's fault (a full
  // disk, a database that cannot be reached); other errors are the request's own. `wrote` says
  // whether a successful write changed anything (an empty commit proves nothing).
  Status Note(Status status, bool wrote = true) {
    const bool fault = status.code() == ErrorCode::kServiceUnavailable;
    if (!fault && !status.ok()) return status;
    std::lock_guard lock(mu_);
    if (fault) {
      ++failures_;
      if (problem_.empty()) {
        // The cause is the part of the message in parentheses, when there is one.
        const std::string& m = status.message();
        const size_t open = m.find('('), close = m.find(')');
        problem_ = open != std::string::npos && close != std::string::npos && close > open
                       ? m.substr(open + 1, close - open - 1)
                       : m;
        std::fprintf(stderr,
                     "coffer: the store cannot write (%s): writes are answered "
                     "ServiceUnavailable, reads go on\n",
                     problem_.c_str());
      }
    } else if (!problem_.empty() && wrote) {
      problem_.clear();
      std::fprintf(stderr, "coffer: the store writes again\n");
    }
    return status;
  }

  // Why the store cannot write, or empty.
  std::string Problem() const {
    std::lock_guard lock(mu_);
    return problem_;
  }

  std::string PrometheusText() const {
    std::lock_guard lock(mu_);
    return "# HELP coffer_store_write_failures_total Writes the store could not make (disk full, "
           "read-only or failing, or a database out of reach); each was answered "
           "ServiceUnavailable.\n"
           "# TYPE coffer_store_write_failures_total counter\n"
           "coffer_store_write_failures_total " +
           std::to_string(failures_) +
           "\n# HELP coffer_store_writable 1 when the store's last write succeeded, 0 while it "
           "cannot write.\n# TYPE coffer_store_writable gauge\ncoffer_store_writable " +
           (problem_.empty() ? "1" : "0") + "\n";
  }

 private:
  mutable std::mutex mu_;
  std::string problem_;
  uint64_t failures_ = 0;
};

}  // namespace coffer
