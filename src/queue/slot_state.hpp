// Copyright lqs authors. Packing of the slot state word and of ring entries (diagrams in
// shm/segment_layout.hpp).
//
// Slot life cycle (every arrow is one CAS of the state word; epoch changes where noted):
//
//   FREE(e) ──claim──▶ WRITING(e+1, owner) ──▶ PUBLISHING(e+1) ──push──▶ READY(e+1)
//                                     └──────▶ DELAYED(e+1, visible_at)
//   READY(e) / PUBLISHING(e) / DELAYED(e) ──receive──▶ LEASED(e+1, deadline)
//   LEASED(e) ──expired, receive──▶ LEASED(e+1, deadline')      (redelivery, count+1)
//   LEASED(e) ──expired, sweep / visibility 0──▶ PUBLISHING(e) ──▶ READY(e)
//   LEASED(e) ──change visibility──▶ LEASED(e, tver+1, deadline')
//   any live state(e) ──delete / purge / retention──▶ DELETING(e) ──free record──▶ FREE(e)
#ifndef LQS_QUEUE_SLOT_STATE_HPP_
#define LQS_QUEUE_SLOT_STATE_HPP_

#include <cstdint>

namespace lqs::queue {

enum class SlotState : uint8_t {
  kFree = 0,
  kWriting = 1,
  kPublishing = 2,
  kReady = 3,
  kDelayed = 4,
  kLeased = 5,
  kDeleting = 6,
};

constexpr uint64_t kEpochBits = 20;
constexpr uint64_t kEpochMask = (uint64_t{1} << kEpochBits) - 1;
constexpr uint64_t kTverBits = 5;
constexpr uint64_t kTverMask = (uint64_t{1} << kTverBits) - 1;
constexpr uint64_t kValueBits = 36;
constexpr uint64_t kValueMask = (uint64_t{1} << kValueBits) - 1;
constexpr uint64_t kSlotBits = 22;
constexpr uint64_t kSlotMask = (uint64_t{1} << kSlotBits) - 1;

struct StateWord {
  SlotState state;
  uint32_t epoch;
  uint32_t tver;
  uint64_t value;

  static StateWord decode(uint64_t w) noexcept {
    return StateWord{static_cast<SlotState>(w & 7), static_cast<uint32_t>((w >> 3) & kEpochMask),
                     static_cast<uint32_t>((w >> 23) & kTverMask), w >> 28};
  }
  uint64_t encode() const noexcept {
    return static_cast<uint64_t>(state) | (uint64_t{epoch & kEpochMask} << 3) |
           (uint64_t{tver & kTverMask} << 23) | ((value & kValueMask) << 28);
  }
};

inline uint64_t make_state(SlotState s, uint32_t epoch, uint32_t tver, uint64_t value) noexcept {
  return StateWord{s, epoch, tver, value}.encode();
}
inline uint32_t next_epoch(uint32_t e) noexcept { return (e + 1) & kEpochMask; }

/// A ring entry: {slot index (22), epoch (20), tver (5)}.
inline uint64_t make_entry(uint32_t slot, uint32_t epoch, uint32_t tver) noexcept {
  return (uint64_t{slot & kSlotMask} << 25) | (uint64_t{epoch & kEpochMask} << 5) |
         (tver & kTverMask);
}
inline uint32_t entry_slot(uint64_t e) noexcept {
  return static_cast<uint32_t>(e >> 25) & kSlotMask;
}
inline uint32_t entry_epoch(uint64_t e) noexcept {
  return static_cast<uint32_t>(e >> 5) & kEpochMask;
}
inline uint32_t entry_tver(uint64_t e) noexcept { return static_cast<uint32_t>(e) & kTverMask; }

}  // namespace lqs::queue

#endif  // LQS_QUEUE_SLOT_STATE_HPP_
