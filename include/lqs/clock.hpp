// Copyright lqs authors. The time seam: every component that uses time takes a Clock.
#ifndef LQS_CLOCK_HPP_
#define LQS_CLOCK_HPP_

#include <cstdint>

namespace lqs {

/// Two clocks, named as the style guide asks:
///  - mono_ns(): CLOCK_MONOTONIC, valid across processes within one boot. Leases, delays and
///    long-poll deadlines use it.
///  - unix_ms(): wall-clock milliseconds since the Unix epoch. SentTimestamp and retention.
/// Thread-safety: implementations must be callable from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t mono_ns() const noexcept = 0;
  virtual int64_t unix_ms() const noexcept = 0;
  /// unix_ms() as of the monotonic reading `mono_ns` just taken: for a caller that needs both
  /// clocks, one read instead of two. The default reads the wall clock.
  virtual int64_t unix_ms_at(int64_t mono_ns) const noexcept {
    (void)mono_ns;
    return unix_ms();
  }
};

/// The real clocks (vDSO clock_gettime: no system call).
class SystemClock final : public Clock {
 public:
  int64_t mono_ns() const noexcept override;
  int64_t unix_ms() const noexcept override;
  /// From a cached offset between the two clocks, read again when it is older than 50 ms
  /// (so a step of the wall clock shows within 50 ms; NTP's slewing, at most 500 ppm, moves
  /// it by at most 25 µs meanwhile). A clock read costs ~23 ns on these VMs.
  int64_t unix_ms_at(int64_t mono_ns) const noexcept override;
  /// One shared instance.
  static SystemClock& instance() noexcept;
};

}  // namespace lqs

#endif  // LQS_CLOCK_HPP_
