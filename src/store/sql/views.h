// Each store view over the SQL driver (driver.h), one file per domain's tables, the same on every
// engine. A view holds the connection it was made for and is used only inside that connection's
// transactions.
#pragma once

#include <memory>

#include "store/cluster.h"
#include "store/sql/driver.h"
#include "store/store.h"

namespace coffer::sql {

std::unique_ptr<DeploymentWriter> NewDeploymentView(Connection& conn);
std::unique_ptr<SecretsWriter> NewSecretsView(Connection& conn);
std::unique_ptr<ParametersWriter> NewParametersView(Connection& conn);
std::unique_ptr<KmsKeysWriter> NewKmsKeysView(Connection& conn);
std::unique_ptr<IamWriter> NewIamView(Connection& conn);
std::unique_ptr<CredentialsWriter> NewCredentialsView(Connection& conn);
std::unique_ptr<RotationWriter> NewRotationView(Connection& conn);
std::unique_ptr<EventsWriter> NewEventsView(Connection& conn);
std::unique_ptr<AlarmsWriter> NewAlarmsView(Connection& conn);
std::unique_ptr<NotificationsWriter> NewNotificationsView(Connection& conn);
std::unique_ptr<ClusterView> NewClusterView(Connection& conn);

// A connection with its views: the transaction object handed to Read and Write functions. It
// lives as long as its connection (pooled), so a request builds no views. `Conn` is the
// engine's connection type.
template <typename Conn>
class Transaction final : public StoreWriter {
 public:
  explicit Transaction(std::unique_ptr<Conn> conn)
      : conn_(std::move(conn)),
        deployment_(NewDeploymentView(*conn_)),
        secrets_(NewSecretsView(*conn_)),
        parameters_(NewParametersView(*conn_)),
        kms_(NewKmsKeysView(*conn_)),
        iam_(NewIamView(*conn_)),
        credentials_(NewCredentialsView(*conn_)),
        rotation_(NewRotationView(*conn_)),
        events_(NewEventsView(*conn_)),
        alarms_(NewAlarmsView(*conn_)),
        notifications_(NewNotificationsView(*conn_)),
        cluster_(NewClusterView(*conn_)) {}

  Conn& conn() { return *conn_; }

  DeploymentWriter& deployment() override { return *deployment_; }
  SecretsWriter& secrets() override { return *secrets_; }
  ParametersWriter& parameters() override { return *parameters_; }
  KmsKeysWriter& kms() override { return *kms_; }
  IamWriter& iam() override { return *iam_; }
  CredentialsWriter& credentials() override { return *credentials_; }
  RotationWriter& rotation() override { return *rotation_; }
  EventsWriter& events() override { return *events_; }
  AlarmsWriter& alarms() override { return *alarms_; }
  NotificationsWriter& notifications() override { return *notifications_; }
  // Not a StoreWriter view: Store::Coordinate hands it out alone.
  ClusterView& cluster() { return *cluster_; }

 private:
  std::unique_ptr<Conn> conn_;  // declared first: the views below use it
  std::unique_ptr<DeploymentWriter> deployment_;
  std::unique_ptr<SecretsWriter> secrets_;
  std::unique_ptr<ParametersWriter> parameters_;
  std::unique_ptr<KmsKeysWriter> kms_;
  std::unique_ptr<IamWriter> iam_;
  std::unique_ptr<CredentialsWriter> credentials_;
  std::unique_ptr<RotationWriter> rotation_;
  std::unique_ptr<EventsWriter> events_;
  std::unique_ptr<AlarmsWriter> alarms_;
  std::unique_ptr<NotificationsWriter> notifications_;
  std::unique_ptr<ClusterView> cluster_;
};

}  // namespace coffer::sql
