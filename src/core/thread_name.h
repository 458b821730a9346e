// Names the calling thread (as `top -H`, `perf` and /proc/<pid>/task/*/comm show it), so an
// operator can tell which of coffer's threads uses the CPU. Linux keeps 15 characters.
#pragma once

#include <pthread.h>

namespace coffer {

inline void NameThisThread(const char* name) { pthread_setname_np(pthread_self(), name); }

}  // namespace coffer
