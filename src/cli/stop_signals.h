// How coffer's long-running commands (server, agent) take SIGTERM and SIGINT: one thread waits
// for them with sigwait, so they are blocked in every thread first.
#pragma once

#include <pthread.h>

#include <csignal>

namespace coffer::cli {

// Blocks SIGTERM and SIGINT in the calling thread and every thread it starts afterwards (call it
// before any), ignores SIGPIPE (a client gone mid-answer is an error on that write, not a death),
// and answers the set to sigwait on.
inline sigset_t BlockStopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  return signals;
}

}  // namespace coffer::cli
