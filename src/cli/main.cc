// coffer: a self-hosted secrets service that speaks the AWS Secrets Manager, Parameter Store,
// KMS and STS APIs.
//
//   coffer server --listen HOST:PORT --data-dir DIR [--account-id ID] [--tls-cert F --tls-key F]
//   coffer operator init|status|unseal|seal|rotate-root ...
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include "auth/credential_registry.h"
#include "authz/policy_authorizer.h"
#include "cli/operator_commands.h"
#include "crypto/locked_key.h"
#include "protocol/api_dispatcher.h"
#include "protocol/operator_api.h"
#include "rotation/builtin_rotators.h"
#include "rotation/postgres_rotators.h"
#include "rotation/process_runner.h"
#include "rotation/rotation_engine.h"
#include "server/bootstrap.h"
#include "server/denial_audit.h"
#include "server/http_server.h"
#include "services/iam/iam_service.h"
#include "services/kms/kms_service.h"
#include "services/params/params_service.h"
#include "services/secrets/secrets_service.h"
#include "services/sts/sts_service.h"

namespace {

constexpr char kDefaultListen[] = "127.0.0.1:4600";

// Keeps key material out of core dumps and away from same-user debuggers.
void HardenProcess() {
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

bool SplitHostPort(const std::string& listen, std::string* host, uint16_t* port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  *host = listen.substr(0, colon);
  if (host->size() > 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  try {
    size_t used = 0;
    int p = std::stoi(listen.substr(colon + 1), &used);
    if (used != listen.size() - colon - 1 || p < 0 || p > 65535) return false;
    *port = static_cast<uint16_t>(p);
  } catch (...) {
    return false;
  }
  return true;
}

std::optional<std::string> Env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

struct ServerFlags {
  std::string listen = kDefaultListen;
  std::string data_dir = "./data";
  std::string account_id;
  std::string tls_cert;
  std::string tls_key;
  int io_threads = 0;
  int max_connections = 4096;
  int purge_interval_seconds = 60;
  std::string passphrase_file;
  std::vector<std::string> rotation_http_hosts;
  std::string exec_user;
  int rotation_workers = 4;
  int max_connections_per_source = 1024;
  int first_byte_timeout_seconds = 10;
  std::string metrics_listen;
  std::string metrics_token_file;
  int event_retention_days = 90;
  int max_events_per_account = 100000;
  bool check_store = false;
  bool accept_damaged_wal = false;
};

int RunServer(const ServerFlags& flags) {
  HardenProcess();
  // The store holds names, tags and sealed values; keep every file coffer creates private.
  umask(077);
  // Signals are taken by a dedicated thread (sigwait), so block them everywhere first.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  coffer::HttpServerOptions http;
  if (!SplitHostPort(flags.listen, &http.host, &http.port)) {
    std::cerr << "coffer: --listen must be HOST:PORT, got '" << flags.listen << "'\n";
    return 2;
  }
  http.tls_cert_file = flags.tls_cert;
  http.tls_key_file = flags.tls_key;
  http.io_threads = flags.io_threads;
  http.max_connections = flags.max_connections;
  http.max_connections_per_source = flags.max_connections_per_source;
  http.first_byte_timeout = std::chrono::seconds(flags.first_byte_timeout_seconds);
  // Every connection takes a descriptor: use the hard limit, and never promise more
  // connections than descriptors are left after the store, key files and functions' pipes.
  {
    struct rlimit nofile {};
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
      if (nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        setrlimit(RLIMIT_NOFILE, &nofile);
        getrlimit(RLIMIT_NOFILE, &nofile);
      }
      constexpr rlim_t kReserved = 64;
      if (nofile.rlim_cur != RLIM_INFINITY &&
          static_cast<rlim_t>(http.max_connections) + kReserved > nofile.rlim_cur) {
        const int clamped =
            nofile.rlim_cur > kReserved + 1 ? static_cast<int>(nofile.rlim_cur - kReserved) : 1;
        std::cerr << "coffer: --max-connections " << http.max_connections
                  << " exceeds the descriptor limit (" << nofile.rlim_cur << "); using " << clamped
                  << "\n";
        http.max_connections = clamped;
      }
    }
  }
  http.max_connections_per_source = std::min(http.max_connections_per_source, http.max_connections);
  if (!flags.metrics_token_file.empty()) {
    std::ifstream in(flags.metrics_token_file);
    std::getline(in, http.metrics_token);
    while (!http.metrics_token.empty() &&
           (http.metrics_token.back() == '\r' || http.metrics_token.back() == ' ')) {
      http.metrics_token.pop_back();
    }
    if (!in || http.metrics_token.empty()) {
      std::cerr << "coffer: --metrics-token-file: cannot read a token from "
                << flags.metrics_token_file << "\n";
      return 2;
    }
  }
  coffer::HttpServerOptions metrics_http;
  if (!flags.metrics_listen.empty()) {
    if (!SplitHostPort(flags.metrics_listen, &metrics_http.host, &metrics_http.port)) {
      std::cerr << "coffer: --metrics-listen must be HOST:PORT, got '" << flags.metrics_listen
                << "'\n";
      return 2;
    }
    metrics_http.metrics_only = true;
    metrics_http.io_threads = 1;
    metrics_http.max_connections = 64;
    metrics_http.max_connections_per_source = 64;
    metrics_http.metrics_token = http.metrics_token;
    http.serve_metrics = false;  // only on the separate address
  }

  coffer::SystemClock clock;
  coffer::BootstrapOptions boot;
  boot.data_dir = flags.data_dir;
  boot.check_store = flags.check_store;
  boot.accept_damaged_wal = flags.accept_damaged_wal;
  if (!flags.account_id.empty()) boot.account_id = flags.account_id;
  boot.root_key_id = Env("COFFER_ROOT_ACCESS_KEY_ID");
  if (auto s = Env("COFFER_ROOT_SECRET_ACCESS_KEY")) boot.root_secret = coffer::SecretBytes(*s);
  if (coffer::cli::PassphraseGivenWithoutPrompt(flags.passphrase_file)) {
    auto passphrase = coffer::cli::ReadPassphrase(flags.passphrase_file, /*confirm=*/false);
    if (!passphrase.ok()) {
      std::cerr << "coffer: " << passphrase.status().message() << "\n";
      return 1;
    }
    boot.passphrase = std::move(passphrase.value());
  }
  auto deployment = coffer::OpenDeployment(boot, &clock);
  boot.passphrase.reset();
  if (!deployment.ok()) {
    std::cerr << "coffer: " << deployment.status().message() << "\n";
    return 1;
  }
  auto& d = deployment.value();
  if (!d.damage_report.empty()) {
    std::cerr << "coffer: " << flags.data_dir << "/coffer.db-wal: " << d.damage_report << "\n";
  }

  coffer::CredentialRegistry credentials(d.store.get(), d.keyring.get());
  coffer::secrets::SecretsService secrets(d.store.get(), d.keyring.get(), &clock);
  coffer::params::ParamsService params(d.store.get(), d.keyring.get(), &secrets, &clock);
  coffer::kms::KmsService kms(d.store.get(), d.keyring.get(), &clock);
  coffer::sts::StsService sts(d.store.get(), d.keyring.get());
  coffer::PolicyAuthorizer authorizer(d.store.get());
  coffer::DenialAudit denials(d.store.get());
  authorizer.SetDenialObserver(
      [&denials](const coffer::RequestContext& ctx, const coffer::AuthzCheck& check,
                 const std::string& message) { denials.Record(ctx, check, message); });
  // IAM changes take effect on the next request: cached policies and credentials are dropped.
  coffer::iam::IamService iam(d.store.get(), d.keyring.get(), &clock, [&] {
    authorizer.InvalidateIdentities();
    credentials.Forget();
  });
  coffer::ApiDispatcher dispatcher(&credentials, &clock);
  dispatcher.AddJsonService(
      "secretsmanager", "secretsmanager",
      [&secrets](std::string_view op, const coffer::RequestContext& ctx,
                 const boost::json::object& in) { return secrets.Handle(op, ctx, in); });
  dispatcher.AddJsonService(
      "AmazonSSM", "ssm",
      [&params](std::string_view op, const coffer::RequestContext& ctx,
                const boost::json::object& in) { return params.Handle(op, ctx, in); });
  dispatcher.AddJsonService(
      "TrentService", "kms",
      [&kms](std::string_view op, const coffer::RequestContext& ctx,
             const boost::json::object& in) { return kms.Handle(op, ctx, in); });
  coffer::OperatorApi operator_api(&credentials, d.seal.get(), d.keyring.get(), d.store.get(),
                                   d.account_id, &clock, d.key_file.get());
  dispatcher.SetOperatorApi(&operator_api);
  operator_api.SetBeforeListEvents([&denials] { (void)denials.Flush(); });
  operator_api.SetFunctionRegistrar([&d](coffer::RotationFunctionRow row) {
    return coffer::rotation::RegisterFunction(*d.store, *d.keyring, std::move(row));
  });
  dispatcher.SetAuthorizer(&authorizer);
  dispatcher.AddQueryService(
      "sts", "https://sts.amazonaws.com/doc/2011-06-15/",
      [&sts](std::string_view action, const coffer::RequestContext& ctx,
             const std::map<std::string, std::string>& p) { return sts.Handle(action, ctx, p); });
  // Rotation: the engine runs in its own thread, woken by RotateSecret and every second.
  coffer::rotation::EngineOptions rotation_options{.allowed_http_hosts = flags.rotation_http_hosts,
                                                   .max_concurrent = flags.rotation_workers};
  if (!flags.exec_user.empty()) {
    auto user = coffer::rotation::LookUpUser(flags.exec_user);
    if (!user.ok()) {
      std::cerr << "coffer: --exec-user: " << user.status().message() << "\n";
      return 2;
    }
    if (::geteuid() != 0) {
      std::cerr << "coffer: --exec-user needs the server to run as root (it switches user for "
                   "each exec function)\n";
      return 2;
    }
    rotation_options.exec_user = *user;
  }
  coffer::rotation::RotationEngine rotations(d.store.get(), d.keyring.get(), &secrets, &sts,
                                             &authorizer, &clock, std::move(rotation_options));
  rotations.RegisterBuiltin("random-api-key", coffer::rotation::NewRandomApiKeyRotator);
  rotations.RegisterBuiltin("hmac-signing-key", coffer::rotation::NewHmacSigningKeyRotator);
  rotations.RegisterBuiltin("postgres-single-user",
                            [] { return coffer::rotation::NewPostgresSingleUserRotator(); });
  rotations.RegisterBuiltin("postgres-alternating-users",
                            [] { return coffer::rotation::NewPostgresAlternatingUsersRotator(); });
  std::mutex rotation_mu;
  std::condition_variable rotation_cv;
  bool rotation_wanted = false;
  secrets.SetRotationHooks(
      [&rotations](const std::string& arn) { return rotations.FunctionExists(arn); },
      [&] {
        std::lock_guard lock(rotation_mu);
        rotation_wanted = true;
        rotation_cv.notify_all();
      });
  dispatcher.AddQueryService(
      "iam", "https://iam.amazonaws.com/doc/2010-05-08/",
      [&iam](std::string_view action, const coffer::RequestContext& ctx,
             const std::map<std::string, std::string>& p) { return iam.Handle(action, ctx, p); });
  coffer::Keyring* keyring = d.keyring.get();
  // Load balancers take a sealed server out of rotation: 503 until it is unsealed.
  coffer::Store* store = d.store.get();
  auto health = [keyring, store] {
    if (keyring->sealed()) {
      return std::make_pair(503, std::string(R"({"status":"sealed","sealed":true})"));
    }
    // Degraded: reads are served, writes are refused until the store can write again. Still
    // 200, since taking the only node out of a load balancer would stop the reads as well.
    if (std::string problem = store->WriteProblem(); !problem.empty()) {
      boost::json::object body{{"status", "degraded"},
                               {"sealed", false},
                               {"reason", "the store cannot write: " + problem}};
      return std::make_pair(200, boost::json::serialize(body));
    }
    return std::make_pair(200, std::string(R"({"status":"ok","sealed":false})"));
  };
  auto metrics = [&denials, &rotations, store] {
    return denials.PrometheusText() + rotations.PrometheusText() + store->PrometheusText();
  };
  auto server = coffer::HttpServer::Create(http, &dispatcher, health, metrics);
  if (!server.ok()) {
    std::cerr << "coffer: " << server.status().message() << "\n";
    return 1;
  }
  std::unique_ptr<coffer::HttpServer> metrics_server;
  if (metrics_http.metrics_only) {
    auto created = coffer::HttpServer::Create(metrics_http, &dispatcher, health, metrics);
    if (!created.ok()) {
      std::cerr << "coffer: --metrics-listen: " << created.status().message() << "\n";
      return 1;
    }
    metrics_server = std::move(created.value());
  }
  std::thread metrics_thread;
  if (metrics_server) metrics_thread = std::thread([&] { metrics_server->Run(); });

  // Background jobs: purge secrets whose recovery window has ended; apply parameter policies.
  std::mutex job_mu;
  std::condition_variable job_cv;
  bool stopping = false;
  std::thread purge([&] {
    std::unique_lock lock(job_mu);
    while (!job_cv.wait_for(lock, std::chrono::seconds(flags.purge_interval_seconds),
                            [&] { return stopping; })) {
      lock.unlock();
      if (keyring->sealed()) {  // nothing to do until an operator unseals
        lock.lock();
        continue;
      }
      auto purged = secrets.PurgeExpired();
      if (!purged.ok()) {
        std::cerr << "coffer: purge of deleted secrets failed: " << purged.status().message()
                  << "\n";
      } else if (purged.value() > 0) {
        std::cout << "coffer: purged " << purged.value() << " deleted secret(s)" << std::endl;
      }
      auto keys = kms.RunKeyMaintenance();
      if (!keys.ok()) {
        std::cerr << "coffer: KMS key maintenance failed: " << keys.status().message() << "\n";
      }
      auto policies = params.RunPolicies();
      if (!policies.ok()) {
        std::cerr << "coffer: parameter policies failed: " << policies.status().message() << "\n";
      }
      auto sessions = sts.PurgeExpiredSessions(clock.NowMillis());
      if (!sessions.ok()) {
        std::cerr << "coffer: purge of expired sessions failed: " << sessions.message() << "\n";
      }
      // Event retention: nobody, a flooding caller least, grows the event stream without bound.
      auto pruned = d.store->Write([&](coffer::StoreWriter& w) {
        return w.events().Prune(clock.NowMillis() - int64_t{flags.event_retention_days} * 86400000,
                                flags.max_events_per_account);
      });
      if (!pruned.ok()) {
        std::cerr << "coffer: event retention failed: " << pruned.message() << "\n";
      }
      lock.lock();
    }
  });

  bool rotation_stopping = false;
  std::thread rotation_thread([&] {
    std::unique_lock lock(rotation_mu);
    auto last_flush = std::chrono::steady_clock::now();
    while (!rotation_stopping) {
      if (std::chrono::steady_clock::now() - last_flush >= std::chrono::seconds(5)) {
        // Denials are counted in memory and written in aggregate (server/denial_audit.h).
        lock.unlock();
        (void)denials.Flush();
        lock.lock();
        last_flush = std::chrono::steady_clock::now();
      }
      rotation_cv.wait_for(lock, std::chrono::seconds(1),
                           [&] { return rotation_wanted || rotation_stopping; });
      if (rotation_stopping) break;
      rotation_wanted = false;
      lock.unlock();
      if (!keyring->sealed()) {
        coffer::Status dispatched = rotations.Dispatch();
        if (!dispatched.ok()) {
          std::cerr << "coffer: rotation pass failed: " << dispatched.message() << "\n";
        }
      }
      lock.lock();
    }
  });

  std::thread signal_waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    std::cout << "coffer: shutting down (signal " << sig << ")" << std::endl;
    (*server)->Stop();
    if (metrics_server) metrics_server->Stop();
  });

