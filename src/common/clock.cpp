// Copyright lqs authors.
#include "lqs/clock.hpp"

#include <atomic>
#include <cstdint>
#include <ctime>

namespace lqs {

int64_t SystemClock::mono_ns() const noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);  // vDSO: no system call
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

int64_t SystemClock::unix_ms() const noexcept {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1'000'000;
}

namespace {
// The cached offset (wall ns - monotonic ns) and the monotonic time it was read at. The stamp
// is stored after the offset (release) and loaded first (acquire), so whoever sees a stamp
// sees its offset or a later one; two refreshing threads race harmlessly (both offsets are
// right to within the slewing above).
std::atomic<int64_t> g_offset_ns{0};
std::atomic<int64_t> g_offset_at_ns{INT64_MIN};
constexpr int64_t kOffsetMaxAgeNs = 50'000'000;
}  // namespace

int64_t SystemClock::unix_ms_at(int64_t mono_ns) const noexcept {
  const int64_t at = g_offset_at_ns.load(std::memory_order_acquire);
  int64_t offset = 0;
  // (A reading older than the stamp, another thread having refreshed meanwhile, uses the
  // cached offset: it is as right for that reading.)
  if (at == INT64_MIN || mono_ns - at > kOffsetMaxAgeNs) {
    timespec rt{};
    clock_gettime(CLOCK_REALTIME, &rt);
    offset = int64_t{rt.tv_sec} * 1'000'000'000 + rt.tv_nsec - mono_ns;
    g_offset_ns.store(offset, std::memory_order_relaxed);
    g_offset_at_ns.store(mono_ns, std::memory_order_release);
  } else {
    offset = g_offset_ns.load(std::memory_order_relaxed);
  }
  return (mono_ns + offset) / 1'000'000;
}

SystemClock& SystemClock::instance() noexcept {
  static SystemClock clock;
  return clock;
}

}  // namespace lqs
