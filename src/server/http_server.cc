#include "server/http_server.h"

#include <fcntl.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdio>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/thread_name.h"
#include "core/time_format.h"
#include "crypto/crypto.h"
#include "server/ui_files.h"

namespace coffer {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

// The Date header, formatted once per second per thread.
const std::string& CurrentHttpDate() {
  thread_local int64_t cached_second = -1;
  thread_local std::string cached;
  SystemClock clock;
  int64_t now_s = clock.NowMillis() / 1000;
  if (now_s != cached_second) {
    cached_second = now_s;
    cached = FormatHttpDate(now_s * 1000);
  }
  return cached;
}

std::string ErrorBody(std::string_view code, std::string_view message) {
  return "{\"__type\":\"" + std::string(code) + "\",\"message\":\"" + std::string(message) + "\"}";
}

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Closes the connection if no request is being served; otherwise it closes after the reply.
  virtual void Shutdown() = 0;
};

struct ServerShared {
  HttpServerOptions options;
  ApiDispatcher* dispatcher;
  HealthProbe health;
  MetricsProbe metrics;
  std::atomic<int> connections{0};
  std::atomic<bool> stopping{false};
  std::mutex sessions_mu;
  std::set<std::shared_ptr<SessionBase>> sessions;
  std::mutex sources_mu;
  std::unordered_map<std::string, int> per_source;  // open connections by peer address
  // Counted for /metrics.
  std::atomic<uint64_t> refused_max{0};
  std::atomic<uint64_t> refused_per_source{0};
  std::atomic<uint64_t> accept_failures{0};
  std::atomic<uint64_t> first_byte_timeouts{0};
  std::atomic<uint64_t> metrics_unauthorized{0};
  std::atomic<int> refusals_open{0};  // refused connections still being told so
  std::atomic<int64_t> refusal_logged_ms{0};
  std::atomic<uint64_t> refused_since_log{0};

  // One line per minute at most while connections are refused: a flood must not become a
  // flood of log lines.
  void LogRefusal(const char* reason) {
    refused_since_log.fetch_add(1);
    const int64_t now = SystemClock().NowMillis();
    int64_t last = refusal_logged_ms.load();
    if (now - last < 60000 || !refusal_logged_ms.compare_exchange_strong(last, now)) return;
    std::fprintf(stderr,
                 "coffer: refusing connections (%s): %d open, --max-connections %d, "
                 "--max-connections-per-source %d; %llu refused since the last report\n",
                 reason, connections.load(), options.max_connections,
                 options.max_connections_per_source,
                 static_cast<unsigned long long>(refused_since_log.exchange(0)));
  }

  // Takes a connection slot for `source`; false when it already has its share.
  bool AdmitSource(const std::string& source) {
    std::lock_guard lock(sources_mu);
    int& n = per_source[source];
    if (n >= options.max_connections_per_source) {
      if (n == 0) per_source.erase(source);
      return false;
    }
    ++n;
    return true;
  }
  void ReleaseSource(const std::string& source) {
    std::lock_guard lock(sources_mu);
    auto it = per_source.find(source);
    if (it != per_source.end() && --it->second <= 0) per_source.erase(it);
  }
  std::string PrometheusText() const {
    auto line = [](const char* name, const char* labels, uint64_t v) {
      return std::string(name) + labels + " " + std::to_string(v) + "\n";
    };
    return "# HELP coffer_http_connections_open Open client connections.\n"
           "# TYPE coffer_http_connections_open gauge\n" +
           line("coffer_http_connections_open", "", static_cast<uint64_t>(connections.load())) +
           "# HELP coffer_http_connections_refused_total Connections closed at once: over "
           "--max-connections, or over the per-source limit.\n"
           "# TYPE coffer_http_connections_refused_total counter\n" +
           line("coffer_http_connections_refused_total", "{reason=\"max_connections\"}",
                refused_max.load()) +
           line("coffer_http_connections_refused_total", "{reason=\"per_source\"}",
                refused_per_source.load()) +
           "# HELP coffer_http_accept_failures_total Failed accept calls (e.g. out of "
           "descriptors); the listener backs off after each.\n"
           "# TYPE coffer_http_accept_failures_total counter\n" +
           line("coffer_http_accept_failures_total", "", accept_failures.load()) +
           "# HELP coffer_http_first_byte_timeouts_total Connections closed for sending nothing "
           "within the first-byte timeout.\n"
           "# TYPE coffer_http_first_byte_timeouts_total counter\n" +
           line("coffer_http_first_byte_timeouts_total", "", first_byte_timeouts.load()) +
           "# HELP coffer_metrics_unauthorized_total GET /metrics refused for a missing or "
           "wrong bearer token.\n"
           "# TYPE coffer_metrics_unauthorized_total counter\n" +
           line("coffer_metrics_unauthorized_total", "", metrics_unauthorized.load());
  }
};

