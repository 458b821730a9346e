#include "rotation/test_postgres.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

#include "core/ids.h"

extern char** environ;

namespace coffer::rotation {
namespace {

namespace fs = std::filesystem;

constexpr const char* kServerUser = "postgres";

Status Error(std::string message) {
  return Status(ErrorCode::kInternalFailure, std::move(message));
}

bool IsExecutable(const fs::path& p) { return ::access(p.c_str(), X_OK) == 0; }

bool HasServerPrograms(const fs::path& dir) {
  return IsExecutable(dir / "initdb") && IsExecutable(dir / "pg_ctl");
}

// $COFFER_PG_BINDIR, else the newest /usr/lib/postgresql/<version>/bin, else PATH.
std::optional<fs::path> FindServerPrograms() {
  if (const char* dir = std::getenv("COFFER_PG_BINDIR"); dir != nullptr && *dir != '\0') {
    if (HasServerPrograms(dir)) return fs::path(dir);
  }
  std::optional<fs::path> best;
  int best_version = -1;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    std::string name = entry.path().filename().string();
    int version = -1;
    std::from_chars(name.data(), name.data() + name.size(), version);
    if (version > best_version && HasServerPrograms(entry.path() / "bin")) {
      best_version = version;
      best = entry.path() / "bin";
    }
  }
  if (best) return best;
  if (const char* path = std::getenv("PATH")) {
    std::stringstream dirs(path);
    for (std::string dir; std::getline(dirs, dir, ':');) {
      if (!dir.empty() && HasServerPrograms(dir)) return fs::path(dir);
    }
  }
  return std::nullopt;
}

std::optional<std::string> FindRunuser() {
  for (const char* p : {"/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser", "/bin/runuser"}) {
    if (IsExecutable(p)) return std::string(p);
  }
  return std::nullopt;
}

std::string Tail(const fs::path& file, size_t max_chars = 3000) {
  std::ifstream in(file, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > max_chars) text = "..." + text.substr(text.size() - max_chars);
  return text;
}

// Runs argv[0] (an absolute path) with stdin from /dev/null and stdout and stderr appended to
// `output`, in directory `cwd`; returns its exit status.
Result<int> Run(const std::vector<std::string>& argv, const fs::path& output, const fs::path& cwd) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, output.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return Error("cannot run " + argv[0] + ": " + std::strerror(rc));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return Error("waitpid: " + std::string(std::strerror(errno)));
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

// A loopback port nobody listens on right now (the kernel's pick for port 0).
Result<int> FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return Error("socket: " + std::string(std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::string why = std::strerror(errno);
    ::close(fd);
    return Error("cannot pick a free port: " + why);
  }
  ::close(fd);
  return static_cast<int>(ntohs(addr.sin_port));
}

struct PgConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct PgResultClearer {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgConnection = std::unique_ptr<PGconn, PgConnCloser>;
using PgResult = std::unique_ptr<PGresult, PgResultClearer>;

std::string Trimmed(const char* message) {
  std::string s = message != nullptr ? message : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

Result<PgConnection> Connect(const std::string& host, int port, std::string_view user,
                             std::string_view password, std::string_view dbname) {
  std::string port_text = std::to_string(port), user_text(user), password_text(password),
              dbname_text(dbname);
  const char* keywords[] = {
      "host", "port", "user", "password", "dbname", "sslmode", "connect_timeout", nullptr};
  const char* values[] = {host.c_str(),
                          port_text.c_str(),
                          user_text.c_str(),
                          password_text.c_str(),
                          dbname_text.c_str(),
                          "disable",
                          "5",
                          nullptr};
  PgConnection conn(PQconnectdbParams(keywords, values, 0));
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return Status(ErrorCode::kInternalFailure, Trimmed(PQerrorMessage(conn.get())));
  }
  return conn;
}

Result<PgResult> Exec(PGconn* conn, std::string_view sql) {
  PgResult result(PQexec(conn, std::string(sql).c_str()));
  ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return Status(ErrorCode::kInternalFailure, Trimmed(PQerrorMessage(conn)));
  }
  return result;
}

}  // namespace

