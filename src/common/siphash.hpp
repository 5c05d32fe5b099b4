// Copyright lqs authors. SipHash-2-4 (Aumasson & Bernstein): a fast keyed MAC for receipt
// handles (tens of nanoseconds, unlike HMAC-SHA256's microseconds).
#ifndef LQS_COMMON_SIPHASH_HPP_
#define LQS_COMMON_SIPHASH_HPP_

#include <cstddef>
#include <cstdint>

namespace lqs::common {

/// SipHash-2-4 of `len` bytes at `data` under the 128-bit key `key` (16 bytes).
uint64_t siphash24(const uint8_t key[16], const void* data, size_t len) noexcept;

/// SipHash-2-4 with its 128-bit output (the reference's `outlen == 16` variant): `lo` is the
/// tag's first 8 bytes, `hi` the last 8, each read little-endian. One pass over the input,
/// where two siphash24() calls under two keys take two.
struct Hash128 {
  uint64_t lo;
  uint64_t hi;
};
Hash128 siphash24_128(const uint8_t key[16], const void* data, size_t len) noexcept;

}  // namespace lqs::common

#endif  // LQS_COMMON_SIPHASH_HPP_
