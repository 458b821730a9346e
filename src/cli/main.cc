// coffer: a self-hosted secrets service that speaks the AWS Secrets Manager, Parameter Store,
// KMS and STS APIs.
//
//   coffer server --listen HOST:PORT --data-dir DIR; coffer operator|backup|audit|exec|env
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <thread>

#include "app/app.h"
#include "audit/audit_trail.h"
#include "audit/log_delivery.h"
#include "cli/audit_commands.h"
#include "cli/backup_commands.h"
#include "cli/monitoring_commands.h"
#include "cli/operator_commands.h"
#include "cli/stop_signals.h"
#include "cli/workload_commands.h"
#include "crypto/locked_key.h"
#include "rotation/process_runner.h"
#include "server/bootstrap.h"
#include "server/data_dir.h"
#include "server/http_server.h"
#include "store/postgres/postgres_store.h"
#include "ui/ui_assets.h"

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
  std::string store;  // --store / COFFER_STORE: a PostgreSQL URL; empty: SQLite in data_dir
  std::string account_id;
  std::string tls_cert;
  std::string tls_key;
  int io_threads = 0;
  int max_connections = 4096;
  int purge_interval_seconds = 60;
  int64_t clock_offset_seconds = 0;
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
  std::string audit_dir;  // default: DATA_DIR/audit
  std::string audit_on_failure = "closed";
  std::string audit_trail = "on";
  int audit_retention_days = 90;
  int audit_log_interval_seconds = 300;
  bool audit_exclude_kms_events = false;
  int audit_digest_interval_seconds = 3600;
  std::string alarms_config;
  int alarm_evaluation_interval_seconds = 10;
  std::vector<std::string> notification_hosts;
  int notification_max_backoff_seconds = 300;
  coffer::cli::BackupScheduleFlags backup;
};

// Every connection takes a descriptor: use the hard limit, and never promise more connections
// than descriptors are left after the store, key files and functions' pipes.
void FitConnectionsToDescriptors(coffer::HttpServerOptions* http) {
  struct rlimit nofile {};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
    if (nofile.rlim_cur < nofile.rlim_max) {
      nofile.rlim_cur = nofile.rlim_max;
      setrlimit(RLIMIT_NOFILE, &nofile);
      getrlimit(RLIMIT_NOFILE, &nofile);
    }
    constexpr rlim_t kReserved = 64;
    if (nofile.rlim_cur != RLIM_INFINITY &&
        static_cast<rlim_t>(http->max_connections) + kReserved > nofile.rlim_cur) {
      const int clamped =
          nofile.rlim_cur > kReserved + 1 ? static_cast<int>(nofile.rlim_cur - kReserved) : 1;
      std::cerr << "coffer: --max-connections " << http->max_connections
                << " exceeds the descriptor limit (" << nofile.rlim_cur << "); using " << clamped
                << "\n";
      http->max_connections = clamped;
    }
  }
  http->max_connections_per_source =
      std::min(http->max_connections_per_source, http->max_connections);
}