  std::string scheme = (*server)->tls() ? "https" : "http";
  std::string host = http.host.find(':') != std::string::npos ? "[" + http.host + "]" : http.host;
  std::string endpoint = scheme + "://" + host + ":" + std::to_string((*server)->port());
  std::cout << "coffer: account " << d.account_id << ", data in " << flags.data_dir << "\n";
  if (!d.credentials_file.empty()) {
    std::cout << "coffer: generated the account's root access key; it is in " << d.credentials_file
              << " (profile 'coffer')\n";
  }
  if (!coffer::KeyMemoryIsLocked()) {
    std::cerr << "coffer: warning: key memory could not be locked (raise RLIMIT_MEMLOCK, e.g. "
                 "ulimit -l); keys may be swapped to disk\n";
  }
  if (d.keyring->sealed()) {
    auto seal = d.seal->status();
    std::cout << "coffer: sealed (" << coffer::SealTypeName(seal.type)
              << " seal); unseal with `coffer operator unseal`" << std::endl;
  }
  rotations.set_endpoint(endpoint);
  if (metrics_server) {
    std::cout << "coffer: metrics on http://" << metrics_http.host << ":" << metrics_server->port()
              << "/metrics" << std::endl;
  }
  std::cout << "coffer: listening on " << endpoint << std::endl;

