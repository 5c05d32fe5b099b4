// Copyright lqs authors. Test support: a fake clock, per-test shm roots, child processes.
#ifndef LQS_TESTS_SUPPORT_TEST_SUPPORT_HPP_
#define LQS_TESTS_SUPPORT_TEST_SUPPORT_HPP_

#include "lqs/clock.hpp"

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace lqs::test {

/// A clock tests step by hand: no sleeping to wait out timeouts.
class FakeClock final : public Clock {
 public:
  int64_t mono_ns() const noexcept override { return mono_ns_.load(); }
  int64_t unix_ms() const noexcept override { return unix_ms_.load(); }
  void advance(std::chrono::nanoseconds d) {
    mono_ns_ += d.count();
    unix_ms_ += d.count() / 1'000'000;
  }
  /// Steps the wall clock alone, also backwards (NTP, or another process's clock read a
  /// moment earlier); the monotonic clock stays.
  void step_wall(std::chrono::milliseconds d) { unix_ms_ += d.count(); }

 private:
  std::atomic<int64_t> mono_ns_{1'000'000'000'000};
  std::atomic<int64_t> unix_ms_{1'700'000'000'000};
};

/// A unique shm root for one test (pid + test name), removed with everything in it.
class TempShmRoot {
 public:
  TempShmRoot();
  ~TempShmRoot();
  TempShmRoot(const TempShmRoot&) = delete;
  TempShmRoot& operator=(const TempShmRoot&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// Forks a child that runs `fn` in its own process group and _exits with its return value.
/// Call before the test creates any thread.
pid_t spawn(const std::function<int()>& fn);
/// Waits for `pid` up to `timeout`; on timeout SIGKILLs its process group. Returns the raw
/// wait status, or -1 on timeout.
int wait_for(pid_t pid, std::chrono::milliseconds timeout);

}  // namespace lqs::test

#endif  // LQS_TESTS_SUPPORT_TEST_SUPPORT_HPP_