// The HTTP options of the API listener and, with --metrics-listen, of the metrics-only one
// (metrics->metrics_only is then true). Returns an exit status: 0, or 2 for bad flags.
int HttpOptionsFrom(const ServerFlags& flags, coffer::HttpServerOptions* http,
                    coffer::HttpServerOptions* metrics) {
  if (!SplitHostPort(flags.listen, &http->host, &http->port)) {
    std::cerr << "coffer: --listen must be HOST:PORT, got '" << flags.listen << "'\n";
    return 2;
  }
  http->tls_cert_file = flags.tls_cert;
  http->tls_key_file = flags.tls_key;
  // On PostgreSQL a write or a cache miss holds its thread for round trips: 2 per core.
  const bool shared = !flags.store.empty() || !Env("COFFER_STORE").value_or("").empty();
  const int per_core = shared ? 2 * static_cast<int>(std::thread::hardware_concurrency()) : 0;
  http->io_threads = flags.io_threads > 0 ? flags.io_threads : per_core;
  http->max_connections = flags.max_connections;
  http->max_connections_per_source = flags.max_connections_per_source;
  http->first_byte_timeout = std::chrono::seconds(flags.first_byte_timeout_seconds);
  FitConnectionsToDescriptors(http);
  if (!flags.metrics_token_file.empty()) {
    std::ifstream in(flags.metrics_token_file);
    std::getline(in, http->metrics_token);
    while (!http->metrics_token.empty() &&
           (http->metrics_token.back() == '\r' || http->metrics_token.back() == ' ')) {
      http->metrics_token.pop_back();
    }
    if (!in || http->metrics_token.empty()) {
      std::cerr << "coffer: --metrics-token-file: cannot read a token from "
                << flags.metrics_token_file << "\n";
      return 2;
    }
  }
  if (!flags.metrics_listen.empty()) {
    if (!SplitHostPort(flags.metrics_listen, &metrics->host, &metrics->port)) {
      std::cerr << "coffer: --metrics-listen must be HOST:PORT, got '" << flags.metrics_listen
                << "'\n";
      return 2;
    }
    metrics->metrics_only = true;
    metrics->io_threads = 1;
    metrics->max_connections = 64;
    metrics->max_connections_per_source = 64;
    metrics->metrics_token = http->metrics_token;
    http->serve_metrics = false;  // only on the separate address
  }
  return 0;
}

// The App's options from the flags. Returns an exit status: 0, or 2 for bad flags.
int AppOptionsFrom(const ServerFlags& flags, coffer::AppOptions* options) {
  options->rotation.allowed_http_hosts = flags.rotation_http_hosts;
  options->rotation.max_concurrent = flags.rotation_workers;
  options->maintenance_interval = std::chrono::seconds(flags.purge_interval_seconds);
  options->event_retention_days = flags.event_retention_days;
  options->max_events_per_account = flags.max_events_per_account;
  options->audit_retention_days = flags.audit_retention_days;
  options->audit_log_interval = std::chrono::seconds(flags.audit_log_interval_seconds);
  options->audit_exclude_kms_events = flags.audit_exclude_kms_events;
  options->alarm_interval = std::chrono::seconds(flags.alarm_evaluation_interval_seconds);
  options->notifications.allowed_hosts = flags.notification_hosts;
  options->notifications.max_backoff_ms = flags.notification_max_backoff_seconds * 1000LL;
  options->backup_staging_dir = flags.data_dir + "/" + coffer::kBackupStagingDir;
  options->backup_schedule.dir = flags.backup.dir;
  options->backup_schedule.interval = std::chrono::seconds(flags.backup.interval_seconds);
  options->backup_schedule.retain = flags.backup.retain;
  if (flags.exec_user.empty()) return 0;
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
  options->rotation.exec_user = *user;
  return 0;
}

constexpr std::string_view kDigestKeyPurpose = "audit digest signing key";

