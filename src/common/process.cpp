// Copyright lqs authors.
#include "common/process.hpp"

#include <pthread.h>
#include <signal.h>  // NOLINT(modernize-deprecated-headers): POSIX kill(), not in <csignal>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace lqs::common {
namespace {

constexpr uint64_t kPidBits = 22;
constexpr uint64_t kStartBits = kOwnerTokenBits - kPidBits;

// Start time of `pid` in clock ticks since boot, or -1 if it cannot be read.
long long start_time_of(pid_t pid) noexcept {
  char path[64];
  (void)std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  FILE* f = std::fopen(path, "re");
  if (f == nullptr) {
    return -1;
  }
  char buf[1024];
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  (void)std::fclose(f);
  buf[n] = '\0';
  // The command name (field 2) may hold spaces and ')': fields restart after the last ')'.
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr) {
    return -1;
  }
  // After ") " come fields 3.. ; starttime is field 22, i.e. the 20th after the ')'.
  int field = 2;
  for (const char* c = p + 1; *c != '\0'; ++c) {
    if (*c == ' ') {
      ++field;
      if (field == 22) {
        return std::strtoll(c + 1, nullptr, 10);
      }
    }
  }
  return -1;
}

uint64_t make_token(pid_t pid) noexcept {
  long long st = start_time_of(pid);
  uint64_t start = st < 0 ? 0 : static_cast<uint64_t>(st) & ((uint64_t{1} << kStartBits) - 1);
  return (static_cast<uint64_t>(pid) & ((uint64_t{1} << kPidBits) - 1)) | (start << kPidBits);
}

// This process's token, computed at first use. Threads may race to compute it: each
// computes the same value, so relaxed loads and stores suffice (no other data is published
// through it). The atfork child handler clears it so a forked child computes its own.
std::atomic<uint64_t> g_token{0};

[[maybe_unused]] const int atfork_registered =
    pthread_atfork(nullptr, nullptr, [] { g_token.store(0, std::memory_order_relaxed); });

}  // namespace

uint64_t self_owner_token() noexcept {
  uint64_t t = g_token.load(std::memory_order_relaxed);
  if (t == 0) {
    t = make_token(getpid());
    g_token.store(t, std::memory_order_relaxed);
  }
  return t;
}

bool owner_alive(uint64_t token) noexcept {
  const auto pid = static_cast<pid_t>(token & ((uint64_t{1} << kPidBits) - 1));
  if (pid <= 0) {
    return false;
  }
  if (kill(pid, 0) != 0 && errno == ESRCH) {
    return false;
  }
  const long long st = start_time_of(pid);
  if (st < 0) {
    // Exited between the two checks, or a zombie we cannot read: a zombie has stopped
    // running, so it is dead for our purposes. /proc unreadable for other reasons: assume
    // alive (never reclaim what a live process may still write).
    return kill(pid, 0) == 0;
  }
  const uint64_t start = static_cast<uint64_t>(st) & ((uint64_t{1} << kStartBits) - 1);
  if (start != (token >> kPidBits)) {
    return false;
  }
  // Same pid and start time. A zombie (state Z) is dead too: read field 3.
  char path[64];
  (void)std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  if (FILE* f = std::fopen(path, "re")) {
    char buf[512];
    size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    (void)std::fclose(f);
    buf[n] = '\0';
    const char* p = std::strrchr(buf, ')');
    if (p != nullptr && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X')) {
      return false;
    }
  }
  return true;
}

}  // namespace lqs::common
