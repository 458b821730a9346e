// Parameter Store: version labels (LabelParameterVersion, UnlabelParameterVersion).
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

// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_LabelParameterVersion.html
Result<json::object> ParamsService::LabelParameterVersion(const RequestContext& ctx,
                                                          const json::object& body) {
  JsonInput in(body);
  auto name = in.String("Name", {.required = true, .min_len = 1, .max_len = 2048});
  TrimName(&name);
  auto version = in.Int("ParameterVersion");
  auto labels = in.StringList("Labels", {.min_len = 1, .max_len = 100}, 10);
  if (!labels) in.Array("Labels", /*required=*/true);
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (labels->empty()) {
    return Status(ErrorCode::kValidationException,
                  "1 validation error detected: Value '[]' at 'labels' failed to satisfy "
                  "constraint: Member must have length greater than or equal to 1");
  }
  COFFER_RETURN_IF_ERROR(AuthorizeParameter(ctx, "ssm:LabelParameterVersion", *name));
  json::array invalid;
  int64_t labelled_version = 0;
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(
        ParameterRow found,
        FindLive(w, ctx.scope, *name, ctx.now,
                 Status(ErrorCode::kParameterNotFound, "Parameter " + *name + " not found.")));

    labelled_version = version.value_or(found.version);
    COFFER_ASSIGN_OR_RETURN(auto target, w.parameters().GetVersion(found.id, labelled_version));
    if (!target) return VersionNotFound(found.name, std::to_string(labelled_version));
    std::set<std::string> on_target(target->labels.begin(), target->labels.end());
    std::vector<std::string> valid;
    for (const auto& l : *labels) {
      if (!IsValidLabel(l)) {
        invalid.push_back(json::string(l));
      } else if (std::find(valid.begin(), valid.end(), l) == valid.end()) {
        valid.push_back(l);
      }
    }
    size_t after = on_target.size();
    for (const auto& l : valid) after += on_target.count(l) ? 0 : 1;
    if (after > kMaxLabelsPerVersion) {
      return Status(ErrorCode::kParameterVersionLabelLimitExceeded,
                    "A parameter version can have maximum 10 labels.Move one or more labels to "
                    "another version and try again.");
    }
    for (const auto& l : valid) {
      COFFER_RETURN_IF_ERROR(w.parameters().SetLabel(found.id, l, labelled_version));
    }
    if (!valid.empty()) {
      COFFER_RETURN_IF_ERROR(
          w.events().Append(ChangeEvent(ctx.scope, ctx.now, found, "LabelParameterVersion")));
    }
    return Status::Ok();
  }));
  return json::object{{"InvalidLabels", std::move(invalid)},
                      {"ParameterVersion", labelled_version}};
}

// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_UnlabelParameterVersion.html
Result<json::object> ParamsService::UnlabelParameterVersion(const RequestContext& ctx,
                                                            const json::object& body) {
  JsonInput in(body);
  auto name = in.String("Name", {.required = true, .min_len = 1, .max_len = 2048});
  TrimName(&name);
  auto version = in.Int("ParameterVersion", {.required = true, .min = 1});
  auto labels = in.StringList("Labels", {.min_len = 1, .max_len = 100}, 10);
  if (!labels) in.Array("Labels", /*required=*/true);
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_RETURN_IF_ERROR(AuthorizeParameter(ctx, "ssm:UnlabelParameterVersion", *name));
  json::array removed, invalid;
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(
        ParameterRow found,
        FindLive(w, ctx.scope, *name, ctx.now,
                 Status(ErrorCode::kParameterNotFound, "Parameter " + *name + " not found.")));

    COFFER_ASSIGN_OR_RETURN(auto target, w.parameters().GetVersion(found.id, *version));
    if (!target) return VersionNotFound(found.name, std::to_string(*version));
    for (const auto& l : *labels) {
      if (std::find(target->labels.begin(), target->labels.end(), l) != target->labels.end()) {
        COFFER_RETURN_IF_ERROR(w.parameters().RemoveLabel(found.id, l));
        target->labels.erase(std::find(target->labels.begin(), target->labels.end(), l));
        removed.push_back(json::string(l));
      } else {
        invalid.push_back(json::string(l));
      }
    }
    return Status::Ok();
  }));
  return json::object{{"RemovedLabels", std::move(removed)}, {"InvalidLabels", std::move(invalid)}};
}

}  // namespace coffer::params