// Opens the audit trail and its log-file delivery in `audit_dir` as the flags say (neither with
// --audit-trail off). Returns an exit status: 0, or 1 when the trail cannot be opened.
int OpenAuditFrom(const ServerFlags& flags, const std::string& audit_dir,
                  const coffer::Clock* clock, coffer::Keyring* keyring,
                  std::unique_ptr<coffer::audit::AuditTrail>* trail,
                  std::unique_ptr<coffer::audit::LogDelivery>* delivery) {
  if (flags.audit_trail != "on") {
    std::cerr << "coffer: warning: --audit-trail off: no call is recorded\n";
    return 0;
  }
  auto opened = coffer::audit::OpenAuditTrail(audit_dir, flags.audit_on_failure == "open"
                                                             ? coffer::audit::OnFailure::kOpen
                                                             : coffer::audit::OnFailure::kClosed);
  if (!opened.ok()) {
    std::cerr << "coffer: --audit-dir: " << opened.status().message() << "\n";
    return 1;
  }
  if (coffer::Status started = (*opened)->Start(); !started.ok()) {
    std::cerr << "coffer: the audit trail: " << started.message() << "\n";
    return 1;
  }
  // The digest key's private half is kept wrapped by the storage key: only an unsealed server
  // signs digests.
  coffer::audit::DigestKeyProtection protection{
      .available = [keyring] { return !keyring->sealed(); },
      .wrap =
          [keyring](std::string_view der) {
            return keyring->WrapWithStorageKey(kDigestKeyPurpose, der);
          },
      .unwrap =
          [keyring](std::string_view wrapped) {
            return keyring->UnwrapWithStorageKey(kDigestKeyPurpose, wrapped);
          }};
  auto opened_delivery = coffer::audit::OpenLogDelivery(
      audit_dir, {.digest_period_ms = int64_t{flags.audit_digest_interval_seconds} * 1000}, clock,
      std::move(protection));
  if (!opened_delivery.ok()) {
    std::cerr << "coffer: the audit trail's log files: " << opened_delivery.status().message()
              << "\n";
    return 1;
  }
  *trail = std::move(opened.value());
  *delivery = std::move(opened_delivery.value());
  return 0;
}
// Opens (or initialises) the data directory. Returns an exit status: 0 or 1.
int OpenDeploymentFrom(const ServerFlags& flags, const coffer::Clock* clock,
                       coffer::Result<coffer::Deployment>* out) {
  coffer::BootstrapOptions boot;
  boot.data_dir = flags.data_dir;
  boot.store_url = flags.store.empty() ? Env("COFFER_STORE").value_or("") : flags.store;
  if (!boot.store_url.empty() && !coffer::IsPostgresUrl(boot.store_url)) {
    std::cerr << "coffer: --store takes a PostgreSQL URL (postgresql://...); without it the "
                 "store is SQLite in --data-dir\n";
    return 1;
  }
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
  *out = coffer::OpenDeployment(boot, clock);
  boot.passphrase.reset();
  if (!out->ok()) {
    std::cerr << "coffer: " << out->status().message() << "\n";
    return 1;
  }
  if (!(*out)->damage_report.empty()) {
    std::cerr << "coffer: " << flags.data_dir << "/coffer.db-wal: " << (*out)->damage_report
              << "\n";
  }
  return 0;
}

