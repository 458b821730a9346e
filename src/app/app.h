// App: coffer's composition root. One place builds the object graph a coffer process serves
// requests with — credentials, the policy authorizer and denial audit, the five services, the
// dispatcher and the operator endpoints, the rotation engine with its built-in functions — and
// the background jobs that keep it. The server binary, the end-to-end unit tests and the fuzz
// targets all build it here, so what they test is what runs.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "app/background_jobs.h"
#include "app/cluster_membership.h"
#include "auth/credential_registry.h"
#include "authz/policy_authorizer.h"
#include "backup/backup_maker.h"
#include "core/clock.h"
#include "core/status.h"
#include "keyring/keyring.h"
#include "keyring/root_key_seal.h"
#include "keyring/seal_manager.h"
#include "monitoring/alarms.h"
#include "monitoring/notifications.h"
#include "protocol/api_dispatcher.h"
#include "protocol/operator_api.h"
#include "rotation/rotation_engine.h"
#include "server/denial_audit.h"
#include "services/cloudtrail/access_summary.h"
#include "services/cloudtrail/cloudtrail_service.h"
#include "services/cloudwatch/cloudwatch_service.h"
#include "services/iam/iam_service.h"
#include "services/kms/kms_service.h"
#include "services/params/params_service.h"
#include "services/secrets/secrets_service.h"
#include "services/secrets/version_watch.h"
#include "services/sts/sts_service.h"
#include "store/store.h"

namespace coffer {

struct AppOptions {
  rotation::EngineOptions rotation;
  // How often deleted secrets are purged, KMS keys rotated and deleted, parameter policies
  // applied, expired sessions removed and old events pruned (--purge-interval).
  std::chrono::milliseconds maintenance_interval = std::chrono::seconds(60);
  int event_retention_days = 90;            // --event-retention-days
  int64_t max_events_per_account = 100000;  // --max-events-per-account
  int audit_retention_days = 90;            // --audit-retention-days
  bool audit_exclude_kms_events = false;    // --audit-exclude-kms-events
  // How often the trail's records are delivered as log files (--audit-log-interval).
  std::chrono::milliseconds audit_log_interval = std::chrono::minutes(5);
  // How often the built-in alarms are evaluated (--alarm-evaluation-interval): at least as
  // often as their shortest period (10 s), so a period is judged soon after it ends.
  std::chrono::milliseconds alarm_interval = std::chrono::seconds(10);
  // Notification sinks: hosts webhooks may call (--notification-host), how long a delivery may
  // take and the longest wait between retries (--notification-max-backoff).
  monitoring::NotifierOptions notifications;
  // Where backups are staged while made and fetched (DATA_DIR/backup-staging); empty: the
  // backup endpoints are not served.
  std::string backup_staging_dir;
  // Scheduled backups (--backup-dir, --backup-interval, --backup-retain); no dir: none.
  backup::ScheduleOptions backup_schedule;
};

// What the app runs on: a deployment opened by server/bootstrap, or a test's store and keyring.
// Without `seal` the operator endpoints (/coffer/*) are not served.
struct AppFoundation {
  Store* store = nullptr;
  Keyring* keyring = nullptr;
  SealManager* seal = nullptr;
  UnsealKeyFile* key_file = nullptr;
  std::string account_id;  // the deployment's operator account
  // The audit trail every call is recorded in, and LookupEvents reads; null records nothing
  // (unit tests of other parts).
  audit::AuditTrail* trail = nullptr;
  // Delivers the trail's log files and digests (a job of the app's); null delivers none.
  audit::LogDelivery* delivery = nullptr;
  // The real clock request signatures are dated against, when the app's clock is offset from it
  // (OffsetClock); null means the app's clock.
  const Clock* signature_clock = nullptr;
};

class App {
 public:
  // Builds the graph; every pointer must outlive the App. Nothing runs until jobs().Start().
  static std::unique_ptr<App> Create(const AppOptions& options, const Clock* clock,
                                     const AppFoundation& foundation);
  ~App();  // Stop()s
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  ApiDispatcher& dispatcher() { return dispatcher_; }
  BackgroundJobs& jobs() { return jobs_; }
  rotation::RotationEngine& rotations() { return rotations_; }
  monitoring::AlarmEvaluator& alarms() { return alarms_; }
  CredentialRegistry& credentials() { return credentials_; }
  ClusterMembership& membership() { return membership_; }

  // Serving at `endpoint` (coffer's URL, for exec rotation functions) as the node `node_name`
  // (host and port, as operators know it): starts the jobs.
  void Start(const std::string& endpoint, const std::string& node_name);

  // GET /health: 503 while sealed; 200 "degraded" while the store cannot write.
  std::pair<int, std::string> Health() const;
  // GET /metrics: every component's Prometheus text.
  std::string MetricsText() const;

  // Stops the jobs, kills running rotation functions (their runs resume at the next start or on
  // another node), writes the denials still counted in memory and leaves the cluster.
  // Idempotent.
  void Stop();

 private:
  // coffer_secrets, coffer_parameters, coffer_kms_keys: counts, never names.
  std::string InventoryText() const;
  App(const AppOptions& options, const Clock* clock, const AppFoundation& foundation);
  void AddServices();
  void AddJobs();
  // Writes what this node counted (audit/slot_counts.h) to the store, for the alarms.
  Status PublishSignalCounts();
  void AddSinkEndpoints();
  void AddBackupEndpoints();
  void AddNodesEndpoint();

  AppOptions options_;
  const Clock* clock_;
  AppFoundation foundation_;
  std::mutex publish_mu_;
  ClusterMembership membership_;  // before rotations_, which holds leases under its node id
  CredentialRegistry credentials_;
  PolicyAuthorizer authorizer_;
  DenialAudit denials_;
  audit::AuthFailureTally auth_failures_;
  monitoring::AlarmEvaluator alarms_;
  monitoring::Notifier notifier_;
  secrets::SecretsService secrets_;
  secrets::SecretVersionWatch version_watch_;  // coffer agent's long poll
  params::ParamsService params_;
  kms::KmsService kms_;
  sts::StsService sts_;
  iam::IamService iam_;
  std::unique_ptr<cloudtrail::CloudTrailService> cloudtrail_;
  std::unique_ptr<cloudtrail::AccessSummaryService> access_summary_;
  cloudwatch::CloudWatchService cloudwatch_;
  ApiDispatcher dispatcher_;
  std::unique_ptr<OperatorApi> operator_api_;
  std::unique_ptr<backup::BackupMaker> backups_;
  rotation::RotationEngine rotations_;
  BackgroundJobs jobs_;
  bool stopped_ = false;
};

}  // namespace coffer
