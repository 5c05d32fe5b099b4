// Copyright lqs authors. CRC32C (Castagnoli), the checksum of every WAL record.
#ifndef LQS_DURABILITY_CRC32C_HPP_
#define LQS_DURABILITY_CRC32C_HPP_

#include <cstddef>
#include <cstdint>

namespace lqs::durability {

/// CRC32C of `data[0, n)` continued from `crc` (the value returned for the preceding bytes;
/// 0 to start). crc32c(0, "123456789", 9) == 0xE3069283. Uses the SSE4.2 `crc32` instruction
/// when the CPU has it (checked once at run time), a table otherwise. Thread-safe.
uint32_t crc32c(uint32_t crc, const void* data, size_t n);

namespace detail {
/// The table implementation (always available; tests compare it with the hardware one).
uint32_t crc32c_table(uint32_t crc, const void* data, size_t n);
/// True when crc32c() uses the SSE4.2 instruction.
bool crc32c_hardware();
}  // namespace detail

}  // namespace lqs::durability

#endif  // LQS_DURABILITY_CRC32C_HPP_