// Sockets are never inherited by programs coffer starts (exec rotation functions).
void CloseOnExec(int fd) { ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC); }

// A connection refused for a limit is told so, as an overloaded AWS endpoint does (503
// ServiceUnavailable with Retry-After, which every SDK retries with backoff), then closed
// gracefully: closing with its request unread would reset the connection and destroy the
// answer. At most kMaxOpen refusals linger at once, each for at most a second; beyond that a
// refused connection is simply closed.
class Refusal : public std::enable_shared_from_this<Refusal> {
 public:
  static constexpr int kMaxOpen = 256;

  Refusal(tcp::socket socket, std::shared_ptr<ServerShared> shared)
      : socket_(std::move(socket)), timer_(socket_.get_executor()), shared_(std::move(shared)) {
    shared_->refusals_open.fetch_add(1);
  }
  ~Refusal() { shared_->refusals_open.fetch_sub(1); }

  // As for a session: the refusal's operations start on its socket's strand.
  void Start() {
    asio::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->Begin(); });
  }

 private:
  void Begin() {
    static const std::string kResponse = [] {
      const std::string body =
          R"({"__type":"ServiceUnavailable","message":"coffer is at its connection limit; )"
          R"(retry later."})";
      return "HTTP/1.1 503 Service Unavailable\r\nServer: coffer\r\nRetry-After: 1\r\n"
             "Content-Type: application/x-amz-json-1.1\r\nx-amzn-ErrorType: ServiceUnavailable\r\n"
             "Connection: close\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n\r\n" + body;
    }();
    timer_.expires_after(std::chrono::seconds(1));
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->Close();
    });
    asio::async_write(socket_, asio::buffer(kResponse),
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) return self->Close();
                        self->socket_.shutdown(tcp::socket::shutdown_send, ec);
                        self->Drain();
                      });
  }

  void Drain() {
    socket_.async_read_some(asio::buffer(buffer_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->Close();
                              self->Drain();
                            });
  }
  void Close() {
    beast::error_code ec;
    timer_.cancel();
    socket_.close(ec);
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  std::shared_ptr<ServerShared> shared_;
  std::array<char, 4096> buffer_;
};

