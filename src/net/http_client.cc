#include "net/http_client.h"

#include <arpa/inet.h>
#include <fcntl.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace coffer::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

// Sockets are not inherited by programs coffer starts (rotation functions).
void CloseOnExec(int fd) { ::fcntl(fd, F_SETFD, FD_CLOEXEC); }

// Runs `io` until the operation started on it completes. The stream's expiry (one absolute
// deadline for the whole call) makes every pending operation fail with a timeout when it
// passes, so a peer that accepts and then says nothing cannot hold the caller past it.
// `cancel`, when set, abandons the operation (coffer is shutting down).
void RunOne(asio::io_context& io, beast::tcp_stream& lowest, const std::atomic<bool>* cancel) {
  io.restart();
  if (cancel == nullptr) {
    io.run();
    return;
  }
  while (!io.stopped()) {
    io.run_for(std::chrono::milliseconds(100));
    if (cancel->load(std::memory_order_acquire)) lowest.cancel();
  }
}

template <typename Stream>
Result<HttpReply> Exchange(asio::io_context& io, Stream& stream,
                           http::request<http::string_body>& req, size_t max_body,
                           const std::atomic<bool>* cancel) {
  beast::tcp_stream& lowest = beast::get_lowest_layer(stream);
  beast::error_code ec;
  http::async_write(stream, req, [&](beast::error_code e, size_t) { ec = e; });
  RunOne(io, lowest, cancel);
  if (ec) return Status(ErrorCode::kInternalFailure, "sending the request failed: " + ec.message());
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(max_body);
  http::async_read(stream, buffer, parser, [&](beast::error_code e, size_t) { ec = e; });
  RunOne(io, lowest, cancel);
  if (ec)
    return Status(ErrorCode::kInternalFailure, "reading the response failed: " + ec.message());
  auto res = parser.release();
  return HttpReply{static_cast<int>(res.result_int()), std::move(res.body())};
}

}  // namespace

Result<Url> ParseUrl(const std::string& url) {
  Url u;
  std::string rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    u.tls = true;
    rest = url.substr(8);
  } else {
    return Status(ErrorCode::kInvalidParameter,
                  "a URL must start with http:// or https://: " + url);
  }
  size_t slash = rest.find('/');
  u.path = slash == std::string::npos ? "/" : rest.substr(slash);
  rest = rest.substr(0, slash);
  u.host_header = rest;
  if (!rest.empty() && rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string::npos)
      return Status(ErrorCode::kInvalidParameter, "bad IPv6 URL: " + url);
    u.host = rest.substr(1, close - 1);
    if (close + 1 < rest.size() && rest[close + 1] == ':') u.port = rest.substr(close + 2);
  } else {
    size_t colon = rest.rfind(':');
    u.host = rest.substr(0, colon);
    if (colon != std::string::npos) u.port = rest.substr(colon + 1);
  }
  if (u.host.empty()) return Status(ErrorCode::kInvalidParameter, "the URL has no host: " + url);
  if (u.port.empty()) u.port = u.tls ? "443" : "80";
  return u;
}

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr v4{};
  return inet_pton(AF_INET, host.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

Result<HttpReply> Send(const Url& url, const HttpCall& call) {
  http::request<http::string_body> req{http::string_to_verb(call.method), call.target, 11};
  req.set(http::field::host, url.host_header);
  req.set(http::field::user_agent, "coffer");
  for (const auto& [k, v] : call.headers) req.set(k, v);
  if (!call.body.empty() || call.method == "POST") {
    req.body() = call.body;
    req.prepare_payload();
  }
  const auto deadline = std::chrono::steady_clock::now() + call.timeout;
  try {
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    auto addresses = resolver.resolve(url.host, url.port);
    beast::error_code ec;
    if (!url.tls) {
      beast::tcp_stream stream(io);
      stream.expires_at(deadline);
      stream.async_connect(addresses, [&](beast::error_code e, auto) { ec = e; });
      RunOne(io, stream, call.cancel);
      if (ec) return Status(ErrorCode::kInternalFailure, "cannot connect: " + ec.message());
      CloseOnExec(stream.socket().native_handle());
      return Exchange(io, stream, req, call.max_response_bytes, call.cancel);
    }
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    if (call.ca_bundle.empty()) {
      ctx.set_default_verify_paths();
    } else {
      ctx.load_verify_file(call.ca_bundle);
    }
    ctx.set_verify_mode(asio::ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> stream(io, ctx);
    SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str());
    stream.set_verify_callback(asio::ssl::host_name_verification(url.host));
    beast::get_lowest_layer(stream).expires_at(deadline);
    beast::get_lowest_layer(stream).async_connect(addresses,
                                                  [&](beast::error_code e, auto) { ec = e; });
    RunOne(io, beast::get_lowest_layer(stream), call.cancel);
    if (ec) return Status(ErrorCode::kInternalFailure, "cannot connect: " + ec.message());
    CloseOnExec(beast::get_lowest_layer(stream).socket().native_handle());
    stream.async_handshake(asio::ssl::stream_base::client, [&](beast::error_code e) { ec = e; });
    RunOne(io, beast::get_lowest_layer(stream), call.cancel);
    if (ec) return Status(ErrorCode::kInternalFailure, "TLS handshake failed: " + ec.message());
    return Exchange(io, stream, req, call.max_response_bytes, call.cancel);
  } catch (const std::exception& e) {
    return Status(ErrorCode::kInternalFailure,
                  std::string("cannot reach ") + url.host_header + ": " + e.what());
  }
}

}  // namespace coffer::net
