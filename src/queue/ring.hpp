// Copyright lqs authors. A bounded, lock-free, crash-tolerant MPMC ring of 47-bit entries
// over a (control, cells, capacity) view of shared memory.
//
// Contract
//  - Entries are hints. The truth is the slot state word each entry names; an entry whose
//    slot no longer matches it is "stale" and is discarded by whoever meets it. Duplicate
//    entries are therefore harmless, which is what makes recovery simple: when in doubt,
//    push again.
//  - Every state change of a cell is one CAS of the whole 64-bit cell {lap, full, entry}.
//    A push claims nothing before that CAS and a pop consumes nothing before it, so a process
//    killed at any instruction cannot wedge the ring: head and tail are only hints that any
//    process helps forward.
//
// Algorithm (ticket t, lap(t) = t / capacity mod 2^16, cell c = cells[t % capacity]):
//  push: c == EMPTY(lap(t))          → CAS to FULL(lap(t), entry), then help tail to t+1.
//        c == FULL(lap(t), *) or
//        c == EMPTY(lap(t) + 1)      → tail is behind: help it to t+1 and retry.
//        otherwise (FULL of lap-1)    → the ring is full.
//  pop:  c == FULL(lap(h), e)        → ask the caller about e: take it (the caller's slot CAS
//                                      succeeded), discard it (stale), or stop (not due yet).
//                                      Take/discard: CAS to EMPTY(lap(h)+1), help head to h+1.
//        c == EMPTY(lap(h) + 1)      → head is behind: help it and retry.
//        c == EMPTY(lap(h))          → the ring is empty.
//
// Crash table
//  push, killed before the cell CAS      → nothing happened; the caller's slot is in a state
//                                          recovery re-publishes (PUBLISHING / DELAYED / LEASED).
//  push, killed after the cell CAS       → entry visible; tail is helped by the next push.
//  pop, killed after the caller's slot CAS but before the cell CAS
//                                        → the entry stays and is now stale; the next pop
//                                          discards it.
//  pop, killed after the cell CAS        → head is helped by the next pop.
//
// ABA: the lap is 16 bits, so a process stalled between its cell load and its CAS for exactly
// a multiple of 65536 laps could succeed wrongly. At 2^16 laps of even a 64-slot ring that is
// 4 M operations inside one stall; accepted and documented.
#ifndef LQS_QUEUE_RING_HPP_
#define LQS_QUEUE_RING_HPP_

#include "shm/segment_layout.hpp"

#include <atomic>
#include <cstdint>

namespace lqs::queue {

constexpr uint64_t kEntryBits = 47;
constexpr uint64_t kEntryMask = (uint64_t{1} << kEntryBits) - 1;
constexpr uint64_t kFullBit = uint64_t{1} << 47;
constexpr int kLapShift = 48;

enum class PopVerdict { kTake, kDiscard, kStop };

class RingView {
 public:
  RingView() = default;
  RingView(shm::RingControl* control, std::atomic<uint64_t>* cells, uint32_t capacity) noexcept
      : control_(control), cells_(cells), mask_(capacity - 1), shift_(log2(capacity)) {}

  /// Appends `entry` (47 bits). False when the ring is full.
  bool push(uint64_t entry) noexcept {
    for (int spins = 0; spins < kMaxSpins; ++spins) {
      // acquire: pairs with the release CAS of the tail by other pushers (helping).
      uint64_t t = control_->tail.load(std::memory_order_acquire);
      std::atomic<uint64_t>& cell = cells_[t & mask_];
      // seq_cst: the pusher's cell CAS and its later load of waiter_bits, and a parking
      // receiver's RMW of waiter_bits and its later cell load, form a Dekker pair.
      uint64_t c = cell.load(std::memory_order_seq_cst);
      const uint64_t lap = lap_of(t);
      if (c == empty(lap)) {
        // seq_cst (release part): publishes the slot's state (written before) to the popper's
        // acquire load of this cell.
        if (cell.compare_exchange_strong(c, full(lap, entry), std::memory_order_seq_cst)) {
          help(control_->tail, t);
          return true;
        }
        continue;
      }
      if (c == empty((lap + 1) & kLapMask) || ((c & kFullBit) != 0 && lap_field(c) == lap)) {
        help(control_->tail, t);
        continue;
      }
      // The cell still holds an entry of the previous lap: full, unless tail moved meanwhile.
      if (control_->tail.load(std::memory_order_acquire) == t) {
        return false;
      }
    }
    return false;
  }