void PrintBanner(const ServerFlags& flags, const coffer::Deployment& d, const std::string& url) {
  std::cout << "coffer: account " << d.account_id << ", data in " << flags.data_dir;
  const std::string store = flags.store.empty() ? Env("COFFER_STORE").value_or("") : flags.store;
  if (!store.empty()) std::cout << ", store " << coffer::RedactPostgresUrl(store);
  std::cout << "\n";
  if (!d.credentials_file.empty()) {
    auto config = coffer::WriteAwsConfigFile(flags.data_dir, url);
    std::cout << "coffer: the root access key is in " << d.credentials_file << ", profile 'coffer' "
              << (config.ok() ? "in " + *config : "(" + config.status().message() + ")") << "\n";
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
}

int RunServer(const ServerFlags& flags) {
  HardenProcess();
  // The store holds names, tags and sealed values; keep every file coffer creates private.
  umask(077);
  sigset_t signals = coffer::cli::BlockStopSignals();

  coffer::HttpServerOptions http, metrics_http;
  coffer::AppOptions options;
  if (int rc = HttpOptionsFrom(flags, &http, &metrics_http); rc != 0) return rc;
  if (int rc = AppOptionsFrom(flags, &options); rc != 0) return rc;
  coffer::SystemClock real_clock;
  coffer::OffsetClock clock(&real_clock, flags.clock_offset_seconds * 1000);
  coffer::Result<coffer::Deployment> deployment =
      coffer::Status(coffer::ErrorCode::kInternalFailure, "not opened");
  if (int rc = OpenDeploymentFrom(flags, &clock, &deployment); rc != 0) return rc;
  coffer::Deployment& d = deployment.value();
  const std::string audit_dir =
      flags.audit_dir.empty() ? flags.data_dir + "/" + coffer::kAuditDir : flags.audit_dir;
  std::unique_ptr<coffer::audit::AuditTrail> trail;
  std::unique_ptr<coffer::audit::LogDelivery> delivery;
  if (int rc = OpenAuditFrom(flags, audit_dir, &clock, d.keyring.get(), &trail, &delivery);
      rc != 0) {
    return rc;
  }
  std::unique_ptr<coffer::App> app = coffer::App::Create(options, &clock,
                                                         {.store = d.store.get(),
                                                          .keyring = d.keyring.get(),
                                                          .seal = d.seal.get(),
                                                          .key_file = d.key_file.get(),
                                                          .account_id = d.account_id,
                                                          .trail = trail.get(),
                                                          .delivery = delivery.get(),
                                                          .signature_clock = &real_clock});
  if (!flags.alarms_config.empty()) {
    coffer::Status applied = coffer::monitoring::ApplySettingsFile(
        flags.alarms_config, d.store.get(), clock.NowMillis());
    if (!applied.ok()) {
      std::cerr << "coffer: --alarms-config: " << applied.message() << "\n";
      return 2;
    }
  }
  auto health = [&app] { return app->Health(); };
  auto metrics = [&app] { return app->MetricsText(); };
  http.ui_files = [](std::string_view name) -> std::optional<coffer::StaticFile> {
    const coffer::ui::Asset* asset = coffer::ui::FindAsset(name);
    if (asset == nullptr) return std::nullopt;
    return coffer::StaticFile{asset->content_type, asset->body};
  };
  auto server = coffer::HttpServer::Create(http, &app->dispatcher(), health, metrics);
  if (!server.ok()) {
    std::cerr << "coffer: " << server.status().message() << "\n";
    return 1;
  }
  std::unique_ptr<coffer::HttpServer> metrics_server;
  if (metrics_http.metrics_only) {
    auto created = coffer::HttpServer::Create(metrics_http, &app->dispatcher(), health, metrics);
    if (!created.ok()) {
      std::cerr << "coffer: --metrics-listen: " << created.status().message() << "\n";
      return 1;
    }
    metrics_server = std::move(created.value());
  }
  std::thread metrics_thread;
  if (metrics_server) metrics_thread = std::thread([&] { metrics_server->Run(); });
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
  PrintBanner(flags, d, endpoint);
  char hostname[256] = {};
  (void)gethostname(hostname, sizeof hostname - 1);
  app->Start(endpoint, std::string(hostname) + ":" + std::to_string((*server)->port()));
  if (metrics_server) {
    std::cout << "coffer: metrics on http://" << metrics_http.host << ":" << metrics_server->port()
              << "/metrics" << std::endl;
  }
  std::cout << "coffer: listening on " << endpoint << std::endl;
  std::cout << "coffer: dashboard at " << endpoint << "/ui/" << std::endl;

  (*server)->Run();
  // Every queued record is written, and its call's answer handed to the I/O context, while that
  // context still exists: a ticket completed after the server is destroyed would post to freed
  // memory (a connection closed by its client during shutdown leaves its answer pending there).
  // Records appended from here on are written at once.
  if (trail) trail->Stop();
  if (metrics_server) {
    metrics_server->Stop();
    metrics_thread.join();
  }
  app->Stop();
  // The signal thread may still be waiting if Run() ended for another reason.
  pthread_kill(signal_waiter.native_handle(), SIGTERM);
  signal_waiter.join();
  server->reset();
  app.reset();
  // The last records go into a log file, and each chain gets its closing digest.
  if (delivery) {
    if (coffer::Status finished = delivery->Finish(); !finished.ok()) {
      std::cerr << "coffer: the audit trail's last log files: " << finished.message() << "\n";
    }
  }
  d.store.reset();  // closes the database cleanly (WAL checkpoint)
  std::cout << "coffer: stopped" << std::endl;
  return 0;
}

// The --audit-* flags of `coffer server`.
void AddAuditOptions(CLI::App* server, ServerFlags& flags) {
  server->add_option("--audit-dir", flags.audit_dir,
                     "Directory of the audit trail (every call's CloudTrail record); default "
                     "DATA_DIR/audit.");
  server
      ->add_option("--audit-on-failure", flags.audit_on_failure,
                   "When the audit trail cannot be written: 'closed' refuses calls "
                   "(ServiceUnavailable) until it can; 'open' serves them and counts the "
                   "records lost (coffer_audit_records_lost_total).")
      ->capture_default_str()
      ->check(CLI::IsMember({"closed", "open"}));
  server
      ->add_option("--audit-trail", flags.audit_trail,
                   "'off' keeps no record of calls at all (and serves no LookupEvents): only "
                   "to measure what the trail costs, never in production.")
      ->capture_default_str()
      ->check(CLI::IsMember({"on", "off"}));
  server
      ->add_option("--audit-retention-days", flags.audit_retention_days,
                   "Days audit records are kept (LookupEvents reads the last 90).")
      ->capture_default_str()
      ->check(CLI::Range(1, 36500));
  server->add_flag("--audit-exclude-kms-events", flags.audit_exclude_kms_events,
                   "Leave KMS's events out of the trail (its API and the key uses of Secrets "
                   "Manager and Parameter Store), as a CloudTrail trail excluding "
                   "kms.amazonaws.com does: one record per GetSecretValue instead of two.");
  server
      ->add_option("--audit-log-interval", flags.audit_log_interval_seconds,
                   "Seconds between deliveries of the trail's records as gzip log files under "
                   "AUDIT_DIR/AWSLogs/ (a record is in a closed file within this time).")
      ->capture_default_str()
      ->check(CLI::Range(1, 300));
  server
      ->add_option("--audit-digest-interval", flags.audit_digest_interval_seconds,
                   "Seconds each signed digest file covers (CloudTrail's are hourly); "
                   "`coffer audit verify` checks them.")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  server->add_option("--alarms-config", flags.alarms_config,
                     "JSON file of the built-in alarms' settings, applied at every start: "
                     "{\"Alarms\": {NAME: {...}}, \"Accounts\": {ID: {NAME: {...}}}} "
                     "(docs/OPERATIONS.md).");
  server
      ->add_option("--alarm-evaluation-interval", flags.alarm_evaluation_interval_seconds,
                   "Seconds between evaluations of the built-in alarms.")
      ->capture_default_str()
      ->check(CLI::Range(1, 60));
  server->add_option("--notification-host", flags.notification_hosts,
                     "A host notification webhooks may call (repeatable); only the deployment "
                     "operator's webhooks may call loopback without it.");
  server
      ->add_option("--notification-max-backoff", flags.notification_max_backoff_seconds,
                   "Longest wait, in seconds, between retries of a failed delivery (they go on "
                   "for 24 hours).")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
}

// `coffer server` and its flags.
CLI::App* AddServerCommand(CLI::App& app, ServerFlags& flags) {
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
  server->add_option("--store", flags.store,
                     "Keep the store in PostgreSQL (postgresql://user:pass@host/db?sslmode="
                     "verify-full; also COFFER_STORE) instead of SQLite in --data-dir, which "
                     "then holds the lock, the audit trail and the file seal's root.key.");
  server->add_option("--account-id", flags.account_id,
                     "12-digit account id for a new data directory (default: random). Must match "
                     "on later starts.");
  server->add_option("--tls-cert", flags.tls_cert,
                     "PEM certificate chain; enables TLS with --tls-key.");
  server->add_option("--tls-key", flags.tls_key, "PEM private key for --tls-cert.");
  server->add_option("--io-threads", flags.io_threads,
                     "I/O threads (default: 1 per core; 2 per core on a PostgreSQL store).");
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
  AddAuditOptions(server, flags);
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
  coffer::cli::AddBackupScheduleFlags(server, flags.backup);
  server
      ->add_option("--purge-interval", flags.purge_interval_seconds,
                   "Seconds between runs of the job that purges secrets whose recovery window "
                   "has ended.")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400));
  server
      ->add_option("--clock-offset-seconds", flags.clock_offset_seconds,
                   "Run coffer's clock this many seconds ahead (or behind, if negative) of the "
                   "system's, to try deletion windows, rotation schedules and expirations on a "
                   "real server. Request signatures are still checked against the real time. "
                   "Not for production.")
      ->check(CLI::Range(int64_t{-3650} * 86400, int64_t{3650} * 86400));
  server->add_option("--passphrase-file", flags.passphrase_file,
                     "File whose first line is the passphrase of a passphrase-sealed data "
                     "directory; the server then starts unsealed. Also: COFFER_PASSPHRASE.");
  server->add_option("--rotation-http-host", flags.rotation_http_hosts,
                     "A host (besides loopback) that rotation functions of the http kind may "
                     "be on; repeatable.");
  server->add_option("--exec-user", flags.exec_user,
                     "Run exec rotation functions' programs as this user (the server: root).");
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

  return server;
}

