// RunProcess as a hostile or broken rotation function would meet it: descriptors it must not
// inherit, a program that closes its output and hangs, children left behind, a stop.
#include "rotation/process_runner.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace coffer::rotation {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

ProcessSpec Shell(const std::string& script, milliseconds timeout = milliseconds(10000)) {
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", script};
  spec.env = {"PATH=/usr/bin:/bin"};
  spec.timeout = timeout;
  return spec;
}

TEST(RunProcess, PassesInputEnvironmentAndExitStatus) {
  ProcessSpec spec = Shell("cat; echo \" $GREETING\"; exit 3");
  spec.env.push_back("GREETING=hello");
  spec.input = R"({"Step":"createSecret"})";
  auto out = RunProcess(spec);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_TRUE(out->exited);
  EXPECT_EQ(out->exit_status, 3);
  EXPECT_EQ(out->output, "{\"Step\":\"createSecret\"} hello\n");
}

// The child sees stdin, stdout and stderr and nothing else of its parent: not a descriptor the
// server opened without close-on-exec, nor one with it.
TEST(RunProcess, InheritsNoDescriptorBeyondTheStandardThree) {
  char path[] = "/tmp/coffer-fd-probe-XXXXXX";
  int leaky = mkstemp(path);  // no O_CLOEXEC: what a careless library might leave open
  ASSERT_GE(leaky, 0);
  int careful = ::open(path, O_RDONLY | O_CLOEXEC);
  ASSERT_GE(careful, 0);
  ProcessSpec spec;
  spec.argv = {"/usr/bin/python3", "-c",
               "import os\n"
               "for fd in sorted(os.listdir('/proc/self/fd'), key=int):\n"
               "    try: print(fd, os.readlink('/proc/self/fd/' + fd))\n"
               "    except OSError: print(fd, 'gone')\n"};
  spec.env = {"PATH=/usr/bin:/bin"};
  auto out = RunProcess(spec);
  ::close(leaky);
  ::close(careful);
  ::unlink(path);
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_TRUE(out->exited) << out->output;
  EXPECT_EQ(out->output.find(path), std::string::npos) << out->output;
  std::istringstream lines(out->output);
  std::string fd, target;
  int extra = 0;
  while (lines >> fd >> target) {
    if (fd == "0" || fd == "1" || fd == "2") continue;
    // Only the descriptor the listing itself opened (or one already closed) may appear.
    EXPECT_TRUE(target == "gone" || target.find("/fd") != std::string::npos) << fd << " " << target;
    ++extra;
  }
  EXPECT_LE(extra, 1) << out->output;
}

// A program that closes its output and then hangs is still killed at the deadline.
TEST(RunProcess, KillsAtTheDeadlineEvenWithOutputClosed) {
  const auto start = SteadyClock::now();
  auto out = RunProcess(Shell("exec >/dev/null 2>&1 </dev/null; sleep 60", milliseconds(500)));
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->timed_out);
  EXPECT_FALSE(out->exited);
  EXPECT_LT(SteadyClock::now() - start, std::chrono::seconds(10));
}

bool Alive(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

// What a program leaves running (here holding its output open) is killed with it.
TEST(RunProcess, KillsTheWholeProcessGroup) {
  char path[] = "/tmp/coffer-pgrp-probe-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  const auto start = SteadyClock::now();
  auto out = RunProcess(
      Shell("sleep 60 & echo $! > " + std::string(path) + "; exit 0", milliseconds(20000)));
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->exited);
  EXPECT_EQ(out->exit_status, 0);
  EXPECT_LT(SteadyClock::now() - start, std::chrono::seconds(10));
  std::ifstream in(path);
  pid_t child = 0;
  in >> child;
  ::unlink(path);
  ASSERT_GT(child, 0);
  // Killed; once reparented, it is reaped by init (or this test's subreaper) shortly.
  for (int i = 0; i < 100 && Alive(child); ++i) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  std::ifstream stat("/proc/" + std::to_string(child) + "/stat");
  std::string pid_text, comm, state;
  if (stat >> pid_text >> comm >> state) {
    EXPECT_EQ(state, "Z") << "the left-behind child still runs";
  }
}

TEST(RunProcess, StopKillsAtOnce) {
  std::atomic<bool> stop{false};
  ProcessSpec spec = Shell("sleep 60", milliseconds(60000));
  spec.stop = &stop;
  std::thread stopper([&] {
    std::this_thread::sleep_for(milliseconds(200));
    stop = true;
  });
  const auto start = SteadyClock::now();
  auto out = RunProcess(spec);
  stopper.join();
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->stopped);
  EXPECT_LT(SteadyClock::now() - start, std::chrono::seconds(10));
}

TEST(RunProcess, BoundsTheOutputKept) {
  ProcessSpec spec = Shell("head -c 300000 /dev/zero | tr '\\0' x");
  spec.max_output = 1000;
  auto out = RunProcess(spec);
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->exited);
  EXPECT_EQ(out->output.size(), 1000u);
}

TEST(RunProcess, RunsAsAnotherUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "changing user needs root";
  auto nobody = LookUpUser("nobody");
  ASSERT_TRUE(nobody.ok());
  ProcessSpec spec = Shell("id -u; id -G");
  spec.run_as = *nobody;
  auto out = RunProcess(spec);
  ASSERT_TRUE(out.ok());
  ASSERT_TRUE(out->exited) << out->output;
  EXPECT_EQ(out->output, std::to_string(nobody->uid) + "\n" + std::to_string(nobody->gid) + "\n");
  EXPECT_FALSE(LookUpUser("no-such-user-coffer").ok());
}

}  // namespace
}  // namespace coffer::rotation
