// Secrets Manager: secret values and their versions (CreateSecret, PutSecretValue, GetSecretValue,
// BatchGetSecretValue, UpdateSecretVersionStage, ListSecretVersionIds).
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

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html
Result<json::object> SecretsService::CreateSecret(const RequestContext& ctx,
                                                  const json::object& body) {
  JsonInput in(body);
  auto name = in.String("Name", {.required = true, .min_len = 1, .max_len = 512});
  auto token = in.String("ClientRequestToken", {.min_len = 32, .max_len = 64});
  auto description = in.String("Description", {.max_len = 2048});
  auto kms_key_id = in.String("KmsKeyId", {.max_len = 2048});
  Status value_error;
  SecretValue value = DecodeValue(in, &value_error);
  Tags tags;
  COFFER_RETURN_IF_ERROR(DecodeTags(in, "Tags", false, &tags));
  const json::array* replicas = in.Array("AddReplicaRegions");
  (void)in.Bool("ForceOverwriteReplicaSecret");
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_RETURN_IF_ERROR(value_error);
  COFFER_RETURN_IF_ERROR(RequireTokenWithValue(token, value));
  if (!IsValidSecretName(*name)) {
    return InvalidSecretName();
  }
  if (tags.size() > kMaxTags) {
    return Status(ErrorCode::kInvalidParameterException, "A secret can have at most 50 tags.");
  }
  if (replicas && !replicas->empty()) {
    return Status(ErrorCode::kInvalidRequestException,
                  "coffer does not support replication yet; see the feature table in coffer's "
                  "README.");
  }
  if (kms_key_id && kms_key_id->empty()) kms_key_id.reset();

  SecretRow row;
  row.arn = "arn:aws:secretsmanager:" + ctx.scope.region + ":" + ctx.scope.account +
            ":secret:" + *name + "-" + RandomAlphanumeric(6);
  {
    AuthzCheck check{"secretsmanager:CreateSecret", row.arn};
    AddRequestTagKeys(tags, &check.context);
    check.context["secretsmanager:name"] = {*name};
    if (kms_key_id) check.context["secretsmanager:kmskeyid"] = {*kms_key_id};
    if (description) check.context["secretsmanager:description"] = {*description};
    COFFER_RETURN_IF_ERROR(ctx.Authorize(check));
  }
  COFFER_ASSIGN_OR_RETURN(KmsKeyRow key,
                          keyring_->ResolveKey(ctx.scope, kms_key_id.value_or(""), "secretsmanager",
                                               ErrorCode::kEncryptionFailure));
  if (value.present) {
    COFFER_RETURN_IF_ERROR(AuthorizeKeyUse(ctx, key, "kms:GenerateDataKey", row.arn));
  }
  row.account = ctx.scope.account;
  row.region = ctx.scope.region;
  row.name = *name;
  row.description = description;
  row.kms_key_id = kms_key_id;
  row.created_ms = ctx.now;
  row.last_changed_ms = ctx.now;
  row.tags = tags;
  row.tagged = !tags.empty();

  std::string version_id = token.value_or(NewUuid());
  std::string envelope;
  if (value.present) {
    COFFER_ASSIGN_OR_RETURN(
        envelope, SealValue(*keyring_, key, ValueContext(row, version_id), value.bytes.Reveal()));
  }

  json::object out;
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto existing, w.secrets().FindByName(ctx.scope, *name));
    if (existing) {
      if (existing->purge_at_ms) {
        return Status(ErrorCode::kInvalidRequestException,
                      "You can't create this secret because a secret with this name is already "
                      "scheduled for deletion.");
      }
      // A retried CreateSecret (same token, same value) succeeds without a change.
      if (token) {
        COFFER_ASSIGN_OR_RETURN(auto version, w.secrets().GetVersion(existing->id, *token));
        if (version) {
          auto plain = keyring_->OpenValue(ValueContext(*existing, *token), version->envelope);
          if (!plain.ok() && Keyring::Unavailable(plain.status())) return plain.status();
          bool same = value.present && plain.ok() && version->binary == value.binary &&
                      crypto::ConstantTimeEquals(plain->Reveal(), value.bytes.Reveal());
          if (!same) {
            return Status(ErrorCode::kResourceExistsException,
                          "You can't use ClientRequestToken " + *token +
                              " because that value is already in use for a version of secret " +
                              existing->arn + ".");
          }
          out = {{"ARN", existing->arn}, {"Name", existing->name}, {"VersionId", *token}};
          return Status::Ok();
        }
      }
      return Status(ErrorCode::kResourceExistsException,
                    "The operation failed because the secret " + *name + " already exists.");
    }
    COFFER_RETURN_IF_ERROR(w.secrets().Insert(&row));
    out = {{"ARN", row.arn}, {"Name", row.name}};
    if (value.present) {
      SecretVersionRow v;
      v.version_id = version_id;
      v.created_ms = ctx.now;
      v.kms_key_arn = key.arn;
      v.binary = value.binary;
      v.envelope = envelope;
      COFFER_RETURN_IF_ERROR(w.secrets().InsertVersion(row.id, v));
      COFFER_RETURN_IF_ERROR(w.secrets().SetStage(row.id, kCurrent, version_id));
      out["VersionId"] = version_id;
    }
    return Status::Ok();
  }));
  return out;
}

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html
Result<json::object> SecretsService::PutSecretValue(const RequestContext& ctx,
                                                    const json::object& body) {
  JsonInput in(body);
  auto secret_id = in.String("SecretId", {.required = true, .min_len = 1, .max_len = 2048});
  auto token = in.String("ClientRequestToken", {.min_len = 32, .max_len = 64});
  Status value_error;
  SecretValue value = DecodeValue(in, &value_error);
  auto stages = in.StringList("VersionStages", {.min_len = 1, .max_len = 256}, 20);
  (void)in.String("RotationToken");
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_RETURN_IF_ERROR(value_error);
  if (stages && stages->empty()) {
    in.AddViolation("VersionStages", "", false,
                    "Member must have length greater than or equal to 1");
    COFFER_RETURN_IF_ERROR(in.Finish());
  }
  if (!value.present) {
    return Status(ErrorCode::kInvalidParameterException,
                  "You must provide either SecretString or SecretBinary.");
  }
  COFFER_RETURN_IF_ERROR(RequireTokenWithValue(token, value));

  COFFER_ASSIGN_OR_RETURN(SecretRow secret,
                          AuthorizedSecret(ctx, "secretsmanager:PutSecretValue", *secret_id));
  if (secret.purge_at_ms) return MarkedForDeletion();
  COFFER_ASSIGN_OR_RETURN(KmsKeyRow key,
                          keyring_->ResolveKey(ScopeOf(secret), secret.kms_key_id.value_or(""),
                                               "secretsmanager", ErrorCode::kEncryptionFailure));
  COFFER_RETURN_IF_ERROR(AuthorizeKeyUse(ctx, key, "kms:GenerateDataKey", secret.arn));
  std::string version_id = token.value_or(NewUuid());
  COFFER_ASSIGN_OR_RETURN(
      std::string envelope,
      SealValue(*keyring_, key, ValueContext(secret, version_id), value.bytes.Reveal()));
  std::vector<std::string> result_stages;
  COFFER_RETURN_IF_ERROR(
      WriteSecret(secret, WhenDeleted::kRefuse, [&](StoreWriter& w, SecretRow& fresh) -> Status {
        bool created = false;
        return AddVersion(w, *keyring_, fresh, key, version_id, value, envelope,
                          stages.value_or(std::vector<std::string>{}), ctx.now, &result_stages,
                          &created);
      }).status());
  return json::object{{"ARN", secret.arn},
                      {"Name", secret.name},
                      {"VersionId", version_id},
                      {"VersionStages", StagesJson(result_stages)}};
}

