#include "agent/agent_server.h"

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>
#include <vector>

namespace coffer::agent {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// A request is a GET with a short query: anything larger is not one.
constexpr uint32_t kMaxHeaderBytes = 16 * 1024;
constexpr uint64_t kMaxBodyBytes = 4 * 1024;
// A connection that sends nothing for this long is closed (the AWS agent times a connection
// out likewise).
constexpr std::chrono::seconds kIdleTimeout{60};

struct Shared {
  AgentServerOptions options;
  AgentHandler handle;
  std::atomic<int> connections{0};
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, std::shared_ptr<Shared> shared)
      : stream_(std::move(socket)), shared_(std::move(shared)) {
    over_limit_ = shared_->connections.fetch_add(1) + 1 > shared_->options.max_connections;
    ping_over_limit_ = shared_->connections.load() > shared_->options.max_connections + 2;
  }
  ~Connection() { shared_->connections.fetch_sub(1); }

  void Start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->Read(); });
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(kMaxBodyBytes);
    stream_.expires_after(kIdleTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return self->Close();
                       self->Answer();
                     });
  }

  void Answer() {
    const auto& req = parser_->get();
    const std::string_view target(req.target().data(), req.target().size());
    const bool ping = target == "/ping" || target.rfind("/ping?", 0) == 0;
    AgentReply reply;
    if (ping ? ping_over_limit_ : over_limit_) {
      reply = AgentReply{429, "Connection limit exceeded"};
    } else {
      auto header = [&req](std::string_view name) -> std::optional<std::string> {
        auto it = req.find(beast::string_view(name.data(), name.size()));
        if (it == req.end()) return std::nullopt;
        return std::string(it->value());
      };
      reply = shared_->handle(
          std::string_view(req.method_string().data(), req.method_string().size()), target, header);
    }
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(reply.status), req.version());
    res->set(http::field::content_type, reply.content_type);
    res->keep_alive(req.keep_alive() && reply.status != 429);
    res->body() = std::move(reply.body);
    res->prepare_payload();
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, size_t) {
                        // The answer may hold a secret: wiped once written.
                        std::fill(res->body().begin(), res->body().end(), '\0');
                        if (ec || !res->keep_alive()) return self->Close();
                        self->Read();
                      });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  std::shared_ptr<Shared> shared_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool over_limit_ = false;
  bool ping_over_limit_ = false;
};

class AgentServerImpl final : public AgentServer {
 public:
  AgentServerImpl(std::shared_ptr<Shared> shared, int threads)
      : shared_(std::move(shared)), threads_(threads), ioc_(threads), acceptor_(ioc_) {}

  Status Listen() {
    beast::error_code ec;
    // Loopback only, always: the token keeps other local processes' forged requests out, the
    // address keeps the network out.
    tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), shared_->options.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status(ErrorCode::kInvalidParameter,
                    "cannot listen on 127.0.0.1:" + std::to_string(shared_->options.port) + ": " +
                        ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    return Status::Ok();
  }

  uint16_t port() const override { return port_; }

  void Run() override {
    Accept();
    std::vector<std::thread> workers;
    for (int i = 1; i < threads_; ++i) workers.emplace_back([this] { ioc_.run(); });
    ioc_.run();
    for (auto& t : workers) t.join();
  }

  void Stop() override { ioc_.stop(); }

 private:
  void Accept() {
    acceptor_.async_accept(
        asio::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
          if (!ec) {
            // Keep the agent's answers on this host (the AWS agent sets the same): a TTL of 1
            // cannot cross a router.
            setsockopt(socket.native_handle(), IPPROTO_IP, IP_TTL, &kTtl, sizeof kTtl);
            std::make_shared<Connection>(std::move(socket), shared_)->Start();
          } else if (ec == asio::error::operation_aborted) {
            return;
          } else {
            // Out of descriptors: try again shortly rather than spin.
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
          }
          Accept();
        });
  }

  static constexpr int kTtl = 1;
  std::shared_ptr<Shared> shared_;
  int threads_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
};

}  // namespace

Result<std::unique_ptr<AgentServer>> AgentServer::Create(const AgentServerOptions& options,
                                                         AgentHandler handle) {
  auto shared = std::make_shared<Shared>();
  shared->options = options;
  shared->handle = std::move(handle);
  int threads = options.io_threads > 0
                    ? options.io_threads
                    : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  auto server = std::make_unique<AgentServerImpl>(std::move(shared), threads);
  COFFER_RETURN_IF_ERROR(server->Listen());
  return std::unique_ptr<AgentServer>(std::move(server));
}

}  // namespace coffer::agent