  /// Pops the first entry the caller takes. `verdict(entry)` decides: kTake (consume and
  /// return it), kDiscard (stale: consume and go on) or kStop (leave it; return nothing).
  /// Returns true and sets `out` when an entry was taken.
  /// REQUIRES: kTake is exclusive. Two poppers may judge the same cell at once and the ring
  /// does not arbitrate between them; the verdict must itself win the entry (the queue's
  /// verdict CASes the slot the entry names), so a second judge sees it stale and discards.
  template <typename Verdict>
  bool pop(Verdict&& verdict, uint64_t& out) noexcept {
    for (int spins = 0; spins < kMaxSpins; ++spins) {
      uint64_t h = control_->head.load(std::memory_order_acquire);
      std::atomic<uint64_t>& cell = cells_[h & mask_];
      // seq_cst: see push (Dekker pair with the receiver's waiter_bits RMW).
      uint64_t c = cell.load(std::memory_order_seq_cst);
      const uint64_t lap = lap_of(h);
      if ((c & kFullBit) != 0 && lap_field(c) == lap) {
        const uint64_t entry = c & kEntryMask;
        PopVerdict v = verdict(entry);
        if (v == PopVerdict::kStop) {
          return false;
        }
        // acq_rel: consumes the cell; a failed CAS means another popper consumed it.
        uint64_t expected = c;
        (void)cell.compare_exchange_strong(expected, empty((lap + 1) & kLapMask),
                                           std::memory_order_acq_rel);
        help(control_->head, h);
        if (v == PopVerdict::kTake) {
          out = entry;
          return true;
        }
        continue;
      }
      if (c == empty((lap + 1) & kLapMask)) {
        help(control_->head, h);
        continue;
      }
      if (c == empty(lap)) {
        // Empty, unless head moved while we looked.
        if (control_->head.load(std::memory_order_acquire) == h) {
          return false;
        }
        continue;
      }
      // A cell of an unexpected lap: head moved under us (re-read), or corruption.
      if (control_->head.load(std::memory_order_acquire) == h) {
        return false;
      }
    }
    return false;
  }

  /// Looks at the first live entry without consuming it (stale entries are consumed).
  template <typename Verdict>
  bool peek_due(Verdict&& verdict) noexcept {
    uint64_t ignored = 0;
    return pop(std::forward<Verdict>(verdict), ignored);
  }

  /// tail - head: entries (live or stale) currently in the ring. Approximate under concurrency.
  uint64_t size_approx() const noexcept {
    uint64_t h = control_->head.load(std::memory_order_relaxed);
    uint64_t t = control_->tail.load(std::memory_order_relaxed);
    return t >= h ? t - h : 0;
  }

  uint32_t capacity() const noexcept { return mask_ + 1; }
  std::atomic<uint64_t>* cells() const noexcept { return cells_; }

 private:
  static constexpr uint64_t kLapMask = 0xFFFF;
  static constexpr int kMaxSpins = 1 << 20;  // bounded: corruption cannot make us spin forever

  static int log2(uint32_t v) noexcept {
    int s = 0;
    while ((uint32_t{1} << s) < v) {
      ++s;
    }
    return s;
  }
  uint64_t lap_of(uint64_t ticket) const noexcept { return (ticket >> shift_) & kLapMask; }
  static uint64_t lap_field(uint64_t c) noexcept { return c >> kLapShift; }
  static uint64_t empty(uint64_t lap) noexcept { return lap << kLapShift; }
  static uint64_t full(uint64_t lap, uint64_t entry) noexcept {
    return (lap << kLapShift) | kFullBit | (entry & kEntryMask);
  }
  // release: publishes nothing by itself; orders the cell CAS before the hint moves. Helping
  // is a CAS from the observed value, so the counter never goes backwards.
  static void help(std::atomic<uint64_t>& counter, uint64_t from) noexcept {
    uint64_t expected = from;
    (void)counter.compare_exchange_strong(expected, from + 1, std::memory_order_release,
                                          std::memory_order_relaxed);
  }

  shm::RingControl* control_ = nullptr;
  std::atomic<uint64_t>* cells_ = nullptr;
  uint32_t mask_ = 0;
  int shift_ = 0;
};

}  // namespace lqs::queue

#endif  // LQS_QUEUE_RING_HPP_