template <typename Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  // `peer_ip` has already been admitted (ServerShared::AdmitSource); the session releases it.
  Session(Stream stream, std::shared_ptr<ServerShared> shared, bool secure, std::string peer_ip)
      : stream_(std::move(stream)),
        shared_(std::move(shared)),
        secure_(secure),
        peer_ip_(std::move(peer_ip)) {}

  ~Session() override {
    shared_->ReleaseSource(peer_ip_);
    shared_->connections.fetch_sub(1);
  }

  // Called from the acceptor's handler, which is not on this connection's strand: everything
  // the session does, starting with its first operations and timer, runs on the strand, or a
  // completion on another I/O thread could race with the start itself.
  void Start() {
    asio::dispatch(beast::get_lowest_layer(stream_).get_executor(),
                   [self = this->shared_from_this()] { self->Begin(); });
  }

  void Shutdown() override {
    asio::post(beast::get_lowest_layer(stream_).get_executor(), [self = this->shared_from_this()] {
      if (!self->busy_) self->Finish();
    });
  }

 private:
  void Begin() {
    // A connection that says nothing is closed after the first-byte timeout (a TLS client
    // speaks first, with its hello).
    beast::get_lowest_layer(stream_).socket().async_wait(
        tcp::socket::wait_read, [self = this->shared_from_this()](beast::error_code ec) {
          if (ec) return self->Close();
          self->OnFirstByte();
        });
    // async_wait is not covered by the stream's timer; this one is.
    first_byte_timer_.emplace(beast::get_lowest_layer(stream_).get_executor());
    first_byte_timer_->expires_after(shared_->options.first_byte_timeout);
    first_byte_timer_->async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec || self->first_byte_seen_) return;
      self->shared_->first_byte_timeouts.fetch_add(1);
      self->Close();
    });
  }

  void OnFirstByte() {
    first_byte_seen_ = true;
    if (first_byte_timer_) first_byte_timer_->cancel();
    if (closed_) return;
    if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
      beast::get_lowest_layer(stream_).expires_after(shared_->options.header_timeout);
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->Close();
                                self->ReadHeader();
                              });
    } else {
      ReadHeader();
    }
  }

 private:
  void ReadHeader() {
    // Bytes of a next request may already be buffered: they are never executed now, and the
    // connection is closed gracefully so the answer just written still reaches the client.
    if (shared_->stopping) return Finish();
    parser_.emplace();
    parser_->body_limit(shared_->options.max_body_bytes);
    parser_->header_limit(static_cast<uint32_t>(shared_->options.max_header_bytes));
    // The first request's head within the header timeout (its first byte came within the
    // first-byte timeout); a later request within the idle timeout of the previous answer.
    beast::get_lowest_layer(stream_).expires_after(first_request_ ? shared_->options.header_timeout
                                                                  : shared_->options.idle_timeout);
    first_request_ = false;
    busy_ = false;
    reading_ = true;
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    reading_ = false;
    // Closing (the server stops): whatever arrived is not executed.
    if (closing_ || closed_) return closing_ ? Drain() : void();
    if (ec) return OnReadError(ec);
    busy_ = true;
    auto& req = parser_->get();
    // Only chunked, or none: any other coding (identity, gzip, a list) would leave the body's
    // framing to the next hop's interpretation, the root of request smuggling (RFC 9112 6.1).
    if (auto te = req[http::field::transfer_encoding]; !te.empty()) {
      if (!beast::iequals(te, "chunked") || req.count(http::field::transfer_encoding) != 1) {
        return SendSimple(http::status::not_implemented, "NotImplemented",
                          "Transfer-Encoding other than chunked is not supported; send "
                          "Content-Length or chunked.");
      }
      if (req.count(http::field::content_length) != 0) {
        return SendSimple(http::status::bad_request, "BadRequest",
                          "A request may not carry both Transfer-Encoding and Content-Length.");
      }
    }
    if (beast::iequals(req[http::field::expect], "100-continue")) {
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
      http::async_write(stream_, *cont,
                        [self = this->shared_from_this(), cont](beast::error_code wec, size_t) {
                          if (wec) return self->Close();
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    beast::get_lowest_layer(stream_).expires_after(shared_->options.body_timeout);
    reading_ = true;
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, size_t) {
                       self->reading_ = false;
                       if (self->closed_) return;
                       if (self->closing_) return self->Drain();
                       if (ec) return self->OnReadError(ec);
                       self->Serve();
                     });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      return SendSimple(http::status::payload_too_large, "RequestEntityTooLarge",
                        "The request body exceeds the maximum size.");
    }
    if (ec == http::error::header_limit) {
      return SendSimple(http::status::request_header_fields_too_large, "RequestHeaderTooLarge",
                        "The request headers exceed the maximum size.");
    }
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
      return Close();
    }
    if (ec == http::error::bad_transfer_encoding) {  // repeated, or beside Content-Length
      return SendSimple(http::status::bad_request, "BadRequest",
                        "The request's Transfer-Encoding is repeated or conflicts with its "
                        "Content-Length.");
    }
    // Malformed HTTP framing.
    SendSimple(http::status::bad_request, "BadRequest", "The request is not valid HTTP/1.1.");
  }

  void SendSimple(http::status status, std::string_view code, std::string_view message) {
    busy_ = true;
    auto res = std::make_shared<http::response<http::string_body>>(status, 11);
    res->set(http::field::date, CurrentHttpDate());
    res->set(http::field::content_type, "application/x-amz-json-1.1");
    res->set("x-amzn-ErrorType", code);
    res->body() = ErrorBody(code, message);
    res->keep_alive(false);
    res->prepare_payload();
    beast::get_lowest_layer(stream_).expires_after(shared_->options.body_timeout);
    http::async_write(stream_, *res,
                      [self = this->shared_from_this(), res](beast::error_code ec, size_t) {
                        if (ec) return self->Close();
                        self->Finish();
                      });
  }

  // Closes gracefully: stop sending (after what is queued), then read and discard what the
  // client still sends for a short while. Closing a socket with unread input makes the kernel
  // send a reset, which destroys an answer still in flight: a client would see its request
  // fail after it was executed, and retry it. A read in progress is cancelled and ends in
  // Drain(); what it read is never executed.
  void Finish() {
    if (closing_ || closed_) return;
    closing_ = true;
    busy_ = false;
    if (first_byte_timer_) first_byte_timer_->cancel();
    beast::error_code ec;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return Close();
    if (reading_) {
      beast::get_lowest_layer(stream_).socket().cancel(ec);
      return;  // the read's handler drains
    }
    Drain();
  }

  void Drain() {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
    Discard();
  }

  void Discard() {
    drain_.resize(64 * 1024);
    beast::get_lowest_layer(stream_).async_read_some(
        asio::buffer(drain_), [self = this->shared_from_this()](beast::error_code ec, size_t n) {
          self->drained_ += n;
          if (ec || self->drained_ > 8 * self->shared_->options.max_body_bytes) {
            return self->Close();
          }
          self->Discard();
        });
  }

  void Serve() {
    if (closing_ || closed_) return;
    auto& req = parser_->get();
    auto res = std::make_shared<http::response<http::string_body>>(http::status::ok, req.version());
    res->set(http::field::server, "coffer");
    res->set(http::field::date, CurrentHttpDate());
    std::string_view target(req.target().data(), req.target().size());
    if (req.method() == http::verb::get && (target == "/health" || target == "/health/")) {
      auto [status, body] = shared_->health();
      res->result(static_cast<unsigned>(status));
      res->set(http::field::content_type, "application/json");
      res->body() = std::move(body);
    } else if (req.method() == http::verb::get && target == "/metrics" &&
               shared_->options.serve_metrics) {
      if (!MetricsAuthorized(req)) {
        shared_->metrics_unauthorized.fetch_add(1);
        res->result(http::status::unauthorized);
        res->set(http::field::www_authenticate, "Bearer realm=\"coffer metrics\"");
        res->set(http::field::content_type, "text/plain");
        res->body() = "GET /metrics needs Authorization: Bearer <token>.\n";
      } else {
        res->set(http::field::content_type, "text/plain; version=0.0.4");
        res->body() =
            (shared_->metrics ? shared_->metrics() : std::string()) + shared_->PrometheusText();
      }
    } else if (shared_->options.ui_files && !shared_->options.metrics_only &&
               req.method() == http::verb::get && IsUiTarget(target)) {
      ServeUiFile(shared_->options.ui_files, target, *res);
    } else if (shared_->options.metrics_only) {
      res->result(http::status::not_found);
      res->set(http::field::content_type, "text/plain");
      res->body() = "This listener serves GET /metrics and GET /health only.\n";
    } else {
      // Header names are case-insensitive; SigV4 and the dispatcher want them lowercase.
      lowered_.clear();
      lowered_.reserve(static_cast<size_t>(std::distance(req.begin(), req.end())));
      for (const auto& f : req) {
        std::string name(f.name_string());
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        lowered_.push_back(std::move(name));
      }
      ApiRequest api;
      api.method = std::string_view(req.method_string().data(), req.method_string().size());
      api.target = target;
      size_t i = 0;
      for (const auto& f : req) {
        api.headers.emplace_back(lowered_[i++],
                                 std::string_view(f.value().data(), f.value().size()));
      }
      api.body = req.body();
      api.secure_transport = secure_;
      api.peer_ip = peer_ip_;
      if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
        api.tls_version = SSL_get_version(stream_.native_handle());
        api.tls_cipher = SSL_get_cipher_name(stream_.native_handle());
      }
      api_ = std::move(api);
      // On a shared store the change counts are read first, while this thread serves other
      // connections; the work guard keeps the I/O threads running until the call is answered.
      auto executor = beast::get_lowest_layer(stream_).get_executor();
      const bool reading = shared_->dispatcher->ReadChangesThen(
          [self = this->shared_from_this(), res, executor,
           guard = asio::make_work_guard(executor)](ChangeCounts counts) mutable {
            asio::post(executor, [self, res, counts, guard = std::move(guard)] {
              self->Dispatch(res, &counts);
            });
          });
      if (!reading) Dispatch(res, nullptr);
      return;
    }
    bool close = !req.keep_alive() || shared_->stopping;
    res->keep_alive(!close);
    res->prepare_payload();
    Write(res, close);
  }

  // Handles the API call in api_ (its views are into the request the parser holds) and answers.
  void Dispatch(const std::shared_ptr<http::response<http::string_body>>& res,
                const ChangeCounts* counts) {
    auto& req = parser_->get();
    ApiResponse out = shared_->dispatcher->Handle(api_, counts);
    api_ = {};
    // The body may have carried secret values: wipe it before the buffer is reused.
    OPENSSL_cleanse(req.body().data(), req.body().size());
    const bool close = !req.keep_alive() || shared_->stopping;
    if (out.later) {  // a long poll: this thread serves other connections until it is answered
      auto executor = beast::get_lowest_layer(stream_).get_executor();
      return out.later([self = this->shared_from_this(), res, close, executor,
                        guard = asio::make_work_guard(executor)](ApiResponse given) mutable {
        asio::post(executor, [self, res, close, given = std::move(given),
                              guard = std::move(guard)]() mutable {
          Fill(*res, std::move(given));
          res->keep_alive(!close);
          res->prepare_payload();
          self->Write(res, close);
        });
      });
    }
    if (out.audit_ticket) return AnswerWhenRecorded(std::move(out), res, close);
    Fill(*res, std::move(out));
    res->keep_alive(!close);
    res->prepare_payload();
    Write(res, close);
  }

  static void Fill(http::response<http::string_body>& res, ApiResponse out) {
    res.result(static_cast<unsigned>(out.status));
    res.set(http::field::content_type, out.content_type);
    for (auto& [k, v] : out.headers) res.set(k, v);
    res.body() = std::move(out.body);
  }

  // A call is answered only once its audit record is durable; the I/O thread serves other
  // connections meanwhile. The work guard keeps the I/O threads running until the answer is
  // written, even when the server is stopping and nothing else is pending.
  void AnswerWhenRecorded(ApiResponse out, std::shared_ptr<http::response<http::string_body>> res,
                          bool close) {
    auto ticket = std::move(out.audit_ticket);
    auto executor = beast::get_lowest_layer(stream_).get_executor();
    auto answered = std::make_shared<ApiResponse>(std::move(out));
    ticket->OnDone([self = this->shared_from_this(), res, close, answered, executor,
                    guard = asio::make_work_guard(executor)](bool durable) mutable {
      asio::post(executor, [self, res, close, answered, durable, guard = std::move(guard)] {
        if (!durable && answered->fail_if_not_recorded) {
          OPENSSL_cleanse(answered->body.data(), answered->body.size());
          *answered = UnrecordedCallResponse(*answered);
        }
        Fill(*res, std::move(*answered));
        res->keep_alive(!close);
        res->prepare_payload();
        self->Write(res, close);
      });
    });
  }

  bool MetricsAuthorized(const http::request<http::string_body>& req) const {
    const std::string& token = shared_->options.metrics_token;
    if (token.empty()) return true;
    auto given = req[http::field::authorization];
    constexpr std::string_view kBearer = "Bearer ";
    if (given.size() <= kBearer.size() ||
        !beast::iequals(given.substr(0, kBearer.size()), kBearer)) {
      return false;
    }
    return crypto::ConstantTimeEquals(
        std::string_view(given.data() + kBearer.size(), given.size() - kBearer.size()), token);
  }

  void Write(std::shared_ptr<http::response<http::string_body>> res, bool close) {
    beast::get_lowest_layer(stream_).expires_after(shared_->options.body_timeout);
    http::async_write(stream_, *res,
                      [self = this->shared_from_this(), res, close](beast::error_code ec, size_t) {
                        // Responses may carry secret values: wipe before freeing.
                        OPENSSL_cleanse(res->body().data(), res->body().size());
                        if (ec) return self->Close();
                        if (close) return self->Finish();
                        self->ReadHeader();
                      });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    busy_ = false;
    if (first_byte_timer_) first_byte_timer_->cancel();
    beast::error_code ec;
    if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
      beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ec);
    } else {
      stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    }
    beast::get_lowest_layer(stream_).close();
    std::lock_guard<std::mutex> lock(shared_->sessions_mu);
    shared_->sessions.erase(this->shared_from_this());
  }

  Stream stream_;
  std::shared_ptr<ServerShared> shared_;
  bool secure_;
  std::string peer_ip_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::vector<std::string> lowered_;
  ApiRequest api_;  // the call being served: views into parser_'s request and lowered_
  std::vector<char> drain_;
  size_t drained_ = 0;
  bool first_request_ = true;
  bool busy_ = false;
  bool reading_ = false;  // an HTTP read of ours is outstanding
  bool closing_ = false;  // Finish(): sending is over, input is drained, nothing more is served
  bool closed_ = false;
  bool first_byte_seen_ = false;
  std::optional<asio::steady_timer> first_byte_timer_;
};

