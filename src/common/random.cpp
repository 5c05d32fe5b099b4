// Copyright lqs authors.
#include "common/random.hpp"

#include <pthread.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace lqs::common {
namespace {

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

struct Xoshiro256 {
  uint64_t s[4] = {};
  pid_t pid = 0;

  void seed() noexcept {
    if (!secure_random(s, sizeof s)) {
      // getrandom cannot fail for 32 bytes once the pool is initialised; fall back anyway to
      // something unique per process and time rather than to zeros.
      s[0] = static_cast<uint64_t>(getpid()) * 0x9E3779B97F4A7C15ULL;
      s[1] = reinterpret_cast<uintptr_t>(&s) ^ 0xD1B54A32D192ED03ULL;
      s[2] = static_cast<uint64_t>(time(nullptr));
      s[3] = 0x2545F4914F6CDD1DULL;
    }
    pid = getpid();
  }

  uint64_t next() noexcept {
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }
};

thread_local Xoshiro256 tl_rng;

}  // namespace

bool secure_random(void* out, size_t len) noexcept {
  auto* p = static_cast<unsigned char*>(out);
  while (len > 0) {
    ssize_t n = getrandom(p, len, 0);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

MessageId new_message_id() noexcept {
  // Seeded once per thread; a forked child is re-seeded by the pthread_atfork handler below,
  // so no system call is made per id.
  if (tl_rng.pid == 0) {
    tl_rng.seed();
  }
  uint64_t a = tl_rng.next();
  uint64_t b = tl_rng.next();
  MessageId id;
  std::memcpy(id.bytes.data(), &a, 8);
  std::memcpy(id.bytes.data() + 8, &b, 8);
  id.bytes[6] = static_cast<uint8_t>((id.bytes[6] & 0x0F) | 0x40);  // version 4
  id.bytes[8] = static_cast<uint8_t>((id.bytes[8] & 0x3F) | 0x80);  // RFC 4122 variant
  return id;
}

namespace {
// A forked child must not repeat its parent's sequence: re-seed in the child.
[[maybe_unused]] const int atfork_registered =
    pthread_atfork(nullptr, nullptr, [] { tl_rng.seed(); });
}  // namespace

}  // namespace lqs::common
