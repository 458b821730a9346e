// The PostgreSQL alternating-users rotation, and the checks both PostgreSQL rotations make
// before any step, against a real PostgreSQL server as in postgres_rotators_test.cc.
#include <gtest/gtest.h>

#include "rotation/postgres_rotators_test_support.h"

namespace coffer::rotation::test_support {
namespace {

TEST_F(PostgresAlternatingUsersRotatorTest, AlternatesBetweenTheUserAndItsClone) {
  const std::string master = UniqueName("master");
  const std::string master_password = RandomAlphanumeric(20);
  CreateUser(master, master_password, "SUPERUSER");
  const std::string user = UniqueName("app");
  const std::string clone = user + "_clone";
  const std::string password0 = RandomAlphanumeric(20);
  CreateUser(user, password0);
  // A privilege of the user that its clone must have too.
  const std::string table = UniqueName("orders");
  ASSERT_TRUE(IsOk(server_->Execute("CREATE TABLE " + table + " (id int); INSERT INTO " + table +
                                    " VALUES (42); GRANT SELECT ON " + table + " TO " + user)));
  const std::string select = "SELECT id FROM " + table;

  FakeSecretsManager sm;
  const std::string master_arn = SecretArn("db-master");
  sm.Create(master_arn, DbSecret(master, master_password));
  const std::string arn = SecretArn("db-app");
  json::object secret = DbSecret(user, password0);
  secret["masterarn"] = master_arn;
  const std::string version0 = sm.Create(arn, secret);
  auto fn = NewPostgresAlternatingUsersRotator();

  // First rotation: X -> X_clone, which the master user creates with X's privileges.
  const std::string token1 = sm.StartRotation(arn);
  std::string log;
  ASSERT_TRUE(IsOk(RunStep(*fn, sm, "createSecret", arn, token1, &log)));
  EXPECT_EQ(sm.StringAt(arn, kPending, "username"), clone);
  EXPECT_EQ(sm.StringAt(arn, kPending, "masterarn"), master_arn);
  ASSERT_TRUE(IsOk(RunStep(*fn, sm, "setSecret", arn, token1, &log)));
  ASSERT_TRUE(IsOk(RunStep(*fn, sm, "setSecret", arn, token1, &log)));  // idempotent
  ASSERT_TRUE(IsOk(RunStep(*fn, sm, "testSecret", arn, token1, &log)));
  ASSERT_TRUE(IsOk(RunStep(*fn, sm, "finishSecret", arn, token1, &log)));
  const std::string password1 = sm.StringAt(arn, kCurrent, "password");
  EXPECT_EQ(sm.VersionAt(arn, kCurrent), token1);
  EXPECT_EQ(sm.VersionAt(arn, kPrevious), version0);
  EXPECT_EQ(sm.StringAt(arn, kCurrent, "username"), clone);
  EXPECT_EQ(sm.StringAt(arn, kPrevious, "username"), user);
  EXPECT_TRUE(IsOk(server_->LogIn(clone, password1, select)));
  EXPECT_TRUE(IsOk(server_->LogIn(user, password0, select)));  // AWSPREVIOUS still works
  EXPECT_TRUE(Contains(log, "setSecret: created user " + clone + " with the privileges of " + user +
                                " in postgres at " + Where() + " (logged in as master user " +
                                master + ")"));
  EXPECT_TRUE(Contains(log, "setSecret: the AWSPENDING password already logs in as user " + clone));
  // The master secret was read, and the master user ran the statements.
  auto reads = sm.CallsOf("GetSecretValue");
  EXPECT_TRUE(std::any_of(reads.begin(), reads.end(), [&](const json::object& in) {
    return in.at("SecretId") == json::value(master_arn);
  }));
  std::string server_log = server_->ServerLog();
  EXPECT_TRUE(Contains(server_log, master + "@postgres LOG:  statement: CREATE ROLE \"" + clone +
                                       "\" WITH LOGIN PASSWORD 'SCRAM-SHA-256$"));
  EXPECT_TRUE(Contains(server_log, master + "@postgres LOG:  statement: GRANT \"" + user +
                                       "\" TO \"" + clone + "\""));

  // Second rotation: X_clone -> X, whose password the master user changes.
  const std::string token2 = sm.StartRotation(arn);
  ASSERT_TRUE(IsOk(Rotate(*fn, sm, arn, token2, &log)));
  const std::string password2 = sm.StringAt(arn, kCurrent, "password");
  EXPECT_EQ(sm.VersionAt(arn, kCurrent), token2);
  EXPECT_EQ(sm.VersionAt(arn, kPrevious), token1);
  EXPECT_EQ(sm.StringAt(arn, kCurrent, "username"), user);
  EXPECT_EQ(sm.StringAt(arn, kPrevious, "username"), clone);
  EXPECT_NE(password2, password0);
  EXPECT_TRUE(IsOk(server_->LogIn(user, password2, select)));
  EXPECT_TRUE(IsOk(server_->LogIn(clone, password1, select)));  // AWSPREVIOUS still works
  EXPECT_FALSE(server_->LogIn(user, password0).ok());
  EXPECT_TRUE(Contains(log, "setSecret: password set for user " + user + " in postgres at " +
                                Where() + " (logged in as master user " + master + ")"));
  server_log = server_->ServerLog();
  EXPECT_TRUE(Contains(server_log, master + "@postgres LOG:  statement: ALTER USER \"" + user +
                                       "\" WITH PASSWORD 'SCRAM-SHA-256$"));

  // Third rotation: back to the clone, which now exists.
  const std::string token3 = sm.StartRotation(arn);
  ASSERT_TRUE(IsOk(Rotate(*fn, sm, arn, token3, &log)));
  const std::string password3 = sm.StringAt(arn, kCurrent, "password");
  EXPECT_EQ(sm.StringAt(arn, kCurrent, "username"), clone);
  EXPECT_TRUE(IsOk(server_->LogIn(clone, password3, select)));
  EXPECT_TRUE(IsOk(server_->LogIn(user, password2, select)));
  EXPECT_FALSE(server_->LogIn(clone, password1).ok());

  EXPECT_TRUE(HasNone(log, {master_password, password0, password1, password2, password3}));
  EXPECT_TRUE(HasNone(server_->ServerLog(), {password1, password2, password3}));
}

TEST_F(PostgresAlternatingUsersRotatorTest, WrongMasterPasswordFailsAndCreatesNothing) {
  const std::string master = UniqueName("master");
  const std::string master_password = RandomAlphanumeric(20);
  CreateUser(master, master_password, "SUPERUSER");
  const std::string user = UniqueName("app");
  const std::string password = RandomAlphanumeric(20);
  CreateUser(user, password);
  FakeSecretsManager sm;
  const std::string master_arn = SecretArn("db-master");
  sm.Create(master_arn, DbSecret(master, "not-the-master-password"));
  const std::string arn = SecretArn("db-app");
  json::object secret = DbSecret(user, password);
  secret["masterarn"] = master_arn;
  const std::string old_version = sm.Create(arn, secret);
  const std::string token = sm.StartRotation(arn);
  auto fn = NewPostgresAlternatingUsersRotator();
  std::string log;
  Status s = Rotate(*fn, sm, arn, token, &log);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kValueError);
  EXPECT_TRUE(Contains(
      s.message(), "Unable to log into database using credentials in master secret " + master_arn));
  EXPECT_TRUE(HasNone(s.message(), {master_password, password, "not-the-master-password"}));
  EXPECT_EQ(sm.VersionAt(arn, kCurrent), old_version);
  EXPECT_EQ(sm.CallCount("UpdateSecretVersionStage"), 0);
  auto clones = server_->QueryValue("SELECT count(*) FROM pg_roles WHERE rolname = " +
                                    Literal(user + "_clone"));
  ASSERT_TRUE(IsOk(clones.status()));
  EXPECT_EQ(*clones, "0");
}

TEST_F(PostgresAlternatingUsersRotatorTest, NeedsWorkingCurrentCredentialsBeforeUsingTheMaster) {
  const std::string master = UniqueName("master");
  const std::string master_password = RandomAlphanumeric(20);
  CreateUser(master, master_password, "SUPERUSER");
  const std::string user = UniqueName("app");
  CreateUser(user, RandomAlphanumeric(20));
  FakeSecretsManager sm;
  const std::string master_arn = SecretArn("db-master");
  sm.Create(master_arn, DbSecret(master, master_password));
  const std::string arn = SecretArn("db-app");
  json::object secret = DbSecret(user, "stale-password");
  secret["masterarn"] = master_arn;
  const std::string old_version = sm.Create(arn, secret);
  const std::string token = sm.StartRotation(arn);
  auto fn = NewPostgresAlternatingUsersRotator();
  std::string log;
  ASSERT_TRUE(IsOk(RunStep(*fn, sm, "createSecret", arn, token, &log)));
  Status set = RunStep(*fn, sm, "setSecret", arn, token, &log);
  ASSERT_FALSE(set.ok());
  EXPECT_TRUE(Contains(set.message(),
                       "Unable to log into database using current credentials for secret " + arn));
  for (const json::object& in : sm.CallsOf("GetSecretValue")) {
    EXPECT_NE(in.at("SecretId"), json::value(master_arn));
  }
  EXPECT_EQ(sm.VersionAt(arn, kCurrent), old_version);
}

// Checks that need no database: the stage preamble and the secret's shape.
TEST(PostgresRotatorPreambleTest, ChecksTheVersionBeforeAnyStep) {
  FakeSecretsManager sm;
  const std::string arn = SecretArn("db-app");
  json::object secret{
      {"engine", "postgres"}, {"host", "127.0.0.1"}, {"username", "app"}, {"password", "pw"}};
  const std::string current = sm.Create(arn, secret);
  auto fn = NewPostgresSingleUserRotator();
  std::string log;

  Status unknown = RunStep(*fn, sm, "createSecret", arn, NewUuid(), &log);
  EXPECT_EQ(unknown.code(), ErrorCode::kValueError);
  EXPECT_TRUE(Contains(unknown.message(), "has no stage for rotation of secret " + arn));

  const std::string previous = sm.Put(arn, secret, {kCurrent});
  ASSERT_EQ(sm.VersionAt(arn, kPrevious), current);
  Status not_pending = RunStep(*fn, sm, "setSecret", arn, current, &log);
  EXPECT_TRUE(Contains(not_pending.message(), "not set as AWSPENDING for rotation of secret"));

  // A version that is already AWSCURRENT has nothing to do.
  sm.ClearCalls();
  EXPECT_TRUE(IsOk(RunStep(*fn, sm, "setSecret", arn, previous, &log)));
  EXPECT_EQ(sm.CallCount("GetSecretValue"), 0);

  const std::string token = sm.StartRotation(arn);
  Status bad_step = RunStep(*fn, sm, "rotateEverything", arn, token, &log);
  EXPECT_TRUE(Contains(bad_step.message(), "Invalid step parameter rotateEverything"));

  sm.SetRotationEnabled(arn, false);
  Status disabled = RunStep(*fn, sm, "createSecret", arn, token, &log);
  EXPECT_EQ(disabled.message(), "Secret " + arn + " is not enabled for rotation");
  EXPECT_EQ(sm.CallCount("PutSecretValue"), 0);
}

TEST(PostgresRotatorPreambleTest, RejectsSecretsThatAreNotPostgres) {
  auto fn = NewPostgresSingleUserRotator();
  std::string log;
  struct Case {
    json::object secret;
    ErrorCode code;
    std::string message;
  };
  std::vector<Case> cases = {
      {{{"engine", "mysql"}, {"host", "h"}, {"username", "u"}, {"password", "p"}},
       ErrorCode::kKeyError,
       "Database engine must be set to 'postgres'"},
      {{{"engine", "postgres"}, {"username", "u"}, {"password", "p"}},
       ErrorCode::kKeyError,
       "host key is missing"},
      {{{"engine", "postgres"}, {"host", "h"}, {"username", "u"}},
       ErrorCode::kKeyError,
       "password key is missing"},
      {{{"engine", "aurora-postgresql"},
        {"host", "h"},
        {"username", "u"},
        {"password", "p"},
        {"port", "not-a-port"}},
       ErrorCode::kValueError,
       "must be a number from 1 to 65535"},
  };
  for (const Case& c : cases) {
    FakeSecretsManager sm;
    const std::string arn = SecretArn("db");
    sm.Create(arn, c.secret);
    const std::string token = sm.StartRotation(arn);
    Status s = RunStep(*fn, sm, "createSecret", arn, token, &log);
    EXPECT_EQ(s.code(), c.code) << json::serialize(c.secret);
    EXPECT_TRUE(Contains(s.message(), c.message));
    EXPECT_EQ(sm.CallCount("PutSecretValue"), 0);
  }
}

TEST(PostgresRotatorPreambleTest, CloneNameLongerThan63CharactersIsRefused) {
  FakeSecretsManager sm;
  const std::string arn = SecretArn("db");
  sm.Create(arn, json::object{{"engine", "postgres"},
                              {"host", "h"},
                              {"username", std::string(58, 'u')},
                              {"password", "p"},
                              {"masterarn", "arn:aws:secretsmanager:us-east-1:1:secret:m"}});
  const std::string token = sm.StartRotation(arn);
  auto fn = NewPostgresAlternatingUsersRotator();
  std::string log;
  Status s = RunStep(*fn, sm, "createSecret", arn, token, &log);
  EXPECT_EQ(s.message(),
            "Unable to clone user, username length with _clone appended would exceed 63 "
            "characters");
  EXPECT_EQ(sm.CallCount("PutSecretValue"), 0);
}

}  // namespace
}  // namespace coffer::rotation::test_support