  (*server)->Run();
  if (metrics_server) {
    metrics_server->Stop();
    metrics_thread.join();
  }

  {
    std::lock_guard lock(job_mu);
    stopping = true;
  }
  job_cv.notify_all();
  purge.join();
  {
    std::lock_guard lock(rotation_mu);
    rotation_stopping = true;
  }
  rotation_cv.notify_all();
  rotation_thread.join();
  rotations.Stop();  // running functions are killed; their runs resume at the next start
  (void)denials.Flush();
  // The signal thread may still be waiting if Run() ended for another reason.
  pthread_kill(signal_waiter.native_handle(), SIGTERM);
  signal_waiter.join();
  server->reset();
  d.store.reset();  // closes the database cleanly (WAL checkpoint)
  std::cout << "coffer: stopped" << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "coffer: a self-hosted secrets service that speaks the AWS Secrets Manager, Parameter "
      "Store, KMS and STS APIs, so the AWS CLI and SDKs work against it unchanged."};
  app.require_subcommand(1);
  ServerFlags flags;
  auto* server = app.add_subcommand("server", "Run the coffer server in the foreground.");
  server
      ->add_option("--listen", flags.listen,
                   "Address and port to listen on, HOST:PORT (port 0 picks a free port).")
      ->capture_default_str();
  server
      ->add_option("--data-dir", flags.data_dir,
                   "Directory for the store, the root key and generated credentials; created "
                   "on first start.")
      ->capture_default_str();
  server->add_option("--account-id", flags.account_id,
                     "12-digit account id for a new data directory (default: random). Must match "
                     "on later starts.");
  server->add_option("--tls-cert", flags.tls_cert,
                     "PEM certificate chain; enables TLS with --tls-key.");
  server->add_option("--tls-key", flags.tls_key, "PEM private key for --tls-cert.");
  server->add_option("--io-threads", flags.io_threads, "I/O threads (default: one per core).");
  server
      ->add_option("--max-connections", flags.max_connections,
                   "Open connections beyond which new ones are refused.")
      ->capture_default_str();
  server
      ->add_option("--max-connections-per-source", flags.max_connections_per_source,
                   "Open connections from one address beyond which its new ones are refused.")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  server
      ->add_option("--first-byte-timeout", flags.first_byte_timeout_seconds,
                   "Seconds a new connection may stay silent before it is closed.")
      ->capture_default_str()
      ->check(CLI::Range(1, 300));
  server
      ->add_option("--event-retention-days", flags.event_retention_days,
                   "Days events (coffer operator events) are kept.")
      ->capture_default_str()
      ->check(CLI::Range(1, 3650));
  server
      ->add_option("--max-events-per-account", flags.max_events_per_account,
                   "Events kept per account; the oldest beyond it are dropped.")
      ->capture_default_str()
      ->check(CLI::Range(100, 100000000));
  server->add_flag("--check-store", flags.check_store,
                   "Check the whole database's integrity before serving (reads every page); "
                   "refuse to start when it is damaged.");
  server->add_flag("--accept-damaged-wal", flags.accept_damaged_wal,
                   "Open a store whose write-ahead log lost acknowledged transactions (a copy "
                   "of the log is kept); without it such a store is refused.");
  server->add_option("--metrics-listen", flags.metrics_listen,
                     "Serve GET /metrics (and /health) on this HOST:PORT only, not on --listen.");
  server->add_option("--metrics-token-file", flags.metrics_token_file,
                     "File whose first line is a token that GET /metrics requires as "
                     "'Authorization: Bearer <token>'.");
  server
      ->add_option("--purge-interval", flags.purge_interval_seconds,
                   "Seconds between runs of the job that purges secrets whose recovery window "
                   "has ended.")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400));
  server->add_option("--passphrase-file", flags.passphrase_file,
                     "File whose first line is the passphrase of a passphrase-sealed data "
                     "directory; the server then starts unsealed. Also: COFFER_PASSPHRASE.");
  server->add_option("--rotation-http-host", flags.rotation_http_hosts,
                     "A host (besides loopback) that rotation functions of the http kind may "
                     "be on; repeatable.");
  server->add_option("--exec-user", flags.exec_user,
                     "Run the programs of exec rotation functions as this (unprivileged) user "
                     "instead of the server's; needs the server to run as root.");
  server
      ->add_option("--rotation-workers", flags.rotation_workers,
                   "Rotations of different secrets that may run at the same time.")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  server->footer(
      "Environment:\n"
      "  COFFER_ROOT_ACCESS_KEY_ID, COFFER_ROOT_SECRET_ACCESS_KEY\n"
      "      The account's root access key. Without them, first start generates one and writes\n"
      "      it to DATA_DIR/root-credentials (mode 0600, profile 'coffer').\n"
      "  COFFER_PASSPHRASE\n"
      "      The passphrase of a passphrase-sealed data directory (see --passphrase-file).\n"
      "A data directory that does not exist yet is initialised with the file seal; use\n"
      "`coffer operator init` to choose the passphrase or Shamir seal.\n"
      "SIGTERM or SIGINT stops the server gracefully.");

  auto* op = app.add_subcommand(
      "operator",
      "Initialise, unseal, seal, re-key and rotate the root key; accounts, rotation functions "
      "and events.");
  op->require_subcommand(1);
  coffer::cli::InitFlags init_flags;
  auto* init = op->add_subcommand(
      "init", "Initialise a new data directory and choose how its root key is protected.");
  init->add_option("--data-dir", init_flags.data_dir, "Directory to initialise.")
      ->capture_default_str();
  init->add_option("--account-id", init_flags.account_id, "12-digit account id (default: random).");
  init->add_option("--seal", init_flags.seal,
                   "file: the unseal key in DATA_DIR/root.key (development); passphrase: sealed "
                   "under a passphrase (PBKDF2-HMAC-SHA256); shamir: split into shares.")
      ->check(CLI::IsMember({"file", "passphrase", "shamir"}))
      ->capture_default_str();
  init->add_option("--key-shares", init_flags.key_shares, "Shamir: number of shares.")
      ->capture_default_str();
  init->add_option("--key-threshold", init_flags.key_threshold, "Shamir: shares needed to unseal.")
      ->capture_default_str();
  init->add_option("--passphrase-file", init_flags.passphrase_file,
                   "Passphrase seal: file whose first line is the passphrase (else "
                   "COFFER_PASSPHRASE, else a prompt).");

  coffer::cli::RemoteFlags remote;
  auto add_remote = [&remote](CLI::App* cmd) {
    cmd->add_option("--endpoint", remote.endpoint,
                    "The server (default: COFFER_ENDPOINT, else http://127.0.0.1:4600).");
    cmd->add_option("--ca-bundle", remote.ca_bundle,
                    "PEM certificates to verify an https endpoint (default: AWS_CA_BUNDLE, "
                    "else the system's).");
  };
  std::string check_dir = "./data";
  auto* check = op->add_subcommand(
      "check", "Check a data directory: its files, write-ahead log and database integrity.");
  check->add_option("--data-dir", check_dir, "The data directory.")->capture_default_str();
  auto* status = op->add_subcommand(
      "status", "Show whether the server is sealed (exit 0 unsealed, 2 sealed).");
  add_remote(status);
  auto* unseal = op->add_subcommand(
      "unseal", "Give the server one Shamir share, or its passphrase, read from standard input.");
  add_remote(unseal);
  unseal->add_flag("--reset", remote.reset, "Forget the shares given so far.");
  unseal->add_option("--share-file", remote.share_file, "Read the share from this file.");
  unseal->add_option("--passphrase-file", remote.passphrase_file,
                     "Read the passphrase from this file.");
  unseal->add_option("--nonce", remote.nonce,
                     "The nonce this unseal's first share returned: --reset needs it (or "
                     "--share-file with a share of this server); a share given with another "
                     "attempt's nonce is refused.");
  auto* seal = op->add_subcommand(
      "seal", "Seal the server: it forgets its keys and serves nothing until unsealed.");
  auto* rotate = op->add_subcommand(
      "rotate-root", "Re-wrap all key material under a new root key (shares stay valid).");
  coffer::cli::InitFlags rekey_flags;
  auto* rekey = op->add_subcommand(
      "rekey",
      "Replace the unseal key and the seal: new shares, passphrase or root.key; the old ones no "
      "longer unseal the server.");
  rekey->add_option("--seal", rekey_flags.seal, "file, passphrase or shamir.")
      ->check(CLI::IsMember({"file", "passphrase", "shamir"}))
      ->required();
  rekey->add_option("--key-shares", rekey_flags.key_shares, "Shamir: number of shares.")
      ->capture_default_str();
  rekey
      ->add_option("--key-threshold", rekey_flags.key_threshold, "Shamir: shares needed to unseal.")
      ->capture_default_str();
  rekey->add_option("--passphrase-file", rekey_flags.passphrase_file,
                    "Passphrase seal: file whose first line is the new passphrase (else "
                    "COFFER_PASSPHRASE, else a prompt).");
  std::string new_account_id;
  auto* create_account = op->add_subcommand(
      "create-account",
      "Create another account in this deployment and print its root access key (once).");
  create_account->add_option("--account-id", new_account_id,
                             "12-digit id for the new account (default: random).");
  coffer::cli::FunctionFlags function_flags;
  auto* register_function =
      op->add_subcommand("register-function",
                         "Register (or --delete) a rotation function for RotationLambdaARN "
                         "arn:aws:lambda:REGION:ACCOUNT:function:NAME.");
  register_function->add_option("--name", function_flags.name, "Function name.")->required();
  register_function->add_option("--kind", function_flags.kind, "exec, http or builtin.")
      ->check(CLI::IsMember({"exec", "http", "builtin"}));
  register_function->add_option("--url", function_flags.url,
                                "http: where the Lambda event is POSTed (signed).");
  register_function->add_option(
      "--command", function_flags.command,
      "exec: the program and its arguments; it gets the Lambda event on stdin.");
  register_function->add_option("--builtin", function_flags.builtin,
                                "builtin: postgres-single-user, postgres-alternating-users, "
                                "random-api-key or hmac-signing-key.");
  register_function->add_option("--role-arn", function_flags.role_arn,
                                "The execution role the function acts as: a role of the "
                                "function's account that trusts lambda.amazonaws.com (required "
                                "for exec and http).");
  register_function->add_option("--account", function_flags.account,
                                "Operator: register the function in this account.");
  register_function
      ->add_option("--timeout", function_flags.timeout_seconds, "Seconds per step (1-900).")
      ->capture_default_str();
  register_function->add_option("--env", function_flags.environment,
                                "exec: NAME=VALUE added to the function's environment.");
  register_function->add_flag("--delete", function_flags.remove, "Remove the function.");
  int64_t events_after = 0;
  auto* events = op->add_subcommand(
      "events", "Print the account's events (rotation, parameter changes, denials) as JSON.");
  events->add_option("--after", events_after, "Only events after this id.");
  for (auto* cmd : {seal, rotate, rekey, create_account, register_function, events}) {
    add_remote(cmd);
    cmd->add_option("--profile", remote.profile,
                    "Credentials profile (default: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).");
    cmd->add_option("--region", remote.region, "Region to sign for.")->capture_default_str();
    cmd->footer(
        "Signs with the credentials of an account's root (SigV4, service 'coffer'). seal, "
        "rotate-root, rekey, create-account and exec functions are the deployment operator's: "
        "the root of the deployment's first account.");
  }

  CLI11_PARSE(app, argc, argv);
  if (server->parsed()) {
    try {
      return RunServer(flags);
    } catch (const std::exception& e) {
      // Nothing should throw this far; if it does, say what, rather than abort.
      std::cerr << "coffer: " << e.what() << "\n";
      return 1;
    }
  }
  if (init->parsed()) {
    umask(077);
    HardenProcess();
    return coffer::cli::RunInit(init_flags);
  }
  if (check->parsed()) return coffer::cli::RunCheck(check_dir);
  if (status->parsed()) return coffer::cli::RunStatus(remote);
  if (unseal->parsed()) return coffer::cli::RunUnseal(remote);
  if (seal->parsed()) return coffer::cli::RunSeal(remote);
  if (rotate->parsed()) return coffer::cli::RunRotateRoot(remote);
  if (rekey->parsed()) return coffer::cli::RunRekey(remote, rekey_flags);
  if (create_account->parsed()) return coffer::cli::RunCreateAccount(remote, new_account_id);
  if (events->parsed()) return coffer::cli::RunEvents(remote, events_after);
  if (register_function->parsed()) {
    return coffer::cli::RunRegisterFunction(remote, function_flags);
  }
  return 0;
}
