// Copyright lqs authors. SipHash-2-4, after the reference implementation (CC0).
#include "common/siphash.hpp"

#include <cstring>

namespace lqs::common {
namespace {

inline uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }
inline uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);  // x86-64 is little-endian, as SipHash specifies
  return v;
}

struct State {
  uint64_t v0, v1, v2, v3;
  void round() {
    v0 += v1;
    v1 = rotl(v1, 13);
    v1 ^= v0;
    v0 = rotl(v0, 32);
    v2 += v3;
    v3 = rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = rotl(v1, 17);
    v1 ^= v2;
    v2 = rotl(v2, 32);
  }
};

// Initialises the state under `key` and compresses all of `data` (c = 2 rounds per word,
// the length byte in the last word). `wide`: the 128-bit variant's different v1.
[[gnu::always_inline]] inline State compress(const uint8_t key[16], const void* data, size_t len,
                                             bool wide) noexcept {
  const uint64_t k0 = load64(key);
  const uint64_t k1 = load64(key + 8);
  State s{0x736f6d6570736575ULL ^ k0, 0x646f72616e646f6dULL ^ k1, 0x6c7967656e657261ULL ^ k0,
          0x7465646279746573ULL ^ k1};
  if (wide) {
    s.v1 ^= 0xee;
  }
  const auto* in = static_cast<const uint8_t*>(data);
  const size_t full = len - (len % 8);
  for (size_t i = 0; i < full; i += 8) {
    const uint64_t m = load64(in + i);
    s.v3 ^= m;
    s.round();
    s.round();
    s.v0 ^= m;
  }
  // The 0-7 tail bytes, little-endian, in at most three loads of 4, 2 and 1 bytes (a shift
  // per byte cost ~33 instructions per receipt handle, callgrind).
  const uint8_t* t = in + full;
  const size_t r = len % 8;
  uint64_t tail = 0;
  int shift = 0;
  if ((r & 4) != 0) {
    uint32_t x;
    std::memcpy(&x, t, 4);
    tail = x;
    t += 4;
    shift = 32;
  }
  if ((r & 2) != 0) {
    uint16_t x;
    std::memcpy(&x, t, 2);
    tail |= static_cast<uint64_t>(x) << shift;
    t += 2;
    shift += 16;
  }
  if ((r & 1) != 0) {
    tail |= static_cast<uint64_t>(*t) << shift;
  }
  const uint64_t b = (static_cast<uint64_t>(len) << 56) | tail;
  s.v3 ^= b;
  s.round();
  s.round();
  s.v0 ^= b;
  return s;
}

[[gnu::always_inline]] inline void finalize_rounds(State& s) noexcept {  // d = 4
  s.round();
  s.round();
  s.round();
  s.round();
}

}  // namespace

uint64_t siphash24(const uint8_t key[16], const void* data, size_t len) noexcept {
  State s = compress(key, data, len, false);
  s.v2 ^= 0xff;
  finalize_rounds(s);
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

Hash128 siphash24_128(const uint8_t key[16], const void* data, size_t len) noexcept {
  State s = compress(key, data, len, true);
  s.v2 ^= 0xee;
  finalize_rounds(s);
  const uint64_t lo = s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
  s.v1 ^= 0xdd;
  finalize_rounds(s);
  return Hash128{lo, s.v0 ^ s.v1 ^ s.v2 ^ s.v3};
}

}  // namespace lqs::common
