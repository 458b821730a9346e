#include "server/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>

#include "protocol/api_dispatcher.h"

namespace coffer {
namespace {

// No credentials at all: every signed request is refused by the dispatcher.
class NoCredentials final : public CredentialSource {
 public:
  CredentialLookup Find(std::string_view) override { return std::shared_ptr<const Credential>(); }
};

// One client connection to the server, sending raw HTTP/1.1.
class Connection {
 public:
  explicit Connection(uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~Connection() { ::close(fd_); }

  // Sends `request` and returns one response (head and body, by Content-Length).
  std::string RoundTrip(const std::string& request) {
    if (!connected_ || ::send(fd_, request.data(), request.size(), 0) < 0) return "";
    std::string in;
    char buf[4096];
    for (;;) {
      const size_t head_end = in.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        const size_t cl = in.find("Content-Length: ");
        const size_t length = cl == std::string::npos || cl > head_end
                                  ? 0
                                  : std::stoul(in.substr(cl + 16, in.find("\r\n", cl) - cl - 16));
        if (in.size() >= head_end + 4 + length) return in.substr(0, head_end + 4 + length);
      }
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) return in;
      in.append(buf, static_cast<size_t>(n));
    }
  }

 private:
  int fd_;
  bool connected_ = false;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void Start(HttpServerOptions options) {
    options.host = "127.0.0.1";
    options.port = 0;
    options.io_threads = 1;
    dispatcher_ = std::make_unique<ApiDispatcher>(&credentials_, &clock_);
    dispatcher_->SetAuthorizer(&allow_all_);
    auto server = HttpServer::Create(
        options, dispatcher_.get(),
        [] { return std::make_pair(200, std::string(R"({"status":"ok"})")); },
        [] { return std::string("coffer_test_metric 1\n"); });
    ASSERT_TRUE(server.ok()) << server.status().message();
    server_ = std::move(server.value());
    thread_ = std::thread([this] { server_->Run(); });
  }
  void TearDown() override {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
  }

  FakeClock clock_{1767225600000};
  NoCredentials credentials_;
  AllowAllAuthorizer allow_all_;
  std::unique_ptr<ApiDispatcher> dispatcher_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

TEST_F(HttpServerTest, HealthAndRequestsShareAKeepAliveConnection) {
  Start({});
  Connection c(server_->port());
  std::string health = c.RoundTrip("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(health.rfind("HTTP/1.1 200", 0), 0u) << health;
  EXPECT_NE(health.find(R"({"status":"ok"})"), std::string::npos);
  // An unsigned API request on the same connection reaches the dispatcher and is refused there.
  std::string body = "{}";
  std::string api = c.RoundTrip(
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\n"
      "X-Amz-Target: secretsmanager.ListSecrets\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_NE(api.find("MissingAuthenticationToken"), std::string::npos) << api;
  EXPECT_NE(api.find("x-amzn-RequestId"), std::string::npos);
}

TEST_F(HttpServerTest, ABodyOverTheLimitIsRefusedWithoutReachingTheDispatcher) {
  HttpServerOptions options;
  options.max_body_bytes = 1024;
  Start(options);
  Connection c(server_->port());
  std::string big(2048, 'x');
  std::string answer =
      c.RoundTrip("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(big.size()) +
                  "\r\n\r\n" + big);
  EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << answer;
}

TEST_F(HttpServerTest, MetricsNeedTheBearerTokenWhenOneIsSet) {
  HttpServerOptions options;
  options.metrics_token = "s3cret-token";
  Start(options);
  Connection c(server_->port());
  std::string refused = c.RoundTrip("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(refused.rfind("HTTP/1.1 401", 0), 0u) << refused;
  EXPECT_EQ(refused.find("coffer_test_metric"), std::string::npos);
  std::string served =
      c.RoundTrip("GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret-token\r\n\r\n");
  EXPECT_EQ(served.rfind("HTTP/1.1 200", 0), 0u) << served;
  EXPECT_NE(served.find("coffer_test_metric 1"), std::string::npos);
  EXPECT_NE(served.find("coffer_metrics_unauthorized_total 1"), std::string::npos);
}

}  // namespace
}  // namespace coffer
