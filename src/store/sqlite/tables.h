// The SQLite implementation of each store view, one file per domain's tables. A view holds the
// connection it was made for and is used only inside that connection's transactions.
#pragma once

#include <memory>

#include "store/store.h"

namespace coffer::sqlite {

class Connection;

std::unique_ptr<DeploymentWriter> NewSqliteDeployment(Connection& conn);
std::unique_ptr<SecretsWriter> NewSqliteSecrets(Connection& conn);
std::unique_ptr<ParametersWriter> NewSqliteParameters(Connection& conn);
std::unique_ptr<KmsKeysWriter> NewSqliteKmsKeys(Connection& conn);
std::unique_ptr<IamWriter> NewSqliteIam(Connection& conn);
std::unique_ptr<CredentialsWriter> NewSqliteCredentials(Connection& conn);
std::unique_ptr<RotationWriter> NewSqliteRotation(Connection& conn);
std::unique_ptr<EventsWriter> NewSqliteEvents(Connection& conn);
std::unique_ptr<AlarmsWriter> NewSqliteAlarms(Connection& conn);
std::unique_ptr<NotificationsWriter> NewSqliteNotifications(Connection& conn);

}  // namespace coffer::sqlite
