// RunProcess: runs one program for an `exec` rotation function, isolated from the server that
// starts it and bounded in time.
//
// The child gets exactly what it is given: the argument vector (no shell), the environment
// (nothing inherited), the input on stdin, stdout and stderr captured together, and no other
// descriptor (everything from 3 up is closed before execve, so it cannot reach the server's
// sockets, database or key files through an inherited descriptor). It leads a process group of
// its own; at the deadline, or when `stop` is set, the whole group is killed, even when the
// program has closed its output and lingers, or left children behind. With `run_as` it runs as
// that user (setgroups, setgid, setuid before execve), which needs the server to run as root.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace coffer::rotation {

// An unprivileged account a process runs as (from --exec-user).
struct RunAsUser {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
};
// Errors: InvalidParameter for a user that does not exist.
Result<RunAsUser> LookUpUser(const std::string& name);

struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0] is a path, or a name found in /usr/local/bin,
                                  // /usr/bin or /bin
  std::vector<std::string> env;   // NAME=VALUE; wiped after the fork
  std::string input;              // written to stdin, which is then closed
  std::chrono::milliseconds timeout{300 * 1000};
  std::optional<RunAsUser> run_as;
  size_t max_output = 64 * 1024;            // output beyond this is read and dropped
  const std::atomic<bool>* stop = nullptr;  // set: kill the process group now
};

struct ProcessOutcome {
  bool exited = false;  // ended by itself (exit_status is meaningful)
  int exit_status = -1;
  bool timed_out = false;  // killed at the deadline
  bool stopped = false;    // killed because `stop` was set
  std::string output;      // stdout and stderr, at most max_output bytes
};

// Errors: InternalFailure when the process cannot be started (pipe, fork); a program that
// cannot be executed exits with status 127 (126 when it cannot take on `run_as`).
Result<ProcessOutcome> RunProcess(ProcessSpec spec);

}  // namespace coffer::rotation