// The `coffer operator ...` subcommands and what their flags fill in.
struct OperatorCommands {
  coffer::cli::InitFlags init_flags;
  coffer::cli::RemoteFlags remote;
  std::string check_dir = "./data";
  coffer::cli::InitFlags rekey_flags;
  std::string new_account_id;
  coffer::cli::FunctionFlags function_flags;
  int64_t events_after = 0;
  CLI::App* init = nullptr;
  CLI::App* check = nullptr;
  CLI::App* status = nullptr;
  CLI::App* unseal = nullptr;
  CLI::App* seal = nullptr;
  CLI::App* rotate = nullptr;
  CLI::App* rekey = nullptr;
  CLI::App* create_account = nullptr;
  CLI::App* register_function = nullptr;
  CLI::App* events = nullptr;
  coffer::cli::MonitoringCommands monitoring;
};

// `coffer operator init` and its flags.
void AddInitCommand(CLI::App* op, OperatorCommands& c) {
  c.init = op->add_subcommand(
      "init", "Initialise a new data directory and choose how its root key is protected.");
  c.init->add_option("--data-dir", c.init_flags.data_dir, "Directory to initialise.")
      ->capture_default_str();
  c.init->add_option("--account-id", c.init_flags.account_id,
                     "12-digit account id (default: random).");
  c.init
      ->add_option("--seal", c.init_flags.seal,
                   "file: the unseal key in DATA_DIR/root.key (development); passphrase: sealed "
                   "under a passphrase (PBKDF2-HMAC-SHA256); shamir: split into shares.")
      ->check(CLI::IsMember({"file", "passphrase", "shamir"}))
      ->capture_default_str();
  c.init->add_option("--key-shares", c.init_flags.key_shares, "Shamir: number of shares.")
      ->capture_default_str();
  c.init->add_option("--key-threshold", c.init_flags.key_threshold, "Shamir: shares to unseal.")
      ->capture_default_str();
  c.init->add_option("--passphrase-file", c.init_flags.passphrase_file,
                     "Passphrase seal: file whose first line is the passphrase (else "
                     "COFFER_PASSPHRASE, else a prompt).");
}

