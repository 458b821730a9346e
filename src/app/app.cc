#include "app/app.h"

#include <boost/json.hpp>
#include <iostream>

#include "monitoring/alarms_api.h"
#include "monitoring/sinks_api.h"
#include "rotation/builtin_rotators.h"
#include "rotation/postgres_rotators.h"
#include "rotation/process_runner.h"

namespace coffer {
namespace {

constexpr char kRotationJob[] = "rotation scheduler";
constexpr int64_t kDayMs = 86400000;

rotation::EngineOptions HeldBy(rotation::EngineOptions options, const std::string& node_id) {
  options.holder_id = node_id;
  options.holder_silence_ms = ClusterMembership::kSilenceMs;
  return options;
}

// Runs every task of a pass, logging each failure, so one failing task does not starve the
// others.
Status RunAll(std::initializer_list<std::pair<const char*, std::function<Status()>>> tasks) {
  for (const auto& [name, task] : tasks) {
    Status done = task();
    if (!done.ok()) std::cerr << "coffer: " << name << " failed: " << done.message() << "\n";
  }
  return Status::Ok();
}

}  // namespace

std::unique_ptr<App> App::Create(const AppOptions& options, const Clock* clock,
                                 const AppFoundation& foundation) {
  std::unique_ptr<App> app(new App(options, clock, foundation));
  app->AddServices();
  app->AddJobs();
  return app;
}

App::App(const AppOptions& options, const Clock* clock, const AppFoundation& foundation)
    : options_(options),
      clock_(clock),
      foundation_(foundation),
      membership_(foundation.store, foundation.keyring, clock, ""),
      credentials_(foundation.store, foundation.keyring),
      authorizer_(foundation.store),
      denials_(foundation.store),
      alarms_(foundation.store, foundation.trail, &auth_failures_, clock),
      notifier_(foundation.store, foundation.keyring, foundation.trail, clock,
                options.notifications,
                [exec_user = options.rotation.exec_user](
                    const std::vector<std::string>& argv,
                    const std::string& input) -> Result<std::pair<int, std::string>> {
                  // A command sink runs as an exec function does (rotation/process_runner.h).
                  rotation::ProcessSpec spec;
                  spec.argv = argv;
                  spec.input = input;
                  spec.env = {"PATH=/usr/local/bin:/usr/bin:/bin"};
                  spec.timeout = std::chrono::seconds(30);
                  spec.run_as = exec_user;
                  COFFER_ASSIGN_OR_RETURN(auto outcome, rotation::RunProcess(std::move(spec)));
                  return std::make_pair(outcome.exited ? outcome.exit_status : -1,
                                        std::move(outcome.output));
                }),
      secrets_(foundation.store, foundation.keyring, clock),
      version_watch_(&secrets_, foundation.store),
      params_(foundation.store, foundation.keyring, &secrets_, clock),
      kms_(foundation.store, foundation.keyring, clock),
      sts_(foundation.store, foundation.keyring),
      // IAM changes take effect on the next request, on every node (Store::WriteIdentity).
      iam_(foundation.store, foundation.keyring, clock),
      cloudwatch_(foundation.store),
      dispatcher_(&credentials_, clock, foundation.signature_clock),
      rotations_(foundation.store, foundation.keyring, &secrets_, &sts_, &authorizer_, clock,
                 HeldBy(options.rotation, membership_.node_id())),
      jobs_([keyring = foundation.keyring] { return keyring->sealed(); }) {}

App::~App() { Stop(); }

void App::AddServices() {
  authorizer_.SetDenialObserver(
      [this](const RequestContext& ctx, const AuthzCheck& check, const std::string& message) {
        denials_.Record(ctx, check, message);
      });
  dispatcher_.SetAuthorizer(&authorizer_);
  dispatcher_.SetStore(foundation_.store);
  dispatcher_.SetAuthFailureTally(&auth_failures_);
  dispatcher_.AddJsonService(
      "secretsmanager", "secretsmanager",
      [this](std::string_view op, const RequestContext& ctx, const boost::json::object& in) {
        return secrets_.Handle(op, ctx, in);
      });
  dispatcher_.AddJsonLongPoll(
      "coffer.WatchSecretVersions", "secretsmanager",
      [this](const RequestContext& ctx, const boost::json::object& in) {
        return version_watch_.Watch(ctx, in);
      },
      [this] { version_watch_.EndAll(); });
  dispatcher_.AddJsonService(
      "AmazonSSM", "ssm",
      [this](std::string_view op, const RequestContext& ctx, const boost::json::object& in) {
        return params_.Handle(op, ctx, in);
      });
  dispatcher_.AddJsonService(
      "TrentService", "kms",
      [this](std::string_view op, const RequestContext& ctx, const boost::json::object& in) {
        return kms_.Handle(op, ctx, in);
      });
  dispatcher_.AddQueryService(
      "sts", "https://sts.amazonaws.com/doc/2011-06-15/",
      [this](std::string_view action, const RequestContext& ctx,
             const std::map<std::string, std::string>& p) { return sts_.Handle(action, ctx, p); });
  if (foundation_.trail != nullptr) {
    dispatcher_.SetAuditTrail(foundation_.trail, options_.audit_exclude_kms_events);
    rotations_.set_audit_trail(foundation_.trail, options_.audit_exclude_kms_events);
    cloudtrail_ =
        std::make_unique<cloudtrail::CloudTrailService>(foundation_.trail, foundation_.delivery);
    // botocore names the target with the model's namespace, the JS SDK v3 (Smithy) with the
    // service shape's name alone; CloudTrail's endpoint answers both.
    for (const char* prefix :
         {"com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101", "CloudTrail_20131101"}) {
      dispatcher_.AddJsonService(
          prefix, "cloudtrail",
          [this](std::string_view op, const RequestContext& ctx, const boost::json::object& in) {
            return cloudtrail_->Handle(op, ctx, in);
          });
    }
    // The dashboard's summary of the trail (/ui/), authorized as LookupEvents.
    access_summary_ =
        std::make_unique<cloudtrail::AccessSummaryService>(foundation_.trail, &auth_failures_);
    dispatcher_.AddJsonService(
        cloudtrail::kAccessSummaryTargetPrefix, "cloudtrail",
        [this](std::string_view op, const RequestContext& ctx, const boost::json::object& in) {
          return access_summary_->Handle(op, ctx, in);
        });
  }
  // The built-in alarms (CloudWatch's JSON protocol, as botocore and the JS SDK v3 send it).
  dispatcher_.AddJsonService(
      "GraniteServiceVersion20100801", "monitoring",
      [this](std::string_view op, const RequestContext& ctx, const boost::json::object& in) {
        return cloudwatch_.Handle(op, ctx, in);
      });
  dispatcher_.AddQueryService(
      "iam", "https://iam.amazonaws.com/doc/2010-05-08/",
      [this](std::string_view action, const RequestContext& ctx,
             const std::map<std::string, std::string>& p) { return iam_.Handle(action, ctx, p); });
  if (foundation_.seal != nullptr) {
    operator_api_ = std::make_unique<OperatorApi>(
        &credentials_, foundation_.seal, foundation_.keyring, foundation_.store,
        foundation_.account_id, clock_, foundation_.key_file, foundation_.signature_clock);
    operator_api_->SetBeforeListEvents([this] { (void)denials_.Flush(); });
    operator_api_->SetFunctionRegistrar([this](RotationFunctionRow row) {
      return rotation::RegisterFunction(*foundation_.store, *foundation_.keyring, std::move(row));
    });
    auto alarms = [this](std::string_view method, std::string_view path,
                         const std::map<std::string, std::string>& query,
                         const boost::json::object& body, const std::string& account,
                         bool is_operator) {
      return monitoring::HandleAlarmsCall(foundation_.store, method, path, query, body, account,
                                          is_operator, clock_->NowMillis());
    };
    operator_api_->AddAccountEndpoint(
        {"/coffer/alarms", "DescribeAlarms", "PutAlarmSettings", alarms});
    operator_api_->AddAccountEndpoint(
        {"/coffer/alarms/history", "DescribeAlarmHistory", "", alarms});
    AddSinkEndpoints();
    AddBackupEndpoints();
    AddNodesEndpoint();
    dispatcher_.SetOperatorApi(operator_api_.get());
  }
  rotations_.RegisterBuiltin("random-api-key", rotation::NewRandomApiKeyRotator);
  rotations_.RegisterBuiltin("hmac-signing-key", rotation::NewHmacSigningKeyRotator);
  rotations_.RegisterBuiltin("postgres-single-user",
                             [] { return rotation::NewPostgresSingleUserRotator(); });
  rotations_.RegisterBuiltin("postgres-alternating-users",
                             [] { return rotation::NewPostgresAlternatingUsersRotator(); });
  secrets_.SetRotationHooks(
      [this](const std::string& arn) { return rotations_.FunctionExists(arn); },
      [this] { jobs_.Wake(kRotationJob); });
}

void App::AddSinkEndpoints() {
  auto sinks = [this](std::string_view method, std::string_view path,
                      const std::map<std::string, std::string>& query,
                      const boost::json::object& body, const std::string& account,
                      bool is_operator) {
    return monitoring::HandleSinksCall(&notifier_, foundation_.store, method, path, query, body,
                                       account, is_operator);
  };
  operator_api_->AddAccountEndpoint({"/coffer/sinks", "ListSinks", "PutSink", sinks});
  operator_api_->AddAccountEndpoint({"/coffer/sinks/test", "", "TestSink", sinks});
}

void App::AddBackupEndpoints() {
  if (options_.backup_staging_dir.empty()) return;
  backups_ = std::make_unique<backup::BackupMaker>(foundation_.store, foundation_.keyring,
                                                   foundation_.seal, foundation_.account_id,
                                                   options_.backup_staging_dir, clock_);
  // Left over from a server that stopped while an operator fetched one.
  backups_->PruneStaging(std::chrono::milliseconds(0));
  // A backup holds every account's store: it is the deployment operator's alone.
  auto backups = [this](std::string_view method, std::string_view path,
                        const std::map<std::string, std::string>& query,
                        const boost::json::object& body, const std::string&,
                        bool is_operator) -> Result<boost::json::object> {
    if (!is_operator) {
      return Status(ErrorCode::kAccessDeniedException,
                    "Only the deployment operator may make or fetch backups.");
    }
    return backups_->Handle(method, path, query, body);
  };
  operator_api_->AddAccountEndpoint({"/coffer/backups", "", "CreateBackup", backups});
  operator_api_->AddAccountEndpoint({"/coffer/backups/part", "GetBackupPart", "", backups});
  operator_api_->AddAccountEndpoint({"/coffer/backups/delete", "", "DeleteBackup", backups});
}

void App::AddNodesEndpoint() {
  // The nodes serving the store, sealed or not: the deployment operator's (GET /coffer/nodes).
  auto nodes = [this](std::string_view, std::string_view, const std::map<std::string, std::string>&,
                      const boost::json::object&, const std::string&,
                      bool is_operator) -> Result<boost::json::object> {
    if (!is_operator) {
      return Status(ErrorCode::kAccessDeniedException,
                    "Only the deployment operator may list the nodes.");
    }
    COFFER_ASSIGN_OR_RETURN(auto listed, membership_.Nodes());
    boost::json::array out;
    for (const auto& n : listed) {
      out.push_back(boost::json::object{{"Name", n.row.name},
                                        {"NodeId", n.row.node_id},
                                        {"Sealed", n.row.sealed},
                                        {"Alive", n.alive},
                                        {"Self", n.self},
                                        {"StartedAt", n.row.started_ms / 1000.0},
                                        {"LastReportAt", n.row.heartbeat_ms / 1000.0}});
    }
    return boost::json::object{{"Nodes", std::move(out)}};
  };
  operator_api_->AddAccountEndpoint({"/coffer/nodes", "ListNodes", "", nodes});
}

Status App::PublishSignalCounts() {
  // One publication at a time: the alarms' job and the periodic one both publish.
  std::lock_guard lock(publish_mu_);
  const EpochMillis now = clock_->NowMillis();
  std::vector<SignalCountRow> failures = auth_failures_.slot_counts().TakeChanged(now);
  std::vector<SignalCountRow> signals;
  if (foundation_.trail != nullptr) signals = foundation_.trail->signal_counts().TakeChanged(now);
  if (failures.empty() && signals.empty()) return Status::Ok();
  Status published = foundation_.store->Coordinate([&](ClusterView& c) -> Status {
    COFFER_RETURN_IF_ERROR(c.PutSignalCounts(membership_.node_id(), failures));
    return c.PutSignalCounts(membership_.node_id(), signals);
  });
  if (!published.ok()) {
    auth_failures_.slot_counts().Untake(failures);
    if (foundation_.trail != nullptr) foundation_.trail->signal_counts().Untake(signals);
  }
  return published;
}

void App::AddJobs() {
  // First: RunEachOnce runs jobs in order, and the leases below need a recent report.
  jobs_.Add(
      "cluster report", std::chrono::milliseconds(ClusterMembership::kReportEveryMs),
      [this] { return membership_.Report(); }, BackgroundJobs::WhileSealed::kRun);
  jobs_.SetLeases([this](const std::string& job) { return membership_.HoldsLease(job); });
  jobs_.Add(
      "maintenance", options_.maintenance_interval,
      [this] {
        return RunAll({
            {"purge of deleted secrets",
             [this]() -> Status {
               COFFER_ASSIGN_OR_RETURN(int purged, secrets_.PurgeExpired());
               if (purged > 0) std::cout << "coffer: purged " << purged << " deleted secret(s)\n";
               return Status::Ok();
             }},
            {"KMS key maintenance", [this] { return kms_.RunKeyMaintenance().status(); }},
            {"parameter policies", [this] { return params_.RunPolicies().status(); }},
            {"purge of expired sessions",
             [this] { return sts_.PurgeExpiredSessions(clock_->NowMillis()); }},
            // Retention: nobody, a flooding caller least, grows the event stream without bound.
            {"event retention",
             [this] {
               return foundation_.store->Write([&](StoreWriter& w) {
                 COFFER_RETURN_IF_ERROR(w.events().Prune(
                     clock_->NowMillis() - int64_t{options_.event_retention_days} * kDayMs,
                     options_.max_events_per_account));
                 // CloudWatch keeps an alarm's history for 30 days.
                 return w.alarms().PruneHistory(clock_->NowMillis() - 30 * kDayMs);
               });
             }},
            {"retention of the nodes' counts",
             [this] {
               return foundation_.store->Coordinate([&](ClusterView& c) {
                 return c
                     .ForgetSignalCountsBefore(clock_->NowMillis() -
                                               monitoring::AlarmEvaluator::kPublishedCountsKeptMs)
                     .status();
               });
             }},
        });
      },
      BackgroundJobs::WhileSealed::kPause, BackgroundJobs::Where::kOneNode);
  // Each node keeps an audit trail of its own (DATA_DIR/audit).
  jobs_.Add("audit trail retention", options_.maintenance_interval, [this]() -> Status {
    if (foundation_.trail == nullptr) return Status::Ok();
    const EpochMillis cut = clock_->NowMillis() - int64_t{options_.audit_retention_days} * kDayMs;
    COFFER_RETURN_IF_ERROR(foundation_.trail->Prune(cut));
    return foundation_.delivery != nullptr ? foundation_.delivery->Prune(cut) : Status::Ok();
  });
  // Woken by RotateSecret, and every second for scheduled rotations and retries.
  jobs_.Add(kRotationJob, std::chrono::seconds(1), [this] { return rotations_.Dispatch(); });
  // Log files need no key; digests wait while sealed (audit/log_delivery.h).
  if (foundation_.delivery != nullptr) {
    jobs_.Add(
        "audit log delivery", options_.audit_log_interval,
        [this] { return foundation_.delivery->Pass(); }, BackgroundJobs::WhileSealed::kRun);
  }
  // The built-in alarms (monitoring/alarms.h), from the trail's tallies; on a shared store from
  // what every node counted, which each publishes every 5 s (and the alarms' node before it
  // evaluates).
  if (foundation_.store->Shared()) {
    auth_failures_.slot_counts().Enable();
    if (foundation_.trail != nullptr) foundation_.trail->signal_counts().Enable();
    alarms_.CountEveryNode([this] { return PublishSignalCounts(); });
    jobs_.Add(
        "publication of signal counts", std::chrono::seconds(5),
        [this] { return PublishSignalCounts(); }, BackgroundJobs::WhileSealed::kRun);
  }
  jobs_.Add(
      "alarms", options_.alarm_interval, [this] { return alarms_.Evaluate(); },
      BackgroundJobs::WhileSealed::kPause, BackgroundJobs::Where::kOneNode);
  // Events to notification sinks, from the outbox (monitoring/notifications.h).
  jobs_.Add(
      "notifications", std::chrono::seconds(1), [this] { return notifier_.Pass(); },
      BackgroundJobs::WhileSealed::kPause, BackgroundJobs::Where::kOneNode);
  // Scheduled backups: checked every 10 s (a directory listing), made when the newest in the
  // directory is an interval old, so restarts neither skip nor repeat one.
  if (backups_ != nullptr && !options_.backup_schedule.dir.empty()) {
    jobs_.Add(
        "scheduled backups", std::chrono::seconds(10),
        [this] { return backups_->RunScheduledIfDue(options_.backup_schedule); },
        BackgroundJobs::WhileSealed::kPause, BackgroundJobs::Where::kOneNode);
  }
  // Denials are counted in memory and written in aggregate (server/denial_audit.h).
  jobs_.Add(
      "denial audit flush", std::chrono::seconds(5), [this] { return denials_.Flush(); },
      BackgroundJobs::WhileSealed::kRun);
}

std::pair<int, std::string> App::Health() const {
  // Load balancers take a sealed server out of rotation: 503 until it is unsealed.
  if (foundation_.keyring->sealed()) {
    return {503, R"({"status":"sealed","sealed":true})"};
  }
  // Degraded: reads are served, writes are refused until the store can write again. Still 200,
  // since taking the only node out of a load balancer would stop the reads as well.
  if (std::string problem = foundation_.store->WriteProblem(); !problem.empty()) {
    boost::json::object body{{"status", "degraded"},
                             {"sealed", false},
                             {"reason", "the store cannot write: " + problem}};
    return {200, boost::json::serialize(body)};
  }
  // Failing closed, a server whose trail cannot be written takes no calls at all: out of the
  // load balancer, as while sealed.
  if (foundation_.trail != nullptr && !foundation_.trail->accepting()) {
    boost::json::object body{{"status", "unavailable"},
                             {"sealed", false},
                             {"reason", "the audit trail cannot be written; calls are refused"}};
    return {503, boost::json::serialize(body)};
  }
  return {200, R"({"status":"ok","sealed":false})"};
}

// Counts of what the deployment holds; never a name (a label holds only a kind of thing).
std::string App::InventoryText() const {
  Inventory n;
  Status read = foundation_.store->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(n, r.deployment().CountInventory());
    return Status::Ok();
  });
  if (!read.ok()) return {};  // a store that cannot be read shows in coffer_store_* already
  auto gauge = [](const char* name, const char* help, const char* label,
                  std::initializer_list<std::pair<const char*, int64_t>> values) {
    std::string out = std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n";
    for (const auto& [value, n] : values) {
      out += std::string(name) + "{" + label + "=\"" + value + "\"} " + std::to_string(n) + "\n";
    }
    return out;
  };
  return gauge("coffer_secrets", "Secrets stored in every account and region.", "state",
               {{"active", n.secrets}, {"pending_deletion", n.secrets_pending_deletion}}) +
         gauge("coffer_parameters", "Parameters stored in every account and region.", "tier",
               {{"Standard", n.parameters_standard}, {"Advanced", n.parameters_advanced}}) +
         gauge("coffer_kms_keys", "KMS keys stored in every account and region.", "manager",
               {{"CUSTOMER", n.kms_keys_customer}, {"AWS", n.kms_keys_aws}});
}

