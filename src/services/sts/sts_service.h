// The STS service (AWS query protocol): GetCallerIdentity so that `aws sts get-caller-identity`
// and SDK credential checks work. https://docs.aws.amazon.com/STS/latest/APIReference/
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "core/request_context.h"
#include "core/status.h"

namespace coffer::sts {

// Returns the inner XML of <ActionResult> (e.g. "<UserId>..</UserId>...") for the action.
// Errors: InvalidAction for actions coffer does not serve.
Result<std::string> HandleStsAction(std::string_view action, const RequestContext& ctx,
                                    const std::map<std::string, std::string>& params);

std::string XmlEscape(std::string_view s);

}  // namespace coffer::sts
