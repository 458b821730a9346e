// HttpServer: coffer's listener. HTTP/1.1 with keep-alive on Boost.Beast, optional TLS, one I/O
// thread per core, bounded request size, read timeouts and a connection limit.
//
// Requests are served on the I/O thread that read them: GET /health and GET /metrics answer
// directly, every other request goes to the ApiDispatcher. Stop() closes the listener, lets
// in-flight requests finish and closes idle connections.
//
// Under a flood: at most max_connections sockets (clamped by the caller to the descriptor
// limit) and max_connections_per_source from one address; a connection must send its first
// byte within first_byte_timeout and a complete head within header_timeout; when accept itself
// fails (out of descriptors) the listener backs off instead of spinning. Every socket is
// close-on-exec. Refusals and timeouts are counted at /metrics.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/status.h"
#include "protocol/api_dispatcher.h"

namespace coffer {

// A file served as it is, to anyone (it holds nothing but code and styles).
struct StaticFile {
  std::string_view content_type;
  std::string_view body;
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 4566;
  std::string tls_cert_file;  // PEM; TLS is on when both files are given
  std::string tls_key_file;
  int io_threads = 0;                   // 0: one per core
  size_t max_body_bytes = 1024 * 1024;  // AWS JSON requests for these services are far smaller
  size_t max_header_bytes = 16 * 1024;
  std::chrono::seconds first_byte_timeout{10};  // a new connection's first byte
  std::chrono::seconds header_timeout{30};      // to receive a complete request head
  std::chrono::seconds body_timeout{30};        // to receive the body after the head
  std::chrono::seconds idle_timeout{60};        // keep-alive connection with no request
  int max_connections = 4096;
  int max_connections_per_source = 1024;  // open connections from one peer address
  // GET /metrics: served here unless false (a separate metrics listener serves it instead);
  // when `metrics_token` is set, only to "Authorization: Bearer <metrics_token>".
  bool serve_metrics = true;
  std::string metrics_token;
  // A listener for GET /metrics and GET /health only (--metrics-listen).
  bool metrics_only = false;
  // GET /ui/<name>: the dashboard's files (ui/ui_assets.h), when set; nullopt is 404.
  std::function<std::optional<StaticFile>(std::string_view name)> ui_files;
};

// Answers GET /health; returns the JSON body and HTTP status.
using HealthProbe = std::function<std::pair<int, std::string>()>;
// Answers GET /metrics with the Prometheus text exposition format.
using MetricsProbe = std::function<std::string()>;

class HttpServer {
 public:
  static Result<std::unique_ptr<HttpServer>> Create(const HttpServerOptions& options,
                                                    ApiDispatcher* dispatcher, HealthProbe health,
                                                    MetricsProbe metrics = nullptr);
  virtual ~HttpServer() = default;

  // The port actually bound (useful with port 0).
  virtual uint16_t port() const = 0;
  virtual bool tls() const = 0;
  // Serves until Stop(); returns when every I/O thread has finished.
  virtual void Run() = 0;
  // Thread- and signal-context-safe via the io_context; graceful.
  virtual void Stop() = 0;
};

}  // namespace coffer
