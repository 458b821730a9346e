// Secrets Manager: a secret's metadata and life cycle (UpdateSecret, DescribeSecret, ListSecrets,
// DeleteSecret, RestoreSecret, tags) and GetRandomPassword.
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

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_UpdateSecret.html
Result<json::object> SecretsService::UpdateSecret(const RequestContext& ctx,
                                                  const json::object& body) {
  JsonInput in(body);
  auto secret_id = in.String("SecretId", {.required = true, .min_len = 1, .max_len = 2048});
  auto token = in.String("ClientRequestToken", {.min_len = 32, .max_len = 64});
  auto description = in.String("Description", {.max_len = 2048});
  auto kms_key_id = in.String("KmsKeyId", {.max_len = 2048});
  Status value_error;
  SecretValue value = DecodeValue(in, &value_error);
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_RETURN_IF_ERROR(value_error);
  COFFER_RETURN_IF_ERROR(RequireTokenWithValue(token, value));

  ConditionKeys keys;
  if (kms_key_id) keys["secretsmanager:kmskeyid"] = {*kms_key_id};
  if (description) keys["secretsmanager:description"] = {*description};
  COFFER_ASSIGN_OR_RETURN(SecretRow secret, AuthorizedSecret(ctx, "secretsmanager:UpdateSecret",
                                                             *secret_id, std::move(keys)));
  if (secret.purge_at_ms) return MarkedForDeletion();

  // KmsKeyId "" reverts to the AWS-managed key.
  std::optional<std::string> new_key_ref = secret.kms_key_id;
  if (kms_key_id) new_key_ref = kms_key_id->empty() ? std::nullopt : kms_key_id;
  COFFER_ASSIGN_OR_RETURN(KmsKeyRow key,
                          keyring_->ResolveKey(ScopeOf(secret), new_key_ref.value_or(""),
                                               "secretsmanager", ErrorCode::kEncryptionFailure));
  std::string version_id = token.value_or(NewUuid());
  std::string envelope;
  if (value.present) {
    COFFER_RETURN_IF_ERROR(AuthorizeKeyUse(ctx, key, "kms:GenerateDataKey", secret.arn));
    COFFER_ASSIGN_OR_RETURN(envelope, SealValue(*keyring_, key, ValueContext(secret, version_id),
                                                value.bytes.Reveal()));
  }
  auto change = [&](StoreWriter& w, SecretRow& fresh) -> Status {
    if (description) fresh.description = description;
    fresh.kms_key_id = new_key_ref;
    fresh.last_changed_ms = ctx.now;
    COFFER_RETURN_IF_ERROR(w.secrets().Update(fresh));
    if (!value.present) return Status::Ok();
    std::vector<std::string> stages;
    bool created = false;
    return AddVersion(w, *keyring_, fresh, key, version_id, value, envelope, {}, ctx.now, &stages,
                      &created);
  };
  COFFER_RETURN_IF_ERROR(WriteSecret(secret, WhenDeleted::kRefuse, change).status());
  json::object out{{"ARN", secret.arn}, {"Name", secret.name}};
  if (value.present) out["VersionId"] = version_id;
  return out;
}

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DescribeSecret.html
Result<json::object> SecretsService::DescribeSecret(const RequestContext& ctx,
                                                    const json::object& body) {
  JsonInput in(body);
  auto secret_id = in.String("SecretId", {.required = true, .min_len = 1, .max_len = 2048});
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(SecretRow s,
                          AuthorizedSecret(ctx, "secretsmanager:DescribeSecret", *secret_id));
  std::vector<SecretVersionRow> versions;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(versions, r.secrets().ListVersions(s.id));
    return Status::Ok();
  }));
  return SecretMetadata(s, versions, "VersionIdsToStages");
}

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ListSecrets.html
Result<json::object> SecretsService::ListSecrets(const RequestContext& ctx,
                                                 const json::object& body) {
  JsonInput in(body);
  auto include_deleted = in.Bool("IncludePlannedDeletion");
  auto max_results = in.Int("MaxResults", {.min = 1, .max = 100});
  auto next_token = in.String("NextToken", {.min_len = 1, .max_len = 4096});
  auto sort_order = in.String("SortOrder");
  auto sort_by = in.String("SortBy");
  COFFER_ASSIGN_OR_RETURN(auto filters, DecodeFilters(in));
  if (sort_order && *sort_order != "asc" && *sort_order != "desc") {
    in.AddViolation("SortOrder", "'" + *sort_order + "'", true,
                    "Member must satisfy enum value set: [asc, desc]");
  }
  if (sort_by && *sort_by != "created-date" && *sort_by != "last-accessed-date" &&
      *sort_by != "last-changed-date" && *sort_by != "name") {
    in.AddViolation("SortBy", "'" + *sort_by + "'", true,
                    "Member must satisfy enum value set: [created-date, last-accessed-date, "
                    "last-changed-date, name]");
  }
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_RETURN_IF_ERROR(ctx.Authorize({"secretsmanager:ListSecrets", "*"}));
  SecretPageQuery q;
  const std::string by = sort_by.value_or("created-date");
  q.order = by == "name"                 ? SecretOrder::kName
            : by == "last-changed-date"  ? SecretOrder::kLastChanged
            : by == "last-accessed-date" ? SecretOrder::kLastAccessed
                                         : SecretOrder::kCreated;
  q.descending = sort_order.value_or("asc") == "desc";
  q.include_deleted = include_deleted.value_or(false);
  COFFER_ASSIGN_OR_RETURN(q.after, DecodeSecretCursor(next_token, q));

  SecretPage page;
  std::map<int64_t, std::vector<SecretVersionRow>> versions;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(page, ReadSecretPage(r, ctx.scope, q, filters,
                                                 static_cast<size_t>(max_results.value_or(100))));
    for (const auto& s : page.rows) {
      COFFER_ASSIGN_OR_RETURN(versions[s.id], r.secrets().ListVersions(s.id));
    }
    return Status::Ok();
  }));

  json::array list;
  for (const auto& s : page.rows) {
    // The same members as DescribeSecret, but AWS names the version map differently here.
    list.push_back(SecretMetadata(s, versions[s.id], "SecretVersionsToStages"));
  }
  json::object out{{"SecretList", std::move(list)}};
  if (page.next) out["NextToken"] = EncodeSecretCursor(q, *page.next);
  return out;
}

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html
Result<json::object> SecretsService::DeleteSecret(const RequestContext& ctx,
                                                  const json::object& body) {
  JsonInput in(body);
  auto secret_id = in.String("SecretId", {.required = true, .min_len = 1, .max_len = 2048});
  auto window = in.Int("RecoveryWindowInDays");
  auto force = in.Bool("ForceDeleteWithoutRecovery");
  COFFER_RETURN_IF_ERROR(in.Finish());
  // AWS checks the window's range first, then the conflict, and both before it looks the secret
  // up: a bad window is reported even for a secret that does not exist.
  if (window && (*window < 7 || *window > 30)) {
    return Status(ErrorCode::kInvalidParameterException,
                  "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).");
  }
  if (window && force.value_or(false)) {
    return Status(ErrorCode::kInvalidParameterException,
                  "You can't use ForceDeleteWithoutRecovery in conjunction with "
                  "RecoveryWindowInDays.");
  }
  {
    ConditionKeys keys;
    if (window) keys["secretsmanager:recoverywindowindays"] = {std::to_string(*window)};
    if (force) keys["secretsmanager:forcedeletewithoutrecovery"] = {*force ? "true" : "false"};
    auto allowed = AuthorizedSecret(ctx, "secretsmanager:DeleteSecret", *secret_id, keys);
    if (!allowed.ok() && allowed.status().code() != ErrorCode::kResourceNotFoundException) {
      return allowed.status();
    }
  }
  json::object out;
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    auto found = ResolveSecret(w, ctx.scope, *secret_id);
    if (!found.ok()) {
      // With ForceDeleteWithoutRecovery AWS does not report a missing secret: it answers as if
      // it had deleted one, with an ARN of the shape a secret of that name would have had.
      if (!force.value_or(false) ||
          found.status().code() != ErrorCode::kResourceNotFoundException) {
        return found.status();
      }
      out = {{"ARN", "arn:aws:secretsmanager:" + ctx.scope.region + ":" + ctx.scope.account +
                         ":secret:" + *secret_id + "-" + RandomAlphanumeric(6)},
             {"Name", *secret_id},
             {"DeletionDate", Epoch(ctx.now)}};
      if (auto arn = ParseArn(*secret_id)) {
        out["ARN"] = *secret_id;
        out["Name"] = arn->resource.substr(arn->resource.find(':') + 1);
      }
      return Status::Ok();
    }
    SecretRow s = std::move(found.value());
    out = {{"ARN", s.arn}, {"Name", s.name}};
    if (force.value_or(false)) {
      out["DeletionDate"] = Epoch(ctx.now);
      return w.secrets().Delete(s.id);
    }
    if (s.purge_at_ms) return MarkedDeleted();
    s.deleted_ms = ctx.now;
    s.purge_at_ms = ctx.now + window.value_or(kDefaultRecoveryDays) * kMillisPerDay;
    s.last_changed_ms = ctx.now;
    out["DeletionDate"] = Epoch(*s.purge_at_ms);
    return w.secrets().Update(s);
  }));
  return out;
}

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RestoreSecret.html
Result<json::object> SecretsService::RestoreSecret(const RequestContext& ctx,
                                                   const json::object& body) {
  JsonInput in(body);
  auto secret_id = in.String("SecretId", {.required = true, .min_len = 1, .max_len = 2048});
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(SecretRow s, MutateSecret(
                                           ctx, "secretsmanager:RestoreSecret", *secret_id, {},
                                           [&](StoreWriter& w, SecretRow& s) -> Status {
                                             if (!s.purge_at_ms) return Status::Ok();
                                             s.deleted_ms.reset();
                                             s.purge_at_ms.reset();
                                             s.last_changed_ms = ctx.now;
                                             return w.secrets().Update(s);
                                           },
                                           WhenDeleted::kAllow));
  return json::object{{"ARN", s.arn}, {"Name", s.name}};
}

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_TagResource.html
Result<json::object> SecretsService::TagResource(const RequestContext& ctx,
                                                 const json::object& body) {
  JsonInput in(body);
  auto secret_id = in.String("SecretId", {.required = true, .min_len = 1, .max_len = 2048});
  Tags tags;
  COFFER_RETURN_IF_ERROR(DecodeTags(in, "Tags", true, &tags));
  COFFER_RETURN_IF_ERROR(in.Finish());
  ConditionKeys keys;
  AddRequestTagKeys(tags, &keys);
  COFFER_RETURN_IF_ERROR(MutateSecret(ctx, "secretsmanager:TagResource", *secret_id,
                                      std::move(keys),
                                      [&](StoreWriter& w, SecretRow& s) -> Status {
                                        MergeTags(&s.tags, tags);
                                        s.tagged = true;
                                        if (s.tags.size() > kMaxTags) {
                                          return Status(ErrorCode::kInvalidParameterException,
                                                        "A secret can have at most 50 tags.");
                                        }
                                        s.last_changed_ms = ctx.now;
                                        return w.secrets().Update(s);
                                      })
                             .status());
  return json::object{};
}

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_UntagResource.html
Result<json::object> SecretsService::UntagResource(const RequestContext& ctx,
                                                   const json::object& body) {
  JsonInput in(body);
  auto secret_id = in.String("SecretId", {.required = true, .min_len = 1, .max_len = 2048});
  const json::array* keys_arr = in.Array("TagKeys", true);
  auto keys = in.StringList("TagKeys", {.min_len = 1, .max_len = 128});
  COFFER_RETURN_IF_ERROR(in.Finish());
  (void)keys_arr;
  COFFER_RETURN_IF_ERROR(
      MutateSecret(ctx, "secretsmanager:UntagResource", *secret_id, {{"aws:tagkeys", *keys}},
                   [&](StoreWriter& w, SecretRow& s) -> Status {
                     std::set<std::string> remove(keys->begin(), keys->end());
                     std::erase_if(s.tags,
                                   [&](const auto& t) { return remove.count(t.first) > 0; });
                     s.last_changed_ms = ctx.now;
                     return w.secrets().Update(s);
                   })
          .status());
  return json::object{};
}

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetRandomPassword.html
Result<json::object> SecretsService::GetRandomPassword(const RequestContext& ctx,
                                                       const json::object& body) {
  JsonInput in(body);
  PasswordOptions o;
  o.length = in.Int("PasswordLength", {.min = 1, .max = 4096}).value_or(32);
  o.exclude_characters = in.String("ExcludeCharacters", {.max_len = 4096}).value_or("");
  o.exclude_numbers = in.Bool("ExcludeNumbers").value_or(false);
  o.exclude_punctuation = in.Bool("ExcludePunctuation").value_or(false);
  o.exclude_uppercase = in.Bool("ExcludeUppercase").value_or(false);
  o.exclude_lowercase = in.Bool("ExcludeLowercase").value_or(false);
  o.include_space = in.Bool("IncludeSpace").value_or(false);
  o.require_each_included_type = in.Bool("RequireEachIncludedType").value_or(true);
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_RETURN_IF_ERROR(ctx.Authorize({"secretsmanager:GetRandomPassword", "*"}));
  COFFER_ASSIGN_OR_RETURN(SecretBytes password, GenerateRandomPassword(o));
  return json::object{{"RandomPassword", json::string(password.Reveal())}};
}

}  // namespace coffer::secrets