void AddOperatorCommands(CLI::App& app, OperatorCommands& c) {
  auto* op = app.add_subcommand(
      "operator",
      "Initialise, unseal, seal, re-key and rotate the root key; accounts, rotation functions "
      "and events.");
  op->require_subcommand(1);
  AddInitCommand(op, c);

  auto add_remote = [&c](CLI::App* cmd) {
    cmd->add_option("--endpoint", c.remote.endpoint,
                    "The server (default: COFFER_ENDPOINT, else http://127.0.0.1:4600).");
    cmd->add_option("--ca-bundle", c.remote.ca_bundle,
                    "PEM certificates to verify an https endpoint (default: AWS_CA_BUNDLE, "
                    "else the system's).");
  };
  c.check = op->add_subcommand(
      "check", "Check a data directory: its files, write-ahead log and database integrity.");
  c.check->add_option("--data-dir", c.check_dir, "The data directory.")->capture_default_str();
  c.status = op->add_subcommand(
      "status", "Show if the server (to the operator: each node) is sealed: exit 0 no, 2 yes.");
  add_remote(c.status);
  c.unseal = op->add_subcommand(
      "unseal", "Give the server one Shamir share, or its passphrase, read from standard input.");
  add_remote(c.unseal);
  c.unseal->add_flag("--reset", c.remote.reset, "Forget the shares given so far.");
  c.unseal->add_option("--share-file", c.remote.share_file, "Read the share from this file.");
  c.unseal->add_option("--passphrase-file", c.remote.passphrase_file,
                       "Read the passphrase from this file.");
  c.unseal->add_option("--nonce", c.remote.nonce,
                       "The nonce this unseal's first share returned: --reset needs it (or "
                       "--share-file with a share of this server); a share given with another "
                       "attempt's nonce is refused.");
  c.seal = op->add_subcommand(
      "seal", "Seal the server: it forgets its keys and serves nothing until unsealed.");
  c.rotate = op->add_subcommand(
      "rotate-root", "Re-wrap all key material under a new root key (shares stay valid).");
  c.rekey = op->add_subcommand(
      "rekey",
      "Replace the unseal key and the seal: new shares, passphrase or root.key; the old ones no "
      "longer unseal the server.");
  c.rekey->add_option("--seal", c.rekey_flags.seal, "file, passphrase or shamir.")
      ->check(CLI::IsMember({"file", "passphrase", "shamir"}))
      ->required();
  c.rekey->add_option("--key-shares", c.rekey_flags.key_shares, "Shamir: number of shares.")
      ->capture_default_str();
  c.rekey
      ->add_option("--key-threshold", c.rekey_flags.key_threshold,
                   "Shamir: shares needed to unseal.")
      ->capture_default_str();
  c.rekey->add_option("--passphrase-file", c.rekey_flags.passphrase_file,
                      "Passphrase seal: file whose first line is the new passphrase (else "
                      "COFFER_PASSPHRASE, else a prompt).");
  c.create_account = op->add_subcommand(
      "create-account",
      "Create another account in this deployment and print its root access key (once).");
  c.create_account->add_option("--account-id", c.new_account_id,
                               "12-digit id for the new account (default: random).");
  c.register_function =
      op->add_subcommand("register-function",
                         "Register (or --delete) a rotation function for RotationLambdaARN "
                         "arn:aws:lambda:REGION:ACCOUNT:function:NAME.");
  c.register_function->add_option("--name", c.function_flags.name, "Function name.")->required();
  c.register_function->add_option("--kind", c.function_flags.kind, "exec, http or builtin.")
      ->check(CLI::IsMember({"exec", "http", "builtin"}));
  c.register_function->add_option("--url", c.function_flags.url,
                                  "http: where the Lambda event is POSTed (signed).");
  c.register_function->add_option(
      "--command", c.function_flags.command,
      "exec: the program and its arguments; it gets the Lambda event on stdin.");
  c.register_function->add_option("--builtin", c.function_flags.builtin,
                                  "builtin: postgres-single-user, postgres-alternating-users, "
                                  "random-api-key or hmac-signing-key.");
  c.register_function->add_option("--role-arn", c.function_flags.role_arn,
                                  "The execution role the function acts as: a role of the "
                                  "function's account that trusts lambda.amazonaws.com (required "
                                  "for exec and http).");
  c.register_function->add_option("--account", c.function_flags.account,
                                  "Operator: register the function in this account.");
  c.register_function
      ->add_option("--timeout", c.function_flags.timeout_seconds, "Seconds per step (1-900).")
      ->capture_default_str();
  c.register_function->add_option("--env", c.function_flags.environment,
                                  "exec: NAME=VALUE added to the function's environment.");
  c.register_function->add_flag("--delete", c.function_flags.remove, "Remove the function.");
  c.events = op->add_subcommand(
      "events", "Print the account's events (rotation, parameter changes, denials) as JSON.");
  c.events->add_option("--after", c.events_after, "Only events after this id.");
  std::vector<CLI::App*> signed_commands = {
      c.seal, c.rotate, c.rekey, c.create_account, c.register_function, c.events};
  for (CLI::App* cmd : coffer::cli::AddMonitoringCommands(op, c.monitoring))
    signed_commands.push_back(cmd);
  for (auto* cmd : signed_commands) {
    add_remote(cmd);
    cmd->add_option("--profile", c.remote.profile,
                    "Credentials profile (default: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).");
    cmd->add_option("--region", c.remote.region, "Region to sign for.")->capture_default_str();
    cmd->footer(
        "Signs with the credentials of an account's root (SigV4, service 'coffer'). seal, "
        "rotate-root, rekey, create-account and exec functions are the deployment operator's: "
        "the root of the deployment's first account.");
  }
}

