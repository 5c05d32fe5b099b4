// Copyright lqs authors. CRC32C against published vectors (RFC 3720 B.4, the "123456789"
// check value), incremental use, and the SSE4.2 path against the table path.
#include "durability/crc32c.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

namespace lqs::durability {
namespace {

uint32_t crc_of(const std::vector<uint8_t>& v) { return crc32c(0, v.data(), v.size()); }

TEST(WalCrc32c, KnownVectors) {
  EXPECT_EQ(crc32c(0, "123456789", 9), 0xE3069283u);
  EXPECT_EQ(detail::crc32c_table(0, "123456789", 9), 0xE3069283u);
  EXPECT_EQ(crc32c(0, "", 0), 0u);
  // RFC 3720 B.4.
  EXPECT_EQ(crc_of(std::vector<uint8_t>(32, 0x00)), 0x8A9136AAu);
  EXPECT_EQ(crc_of(std::vector<uint8_t>(32, 0xFF)), 0x62A8AB43u);
  std::vector<uint8_t> inc(32);
  std::vector<uint8_t> dec(32);
  for (int i = 0; i < 32; ++i) {
    inc[i] = static_cast<uint8_t>(i);
    dec[i] = static_cast<uint8_t>(31 - i);
  }
  EXPECT_EQ(crc_of(inc), 0x46DD794Eu);
  EXPECT_EQ(crc_of(dec), 0x113FDB5Cu);
  const std::vector<uint8_t> iscsi_read = {
      0x01, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
      0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  EXPECT_EQ(crc_of(iscsi_read), 0xD9963A56u);
}

TEST(WalCrc32c, IncrementalEqualsWhole) {
  const char* s = "The quick brown fox jumps over the lazy dog";
  const size_t n = std::strlen(s);
  const uint32_t whole = crc32c(0, s, n);
  EXPECT_EQ(whole, 0x22620404u);
  for (size_t cut = 0; cut <= n; ++cut) {
    EXPECT_EQ(crc32c(crc32c(0, s, cut), s + cut, n - cut), whole) << cut;
  }
}

TEST(WalCrc32c, HardwareMatchesTableAtEveryLengthAndAlignment) {
  std::printf("crc32c uses %s\n", detail::crc32c_hardware() ? "SSE4.2" : "the table");
  std::mt19937 rng(42);
  std::vector<uint8_t> buf(1100);
  for (auto& b : buf) {
    b = static_cast<uint8_t>(rng());
  }
  for (size_t align = 0; align < 8; ++align) {
    for (size_t len = 0; len < 1024; len += (len < 80 ? 1 : 37)) {
      const uint32_t seed = static_cast<uint32_t>(rng());
      ASSERT_EQ(crc32c(seed, buf.data() + align, len),
                detail::crc32c_table(seed, buf.data() + align, len))
          << "align " << align << " len " << len;
    }
  }
}

}  // namespace
}  // namespace lqs::durability
