// coffer: a self-hosted secrets service that speaks the AWS Secrets Manager and STS APIs.
//
//   coffer server --listen HOST:PORT --data-dir DIR [--account-id ID] [--tls-cert F --tls-key F]
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <thread>

#include "auth/credential_registry.h"
#include "protocol/api_dispatcher.h"
#include "server/bootstrap.h"
#include "server/http_server.h"
#include "services/kms/kms_service.h"
#include "services/params/params_service.h"
#include "services/secrets/secrets_service.h"

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

  coffer::SystemClock clock;
  coffer::BootstrapOptions boot;
  boot.data_dir = flags.data_dir;
  if (!flags.account_id.empty()) boot.account_id = flags.account_id;
  boot.root_key_id = Env("COFFER_ROOT_ACCESS_KEY_ID");
  if (auto s = Env("COFFER_ROOT_SECRET_ACCESS_KEY")) boot.root_secret = coffer::SecretBytes(*s);
  auto deployment = coffer::OpenDeployment(boot, &clock);
  if (!deployment.ok()) {
    std::cerr << "coffer: " << deployment.status().message() << "\n";
    return 1;
  }
  auto& d = deployment.value();

  coffer::CredentialRegistry credentials(d.store.get(), d.keyring.get());
  coffer::secrets::SecretsService secrets(d.store.get(), d.keyring.get(), &clock);
  coffer::params::ParamsService params(d.store.get(), d.keyring.get(), &secrets, &clock);
  coffer::kms::KmsService kms(d.store.get(), d.keyring.get(), &clock);
  coffer::ApiDispatcher dispatcher(&credentials, &secrets, &params, &kms, &clock);
  auto server = coffer::HttpServer::Create(http, &dispatcher, [] {
    return std::make_pair(200, std::string(R"({"status":"ok","sealed":false})"));
  });
  if (!server.ok()) {
    std::cerr << "coffer: " << server.status().message() << "\n";
    return 1;
  }

  // Background jobs: purge secrets whose recovery window has ended; apply parameter policies.
  std::mutex job_mu;
  std::condition_variable job_cv;
  bool stopping = false;
  std::thread purge([&] {
    std::unique_lock lock(job_mu);
    while (!job_cv.wait_for(lock, std::chrono::seconds(flags.purge_interval_seconds),
                            [&] { return stopping; })) {
      lock.unlock();
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
      lock.lock();
    }
  });

  std::thread signal_waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    std::cout << "coffer: shutting down (signal " << sig << ")" << std::endl;
    (*server)->Stop();
  });

  std::string scheme = (*server)->tls() ? "https" : "http";
  std::string host = http.host.find(':') != std::string::npos ? "[" + http.host + "]" : http.host;
  std::string endpoint = scheme + "://" + host + ":" + std::to_string((*server)->port());
  std::cout << "coffer: account " << d.account_id << ", data in " << flags.data_dir << "\n";
  if (!d.credentials_file.empty()) {
    std::cout << "coffer: generated the account's root access key; it is in " << d.credentials_file
              << " (profile 'coffer')\n";
  }
  std::cout << "coffer: listening on " << endpoint << std::endl;

  (*server)->Run();

  {
    std::lock_guard lock(job_mu);
    stopping = true;
  }
  job_cv.notify_all();
  purge.join();
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
      "coffer: a self-hosted secrets service that speaks the AWS Secrets Manager and STS "
      "APIs, so the AWS CLI and SDKs work against it unchanged."};
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
      ->add_option("--purge-interval", flags.purge_interval_seconds,
                   "Seconds between runs of the job that purges secrets whose recovery window "
                   "has ended.")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400));
  server->footer(
      "Environment:\n"
      "  COFFER_ROOT_ACCESS_KEY_ID, COFFER_ROOT_SECRET_ACCESS_KEY\n"
      "      The account's root access key. Without them, first start generates one and writes\n"
      "      it to DATA_DIR/root-credentials (mode 0600, profile 'coffer').\n"
      "SIGTERM or SIGINT stops the server gracefully.");
  CLI11_PARSE(app, argc, argv);
  if (server->parsed()) return RunServer(flags);
  return 0;
}
