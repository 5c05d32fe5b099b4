// Copyright lqs authors.
#include "support/test_support.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

namespace lqs::test {

TempShmRoot::TempShmRoot() {
  std::string name = "unknown";
  if (const auto* info = ::testing::UnitTest::GetInstance()->current_test_info()) {
    name = std::string(info->test_suite_name()) + "." + info->name();
    for (char& c : name) {
      if (c == '/') c = '_';
    }
  }
  path_ = "/dev/shm/lqs-test/" + std::to_string(::getpid()) + "-" + name;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

TempShmRoot::~TempShmRoot() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

pid_t spawn(const std::function<int()>& fn) {
  pid_t pid = ::fork();
  if (pid == 0) {
    (void)::setpgid(0, 0);
    // A child never outlives the test that spawned it (a killed test leaves no spinners).
    (void)::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() == 1) ::_exit(99);
    int rc = 1;
    try {
      rc = fn();
    } catch (...) {
      rc = 3;
    }
    ::_exit(rc);
  }
  if (pid > 0) {
    (void)::setpgid(pid, pid);
  }
  return pid;
}

int wait_for(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (true) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      return status;
    }
    if (r < 0) {
      return -1;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      (void)::killpg(pid, SIGKILL);
      (void)::kill(pid, SIGKILL);
      (void)::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

}  // namespace lqs::test
