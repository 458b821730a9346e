// AgentServer: `coffer agent`'s listener. HTTP/1.1 with keep-alive on Boost.Beast, bound to
// 127.0.0.1 only (the AWS agent's rule: it serves the workload beside it, never the network), at
// most max_connections open (more get 429 "Connection limit exceeded"; /ping has two more), and
// each request answered by `handle` on the I/O thread that read it.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "agent/agent_request.h"
#include "core/status.h"

namespace coffer::agent {

struct AgentServerOptions {
  uint16_t port = 2773;  // 0: any free port
  int io_threads = 0;    // 0: one per core
  int max_connections = 800;
};

// method, target, header lookup -> the reply.
using AgentHandler = std::function<AgentReply(
    std::string_view method, std::string_view target,
    const std::function<std::optional<std::string>(std::string_view)>& header)>;

class AgentServer {
 public:
  // Errors: InvalidParameter when the port cannot be bound.
  static Result<std::unique_ptr<AgentServer>> Create(const AgentServerOptions& options,
                                                     AgentHandler handle);
  virtual ~AgentServer() = default;
  virtual uint16_t port() const = 0;
  // Serves until Stop(); returns when every I/O thread has finished.
  virtual void Run() = 0;
  // Thread- and signal-context-safe.
  virtual void Stop() = 0;
};

}  // namespace coffer::agent
