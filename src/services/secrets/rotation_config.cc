// Secrets Manager: rotation configuration (RotateSecret, CancelRotateSecret); the rotation itself
// runs in rotation/rotation_engine.
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <set>
#include <string_view>

#include "core/arn.h"
#include "core/ids.h"
#include "core/time_format.h"
#include "crypto/crypto.h"
#include "keyring/kms_use.h"
#include "policy/policy.h"
#include "protocol/json_input.h"
#include "protocol/page_token.h"
#include "services/secrets/random_password.h"
#include "services/secrets/rotation_rules.h"
#include "services/secrets/secret_filters.h"
#include "services/secrets/secrets_common.h"
#include "services/secrets/secrets_service.h"
#include "services/secrets/version_stages.h"

namespace coffer::secrets {

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotateSecret.html
Result<json::object> SecretsService::RotateSecret(const RequestContext& ctx,
                                                  const json::object& body) {
  JsonInput in(body);
  auto secret_id = in.String("SecretId", {.required = true, .min_len = 1, .max_len = 2048});
  auto token = in.String("ClientRequestToken", {.min_len = 32, .max_len = 64});
  auto lambda_arn = in.String("RotationLambdaARN", {.max_len = 2048});
  const json::object* rules_in = in.Object("RotationRules");
  auto immediately = in.Bool("RotateImmediately");
  COFFER_RETURN_IF_ERROR(in.Finish());
  ConditionKeys keys;
  if (lambda_arn) keys["secretsmanager:rotationlambdaarn"] = {*lambda_arn};
  COFFER_ASSIGN_OR_RETURN(SecretRow secret, AuthorizedSecret(ctx, "secretsmanager:RotateSecret",
                                                             *secret_id, std::move(keys)));
  if (secret.purge_at_ms) return MarkedForDeletion();

  std::optional<std::string> rules_text = secret.rotation_rules;
  std::optional<Schedule> schedule;
  if (rules_in != nullptr) {
    JsonInput r(*rules_in);
    RotationRules rules;
    rules.automatically_after_days = r.Int("AutomaticallyAfterDays", {.min = 1, .max = 1000});
    rules.schedule_expression = r.String("ScheduleExpression", {.min_len = 1, .max_len = 256});
    rules.duration = r.String("Duration", {.min_len = 2, .max_len = 3});
    COFFER_RETURN_IF_ERROR(r.Finish());
    COFFER_ASSIGN_OR_RETURN(auto parsed, Schedule::Parse(rules));
    schedule = std::move(parsed);
    rules_text = json::serialize(*rules_in);
  } else if (rules_text) {
    auto parsed = Schedule::Parse(RulesOf(secret));
    if (parsed.ok()) schedule = std::move(parsed.value());
  }
  const std::optional<std::string> function_arn =
      lambda_arn ? lambda_arn : secret.rotation_lambda_arn;
  if (!function_arn) {
    return Status(ErrorCode::kInvalidRequestException,
                  "No Lambda rotation function ARN is associated with this secret.");
  }
  // The function must be registered in the secret's own account and region (coffer's
  // equivalent of a Lambda that grants secretsmanager.amazonaws.com the right to invoke it:
  // no function of another account ever does, so another tenant's function is never run with
  // this secret, nor this secret's rotation handed to another tenant's code).
  const auto function = ParseArn(*function_arn);
  const bool same_scope = function && function->service == "lambda" &&
                          function->account == secret.account && function->region == secret.region;
  if (!same_scope || !rotation_functions_ || !rotation_functions_(*function_arn)) {
    return Status(ErrorCode::kAccessDeniedException,
                  "Secrets Manager cannot invoke the specified Lambda function. Ensure that the "
                  "function policy grants access to the principal secretsmanager.amazonaws.com.");
  }
  const bool rotate_now = immediately.value_or(true);
  const std::string version_id = token.value_or(NewUuid());
  bool previous_unfinished = false;

  auto configure = [&](StoreWriter& w, SecretRow& fresh) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto run, w.rotation().FindRun(fresh.id));
    COFFER_ASSIGN_OR_RETURN(auto pending, w.secrets().VersionIdForStage(fresh.id, kPending));
    COFFER_ASSIGN_OR_RETURN(auto current, w.secrets().VersionIdForStage(fresh.id, kCurrent));
    const bool unfinished = pending && pending != current && *pending != version_id;
    if (run || unfinished) {
      // Calling again retries the rotation that is under way now, as AWS does; the retry is
      // committed and the call still answers with the error.
      previous_unfinished = true;
      if (!run) return Status::Ok();
      run->next_attempt_ms = ctx.now;
      return w.rotation().PutRun(*run);
    }
    fresh.rotation_enabled = true;
    fresh.rotation_lambda_arn = function_arn;
    fresh.rotation_rules = rules_text;
    fresh.next_rotation_ms.reset();
    if (schedule) {
      fresh.next_rotation_ms = schedule->NextWindowStart(fresh.last_rotated_ms.value_or(ctx.now));
    }
    fresh.last_changed_ms = ctx.now;
    COFFER_RETURN_IF_ERROR(w.secrets().Update(fresh));
    {
      // As AWS does, the rotation's version exists, labelled AWSPENDING, before createSecret
      // runs (the rotation templates check for it); a RotateImmediately=false test gets one too,
      // removed once testSecret has run.
      COFFER_ASSIGN_OR_RETURN(auto existing, w.secrets().GetVersion(fresh.id, version_id));
      if (!existing) {
        SecretVersionRow placeholder;
        placeholder.version_id = version_id;
        placeholder.created_ms = ctx.now;
        COFFER_RETURN_IF_ERROR(w.secrets().InsertVersion(fresh.id, placeholder));
      }
      COFFER_RETURN_IF_ERROR(w.secrets().SetStage(fresh.id, kPending, version_id));
    }
    RotationRunRow r;
    r.secret_id = fresh.id;
    r.secret_arn = fresh.arn;
    r.account = fresh.account;
    r.region = fresh.region;
    r.token = version_id;
    // RotateImmediately=false only checks the configuration with the testSecret step.
    r.mode = rotate_now ? RotationRunMode::kRotate : RotationRunMode::kTest;
    r.step = rotate_now ? "createSecret" : "testSecret";
    r.next_attempt_ms = ctx.now;
    r.started_ms = ctx.now;
    return w.rotation().PutRun(r);
  };
  COFFER_RETURN_IF_ERROR(WriteSecret(secret, WhenDeleted::kRefuse, configure).status());
  if (rotation_wake_) rotation_wake_();
  if (previous_unfinished) {
    return Status(ErrorCode::kInvalidRequestException,
                  "A previous rotation isn't complete. That rotation will be reattempted.");
  }
  json::object out{{"ARN", secret.arn}, {"Name", secret.name}};
  if (rotate_now) out["VersionId"] = version_id;
  return out;
}

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CancelRotateSecret.html
Result<json::object> SecretsService::CancelRotateSecret(const RequestContext& ctx,
                                                        const json::object& body) {
  JsonInput in(body);
  auto secret_id = in.String("SecretId", {.required = true, .min_len = 1, .max_len = 2048});
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(SecretRow secret,
                          AuthorizedSecret(ctx, "secretsmanager:CancelRotateSecret", *secret_id));
  std::optional<std::string> pending;
  auto cancel = [&](StoreWriter& w, SecretRow& fresh) -> Status {
    // A rotation under way stops here; its AWSPENDING version stays for the operator to judge.
    COFFER_RETURN_IF_ERROR(w.rotation().DeleteRun(fresh.id));
    COFFER_ASSIGN_OR_RETURN(pending, w.secrets().VersionIdForStage(fresh.id, kPending));
    fresh.rotation_enabled = false;
    fresh.next_rotation_ms.reset();
    fresh.last_changed_ms = ctx.now;
    return w.secrets().Update(fresh);
  };
  COFFER_RETURN_IF_ERROR(WriteSecret(secret, WhenDeleted::kRefuse, cancel).status());
  json::object out{{"ARN", secret.arn}, {"Name", secret.name}};
  if (pending) out["VersionId"] = *pending;
  return out;
}

}  // namespace coffer::secrets