namespace {

// GetSecretValue's read: the secret SecretId names and the version VersionId / VersionStage
// select (AWSCURRENT when neither is given), into `out`. out->secret is filled as soon as the
// secret is found, so a caller can authorize against it even when the version is missing.
Status ReadRequestedVersion(StoreReader& r, const Scope& scope, const std::string& secret_id,
                            const std::optional<std::string>& version_id,
                            const std::optional<std::string>& version_stage,
                            CachedSecretVersion* out) {
  SecretRow& secret = out->secret;
  COFFER_ASSIGN_OR_RETURN(secret, ResolveSecret(r, scope, secret_id));
  if (secret.purge_at_ms) return MarkedDeleted();
  std::string vid;
  if (version_id) {
    vid = *version_id;
  } else {
    std::string stage = version_stage.value_or(kCurrent);
    COFFER_ASSIGN_OR_RETURN(auto holder, r.secrets().VersionIdForStage(secret.id, stage));
    if (!holder) {
      return Status(
          ErrorCode::kResourceNotFoundException,
          "Secrets Manager can't find the specified secret value for staging label: " + stage);
    }
    vid = *holder;
  }
  COFFER_ASSIGN_OR_RETURN(auto v, r.secrets().GetVersion(secret.id, vid));
  if (v && v->envelope.empty()) {
    // A rotation's new version before createSecret has put its value.
    return Status(ErrorCode::kResourceNotFoundException,
                  version_id ? "Secrets Manager can't find the specified secret value for "
                               "VersionId: " +
                                   vid
                             : "Secrets Manager can't find the specified secret value for "
                               "staging label: " +
                                   version_stage.value_or(kCurrent));
  }
  if (!v) {
    return Status(ErrorCode::kResourceNotFoundException,
                  "Secrets Manager can't find the specified secret value for VersionId: " + vid);
  }
  if (version_stage &&
      std::find(v->stages.begin(), v->stages.end(), *version_stage) == v->stages.end()) {
    return Status(ErrorCode::kInvalidRequestException,
                  "You provided a VersionStage that is not associated to the provided "
                  "VersionId.");
  }
  out->version = std::move(*v);
  return Status::Ok();
}

}  // namespace

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html
Result<json::object> SecretsService::GetSecretValue(const RequestContext& ctx,
                                                    const json::object& body) {
  JsonInput in(body);
  auto secret_id = in.String("SecretId", {.required = true, .min_len = 1, .max_len = 2048});
  auto version_id = in.String("VersionId", {.min_len = 32, .max_len = 64});
  auto version_stage = in.String("VersionStage", {.min_len = 1, .max_len = 256});
  COFFER_RETURN_IF_ERROR(in.Finish());

  // The epoch is read before the store so that a write racing with this read makes the entry
  // stale rather than wrong.
  const uint64_t epoch = store_->CommittedWrites();
  std::string cache_key = ctx.scope.account + '\n' + ctx.scope.region + '\n' + *secret_id + '\n' +
                          version_id.value_or("") + '\n' + version_stage.value_or("");
  std::shared_ptr<const CachedSecretVersion> cached = read_cache_.Find(cache_key, epoch);
  ConditionKeys keys;
  // The stage asked for: the one named, or AWSCURRENT when neither stage nor version is.
  if (version_stage || !version_id) {
    keys["secretsmanager:versionstage"] = {version_stage.value_or(kCurrent)};
  }
  if (version_id) keys["secretsmanager:versionid"] = {*version_id};
  if (!cached) {
    auto fresh = std::make_shared<CachedSecretVersion>();
    SecretRow& secret = fresh->secret;
    Status read = store_->Read([&](StoreReader& r) {
      return ReadRequestedVersion(r, ctx.scope, *secret_id, version_id, version_stage, fresh.get());
    });
    if (!read.ok()) {
      // Only a caller allowed to read the secret learns which part of it is missing.
      if (read.code() != ErrorCode::kInternalFailure) {
        if (secret.arn.empty()) {
          COFFER_RETURN_IF_ERROR(
              AuthorizeMissing(ctx, "secretsmanager:GetSecretValue", *secret_id, keys));
        } else {
          COFFER_RETURN_IF_ERROR(
              AuthorizeOn(ctx, "secretsmanager:GetSecretValue", secret, keys, *secret_id));
        }
      }
      return read;
    }
    read_cache_.Insert(cache_key, epoch, fresh);
    cached = std::move(fresh);
  }
  const SecretRow& secret = cached->secret;
  const SecretVersionRow& version = cached->version;
  keys["secretsmanager:versionid"] = {version.version_id};
  COFFER_RETURN_IF_ERROR(
      AuthorizeOn(ctx, "secretsmanager:GetSecretValue", secret, std::move(keys), *secret_id));
  // The key that sealed this version must let the caller decrypt through Secrets Manager. A
  // caller of the secret's own account under the AWS managed key always may (no row to read);
  // a caller from another account never may under it, whatever the resource policy says.
  if (secret.kms_key_id || ctx.principal.account != secret.account) {
    COFFER_ASSIGN_OR_RETURN(std::string key_id, Keyring::EnvelopeKeyId(version.envelope));
    // A key that cannot be loaded cannot open the value either (OpenValue fails below).
    auto key = keyring_->LoadKey(key_id);
    if (key.ok()) COFFER_RETURN_IF_ERROR(AuthorizeKeyUse(ctx, *key, "kms:Decrypt", secret.arn));
  } else if (auto key_id = Keyring::EnvelopeKeyId(version.envelope); key_id.ok()) {
    // The AWS managed key of the secret's own account: its use is recorded all the same.
    NoteKmsUseForService(ctx, "kms:Decrypt", "secretsmanager",
                         "arn:aws:kms:" + secret.region + ":" + secret.account + ":key/" + *key_id,
                         {{"SecretARN", secret.arn}});
  }
  COFFER_ASSIGN_OR_RETURN(
      SecretBytes plain,
      OpenValue(*keyring_, ValueContext(secret, version.version_id), version.envelope));

  // LastAccessedDate is kept per day, so only the first read of a day writes. The write is
  // best-effort: a store that cannot write (disk full) must not fail reads; the date is then
  // recorded by the next read that can write.
  EpochMillis today = TruncateToDay(ctx.now);
  if (secret.last_accessed_ms != today || version.last_accessed_ms != today) {
    (void)store_->Write([&](StoreWriter& w) -> Status {
      COFFER_ASSIGN_OR_RETURN(auto fresh, w.secrets().FindByArn(ScopeOf(secret), secret.arn));
      if (!fresh) return Status::Ok();
      fresh->last_accessed_ms = today;
      COFFER_RETURN_IF_ERROR(w.secrets().Update(*fresh));
      return w.secrets().SetVersionLastAccessed(fresh->id, version.version_id, today);
    });
  }

  json::object out{{"ARN", secret.arn}, {"Name", secret.name}, {"VersionId", version.version_id}};
  if (version.binary) {
    out["SecretBinary"] = crypto::Base64Encode(plain.Reveal());
  } else {
    out["SecretString"] = json::string(plain.Reveal());
  }
  out["VersionStages"] = StagesJson(version.stages);
  out["CreatedDate"] = Epoch(version.created_ms);
  return out;
}

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_BatchGetSecretValue.html
Result<json::object> SecretsService::BatchGetSecretValue(const RequestContext& ctx,
                                                         const json::object& body) {
  JsonInput in(body);
  auto ids = in.StringList("SecretIdList", {.min_len = 1, .max_len = 2048}, 20);
  auto max_results = in.Int("MaxResults", {.min = 1, .max = 20});
  auto next_token = in.String("NextToken", {.min_len = 1, .max_len = 4096});
  COFFER_ASSIGN_OR_RETURN(auto filters, DecodeFilters(in));
  bool has_filters = in.Has("Filters");
  COFFER_RETURN_IF_ERROR(in.Finish());
  if ((ids.has_value()) == has_filters) {
    return Status(ErrorCode::kInvalidParameterException,
                  "Either 'SecretIdList' or 'Filters' must be provided, but not both.");
  }
  if (max_results && !has_filters) {
    return Status(ErrorCode::kInvalidParameterException,
                  "'Filters' not specified. 'Filters' must also be specified when 'MaxResults' is "
                  "provided.");
  }
  if (ids && ids->empty()) {
    return Status(ErrorCode::kInvalidParameterException,
                  "SecretIdList must contain between 1 and 20 ids.");
  }
  // Each secret is then authorized for GetSecretValue on its own; a filter needs ListSecrets.
  COFFER_RETURN_IF_ERROR(ctx.Authorize({"secretsmanager:BatchGetSecretValue", "*"}));
  if (has_filters) COFFER_RETURN_IF_ERROR(ctx.Authorize({"secretsmanager:ListSecrets", "*"}));

  std::vector<std::string> targets;  // secret ids to read, in response order
  std::optional<std::string> out_token;
  if (ids) {
    targets = *ids;
  } else {
    SecretPageQuery q;  // by creation date, without secrets pending deletion
    COFFER_ASSIGN_OR_RETURN(q.after, DecodeSecretCursor(next_token, q));
    SecretPage page;
    COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
      COFFER_ASSIGN_OR_RETURN(page, ReadSecretPage(r, ctx.scope, q, filters,
                                                   static_cast<size_t>(max_results.value_or(20))));
      return Status::Ok();
    }));
    for (const auto& s : page.rows) targets.push_back(s.arn);
    if (page.next) out_token = EncodeSecretCursor(q, *page.next);
  }

  json::array values, errors;
  for (const auto& id : targets) {
    auto r = GetSecretValue(ctx, json::object{{"SecretId", id}});
    if (r.ok()) {
      values.push_back(std::move(r.value()));
    } else {
      errors.push_back(json::object{{"SecretId", id},
                                    {"ErrorCode", r.status().code_name()},
                                    {"Message", r.status().message()}});
    }
  }
  json::object out{{"SecretValues", std::move(values)}};
  if (!errors.empty()) out["Errors"] = std::move(errors);
  if (out_token) out["NextToken"] = *out_token;
  return out;
}

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_UpdateSecretVersionStage.html
Result<json::object> SecretsService::UpdateSecretVersionStage(const RequestContext& ctx,
                                                              const json::object& body) {
  JsonInput in(body);
  auto secret_id = in.String("SecretId", {.required = true, .min_len = 1, .max_len = 2048});
  auto stage = in.String("VersionStage", {.required = true, .min_len = 1, .max_len = 256});
  auto remove_from = in.String("RemoveFromVersionId", {.min_len = 32, .max_len = 64});
  auto move_to = in.String("MoveToVersionId", {.min_len = 32, .max_len = 64});
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(
      SecretRow secret,
      MutateSecret(ctx, "secretsmanager:UpdateSecretVersionStage", *secret_id,
                   {{"secretsmanager:versionstage", {*stage}}},
                   [&](StoreWriter& w, SecretRow& secret) -> Status {
                     std::vector<SecretVersionRow> versions;
                     COFFER_ASSIGN_OR_RETURN(StageMap stages,
                                             CurrentStages(w, secret.id, &versions));
                     std::set<std::string> ids;
                     for (const auto& v : versions) ids.insert(v.version_id);
                     COFFER_ASSIGN_OR_RETURN(auto changes,
                                             MoveStage(stages, ids, *stage, move_to, remove_from));
                     COFFER_RETURN_IF_ERROR(ApplyStageChanges(w, secret.id, changes));
                     secret.last_changed_ms = ctx.now;
                     return w.secrets().Update(secret);
                   }));
  return json::object{{"ARN", secret.arn}, {"Name", secret.name}};
}

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ListSecretVersionIds.html
Result<json::object> SecretsService::ListSecretVersionIds(const RequestContext& ctx,
                                                          const json::object& body) {
  JsonInput in(body);
  auto secret_id = in.String("SecretId", {.required = true, .min_len = 1, .max_len = 2048});
  auto max_results = in.Int("MaxResults", {.min = 1, .max = 100});
  auto next_token = in.String("NextToken", {.min_len = 1, .max_len = 4096});
  auto include_deprecated = in.Bool("IncludeDeprecated");
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(SecretRow s,
                          AuthorizedSecret(ctx, "secretsmanager:ListSecretVersionIds", *secret_id));
  COFFER_ASSIGN_OR_RETURN(size_t offset, DecodeOffsetToken(next_token));
  std::vector<SecretVersionRow> versions;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(versions, r.secrets().ListVersions(s.id));
    return Status::Ok();
  }));
  std::vector<const SecretVersionRow*> shown;
  for (const auto& v : versions) {
    if (!v.stages.empty() || include_deprecated.value_or(false)) shown.push_back(&v);
  }
  size_t page = static_cast<size_t>(max_results.value_or(100));
  json::array list;
  for (size_t i = offset; i < shown.size() && i < offset + page; ++i) {
    const SecretVersionRow& v = *shown[i];
    json::object e{{"VersionId", v.version_id}};
    if (!v.stages.empty()) e["VersionStages"] = StagesJson(v.stages);
    if (v.last_accessed_ms) e["LastAccessedDate"] = Epoch(*v.last_accessed_ms);
    e["CreatedDate"] = Epoch(v.created_ms);
    e["KmsKeyIds"] = json::array{json::string(s.kms_key_id ? v.kms_key_arn : kDefaultKeyLabel)};
    list.push_back(std::move(e));
  }
  json::object out{{"Versions", std::move(list)}};
  if (offset + page < shown.size()) out["NextToken"] = EncodeOffsetToken(offset + page);
  out["ARN"] = s.arn;
  out["Name"] = s.name;
  return out;
}

}  // namespace coffer::secrets
