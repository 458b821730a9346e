// What the PostgreSQL rotation tests share: Secrets Manager played by an in-memory fake, the
// steps driven as Secrets Manager drives them, and a fixture with a real PostgreSQL server that
// the tests start (rotation/test_postgres.h).
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <vector>

#include "core/ids.h"
#include "rotation/postgres_rotators.h"
#include "rotation/test_postgres.h"

namespace coffer::rotation::test_support {

namespace json = boost::json;

inline constexpr const char* kCurrent = "AWSCURRENT";
inline constexpr const char* kPending = "AWSPENDING";
inline constexpr const char* kPrevious = "AWSPREVIOUS";

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
      return Status(ErrorCode::kInvalidParameterException, "SecretId is required.");
    }
    std::string arn(id->get_string());
    auto found = secrets_.find(arn);
    if (found == secrets_.end()) {
      return Status(ErrorCode::kResourceNotFoundException,
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
              ErrorCode::kResourceNotFoundException,
              "Secrets Manager can't find the specified secret value for staging label: " +
                  stage.value_or(kCurrent));
        }
        version = holder->second;
      }
      auto value = s.values.find(*version);
      if (value == s.values.end() || !value->second) {
        return Status(
            ErrorCode::kResourceNotFoundException,
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
        return Status(ErrorCode::kInvalidRequestException,
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
      if (!text) return Status(ErrorCode::kInvalidParameterException, "SecretString is required.");
      auto& value = s.values[version];
      if (value && *value != *text) {
        return Status(ErrorCode::kResourceExistsException,
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
      if (!stage) return Status(ErrorCode::kInvalidParameterException, "VersionStage is required.");
      auto holder = s.stages.find(*stage);
      if (holder != s.stages.end() && holder->second != move_to.value_or("") &&
          holder->second != remove_from.value_or("")) {
        return Status(ErrorCode::kInvalidParameterException,
                      "The parameter RemoveFromVersionId doesn't match the version that holds "
                      "the staging label.");
      }
      if (move_to) {
        if (!s.values.contains(*move_to)) {
          return Status(ErrorCode::kResourceNotFoundException, "The version doesn't exist.");
        }
        MoveStage(s, *stage, *move_to);
      } else if (holder != s.stages.end()) {
        s.stages.erase(holder);
      }
      return json::object{{"ARN", arn}};
    }
    return Status(ErrorCode::kInvalidAction,
                  "The fake does not implement " + std::string(operation));
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

inline std::string SecretArn(const std::string& name) {
  return "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + name + "-" +
         RandomAlphanumeric(6);
}

inline Status RunStep(RotationFunction& fn, SecretsClient& sm, const std::string& step,
                      const std::string& arn, const std::string& token, std::string* log) {
  StepEvent event{.step = step, .secret_arn = arn, .token = token, .rotation_token = "rt-1"};
  return fn.Invoke(event, sm, log);
}

// The four steps in order, as the engine runs them; stops at the first failure.
inline Status Rotate(RotationFunction& fn, SecretsClient& sm, const std::string& arn,
                     const std::string& token, std::string* log) {
  for (const char* step : {"createSecret", "setSecret", "testSecret", "finishSecret"}) {
    Status s = RunStep(fn, sm, step, arn, token, log);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

inline ::testing::AssertionResult IsOk(const Status& s) {
  if (s.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << s.code() << ": " << s.message();
}

inline ::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << part << "\" not found in:\n" << text;
}

inline ::testing::AssertionResult HasNone(const std::string& text,
                                          std::initializer_list<std::string> secrets) {
  for (const std::string& secret : secrets) {
    if (!secret.empty() && text.find(secret) != std::string::npos) {
      return ::testing::AssertionFailure() << "a password appears in:\n" << text;
    }
  }
  return ::testing::AssertionSuccess();
}

// "name" as an SQL identifier, for setting up users with awkward names.
inline std::string Ident(const std::string& name) {
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}
inline std::string Literal(const std::string& text) {
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

}  // namespace coffer::rotation::test_support
