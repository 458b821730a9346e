// Parameter Store: DeleteParameter, DeleteParameters.
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

// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DeleteParameter.html
Result<json::object> ParamsService::DeleteParameter(const RequestContext& ctx,
                                                    const json::object& body) {
  JsonInput in(body);
  auto name = in.String("Name", {.required = true, .min_len = 1, .max_len = 2048});
  TrimName(&name);
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_RETURN_IF_ERROR(AuthorizeParameter(ctx, "ssm:DeleteParameter", *name));
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(
        ParameterRow found,
        FindLive(w, ctx.scope, *name, ctx.now,
                 Status(ErrorCode::kParameterNotFound, "Parameter " + *name + " not found.")));

    COFFER_RETURN_IF_ERROR(w.parameters().Delete(found.id));
    return w.events().Append(ChangeEvent(ctx.scope, ctx.now, found, "Delete"));
  }));
  return json::object{};
}

// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DeleteParameters.html
Result<json::object> ParamsService::DeleteParameters(const RequestContext& ctx,
                                                     const json::object& body) {
  JsonInput in(body);
  auto names = in.StringList("Names", {.min_len = 1, .max_len = 2048});
  if (!names) in.Array("Names", /*required=*/true);
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (names->empty() || names->size() > 10) {
    return Status(ErrorCode::kValidationException,
                  "1 validation error detected: Value at 'names' failed to satisfy constraint: "
                  "Member must have length less than or equal to 10 and greater than or equal "
                  "to 1");
  }
  // Every name is authorized before any is deleted; one the caller may not delete fails the
  // whole call.
  for (const auto& n : std::set<std::string>(names->begin(), names->end())) {
    COFFER_RETURN_IF_ERROR(AuthorizeParameter(ctx, "ssm:DeleteParameters", n));
  }
  json::array deleted, invalid;
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    std::set<std::string> done;
    for (const auto& n : *names) {
      if (!done.insert(n).second) continue;
      COFFER_ASSIGN_OR_RETURN(auto found, w.parameters().Find(ctx.scope, NameKey(n)));
      if (!found || Expired(*found, ctx.now)) {
        invalid.push_back(json::string(n));
        continue;
      }
      COFFER_RETURN_IF_ERROR(w.parameters().Delete(found->id));
      COFFER_RETURN_IF_ERROR(w.events().Append(ChangeEvent(ctx.scope, ctx.now, *found, "Delete")));
      deleted.push_back(json::string(n));
    }
    return Status::Ok();
  }));
  return json::object{{"DeletedParameters", std::move(deleted)},
                      {"InvalidParameters", std::move(invalid)}};
}

}  // namespace coffer::params