class BeastHttpServer final : public HttpServer {
 public:
  BeastHttpServer(std::shared_ptr<ServerShared> shared, int threads)
      : shared_(std::move(shared)),
        ioc_(threads),
        acceptor_(ioc_),
        threads_(threads),
        ssl_ctx_(ssl::context::tls_server) {}

  Status Init() {
    const auto& o = shared_->options;
    if (!o.tls_cert_file.empty() || !o.tls_key_file.empty()) {
      if (o.tls_cert_file.empty() || o.tls_key_file.empty()) {
        return Status(ErrorCode::kInvalidParameter, "TLS needs both --tls-cert and --tls-key");
      }
      beast::error_code ec;
      ssl_ctx_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                           ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                           ssl::context::no_tlsv1_1);
      ssl_ctx_.use_certificate_chain_file(o.tls_cert_file, ec);
      if (ec)
        return Status(ErrorCode::kInvalidParameter, "cannot load TLS certificate: " + ec.message());
      ssl_ctx_.use_private_key_file(o.tls_key_file, ssl::context::pem, ec);
      if (ec) return Status(ErrorCode::kInvalidParameter, "cannot load TLS key: " + ec.message());
      tls_ = true;
    }
    beast::error_code ec;
    auto address = asio::ip::make_address(o.host, ec);
    if (ec) return Status(ErrorCode::kInvalidParameter, "invalid listen address '" + o.host + "'");
    tcp::endpoint ep(address, o.port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) CloseOnExec(acceptor_.native_handle());
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status(ErrorCode::kInvalidParameter, "cannot listen on " + o.host + ":" +
                                                      std::to_string(o.port) + ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    Accept();
    return Status::Ok();
  }

