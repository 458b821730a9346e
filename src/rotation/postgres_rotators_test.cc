// The PostgreSQL single-user rotation against a real PostgreSQL server that the tests start
// (rotation/test_postgres.h), with Secrets Manager played by an in-memory fake. Without
// PostgreSQL installed the database tests fail, saying how to install it.
#include <gtest/gtest.h>

#include "rotation/postgres_rotators_test_support.h"

namespace coffer::rotation::test_support {
namespace {

TEST_F(PostgresSingleUserRotatorTest, RotatesThePasswordAndMovesAwsCurrent) {
  const std::string user = UniqueName("app");
  const std::string old_password = RandomAlphanumeric(20);
  CreateUser(user, old_password);
  FakeSecretsManager sm;
  const std::string arn = SecretArn("db-app");
  json::object secret = DbSecret(user, old_password);
  secret["dbClusterIdentifier"] = "cluster-1";
  const std::string old_version = sm.Create(arn, secret);
  const std::string token = sm.StartRotation(arn);

  auto fn = NewPostgresSingleUserRotator();
  std::string log;
  ASSERT_TRUE(IsOk(Rotate(*fn, sm, arn, token, &log)));

  // AWSCURRENT moved to the new version; the old one is AWSPREVIOUS.
  EXPECT_EQ(sm.VersionAt(arn, kCurrent), token);
  EXPECT_EQ(sm.VersionAt(arn, kPrevious), old_version);
  EXPECT_EQ(sm.StringAt(arn, kPrevious, "password"), old_password);
  const std::string new_password = sm.StringAt(arn, kCurrent, "password");
  EXPECT_EQ(new_password.size(), 32u);
  EXPECT_NE(new_password, old_password);
  // The rest of the secret is kept.
  json::object current = sm.ValueAt(arn, kCurrent);
  EXPECT_EQ(current["username"], json::value(user));
  EXPECT_EQ(current["host"], json::value(server_->host()));
  EXPECT_EQ(current["port"], server_->port());
  EXPECT_EQ(current["engine"], "postgres");
  EXPECT_EQ(current["dbClusterIdentifier"], "cluster-1");

  // The database took the new password, and the old one no longer logs in.
  EXPECT_TRUE(IsOk(server_->LogIn(user, new_password, "SELECT 1")));
  Status old_login = server_->LogIn(user, old_password);
  ASSERT_FALSE(old_login.ok());
  EXPECT_TRUE(Contains(old_login.message(), "password authentication failed"));

  // The templates' GetRandomPassword and PutSecretValue calls.
  auto random = sm.CallsOf("GetRandomPassword");
  ASSERT_EQ(random.size(), 1u);
  EXPECT_EQ(random[0]["ExcludeCharacters"], ":/@\"'\\");
  EXPECT_EQ(random[0]["PasswordLength"], 32);
  EXPECT_EQ(random[0]["RequireEachIncludedType"], true);
  auto puts = sm.CallsOf("PutSecretValue");
  ASSERT_EQ(puts.size(), 1u);
  EXPECT_EQ(puts[0]["ClientRequestToken"], json::value(token));
  EXPECT_EQ(puts[0]["VersionStages"], (json::array{"AWSPENDING"}));
  EXPECT_EQ(puts[0]["RotationToken"], "rt-1");
  auto updates = sm.CallsOf("UpdateSecretVersionStage");
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0]["VersionStage"], "AWSCURRENT");
  EXPECT_EQ(updates[0]["MoveToVersionId"], json::value(token));
  EXPECT_EQ(updates[0]["RemoveFromVersionId"], json::value(old_version));

  // What each step did is logged, without a password; the server saw only a hash.
  EXPECT_TRUE(
      Contains(log, "setSecret: password set for user " + user + " in postgres at " + Where()));
  EXPECT_TRUE(Contains(log, "testSecret: user " + user + " logged in to postgres at " + Where()));
  EXPECT_TRUE(Contains(log, "finishSecret: moved AWSCURRENT to version " + token));
  EXPECT_TRUE(HasNone(log, {old_password, new_password}));
  std::string server_log = server_->ServerLog();
  EXPECT_TRUE(Contains(server_log, user + "@postgres LOG:  statement: ALTER USER \"" + user +
                                       "\" WITH PASSWORD 'SCRAM-SHA-256$"));
  EXPECT_TRUE(HasNone(server_log, {new_password}));
}

