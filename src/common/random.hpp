// Copyright lqs authors. Per-process random numbers for MessageIds: seeded once from
// getrandom(2), re-seeded automatically in a forked child (the pid changes), then no system
// call per id.
#ifndef LQS_COMMON_RANDOM_HPP_
#define LQS_COMMON_RANDOM_HPP_

#include "lqs/message.hpp"

#include <cstddef>
#include <cstdint>

namespace lqs::common {

/// A version-4 UUID from a thread-local xoshiro256** generator.
MessageId new_message_id() noexcept;
/// Cryptographic random bytes (getrandom). Returns false on failure.
bool secure_random(void* out, size_t len) noexcept;

}  // namespace lqs::common

#endif  // LQS_COMMON_RANDOM_HPP_
