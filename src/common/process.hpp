// Copyright lqs authors. Process identity for ownership records in shared memory.
//
// A claim records its owner as a 36-bit token: the pid (22 bits; Linux pid_max <= 2^22) and
// 14 bits of the process's start time (jiffies since boot, /proc/<pid>/stat field 22), so a
// recycled pid is not mistaken for the dead owner.
#ifndef LQS_COMMON_PROCESS_HPP_
#define LQS_COMMON_PROCESS_HPP_

#include <cstdint>

namespace lqs::common {

constexpr uint64_t kOwnerTokenBits = 36;

/// This process's owner token (cached; refreshed in a forked child).
uint64_t self_owner_token() noexcept;
/// True unless the process named by `token` has certainly exited (no such pid, or the pid now
/// belongs to a process with another start time). Makes system calls: never on a hot path.
bool owner_alive(uint64_t token) noexcept;

}  // namespace lqs::common

#endif  // LQS_COMMON_PROCESS_HPP_