TEST_F(PostgresSingleUserRotatorTest, EachStepCanRunAgain) {
  const std::string user = UniqueName("app");
  const std::string old_password = RandomAlphanumeric(20);
  CreateUser(user, old_password);
  FakeSecretsManager sm;
  const std::string arn = SecretArn("db-app");
  sm.Create(arn, DbSecret(user, old_password));
  const std::string token = sm.StartRotation(arn);
  auto fn = NewPostgresSingleUserRotator();
  std::string log;

  // createSecret twice: the second finds the version and generates nothing.
  ASSERT_TRUE(IsOk(RunStep(*fn, sm, "createSecret", arn, token, &log)));
  const std::string pending_password = sm.StringAt(arn, kPending, "password");
  ASSERT_TRUE(IsOk(RunStep(*fn, sm, "createSecret", arn, token, &log)));
  EXPECT_EQ(sm.StringAt(arn, kPending, "password"), pending_password);
  EXPECT_EQ(sm.CallCount("GetRandomPassword"), 1);
  EXPECT_EQ(sm.CallCount("PutSecretValue"), 1);
  EXPECT_TRUE(Contains(log, "createSecret: version " + token + " of " + arn + " already exists"));

  // setSecret twice: the second sees that the pending password already logs in.
  ASSERT_TRUE(IsOk(RunStep(*fn, sm, "setSecret", arn, token, &log)));
  ASSERT_TRUE(IsOk(RunStep(*fn, sm, "setSecret", arn, token, &log)));
  EXPECT_TRUE(Contains(log, "setSecret: the AWSPENDING password already logs in as user " + user));
  EXPECT_TRUE(IsOk(server_->LogIn(user, pending_password)));

  ASSERT_TRUE(IsOk(RunStep(*fn, sm, "testSecret", arn, token, &log)));
  ASSERT_TRUE(IsOk(RunStep(*fn, sm, "testSecret", arn, token, &log)));

  // finishSecret twice: the second finds the version already AWSCURRENT.
  ASSERT_TRUE(IsOk(RunStep(*fn, sm, "finishSecret", arn, token, &log)));
  ASSERT_TRUE(IsOk(RunStep(*fn, sm, "finishSecret", arn, token, &log)));
  EXPECT_EQ(sm.CallCount("UpdateSecretVersionStage"), 1);
  EXPECT_EQ(sm.VersionAt(arn, kCurrent), token);
  EXPECT_TRUE(Contains(log, "finishSecret: version " + token + " is already AWSCURRENT"));
  // Every step of a finished rotation is a no-op now.
  sm.ClearCalls();
  for (const char* step : {"createSecret", "setSecret", "testSecret"}) {
    EXPECT_TRUE(IsOk(RunStep(*fn, sm, step, arn, token, &log)));
  }
  EXPECT_EQ(sm.CallCount("DescribeSecret"), 3);
  EXPECT_EQ(sm.CallCount("GetSecretValue"), 0);
  EXPECT_TRUE(HasNone(log, {old_password, pending_password}));

  // A second rotation starts from the new password.
  const std::string token2 = sm.StartRotation(arn);
  ASSERT_TRUE(IsOk(Rotate(*fn, sm, arn, token2, &log)));
  EXPECT_EQ(sm.VersionAt(arn, kPrevious), token);
  EXPECT_TRUE(IsOk(server_->LogIn(user, sm.StringAt(arn, kCurrent, "password"))));
  EXPECT_FALSE(server_->LogIn(user, pending_password).ok());
}

