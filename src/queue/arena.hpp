// Copyright lqs authors. The payload arena: 64 KiB pages, each either carved into chunks of
// one size class (64 B .. 32 KiB, 8 classes per doubling, so a record wastes at most 12.5 %)
// or part of a run of whole pages holding one large record.
//
// Contract
//  - Truth is ownership: each chunk starts with an 8-byte owner word, 0 when free, else the
//    owner token {slot + 1 (22 bits), incarnation (32 bits)}; each large page's descriptor
//    word names its owner. An allocation is one successful CAS of that word from 0 (FREE) to
//    the owner; a free is one CAS back. The free bitmaps are hints: a stale bit only costs a
//    failed CAS, never a double allocation.
//  - A page, once carved for a class, stays in that class (no concurrent page retirement:
//    see src/queue/README.md, "Open issues").
//
// Crash table
//  allocate, killed after clearing a hint bit, before the owner CAS → the chunk is free but
//      unhinted: scavenge() restores the bit.
//  allocate, killed after the owner CAS, before the slot records it → the owner names a slot
//      whose record_off is elsewhere (or that died in WRITING): scavenge() frees it.
//  carve, killed after the page CAS FREE→CARVING, before CARVING→CLASS → a CARVING page
//      naming a dead carver; nothing was allocated from it: scavenge() returns it to FREE.
//      (Carving claims the page first and publishes CLASS last, so nobody allocates from or
//      scavenges a page whose owner words are still being zeroed.)
//  large allocate, killed part-way through claiming a run → pages owned by a record that does
//      not exist: scavenge() frees them.
//  free, killed after the owner CAS, before setting the bit → scavenge() restores the bit
//      (and bumps arena_frees).
//  free, killed after setting the bit, before bumping arena_frees → the count is one short:
//      an allocator that already found its class full may carve a page instead of taking this
//      chunk, once; never a failed or double allocation (arena_frees is a hint, FORMAT.md).
#ifndef LQS_QUEUE_ARENA_HPP_
#define LQS_QUEUE_ARENA_HPP_

#include "shm/segment_layout.hpp"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>

namespace lqs::queue {

constexpr uint64_t kNoOffset = ~uint64_t{0};
constexpr size_t kOwnerWordSize = 8;

inline uint64_t owner_token(uint32_t slot, uint32_t incarnation) noexcept {
  return (uint64_t{slot + 1} << 32) | incarnation;
}
inline uint32_t owner_slot(uint64_t owner) noexcept {
  return static_cast<uint32_t>(owner >> 32) - 1;
}
inline uint32_t owner_incarnation(uint64_t owner) noexcept { return static_cast<uint32_t>(owner); }

uint32_t class_size(uint32_t cls) noexcept;
/// The class for a chunk of `bytes` (owner word included), or kClassCount for a large record.
uint32_t class_for(size_t bytes) noexcept;

class Arena {
 public:
  Arena() = default;
  Arena(shm::SegmentHeader* header, shm::PageDesc* pages, uint8_t* arena,
        uint32_t page_count) noexcept
      : header_(header), pages_(pages), arena_(arena), page_count_(page_count) {}

  /// Allocates room for `bytes` of record (the owner word is added) owned by `owner`.
  /// Returns the arena offset of the chunk, or kNoOffset when no space is left.
  uint64_t allocate(size_t bytes, uint64_t owner) noexcept;
  /// Frees the chunk at `off` if `owner` still owns it (idempotent; safe to repeat after a
  /// crash). `bytes` is the record size the slot recorded.
  void free(uint64_t off, size_t bytes, uint64_t owner) noexcept;
  /// True if [off, off + 8 + bytes) is inside the arena and `off` is a chunk (or page) start
  /// of the right kind: checked before every read of a record, since shm is untrusted.
  bool valid_ref(uint64_t off, size_t bytes) const noexcept;
  uint8_t* record(uint64_t off) const noexcept { return arena_ + off + kOwnerWordSize; }
  uint64_t owner_at(uint64_t off) const noexcept;
  /// Largest record that can ever be allocated (the whole arena as one run).
  uint64_t max_record() const noexcept {
    return uint64_t{page_count_} * shm::kPageSize - kOwnerWordSize;
  }

  struct ScavengeStats {
    uint64_t chunks_reclaimed = 0;
    uint64_t hints_rebuilt = 0;
  };
  /// Frees every chunk or run whose owner `owner_valid(owner, off)` rejects, and restores hint
  /// bits of free chunks. Safe concurrently with allocate/free.
  ScavengeStats scavenge(
      const std::function<bool(uint64_t owner, uint64_t off)>& owner_valid) noexcept;
  /// Pages in use (carved or large) for fsck and stats.
  uint32_t pages_in_use() const noexcept;

 private:
  uint64_t allocate_small(uint32_t cls, uint64_t owner) noexcept;
  uint64_t allocate_large(uint32_t npages, uint64_t owner) noexcept;
  uint64_t try_page(uint32_t page, uint32_t cls, uint64_t owner) noexcept;
  bool carve(uint32_t page, uint32_t cls) noexcept;
  std::atomic<uint64_t>* owner_word(uint64_t off) const noexcept {
    return reinterpret_cast<std::atomic<uint64_t>*>(arena_ + off);
  }

  shm::SegmentHeader* header_ = nullptr;
  // Per class, the value of header_->arena_frees read before this process's last scan of
  // every page that found no room in the class (~0: none yet). While the counter still has
  // that value nothing was freed since, so allocate_small skips straight to carving a page.
  // Shared by this process's threads: relaxed atomics (a hint, as the counter). Copyable
  // because an Arena is assigned once, before any thread uses it.
  struct ScanMark {
    std::atomic<uint64_t> at{~uint64_t{0}};
    ScanMark() = default;
    ScanMark(const ScanMark& o) noexcept : at(o.at.load(std::memory_order_relaxed)) {}
    ScanMark& operator=(const ScanMark& o) noexcept {
      at.store(o.at.load(std::memory_order_relaxed), std::memory_order_relaxed);
      return *this;
    }
    ~ScanMark() = default;
  };
  std::array<ScanMark, shm::kClassCount> fruitless_scan_at_{};
  shm::PageDesc* pages_ = nullptr;
  uint8_t* arena_ = nullptr;
  uint32_t page_count_ = 0;
};

}  // namespace lqs::queue

#endif  // LQS_QUEUE_ARENA_HPP_