  uint16_t port() const override { return port_; }
  bool tls() const override { return tls_; }

  void Run() override {
    std::vector<std::thread> pool;
    for (int i = 1; i < threads_; ++i) {
      pool.emplace_back([this] {
        NameThisThread("coffer-io");
        ioc_.run();
      });
    }
    ioc_.run();
    for (auto& t : pool) t.join();
  }

  void Stop() override {
    asio::post(ioc_, [this] {
      if (shared_->stopping.exchange(true)) return;
      if (shared_->dispatcher != nullptr) shared_->dispatcher->EndLongPolls();
      beast::error_code ec;
      acceptor_.close(ec);
      accept_backoff_.cancel();
      std::vector<std::shared_ptr<SessionBase>> sessions;
      {
        std::lock_guard<std::mutex> lock(shared_->sessions_mu);
        sessions.assign(shared_->sessions.begin(), shared_->sessions.end());
      }
      for (auto& s : sessions) s->Shutdown();
      // In-flight requests get a bounded time to finish.
      auto timer = std::make_shared<asio::steady_timer>(ioc_, std::chrono::seconds(10));
      timer->async_wait([this, timer](beast::error_code) { ioc_.stop(); });
      stop_timer_ = timer;
      // Cancel the grace timer as soon as every session is gone.
      PollDrained();
    });
  }

