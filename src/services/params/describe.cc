// Parameter Store: metadata (DescribeParameters, GetParameterHistory).
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

namespace {

// The older ParametersFilter: keys Name, Type, KeyId; values must match exactly, except Name,
// which matches by prefix.
Result<std::vector<StringFilter>> DecodeLegacyFilters(const json::array& old_filters) {
  std::vector<StringFilter> filters;
  for (const auto& e : old_filters) {
    if (!e.is_object())
      return Status(ErrorCode::kSerializationException, "Expected a ParametersFilter.");
    StringFilter f;
    const auto* key = e.get_object().if_contains("Key");
    const auto* values = e.get_object().if_contains("Values");
    if (key == nullptr || !key->is_string() ||
        (key->get_string() != "Name" && key->get_string() != "Type" &&
         key->get_string() != "KeyId")) {
      return Status(ErrorCode::kValidationException,
                    "1 validation error detected: Value at 'filters.1.member.key' failed to "
                    "satisfy constraint: Member must satisfy enum value set: [Name, Type, "
                    "KeyId]");
    }
    f.key = std::string(key->get_string());
    f.option = f.key == "Name" ? "BeginsWith" : "Equals";
    if (values == nullptr || !values->is_array() || values->get_array().empty()) {
      return Status(ErrorCode::kInvalidFilterValue,
                    "The following filter values are missing : null for filter key " + f.key + ".");
    }
    for (const auto& v : values->get_array()) {
      if (!v.is_string()) return Status(ErrorCode::kSerializationException, "Values are strings.");
      f.values.emplace_back(v.get_string());
    }
    filters.push_back(std::move(f));
  }
  return filters;
}

// Whether a parameter passes every filter of a DescribeParameters request.
bool MatchesFilters(const ParameterRow& row, const Tags& tags,
                    const std::vector<StringFilter>& filters) {
  bool keep = true;
  for (const auto& f : filters) {
    if (f.key == "Name") {
      keep = keep && (MatchValue(row.name, f) || MatchValue(row.name_key, f) ||
                      MatchValue("/" + row.name_key, f));
    } else if (f.key == "Type") {
      keep = keep && MatchValue(std::string(ParameterTypeName(row.type)), f);
    } else if (f.key == "KeyId") {
      keep = keep && row.type == ParameterType::kSecureString && MatchValue(KeyIdOf(row), f);
    } else if (f.key == "Tier") {
      keep = keep && MatchValue(std::string(ParameterTierName(row.tier)), f);
    } else if (f.key == "DataType") {
      keep = keep && MatchValue(row.data_type, f);
    } else if (f.key == "Path") {
      bool any = false;
      for (const auto& p : f.values) {
        any = any || (f.option == "OneLevel" ? row.parent == p
                                             : p == "/" || StartsWith(row.name_key, p + "/"));
      }
      keep = keep && any;
    } else if (StartsWith(f.key, "tag:")) {
      std::string tag_key = f.key.substr(4);
      bool any = false;
      for (const auto& t : tags) {
        if (t.first == tag_key && (f.values.empty() || MatchValue(t.second, f))) any = true;
      }
      keep = keep && any;
    }
  }
  return keep;
}

}  // namespace

// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeParameters.html
Result<json::object> ParamsService::DescribeParameters(const RequestContext& ctx,
                                                       const json::object& body) {
  JsonInput in(body);
  const json::array* old_filters = in.Array("Filters");
  const json::array* filters_arr = in.Array("ParameterFilters");
  auto max_results = in.Int("MaxResults", {.min = 1, .max = 50});
  auto next_token = in.String("NextToken");
  bool shared = in.Bool("Shared").value_or(false);
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (old_filters && filters_arr) {
    return Status(ErrorCode::kValidationException,
                  "You can use either Filters or ParameterFilters in a single request.");
  }
  std::vector<StringFilter> filters;
  if (old_filters) {
    COFFER_ASSIGN_OR_RETURN(filters, DecodeLegacyFilters(*old_filters));
  } else {
    COFFER_ASSIGN_OR_RETURN(filters, DecodeStringFilters(filters_arr, /*by_path=*/false));
  }
  COFFER_ASSIGN_OR_RETURN(std::string cursor, DecodeCursor(next_token));
  // No resource-level permissions: DescribeParameters lists the metadata of every parameter.
  COFFER_RETURN_IF_ERROR(ctx.Authorize({"ssm:DescribeParameters", "*"}));
  if (shared) return json::object{{"Parameters", json::array{}}};  // nothing is shared via RAM

  // The Path filter with one value chooses the index range to walk.
  const StringFilter* path_filter = nullptr;
  bool need_tags = false;
  for (const auto& f : filters) {
    if (f.key == "Path" && f.values.size() == 1) path_filter = &f;
    if (StartsWith(f.key, "tag:")) need_tags = true;
  }
  const size_t page = static_cast<size_t>(max_results.value_or(50));
  json::array out_params;
  bool more = false;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    int scanned = 0;
    while (out_params.size() < page && scanned < kScanBudget) {
      std::vector<ParameterRow> batch;
      if (path_filter && path_filter->option == "OneLevel") {
        COFFER_ASSIGN_OR_RETURN(batch, r.parameters().ListByParent(
                                           ctx.scope, path_filter->values[0], cursor, kScanBatch));
      } else {
        std::string prefix;
        if (path_filter && path_filter->values[0] != "/") prefix = path_filter->values[0] + "/";
        COFFER_ASSIGN_OR_RETURN(batch,
                                r.parameters().ListByPrefix(ctx.scope, prefix, cursor, kScanBatch));
      }
      if (batch.empty()) {
        more = false;
        return Status::Ok();
      }
      more = batch.size() == static_cast<size_t>(kScanBatch);
      for (size_t i = 0; i < batch.size(); ++i) {
        const ParameterRow& row = batch[i];
        ++scanned;
        cursor = row.name_key;
        if (Expired(row, ctx.now)) continue;
        Tags tags;
        if (need_tags) {
          COFFER_ASSIGN_OR_RETURN(tags, r.parameters().GetTags(row.id));
        }
        if (!MatchesFilters(row, tags, filters)) continue;
        out_params.push_back(Metadata(ctx.scope, row, &r));
        if (out_params.size() == page) {
          more = more || i + 1 < batch.size();
          break;
        }
      }
      if (!more) break;
    }
    if (scanned >= kScanBudget) more = true;
    return Status::Ok();
  }));
  json::object out{{"Parameters", std::move(out_params)}};
  if (more) out["NextToken"] = EncodeCursor(cursor);
  return out;
}

// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameterHistory.html
Result<json::object> ParamsService::GetParameterHistory(const RequestContext& ctx,
                                                        const json::object& body) {
  JsonInput in(body);
  auto name = in.String("Name", {.required = true, .min_len = 1, .max_len = 2048});
  TrimName(&name);
  bool with_decryption = in.Bool("WithDecryption").value_or(false);
  auto max_results = in.Int("MaxResults", {.min = 1, .max = 50});
  auto next_token = in.String("NextToken");
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(ParameterReference ref,
                          ParseOwnReference(ctx, "ssm:GetParameterHistory", *name));
  int64_t after_version = 0;
  if (next_token) {
    auto raw = crypto::Base64Decode(*next_token);
    if (!raw || !StartsWith(*raw, "coffer-ssm-v:")) {
      return Status(ErrorCode::kInvalidNextToken, "The specified token isn't valid.");
    }
    try {
      after_version = std::stoll(raw->substr(13));
    } catch (...) {
      return Status(ErrorCode::kInvalidNextToken, "The specified token isn't valid.");
    }
  }
  ParameterRow row;
  std::vector<ParameterVersionRow> versions;
  std::optional<Tags> tags;  // set when the parameter exists
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto found, r.parameters().Find(ctx.scope, NameKey(ref.name)));
    if (!found || Expired(*found, ctx.now)) return Status::Ok();
    row = std::move(*found);
    COFFER_ASSIGN_OR_RETURN(tags, r.parameters().GetTags(row.id));
    COFFER_ASSIGN_OR_RETURN(versions, r.parameters().ListVersions(row.id));
    return Status::Ok();
  }));
  COFFER_RETURN_IF_ERROR(
      AuthorizeOn(ctx, "ssm:GetParameterHistory", ref.name, tags ? &*tags : nullptr));
  if (!tags) return NotFound(ref.name);
  const size_t page = static_cast<size_t>(max_results.value_or(50));
  json::array out_versions;
  int64_t last = 0;
  bool more = false;
  for (const auto& v : versions) {
    if (v.version <= after_version) continue;
    if (out_versions.size() == page) {
      more = true;
      break;
    }
    COFFER_ASSIGN_OR_RETURN(std::string value, RevealValue(ctx, row, v, with_decryption));
    json::object h{{"Name", row.name}, {"Type", ParameterTypeName(v.type)}};
    if (v.type == ParameterType::kSecureString) h["KeyId"] = v.key_id.value_or(kDefaultKeyId);
    h["LastModifiedDate"] = Epoch(v.last_modified_ms);
    h["LastModifiedUser"] = v.last_modified_user;
    if (v.description) h["Description"] = *v.description;
    h["Value"] = value;
    OPENSSL_cleanse(value.data(), value.size());
    if (v.allowed_pattern) h["AllowedPattern"] = *v.allowed_pattern;
    h["Version"] = v.version;
    json::array labels;
    for (const auto& l : v.labels) labels.push_back(json::string(l));
    h["Labels"] = std::move(labels);
    h["Tier"] = ParameterTierName(v.tier);
    h["Policies"] = PoliciesJson(v.policies, nullptr, nullptr);
    h["DataType"] = v.data_type;
    out_versions.push_back(std::move(h));
    last = v.version;
  }
  json::object out{{"Parameters", std::move(out_versions)}};
  if (more) out["NextToken"] = crypto::Base64Encode("coffer-ssm-v:" + std::to_string(last));
  return out;
}

}  // namespace coffer::params
