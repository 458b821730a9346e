// Parameter Store: tags (AddTagsToResource, RemoveTagsFromResource, ListTagsForResource).
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

// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_AddTagsToResource.html
Result<json::object> ParamsService::AddTagsToResource(const RequestContext& ctx,
                                                      const json::object& body) {
  JsonInput in(body);
  const json::array* tags_arr = in.Array("Tags", /*required=*/true);
  COFFER_ASSIGN_OR_RETURN(std::string id, TaggedParameterName(in));
  COFFER_ASSIGN_OR_RETURN(Tags add, DecodeTags(tags_arr));
  COFFER_ASSIGN_OR_RETURN(auto ref, ParseOwnReference(ctx, "ssm:AddTagsToResource", id));
  {
    ConditionKeys keys;
    AddRequestTagKeys(add, &keys);
    COFFER_RETURN_IF_ERROR(
        AuthorizeParameter(ctx, "ssm:AddTagsToResource", ref.name, std::move(keys)));
  }
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(ParameterRow found,
                            FindLive(w, ctx.scope, ref.name, ctx.now, InvalidResourceId()));

    COFFER_ASSIGN_OR_RETURN(Tags tags, w.parameters().GetTags(found.id));
    MergeTags(&tags, add);
    if (tags.size() > kMaxTags) {
      return Status(ErrorCode::kTooManyTagsError,
                    "The Targets parameter includes too many tags. Remove one or more tags and "
                    "try the command again.");
    }
    return w.parameters().SetTags(found.id, tags);
  }));
  return json::object{};
}

// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_RemoveTagsFromResource.html
Result<json::object> ParamsService::RemoveTagsFromResource(const RequestContext& ctx,
                                                           const json::object& body) {
  JsonInput in(body);
  auto keys = in.StringList("TagKeys", {.min_len = 1, .max_len = 128});
  if (!keys) in.Array("TagKeys", /*required=*/true);
  COFFER_ASSIGN_OR_RETURN(std::string id, TaggedParameterName(in));
  COFFER_ASSIGN_OR_RETURN(auto ref, ParseOwnReference(ctx, "ssm:RemoveTagsFromResource", id));
  COFFER_RETURN_IF_ERROR(
      AuthorizeParameter(ctx, "ssm:RemoveTagsFromResource", ref.name, {{"aws:tagkeys", *keys}}));
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(ParameterRow found,
                            FindLive(w, ctx.scope, ref.name, ctx.now, InvalidResourceId()));

    COFFER_ASSIGN_OR_RETURN(Tags tags, w.parameters().GetTags(found.id));
    std::set<std::string> remove(keys->begin(), keys->end());
    std::erase_if(tags, [&](const auto& t) { return remove.count(t.first) > 0; });
    return w.parameters().SetTags(found.id, tags);
  }));
  return json::object{};
}

// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_ListTagsForResource.html
Result<json::object> ParamsService::ListTagsForResource(const RequestContext& ctx,
                                                        const json::object& body) {
  JsonInput in(body);
  COFFER_ASSIGN_OR_RETURN(std::string id, TaggedParameterName(in));
  COFFER_ASSIGN_OR_RETURN(auto ref, ParseOwnReference(ctx, "ssm:ListTagsForResource", id));
  std::optional<Tags> tags;  // set when the parameter exists
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto found, r.parameters().Find(ctx.scope, NameKey(ref.name)));
    if (!found || Expired(*found, ctx.now)) return Status::Ok();
    COFFER_ASSIGN_OR_RETURN(tags, r.parameters().GetTags(found->id));
    return Status::Ok();
  }));
  COFFER_RETURN_IF_ERROR(
      AuthorizeOn(ctx, "ssm:ListTagsForResource", ref.name, tags ? &*tags : nullptr));
  if (!tags) return InvalidResourceId();
  json::array list;
  for (const auto& t : *tags) list.push_back(json::object{{"Key", t.first}, {"Value", t.second}});
  return json::object{{"TagList", std::move(list)}};
}

}  // namespace coffer::params
