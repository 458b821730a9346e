// A small blocking HTTP/1.1 client (plain or TLS, verified), for coffer's own outgoing calls:
// `coffer operator` talking to a server, and rotation functions of the `http` kind.
#pragma once

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
  std::chrono::seconds timeout{60};
};

// Errors: InternalFailure when the server cannot be reached or the exchange fails.
Result<HttpReply> Send(const Url& url, const HttpCall& call);

}  // namespace coffer::net
