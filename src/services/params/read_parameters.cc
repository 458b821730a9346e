// Parameter Store: reading values (GetParameter, GetParameters, GetParametersByPath, and
// /aws/reference/secretsmanager/ references).
#include <algorithm>
#include <map>
#include <set>

#include "core/arn.h"
#include "core/time_format.h"
#include "crypto/crypto.h"
#include "keyring/kms_use.h"
#include "protocol/json_input.h"
#include "protocol/page_token.h"
#include "services/params/allowed_pattern.h"
#include "services/params/parameter_names.h"
#include "services/params/parameter_policies.h"
#include "services/params/params_common.h"
#include "services/params/params_service.h"

namespace coffer::params {

Result<json::object> ParamsService::ReadSecretReference(const RequestContext& ctx,
                                                        const char* action, const std::string& name,
                                                        bool with_decryption) {
  // https://docs.aws.amazon.com/systems-manager/latest/userguide/integration-ps-secretsmanager.html
  if (!with_decryption) {
    return Status(ErrorCode::kValidationException,
                  "WithDecryption flag must be True for retrieving a Secret Manager secret.");
  }
  std::string rest = name.substr(std::string(kReferencePrefix).size());
  std::string secret_id = rest, selector;
  // A secret name cannot contain ':', so the last one (outside an ARN) starts a selector.
  size_t colon = rest.rfind(':');
  bool is_arn = StartsWith(rest, "arn:");
  if (colon != std::string::npos && (!is_arn || std::count(rest.begin(), rest.end(), ':') > 6)) {
    secret_id = rest.substr(0, colon);
    selector = rest.substr(colon + 1);
  }
  json::object request{{"SecretId", secret_id}};
  if (!selector.empty()) {
    bool looks_like_version =
        selector.size() >= 32 && selector.size() <= 64 && !StartsWith(selector, "AWS");
    request[looks_like_version ? "VersionId" : "VersionStage"] = selector;
  }
  // The caller needs the Parameter Store permission on the reference name, and Secrets Manager
  // then authorizes secretsmanager:GetSecretValue (and the secret's KMS key) itself with the
  // same caller: "Parameter Store honors IAM policies attached to Secrets Manager secrets."
  COFFER_RETURN_IF_ERROR(AuthorizeOn(ctx, action, kReferencePrefix + secret_id, nullptr));
  auto got = secrets_->Handle("GetSecretValue", ctx, request);
  if (!got.ok()) {
    if (got.status().code() == ErrorCode::kResourceNotFoundException) {
      return Status(ErrorCode::kParameterNotFound,
                    "An error occurred (ParameterNotFound) when referencing Secrets Manager: "
                    "Secret " +
                        std::string(kReferencePrefix) + secret_id + " not found.");
    }
    return got.status();
  }
  const json::object& secret = got.value();
  json::object p{
      {"Name", name.substr(0, name.size() - (selector.empty() ? 0 : selector.size() + 1))},
      {"Type", "SecureString"}};
  if (const auto* s = secret.if_contains("SecretString")) {
    p["Value"] = *s;
  } else if (const auto* b = secret.if_contains("SecretBinary")) {
    p["Value"] = *b;
  }
  p["Version"] = 0;
  if (!selector.empty()) p["Selector"] = ":" + selector;
  p["SourceResult"] = json::serialize(secret);
  if (const auto* created = secret.if_contains("CreatedDate")) p["LastModifiedDate"] = *created;
  p["ARN"] = secret.at("ARN");
  p["DataType"] = "text";
  return p;
}

Result<json::object> ParamsService::ReadOne(const RequestContext& ctx, const char* action,
                                            const std::string& input, bool with_decryption) {
  if (StartsWith(input, kReferencePrefix)) {
    return ReadSecretReference(ctx, action, input, with_decryption);
  }
  COFFER_ASSIGN_OR_RETURN(ParameterReference ref, ParseOwnReference(ctx, action, input));
  ParameterRow row;
  ParameterVersionRow version;
  std::optional<Tags> tags;  // set when the parameter exists (and someone will look at them)
  Status missing;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto found, r.parameters().Find(ctx.scope, NameKey(ref.name)));
    if (!found || Expired(*found, ctx.now)) {
      missing = NotFound(ref.name);
      return Status::Ok();
    }
    row = std::move(*found);
    COFFER_ASSIGN_OR_RETURN(tags, r.parameters().GetTags(row.id));
    int64_t v = row.version;
    if (ref.version) {
      v = *ref.version;
    } else if (ref.label) {
      COFFER_ASSIGN_OR_RETURN(auto labelled, r.parameters().VersionForLabel(row.id, *ref.label));
      if (!labelled) {
        missing = NotFound(ref.name);
        return Status::Ok();
      }
      v = *labelled;
    }
    COFFER_ASSIGN_OR_RETURN(auto got, r.parameters().GetVersion(row.id, v));
    if (!got) {
      missing = VersionNotFound(row.name, std::to_string(v));
      return Status::Ok();
    }
    version = std::move(*got);
    return Status::Ok();
  }));
  // Only a caller allowed to read the parameter learns whether it, or the version, exists.
  COFFER_RETURN_IF_ERROR(AuthorizeOn(ctx, action, ref.name, tags ? &*tags : nullptr));
  COFFER_RETURN_IF_ERROR(missing);
  COFFER_ASSIGN_OR_RETURN(std::string value, RevealValue(ctx, row, version, with_decryption));
  // A top-level parameter is one parameter under "x" and "/x"; AWS answers with the name as the
  // caller wrote it (the ARN is the same for both).
  json::object p{{"Name", ref.name},
                 {"Type", ParameterTypeName(version.type)},
                 {"Value", value},
                 {"Version", version.version}};
  OPENSSL_cleanse(value.data(), value.size());
  if (!ref.selector.empty()) p["Selector"] = ref.selector;
  p["LastModifiedDate"] = Epoch(version.last_modified_ms);
  p["ARN"] = ParameterArn(ctx.scope, row.name);
  p["DataType"] = version.data_type;
  return p;
}

// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameter.html
Result<json::object> ParamsService::GetParameter(const RequestContext& ctx,
                                                 const json::object& body) {
  JsonInput in(body);
  auto name = in.String("Name", {.required = true, .min_len = 1, .max_len = 2048});
  TrimName(&name);
  bool with_decryption = in.Bool("WithDecryption").value_or(false);
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(json::object p, ReadOne(ctx, "ssm:GetParameter", *name, with_decryption));
  return json::object{{"Parameter", std::move(p)}};
}

// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameters.html
Result<json::object> ParamsService::GetParameters(const RequestContext& ctx,
                                                  const json::object& body) {
  JsonInput in(body);
  auto names = in.StringList("Names", {.min_len = 1, .max_len = 2048});
  bool with_decryption = in.Bool("WithDecryption").value_or(false);
  if (!names) in.Array("Names", /*required=*/true);
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (names->empty() || names->size() > 10) {
    std::string list;
    for (const auto& n : *names) list += (list.empty() ? "" : ", ") + n;
    return Status(
        ErrorCode::kValidationException,
        "1 validation error detected: Value '[" + list +
            "]' at 'names' failed to satisfy constraint: Member must have length " +
            (names->empty() ? "greater than or equal to 1." : "less than or equal to 10."));
  }
  std::set<std::string> unique;
  for (auto n : *names) {
    std::optional<std::string> trimmed = std::move(n);
    TrimName(&trimmed);
    unique.insert(*trimmed);
  }
  std::vector<json::object> found;
  json::array invalid;
  // Every name is authorized; one the caller may not read fails the whole call
  // (AccessDeniedException), as IAM answers for a request naming several resources.
  for (const auto& n : unique) {
    auto p = ReadOne(ctx, "ssm:GetParameters", n, with_decryption);
    if (p.ok()) {
      found.push_back(std::move(p.value()));
    } else if (p.status().code() == ErrorCode::kParameterNotFound ||
               p.status().code() == ErrorCode::kParameterVersionNotFound) {
      invalid.push_back(json::string(n));
    } else {
      return p.status();
    }
  }
  std::sort(found.begin(), found.end(), [](const json::object& a, const json::object& b) {
    return a.at("Name").as_string() < b.at("Name").as_string();
  });
  json::array params;
  for (auto& p : found) params.push_back(std::move(p));
  return json::object{{"Parameters", std::move(params)}, {"InvalidParameters", std::move(invalid)}};
}

// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParametersByPath.html
Result<json::object> ParamsService::GetParametersByPath(const RequestContext& ctx,
                                                        const json::object& body) {
  JsonInput in(body);
  auto path_in = in.String("Path", {.required = true, .min_len = 1, .max_len = 2048});
  auto recursive_in = in.Bool("Recursive");
  const bool recursive = recursive_in.value_or(false);
  bool with_decryption = in.Bool("WithDecryption").value_or(false);
  auto max_results = in.Int("MaxResults", {.min = 1, .max = 10});
  auto next_token = in.String("NextToken");
  const json::array* filters_arr = in.Array("ParameterFilters");
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(std::string path, NormalizePath(*path_in));
  COFFER_ASSIGN_OR_RETURN(auto filters, DecodeStringFilters(filters_arr, /*by_path=*/true));
  COFFER_ASSIGN_OR_RETURN(std::string cursor, DecodeCursor(next_token));
  {
    // Authorized against the path, not the parameters it returns: a caller allowed on /a reads
    // /a/b too.
    // https://docs.aws.amazon.com/systems-manager/latest/userguide/ps-retrieval-authorization.html
    ConditionKeys keys;
    if (recursive_in) keys["ssm:recursive"] = {recursive ? "true" : "false"};
    COFFER_RETURN_IF_ERROR(
        AuthorizeOn(ctx, "ssm:GetParametersByPath", path, nullptr, std::move(keys)));
  }
  const size_t page = static_cast<size_t>(max_results.value_or(10));

  struct Hit {
    ParameterRow row;
    ParameterVersionRow version;
  };
  std::vector<Hit> hits;
  bool more = false;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    int scanned = 0;
    while (hits.size() < page && scanned < kScanBudget) {
      std::vector<ParameterRow> batch;
      if (recursive) {
        COFFER_ASSIGN_OR_RETURN(
            batch, r.parameters().ListByPrefix(ctx.scope, path == "/" ? "" : path + "/", cursor,
                                               kScanBatch));
      } else {
        COFFER_ASSIGN_OR_RETURN(batch,
                                r.parameters().ListByParent(ctx.scope, path, cursor, kScanBatch));
      }
      if (batch.empty()) {
        more = false;
        return Status::Ok();
      }
      more = batch.size() == static_cast<size_t>(kScanBatch);
      for (auto& row : batch) {
        ++scanned;
        cursor = row.name_key;
        if (Expired(row, ctx.now)) continue;
        int64_t v = row.version;
        bool keep = true;
        for (const auto& f : filters) {
          if (f.key == "Type")
            keep = keep && MatchValue(std::string(ParameterTypeName(row.type)), f);
          if (f.key == "KeyId")
            keep = keep && row.type == ParameterType::kSecureString && MatchValue(KeyIdOf(row), f);
          if (f.key == "Label") {
            std::optional<int64_t> labelled;
            for (const auto& label : f.values) {
              COFFER_ASSIGN_OR_RETURN(labelled, r.parameters().VersionForLabel(row.id, label));
              if (labelled) break;
            }
            keep = keep && labelled.has_value();
            if (labelled) v = *labelled;
          }
        }
        if (!keep) continue;
        COFFER_ASSIGN_OR_RETURN(auto version, r.parameters().GetVersion(row.id, v));
        if (!version) continue;
        bool last_in_batch = &row == &batch.back();
        hits.push_back({std::move(row), std::move(*version)});
        if (hits.size() == page) {
          more = more || !last_in_batch;
          cursor = hits.back().row.name_key;
          break;
        }
      }
      if (!more) break;
    }
    if (scanned >= kScanBudget) more = true;
    return Status::Ok();
  }));
  json::array params;
  for (auto& h : hits) {
    COFFER_ASSIGN_OR_RETURN(std::string value, RevealValue(ctx, h.row, h.version, with_decryption));
    params.push_back(json::object{{"Name", h.row.name},
                                  {"Type", ParameterTypeName(h.version.type)},
                                  {"Value", value},
                                  {"Version", h.version.version},
                                  {"LastModifiedDate", Epoch(h.version.last_modified_ms)},
                                  {"ARN", ParameterArn(ctx.scope, h.row.name)},
                                  {"DataType", h.version.data_type}});
    OPENSSL_cleanse(value.data(), value.size());
  }
  json::object out{{"Parameters", std::move(params)}};
  if (more) out["NextToken"] = EncodeCursor(cursor);
  return out;
}

}  // namespace coffer::params