TEST_F(PostgresSingleUserRotatorTest, FailedSetSecretLeavesAwsCurrentAndTheDatabaseAlone) {
  const std::string user = UniqueName("app");
  const std::string real_password = RandomAlphanumeric(20);
  const std::string wrong_password = RandomAlphanumeric(20);
  CreateUser(user, real_password);
  FakeSecretsManager sm;
  const std::string arn = SecretArn("db-app");
  const std::string old_version = sm.Create(arn, DbSecret(user, wrong_password));
  const std::string token = sm.StartRotation(arn);
  auto fn = NewPostgresSingleUserRotator();
  std::string log;

  ASSERT_TRUE(IsOk(RunStep(*fn, sm, "createSecret", arn, token, &log)));
  const std::string pending_password = sm.StringAt(arn, kPending, "password");
  Status set = RunStep(*fn, sm, "setSecret", arn, token, &log);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.code(), ErrorCode::kValueError);
  EXPECT_TRUE(Contains(set.message(),
                       "Unable to log into database with previous, current, or pending secret of "
                       "secret arn " +
                           arn));
  EXPECT_TRUE(Contains(set.message(), "password authentication failed for user \"" + user));
  EXPECT_TRUE(HasNone(set.message(), {real_password, wrong_password, pending_password}));
  EXPECT_TRUE(HasNone(log, {real_password, wrong_password, pending_password}));

  // testSecret fails too, so the engine never reaches finishSecret.
  Status test = RunStep(*fn, sm, "testSecret", arn, token, &log);
  ASSERT_FALSE(test.ok());
  EXPECT_TRUE(Contains(test.message(), "Unable to log into database with pending secret"));
  EXPECT_TRUE(HasNone(test.message(), {real_password, wrong_password, pending_password}));

  EXPECT_EQ(sm.VersionAt(arn, kCurrent), old_version);
  EXPECT_EQ(sm.VersionAt(arn, kPending), token);
  EXPECT_EQ(sm.CallCount("UpdateSecretVersionStage"), 0);
  EXPECT_TRUE(IsOk(server_->LogIn(user, real_password)));
  EXPECT_FALSE(server_->LogIn(user, pending_password).ok());
}

TEST_F(PostgresSingleUserRotatorTest, LogsInWithAwsPreviousWhenAwsCurrentFails) {
  const std::string user = UniqueName("app");
  const std::string password = RandomAlphanumeric(20);
  CreateUser(user, password);
  FakeSecretsManager sm;
  const std::string arn = SecretArn("db-app");
  sm.Create(arn, DbSecret(user, password));
  // Someone put a wrong AWSCURRENT by hand; the working one is now AWSPREVIOUS.
  sm.Put(arn, DbSecret(user, "not-the-password"), {kCurrent});
  const std::string token = sm.StartRotation(arn);
  auto fn = NewPostgresSingleUserRotator();
  std::string log;
  ASSERT_TRUE(IsOk(Rotate(*fn, sm, arn, token, &log)));
  EXPECT_TRUE(Contains(log, "(logged in with AWSPREVIOUS)"));
  EXPECT_TRUE(IsOk(server_->LogIn(user, sm.StringAt(arn, kCurrent, "password"))));
  EXPECT_FALSE(server_->LogIn(user, password).ok());
}

TEST_F(PostgresSingleUserRotatorTest, QuotesAwkwardUserNamesAndPasswords) {
  const std::string user = UniqueName("We\"ird 'user; DROP ROLE postgres; --");
  const std::string old_password = "it's a \"quoted\" \\ password";
  CreateUser(user, old_password);
  FakeSecretsManager sm;
  const std::string arn = SecretArn("db-weird");
  sm.Create(arn, DbSecret(user, old_password));
  const std::string token = sm.StartRotation(arn);
  const std::string new_password = "o'Brien\\'; DROP ROLE postgres; -- $$ \"x\"";
  sm.next_random_password = new_password;
  auto fn = NewPostgresSingleUserRotator();
  std::string log;
  ASSERT_TRUE(IsOk(Rotate(*fn, sm, arn, token, &log)));
  EXPECT_EQ(sm.StringAt(arn, kCurrent, "password"), new_password);
  EXPECT_TRUE(IsOk(server_->LogIn(user, new_password)));
  EXPECT_FALSE(server_->LogIn(user, old_password).ok());
  EXPECT_TRUE(IsOk(server_->LogIn(server_->superuser(), server_->superuser_password())));
  EXPECT_TRUE(HasNone(log, {old_password, new_password}));
}

