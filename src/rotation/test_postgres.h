// A throwaway PostgreSQL server for tests: initdb in a fresh directory under /tmp, then postgres
// on a free loopback port (TCP on 127.0.0.1 only, its Unix socket in that directory), with
// password (SCRAM) authentication for everyone. The destructor stops it and removes the
// directory.
//
// It needs PostgreSQL's server programs (initdb, pg_ctl, postgres: Debian package `postgresql`,
// installed by scripts/install-deps.sh). They are looked for in $COFFER_PG_BINDIR, then in
// /usr/lib/postgresql/<newest version>/bin (where Debian puts them), then on PATH. postgres
// refuses to run as root, so when the tests run as root the server runs as the `postgres`
// system user (which the Debian package creates), through `runuser -u postgres --`.
//
// The server logs every statement (log_statement = all, with the user in each line), so a
// test can check what reached the server and as whom.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace coffer::rotation {

class TestPostgresServer {
 public:
  // Starts a server. Errors say what is missing or what initdb/pg_ctl printed.
  static Result<std::unique_ptr<TestPostgresServer>> Start();
  ~TestPostgresServer();

  TestPostgresServer(const TestPostgresServer&) = delete;
  TestPostgresServer& operator=(const TestPostgresServer&) = delete;

  const std::string& host() const { return host_; }  // "127.0.0.1"
  int port() const { return port_; }
  const std::string& superuser() const { return superuser_; }
  const std::string& superuser_password() const { return superuser_password_; }

  // Runs SQL (one or more statements) as the superuser in `dbname`.
  Status Execute(std::string_view sql, std::string_view dbname = "postgres") const;
  // The first column of the first row of a query run as the superuser ("" if no row).
  Result<std::string> QueryValue(std::string_view sql, std::string_view dbname = "postgres") const;
  // Logs in as `user` over TCP, runs `sql` if given, and says why not if that fails.
  Status LogIn(std::string_view user, std::string_view password, std::string_view sql = {},
               std::string_view dbname = "postgres") const;
  // Everything the server has logged so far.
  std::string ServerLog() const;

 private:
  TestPostgresServer() = default;

  std::string bin_dir_;
  bool run_as_postgres_ = false;  // we are root: run the server programs as `postgres`
  std::string dir_;               // the temporary directory: data/, server.log, socket
  bool started_ = false;
  std::string host_ = "127.0.0.1";
  int port_ = 0;
  std::string superuser_ = "postgres";
  std::string superuser_password_;
};

}  // namespace coffer::rotation
