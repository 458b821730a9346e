#include "rotation/process_runner.h"

#include <fcntl.h>
#include <grp.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <thread>

namespace coffer::rotation {
namespace {

using Clock = std::chrono::steady_clock;

// Whether the process has ended, without reaping it: its process group stays addressable (the
// zombie leader keeps the group id from being reused) until the caller kills and reaps.
bool HasEnded(pid_t pid) {
  siginfo_t info{};
  return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         info.si_pid == pid;
}

void ReadAvailable(int fd, size_t max_output, std::string* out, bool* open) {
  char buf[4096];
  while (*open) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      *open = false;
      return;
    }
    if (out->size() < max_output) {
      out->append(buf, std::min(static_cast<size_t>(n), max_output - out->size()));
    }
  }
}

}  // namespace

Result<RunAsUser> LookUpUser(const std::string& name) {
  struct passwd pw {};
  struct passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    return Status(ErrorCode::kInvalidParameter, "there is no user named '" + name + "'");
  }
  return RunAsUser{pw.pw_uid, pw.pw_gid, pw.pw_dir != nullptr ? pw.pw_dir : "/"};
}

namespace {

// Writes the event to the child's stdin, stopping early when the child closed it (it does not
// want the event).
void WriteInput(int fd, std::string_view input) {
  size_t written = 0;
  while (written < input.size()) {
    ssize_t n = ::write(fd, input.data() + written, input.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
}

// Collects the child's output until it ends, the deadline passes or `spec.stop` is set, and
// notes which of these happened in `out`.
void CollectUntilEnd(pid_t pid, int output_fd, const ProcessSpec& spec, ProcessOutcome* out) {
  const auto deadline = Clock::now() + spec.timeout;
  bool output_open = true;
  while (true) {
    if (spec.stop != nullptr && spec.stop->load(std::memory_order_acquire)) {
      out->stopped = true;
      break;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      out->timed_out = true;
      break;
    }
    const int wait_ms = static_cast<int>(std::min<int64_t>(left, output_open ? 100 : 20));
    if (output_open) {
      pollfd p{output_fd, POLLIN, 0};
      if (::poll(&p, 1, wait_ms) > 0)
        ReadAvailable(output_fd, spec.max_output, &out->output, &output_open);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
    }
    // The program itself decides when it is done, whatever it left holding its output.
    if (HasEnded(pid)) {
      ReadAvailable(output_fd, spec.max_output, &out->output, &output_open);
      break;
    }
  }
}

}  // namespace

Result<ProcessOutcome> RunProcess(ProcessSpec spec) {
  if (spec.argv.empty() || spec.argv[0].empty()) {
    return Status(ErrorCode::kInternalFailure, "no program to run");
  }
  // The program is found before fork: between fork and exec a child of a multithreaded process
  // may only make async-signal-safe calls, which a PATH search (execvpe) is not.
  if (spec.argv[0].find('/') == std::string::npos) {
    for (const char* dir : {"/usr/local/bin/", "/usr/bin/", "/bin/"}) {
      if (::access((dir + spec.argv[0]).c_str(), X_OK) == 0) {
        spec.argv[0] = dir + spec.argv[0];
        break;
      }
    }
  }
  std::vector<char*> argv, envp;
  for (auto& a : spec.argv) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : spec.env) envp.push_back(e.data());
  envp.push_back(nullptr);
  // Bound for closing descriptors one by one where close_range is missing (computed here:
  // sysconf is not async-signal-safe).
  struct rlimit nofile {};
  ::getrlimit(RLIMIT_NOFILE, &nofile);
  const int max_fd = nofile.rlim_cur == RLIM_INFINITY || nofile.rlim_cur > 1 << 20
                         ? 1 << 20
                         : static_cast<int>(nofile.rlim_cur);

  int in_pipe[2], out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0) {
    return Status(ErrorCode::kInternalFailure, std::string("pipe: ") + std::strerror(errno));
  }
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    ::close(in_pipe[0]);
    ::close(in_pipe[1]);
    return Status(ErrorCode::kInternalFailure, std::string("pipe: ") + std::strerror(errno));
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1]}) ::close(fd);
    return Status(ErrorCode::kInternalFailure, std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    // The child: async-signal-safe calls only.
    ::dup2(in_pipe[0], STDIN_FILENO);
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::dup2(out_pipe[1], STDERR_FILENO);
    // Nothing else of the server's crosses: listening and client sockets, the database, key
    // files. (Every descriptor coffer opens is close-on-exec as well; this also covers those a
    // library opened without it, or one opened by another thread between its open and fcntl.)
    if (::close_range(3, ~0U, 0) != 0) {
      for (int fd = 3; fd < max_fd; ++fd) ::close(fd);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::setpgid(0, 0);
    if (spec.run_as) {
      const gid_t gid = spec.run_as->gid;
      if (::setgroups(1, &gid) != 0 || ::setgid(gid) != 0 || ::setuid(spec.run_as->uid) != 0) {
        ::_exit(126);
      }
    }
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  for (auto& e : spec.env) OPENSSL_cleanse(e.data(), e.size());
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  // The event is small (well under a pipe's buffer), so this write does not wait for the child.
  WriteInput(in_pipe[1], spec.input);
  ::close(in_pipe[1]);
  ::fcntl(out_pipe[0], F_SETFL, ::fcntl(out_pipe[0], F_GETFL) | O_NONBLOCK);

  ProcessOutcome out;
  CollectUntilEnd(pid, out_pipe[0], spec, &out);
  // The whole group goes: at the deadline everything in it, after a normal end whatever the
  // program left running.
  ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  ::close(out_pipe[0]);
  if (!out.timed_out && !out.stopped && WIFEXITED(status)) {
    out.exited = true;
    out.exit_status = WEXITSTATUS(status);
  }
  return out;
}

}  // namespace coffer::rotation