std::string App::MetricsText() const {
  const std::string sealed =
      "# HELP coffer_sealed 1 while coffer is sealed (it answers no API call until unsealed).\n"
      "# TYPE coffer_sealed gauge\n"
      "coffer_sealed " +
      std::string(foundation_.keyring->sealed() ? "1" : "0") + "\n";
  return sealed + InventoryText() + dispatcher_.request_metrics().PrometheusText() +
         denials_.PrometheusText() + rotations_.PrometheusText() + alarms_.PrometheusText() +
         notifier_.PrometheusText() + foundation_.store->PrometheusText() +
         (backups_ != nullptr ? backups_->PrometheusText() : std::string()) +
         (foundation_.trail != nullptr ? foundation_.trail->PrometheusText() : std::string());
}

void App::Start(const std::string& endpoint, const std::string& node_name) {
  rotations_.set_endpoint(endpoint);
  membership_.set_name(node_name);
  (void)membership_.Report();  // so that the first passes find their leases
  jobs_.Start();
}

void App::Stop() {
  if (stopped_) return;
  stopped_ = true;
  jobs_.Stop();
  rotations_.Stop();  // running functions are killed; their runs resume at the next start
  (void)denials_.Flush();
  (void)membership_.Leave();  // its leases go to another node at once
}

}  // namespace coffer
