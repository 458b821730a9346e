// The PostgreSQL rotation functions against a real PostgreSQL server that the tests start
// (rotation/test_postgres.h), with Secrets Manager played by an in-memory fake. Without
// PostgreSQL installed the database tests fail, saying how to install it.
#include "rotation/postgres_rotators.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <vector>

#include "core/ids.h"
#include "rotation/test_postgres.h"

namespace coffer::rotation {
namespace {

namespace json = boost::json;

constexpr const char* kCurrent = "AWSCURRENT";
constexpr const char* kPending = "AWSPENDING";
constexpr const char* kPrevious = "AWSPREVIOUS";

// Secrets Manager in memory: versions, their values and staging labels, and a record of every
// call. Stage moves follow AWS: moving AWSCURRENT gives its old version AWSPREVIOUS.
// https://docs.aws.amazon.com/secretsmanager/latest/userguide/whats-in-a-secret.html#term_version
class FakeSecretsManager : public SecretsClient {
 public:
  // A new secret whose first version (AWSCURRENT) holds `value`; returns the version id.
  std::string Create(const std::string& arn, const json::object& value) {
    Secret& s = secrets_[arn];
    std::string version = NewUuid();
    s.values[version] = json::serialize(value);
    MoveStage(s, kCurrent, version);
    return version;
  }
  // A version with `value` under `stages`, as PutSecretValue makes it; returns its id.
  std::string Put(const std::string& arn, const json::object& value,
                  const std::vector<std::string>& stages) {
    json::array labels;
    for (const auto& stage : stages) labels.emplace_back(stage);
    std::string version = NewUuid();
    auto out = Call("PutSecretValue", {{"SecretId", arn},
                                       {"ClientRequestToken", version},
                                       {"SecretString", json::serialize(value)},
                                       {"VersionStages", labels}});
    EXPECT_TRUE(out.ok()) << out.status().message();
    return version;
  }
  // What RotateSecret does before it invokes createSecret: a new version id, labelled AWSPENDING,
  // without a value yet.
  std::string StartRotation(const std::string& arn) {
    Secret& s = secrets_.at(arn);
    std::string token = NewUuid();
    s.values[token] = std::nullopt;
    MoveStage(s, kPending, token);
    return token;
  }
  void SetRotationEnabled(const std::string& arn, bool enabled) {
    secrets_.at(arn).rotation_enabled = enabled;
  }

  std::string VersionAt(const std::string& arn, const std::string& stage) const {
    const Secret& s = secrets_.at(arn);
    auto it = s.stages.find(stage);
    return it == s.stages.end() ? "" : it->second;
  }
  json::object ValueAt(const std::string& arn, const std::string& stage) const {
    const Secret& s = secrets_.at(arn);
    const auto& value = s.values.at(s.stages.at(stage));
    if (!value) return {};
    return json::parse(*value).as_object();
  }
  std::string StringAt(const std::string& arn, const std::string& stage,
                       const std::string& field) const {
    json::object v = ValueAt(arn, stage);
    const json::value* f = v.if_contains(field);
    return f != nullptr && f->is_string() ? std::string(f->get_string()) : "";
  }

  int CallCount(std::string_view operation) const {
    int n = 0;
    for (const auto& [op, input] : calls_) n += op == operation;
    return n;
  }
  std::vector<json::object> CallsOf(std::string_view operation) const {
    std::vector<json::object> out;
    for (const auto& [op, input] : calls_) {
      if (op == operation) out.push_back(input);
    }
    return out;
  }
  void ClearCalls() { calls_.clear(); }

  // The next GetRandomPassword returns this instead of a random string.
  std::optional<std::string> next_random_password;

