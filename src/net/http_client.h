// A small blocking HTTP/1.1 client (plain or TLS, verified), for coffer's own outgoing calls:
// `coffer operator` talking to a server, and rotation functions of the `http` kind.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace coffer::net {

struct Url {
  bool tls = false;
  std::string host;  // without brackets for IPv6
  std::string port;
  std::string host_header;  // host[:port] as written
  std::string path;         // "/..." (default "/")
};

// Errors: InvalidParameter unless http:// or https:// with a host.
Result<Url> ParseUrl(const std::string& url);

// Whether `host` is a loopback name or address (127.0.0.0/8, ::1, localhost).
bool IsLoopbackHost(const std::string& host);

struct HttpReply {
  int status = 0;
  std::string body;
};

struct HttpCall {
  std::string method = "GET";
  std::string target;  // path and query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string ca_bundle;  // PEM file for TLS; empty = the system's store
  // One deadline for the whole exchange (connect, TLS, request and response): a peer that
  // stalls at any point is abandoned when it passes.
  std::chrono::seconds timeout{60};
  size_t max_response_bytes = 1024 * 1024;    // a longer response body fails the call
  const std::atomic<bool>* cancel = nullptr;  // set: the call is abandoned at once
};

// Errors: InternalFailure when the server cannot be reached, the exchange fails, the deadline
// passes or the response is over max_response_bytes.
Result<HttpReply> Send(const Url& url, const HttpCall& call);

}  // namespace coffer::net
