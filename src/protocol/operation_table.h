// OperationTable: how every service declares the operations it serves — each name with the
// member function that handles it, or a small lambda where one function serves several
// resource kinds (IAM's ListUsers/ListRoles/ListGroups). One idiom for every service, JSON
// protocol or query protocol.
#pragma once

#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string_view>
#include <utility>

#include "core/request_context.h"
#include "core/status.h"

namespace coffer {

template <typename Service, typename Input, typename Output>
class OperationTable {
 public:
  using Handler = std::function<Result<Output>(Service&, const RequestContext&, const Input&)>;

  OperationTable(std::initializer_list<std::pair<const std::string_view, Handler>> operations)
      : handlers_(operations) {}

  // The operation's answer, or nullopt when the service does not serve `operation`.
  std::optional<Result<Output>> Run(Service& service, std::string_view operation,
                                    const RequestContext& ctx, const Input& input) const {
    auto it = handlers_.find(operation);
    if (it == handlers_.end()) return std::nullopt;
    return it->second(service, ctx, input);
  }

 private:
  std::map<std::string_view, Handler> handlers_;
};

}  // namespace coffer