  Result<json::object> Call(std::string_view operation, const json::object& input) override {
    calls_.emplace_back(std::string(operation), input);
    if (operation == "GetRandomPassword") {
      int64_t length = 32;
      if (const json::value* l = input.if_contains("PasswordLength"))
        length = l->to_number<int64_t>();
      std::string password = next_random_password.value_or(RandomAlphanumeric(length));
      next_random_password.reset();
      return json::object{{"RandomPassword", password}};
    }
    auto id = input.if_contains("SecretId");
    if (id == nullptr || !id->is_string()) {
      return Status("InvalidParameterException", "SecretId is required.");
    }
    std::string arn(id->get_string());
    auto found = secrets_.find(arn);
    if (found == secrets_.end()) {
      return Status("ResourceNotFoundException",
                    "Secrets Manager can't find the specified secret.");
    }
    Secret& s = found->second;
    auto str = [&](const char* key) -> std::optional<std::string> {
      const json::value* v = input.if_contains(key);
      if (v == nullptr || !v->is_string()) return std::nullopt;
      return std::string(v->get_string());
    };
    if (operation == "DescribeSecret") {
      json::object versions;
      for (const auto& [version, value] : s.values) {
        json::array labels;
        for (const auto& [stage, holder] : s.stages) {
          if (holder == version) labels.emplace_back(stage);
        }
        if (!labels.empty()) versions[version] = labels;
      }
      return json::object{{"ARN", arn},
                          {"Name", arn.substr(arn.rfind(':') + 1)},
                          {"RotationEnabled", s.rotation_enabled},
                          {"VersionIdsToStages", versions}};
    }
    if (operation == "GetSecretValue") {
      std::optional<std::string> version = str("VersionId");
      std::optional<std::string> stage = str("VersionStage");
      if (!version) {
        auto holder = s.stages.find(stage.value_or(kCurrent));
        if (holder == s.stages.end()) {
          return Status(
              "ResourceNotFoundException",
              "Secrets Manager can't find the specified secret value for staging label: " +
                  stage.value_or(kCurrent));
        }
        version = holder->second;
      }
      auto value = s.values.find(*version);
      if (value == s.values.end() || !value->second) {
        return Status(
            "ResourceNotFoundException",
            "Secrets Manager can't find the specified secret value for VersionId: " + *version);
      }
      json::array labels;
      bool has_stage = !stage;
      for (const auto& [label, holder] : s.stages) {
        if (holder != *version) continue;
        labels.emplace_back(label);
        has_stage |= label == *stage;
      }
      if (!has_stage) {
        return Status("InvalidRequestException",
                      "You provided a VersionStage that is not associated to the provided "
                      "VersionId.");
      }
      return json::object{{"ARN", arn},
                          {"VersionId", *version},
                          {"SecretString", *value->second},
                          {"VersionStages", labels}};
    }
    if (operation == "PutSecretValue") {
      std::string version = str("ClientRequestToken").value_or(NewUuid());
      std::optional<std::string> text = str("SecretString");
      if (!text) return Status("InvalidParameterException", "SecretString is required.");
      auto& value = s.values[version];
      if (value && *value != *text) {
        return Status("ResourceExistsException",
                      "You can't modify an existing version, you can only create a new version.");
      }
      value = *text;
      std::vector<std::string> stages = {kCurrent};
      if (const json::value* v = input.if_contains("VersionStages")) {
        stages.clear();
        for (const json::value& stage : v->as_array()) stages.emplace_back(stage.as_string());
      }
      for (const auto& stage : stages) MoveStage(s, stage, version);
      return json::object{{"ARN", arn}, {"VersionId", version}};
    }
    if (operation == "UpdateSecretVersionStage") {
      std::optional<std::string> stage = str("VersionStage");
      std::optional<std::string> move_to = str("MoveToVersionId");
      std::optional<std::string> remove_from = str("RemoveFromVersionId");
      if (!stage) return Status("InvalidParameterException", "VersionStage is required.");
      auto holder = s.stages.find(*stage);
      if (holder != s.stages.end() && holder->second != move_to.value_or("") &&
          holder->second != remove_from.value_or("")) {
        return Status("InvalidParameterException",
                      "The parameter RemoveFromVersionId doesn't match the version that holds "
                      "the staging label.");
      }
      if (move_to) {
        if (!s.values.contains(*move_to)) {
          return Status("ResourceNotFoundException", "The version doesn't exist.");
        }
        MoveStage(s, *stage, *move_to);
      } else if (holder != s.stages.end()) {
        s.stages.erase(holder);
      }
      return json::object{{"ARN", arn}};
    }
    return Status("InvalidAction", "The fake does not implement " + std::string(operation));
  }

 private:
  struct Secret {
    std::map<std::string, std::optional<std::string>> values;  // version id -> SecretString
    std::map<std::string, std::string> stages;                 // label -> version id
    bool rotation_enabled = true;
  };