TEST_F(PostgresSingleUserRotatorTest, RefusesAPendingVersionForAnotherUser) {
  const std::string user = UniqueName("app");
  const std::string victim = UniqueName("victim");
  const std::string password = RandomAlphanumeric(20);
  const std::string victim_password = RandomAlphanumeric(20);
  CreateUser(user, password);
  CreateUser(victim, victim_password);
  FakeSecretsManager sm;
  const std::string arn = SecretArn("db-app");
  const std::string old_version = sm.Create(arn, DbSecret(user, password));
  const std::string token = sm.StartRotation(arn);
  // Someone who may write the secret puts a pending version that names another user.
  ASSERT_TRUE(IsOk(
      sm.Call("PutSecretValue", {{"SecretId", arn},
                                 {"ClientRequestToken", token},
                                 {"SecretString", json::serialize(DbSecret(victim, "attacker-pw"))},
                                 {"VersionStages", json::array{"AWSPENDING"}}})
          .status()));
  auto fn = NewPostgresSingleUserRotator();
  std::string log;
  ASSERT_TRUE(IsOk(RunStep(*fn, sm, "createSecret", arn, token, &log)));
  Status set = RunStep(*fn, sm, "setSecret", arn, token, &log);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.message(),
            "Attempting to modify user " + victim + " other than current user " + user);
  EXPECT_TRUE(IsOk(server_->LogIn(victim, victim_password)));
  EXPECT_FALSE(server_->LogIn(victim, "attacker-pw").ok());
  EXPECT_EQ(sm.VersionAt(arn, kCurrent), old_version);
}

TEST_F(PostgresSingleUserRotatorTest, HonoursTheSslField) {
  // The test server has no TLS: "ssl": false connects in clear, "ssl": true refuses to.
  const std::string user = UniqueName("app");
  const std::string password = RandomAlphanumeric(20);
  CreateUser(user, password);
  auto fn = NewPostgresSingleUserRotator();
  std::string log;
  {
    FakeSecretsManager sm;
    const std::string arn = SecretArn("db-plain");
    json::object secret = DbSecret(user, password);
    secret["ssl"] = "false";
    secret["port"] = std::to_string(server_->port());  // a string port works too
    sm.Create(arn, secret);
    const std::string token = sm.StartRotation(arn);
    ASSERT_TRUE(IsOk(Rotate(*fn, sm, arn, token, &log)));
    EXPECT_EQ(sm.ValueAt(arn, kCurrent)["ssl"], "false");
    EXPECT_TRUE(IsOk(server_->LogIn(user, sm.StringAt(arn, kCurrent, "password"))));
  }
  {
    FakeSecretsManager sm;
    const std::string arn = SecretArn("db-tls");
    const std::string current_password = RandomAlphanumeric(20);
    ASSERT_TRUE(IsOk(
        server_->Execute("ALTER ROLE " + Ident(user) + " PASSWORD " + Literal(current_password))));
    json::object secret = DbSecret(user, current_password);
    secret["ssl"] = true;
    const std::string old_version = sm.Create(arn, secret);
    const std::string token = sm.StartRotation(arn);
    ASSERT_TRUE(IsOk(RunStep(*fn, sm, "createSecret", arn, token, &log)));
    Status set = RunStep(*fn, sm, "setSecret", arn, token, &log);
    ASSERT_FALSE(set.ok());
    EXPECT_TRUE(Contains(set.message(), "server does not support SSL, but SSL was required"));
    EXPECT_EQ(sm.VersionAt(arn, kCurrent), old_version);
    EXPECT_TRUE(IsOk(server_->LogIn(user, current_password)));
  }
}

}  // namespace
}  // namespace coffer::rotation::test_support
