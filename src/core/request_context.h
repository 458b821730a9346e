// RequestContext: what every service handler knows about the call it serves.
#pragma once

#include <string>

#include "core/clock.h"
#include "core/principal.h"
#include "store/store.h"

namespace coffer {

struct RequestContext {
  Principal principal;
  Scope scope;             // account of the principal, region of the SigV4 credential scope
  std::string request_id;  // x-amzn-RequestId
  EpochMillis now = 0;     // one timestamp for the whole request
};

}  // namespace coffer
