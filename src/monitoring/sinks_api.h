// The operator endpoints of notification sinks (monitoring/notifications.h), answered for the
// operator API once it has verified the call and found its signer an account's root:
//
//   GET  /coffer/sinks[?Account=A]   the account's sinks: Name, Kind, Url or Command,
//                                    EventPattern, CreatedDate, Pending (deliveries waiting),
//                                    LastError
//   POST /coffer/sinks               {"Name", "Url" | "Command": [...], "EventPattern"?}
//                                    registers or replaces a sink -> {"Name", "SigningKey"?}
//                                    (a webhook's key, shown once); {"Name", "Delete": true}
//                                    removes one with what waits for it
//   POST /coffer/sinks/test          {"Name"}: delivers a test event now -> {"Delivered", "Error"?}
//
// "Account" (another account's sinks) is the operator's.
#pragma once

#include <boost/json.hpp>
#include <map>
#include <string>
#include <string_view>

#include "monitoring/notifications.h"
#include "store/store.h"

namespace coffer::monitoring {

Result<boost::json::object> HandleSinksCall(Notifier* notifier, Store* store,
                                            std::string_view method, std::string_view path,
                                            const std::map<std::string, std::string>& query,
                                            const boost::json::object& body,
                                            const std::string& caller_account, bool is_operator);

}  // namespace coffer::monitoring
