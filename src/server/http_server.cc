#include "server/http_server.h"

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/time_format.h"

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
};

template <typename Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(Stream stream, std::shared_ptr<ServerShared> shared, bool secure)
      : stream_(std::move(stream)), shared_(std::move(shared)), secure_(secure) {
    // The peer address, for aws:SourceIp.
    boost::system::error_code ec;
    auto endpoint = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    if (!ec) peer_ip_ = endpoint.address().to_string();
  }

  ~Session() override { shared_->connections.fetch_sub(1); }

  void Start() {
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

  void Shutdown() override {
    asio::post(beast::get_lowest_layer(stream_).get_executor(), [self = this->shared_from_this()] {
      if (!self->busy_) self->Close();
    });
  }

 private:
  void ReadHeader() {
    if (shared_->stopping) return Close();
    parser_.emplace();
    parser_->body_limit(shared_->options.max_body_bytes);
    parser_->header_limit(static_cast<uint32_t>(shared_->options.max_header_bytes));
    // First byte of a request within the idle timeout; the whole head within the header timeout
    // (checked on the same timer: a slow head is closed at whichever comes first).
    beast::get_lowest_layer(stream_).expires_after(first_request_ ? shared_->options.header_timeout
                                                                  : shared_->options.idle_timeout);
    first_request_ = false;
    busy_ = false;
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    busy_ = true;
    auto& req = parser_->get();
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
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, size_t) {
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
                        self->LingeringClose();
                      });
  }

  // After refusing a request whose body is still arriving, stop sending and read (and discard)
  // what the client is still sending for a short while, so it sees our reply rather than a reset.
  void LingeringClose() {
    beast::error_code ec;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_send, ec);
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
    } else if (req.method() == http::verb::get && target == "/metrics" && shared_->metrics) {
      res->set(http::field::content_type, "text/plain; version=0.0.4");
      res->body() = shared_->metrics();
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
      ApiResponse out = shared_->dispatcher->Handle(api);
      // The body may have carried secret values: wipe it before the buffer is reused.
      OPENSSL_cleanse(req.body().data(), req.body().size());
      res->result(static_cast<unsigned>(out.status));
      res->set(http::field::content_type, out.content_type);
      for (auto& [k, v] : out.headers) res->set(k, v);
      res->body() = std::move(out.body);
    }
    bool close = !req.keep_alive() || shared_->stopping;
    res->keep_alive(!close);
    res->prepare_payload();
    Write(res, close);
  }

  void Write(std::shared_ptr<http::response<http::string_body>> res, bool close) {
    beast::get_lowest_layer(stream_).expires_after(shared_->options.body_timeout);
    http::async_write(stream_, *res,
                      [self = this->shared_from_this(), res, close](beast::error_code ec, size_t) {
                        // Responses may carry secret values: wipe before freeing.
                        OPENSSL_cleanse(res->body().data(), res->body().size());
                        if (ec || close) return self->Close();
                        self->ReadHeader();
                      });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    busy_ = false;
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
  std::vector<char> drain_;
  size_t drained_ = 0;
  bool first_request_ = true;
  bool busy_ = false;
  bool closed_ = false;
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
        return Status("InvalidParameter", "TLS needs both --tls-cert and --tls-key");
      }
      beast::error_code ec;
      ssl_ctx_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                           ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                           ssl::context::no_tlsv1_1);
      ssl_ctx_.use_certificate_chain_file(o.tls_cert_file, ec);
      if (ec) return Status("InvalidParameter", "cannot load TLS certificate: " + ec.message());
      ssl_ctx_.use_private_key_file(o.tls_key_file, ssl::context::pem, ec);
      if (ec) return Status("InvalidParameter", "cannot load TLS key: " + ec.message());
      tls_ = true;
    }
    beast::error_code ec;
    auto address = asio::ip::make_address(o.host, ec);
    if (ec) return Status("InvalidParameter", "invalid listen address '" + o.host + "'");
    tcp::endpoint ep(address, o.port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status("InvalidParameter", "cannot listen on " + o.host + ":" +
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
    for (int i = 1; i < threads_; ++i) pool.emplace_back([this] { ioc_.run(); });
    ioc_.run();
    for (auto& t : pool) t.join();
  }

  void Stop() override {
    asio::post(ioc_, [this] {
      if (shared_->stopping.exchange(true)) return;
      beast::error_code ec;
      acceptor_.close(ec);
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
      if (ec) {
        if (shared_->stopping) return;
      } else if (shared_->connections.load() >= shared_->options.max_connections) {
        beast::error_code ignored;
        s.close(ignored);  // over the connection limit: refuse rather than queue
      } else {
        s.set_option(tcp::no_delay(true), ec);
        shared_->connections.fetch_add(1);
        std::shared_ptr<SessionBase> session;
        if (tls_) {
          auto sess = std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
              beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(s)), ssl_ctx_),
              shared_, true);
          session = sess;
          Register(session);
          sess->Start();
        } else {
          auto sess = std::make_shared<Session<beast::tcp_stream>>(beast::tcp_stream(std::move(s)),
                                                                   shared_, false);
          session = sess;
          Register(session);
          sess->Start();
        }
      }
      if (!shared_->stopping) Accept();
    });
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