  static void MoveStage(Secret& s, const std::string& stage, const std::string& version) {
    auto old = s.stages.find(stage);
    if (stage == kCurrent && old != s.stages.end() && old->second != version) {
      s.stages[kPrevious] = old->second;
    }
    s.stages[stage] = version;
  }

  std::map<std::string, Secret> secrets_;
  std::vector<std::pair<std::string, json::object>> calls_;
};

std::string SecretArn(const std::string& name) {
  return "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + name + "-" +
         RandomAlphanumeric(6);
}

Status RunStep(RotationFunction& fn, SecretsClient& sm, const std::string& step,
               const std::string& arn, const std::string& token, std::string* log) {
  StepEvent event{.step = step, .secret_arn = arn, .token = token, .rotation_token = "rt-1"};
  return fn.Invoke(event, sm, log);
}

// The four steps in order, as the engine runs them; stops at the first failure.
Status Rotate(RotationFunction& fn, SecretsClient& sm, const std::string& arn,
              const std::string& token, std::string* log) {
  for (const char* step : {"createSecret", "setSecret", "testSecret", "finishSecret"}) {
    Status s = RunStep(fn, sm, step, arn, token, log);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

::testing::AssertionResult IsOk(const Status& s) {
  if (s.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << s.code() << ": " << s.message();
}

::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << part << "\" not found in:\n" << text;
}

::testing::AssertionResult HasNone(const std::string& text,
                                   std::initializer_list<std::string> secrets) {
  for (const std::string& secret : secrets) {
    if (!secret.empty() && text.find(secret) != std::string::npos) {
      return ::testing::AssertionFailure() << "a password appears in:\n" << text;
    }
  }
  return ::testing::AssertionSuccess();
}

// "name" as an SQL identifier, for setting up users with awkward names.
std::string Ident(const std::string& name) {
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}
std::string Literal(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

class PostgresRotatorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto started = TestPostgresServer::Start();
    if (started.ok()) {
      server_ = std::move(started).value();
    } else {
      start_error_ = started.status().message();
    }
  }
  static void TearDownTestSuite() { server_.reset(); }

  void SetUp() override {
    if (server_ == nullptr) {
      GTEST_FAIL() << "Cannot start a PostgreSQL server for the rotation tests: " << start_error_;
    }
  }

  // Names that no other test of this server uses.
  static std::string UniqueName(const std::string& base) {
    return base + std::to_string(++counter_);
  }

  // A login user with `password`.
  static void CreateUser(const std::string& name, const std::string& password,
                         const std::string& attributes = "") {
    ASSERT_TRUE(IsOk(server_->Execute("CREATE ROLE " + Ident(name) + " WITH LOGIN " + attributes +
                                      " PASSWORD " + Literal(password))));
  }

  static json::object DbSecret(const std::string& user, const std::string& password) {
    return json::object{{"engine", "postgres"},    {"host", server_->host()},
                        {"port", server_->port()}, {"username", user},
                        {"password", password},    {"dbname", "postgres"}};
  }

  static std::string Where() { return server_->host() + ":" + std::to_string(server_->port()); }

  static inline std::unique_ptr<TestPostgresServer> server_;
  static inline std::string start_error_;
  static inline int counter_ = 0;
};

using PostgresSingleUserRotatorTest = PostgresRotatorTest;
using PostgresAlternatingUsersRotatorTest = PostgresRotatorTest;

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
  EXPECT_EQ(set.code(), "ValueError");
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
  EXPECT_EQ(s.code(), "ValueError");
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
  EXPECT_EQ(unknown.code(), "ValueError");
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
    std::string code;
    std::string message;
  };
  std::vector<Case> cases = {
      {{{"engine", "mysql"}, {"host", "h"}, {"username", "u"}, {"password", "p"}},
       "KeyError",
       "Database engine must be set to 'postgres'"},
      {{{"engine", "postgres"}, {"username", "u"}, {"password", "p"}},
       "KeyError",
       "host key is missing"},
      {{{"engine", "postgres"}, {"host", "h"}, {"username", "u"}},
       "KeyError",
       "password key is missing"},
      {{{"engine", "aurora-postgresql"},
        {"host", "h"},
        {"username", "u"},
        {"password", "p"},
        {"port", "not-a-port"}},
       "ValueError",
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
}  // namespace coffer::rotation