// Runs the operator subcommand that was parsed.
int RunOperatorCommand(const OperatorCommands& c) {
  if (c.init->parsed()) {
    umask(077);
    HardenProcess();
    return coffer::cli::RunInit(c.init_flags);
  }
  if (c.check->parsed()) return coffer::cli::RunCheck(c.check_dir);
  if (c.status->parsed()) return coffer::cli::RunStatus(c.remote);
  if (c.unseal->parsed()) return coffer::cli::RunUnseal(c.remote);
  if (c.seal->parsed()) return coffer::cli::RunSeal(c.remote);
  if (c.rotate->parsed()) return coffer::cli::RunRotateRoot(c.remote);
  if (c.rekey->parsed()) return coffer::cli::RunRekey(c.remote, c.rekey_flags);
  if (c.create_account->parsed()) return coffer::cli::RunCreateAccount(c.remote, c.new_account_id);
  if (c.events->parsed()) return coffer::cli::RunEvents(c.remote, c.events_after);
  if (int rc = coffer::cli::RunMonitoringCommand(c.monitoring, c.remote); rc >= 0) return rc;
  if (c.register_function->parsed()) return RunRegisterFunction(c.remote, c.function_flags);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "coffer: a self-hosted secrets service that speaks the AWS Secrets Manager, Parameter "
      "Store, KMS and STS APIs, so the AWS CLI and SDKs work against it unchanged."};
  app.require_subcommand(1);
  ServerFlags flags;
  CLI::App* server = AddServerCommand(app, flags);
  OperatorCommands operator_commands;
  AddOperatorCommands(app, operator_commands);
  coffer::cli::BackupCommands backup_commands;
  coffer::cli::RemoteFlags backup_remote;
  coffer::cli::AddBackupCommands(app, backup_commands, backup_remote);
  coffer::cli::AuditVerifyFlags audit_verify_flags;
  CLI::App* audit_verify = coffer::cli::AddAuditCommands(app, audit_verify_flags);
  coffer::cli::WorkloadCommands workload;  // exec, env
  coffer::cli::AddWorkloadCommands(app, workload);
  argc = coffer::cli::TakeCommandAfterDashes(argc, argv, workload);
  CLI11_PARSE(app, argc, argv);
  if (audit_verify->parsed()) return coffer::cli::RunAuditVerify(audit_verify_flags);
  if (int status = coffer::cli::RunWorkloadCommand(workload); status >= 0) return status;
  for (CLI::App* sub : {backup_commands.create, backup_commands.verify, backup_commands.restore}) {
    if (!sub->parsed()) continue;
    // Restores and checks hold the unseal key: no core dump, files private.
    umask(077);
    HardenProcess();
    return coffer::cli::RunBackupCommand(backup_commands, backup_remote);
  }
  if (server->parsed()) {
    try {
      return RunServer(flags);
    } catch (const std::exception& e) {
      // Nothing should throw this far; if it does, say what, rather than abort.
      std::cerr << "coffer: " << e.what() << "\n";
      return 1;
    }
  }
  return RunOperatorCommand(operator_commands);
}
