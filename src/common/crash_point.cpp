// Copyright lqs authors.
#include "common/crash_point.hpp"

#include <signal.h>  // NOLINT(modernize-deprecated-headers): POSIX kill(), not in <csignal>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

namespace lqs::common {
namespace {

struct Config {
  std::string name;  // empty: no crash point armed
  long nth = 1;
  bool stop = false;  // ":stop": SIGSTOP (the test resumes us with SIGCONT) instead of SIGKILL
  std::atomic<long> hits{0};
  pid_t pid = 0;
  void load() {
    pid = getpid();
    name.clear();
    nth = 1;
    hits.store(0, std::memory_order_relaxed);
    // Crash-point builds only; tests set the variable in a forked child before its first
    // operation. NOLINTNEXTLINE(concurrency-mt-unsafe)
    const char* v = std::getenv("LQS_CRASH_AT");
    if (v == nullptr) {
      return;
    }
    name = v;
    stop = false;
    if (name.size() > 5 && name.compare(name.size() - 5, 5, ":stop") == 0) {
      stop = true;
      name.resize(name.size() - 5);
    }
    if (auto colon = name.find(':'); colon != std::string::npos) {
      nth = std::strtol(name.c_str() + colon + 1, nullptr, 10);
      name.resize(colon);
    }
  }
};

Config& config() {
  static Config c;
  // Re-read in a forked child (crash-point builds only; getpid is cheap next to a test).
  if (c.pid != getpid()) {
    c.load();
  }
  return c;
}

}  // namespace

void crash_point_hit(const char* name) noexcept {
  Config& c = config();
  if (c.name.empty() || std::strcmp(c.name.c_str(), name) != 0) {
    return;
  }
  // relaxed: a per-process hit counter; no other memory is published through it.
  const long hit = c.hits.fetch_add(1, std::memory_order_relaxed) + 1;
  if (c.stop) {
    if (hit == c.nth) {
      (void)raise(SIGSTOP);  // once: a test holds us here while it interleaves its own steps
    }
  } else if (hit >= c.nth) {
    (void)raise(SIGKILL);
  }
}

}  // namespace lqs::common
