// Scope: the (account, region) namespace every regional resource lives in.
#pragma once

#include <string>

namespace coffer {

struct Scope {
  std::string account;
  std::string region;
};

}  // namespace coffer
