// Copyright lqs authors. Running the lqs and lqsd binaries from integration tests: a child
// process with its own process group, stdin from a string, stdout and stderr into files, and a
// deadline.
#ifndef LQS_TESTS_INTEGRATION_CLI_SUPPORT_HPP_
#define LQS_TESTS_INTEGRATION_CLI_SUPPORT_HPP_

#include "lqs/queue.hpp"

#include "support/test_support.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace lqs::test {

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

/// A started child: its pid (also its process group) and where its output goes.
struct Child {
  pid_t pid = -1;
  std::string out_path;
  std::string err_path;
  std::string out() const { return read_file(out_path); }
  std::string err() const { return read_file(err_path); }
};

/// Starts `args` (args[0] is the program's path) in its own process group, stdin from
/// `stdin_path` (or /dev/null), stdout and stderr into `<prefix>.out` / `<prefix>.err`;
/// `env` entries ("K=V") are added to the environment.
inline Child start_child(const std::vector<std::string>& args, const std::string& prefix,
                         const std::vector<std::string>& env = {},
                         const std::string& stdin_path = "/dev/null") {
  Child c;
  c.out_path = prefix + ".out";
  c.err_path = prefix + ".err";
  std::filesystem::remove(c.out_path);
  std::filesystem::remove(c.err_path);
  const pid_t pid = ::fork();
  if (pid == 0) {
    (void)::setpgid(0, 0);
    const int i = ::open(stdin_path.c_str(), O_RDONLY);
    const int o = ::open(c.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = ::open(c.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    (void)::dup2(i, 0);
    (void)::dup2(o, 1);
    (void)::dup2(e, 2);
    for (const std::string& kv : env) {
      const auto eq = kv.find('=');
      (void)::setenv(kv.substr(0, eq).c_str(), kv.substr(eq + 1).c_str(), 1);
    }
    std::vector<std::string> copy = args;
    std::vector<char*> argv;
    for (std::string& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  (void)::setpgid(pid, pid);  // also here: no race with a kill(-pid) right after
  c.pid = pid;
  return c;
}

/// What a finished run gave.
struct RunResult {
  int exit_code = -1;  ///< -1: killed or timed out
  std::string out;
  std::string err;
};

/// Runs `args` to completion (at most `timeout`; then its group is SIGKILLed).
inline RunResult run_child(const std::vector<std::string>& args, const std::string& prefix,
                           const std::vector<std::string>& env = {},
                           std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  const Child c = start_child(args, prefix, env);
  const int st = wait_for(c.pid, timeout);
  RunResult r;
  r.exit_code = st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.out = c.out();
  r.err = c.err();
  return r;
}

/// Waits until `pred` holds (polling every 20 ms) or `timeout` passes; returns pred().
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

/// Lines of `text` (without the newlines).
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string line;
  while (std::getline(ss, line)) out.push_back(line);
  return out;
}

/// A test with its own shm root and a scratch directory beside it (removed after).
class ScratchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = root_.path() + "-scratch";
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  /// Creates a queue in this test's shm root with a small capacity.
  Result<Queue> create_queue(const std::string& name, uint32_t capacity_messages,
                             uint64_t capacity_bytes) {
    QueueLocation w;
    w.shm_root = root_.path();
    w.name = name;
    QueueAttributes a;
    a.capacity_messages = capacity_messages;
    a.capacity_bytes = capacity_bytes;
    return Queue::create(w, a);
  }

  TempShmRoot root_;
  std::string dir_;
};

}  // namespace lqs::test

#endif  // LQS_TESTS_INTEGRATION_CLI_SUPPORT_HPP_