 private:
  void PollDrained() {
    bool empty;
    {
      std::lock_guard<std::mutex> lock(shared_->sessions_mu);
      empty = shared_->sessions.empty();
    }
    if (empty) {
      if (auto t = stop_timer_.lock()) t->cancel();
      ioc_.stop();
      return;
    }
    auto poll = std::make_shared<asio::steady_timer>(ioc_, std::chrono::milliseconds(20));
    poll->async_wait([this, poll](beast::error_code) { PollDrained(); });
  }

  void Accept() {
    acceptor_.async_accept(asio::make_strand(ioc_), [this](beast::error_code ec, tcp::socket s) {
      if (shared_->stopping) return;
      if (ec) {
        // Out of descriptors (EMFILE/ENFILE) or another failure: accepting again at once would
        // fail again at once and spin. Back off; open connections keep being served.
        shared_->accept_failures.fetch_add(1);
        accept_backoff_.expires_after(std::chrono::milliseconds(100));
        accept_backoff_.async_wait([this](beast::error_code) {
          if (!shared_->stopping) Accept();
        });
        return;
      }
      CloseOnExec(s.native_handle());
      beast::error_code peer_ec;
      auto peer = s.remote_endpoint(peer_ec);
      std::string peer_ip = peer_ec ? std::string() : peer.address().to_string();
      beast::error_code ignored;
      if (shared_->connections.load() >= shared_->options.max_connections) {
        shared_->refused_max.fetch_add(1);  // over the connection limit: refuse, never queue
        shared_->LogRefusal("max_connections");
        Refuse(std::move(s));
      } else if (!shared_->AdmitSource(peer_ip)) {
        shared_->refused_per_source.fetch_add(1);  // one address may not take every slot
        shared_->LogRefusal("per_source");
        Refuse(std::move(s));
      } else {
        s.set_option(tcp::no_delay(true), ignored);
        shared_->connections.fetch_add(1);
        std::shared_ptr<SessionBase> session;
        if (tls_) {
          auto sess = std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
              beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(s)), ssl_ctx_),
              shared_, true, std::move(peer_ip));
          session = sess;
          Register(session);
          sess->Start();
        } else {
          auto sess = std::make_shared<Session<beast::tcp_stream>>(
              beast::tcp_stream(std::move(s)), shared_, false, std::move(peer_ip));
          session = sess;
          Register(session);
          sess->Start();
        }
      }
      Accept();
    });
  }

  // Over TLS a refusal is a plain close: answering would first take a handshake, the very work
  // a flood must not be able to demand.
  void Refuse(tcp::socket s) {
    beast::error_code ignored;
    if (tls_ || shared_->refusals_open.load() >= Refusal::kMaxOpen) {
      s.close(ignored);
      return;
    }
    std::make_shared<Refusal>(std::move(s), shared_)->Start();
  }

  void Register(const std::shared_ptr<SessionBase>& s) {
    std::lock_guard<std::mutex> lock(shared_->sessions_mu);
    shared_->sessions.insert(s);
  }

  std::shared_ptr<ServerShared> shared_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  int threads_;
  ssl::context ssl_ctx_;
  bool tls_ = false;
  uint16_t port_ = 0;
  std::weak_ptr<asio::steady_timer> stop_timer_;
  asio::steady_timer accept_backoff_{ioc_};
};

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::Create(const HttpServerOptions& options,
                                                       ApiDispatcher* dispatcher,
                                                       HealthProbe health, MetricsProbe metrics) {
  auto shared = std::make_shared<ServerShared>();
  shared->options = options;
  shared->dispatcher = dispatcher;
  shared->health = std::move(health);
  shared->metrics = std::move(metrics);
  int threads = options.io_threads > 0
                    ? options.io_threads
                    : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  auto server = std::make_unique<BeastHttpServer>(shared, threads);
  COFFER_RETURN_IF_ERROR(server->Init());
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace coffer
