// Copyright lqs authors.
#include "harness.hpp"

#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

namespace lqs::bench {
namespace {

bool g_interrupted = false;
std::vector<pid_t> g_live;  // children spawned and not yet reaped (their pid is their pgid)

sigset_t parent_set() noexcept {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGCHLD);
  sigaddset(&s, SIGINT);
  sigaddset(&s, SIGTERM);
  sigaddset(&s, SIGHUP);
  return s;
}

void forget(pid_t pid) noexcept {
  g_live.erase(std::remove(g_live.begin(), g_live.end(), pid), g_live.end());
}

std::string describe_status(pid_t pid, int status) {
  char buf[128];
  if (WIFEXITED(status)) {
    std::snprintf(buf, sizeof buf, "child %d exited with status %d", static_cast<int>(pid),
                  WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    std::snprintf(
        buf, sizeof buf, "child %d killed by signal %d (%s)", static_cast<int>(pid),
        WTERMSIG(status),
        strsignal(WTERMSIG(status)));  // NOLINT(concurrency-mt-unsafe): parent is single-threaded
  } else {
    std::snprintf(buf, sizeof buf, "child %d ended with status 0x%x", static_cast<int>(pid),
                  static_cast<unsigned>(status));
  }
  return buf;
}

}  // namespace

int64_t now_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void* map_shared(size_t bytes) noexcept {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

void unmap_shared(void* p, size_t bytes) noexcept {
  if (p != nullptr) {
    (void)munmap(p, bytes);
  }
}

void block_parent_signals() noexcept {
  sigset_t s = parent_set();
  (void)sigprocmask(SIG_BLOCK, &s, nullptr);
}

bool interrupted() noexcept { return g_interrupted; }

void poll_interrupts() noexcept {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGINT);
  sigaddset(&s, SIGTERM);
  sigaddset(&s, SIGHUP);
  timespec zero{};
  while (true) {
    int sig = sigtimedwait(&s, nullptr, &zero);
    if (sig <= 0) {
      break;
    }
    g_interrupted = true;
  }
}

bool pin_to_cpu(int cpu, std::string& err) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) {
    err = "sched_setaffinity(cpu " + std::to_string(cpu) +
          "): " + std::strerror(errno);  // NOLINT(concurrency-mt-unsafe)
    return false;
  }
  return true;
}

pid_t spawn_child(int cpu, const std::function<int()>& body) {
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    return -1;
  }
  if (pid == 0) {
    (void)setpgid(0, 0);
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) {
      _exit(3);  // the parent died before we set PDEATHSIG
    }
    sigset_t s = parent_set();
    (void)sigprocmask(SIG_UNBLOCK, &s, nullptr);
    int rc = 1;
    try {
      if (cpu >= 0) {
        std::string err;
        if (!pin_to_cpu(cpu, err)) {
          std::fprintf(stderr, "lqs-bench child: %s\n", err.c_str());
        }
      }
      rc = body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lqs-bench child %d: exception: %s\n", static_cast<int>(getpid()),
                   e.what());
      rc = 1;
    } catch (...) {
      rc = 1;
    }
    std::fflush(stdout);
    std::fflush(stderr);
    _exit(rc);
  }
  (void)setpgid(pid, pid);  // also in the parent: no window where a kill(-pid) misses it
  g_live.push_back(pid);
  return pid;
}

ReapOutcome reap_children(const std::vector<pid_t>& pids, int64_t deadline_ns) {
  ReapOutcome out;
  std::vector<pid_t> pending = pids;
  bool killed = false;
  int64_t kill_deadline = 0;
  const sigset_t set = parent_set();
  while (!pending.empty()) {
    for (auto it = pending.begin(); it != pending.end();) {
      int status = 0;
      pid_t r = waitpid(*it, &status, WNOHANG);
      if (r == *it || (r < 0 && errno == ECHILD)) {
        if (r == *it && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
          out.problems.push_back(describe_status(*it, status));
        }
        forget(*it);
        it = pending.erase(it);
      } else {
        ++it;
      }
    }
    if (pending.empty()) {
      break;
    }
    const int64_t now = now_ns();
    if (!killed && (now >= deadline_ns || g_interrupted)) {
      out.timed_out = !g_interrupted;
      out.interrupted = g_interrupted;
      for (pid_t p : pending) {
        (void)kill(-p, SIGKILL);
        (void)kill(p, SIGKILL);
      }
      killed = true;
      kill_deadline = now + 5'000'000'000;
    }
    if (killed && now >= kill_deadline) {
      for (pid_t p : pending) {
        out.problems.push_back("child " + std::to_string(p) + " did not die after SIGKILL");
        forget(p);
      }
      break;
    }
    const int64_t until = killed ? kill_deadline : deadline_ns;
    const int64_t wait = std::clamp<int64_t>(until - now, 1'000'000, 200'000'000);
    timespec ts{static_cast<time_t>(wait / 1000000000), static_cast<long>(wait % 1000000000)};
    siginfo_t info{};
    int sig = sigtimedwait(&set, &info, &ts);
    if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
      g_interrupted = true;
    }
  }
  return out;
}

void kill_all_children() noexcept {
  for (pid_t p : g_live) {
    (void)kill(-p, SIGKILL);
    (void)kill(p, SIGKILL);
  }
  for (pid_t p : g_live) {
    int status = 0;
    (void)waitpid(p, &status, 0);
  }
  g_live.clear();
}

}  // namespace lqs::bench