Result<std::unique_ptr<TestPostgresServer>> TestPostgresServer::Start() {
  std::optional<fs::path> bin = FindServerPrograms();
  if (!bin) {
    return Error(
        "PostgreSQL's server programs (initdb, pg_ctl) are not installed: looked in "
        "$COFFER_PG_BINDIR, /usr/lib/postgresql/<version>/bin and PATH. Install them with "
        "scripts/install-deps.sh (Debian package postgresql).");
  }
  std::unique_ptr<TestPostgresServer> server(new TestPostgresServer());
  server->bin_dir_ = bin->string();
  std::vector<std::string> prefix;
  const passwd* pg_user = nullptr;
  if (::geteuid() == 0) {
    // postgres will not run as root ("root execution of the PostgreSQL server is not permitted").
    pg_user = ::getpwnam(kServerUser);
    std::optional<std::string> runuser = FindRunuser();
    if (pg_user == nullptr || !runuser) {
      return Error(
          "The tests run as root, and PostgreSQL refuses to: they need the 'postgres' system user "
          "(created by the Debian package postgresql) and runuser (util-linux) to run it as.");
    }
    server->run_as_postgres_ = true;
    prefix = {*runuser, "-u", kServerUser, "--"};
  }
  auto command = [&](std::initializer_list<std::string> args) {
    std::vector<std::string> argv = prefix;
    argv.insert(argv.end(), args);
    return argv;
  };

  // Under /tmp, not $TMPDIR: the socket path must stay short, and the postgres user must be able
  // to reach the directory.
  std::string dir_template = "/tmp/coffer-pg-XXXXXX";
  if (::mkdtemp(dir_template.data()) == nullptr) {
    return Error("mkdtemp: " + std::string(std::strerror(errno)));
  }
  server->dir_ = dir_template;
  const fs::path dir = server->dir_;
  const fs::path data = dir / "data";
  const fs::path pwfile = dir / "pwfile";
  server->superuser_password_ = RandomAlphanumeric(24);
  {
    std::ofstream out(pwfile);
    out << server->superuser_password_ << "\n";
  }
  ::chmod(pwfile.c_str(), 0600);
  if (pg_user != nullptr) {
    if (::chown(dir.c_str(), pg_user->pw_uid, pg_user->pw_gid) != 0 ||
        ::chown(pwfile.c_str(), pg_user->pw_uid, pg_user->pw_gid) != 0) {
      return Error("chown " + dir.string() + ": " + std::strerror(errno));
    }
  }

  const fs::path initdb_out = dir / "initdb.out";
  COFFER_ASSIGN_OR_RETURN(
      int initdb_rc,
      Run(command({(*bin / "initdb").string(), "-D", data.string(), "-U", server->superuser_,
                   "--auth=scram-sha-256", "--pwfile=" + pwfile.string(), "--locale=C",
                   "--encoding=UTF8", "--no-sync"}),
          initdb_out, dir));
  fs::remove(pwfile);
  if (initdb_rc != 0) {
    return Error("initdb exited with " + std::to_string(initdb_rc) + ":\n" + Tail(initdb_out));
  }
  {
    std::ofstream conf(data / "postgresql.conf", std::ios::app);
    conf << "\n# coffer test server\n"
         << "listen_addresses = '127.0.0.1'\n"
         << "unix_socket_directories = '" << dir.string() << "'\n"
         << "log_statement = 'all'\n"
         << "log_line_prefix = '%m [%p] %u@%d '\n"
         << "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n";
  }

  // Another process may take the port between our pick and the server's bind: try a few.
  const fs::path log = dir / "server.log";
  const fs::path pg_ctl_out = dir / "pg_ctl.out";
  std::string failure;
  for (int attempt = 0; attempt < 3 && !server->started_; ++attempt) {
    COFFER_ASSIGN_OR_RETURN(server->port_, FreeLoopbackPort());
    {
      std::ofstream conf(data / "postgresql.conf", std::ios::app);
      conf << "port = " << server->port_ << "\n";  // the last setting wins
    }
    COFFER_ASSIGN_OR_RETURN(int rc, Run(command({(*bin / "pg_ctl").string(), "-D", data.string(),
                                                 "-l", log.string(), "-w", "-t", "60", "start"}),
                                        pg_ctl_out, dir));
    if (rc == 0) {
      server->started_ = true;
    } else {
      failure = "pg_ctl start exited with " + std::to_string(rc) + ":\n" + Tail(pg_ctl_out) +
                "\nserver log:\n" + Tail(log);
    }
  }
  if (!server->started_) return Error(failure);
  return server;
}

TestPostgresServer::~TestPostgresServer() {
  if (dir_.empty()) return;
  const fs::path dir = dir_;
  // Also after a failed start: pg_ctl may have given up waiting on a server that did start.
  if (fs::exists(dir / "data" / "postmaster.pid")) {
    std::vector<std::string> argv;
    if (run_as_postgres_) {
      std::optional<std::string> runuser = FindRunuser();
      argv = {runuser.value_or("/usr/sbin/runuser"), "-u", kServerUser, "--"};
    }
    argv.insert(argv.end(), {(fs::path(bin_dir_) / "pg_ctl").string(), "-D",
                             (dir / "data").string(), "-m", "fast", "-w", "stop"});
    (void)Run(argv, dir / "pg_ctl.out", dir);
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
}

Status TestPostgresServer::Execute(std::string_view sql, std::string_view dbname) const {
  COFFER_ASSIGN_OR_RETURN(PgConnection conn,
                          Connect(host_, port_, superuser_, superuser_password_, dbname));
  return Exec(conn.get(), sql).status();
}

Result<std::string> TestPostgresServer::QueryValue(std::string_view sql,
                                                   std::string_view dbname) const {
  COFFER_ASSIGN_OR_RETURN(PgConnection conn,
                          Connect(host_, port_, superuser_, superuser_password_, dbname));
  COFFER_ASSIGN_OR_RETURN(PgResult result, Exec(conn.get(), sql));
  if (PQntuples(result.get()) == 0 || PQnfields(result.get()) == 0) return std::string();
  return std::string(PQgetvalue(result.get(), 0, 0));
}

Status TestPostgresServer::LogIn(std::string_view user, std::string_view password,
                                 std::string_view sql, std::string_view dbname) const {
  COFFER_ASSIGN_OR_RETURN(PgConnection conn, Connect(host_, port_, user, password, dbname));
  if (sql.empty()) return Status::Ok();
  return Exec(conn.get(), sql).status();
}

std::string TestPostgresServer::ServerLog() const {
  return Tail(fs::path(dir_) / "server.log", std::string::npos);
}

}  // namespace coffer::rotation
