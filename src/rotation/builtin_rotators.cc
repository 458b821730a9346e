#include "rotation/builtin_rotators.h"

#include <functional>

#include "crypto/crypto.h"

namespace coffer::rotation {
namespace json = boost::json;
namespace {

// The value of the version holding `stage` (or `version_id`).
Result<json::object> Version(SecretsClient& secrets, const StepEvent& e, const char* stage,
                             const std::string& version_id = "") {
  json::object in{{"SecretId", e.secret_arn}, {"VersionStage", stage}};
  if (!version_id.empty()) in["VersionId"] = version_id;
  return secrets.Call("GetSecretValue", in);
}

// Replaces `member` of a JSON object value (or the whole value) with `fresh`.
std::string WithNewValue(const std::string& current, const char* member, const std::string& fresh) {
  boost::system::error_code ec;
  json::value v = json::parse(current, ec);
  if (!ec && v.is_object() && v.get_object().contains(member)) {
    v.get_object()[member] = fresh;
    return json::serialize(v);
  }
  return fresh;
}

class GeneratedValueRotator final : public RotationFunction {
 public:
  GeneratedValueRotator(const char* member, std::function<Result<std::string>(SecretsClient&)> gen)
      : member_(member), generate_(std::move(gen)) {}

  Status Invoke(const StepEvent& e, SecretsClient& secrets, std::string* log) override {
    if (e.step == "createSecret") {
      // Idempotent: a pending version for this token means the step already ran.
      if (Version(secrets, e, "AWSPENDING", e.token).ok()) {
        *log += "createSecret: AWSPENDING already holds version " + e.token + "\n";
        return Status::Ok();
      }
      COFFER_ASSIGN_OR_RETURN(json::object current, Version(secrets, e, "AWSCURRENT"));
      COFFER_ASSIGN_OR_RETURN(std::string fresh, generate_(secrets));
      std::string current_value;
      if (auto* s = current.if_contains("SecretString"); s && s->is_string()) {
        current_value = std::string(s->get_string());
      }
      json::object put{{"SecretId", e.secret_arn},
                       {"ClientRequestToken", e.token},
                       {"SecretString", WithNewValue(current_value, member_, fresh)},
                       {"VersionStages", json::array{"AWSPENDING"}}};
      if (!e.rotation_token.empty()) put["RotationToken"] = e.rotation_token;
      COFFER_RETURN_IF_ERROR(secrets.Call("PutSecretValue", put).status());
      *log += "createSecret: put a new value as AWSPENDING (version " + e.token + ")\n";
      return Status::Ok();
    }
    if (e.step == "setSecret") {
      *log += "setSecret: nothing to set outside Secrets Manager\n";
      return Status::Ok();
    }
    if (e.step == "testSecret") {
      auto found = Version(secrets, e, "AWSPENDING", e.token);
      if (!found.ok() && found.status().code() == ErrorCode::kResourceNotFoundException) {
        // RotateImmediately=false tests the configuration before any value is pending: the
        // function can read the secret, which is all there is to test.
        COFFER_RETURN_IF_ERROR(Version(secrets, e, "AWSCURRENT").status());
        *log += "testSecret: no pending value; AWSCURRENT is readable\n";
        return Status::Ok();
      }
      COFFER_ASSIGN_OR_RETURN(json::object pending, std::move(found));
      auto current = Version(secrets, e, "AWSCURRENT");
      if (current.ok() && current->at("VersionId") == pending.at("VersionId")) {
        *log += "testSecret: AWSPENDING is already AWSCURRENT\n";
        return Status::Ok();
      }
      if (current.ok() && current->if_contains("SecretString") &&
          current->at("SecretString") == pending.at("SecretString")) {
        return Status(ErrorCode::kInvalidRequestException,
                      "testSecret: the pending value is unchanged");
      }
      *log += "testSecret: AWSPENDING holds a new value\n";
      return Status::Ok();
    }
    if (e.step == "finishSecret") return FinishSecret(e, secrets, log);
    return Status(ErrorCode::kInvalidParameterException, "Invalid step parameter " + e.step);
  }

 private:
  const char* member_;
  std::function<Result<std::string>(SecretsClient&)> generate_;
};

}  // namespace

Status FinishSecret(const StepEvent& e, SecretsClient& secrets, std::string* log) {
  COFFER_ASSIGN_OR_RETURN(json::object described,
                          secrets.Call("DescribeSecret", json::object{{"SecretId", e.secret_arn}}));
  std::string current;
  if (auto* v2s = described.if_contains("VersionIdsToStages"); v2s && v2s->is_object()) {
    for (const auto& [version, stages] : v2s->get_object()) {
      for (const auto& stage : stages.as_array()) {
        if (stage == "AWSCURRENT") current = std::string(version);
      }
    }
  }
  if (current == e.token) {
    *log += "finishSecret: version " + e.token + " is already AWSCURRENT\n";
    return Status::Ok();
  }
  json::object move{
      {"SecretId", e.secret_arn}, {"VersionStage", "AWSCURRENT"}, {"MoveToVersionId", e.token}};
  if (!current.empty()) move["RemoveFromVersionId"] = current;
  COFFER_RETURN_IF_ERROR(secrets.Call("UpdateSecretVersionStage", move).status());
  *log += "finishSecret: AWSCURRENT moved to version " + e.token + "\n";
  return Status::Ok();
}

std::unique_ptr<RotationFunction> NewRandomApiKeyRotator() {
  return std::make_unique<GeneratedValueRotator>(
      "apiKey", [](SecretsClient& secrets) -> Result<std::string> {
        COFFER_ASSIGN_OR_RETURN(
            json::object out,
            secrets.Call("GetRandomPassword",
                         json::object{{"PasswordLength", 40}, {"ExcludePunctuation", true}}));
        return std::string(out.at("RandomPassword").as_string());
      });
}

std::unique_ptr<RotationFunction> NewHmacSigningKeyRotator() {
  return std::make_unique<GeneratedValueRotator>("secret",
                                                 [](SecretsClient&) -> Result<std::string> {
                                                   SecretBytes key = crypto::RandomSecret(32);
                                                   return crypto::HexLower(key.data(), key.size());
                                                 });
}

}  // namespace coffer::rotation
