// Copyright lqs authors.
#include "common/futex.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ctime>

namespace lqs::common {

static_assert(sizeof(std::atomic<uint32_t>) == 4 && std::atomic<uint32_t>::is_always_lock_free);

void futex_wait(std::atomic<uint32_t>* word, uint32_t expected, int64_t timeout_ns) noexcept {
  if (timeout_ns <= 0) {
    return;
  }
  timespec ts{static_cast<time_t>(timeout_ns / 1'000'000'000),
              static_cast<long>(timeout_ns % 1'000'000'000)};
  // FUTEX_WAIT (shared): the kernel keys the wait on the page, so all mappings of the segment
  // meet. EAGAIN (value changed), EINTR and ETIMEDOUT all mean "re-check".
  (void)syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT, expected, &ts, nullptr,
                0);
}

void futex_wake(std::atomic<uint32_t>* word, int count) noexcept {
  (void)syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE, count, nullptr, nullptr,
                0);
}

}  // namespace lqs::common
