// Copyright lqs authors. Process-shared futex wait/wake (never FUTEX_PRIVATE_FLAG: the word
// lives in a segment mapped by several processes). std::atomic::wait is process-private in
// libstdc++ 12 and must not be used for this.
#ifndef LQS_COMMON_FUTEX_HPP_
#define LQS_COMMON_FUTEX_HPP_

#include <atomic>
#include <cstdint>

namespace lqs::common {

/// Sleeps while `*word == expected`, at most `timeout_ns` (relative). Returns after a wake, a
/// value change, a signal or the timeout; callers re-check their condition.
void futex_wait(std::atomic<uint32_t>* word, uint32_t expected, int64_t timeout_ns) noexcept;
/// Wakes up to `count` waiters on `word`.
void futex_wake(std::atomic<uint32_t>* word, int count) noexcept;

}  // namespace lqs::common

#endif  // LQS_COMMON_FUTEX_HPP_
