// Copyright lqs authors. Standard-queue operations over a segment.
//
// See src/queue/README.md for the contract, the slot life cycle (slot_state.hpp) and the crash
// table of every operation; the short form is at each step below.
#include "lqs/queue.hpp"

#include "common/crash_point.hpp"
#include "common/futex.hpp"
#include "common/md5.hpp"
#include "common/process.hpp"
#include "common/random.hpp"
#include "common/siphash.hpp"
#include "queue/arena.hpp"
#include "queue/ring.hpp"
#include "queue/slot_state.hpp"
#include "queue/validation.hpp"
#include "shm/segment.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <ctime>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

namespace lqs {

using queue::Arena;
using queue::kNoOffset;
using queue::make_entry;
using queue::make_state;
using queue::next_epoch;
using queue::PopVerdict;
using queue::RingView;
using queue::SlotState;
using queue::StateWord;

std::string default_shm_root(std::string_view instance) {
  return "/dev/shm/lqs/" + std::string(instance);
}

namespace {

constexpr int64_t kMaxVisibilityMs = int64_t{43200} * 1000;
constexpr uint32_t kSweepStep = 8;
// At most one full sweep per queue per interval, run by a receive that found nothing.
constexpr int64_t kFullSweepIntervalMs = 1000;
// FIFO index mutex: trylock attempts (each followed by a pause, ~40 ns) before blocking.
constexpr int kFifoLockSpins = 200;
// A long poll spins this long (real time) for a message before it parks in the kernel.
constexpr int64_t kReceiveSpinNs = 50'000;
// At most one rebuild of lost free-slot hints per queue per interval, by a send that finds
// no hinted slot (recover() rebuilds them too, unconditionally).
constexpr int64_t kHintRebuildIntervalMs = 100;
constexpr size_t kMaxTraceHeader = 8192;
constexpr size_t kBatchLimitBytes = 1048576;
constexpr size_t kHandleBytes = 20;  // slot u32, incarnation u32, epoch u32, mac u64
constexpr size_t kHandleChars = 27;  // base64url, no padding

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static_assert(kHandleBytes == 6 * 3 + 2 && kHandleChars == 6 * 4 + 3);

// A receipt handle's 20 bytes as 27 base64url characters (no padding): six groups of 3 bytes
// to 4 characters, then 2 bytes to 3. Fixed sizes, no per-character branch: every receive
// makes one handle per message and every delete checks one.
void encode_handle(const uint8_t (&in)[kHandleBytes], std::string& out) {
  char c[kHandleChars];
  for (size_t g = 0; g < 6; ++g) {
    const uint32_t v = (uint32_t{in[3 * g]} << 16) | (uint32_t{in[3 * g + 1]} << 8) | in[3 * g + 2];
    c[4 * g] = kB64[(v >> 18) & 63];
    c[4 * g + 1] = kB64[(v >> 12) & 63];
    c[4 * g + 2] = kB64[(v >> 6) & 63];
    c[4 * g + 3] = kB64[v & 63];
  }
  const uint32_t v = (uint32_t{in[18]} << 16) | (uint32_t{in[19]} << 8);
  c[24] = kB64[(v >> 18) & 63];
  c[25] = kB64[(v >> 12) & 63];
  c[26] = kB64[(v >> 6) & 63];
  out.assign(c, kHandleChars);
}

// Value of each base64url character, 0xFF for every other byte.
constexpr std::array<uint8_t, 256> make_b64_values() {
  std::array<uint8_t, 256> t{};
  for (auto& v : t) {
    v = 0xFF;
  }
  for (uint8_t i = 0; i < 64; ++i) {
    t[static_cast<uint8_t>(kB64[i])] = i;
  }
  return t;
}
constexpr std::array<uint8_t, 256> kB64Values = make_b64_values();

// Decodes a receipt handle's 27 base64url characters into its 20 bytes; false if a
// character is not base64url, or if the last one's 2 low bits, which carry no byte, are not
// zero (encode_handle never sets them: one handle, one spelling).
// REQUIRES: s.size() == kHandleChars.
bool decode_handle(std::string_view s, uint8_t (&out)[kHandleBytes]) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  uint32_t bad = 0;  // any value with bit 6 set (0xFF) marks a bad character
  for (size_t g = 0; g < 6; ++g) {
    const uint32_t a = kB64Values[p[4 * g]];
    const uint32_t b = kB64Values[p[4 * g + 1]];
    const uint32_t c = kB64Values[p[4 * g + 2]];
    const uint32_t d = kB64Values[p[4 * g + 3]];
    bad |= a | b | c | d;
    const uint32_t v = (a << 18) | (b << 12) | (c << 6) | d;
    out[3 * g] = static_cast<uint8_t>(v >> 16);
    out[3 * g + 1] = static_cast<uint8_t>(v >> 8);
    out[3 * g + 2] = static_cast<uint8_t>(v);
  }
  const uint32_t a = kB64Values[p[24]];
  const uint32_t b = kB64Values[p[25]];
  const uint32_t c = kB64Values[p[26]];
  bad |= a | b | c;
  const uint32_t v = (a << 12) | (b << 6) | c;  // 18 bits: 16 of data, 2 unused
  out[18] = static_cast<uint8_t>(v >> 10);
  out[19] = static_cast<uint8_t>(v >> 2);
  return (bad & 0x40) == 0 && (c & 3) == 0;
}

struct Handle {
  uint32_t slot = 0;
  uint32_t incarnation = 0;
  uint32_t epoch = 0;
};

Error invalid_handle(std::string_view h) {
  std::string shown(h.substr(0, 1024));
  return make_error(ErrorCode::kReceiptHandleIsInvalid,
                    "The input receipt handle \"" + shown + "\" is not a valid receipt handle.");
}

Error not_available(std::string_view h) {
  return make_error(ErrorCode::kInvalidParameterValue,
                    "Value " + std::string(h.substr(0, 1024)) +
                        " for parameter ReceiptHandle is invalid. Reason: Message does not exist "
                        "or is not available for visibility timeout change.");
}

Error expired_handle(std::string_view h) {
  return make_error(ErrorCode::kInvalidParameterValue,
                    "Value " + std::string(h.substr(0, 1024)) +
                        " for parameter ReceiptHandle is invalid. Reason: The receipt handle has "
                        "expired.");
}

// The FIFO index mutexes this thread holds (a FIFO receive re-enters delete paths that lock).
thread_local std::array<const void*, 8> tl_fifo_held{};
thread_local size_t tl_fifo_held_n = 0;

constexpr int64_t kDedupWindowMs = int64_t{5} * 60 * 1000;
constexpr int64_t kAttemptWindowMs = int64_t{5} * 60 * 1000;

// Per-thread scan start for the free-slot bitmap, so producers on different threads start in
// different words.
thread_local uint32_t tl_slot_word = static_cast<uint32_t>(
    std::hash<std::thread::id>{}(std::this_thread::get_id()) * 0x9E3779B97F4A7C15ULL >> 40);

}  // namespace

class Queue::Impl {
 public:
  Impl(shm::Segment seg, Clock* clock, std::string name, std::string shm_root)
      : seg_(std::move(seg)),
        clock_(clock != nullptr ? clock : &SystemClock::instance()),
        name_(std::move(name)),
        shm_root_(std::move(shm_root)) {
    h_ = seg_.header();
    uint8_t* b = seg_.base();
    slots_ = reinterpret_cast<shm::Slot*>(b + h_->slots_off);
    slot_bits_ = reinterpret_cast<std::atomic<uint64_t>*>(b + h_->slot_bits_off);
    slot_count_ = h_->slot_count;
    ready_ = RingView(
        reinterpret_cast<shm::RingControl*>(b + h_->ring_off),
        reinterpret_cast<std::atomic<uint64_t>*>(b + h_->ring_off + sizeof(shm::RingControl)),
        h_->ring_capacity);
    const uint64_t lane_bytes = sizeof(shm::RingControl) + uint64_t{h_->lane_capacity} * 8;
    for (uint32_t i = 0; i < shm::kLaneCount; ++i) {
      uint8_t* l = b + h_->lanes_off + i * lane_bytes;
      lanes_[i] = RingView(reinterpret_cast<shm::RingControl*>(l),
                           reinterpret_cast<std::atomic<uint64_t>*>(l + sizeof(shm::RingControl)),
                           h_->lane_capacity);
    }
    arena_ = Arena(h_, reinterpret_cast<shm::PageDesc*>(b + h_->pages_off), b + h_->arena_off,
                   h_->page_count);
    jc_ = reinterpret_cast<shm::JournalControl*>(b + h_->journal_off);
    jcells_ =
        reinterpret_cast<shm::JournalCell*>(b + h_->journal_off + sizeof(shm::JournalControl));
    jmask_ = h_->journal_capacity - 1;
    if (h_->fifo_off != 0) {
      fc_ = reinterpret_cast<shm::FifoControl*>(b + h_->fifo_off);
      groups_ = reinterpret_cast<shm::FifoGroup*>(b + h_->fifo_groups_off);
      nodes_ = reinterpret_cast<shm::FifoNode*>(b + h_->fifo_nodes_off);
      dedup_ = reinterpret_cast<shm::FifoDedup*>(b + h_->fifo_dedup_off);
      dedup_index_ = reinterpret_cast<uint64_t*>(b + h_->fifo_dedup_index_off);
      attempts_ = reinterpret_cast<shm::FifoAttempt*>(b + h_->fifo_attempts_off);
      releases_ = RingView(reinterpret_cast<shm::RingControl*>(b + h_->fifo_release_off),
                           reinterpret_cast<std::atomic<uint64_t>*>(b + h_->fifo_release_off +
                                                                    sizeof(shm::RingControl)),
                           h_->fifo_release_capacity);
    }
  }

  // ---- time -------------------------------------------------------------------------------
  [[nodiscard]] uint64_t now_rel_ms() const noexcept { return rel_ms(clock_->mono_ns()); }
  // Milliseconds after the segment's monotonic base for a CLOCK_MONOTONIC reading.
  [[nodiscard]] uint64_t rel_ms(int64_t mono_ns) const noexcept {
    int64_t v = (mono_ns - h_->mono_base_ns) / 1'000'000;
    return v < 0 ? 0 : static_cast<uint64_t>(v);
  }
  [[nodiscard]] int64_t unix_ms() const noexcept { return clock_->unix_ms(); }
  // When a journaled delete or visibility change happened: replay only compares it with the
  // 5-minute deduplication window, so the coarse clock (a few ms, no TSC read) is enough.
  [[nodiscard]] int64_t event_unix_ms() const noexcept {
    if (clock_ != &SystemClock::instance()) {
      return clock_->unix_ms();
    }
    timespec ts{};
    (void)clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1'000'000;
  }

  // ---- receipt handles --------------------------------------------------------------------
  void make_handle(uint32_t slot, uint32_t inc, uint32_t epoch, std::string& out) const {
    uint8_t buf[kHandleBytes];
    std::memcpy(buf, &slot, 4);
    std::memcpy(buf + 4, &inc, 4);
    std::memcpy(buf + 8, &epoch, 4);
    uint64_t mac = common::siphash24(h_->mac_key, buf, 12);
    std::memcpy(buf + 12, &mac, 8);
    encode_handle(buf, out);
  }

  Result<Handle> parse_handle(std::string_view s) const {
    uint8_t buf[kHandleBytes];
    if (s.size() != kHandleChars || !decode_handle(s, buf)) {
      return invalid_handle(s);
    }
    uint64_t mac = 0;
    std::memcpy(&mac, buf + 12, 8);
    if (mac != common::siphash24(h_->mac_key, buf, 12)) {
      return invalid_handle(s);
    }
    Handle hd;
    std::memcpy(&hd.slot, buf, 4);
    std::memcpy(&hd.incarnation, buf + 4, 4);
    std::memcpy(&hd.epoch, buf + 8, 4);
    if (hd.slot >= slot_count_ || hd.epoch > queue::kEpochMask) {
      return invalid_handle(s);
    }
    return hd;
  }

  // ---- slots ------------------------------------------------------------------------------
  // Claims a FREE slot for writing. Returns the slot index or -1 if none is free.
  int64_t claim_slot(uint64_t owner, uint32_t& epoch_out) noexcept {
    const uint32_t words = slot_count_ / 64;
    for (int round = 0; round < 2; ++round) {
      // No division per word: a send into a nearly full queue may look at every word.
      uint32_t w = tl_slot_word < words ? tl_slot_word : tl_slot_word % words;
      for (uint32_t i = 0; i < words; ++i, w = w + 1 == words ? 0 : w + 1) {
        // relaxed: hint bits; the state CAS below synchronises.
        uint64_t v = slot_bits_[w].load(std::memory_order_relaxed);
        while (v != 0) {
          const int b = std::countr_zero(v);
          const uint64_t bit = uint64_t{1} << b;
          if (!slot_bits_[w].compare_exchange_weak(v, v & ~bit, std::memory_order_relaxed)) {
            continue;  // v reloaded
          }
          v &= ~bit;
          LQS_CRASH_POINT("send.after_bit_clear");
          const uint32_t idx = w * 64 + static_cast<uint32_t>(b);
          // acquire: pairs with the release CAS that freed the slot.
          uint64_t s = slots_[idx].state.load(std::memory_order_acquire);
          StateWord sw = StateWord::decode(s);
          if (sw.state != SlotState::kFree) {
            continue;  // stale hint
          }
          const uint32_t e = next_epoch(sw.epoch);
          // acq_rel: claims the slot (in-progress marker carries our owner token).
          if (slots_[idx].state.compare_exchange_strong(
                  s, make_state(SlotState::kWriting, e, 0, common::self_owner_token()),
                  std::memory_order_acq_rel)) {
            tl_slot_word = w;
            epoch_out = e;
            (void)owner;
            return idx;
          }
        }
      }
      // Nothing hinted free: restore hints lost to crashes, then look again. A full queue is
      // the usual reason, and a producer retrying against it must not rescan every slot on
      // each attempt (that scan also pulls every slot's line away from the consumers), so
      // the rebuild runs at most once per kHintRebuildIntervalMs per queue.
      if (round == 0 && !fifo_make_room() && (!claim_hint_rebuild() || rebuild_slot_hints() == 0)) {
        break;
      }
    }
    return -1;
  }

  // True if this caller may rebuild the free-slot hints now (rate limit shared by all
  // processes through the header).
  bool claim_hint_rebuild() noexcept {
    return claim_due(h_->hint_rebuild_due_ms, kHintRebuildIntervalMs, now_rel_ms());
  }

  // A rate limit shared by every process through a header word: true for the one caller that
  // finds `due_ms` reached at `now` and moves it `interval_ms` ahead.
  static bool claim_due(std::atomic<int64_t>& due_ms, int64_t interval_ms, uint64_t now) noexcept {
    const auto n = static_cast<int64_t>(now);
    // relaxed: the word only rate-limits a repair; the slot states carry the truth.
    int64_t due = due_ms.load(std::memory_order_relaxed);
    return n >= due &&
           due_ms.compare_exchange_strong(due, n + interval_ms, std::memory_order_relaxed);
  }

  uint64_t rebuild_slot_hints() noexcept {
    uint64_t n = 0;
    for (uint32_t i = 0; i < slot_count_; ++i) {
      if (StateWord::decode(slots_[i].state.load(std::memory_order_acquire)).state ==
          SlotState::kFree) {
        const uint64_t bit = uint64_t{1} << (i % 64);
        if ((slot_bits_[i / 64].load(std::memory_order_relaxed) & bit) == 0) {
          slot_bits_[i / 64].fetch_or(bit, std::memory_order_release);
          ++n;
        }
      }
    }
    return n;
  }

  // Returns a slot in DELETING, or in WRITING with a dead owner, to FREE and frees its record.
  // Several processes may run this for the same slot at once (the deleter and sweepers, or two
  // recoverers); the first to finish frees the record and then the slot, which a producer may
  // claim at once, with a new incarnation and a new record. So the descriptor is read first
  // and trusted only if the state word is still `expected_state` afterwards: then the
  // incarnation read is the old one, and the owner-checked free below cannot touch a chunk of
  // the slot's next message. (Without the re-check, a slow sweeper could read the next
  // message's incarnation and free its live record.)
  void release_slot(uint32_t idx, uint64_t expected_state) noexcept {
    shm::Slot& s = slots_[idx];
    // acquire: pairs with the claimer's release store of a new incarnation; having read it
    // would imply the state re-load below sees the claim (so the re-check fails).
    const uint32_t inc = s.incarnation.load(std::memory_order_acquire);
    const uint64_t off = s.record_off.load(std::memory_order_relaxed);
    const uint32_t len = s.record_len.load(std::memory_order_relaxed);
    // acquire: ordered after the loads above (they are acquire or precede this one).
    if (s.state.load(std::memory_order_acquire) != expected_state) {
      return;  // another process completed this release; the slot may be reused already
    }
    if (off != kNoOffset) {
      arena_.free(off, len, queue::owner_token(idx, inc));
    }
    LQS_CRASH_POINT("delete.after_free_record");
    StateWord sw = StateWord::decode(expected_state);
    uint64_t expected = expected_state;
    // release: our reads of the record are done before the slot can be claimed again.
    if (s.state.compare_exchange_strong(expected, make_state(SlotState::kFree, sw.epoch, 0, 0),
                                        std::memory_order_release, std::memory_order_relaxed)) {
      LQS_CRASH_POINT("delete.after_free_slot");
      slot_bits_[idx / 64].fetch_or(uint64_t{1} << (idx % 64), std::memory_order_release);
    }
  }

  // Moves a live slot (READY, PUBLISHING, DELAYED, LEASED) in state `s` to DELETING and frees
  // it. Returns false if the state changed first.
  // FIFO: `now` (monotonic ms, kNoNow: read here) judges whether the group is still locked
  // afterwards; it is read before the index mutex, not under it.
  static constexpr uint64_t kNoNow = UINT64_MAX;
  bool delete_slot(uint32_t idx, uint64_t s, bool journal = true, uint64_t now = kNoNow) noexcept {
    StateWord sw = StateWord::decode(s);
    const uint64_t deleting = make_state(SlotState::kDeleting, sw.epoch, sw.tver, 0);
    const EventSubject subject = journal ? event_subject(idx) : EventSubject{};
    if (fifo()) {
      return fifo_delete_slot(idx, s, deleting, subject, now);
    }
    // acq_rel: wins the message against receivers, sweepers and other deleters.
    if (!slots_[idx].state.compare_exchange_strong(s, deleting, std::memory_order_acq_rel)) {
      return false;
    }
    LQS_CRASH_POINT("delete.after_mark");
    journal_message_event(shm::kJournalDelete, idx, subject, 0);
    release_slot(idx, deleting);
    finish_journal();
    return true;
  }

  // ---- durability journal (FORMAT.md, "Journal") ------------------------------------------
  static constexpr uint64_t kNoTicket = UINT64_MAX;
  static constexpr uint64_t kNothingToWaitFor = UINT64_MAX - 1;
  static constexpr int64_t kSyncSpinUs = 500;  // a sync sender yields this long, then sleeps

  [[nodiscard]] Durability durability() const noexcept {
    // relaxed: an attribute, read once per operation.
    return static_cast<Durability>(h_->durability.load(std::memory_order_relaxed));
  }

  // Raises the flag that makes lqsd snapshot the queue. Called once the operation whose
  // event was lost is complete (the message published, the slot freed), never before: lqsd
  // may take the flag and snapshot at once, and must then see the operation's effect.
  void raise_overflow() noexcept {
    // relaxed: a flag lqsd polls; the snapshot reads the slots, which carry their own
    // ordering. Loaded first so that a queue running without lqsd does not write the line
    // on every operation.
    if (jc_->overflow.load(std::memory_order_relaxed) == 0) {
      jc_->overflow.store(1, std::memory_order_relaxed);
      jc_->overflows_total.fetch_add(1, std::memory_order_relaxed);
    }
  }

  // An event of this thread's current operation could not be journaled; raised by
  // finish_journal() when the operation is complete.
  static inline thread_local bool tl_event_lost = false;

  void finish_journal() noexcept {
    if (tl_event_lost) {
      tl_event_lost = false;
      raise_overflow();
    }
  }

  [[nodiscard]] bool drainer_alive() const noexcept {
    // acquire: pairs with journal_attach()'s CAS (only to read a complete token).
    const uint64_t o = jc_->drainer_owner.load(std::memory_order_acquire);
    return o != 0 && common::owner_alive(o);
  }

  // Wakes lqsd if it sleeps on the doorbell: one seq_cst load and no syscall otherwise.
  void ring_doorbell() noexcept {
    // seq_cst: Dekker pair with lqsd's journal_set_sleeping(true) (seq_cst store) followed by
    // its re-check of our tail: either it sees our event, or we see it sleeping.
    if (jc_->drainer_sleeping.load(std::memory_order_seq_cst) != 0) {
      jc_->doorbell.fetch_add(1, std::memory_order_seq_cst);
      common::futex_wake(&jc_->doorbell, INT_MAX);
    }
  }

  // Appends one event. Returns its ticket, or kNoTicket when the queue is memory-only or the
  // event was not journaled (async with no lqsd, journal full, or lqsd skipped our cell):
  // then tl_event_lost is set, and finish_journal() raises `overflow` once the operation is
  // complete, so that lqsd snapshots the queue instead.
  uint64_t journal_append(uint32_t kind, uint32_t slot, uint32_t inc, const uint8_t* message_id,
                          uint32_t arg, uint64_t sequence) noexcept {
    const uint64_t t = journal_claim();
    if (t == kNoTicket) {
      return kNoTicket;
    }
    LQS_CRASH_POINT("journal.after_claim");
    return journal_fill(t, kind, slot, inc, message_id, arg, sequence) ? t : kNoTicket;
  }

  // Claims a ticket by CAS of `tail` once its cell is free for it: the ticket, or kNoTicket
  // (memory queue; async with no lqsd; full: tl_event_lost is set). A sync sender gives a
  // live lqsd up to 100 ms to make room first.
  uint64_t journal_claim() noexcept {
    const Durability d = durability();
    if (d == Durability::kMemory) {
      return kNoTicket;
    }
    // async with no lqsd attached: nothing would drain the journal; lqsd snapshots the queue
    // when it attaches (the flag raised at the end of the operation tells it to). relaxed:
    // a hint; an lqsd attaching meanwhile sees the flag.
    if (d == Durability::kAsync && jc_->drainer_owner.load(std::memory_order_relaxed) == 0) {
      tl_event_lost = true;
      return kNoTicket;
    }
    // relaxed: the cell's seq (acquire, below) decides whether the ticket is ours to take.
    uint64_t t = jc_->tail.load(std::memory_order_relaxed);
    std::chrono::steady_clock::time_point room_deadline{};
    for (;;) {
      // acquire: pairs with lqsd's release when it freed the cell, so its reads of the
      // previous lap's fields happen before our writes.
      const uint64_t seq = jcells_[t & jmask_].seq.load(std::memory_order_acquire);
      const auto diff = static_cast<int64_t>(seq - t);
      if (diff == 0) {
        // relaxed: Vyukov's ring; the cell's seq carries the ordering.
        if (jc_->tail.compare_exchange_weak(t, t + 1, std::memory_order_relaxed)) {
          return t;
        }
      } else if (diff < 0) {  // full: lqsd has not freed the previous lap's cell yet
        if (d == Durability::kSync && drainer_alive()) {
          const auto now = std::chrono::steady_clock::now();
          if (room_deadline == std::chrono::steady_clock::time_point{}) {
            room_deadline = now + std::chrono::milliseconds(100);
          }
          if (now < room_deadline) {
            ring_doorbell();
            std::this_thread::yield();
            t = jc_->tail.load(std::memory_order_relaxed);
            continue;
          }
        }
        tl_event_lost = true;
        return kNoTicket;
      } else {
        t = jc_->tail.load(std::memory_order_relaxed);
      }
    }
  }

  // Fills and publishes the cell of claimed ticket `t`. False if lqsd skipped it meanwhile.
  bool journal_fill(uint64_t t, uint32_t kind, uint32_t slot, uint32_t inc,
                    const uint8_t* message_id, uint32_t arg, uint64_t sequence) noexcept {
    shm::JournalCell& c = jcells_[t & jmask_];
    uint64_t id[2] = {0, 0};
    if (message_id != nullptr) {
      std::memcpy(id, message_id, 16);
    }
    // relaxed: published by the seq CAS below.
    c.kind.store(kind, std::memory_order_relaxed);
    c.slot.store(slot, std::memory_order_relaxed);
    c.incarnation.store(inc, std::memory_order_relaxed);
    c.arg.store(arg, std::memory_order_relaxed);
    c.unix_ms.store(kind == shm::kJournalSend ? 0 : event_unix_ms(), std::memory_order_relaxed);
    c.message_id[0].store(id[0], std::memory_order_relaxed);
    c.message_id[1].store(id[1], std::memory_order_relaxed);
    c.reserved[0].store(sequence, std::memory_order_relaxed);
    uint64_t expected = t;
    // release: publishes the fields; pairs with lqsd's acquire load of seq. A CAS, not a
    // store: lqsd may have skipped this cell after we stalled kJournalStallMs.
    if (!c.seq.compare_exchange_strong(expected, t + 1, std::memory_order_release,
                                       std::memory_order_relaxed)) {
      tl_event_lost = true;
      return false;
    }
    return true;
  }

  // The message a journal event names: the slot's incarnation and the message's id.
  struct EventSubject {
    uint32_t inc = 0;
    std::array<uint8_t, 16> id{};
    bool valid = false;  // false: memory queue, or a corrupt record (nothing a log could use)
  };

  // Reads the subject of an event about slot `idx` BEFORE the state CAS that the event
  // records. After a delete's mark, a sweep (repair_slot) may complete the delete and a
  // producer reuse the slot at once, so what is read after the mark can be the next
  // message's; read before, it is the message the CAS then wins (a reuse in between changes
  // the state, and the CAS fails). A read that races a reuse yields garbage that the failed
  // CAS discards: arena memory stays mapped.
  [[nodiscard]] EventSubject event_subject(uint32_t idx) const noexcept {
    EventSubject e;
    if (durability() == Durability::kMemory) {
      return e;
    }
    const shm::Slot& s = slots_[idx];
    // acquire: as release_slot(): the incarnation first, then the record fields.
    e.inc = s.incarnation.load(std::memory_order_acquire);
    const uint64_t off = s.record_off.load(std::memory_order_relaxed);
    const uint32_t len = s.record_len.load(std::memory_order_relaxed);
    if (len < sizeof(shm::RecordHeader) || !arena_.valid_ref(off, len)) {
      return e;  // a corrupt record: nothing a log could restore either
    }
    std::memcpy(e.id.data(), arena_.record(off), 16);
    e.valid = true;
    return e;
  }

  // Journals an event about the message `e` read from slot `idx` (event_subject()).
  void journal_message_event(uint32_t kind, uint32_t idx, const EventSubject& e,
                             uint32_t arg) noexcept {
    if (e.valid) {
      (void)journal_append(kind, idx, e.inc, e.id.data(), arg, 0);
    }
  }

  // Restore (REQUIRES: the FIFO mutex): the deduplication record of restored message `m`
  // (parsed as `rm`), if its 5-minute window is still open.
  void restore_message_dedup(const ReceivedMessage& rm, const Queue::StoredMessage& m,
                             int64_t unix_now) {
    if (rm.message_deduplication_id.empty()) {
      return;
    }
    const uint32_t flags = h_->fifo_flags.load(std::memory_order_relaxed);
    const Key dkey =
        key_of((flags & shm::kFifoScopeGroup) != 0 ? rm.message_group_id : std::string_view(),
               rm.message_deduplication_id);
    dedup_restore(dkey, m.sent_unix_ms + kDedupWindowMs, m.sequence, m.message_id, unix_now);
  }

  // A sync sender waits until lqsd has put `ticket` on disk (kNoTicket: the event was not
  // journaled, so it cannot be confirmed).
  Result<void> wait_durable(uint64_t ticket, int64_t timeout_ms) {
    if (ticket == kNothingToWaitFor) {
      return {};
    }
    if (ticket == kNoTicket) {
      return make_error(ErrorCode::kTimedOut,
                        "LqsDurability=sync: the journal of queue " + name_ +
                            " is full (is lqsd running?); the message was sent but is not "
                            "known to be on disk");
    }
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + std::chrono::milliseconds(std::max<int64_t>(0, timeout_ms));
    for (;;) {
      // seq_cst: see the Dekker pair in journal_commit().
      if (jc_->head.load(std::memory_order_seq_cst) > ticket) {
        return {};
      }
      ring_doorbell();
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) {
        // relaxed: a diagnostic only.
        const int err = jc_->drainer_errno.load(std::memory_order_relaxed);
        if (err != 0 && drainer_alive()) {
          const char* text = strerrordesc_np(err);
          return make_error(err == ENOSPC ? ErrorCode::kNoSpace : ErrorCode::kTimedOut,
                            "LqsDurability=sync: lqsd cannot write its log (" +
                                std::string(text != nullptr ? text : "error") +
                                "); the message was sent but is not on disk");
        }
        return make_error(ErrorCode::kTimedOut,
                          drainer_alive()
                              ? "LqsDurability=sync: lqsd did not confirm the record on disk "
                                "within " +
                                    std::to_string(timeout_ms) +
                                    " ms; the message was sent but may not survive a reboot"
                              : "LqsDurability=sync: no lqsd is running for queue " + name_ +
                                    " to write its journal to disk; the message was sent but "
                                    "is not durable");
      }
      // A group commit takes about one fdatasync (~50-100 µs here): yield through it rather
      // than pay a futex sleep and wake-up (26-40 µs each on this VM) on top.
      if (now - start < std::chrono::microseconds(kSyncSpinUs)) {
        std::this_thread::yield();
        continue;
      }
      const int64_t left_ns =
          std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - now).count();
      // seq_cst: Dekker pair with journal_commit(): we announce ourselves, then re-check head;
      // lqsd stores head, then checks sync_waiters. One of the two sees the other.
      jc_->sync_waiters.fetch_add(1, std::memory_order_seq_cst);
      const uint32_t v = jc_->durable_futex.load(std::memory_order_seq_cst);
      if (jc_->head.load(std::memory_order_seq_cst) <= ticket) {
        common::futex_wait(&jc_->durable_futex, v, std::min<int64_t>(left_ns, 50'000'000));
      }
      jc_->sync_waiters.fetch_sub(1, std::memory_order_seq_cst);
    }
  }

  // PUBLISHING → (push) → READY, for a slot whose PUBLISHING state `s` we just wrote or found.
  void publish(uint32_t idx, uint64_t s) noexcept {
    StateWord sw = StateWord::decode(s);
    if (fifo()) {
      // FIFO: no ready ring; the message keeps its place in its group's list. release: as
      // below (the record was written before PUBLISHING; a receiver's acquire CAS pairs).
      uint64_t expected = s;
      (void)slots_[idx].state.compare_exchange_strong(
          expected, make_state(SlotState::kReady, sw.epoch, sw.tver, 0), std::memory_order_release,
          std::memory_order_relaxed);
      fifo_group_may_be_ready(idx);
      return;
    }
    if (!ready_.push(make_entry(idx, sw.epoch, sw.tver))) {
      return;  // ring full of stale entries: stays PUBLISHING; the sweep publishes it later
    }
    LQS_CRASH_POINT("send.after_push");
    uint64_t expected = s;
    // release: a receiver that sees READY also sees the record (written before PUBLISHING).
    (void)slots_[idx].state.compare_exchange_strong(
        expected, make_state(SlotState::kReady, sw.epoch, sw.tver, 0), std::memory_order_release,
        std::memory_order_relaxed);
  }

  // Wakes parked receivers, if any: one seq_cst load and no syscall when nobody is parked.
  void wake_receivers() noexcept {
    // seq_cst: Dekker pair with register_waiter(): our earlier ring/lane push (seq_cst) and
    // this load, against the receiver's bit set (seq_cst RMW) and its later re-check of the
    // ring. Either we see its bit, or it sees our message.
    if (h_->waiter_bits.load(std::memory_order_seq_cst) != 0) {
      h_->futex_seq.fetch_add(1, std::memory_order_seq_cst);
      common::futex_wake(&h_->futex_seq, INT_MAX);
    }
  }

  // ---- parked receivers -------------------------------------------------------------------
  // A receiver about to park takes a free entry of waiter_owner (CAS 0 → its owner token),
  // then sets the entry's bit in waiter_bits; it clears the bit, then frees the entry, when
  // it wakes. Crash table: killed after the CAS, before the bit → a dead entry without a bit;
  // killed while registered → a dead entry with its bit (senders make a needless wake
  // syscall); killed after clearing the bit → a dead entry. recover() clears the bit and
  // frees the entry of every dead owner. Returns the entry, or -1 when all are taken (the
  // caller then parks in short naps instead).
  int register_waiter() noexcept {
    const uint64_t me = common::self_owner_token();
    for (uint32_t i = 0; i < shm::kMaxWaiters; ++i) {
      uint64_t expected = 0;
      // relaxed: the entry only names its owner for recovery; the bit below is what senders
      // read.
      if (h_->waiter_owner[i].load(std::memory_order_relaxed) == 0 &&
          h_->waiter_owner[i].compare_exchange_strong(expected, me, std::memory_order_relaxed)) {
        // seq_cst: see wake_receivers().
        h_->waiter_bits.fetch_or(uint64_t{1} << i, std::memory_order_seq_cst);
        return static_cast<int>(i);
      }
    }
    return -1;
  }

  void unregister_waiter(int i) noexcept {
    if (i < 0) {
      return;
    }
    h_->waiter_bits.fetch_and(~(uint64_t{1} << i), std::memory_order_relaxed);
    h_->waiter_owner[i].store(0, std::memory_order_relaxed);
  }

  // Frees the waiter entries of dead processes (makes system calls: recovery only).
  uint64_t reap_dead_waiters() noexcept {
    uint64_t n = 0;
    for (uint32_t i = 0; i < shm::kMaxWaiters; ++i) {
      uint64_t owner = h_->waiter_owner[i].load(std::memory_order_relaxed);
      if (owner == 0 || common::owner_alive(owner)) {
        continue;
      }
      h_->waiter_bits.fetch_and(~(uint64_t{1} << i), std::memory_order_relaxed);
      if (h_->waiter_owner[i].compare_exchange_strong(owner, 0, std::memory_order_relaxed)) {
        ++n;
      }
    }
    return n;
  }

  // ---- timer lanes ------------------------------------------------------------------------
  void lane_push(uint64_t duration_ms, uint64_t entry) noexcept {
    const int64_t tag = static_cast<int64_t>(duration_ms) + 1;
    int free_lane = -1;
    int nearest = -1;
    int64_t nearest_gap = INT64_MAX;
    for (uint32_t i = 0; i < shm::kLaneCount; ++i) {
      // relaxed: tags only steer entries; a wrong lane delays expiry, never breaks it.
      const int64_t t = h_->lane_duration_ms[i].load(std::memory_order_relaxed);
      if (t == tag) {
        if (lanes_[i].push(entry)) {
          return;
        }
      } else if (t == 0) {
        if (free_lane < 0) {
          free_lane = static_cast<int>(i);
        }
      } else {
        const int64_t gap = t > tag ? t - tag : tag - t;
        if (gap < nearest_gap) {
          nearest_gap = gap;
          nearest = static_cast<int>(i);
        }
      }
    }
    if (free_lane >= 0) {
      int64_t expected = 0;
      if (h_->lane_duration_ms[free_lane].compare_exchange_strong(expected, tag,
                                                                  std::memory_order_relaxed) ||
          expected == tag) {
        if (lanes_[free_lane].push(entry)) {
          return;
        }
      }
    }
    if (nearest >= 0 && lanes_[nearest].push(entry)) {
      return;
    }
    for (auto& lane : lanes_) {
      if (lane.push(entry)) {
        return;
      }
    }
    // Every lane full: the incremental sweep and recover() still find the slot by its state.
  }

  // Earliest due time at a lane head (ms after base), or UINT64_MAX.
  uint64_t next_due_ms() noexcept {
    uint64_t due = UINT64_MAX;
    for (uint32_t i = 0; i < shm::kLaneCount; ++i) {
      if (h_->lane_duration_ms[i].load(std::memory_order_relaxed) == 0) {
        continue;
      }
      uint64_t unused = 0;
      (void)lanes_[i].pop(
          [&](uint64_t entry) {
            const uint32_t idx = queue::entry_slot(entry);
            if (idx >= slot_count_) {
              return PopVerdict::kDiscard;
            }
            StateWord sw = StateWord::decode(slots_[idx].state.load(std::memory_order_acquire));
            if ((sw.state == SlotState::kLeased || sw.state == SlotState::kDelayed) &&
                sw.epoch == queue::entry_epoch(entry) && sw.tver == queue::entry_tver(entry)) {
              due = std::min(due, sw.value);
              return PopVerdict::kStop;
            }
            return PopVerdict::kDiscard;
          },
          unused);
    }
    return due;
  }

  // ---- records ----------------------------------------------------------------------------
  static size_t record_size(const SendRequest& r, std::string_view source) noexcept {
    size_t n = sizeof(shm::RecordHeader) + r.body.size() + r.message_group_id.size() +
               r.aws_trace_header.size() + source.size();
    for (const auto& a : r.attributes) {
      n += 8 + a.name.size() + a.data_type.size() + a.value.size();
    }
    return n;
  }

  // Appends `n` bytes at `p` and returns the end. memcpy's source must never be null, and
  // an empty std::string_view may carry a null data() — so empty copies are skipped.
  static uint8_t* put(uint8_t* p, const void* src, size_t n) noexcept {
    if (n != 0) {
      std::memcpy(p, src, n);
    }
    return p + n;
  }

  static void write_record(uint8_t* dst, const SendRequest& r, const MessageId& id,
                           std::string_view source) noexcept {
    shm::RecordHeader rh{};
    std::memcpy(rh.message_id, id.bytes.data(), 16);
    rh.body_len = static_cast<uint32_t>(r.body.size());
    rh.attr_count = static_cast<uint16_t>(r.attributes.size());
    rh.group_len = static_cast<uint16_t>(r.message_group_id.size());
    rh.trace_len = static_cast<uint16_t>(r.aws_trace_header.size());
    rh.source_len = static_cast<uint16_t>(source.size());
    uint8_t* p = dst + sizeof rh;
    p = put(p, r.body.data(), r.body.size());
    p = put(p, r.message_group_id.data(), r.message_group_id.size());
    p = put(p, r.aws_trace_header.data(), r.aws_trace_header.size());
    p = put(p, source.data(), source.size());
    // Attributes sorted by name (byte order = code-point order), as MD5OfMessageAttributes
    // wants them, so receive never sorts.
    std::array<uint8_t, 16> order{};
    const size_t n = std::min<size_t>(r.attributes.size(), order.size());
    for (size_t i = 0; i < n; ++i) {
      order[i] = static_cast<uint8_t>(i);
    }
    std::sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n),
              [&](uint8_t a, uint8_t b) { return r.attributes[a].name < r.attributes[b].name; });
    const uint8_t* attrs_start = p;
    for (size_t i = 0; i < n; ++i) {
      const MessageAttribute& a = r.attributes[order[i]];
      const auto nl = static_cast<uint16_t>(a.name.size());
      const auto tl = static_cast<uint16_t>(a.data_type.size());
      const auto vl = static_cast<uint32_t>(a.value.size());
      p = put(p, &nl, 2);
      p = put(p, &tl, 2);
      p = put(p, &vl, 4);
      p = put(p, a.name.data(), nl);
      p = put(p, a.data_type.data(), tl);
      p = put(p, a.value.data(), vl);
    }
    rh.attrs_len = static_cast<uint32_t>(p - attrs_start);
    std::memcpy(dst, &rh, sizeof rh);
  }

  // Copies a record out of shared memory into `m`, checking every length against the record
  // size first (shm is untrusted). False if the record is inconsistent.
  bool read_record(uint32_t idx, ReceivedMessage& m, const ReceiveOptions& o) const {
    const shm::Slot& s = slots_[idx];
    const uint64_t off = s.record_off.load(std::memory_order_relaxed);
    const uint32_t len = s.record_len.load(std::memory_order_relaxed);
    if (len < sizeof(shm::RecordHeader) || !arena_.valid_ref(off, len)) {
      return false;
    }
    return parse_record(arena_.record(off), len, m, o);
  }

  // Parses the `len` bytes of a record at `p` (from shared memory or the log: untrusted).
  static bool parse_record(const uint8_t* p, uint64_t len, ReceivedMessage& m,
                           const ReceiveOptions& o) {
    if (len < sizeof(shm::RecordHeader)) {
      return false;
    }
    shm::RecordHeader rh{};
    std::memcpy(&rh, p, sizeof rh);
    const uint64_t fixed =
        uint64_t{sizeof rh} + rh.body_len + rh.group_len + rh.trace_len + rh.source_len;
    if (fixed > len || fixed + rh.attrs_len != len || rh.attr_count > 10 ||
        rh.source_len > shm::kQueueNameMax) {
      return false;
    }
    std::memcpy(m.message_id.bytes.data(), rh.message_id, 16);
    p += sizeof rh;
    // Each field assigned in place (keeping the strings' capacity from one receive to the
    // next); an empty one only cleared: assign() of nothing still costs a _M_replace call,
    // and a standard message's group, trace header and source queue are usually empty.
    const auto take = [&p](std::string& out, size_t n) {
      if (n == 0) {
        out.clear();
      } else {
        out.assign(reinterpret_cast<const char*>(p), n);
        p += n;
      }
    };
    take(m.body, rh.body_len);
    // FIFO: "group NUL deduplication id".
    const std::string_view group(reinterpret_cast<const char*>(p), rh.group_len);
    const size_t nul = group.find('\0');
    take(m.message_group_id, std::min(nul, group.size()));
    if (nul == std::string_view::npos) {
      m.message_deduplication_id.clear();
    } else {
      ++p;  // the NUL
      take(m.message_deduplication_id, group.size() - nul - 1);
    }
    take(m.aws_trace_header, rh.trace_len);
    take(m.dead_letter_source_queue, rh.source_len);
    m.attributes.clear();
    const uint8_t* end = p + rh.attrs_len;
    for (uint16_t i = 0; i < rh.attr_count; ++i) {
      if (end - p < 8) {
        return false;
      }
      uint16_t nl = 0;
      uint16_t tl = 0;
      uint32_t vl = 0;
      std::memcpy(&nl, p, 2);
      std::memcpy(&tl, p + 2, 2);
      std::memcpy(&vl, p + 4, 4);
      p += 8;
      if (static_cast<uint64_t>(end - p) < uint64_t{nl} + tl + vl) {
        return false;
      }
      std::string_view name(reinterpret_cast<const char*>(p), nl);
      if (!o.message_attribute_names.empty() &&
          queue::message_attribute_selected(o.message_attribute_names, name)) {
        MessageAttribute a;
        a.name.assign(name);
        a.data_type.assign(reinterpret_cast<const char*>(p + nl), tl);
        a.value.assign(reinterpret_cast<const char*>(p + nl + tl), vl);
        m.attributes.push_back(std::move(a));
      }
      p += uint64_t{nl} + tl + vl;
    }
    return p == end;
  }

  // ---- send -------------------------------------------------------------------------------
  // What a dead-letter move keeps of the original message (see move_to_dlq()).
  struct MoveSpec {
    MessageId message_id;
    int64_t sent_unix_ms = 0;
    uint32_t receive_count = 0;
    int64_t first_receive_unix_ms = 0;
    std::string_view source_queue;
  };

  // The clocks a send reads, read once for a whole batch.
  struct SendClocks {
    int64_t unix_ms = 0;
    uint64_t rel_ms = 0;  // 0 when not read
  };

  // `ticket_out`: where to leave the journal ticket of the send for the caller to wait on
  // (send_batch waits once for all entries); nullptr: a sync send waits here.
  // `clocks`: read once by the caller for a whole batch (nullptr: read here).
  Result<SendResult> send_one(const SendRequest& r, const SendOptions& opts, bool wake,
                              const MoveSpec* move = nullptr, uint64_t* ticket_out = nullptr,
                              const SendClocks* clocks = nullptr) {
    uint64_t ticket = kNoTicket;
    auto res = send_impl(r, opts, wake, move, ticket, clocks);
    finish_journal();  // the message is published (or the send failed) by now
    if (!res || durability() != Durability::kSync) {
      return res;
    }
    if (ticket_out != nullptr) {
      *ticket_out = ticket;
      return res;
    }
    if (auto w = wait_durable(ticket, opts.durability_timeout_ms); !w) {
      return std::move(w).error();
    }
    return res;
  }

  Result<SendResult> send_impl(const SendRequest& r, const SendOptions& opts, bool wake,
                               const MoveSpec* move, uint64_t& ticket,
                               const SendClocks* clocks = nullptr) {
    if (fifo()) {
      FifoEntry e;
      fifo_send(std::span(&r, 1), opts, move, clocks, std::span(&e, 1));
      ticket = e.ticket;
      if (e.error) {
        return std::move(*e.error);
      }
      if (wake) {
        wake_receivers();
      }
      return e.p.result;
    }
    PreparedSend p;
    if (auto v = send_prepare(r, opts, move, clocks, p); !v) {
      return std::move(v).error();
    }
    return send_commit(p, wake, ticket);
  }

  // A FIFO key: a 128-bit keyed hash (key_of()) of a group, deduplication or attempt id.
  struct Key {
    uint64_t lo = 0;
    uint64_t hi = 0;
    bool operator==(const Key&) const = default;
  };
  static constexpr Key kTombstone{0, 1};

  // The hashed keys of a FIFO send, computed before the mutex.
  struct FifoPrepared {
    Key dkey;  // deduplication: (group if scope is messageGroup) NUL id
    Key gkey;  // the message group
  };

  // A send up to its commit: validated, a slot claimed (WRITING, ours), the record and the
  // descriptor written. send_commit() or fifo_commit() makes it receivable (or frees it).
  struct PreparedSend {
    uint32_t idx = 0;
    uint32_t epoch = 0;
    uint32_t inc = 0;
    uint64_t writing = 0;  // the slot's state word while we hold it
    int32_t delay = 0;
    uint64_t now = 0;      // monotonic ms, where a deadline needs it
    int64_t unix_now = 0;  // the wall clock read for SentTimestamp (FIFO: for deduplication)
    std::string dedup_id;  // FIFO
    FifoPrepared keys;     // FIFO
    SendResult result;
  };

  // The wall clock, and the monotonic one too if `with_rel` (one read either way).
  [[nodiscard]] SendClocks read_send_clocks(bool with_rel) const noexcept {
    if (!with_rel) {
      return {unix_ms(), 0};
    }
    const int64_t mono = clock_->mono_ns();
    return {clock_->unix_ms_at(mono), rel_ms(mono)};
  }

  // Fills `p` (a fresh PreparedSend: the caller's, so that nothing of it is moved).
  Result<void> send_prepare(const SendRequest& r, const SendOptions& opts, const MoveSpec* move,
                            const SendClocks* clocks, PreparedSend& p) {
    if (auto v = queue::validate_body(r.body); !v) {
      return std::move(v).error();
    }
    if (auto v = queue::validate_message_attributes(r.attributes); !v) {
      return std::move(v).error();
    }
    const int32_t max_size = h_->maximum_message_size.load(std::memory_order_relaxed);
    if (auto v = queue::validate_message_size(queue::message_size(r.body, r.attributes), max_size);
        !v) {
      return std::move(v).error();
    }
    if (!r.message_group_id.empty()) {
      if (auto v = queue::validate_message_group_id(r.message_group_id); !v) {
        return std::move(v).error();
      }
    }
    // FIFO: group required, no per-message delay, a deduplication id (explicit, the body's
    // SHA-256, or for a dead-letter move the original MessageId). The record keeps
    // "group NUL dedup-id" in its group field.
    std::string& dedup_id = p.dedup_id;
    std::string stored_group;
    if (fifo()) {
      if (r.message_group_id.empty()) {
        return make_error(ErrorCode::kMissingParameter,
                          "The request must contain the parameter MessageGroupId.");
      }
      if (r.delay_s && *r.delay_s != 0 && move == nullptr) {
        return make_error(ErrorCode::kInvalidParameterValue,
                          "Value " + std::to_string(*r.delay_s) +
                              " for parameter DelaySeconds is invalid. Reason: The request "
                              "include parameter that is not valid for this queue type.");
      }
      const uint32_t flags = h_->fifo_flags.load(std::memory_order_relaxed);
      if (move != nullptr) {
        dedup_id = move->message_id.to_string();
      } else if (!r.message_deduplication_id.empty()) {
        if (auto v =
                queue::validate_fifo_token(r.message_deduplication_id, "MessageDeduplicationId");
            !v) {
          return std::move(v).error();
        }
        dedup_id = std::string(r.message_deduplication_id);
      } else if ((flags & shm::kFifoContentDedup) != 0) {
        dedup_id = common::sha256_hex(r.body);
      } else {
        return make_error(ErrorCode::kInvalidParameterValue,
                          "The queue should either have ContentBasedDeduplication enabled or "
                          "MessageDeduplicationId provided explicitly");
      }
      stored_group.append(r.message_group_id).push_back('\0');
      stored_group.append(dedup_id);
      // Hashed (and their index lines prefetched) now, so that the likely cache misses of
      // fifo_commit()'s lookups overlap the slot claim and the record write below.
      p.keys = fifo_prepare(r.message_group_id, dedup_id);
    } else if (!r.message_deduplication_id.empty()) {
      return make_error(ErrorCode::kInvalidParameterValue,
                        "Value " + std::string(r.message_deduplication_id) +
                            " for parameter MessageDeduplicationId is invalid. Reason: The "
                            "request include parameter that is not valid for this queue type.");
    }
    SendRequest stored = r;  // what the record holds
    if (fifo()) {
      stored.message_group_id = stored_group;
    }
    if (r.delay_s) {
      if (auto v = queue::validate_delay(*r.delay_s); !v) {
        return std::move(v).error();
      }
    }
    if (r.aws_trace_header.size() > kMaxTraceHeader ||
        !queue::is_valid_message_text(r.aws_trace_header)) {
      return make_error(ErrorCode::kInvalidParameterValue,
                        "Value for parameter AWSTraceHeader is invalid.");
    }
    const std::string_view source = move != nullptr ? move->source_queue : std::string_view();
    const size_t rec_len = record_size(stored, source);
    if (rec_len > arena_.max_record()) {
      return make_error(ErrorCode::kQueueFull,
                        "message of " + std::to_string(rec_len) +
                            " bytes does not fit in the queue's capacity (LqsCapacityBytes)");
    }

    SendResult& result = p.result;
    result.message_id = move != nullptr ? move->message_id : common::new_message_id();
    if (opts.compute_md5) {
      result.md5_of_body = common::md5(r.body);
      if (!r.attributes.empty()) {
        result.md5_of_message_attributes = common::md5_of_message_attributes(r.attributes);
      }
      if (!r.aws_trace_header.empty()) {
        result.md5_of_message_system_attributes = common::md5_of_trace_header(r.aws_trace_header);
      }
    }

    // 1. Claim a FREE slot (state → WRITING with our owner token).
    uint32_t epoch = 0;
    int64_t claimed = claim_slot(0, epoch);
    if (claimed < 0) {
      return make_error(ErrorCode::kQueueFull,
                        "queue " + name_ + " is full: all " + std::to_string(slot_count_) +
                            " message slots are in use (LqsCapacityMessages)");
    }
    const auto idx = static_cast<uint32_t>(claimed);
    shm::Slot& s = slots_[idx];
    LQS_CRASH_POINT("send.after_claim");
    // 2. New incarnation; allocate the record owned by {slot, incarnation}.
    const uint32_t inc = s.incarnation.load(std::memory_order_relaxed) + 1;
    // release: pairs with the acquire load in release_slot(): a process that sees the new
    // incarnation also sees our claim of the slot.
    s.incarnation.store(inc, std::memory_order_release);
    s.record_off.store(kNoOffset, std::memory_order_relaxed);
    // release: the owner CAS below publishes the incarnation to scavengers.
    uint64_t off = arena_.allocate(rec_len, queue::owner_token(idx, inc));
    if (off == kNoOffset && fifo_make_room()) {
      off = arena_.allocate(rec_len, queue::owner_token(idx, inc));
    }
    if (off == kNoOffset) {
      release_slot(idx, make_state(SlotState::kWriting, epoch, 0, common::self_owner_token()));
      return make_error(ErrorCode::kQueueFull,
                        "queue " + name_ + " is full: no room for a record of " +
                            std::to_string(rec_len) + " bytes (LqsCapacityBytes)");
    }
    LQS_CRASH_POINT("send.after_alloc");
    s.record_off.store(off, std::memory_order_relaxed);
    s.record_len.store(static_cast<uint32_t>(rec_len), std::memory_order_relaxed);
    // 3. Copy the record and the descriptor.
    write_record(arena_.record(off), stored, result.message_id, source);
    // A dead-letter move is visible at once: the message already waited out its delays.
    // FIFO: only the queue's delay (an explicit DelaySeconds=0 does not override it).
    const int32_t delay = move != nullptr          ? 0
                          : (r.delay_s && !fifo()) ? *r.delay_s
                                                   : h_->delay_s.load(std::memory_order_relaxed);
    // The monotonic clock only where a deadline needs it: PUBLISHING's value is never read
    // (a clock read is ~23 ns on these VMs, a visible share of a send); where it is read, the
    // wall clock comes from it (Clock::unix_ms_at) rather than from a second read.
    const SendClocks at = clocks != nullptr ? *clocks : read_send_clocks(fifo() || delay > 0);
    const int64_t unix_now = at.unix_ms;
    s.sent_unix_ms.store(move != nullptr ? move->sent_unix_ms : unix_now,
                         std::memory_order_relaxed);
    s.first_receive_unix_ms.store(move != nullptr ? move->first_receive_unix_ms : 0,
                                  std::memory_order_relaxed);
    s.receive_count.store(move != nullptr ? move->receive_count : 0, std::memory_order_relaxed);
    s.lease_start_ms.store(0, std::memory_order_relaxed);
    LQS_CRASH_POINT("send.after_write");
    // The send event is journaled before the message can be received, so that its delete
    // can only follow it in the journal (FORMAT.md, "Journal"). FIFO: in fifo_commit(), once
    // the deduplication check has accepted the message.
    // 4. Publish (send_commit, fifo_commit): DELAYED (timer lane) or PUBLISHING → ready ring
    // → READY.
    const uint64_t writing = make_state(SlotState::kWriting, epoch, 0, common::self_owner_token());
    const uint64_t now = at.rel_ms;
    p.unix_now = unix_now;
    p.idx = idx;
    p.epoch = epoch;
    p.inc = inc;
    p.writing = writing;
    p.delay = delay;
    p.now = now;
    return {};
  }

  // A standard queue's end of a send: journal it, then DELAYED (timer lane) or
  // PUBLISHING → ready ring → READY.
  Result<SendResult> send_commit(PreparedSend& p, bool wake, uint64_t& ticket) {
    const uint32_t idx = p.idx;
    const uint32_t epoch = p.epoch;
    const int32_t delay = p.delay;
    const uint64_t now = p.now;
    const uint64_t writing = p.writing;
    shm::Slot& s = slots_[idx];
    SendResult& result = p.result;
    ticket = journal_append(shm::kJournalSend, idx, p.inc, result.message_id.bytes.data(), 0, 0);
    if (delay > 0) {
      const uint64_t delayed =
          make_state(SlotState::kDelayed, epoch, 0, now + static_cast<uint64_t>(delay) * 1000);
      uint64_t expected = writing;
      // release: the record and descriptor become visible with the state.
      (void)s.state.compare_exchange_strong(expected, delayed, std::memory_order_release,
                                            std::memory_order_relaxed);
      LQS_CRASH_POINT("send.after_delayed");
      lane_push(static_cast<uint64_t>(delay) * 1000, make_entry(idx, epoch, 0));
    } else {
      const uint64_t publishing = make_state(SlotState::kPublishing, epoch, 0, now);
      uint64_t expected = writing;
      // release: the record and descriptor become visible with the state.
      (void)s.state.compare_exchange_strong(expected, publishing, std::memory_order_release,
                                            std::memory_order_relaxed);
      LQS_CRASH_POINT("send.after_publishing");
      publish(idx, publishing);
      if (wake) {
        wake_receivers();
      }
    }
    // relaxed: a statistic, and the hint a spinning long poll watches (receive()); its line
    // is shared by producers and, for at most kReceiveSpinNs, by such a receiver.
    h_->sent_total.fetch_add(1, std::memory_order_relaxed);
    return result;
  }

  // ---- receive ----------------------------------------------------------------------------
  [[nodiscard]] bool past_retention(uint32_t idx, int64_t unix_now) const noexcept {
    const int64_t sent = slots_[idx].sent_unix_ms.load(std::memory_order_relaxed);
    const int64_t ret = h_->message_retention_period_s.load(std::memory_order_relaxed);
    return sent + ret * 1000 <= unix_now;
  }

  // Tries to take one message: due timer-lane entries first (redeliveries, delays), then the
  // ready ring. On success the slot is LEASED to us with the returned epoch.
  // `idle_lanes`: bit i set once lane i had nothing due at `now`; a receive that takes
  // several messages as of one `now` skips those lanes after the first look (what is pushed
  // meanwhile falls due after `now`, but for a visibility timeout of 0, which the next
  // receive takes).
  bool take_one(uint64_t now, int64_t unix_now, uint64_t vis_ms, uint32_t& idx_out,
                uint32_t& epoch_out, uint32_t& idle_lanes) noexcept {
    auto try_lease = [&](uint64_t entry, bool from_lane) {
      const uint32_t idx = queue::entry_slot(entry);
      if (idx >= slot_count_) {
        return PopVerdict::kDiscard;
      }
      // The state may move between our load and our CAS without making the entry stale
      // (PUBLISHING → READY by its publisher): re-judge until the CAS wins or the entry is
      // really stale. Each retry follows another process's progress, so this terminates.
      uint64_t s = slots_[idx].state.load(std::memory_order_acquire);
      for (;;) {
        StateWord sw = StateWord::decode(s);
        if (sw.epoch != queue::entry_epoch(entry)) {
          return PopVerdict::kDiscard;
        }
        if (from_lane) {
          if (!((sw.state == SlotState::kLeased || sw.state == SlotState::kDelayed) &&
                sw.tver == queue::entry_tver(entry))) {
            return PopVerdict::kDiscard;
          }
          if (sw.value > now) {
            return PopVerdict::kStop;  // the lane's head is not due: nothing behind it is
          }
        } else if (sw.state != SlotState::kReady && sw.state != SlotState::kPublishing) {
          return PopVerdict::kDiscard;
        }
        if (past_retention(idx, unix_now)) {
          (void)delete_slot(idx, s);
          return PopVerdict::kDiscard;
        }
        const uint32_t e = next_epoch(sw.epoch);
        // acq_rel: wins the message; acquire pairs with the publisher's release so the
        // record is visible. On failure `s` holds the current state.
        if (slots_[idx].state.compare_exchange_strong(
                s, make_state(SlotState::kLeased, e, 0, now + vis_ms), std::memory_order_acq_rel,
                std::memory_order_acquire)) {
          LQS_CRASH_POINT("receive.after_lease");
          idx_out = idx;
          epoch_out = e;
          return PopVerdict::kTake;
        }
      }
    };
    uint64_t entry = 0;
    for (uint32_t i = 0; i < shm::kLaneCount; ++i) {
      if ((idle_lanes & (1u << i)) != 0 ||
          h_->lane_duration_ms[i].load(std::memory_order_relaxed) == 0) {
        continue;
      }
      if (lanes_[i].pop([&](uint64_t en) { return try_lease(en, true); }, entry)) {
        return true;
      }
      idle_lanes |= 1u << i;
    }
    return ready_.pop([&](uint64_t en) { return try_lease(en, false); }, entry);
  }

  // Fills message `m` for the lease {idx, epoch}; false if the record is corrupt (the slot
  // is then deleted: a corrupt record can never be delivered).
  bool deliver(uint32_t idx, uint32_t epoch, uint64_t now, uint64_t vis_ms, int64_t unix_now,
               uint32_t sys_mask, const ReceiveOptions& o, ReceivedMessage& m) {
    shm::Slot& s = slots_[idx];
    // relaxed: the policy is re-read under its seqlock when it applies (rare).
    const uint32_t max_rc = h_->redrive_max_receive_count.load(std::memory_order_relaxed);
    if (max_rc != 0 && s.receive_count.load(std::memory_order_relaxed) >= max_rc &&
        move_to_dlq(idx, epoch)) {
      return false;  // moved, not delivered
    }
    const uint32_t count = s.receive_count.fetch_add(1, std::memory_order_relaxed) + 1;
    int64_t first = 0;
    if (!s.first_receive_unix_ms.compare_exchange_strong(first, unix_now,
                                                         std::memory_order_relaxed)) {
      // already set: keep it
    } else {
      first = unix_now;
    }
    s.lease_start_ms.store(static_cast<int64_t>(now), std::memory_order_relaxed);
    lane_push(vis_ms, make_entry(idx, epoch, 0));
    LQS_CRASH_POINT("receive.after_lane_push");
    if (!fill_message(idx, epoch, count, first, sys_mask, o, m)) {
      (void)delete_slot(idx, s.state.load(std::memory_order_acquire));
      return false;
    }
    return true;
  }

  // Fills `m` from slot `idx` leased with `epoch` (record, handle, system attributes,
  // digests). False if the record is corrupt.
  bool fill_message(uint32_t idx, uint32_t epoch, uint32_t count, int64_t first, uint32_t sys_mask,
                    const ReceiveOptions& o, ReceivedMessage& m) const {
    const shm::Slot& s = slots_[idx];
    if (!read_record(idx, m, o)) {
      return false;
    }
    make_handle(idx, s.incarnation.load(std::memory_order_relaxed), epoch, m.receipt_handle);
    m.sent_timestamp_ms = s.sent_unix_ms.load(std::memory_order_relaxed);
    m.first_receive_timestamp_ms = first;
    m.receive_count = count;
    m.system_attributes.clear();
    m.sequence_number = SequenceNumber{fifo() ? nodes_[idx].seq : 0};
    using M = queue::SystemAttributeMask;
    if (sys_mask != 0) {
      auto add = [&](uint32_t bit, const char* name, std::string value) {
        if ((sys_mask & bit) != 0) {
          m.system_attributes.emplace_back(name, std::move(value));
        }
      };
      add(M::kSentTimestamp, "SentTimestamp", std::to_string(m.sent_timestamp_ms));
      add(M::kApproximateReceiveCount, "ApproximateReceiveCount", std::to_string(count));
      add(M::kApproximateFirstReceiveTimestamp, "ApproximateFirstReceiveTimestamp",
          std::to_string(first));
      if (fifo()) {
        add(M::kSequenceNumber, "SequenceNumber", m.sequence_number.to_string());
        add(M::kMessageDeduplicationId, "MessageDeduplicationId", m.message_deduplication_id);
      }
      if (!m.message_group_id.empty()) {
        add(M::kMessageGroupId, "MessageGroupId", m.message_group_id);
      }
      if (!m.aws_trace_header.empty()) {
        add(M::kAWSTraceHeader, "AWSTraceHeader", m.aws_trace_header);
      }
    }
    if (o.compute_md5) {
      m.md5_of_body = common::md5(m.body);
      m.md5_of_message_attributes.reset();
      if (!m.attributes.empty()) {
        m.md5_of_message_attributes = common::md5_of_message_attributes(m.attributes);
      }
    }
    return true;
  }

  // One incremental sweep step: K slots from the shared cursor. Expires due leases/delays
  // that no lane entry covers, completes interrupted publishes and deletes, applies
  // retention. Never blocks, never calls the kernel.
  // `now` and `unix_now`: the caller's reading of the clocks (a receive reads them once).
  void sweep_step(uint32_t k, uint64_t now, int64_t unix_now) noexcept {
    const uint64_t start = h_->sweep_cursor.fetch_add(k, std::memory_order_relaxed);
    RecoveryReport unused;
    for (uint32_t i = 0; i < k; ++i) {
      repair_slot(static_cast<uint32_t>((start + i) % slot_count_), now, unix_now, false, unused);
    }
  }

  // ---- dead-letter moves ------------------------------------------------------------------
  // Reads the redrive policy under its seqlock. nullopt: none (or a writer keeps racing us).
  [[nodiscard]] std::optional<RedrivePolicy> read_redrive() const {
    for (int attempt = 0; attempt < 100; ++attempt) {
      // acquire: pairs with the writer's release store that ends its write (even value).
      const uint32_t s1 = h_->redrive_seq.load(std::memory_order_acquire);
      if ((s1 & 1) != 0) {
        std::this_thread::yield();
        continue;
      }
      // acquire (fields): pairs with the writer's release stores of them, so a reader that
      // sees a new field value also sees the odd sequence stored before it, and the re-check
      // below fails. (The usual seqlock with an acquire fence, written without a fence.)
      RedrivePolicy p;
      p.max_receive_count = h_->redrive_max_receive_count.load(std::memory_order_acquire);
      char name[sizeof(h_->redrive_dlq_name)];
      for (size_t w = 0; w < std::size(h_->redrive_dlq_name); ++w) {
        const uint64_t v = h_->redrive_dlq_name[w].load(std::memory_order_acquire);
        std::memcpy(name + w * 8, &v, 8);
      }
      // acquire: a changed sequence means the fields may be torn: read again.
      if (h_->redrive_seq.load(std::memory_order_acquire) != s1) {
        continue;
      }
      if (p.max_receive_count == 0) {
        return std::nullopt;
      }
      p.dead_letter_queue.assign(name, strnlen(name, shm::kQueueNameMax));
      return p;
    }
    return std::nullopt;
  }

  // Moves the message in slot `idx`, leased by us with `epoch`, to the dead-letter queue:
  // copy (same MessageId, body, attributes, receive count, SentTimestamp, plus our name as
  // its source), then delete here. Crash table: killed before the copy → the lease expires
  // and the next receive moves it; killed after the copy (dlq.after_copy), before the delete
  // → the message is in both queues (SQS allows a duplicate, never a loss). False when the
  // message could not be moved: it is then delivered as usual.
  bool move_to_dlq(uint32_t idx, uint32_t epoch) {
    const std::optional<RedrivePolicy> policy = read_redrive();
    if (!policy || policy->dead_letter_queue == name_) {
      return false;
    }
    ReceivedMessage m;
    ReceiveOptions all;
    all.message_attribute_names = {"All"};
    if (!read_record(idx, m, all)) {
      return false;  // deliver() deletes a corrupt record
    }
    std::lock_guard lock(dlq_mu_);
    if (!dlq_ || dlq_->name() != policy->dead_letter_queue) {
      QueueLocation loc;
      loc.shm_root = shm_root_;
      loc.name = policy->dead_letter_queue;
      loc.clock = clock_;
      auto q = Queue::open(loc);
      if (!q) {
        return false;  // no such queue (yet): deliver
      }
      dlq_ = std::make_unique<Queue>(std::move(q).value());
    }
    const shm::Slot& s = slots_[idx];
    MoveSpec spec;
    spec.message_id = m.message_id;
    spec.sent_unix_ms = s.sent_unix_ms.load(std::memory_order_relaxed);
    spec.receive_count = s.receive_count.load(std::memory_order_relaxed);
    spec.first_receive_unix_ms = s.first_receive_unix_ms.load(std::memory_order_relaxed);
    spec.source_queue = name_;
    SendRequest r;
    r.body = m.body;
    r.attributes = m.attributes;
    r.message_group_id = m.message_group_id;
    r.aws_trace_header = m.aws_trace_header;
    uint64_t dlq_ticket = kNoTicket;  // a sync dead-letter queue: not waited for here
    if (!dlq_->impl_->send_one(r, SendOptions{}, true, &spec, &dlq_ticket)) {
      return false;  // the dead-letter queue refused it (full, too large): deliver
    }
    LQS_CRASH_POINT("dlq.after_copy");
    // Our lease: the state is LEASED(epoch) unless it expired and moved on meanwhile (then
    // the message stays here too; a duplicate, not a loss).
    const uint64_t st = slots_[idx].state.load(std::memory_order_acquire);
    const StateWord sw = StateWord::decode(st);
    if (sw.state == SlotState::kLeased && sw.epoch == epoch) {
      (void)delete_slot(idx, st);
    }
    // relaxed: a statistic.
    h_->dlq_moves_total.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  // ---- FIFO -------------------------------------------------------------------------------
  // The index of a FIFO queue (see shm::FifoControl and src/queue/README.md, "FIFO"): per
  // group a list of its slots in SequenceNumber order, the list of groups that may have a
  // receivable message, deduplication and receive-attempt records — all under one robust,
  // process-shared mutex. Slot states stay lock-free CAS words as in a standard queue; the
  // index changes only under the mutex, and it is rebuilt from the slots (FifoNode::group and
  // ::seq of every live slot) when a process died holding it. Not lock-free: a deliberate
  // trade for exact group semantics and a simple crash story (DESIGN.md allows robust mutexes).
  [[nodiscard]] bool fifo() const noexcept { return fc_ != nullptr; }

  // A 128-bit keyed hash of `a` NUL `b` (never {0,0} or {0,1}).
  // `one_pass`: SipHash-2-4's 128-bit output, one pass over the input (group and attempt
  // keys, which live only in the segment). Otherwise two 64-bit SipHash-2-4 passes under two
  // keys: the deduplication keys, which snapshots write to the log (kRecSnapDedup) and
  // restore as they are, so their function must not change under an existing log.
  [[nodiscard]] Key key_of(std::string_view a, std::string_view b, bool one_pass = false) const {
    // Group ids, deduplication ids and attempt ids are at most 128 characters: the stack
    // buffer is the rule, the heap the fallback.
    // Only the first n bytes are written and read: zeroing 512 bytes per hash is waste.
    std::array<char, 512> stack;  // NOLINT(cppcoreguidelines-pro-type-member-init)
    std::string heap;
    const size_t n = a.size() + 1 + b.size();
    char* out = stack.data();
    if (n > stack.size()) {
      heap.resize(n);
      out = heap.data();
    }
    // std::copy_n, not memcpy: an empty view's data() may be null.
    const std::span<char> buf(out, n);
    std::copy_n(a.data(), a.size(), buf.data());
    buf[a.size()] = '\0';
    std::copy_n(b.data(), b.size(), buf.data() + a.size() + 1);
    Key k;
    if (one_pass) {
      const common::Hash128 h = common::siphash24_128(h_->mac_key, buf.data(), buf.size());
      k = Key{h.lo, h.hi};
    } else {
      uint8_t k2[16];
      std::memcpy(k2, h_->mac_key, 16);
      for (uint8_t& c : k2) {
        c ^= 0x5c;
      }
      k = Key{common::siphash24(h_->mac_key, buf.data(), buf.size()),
              common::siphash24(k2, buf.data(), buf.size())};
    }
    if (k.lo == 0) {
      k.lo = 1;
    }
    return k;
  }

  // Holds the FIFO mutex for a scope (re-entrant per thread). A previous owner that died
  // holding it is repaired here: the index is rebuilt from the slots.
  class FifoGuard {
   public:
    // `drain`: first complete the deletes posted to the release ring (receivers and every
    // other holder do; a send need not, as a posted delete's slot is skipped by receives and
    // by group_locked() alike).
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-member-init): unlinked_, see below
    explicit FifoGuard(Impl& im, bool drain = true) : im_(im) {
      for (size_t i = 0; i < tl_fifo_held_n; ++i) {
        if (tl_fifo_held[i] == im.fc_) {
          return;  // already ours
        }
      }
      // Spin briefly first: a holder on the other core is done within a few hundred ns,
      // while a robust mutex that blocks sleeps in the kernel (a futex wait and wake cost
      // 26-40 µs on these VMs, PERF.md). trylock reports EOWNERDEAD as lock does.
      int rc = EBUSY;
      // Test before trying (glibc's lock word holds the owner's TID, 0 when free): a plain
      // load does not take the line away from the owner the way a failing CAS does.
      for (int spin = 0; spin < kFifoLockSpins && rc == EBUSY; ++spin) {
        // relaxed: a hint only; trylock's CAS does the acquiring.
        if (__atomic_load_n(&im.fc_->mu.__data.__lock, __ATOMIC_RELAXED) == 0) {
          rc = pthread_mutex_trylock(&im.fc_->mu);
        }
        if (rc == EBUSY) {
          __builtin_ia32_pause();
        }
      }
      if (rc == EBUSY) {
        rc = pthread_mutex_lock(&im.fc_->mu);
      }
      if (rc == EOWNERDEAD) {
        im.fifo_rebuild();
        (void)pthread_mutex_consistent(&im.fc_->mu);
      }
      if (tl_fifo_held_n < tl_fifo_held.size()) {
        tl_fifo_held[tl_fifo_held_n++] = im.fc_;
      }
      locked_ = true;
      // A receiver first finishes the deletes posted since the last holder, so the ready list
      // it reads is as of every delete that returned. The slots are unlinked now and freed
      // after the unlock (release_slot needs no mutex once a slot is unlinked).
      if (drain) {
        im.fifo_drain_releases(*this);
      }
    }
    ~FifoGuard() {
      if (locked_) {
        --tl_fifo_held_n;
        (void)pthread_mutex_unlock(&im_.fc_->mu);
        if (n_unlinked_ != 0) {
          LQS_CRASH_POINT("fifo.drain.after_unlock");
        }
        for (uint32_t i = 0; i < n_unlinked_; ++i) {
          im_.release_slot(unlinked_[i].idx, unlinked_[i].deleting);
        }
      }
    }
    // Slot `idx`, DELETING as `deleting`, was unlinked: free it after the unlock. False when
    // the list is full (the caller frees it at once).
    bool defer_release(uint32_t idx, uint64_t deleting) noexcept {
      if (n_unlinked_ == unlinked_.size()) {
        return false;
      }
      unlinked_[n_unlinked_++] = {idx, deleting};
      return true;
    }
    FifoGuard(const FifoGuard&) = delete;
    FifoGuard& operator=(const FifoGuard&) = delete;

   private:
    Impl& im_;
    bool locked_ = false;
    // Only the first n_unlinked_ are written and read: no initialiser, since a std::pair
    // array would zero 1 KiB on every acquisition, on every send and receive.
    struct Unlinked {
      uint32_t idx;
      uint64_t deleting;
    };
    uint32_t n_unlinked_ = 0;
    std::array<Unlinked, 64> unlinked_;
  };

  [[nodiscard]] bool fifo_mutex_held() const noexcept {
    for (size_t i = 0; i < tl_fifo_held_n; ++i) {
      if (tl_fifo_held[i] == fc_) {
        return true;
      }
    }
    return false;
  }

  // A FIFO delete (from delete_slot). The slot must not be freed (and reused) while linked in
  // its group's list, and unlinking needs the index mutex. So the deleter marks the slot
  // DELETING, journals the delete, and posts the slot to the release ring; the next holder
  // of the mutex (every FifoGuard drains the ring first) unlinks and frees it. A delete thus
  // costs two CASes rather than the mutex, which the receivers and senders need. A caller
  // that holds the mutex already, or finds the ring full, unlinks and frees at once.
  // Crash table (src/queue/README.md, "FIFO"):
  //   killed before the mark     → nothing happened;
  //   after the mark, before the post → the slot stays DELETING and linked: a full sweep's
  //                                repair_slot() unlinks and frees it under the mutex (its
  //                                group, out of the ready list, is requeued by that sweep);
  //   after the post             → the next mutex holder completes it.
  // A stale post (the slot completed by a sweep and reused meanwhile) names an old epoch and
  // is discarded by the drain.
  bool fifo_delete_slot(uint32_t idx, uint64_t s, uint64_t deleting, const EventSubject& subject,
                        uint64_t now) noexcept {
    // acq_rel: wins the message against sweepers (they CAS without the mutex), receivers and
    // other deleters.
    if (!slots_[idx].state.compare_exchange_strong(s, deleting, std::memory_order_acq_rel)) {
      return false;
    }
    LQS_CRASH_POINT("fifo.delete.after_mark");
    journal_message_event(shm::kJournalDelete, idx, subject, 0);
    // The ring's cell CAS (seq_cst) publishes the mark to the drain's acquire load.
    if (fifo_mutex_held() ||
        !releases_.push(make_entry(idx, StateWord::decode(deleting).epoch, 0))) {
      // Held already: the guard is a no-op. Else it drains the ring, making room for next time.
      FifoGuard guard(*this);
      fifo_release_one(idx, deleting, now == kNoNow ? now_rel_ms() : now);
    }
    LQS_CRASH_POINT("fifo.delete.after_post");
    finish_journal();
    return true;
  }

  // Completes a delete that its deleter left (or may be leaving) in the DELETING state
  // `deleting`: frees the slot, FIFO after unlinking it under the index mutex (taken here
  // unless this thread holds it). Used by repair_slot() and PurgeQueue.
  void complete_delete(uint32_t idx, uint64_t deleting) noexcept {
    if (!fifo()) {
      release_slot(idx, deleting);
      return;
    }
    FifoGuard guard(*this);
    fifo_release_one(idx, deleting, now_rel_ms());
  }

  // Unlinks and frees slot `idx` if it is still in the DELETING state `deleting`.
  // REQUIRES: the FIFO mutex.
  void fifo_release_one(uint32_t idx, uint64_t deleting, uint64_t now) noexcept {
    // acquire: pairs with the deleter's mark (acq_rel) and the ring's publication.
    if (slots_[idx].state.load(std::memory_order_acquire) != deleting) {
      return;  // completed already (a sweep); the slot may be reused
    }
    unlink(idx, now);
    release_slot(idx, deleting);
  }

  // A FIFO send or restore found no free slot or no room for its record: if deletes are
  // waiting in the release ring, complete them (true: retry).
  bool fifo_make_room() noexcept {
    if (!fifo() || releases_.size_approx() == 0 || fifo_mutex_held()) {
      return false;
    }
    FifoGuard guard(*this);
    return true;
  }

  // Completes the deletes posted to the release ring: unlinks each slot now and leaves it to
  // `guard` to free after the unlock (or frees it at once when the guard's list is full).
  // REQUIRES: the FIFO mutex, held by `guard` (so this is the ring's only popper, as
  // RingView::pop requires).
  void fifo_drain_releases(FifoGuard& guard) noexcept {
    uint64_t now = kNoNow;
    for (uint32_t n = 0; n < releases_.capacity(); ++n) {
      uint64_t entry = 0;
      if (!releases_.pop([](uint64_t) { return PopVerdict::kTake; }, entry)) {
        return;
      }
      const uint32_t idx = queue::entry_slot(entry);
      if (idx >= slot_count_) {
        continue;  // corrupt: ignore
      }
      // acquire: pairs with the deleter's mark.
      const uint64_t st = slots_[idx].state.load(std::memory_order_acquire);
      const StateWord sw = StateWord::decode(st);
      if (sw.state != SlotState::kDeleting || sw.epoch != queue::entry_epoch(entry)) {
        continue;  // stale
      }
      if (now == kNoNow) {
        now = now_rel_ms();
      }
      unlink(idx, now);
      if (!guard.defer_release(idx, st)) {
        release_slot(idx, st);
      }
    }
  }

  static bool live_state(SlotState st) noexcept {
    return st == SlotState::kReady || st == SlotState::kPublishing || st == SlotState::kDelayed ||
           st == SlotState::kLeased;
  }

  // ---- groups (REQUIRES: the FIFO mutex) ----
  [[nodiscard]] uint32_t group_find(Key k) const noexcept {
    const uint32_t mask = h_->fifo_group_capacity - 1;
    for (uint32_t n = 0, i = static_cast<uint32_t>(k.lo) & mask; n <= mask;
         ++n, i = (i + 1) & mask) {
      const shm::FifoGroup& g = groups_[i];
      if (g.key_lo == 0 && g.key_hi == 0) {
        return shm::kFifoNil;
      }
      if (g.key_lo == k.lo && g.key_hi == k.hi) {
        return i;
      }
    }
    return shm::kFifoNil;
  }

  uint32_t group_add(Key k) noexcept {
    const uint32_t cap = h_->fifo_group_capacity;
    if (uint64_t{fc_->groups_live} + fc_->groups_dead + 1 > uint64_t{cap} * 3 / 4) {
      groups_rehash();
    }
    if (uint64_t{fc_->groups_live} + 1 > uint64_t{cap} * 3 / 4) {
      return shm::kFifoNil;
    }
    const uint32_t mask = cap - 1;
    uint32_t free_at = shm::kFifoNil;
    for (uint32_t n = 0, i = static_cast<uint32_t>(k.lo) & mask; n <= mask;
         ++n, i = (i + 1) & mask) {
      shm::FifoGroup& g = groups_[i];
      if (g.key_lo == k.lo && g.key_hi == k.hi) {
        return i;
      }
      const bool empty = g.key_lo == 0 && g.key_hi == 0;
      const bool tomb = g.key_lo == kTombstone.lo && g.key_hi == kTombstone.hi;
      if (tomb && free_at == shm::kFifoNil) {
        free_at = i;
      }
      if (empty) {
        if (free_at == shm::kFifoNil) {
          free_at = i;
        } else {
          --fc_->groups_dead;  // reusing a tombstone
        }
        shm::FifoGroup& f = groups_[free_at];
        f.head = shm::kFifoNil;
        f.tail = shm::kFifoNil;
        f.ready_next = shm::kFifoNotReady;
        f.ready_prev = shm::kFifoNil;
        f.key_hi = k.hi;
        f.key_lo = k.lo;
        ++fc_->groups_live;
        return free_at;
      }
    }
    return shm::kFifoNil;
  }

  // An empty group's record becomes a tombstone (idle groups are reclaimed at once).
  void group_release(uint32_t g) noexcept {
    ready_remove(g);
    groups_[g].key_lo = kTombstone.lo;
    groups_[g].key_hi = kTombstone.hi;
    --fc_->groups_live;
    ++fc_->groups_dead;
  }

  // Re-inserts every live group without tombstones; fixes the slots' group indexes.
  void groups_rehash() noexcept {
    const uint32_t cap = h_->fifo_group_capacity;
    std::vector<shm::FifoGroup> live;
    live.reserve(fc_->groups_live);
    for (uint32_t i = 0; i < cap; ++i) {
      shm::FifoGroup& g = groups_[i];
      const bool empty = g.key_lo == 0 && g.key_hi == 0;
      const bool tomb = g.key_lo == kTombstone.lo && g.key_hi == kTombstone.hi;
      if (!empty && !tomb) {
        live.push_back(g);
      }
      g = shm::FifoGroup{0, 0, shm::kFifoNil, shm::kFifoNil, shm::kFifoNotReady, shm::kFifoNil};
    }
    fc_->groups_live = 0;
    fc_->groups_dead = 0;
    fc_->ready_head = shm::kFifoNil;
    fc_->ready_tail = shm::kFifoNil;
    const uint64_t now = now_rel_ms();
    for (const shm::FifoGroup& old : live) {
      const uint32_t g = group_add(Key{old.key_lo, old.key_hi});
      groups_[g].head = old.head;
      groups_[g].tail = old.tail;
      for (uint32_t idx = old.head; idx != shm::kFifoNil; idx = nodes_[idx].next) {
        nodes_[idx].group = g;
      }
      if (old.ready_next != shm::kFifoNotReady && !group_locked(g, now)) {
        ready_push(g);
      }
    }
  }

  void ready_push(uint32_t g) noexcept {
    shm::FifoGroup& gr = groups_[g];
    if (gr.ready_next != shm::kFifoNotReady) {
      return;
    }
    gr.ready_next = shm::kFifoNil;
    gr.ready_prev = fc_->ready_tail;
    if (fc_->ready_tail == shm::kFifoNil) {
      fc_->ready_head = g;
    } else {
      groups_[fc_->ready_tail].ready_next = g;
    }
    fc_->ready_tail = g;
  }

  void ready_remove(uint32_t g) noexcept {
    shm::FifoGroup& gr = groups_[g];
    if (gr.ready_next == shm::kFifoNotReady) {
      return;
    }
    if (gr.ready_prev == shm::kFifoNil) {
      fc_->ready_head = gr.ready_next;
    } else {
      groups_[gr.ready_prev].ready_next = gr.ready_next;
    }
    if (gr.ready_next == shm::kFifoNil) {
      fc_->ready_tail = gr.ready_prev;
    } else {
      groups_[gr.ready_next].ready_prev = gr.ready_prev;
    }
    gr.ready_next = shm::kFifoNotReady;
    gr.ready_prev = shm::kFifoNil;
  }

  void link_tail(uint32_t g, uint32_t idx) noexcept {
    shm::FifoNode& n = nodes_[idx];
    n.next = shm::kFifoNil;
    n.prev = groups_[g].tail;
    n.group = g;
    if (groups_[g].tail == shm::kFifoNil) {
      groups_[g].head = idx;
    } else {
      nodes_[groups_[g].tail].next = idx;
    }
    groups_[g].tail = idx;
  }

  // Unlinks slot `idx` from its group; an emptied group is released, one that is no longer
  // locked goes to the ready list.
  void unlink(uint32_t idx, uint64_t now) noexcept {
    shm::FifoNode& n = nodes_[idx];
    const uint32_t g = n.group;
    if (g == shm::kFifoNil || g >= h_->fifo_group_capacity) {
      n.group = shm::kFifoNil;
      return;
    }
    if (n.prev == shm::kFifoNil) {
      groups_[g].head = n.next;
    } else {
      nodes_[n.prev].next = n.next;
    }
    if (n.next == shm::kFifoNil) {
      groups_[g].tail = n.prev;
    } else {
      nodes_[n.next].prev = n.prev;
    }
    n.next = shm::kFifoNil;
    n.prev = shm::kFifoNil;
    n.group = shm::kFifoNil;
    if (groups_[g].head == shm::kFifoNil) {
      group_release(g);
    } else if (!group_locked(g, now)) {
      ready_push(g);
    }
  }

  // True while a message of group `g` is in flight (LEASED, deadline ahead). In-flight
  // messages were received, so they lie in the group's leading run of received messages.
  [[nodiscard]] bool group_locked(uint32_t g, uint64_t now) const noexcept {
    for (uint32_t idx = groups_[g].head; idx != shm::kFifoNil; idx = nodes_[idx].next) {
      const StateWord sw = StateWord::decode(slots_[idx].state.load(std::memory_order_acquire));
      if (sw.state == SlotState::kLeased && sw.value > now) {
        return true;
      }
      if (sw.state != SlotState::kLeased &&
          slots_[idx].receive_count.load(std::memory_order_relaxed) == 0) {
        return false;
      }
    }
    return false;
  }

  // Rebuilds every group list, the ready list and the counters from the slots (the previous
  // mutex owner died mid-change). REQUIRES: the FIFO mutex (EOWNERDEAD).
  void fifo_rebuild() noexcept {
    struct Member {
      uint32_t group;
      uint64_t seq;
      uint32_t idx;
    };
    std::vector<Member> members;
    const uint32_t cap = h_->fifo_group_capacity;
    for (uint32_t i = 0; i < slot_count_; ++i) {
      const StateWord sw = StateWord::decode(slots_[i].state.load(std::memory_order_acquire));
      const uint32_t g = nodes_[i].group;
      if (live_state(sw.state) && g < cap) {
        members.push_back({g, nodes_[i].seq, i});
      }
      nodes_[i].next = shm::kFifoNil;
      nodes_[i].prev = shm::kFifoNil;
      nodes_[i].group = shm::kFifoNil;
    }
    std::sort(members.begin(), members.end(), [](const Member& a, const Member& b) {
      return a.group != b.group ? a.group < b.group : a.seq < b.seq;
    });
    fc_->ready_head = shm::kFifoNil;
    fc_->ready_tail = shm::kFifoNil;
    fc_->groups_live = 0;
    fc_->groups_dead = 0;
    for (uint32_t i = 0; i < cap; ++i) {
      shm::FifoGroup& g = groups_[i];
      g.head = shm::kFifoNil;
      g.tail = shm::kFifoNil;
      g.ready_next = shm::kFifoNotReady;
      g.ready_prev = shm::kFifoNil;
    }
    for (const Member& m : members) {
      link_tail(m.group, m.idx);
    }
    const uint64_t now = now_rel_ms();
    for (uint32_t i = 0; i < cap; ++i) {
      shm::FifoGroup& g = groups_[i];
      const bool empty = g.key_lo == 0 && g.key_hi == 0;
      const bool tomb = g.key_lo == kTombstone.lo && g.key_hi == kTombstone.hi;
      if (empty) {
        continue;
      }
      if (tomb || g.head == shm::kFifoNil) {
        g.key_lo = kTombstone.lo;
        g.key_hi = kTombstone.hi;
        ++fc_->groups_dead;
        continue;
      }
      ++fc_->groups_live;
      if (!group_locked(i, now)) {
        ready_push(i);
      }
    }
    dedup_rebuild();
    ++fc_->rebuilds;
  }

  // ---- deduplication (REQUIRES: the FIFO mutex) ----
  // The records sit in a ring in the order they were accepted, which is the order their
  // 5 minutes end: the oldest goes when its window is over, or early when the ring is full
  // (counted in FifoControl::dedup_evicted). A hash index (linear probing, two buckets per
  // record, backward-shift deletion, so no tombstones) maps a key to its ring slot + 1
  // (0: empty). Every operation is O(1) amortized; nothing ever rescans the table.
  [[nodiscard]] uint32_t dedup_cap() const noexcept { return h_->fifo_dedup_capacity; }
  [[nodiscard]] uint32_t dedup_index_mask() const noexcept { return 2 * dedup_cap() - 1; }
  // A bucket: the key's low 32 bits (its home and a tag: most probes never touch a record)
  // above the ring slot + 1; 0 when empty.
  static uint64_t dedup_bucket(Key k, uint32_t slot) noexcept {
    return (uint64_t{static_cast<uint32_t>(k.lo)} << 32) | (slot + 1);
  }
  [[nodiscard]] bool dedup_bucket_valid(uint64_t b) const noexcept {
    const auto v = static_cast<uint32_t>(b);
    return v != 0 && v <= dedup_cap();
  }

  // The bucket holding `k`, or the empty bucket that ends its probe. A bucket naming no valid
  // ring slot (a damaged index) ends the probe as well.
  [[nodiscard]] uint32_t dedup_probe(Key k) const noexcept {
    const uint32_t mask = dedup_index_mask();
    const auto tag = static_cast<uint32_t>(k.lo);
    uint32_t i = tag & mask;
    for (uint32_t n = 0; n <= mask; ++n, i = (i + 1) & mask) {
      const uint64_t b = dedup_index_[i];
      if (!dedup_bucket_valid(b)) {
        return i;
      }
      if (static_cast<uint32_t>(b >> 32) == tag) {
        const shm::FifoDedup& d = dedup_[static_cast<uint32_t>(b) - 1];
        if (d.key_lo == k.lo && d.key_hi == k.hi) {
          return i;
        }
      }
    }
    return i;
  }

  [[nodiscard]] const shm::FifoDedup* dedup_find(Key k, int64_t unix_now) const noexcept {
    const uint64_t b = dedup_index_[dedup_probe(k)];
    if (!dedup_bucket_valid(b)) {
      return nullptr;
    }
    const shm::FifoDedup& d = dedup_[static_cast<uint32_t>(b) - 1];
    return d.key_lo == k.lo && d.key_hi == k.hi && d.expires_unix_ms > unix_now ? &d : nullptr;
  }

  // Empties bucket `i`, moving the later entries of its cluster back where their probe
  // still finds them.
  void dedup_index_erase(uint32_t i) noexcept {
    const uint32_t mask = dedup_index_mask();
    for (uint32_t j = (i + 1) & mask; dedup_bucket_valid(dedup_index_[j]); j = (j + 1) & mask) {
      const uint32_t home = static_cast<uint32_t>(dedup_index_[j] >> 32) & mask;
      // The entry at j stays if its home lies cyclically in (i, j].
      const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
      if (!stays) {
        dedup_index_[i] = dedup_index_[j];
        i = j;
      }
    }
    dedup_index_[i] = 0;
  }

  // Drops the oldest record (its index entry first, unless a newer record of the same key
  // owns the bucket).
  void dedup_pop_tail() noexcept {
    const auto r = static_cast<uint32_t>(fc_->dedup_tail % dedup_cap());
    const shm::FifoDedup& d = dedup_[r];
    if (d.key_lo != 0 || d.key_hi != 0) {
      const uint32_t b = dedup_probe(Key{d.key_lo, d.key_hi});
      if (static_cast<uint32_t>(dedup_index_[b]) == r + 1) {
        dedup_index_erase(b);
      }
    }
    ++fc_->dedup_tail;
  }

  // Drops the records whose window is over. Returns how many.
  uint32_t dedup_expire(int64_t unix_now) noexcept {
    uint32_t n = 0;
    while (fc_->dedup_tail < fc_->dedup_head &&
           dedup_[fc_->dedup_tail % dedup_cap()].expires_unix_ms <= unix_now) {
      dedup_pop_tail();
      ++n;
    }
    return n;
  }

  // Adds a record (the caller found no live one for its key). When the ring is full the
  // oldest record is dropped before its window is over: the queue then remembers the last
  // fifo_dedup_capacity deduplication ids rather than 5 minutes of them (README, "Differences
  // from SQS").
  void dedup_insert(const shm::FifoDedup& rec, int64_t unix_now) noexcept {
    // A full ring (the steady state of a busy queue) evicts its oldest record on every
    // insert: the record and its index bucket, both cold, are two cache misses per send. So
    // the evictions to come are loaded ahead, a software pipeline: now the record at
    // tail + 2 × kAhead (evicted 2 × kAhead inserts from now), and the bucket of the one at
    // tail + kAhead (whose record was fetched kAhead inserts ago). Prefetches only: a stale
    // guess costs nothing but a load.
    constexpr uint64_t kAhead = 8;
    const uint64_t next = fc_->dedup_tail + kAhead;
    if (next < fc_->dedup_head) {
      const shm::FifoDedup& d = dedup_[next % dedup_cap()];
      __builtin_prefetch(&dedup_index_[static_cast<uint32_t>(d.key_lo) & dedup_index_mask()]);
      __builtin_prefetch(&dedup_[(next + kAhead) % dedup_cap()]);
    }
    (void)dedup_expire(unix_now);
    if (fc_->dedup_head - fc_->dedup_tail >= dedup_cap()) {
      dedup_pop_tail();
      // relaxed: a statistic (stats() reads it without the mutex).
      fc_->dedup_evicted.fetch_add(1, std::memory_order_relaxed);
    }
    const auto r = static_cast<uint32_t>(fc_->dedup_head % dedup_cap());
    shm::FifoDedup& d = dedup_[r];
    d.key_lo = 0;  // not a record while being written
    d.key_hi = 0;
    d.expires_unix_ms = rec.expires_unix_ms;
    d.seq = rec.seq;
    std::memcpy(d.message_id, rec.message_id, 16);
    d.key_hi = rec.key_hi;
    d.key_lo = rec.key_lo;
    // An empty bucket, or the one of this key's expired record: it now names the new one.
    const Key k{rec.key_lo, rec.key_hi};
    dedup_index_[dedup_probe(k)] = dedup_bucket(k, r);
    ++fc_->dedup_head;  // last: a crash before it leaves the record outside [tail, head)
  }

  // Restore (REQUIRES: the FIFO mutex): a deduplication record, unless its window is over or
  // its key already has a live one.
  void dedup_restore(Key k, int64_t expires_unix_ms, uint64_t seq, const MessageId& id,
                     int64_t unix_now) noexcept {
    if (expires_unix_ms <= unix_now || dedup_find(k, unix_now) != nullptr) {
      return;
    }
    shm::FifoDedup rec{};
    rec.key_lo = k.lo;
    rec.key_hi = k.hi;
    rec.expires_unix_ms = expires_unix_ms;
    rec.seq = seq;
    std::memcpy(rec.message_id, id.bytes.data(), 16);
    dedup_insert(rec, unix_now);
  }

  // Rebuilds the index from the ring's records in [tail, head) (the mutex owner died, or the
  // records were cleared). Later records of a key win, as in dedup_insert().
  void dedup_rebuild() noexcept {
    std::memset(dedup_index_, 0, sizeof(uint64_t) * 2 * uint64_t{dedup_cap()});
    if (fc_->dedup_tail > fc_->dedup_head || fc_->dedup_head - fc_->dedup_tail > dedup_cap()) {
      fc_->dedup_tail = fc_->dedup_head > dedup_cap() ? fc_->dedup_head - dedup_cap() : 0;
    }
    for (uint64_t p = fc_->dedup_tail; p < fc_->dedup_head; ++p) {
      const auto r = static_cast<uint32_t>(p % dedup_cap());
      const shm::FifoDedup& d = dedup_[r];
      if (d.key_lo != 0 || d.key_hi != 0) {
        const Key k{d.key_lo, d.key_hi};
        dedup_index_[dedup_probe(k)] = dedup_bucket(k, r);
      }
    }
  }

  // PurgeQueue: no records.
  void dedup_clear() noexcept {
    fc_->dedup_tail = fc_->dedup_head;
    dedup_rebuild();
  }

  // FIFO queues: the queue's DelaySeconds is retroactive (SQS_REFERENCE §4): a message never
  // received is due at SentTimestamp + the current delay, whatever the delay was at its send.
  [[nodiscard]] bool retro_due(uint32_t idx, int64_t unix_now) const noexcept {
    const shm::Slot& s = slots_[idx];
    if (s.receive_count.load(std::memory_order_relaxed) != 0) {
      return true;  // delays apply before the first receive only
    }
    const int64_t delay_ms = int64_t{h_->delay_s.load(std::memory_order_relaxed)} * 1000;
    // No delay: due, whatever the clocks say (a receiver's wall clock read before the send, or
    // stepped back, must not hide a message).
    return delay_ms == 0 || s.sent_unix_ms.load(std::memory_order_relaxed) + delay_ms <= unix_now;
  }

  // A never-received message whose queue delay was lengthened after it became READY (or after
  // its timer fired): DELAYED for the rest of the delay, with a timer entry, so its group comes
  // back to the ready list by itself (fifo_drain_lanes, or the sweep if the entry is lost).
  // False if the state changed first (`st` reloaded). The rest is bounded by the delay, so a
  // wall clock stepped back delays the message by at most that.
  bool fifo_redelay(uint32_t idx, uint64_t& st, int64_t unix_now, uint64_t now) noexcept {
    const StateWord sw = StateWord::decode(st);
    const int64_t delay_ms = int64_t{h_->delay_s.load(std::memory_order_relaxed)} * 1000;
    const int64_t due = slots_[idx].sent_unix_ms.load(std::memory_order_relaxed) + delay_ms;
    const auto rest = static_cast<uint64_t>(std::clamp<int64_t>(due - unix_now, 1, delay_ms));
    const uint32_t tv = (sw.tver + 1) & queue::kTverMask;
    // acq_rel: as the lease CAS in fifo_fill() (wins against a deleter or a sweeper); a new
    // tver retires any older timer entry of the slot.
    if (!slots_[idx].state.compare_exchange_strong(
            st, make_state(SlotState::kDelayed, sw.epoch, tv, now + rest),
            std::memory_order_acq_rel, std::memory_order_acquire)) {
      return false;
    }
    lane_push(rest, make_entry(idx, sw.epoch, tv));
    return true;
  }

  // The slot `idx` (PUBLISHING → READY done or not): wakes its group if it is receivable.
  void fifo_group_may_be_ready(uint32_t idx) {
    FifoGuard guard(*this);
    const uint32_t g = nodes_[idx].group;
    if (g < h_->fifo_group_capacity && !group_locked(g, now_rel_ms())) {
      ready_push(g);
    }
  }

  // Due timer-lane entries (expired leases, elapsed delays) become visible now rather than at
  // the next sweep: PUBLISHING → publish() → READY, and their group joins the ready list.
  void fifo_drain_lanes(uint64_t now) {
    for (uint32_t i = 0; i < shm::kLaneCount; ++i) {
      if (h_->lane_duration_ms[i].load(std::memory_order_relaxed) == 0) {
        continue;
      }
      for (int n = 0; n < 64; ++n) {
        uint64_t entry = 0;
        uint64_t seen = 0;
        const bool got = lanes_[i].pop(
            [&](uint64_t en) {
              const uint32_t idx = queue::entry_slot(en);
              if (idx >= slot_count_) {
                return PopVerdict::kDiscard;
              }
              const uint64_t st = slots_[idx].state.load(std::memory_order_acquire);
              const StateWord sw = StateWord::decode(st);
              if (sw.epoch != queue::entry_epoch(en) || sw.tver != queue::entry_tver(en) ||
                  (sw.state != SlotState::kLeased && sw.state != SlotState::kDelayed)) {
                return PopVerdict::kDiscard;
              }
              if (sw.value > now) {
                return PopVerdict::kStop;
              }
              seen = st;
              return PopVerdict::kTake;
            },
            entry);
        if (!got) {
          break;
        }
        const uint32_t idx = queue::entry_slot(entry);
        const StateWord sw = StateWord::decode(seen);
        const uint64_t publishing = make_state(SlotState::kPublishing, sw.epoch, sw.tver, now);
        uint64_t expected = seen;
        // acq_rel: the expiry wins against a racing delete or visibility change (as the
        // sweep's expiry CAS in repair_slot).
        if (slots_[idx].state.compare_exchange_strong(expected, publishing,
                                                      std::memory_order_acq_rel)) {
          publish(idx, publishing);
        }
      }
    }
  }

  // FIFO ReceiveMessage: from each ready group in turn, its leading available messages in
  // order, as many as wanted (SQS: as many as it can from one group, then others).
  void fifo_fill(uint64_t now, int64_t unix_now, uint64_t vis_ms, uint32_t sys_mask,
                 const ReceiveOptions& o, ReceiveBatch& out, size_t want) {
    fifo_drain_lanes(now);
    // Leased under the mutex, delivered (record copied out, receive count, timer entry) after
    // it: a leased message is ours until its deadline, and other processes wait less.
    std::array<std::pair<uint32_t, uint32_t>, shm::kFifoMaxBatch> leased{};  // slot, epoch
    const size_t room = std::min(want - std::min(want, out.count), leased.size());
    const size_t n = fifo_lease(now, unix_now, vis_ms, std::span(leased.data(), room));
    for (size_t i = 0; i < n; ++i) {
      if (deliver(leased[i].first, leased[i].second, now, vis_ms, unix_now, sys_mask, o,
                  out.messages[out.count])) {
        ++out.count;
      }
    }
  }

  // fifo_fill()'s part under the index mutex: leases up to leased.size() messages, group by
  // group in ready-list order, and records (slot, epoch) of each. Returns how many.
  size_t fifo_lease(uint64_t now, int64_t unix_now, uint64_t vis_ms,
                    std::span<std::pair<uint32_t, uint32_t>> leased) {
    FifoGuard guard(*this);
    size_t n = 0;
    uint32_t g = fc_->ready_head;
    while (g != shm::kFifoNil && n < leased.size()) {
      const uint32_t next = groups_[g].ready_next;
      if (group_locked(g, now)) {
        ready_remove(g);
        g = next;
        continue;
      }
      uint32_t idx = groups_[g].head;
      while (idx != shm::kFifoNil && n < leased.size()) {
        const uint32_t after = nodes_[idx].next;
        uint64_t st = slots_[idx].state.load(std::memory_order_acquire);
        const StateWord sw = StateWord::decode(st);
        if (!live_state(sw.state)) {
          idx = after;  // being deleted by someone who will unlink it
          continue;
        }
        bool available = sw.state == SlotState::kReady || sw.state == SlotState::kPublishing ||
                         ((sw.state == SlotState::kLeased || sw.state == SlotState::kDelayed) &&
                          sw.value <= now);
        if (sw.state == SlotState::kDelayed && !available) {
          available = retro_due(idx, unix_now);  // the queue's delay may have been shortened
        } else if (available && sw.state != SlotState::kLeased && !retro_due(idx, unix_now)) {
          // ... or lengthened: wait out the rest (the group leaves the ready list below).
          if (!fifo_redelay(idx, st, unix_now, now)) {
            continue;  // changed under us: judge it again
          }
          available = false;
        }
        if (!available) {
          break;  // a delay not yet over: nothing behind it may go first
        }
        if (past_retention(idx, unix_now)) {
          (void)delete_slot(idx, st);
          idx = after;
          continue;
        }
        const uint32_t e = next_epoch(sw.epoch);
        // acq_rel: wins the message; acquire pairs with the sender's release CAS in
        // fifo_commit() (or publish()), so the record is visible. On failure `st` is reloaded.
        if (!slots_[idx].state.compare_exchange_strong(
                st, make_state(SlotState::kLeased, e, 0, now + vis_ms), std::memory_order_acq_rel,
                std::memory_order_acquire)) {
          continue;  // changed under us (a sweeper's PUBLISHING → READY): judge it again
        }
        LQS_CRASH_POINT("fifo.after_lease");
        leased[n++] = {idx, e};
        idx = after;
      }
      // Taken from (now locked), or nothing available (a send, an expiry or the end of a
      // delay puts it back): out of the ready list either way. (Only g's own entries changed
      // meanwhile, so `next` is still in the list.)
      ready_remove(g);
      g = next;
    }
    return n;
  }

  // The keys of a FIFO send (send_prepare(), before the slot claim).
  [[nodiscard]] FifoPrepared fifo_prepare(std::string_view group, std::string_view dedup_id) const {
    const uint32_t flags = h_->fifo_flags.load(std::memory_order_relaxed);
    FifoPrepared k{
        key_of((flags & shm::kFifoScopeGroup) != 0 ? group : std::string_view(), dedup_id),
        key_of("g", group, /*one_pass=*/true)};
    // Both lookups of fifo_commit() start with a likely cache miss in a table of megabytes:
    // start the loads now, before the mutex, so they overlap the wait for it.
    __builtin_prefetch(&dedup_index_[static_cast<uint32_t>(k.dkey.lo) & dedup_index_mask()]);
    __builtin_prefetch(&groups_[static_cast<uint32_t>(k.gkey.lo) & (h_->fifo_group_capacity - 1)]);
    return k;
  }

  // The FIFO end of a send, for the slot `p.idx` we hold in WRITING: answer a duplicate with
  // the first send's MessageId and SequenceNumber (and free the slot), or link the message at
  // its group's tail with the next SequenceNumber, record its deduplication id, and make it
  // READY (or DELAYED). REQUIRES: the FIFO mutex (held by the caller, so that a batch commits
  // all its entries, in request order, under one acquisition).
  Result<void> fifo_commit(PreparedSend& p, uint64_t& ticket) {
    const uint32_t idx = p.idx;
    const uint64_t writing = p.writing;
    const uint32_t epoch = p.epoch;
    const int32_t delay = p.delay;
    const uint64_t now = p.now;
    const int64_t unix_now = p.unix_now;
    const Key dkey = p.keys.dkey;
    const Key gkey = p.keys.gkey;
    SendResult& result = p.result;
    if (const shm::FifoDedup* d = dedup_find(dkey, unix_now); d != nullptr) {
      std::memcpy(result.message_id.bytes.data(), d->message_id, 16);
      result.sequence_number = SequenceNumber{d->seq};
      release_slot(idx, writing);
      // A sync duplicate waits for everything journaled so far, its original included (or
      // for nothing if the journal is empty: the original was restored or memory-only).
      // relaxed: the ticket is only compared with head, which carries the ordering.
      const uint64_t tail = jc_->tail.load(std::memory_order_relaxed);
      ticket = tail == 0 ? kNothingToWaitFor : tail - 1;
      return {};
    }
    const uint32_t g = group_add(gkey);
    if (g == shm::kFifoNil) {
      release_slot(idx, writing);
      return make_error(ErrorCode::kQueueFull, "queue " + name_ +
                                                   " has as many message groups as it can "
                                                   "index (LqsCapacityMessages)");
    }
    shm::FifoDedup rec{};
    rec.key_lo = dkey.lo;
    rec.key_hi = dkey.hi;
    rec.expires_unix_ms = unix_now + kDedupWindowMs;
    rec.seq = fc_->next_seq + 1;
    std::memcpy(rec.message_id, result.message_id.bytes.data(), 16);
    dedup_insert(rec, unix_now);
    const uint64_t seq = ++fc_->next_seq;
    nodes_[idx].seq = seq;
    link_tail(g, idx);
    result.sequence_number = SequenceNumber{seq};
    LQS_CRASH_POINT("fifo.send.after_link");
    ticket = journal_append(shm::kJournalSend, idx,
                            slots_[idx].incarnation.load(std::memory_order_relaxed),
                            result.message_id.bytes.data(), 0, seq);
    uint64_t expected = writing;
    if (delay > 0) {
      const uint64_t delayed =
          make_state(SlotState::kDelayed, epoch, 0, now + static_cast<uint64_t>(delay) * 1000);
      // release: the record and descriptor become visible with the state.
      (void)slots_[idx].state.compare_exchange_strong(expected, delayed, std::memory_order_release,
                                                      std::memory_order_relaxed);
      lane_push(static_cast<uint64_t>(delay) * 1000, make_entry(idx, epoch, 0));
    } else {
      // release: the record and descriptor become visible with the state (pairs with the
      // lease CAS in fifo_fill()).
      (void)slots_[idx].state.compare_exchange_strong(
          expected, make_state(SlotState::kReady, epoch, 0, 0), std::memory_order_release,
          std::memory_order_relaxed);
    }
    if (!group_locked(g, now)) {
      ready_push(g);
    }
    return {};
  }

  // One entry of fifo_send(): its prepared send (with its keys), outcome and journal ticket.
  struct FifoEntry {
    PreparedSend p;
    std::optional<Error> error;  // set if the entry failed (validation, full, ...)
    uint64_t ticket = kNoTicket;
  };

  // FIFO sends, in request order: each entry is prepared (validated, slot claimed, record
  // written, keys hashed) outside the index mutex, then every prepared one is committed under
  // one acquisition. (Holding the mutex through the slot claims too, which on a full queue
  // scan the slot bitmap, starved the consumers: 29 k msg/s in lqs-fifo-bench, batch10,
  // 1 consumer, 500 k messages.) A crash between the two steps leaves WRITING slots of a dead
  // owner, which recover() frees as for a single send; nothing of them was acknowledged.
  void fifo_send(std::span<const SendRequest> rs, const SendOptions& opts, const MoveSpec* move,
                 const SendClocks* clocks, std::span<FifoEntry> es) {
    for (size_t i = 0; i < rs.size(); ++i) {
      if (auto v = send_prepare(rs[i], opts, move, clocks, es[i].p); !v) {
        es[i].error = std::move(v).error();
      }
    }
    uint64_t accepted = 0;
    {
      FifoGuard guard(*this, /*drain=*/false);
      for (FifoEntry& e : es.first(rs.size())) {
        if (e.error) {
          continue;
        }
        if (auto done = fifo_commit(e.p, e.ticket); !done) {
          e.error = std::move(done).error();
        } else {
          ++accepted;
        }
      }
    }
    if (accepted != 0) {
      // relaxed: a statistic (a duplicate counts too: the send was accepted).
      h_->sent_total.fetch_add(accepted, std::memory_order_relaxed);
    }
  }

  // ReceiveRequestAttemptId (REQUIRES: the FIFO mutex). The record of `key`, if unexpired.
  shm::FifoAttempt* attempt_find(Key key, int64_t unix_now) noexcept {
    for (uint32_t i = 0; i < shm::kFifoAttempts; ++i) {
      shm::FifoAttempt& a = attempts_[i];
      if (a.key_lo == key.lo && a.key_hi == key.hi && a.expires_unix_ms > unix_now) {
        return &a;
      }
    }
    return nullptr;
  }

  // Replays attempt `a`: the same messages and handles, their visibility reset. False (and
  // `out` empty) when any of them was deleted, expired or received again since.
  bool attempt_replay(const shm::FifoAttempt& a, uint64_t now, uint32_t sys_mask,
                      const ReceiveOptions& o, ReceiveBatch& out) {
    for (uint32_t i = 0; i < a.count; ++i) {
      const shm::Slot& s = slots_[a.slot[i]];
      const StateWord sw = StateWord::decode(s.state.load(std::memory_order_acquire));
      if (s.incarnation.load(std::memory_order_acquire) != a.inc[i] ||
          sw.state != SlotState::kLeased || sw.epoch != a.epoch[i] || sw.value <= now) {
        return false;
      }
    }
    if (out.messages.size() < a.count) {
      out.messages.resize(a.count);
    }
    for (uint32_t i = 0; i < a.count; ++i) {
      shm::Slot& s = slots_[a.slot[i]];
      uint64_t st = s.state.load(std::memory_order_acquire);
      const StateWord sw = StateWord::decode(st);
      const uint32_t tv = (sw.tver + 1) & queue::kTverMask;
      // acq_rel: as change_visibility()'s CAS; a new tver retires the old lane entry.
      if (!s.state.compare_exchange_strong(
              st, make_state(SlotState::kLeased, sw.epoch, tv, now + a.vis_ms),
              std::memory_order_acq_rel)) {
        out.count = 0;
        return false;
      }
      lane_push(a.vis_ms, make_entry(a.slot[i], sw.epoch, tv));
      if (!fill_message(a.slot[i], sw.epoch, s.receive_count.load(std::memory_order_relaxed),
                        s.first_receive_unix_ms.load(std::memory_order_relaxed), sys_mask, o,
                        out.messages[out.count])) {
        out.count = 0;
        return false;
      }
      ++out.count;
    }
    return true;
  }

  void attempt_record(Key key, int64_t unix_now, uint64_t vis_ms, const ReceiveBatch& out) {
    shm::FifoAttempt& a = attempts_[fc_->attempt_next++ % shm::kFifoAttempts];
    a.key_lo = 0;  // invalid while being written (a crash here loses only this record)
    a.key_hi = 0;
    a.expires_unix_ms = unix_now + kAttemptWindowMs;
    a.vis_ms = static_cast<uint32_t>(vis_ms);
    a.count = 0;
    for (size_t i = 0; i < out.count && i < shm::kFifoMaxBatch; ++i) {
      auto hd = parse_handle(out.messages[i].receipt_handle);
      if (!hd) {
        return;
      }
      a.slot[a.count] = hd->slot;
      a.epoch[a.count] = hd->epoch;
      a.inc[a.count] = hd->incarnation;
      ++a.count;
    }
    a.key_hi = key.hi;
    a.key_lo = key.lo;
  }

  // A FIFO receive with a ReceiveRequestAttemptId: a retry within 5 minutes replays the
  // first answer (same messages and handles, visibility reset) while none of its messages
  // changed; otherwise it is refused. A first attempt receives (through `receive`, without
  // the id) and records what it returned.
  template <typename Receive>
  Result<void> receive_with_attempt(ReceiveBatch& out, const ReceiveOptions& o,
                                    const Receive& receive) {
    const Key key = key_of("a", o.receive_request_attempt_id, /*one_pass=*/true);
    const uint64_t vis_ms =
        static_cast<uint64_t>(o.visibility_timeout_s
                                  ? *o.visibility_timeout_s
                                  : h_->visibility_timeout_s.load(std::memory_order_relaxed)) *
        1000;
    const uint32_t sys_mask = o.system_attribute_names.empty()
                                  ? 0
                                  : queue::system_attribute_mask(o.system_attribute_names);
    {
      FifoGuard guard(*this);
      if (shm::FifoAttempt* a = attempt_find(key, unix_ms()); a != nullptr) {
        if (a->count > 0 && attempt_replay(*a, now_rel_ms(), sys_mask, o, out)) {
          return {};
        }
        if (a->count > 0) {
          return make_error(ErrorCode::kInvalidParameterValue,
                            "Value " + o.receive_request_attempt_id +
                                " for parameter ReceiveRequestAttemptId is invalid. Reason: The "
                                "receiveRequestAttemptId is not valid anymore since the receive "
                                "call is not retryable.");
        }
      }
    }
    ReceiveOptions plain = o;
    plain.receive_request_attempt_id.clear();
    if (auto r = receive(out, plain); !r) {
      return r;
    }
    if (out.count > 0) {
      FifoGuard guard(*this);
      attempt_record(key, unix_ms(), vis_ms, out);
    }
    return {};
  }

  // After a crash or a lost wake-up: every receivable group back into the ready list.
  uint32_t fifo_requeue_groups() {
    FifoGuard guard(*this);
    const uint64_t now = now_rel_ms();
    uint32_t n = 0;
    for (uint32_t i = 0; i < h_->fifo_group_capacity; ++i) {
      const shm::FifoGroup& g = groups_[i];
      if (g.head != shm::kFifoNil && g.ready_next == shm::kFifoNotReady && !group_locked(i, now)) {
        ready_push(i);
        ++n;
      }
    }
    return n;
  }

  // A receive that found nothing has time to spare: once per kFullSweepIntervalMs per queue
  // (whichever process wins the CAS) it sweeps every slot. This bounds how long a message
  // whose timer-lane entry was lost (a receiver killed between its lease CAS and its lane
  // push, or every lane full) stays invisible past its deadline to about one interval, while
  // busy queues never pay for it. The /proc check for dead writers stays in recover().
  bool maybe_full_sweep(uint64_t now) noexcept {
    if (!claim_due(h_->full_sweep_due_ms, kFullSweepIntervalMs, now)) {
      return false;
    }
    const int64_t unix_now = unix_ms();
    RecoveryReport unused;
    for (uint32_t i = 0; i < slot_count_; ++i) {
      repair_slot(i, now, unix_now, false, unused);
    }
    if (fifo()) {
      // The same bound for a group left out of the ready list by a bug or a lost update: it
      // comes back within one interval instead of never.
      (void)fifo_requeue_groups();
    }
    return true;
  }

  // Repairs one slot (see the crash table in src/queue/README.md).
  void repair_slot(uint32_t idx, uint64_t now, int64_t unix_now, bool check_writers,
                   RecoveryReport& r) noexcept {
    shm::Slot& sl = slots_[idx];
    uint64_t s = sl.state.load(std::memory_order_acquire);
    StateWord sw = StateWord::decode(s);
    switch (sw.state) {
      case SlotState::kFree:
        return;
      case SlotState::kWriting:
        if (check_writers && !common::owner_alive(sw.value)) {
          release_slot(idx, s);
          ++r.dead_writers_reclaimed;
        }
        return;
      case SlotState::kDeleting:
        complete_delete(idx, s);
        ++r.deletes_completed;
        return;
      default:
        break;
    }
    if (past_retention(idx, unix_now)) {
      if (delete_slot(idx, s)) {
        ++r.retention_expired;
      }
      return;
    }
    if (sw.state == SlotState::kPublishing) {
      publish(idx, s);  // a duplicate ring entry is harmless
      ++r.publishes_completed;
      return;
    }
    if ((sw.state == SlotState::kLeased || sw.state == SlotState::kDelayed) && sw.value <= now) {
      const uint64_t publishing = make_state(SlotState::kPublishing, sw.epoch, sw.tver, now);
      if (sl.state.compare_exchange_strong(s, publishing, std::memory_order_acq_rel)) {
        publish(idx, publishing);
        ++r.leases_expired;
        wake_receivers();
      }
    }
  }

  // FIFO index (nullptr for a standard queue).
  shm::JournalControl* jc_ = nullptr;
  shm::JournalCell* jcells_ = nullptr;
  uint32_t jmask_ = 0;
  // lqsd's side (journal_read): the claimed-but-unpublished cell being timed, and since when.
  uint64_t stall_ticket_ = UINT64_MAX;
  std::chrono::steady_clock::time_point stall_since_{};
  shm::FifoControl* fc_ = nullptr;
  shm::FifoGroup* groups_ = nullptr;
  shm::FifoNode* nodes_ = nullptr;
  shm::FifoDedup* dedup_ = nullptr;  // ring of fifo_dedup_capacity records
  uint64_t* dedup_index_ = nullptr;  // 2 * fifo_dedup_capacity buckets (dedup_bucket())
  shm::FifoAttempt* attempts_ = nullptr;
  RingView releases_;  // FIFO: deleted slots still linked in their group (fifo_drain_releases)

  shm::Segment seg_;
  shm::SegmentHeader* h_ = nullptr;
  shm::Slot* slots_ = nullptr;
  std::atomic<uint64_t>* slot_bits_ = nullptr;
  uint32_t slot_count_ = 0;
  RingView ready_;
  std::array<RingView, shm::kLaneCount> lanes_;
  Arena arena_;
  Clock* clock_;
  std::string name_;
  std::string shm_root_;
  // The dead-letter queue, opened on the first move (the move path only: rare).
  std::mutex dlq_mu_;
  std::unique_ptr<Queue> dlq_;
};

// ---- Queue ----------------------------------------------------------------------------------

Queue::Queue(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Queue::Queue(Queue&&) noexcept = default;
Queue& Queue::operator=(Queue&&) noexcept = default;
Queue::~Queue() = default;

Result<Queue> Queue::create(const QueueLocation& where, const QueueAttributes& attributes) {
  if (auto v = queue::validate_queue_name(where.name); !v) {
    return std::move(v).error();
  }
  if (auto v = validate(attributes); !v) {
    return std::move(v).error();
  }
  if (where.name.ends_with(".fifo") != attributes.fifo_queue) {
    // SQS: a FIFO queue's name ends in ".fifo", and only a FIFO queue's does.
    return make_error(ErrorCode::kInvalidParameterValue,
                      "Can only include alphanumeric characters, hyphens, or underscores. 1 to "
                      "80 in length");
  }
  Clock* clock = where.clock != nullptr ? where.clock : &SystemClock::instance();
  auto seg = shm::Segment::create(where.shm_root, where.name, attributes, clock->unix_ms(),
                                  clock->mono_ns());
  if (!seg) {
    return std::move(seg).error();
  }
  return Queue(std::make_unique<Impl>(std::move(*seg), clock, where.name, where.shm_root));
}

Result<Queue> Queue::open(const QueueLocation& where) {
  auto q = open_without_recovery(where);
  if (q) {
    (void)q->recover();  // repair whatever a dead process left behind
  }
  return q;
}

Result<Queue> Queue::open_without_recovery(const QueueLocation& where) {
  if (auto v = queue::validate_queue_name(where.name); !v) {
    return std::move(v).error();
  }
  auto seg = shm::Segment::open(where.shm_root, where.name);
  if (!seg) {
    return std::move(seg).error();
  }
  return Queue(std::make_unique<Impl>(std::move(*seg), where.clock, where.name, where.shm_root));
}

Result<void> Queue::remove(const QueueLocation& where) {
  if (auto v = queue::validate_queue_name(where.name); !v) {
    return std::move(v).error();
  }
  return shm::Segment::remove(where.shm_root, where.name);
}

const std::string& Queue::name() const noexcept { return impl_->name_; }

std::vector<std::string> Queue::list(const std::string& shm_root) {
  return shm::Segment::list(shm_root);
}

int64_t Queue::created_unix_ms() const noexcept { return impl_->h_->created_unix_ms; }

int64_t Queue::last_modified_unix_ms() const noexcept {
  return impl_->h_->last_modified_unix_ms.load(std::memory_order_relaxed);
}

QueueAttributes Queue::attributes() const noexcept {
  const shm::SegmentHeader* h = impl_->h_;
  QueueAttributes a;
  a.visibility_timeout_s = h->visibility_timeout_s.load(std::memory_order_relaxed);
  a.message_retention_period_s = h->message_retention_period_s.load(std::memory_order_relaxed);
  a.maximum_message_size = h->maximum_message_size.load(std::memory_order_relaxed);
  a.delay_s = h->delay_s.load(std::memory_order_relaxed);
  a.receive_message_wait_time_s = h->receive_message_wait_time_s.load(std::memory_order_relaxed);
  a.capacity_messages = h->slot_count;
  a.capacity_bytes = h->capacity_bytes;
  a.fifo_queue = h->fifo_off != 0;
  const uint32_t f = h->fifo_flags.load(std::memory_order_relaxed);
  a.content_based_deduplication = (f & shm::kFifoContentDedup) != 0;
  a.deduplication_scope_message_group = (f & shm::kFifoScopeGroup) != 0;
  a.fifo_throughput_per_group = (f & shm::kFifoPerGroup) != 0;
  const int32_t d = h->durability.load(std::memory_order_relaxed);
  a.durability = d >= 0 && d <= 2 ? static_cast<Durability>(d) : Durability::kMemory;
  return a;
}

Result<void> Queue::set_attributes(const QueueAttributes& a) {
  if (auto v = validate(a); !v) {
    return v;
  }
  shm::SegmentHeader* h = impl_->h_;
  // relaxed: an attribute read per operation. Memory → durable: what was sent before was
  // never journaled, so lqsd must snapshot the queue (the overflow flag asks for that).
  const int32_t was =
      h->durability.exchange(static_cast<int32_t>(a.durability), std::memory_order_relaxed);
  if (was == static_cast<int32_t>(Durability::kMemory) && a.durability != Durability::kMemory) {
    impl_->raise_overflow();
  }
  // relaxed: each attribute is read independently per operation.
  h->visibility_timeout_s.store(a.visibility_timeout_s, std::memory_order_relaxed);
  h->message_retention_period_s.store(a.message_retention_period_s, std::memory_order_relaxed);
  h->maximum_message_size.store(a.maximum_message_size, std::memory_order_relaxed);
  h->delay_s.store(a.delay_s, std::memory_order_relaxed);
  h->receive_message_wait_time_s.store(a.receive_message_wait_time_s, std::memory_order_relaxed);
  if (h->fifo_off != 0) {
    h->fifo_flags.store(shm::fifo_flags(a), std::memory_order_relaxed);
  }
  h->last_modified_unix_ms.store(impl_->unix_ms(), std::memory_order_relaxed);
  return {};
}

Result<void> Queue::set_redrive_policy(const std::optional<RedrivePolicy>& policy) {
  Impl& im = *impl_;
  if (policy) {
    if (auto v = queue::validate_queue_name(policy->dead_letter_queue); !v) {
      return make_error(ErrorCode::kInvalidParameterValue,
                        "Invalid dead-letter queue name \"" + policy->dead_letter_queue + "\"");
    }
    if (policy->dead_letter_queue == im.name_) {
      return make_error(ErrorCode::kInvalidParameterValue,
                        "A queue cannot be its own dead-letter queue.");
    }
    if (policy->max_receive_count < 1 || policy->max_receive_count > 1000) {
      return make_error(
          ErrorCode::kInvalidParameterValue,
          "Invalid value for maxReceiveCount: " + std::to_string(policy->max_receive_count) +
              ", valid values are from 1 to 1000 both inclusive.");
    }
  }
  shm::SegmentHeader* h = im.h_;
  // Seqlock writer. Writers are serialised by a CAS from an even to an odd sequence, which
  // they own until they CAS it to the next even value. A sequence that stays odd for
  // kStuckWriterNs belongs to a writer killed mid-write: we take the write over by moving the
  // odd sequence on by two (readers keep retrying, then the policy is whole again). A writer
  // merely stalled that long would find its final CAS failing and give up its write.
  constexpr int64_t kStuckWriterNs = 100'000'000;
  // Real elapsed time, not the queue's clock (which tests may hold still).
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::nanoseconds(kStuckWriterNs);
  uint32_t seq = h->redrive_seq.load(std::memory_order_relaxed);
  uint32_t owned = 0;  // the odd sequence this write holds
  for (;;) {
    const bool odd = (seq & 1) != 0;
    if (odd && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::yield();
      seq = h->redrive_seq.load(std::memory_order_relaxed);
      continue;
    }
    // acq_rel: orders our field stores after the odd value readers check for. On failure
    // `seq` is reloaded.
    if (h->redrive_seq.compare_exchange_weak(seq, seq + (odd ? 2 : 1), std::memory_order_acq_rel)) {
      owned = seq + (odd ? 2 : 1);
      break;
    }
  }
  LQS_CRASH_POINT("redrive.after_claim");
  char name[sizeof(h->redrive_dlq_name)] = {};
  if (policy) {
    // NUL-padded (the buffer is zeroed; a name is at most 80 of its 96 bytes).
    std::copy_n(policy->dead_letter_queue.data(), policy->dead_letter_queue.size(), name);
  }
  for (size_t w = 0; w < std::size(h->redrive_dlq_name); ++w) {
    uint64_t v = 0;
    std::memcpy(&v, name + w * 8, 8);
    // release: pairs with the readers' acquire loads of the fields (see read_redrive()).
    h->redrive_dlq_name[w].store(v, std::memory_order_release);
  }
  h->redrive_max_receive_count.store(policy ? policy->max_receive_count : 0,
                                     std::memory_order_release);
  // release: pairs with the readers' acquire loads of the sequence. Fails only if a later
  // writer took our write over (we stalled past kStuckWriterNs): theirs stands.
  (void)h->redrive_seq.compare_exchange_strong(owned, owned + 1, std::memory_order_release,
                                               std::memory_order_relaxed);
  return {};
}

std::optional<RedrivePolicy> Queue::redrive_policy() const { return impl_->read_redrive(); }

Result<SendResult> Queue::send(const SendRequest& request, const SendOptions& options) {
  return impl_->send_one(request, options, true);
}

Result<void> Queue::send_batch(std::span<const SendRequest> requests,
                               std::vector<Result<SendResult>>& out, const SendOptions& options) {
  out.clear();
  if (requests.empty()) {
    return make_error(ErrorCode::kEmptyBatchRequest,
                      "There should be at least one SendMessageBatchRequestEntry in the request.");
  }
  if (requests.size() > 10) {
    return make_error(ErrorCode::kTooManyEntriesInBatch,
                      "Maximum number of entries per request are 10. You have sent " +
                          std::to_string(requests.size()) + ".");
  }
  size_t total = 0;
  for (const auto& r : requests) {
    total += queue::message_size(r.body, r.attributes);
  }
  if (total > kBatchLimitBytes) {
    return make_error(ErrorCode::kBatchRequestTooLong,
                      "Batch requests cannot be longer than 1048576 bytes. You have sent " +
                          std::to_string(total) + " bytes.");
  }
  out.reserve(requests.size());
  // LqsDurability=sync: one wait for the whole batch (the entries' events are consecutive
  // in the journal but for other senders', so waiting for the last one covers all).
  uint64_t last = Impl::kNoTicket;
  bool unjournaled = false;
  const auto note_ticket = [&](uint64_t ticket) {
    if (out.back() && impl_->durability() == Durability::kSync) {
      if (ticket == Impl::kNoTicket) {
        unjournaled = true;
      } else if (ticket != Impl::kNothingToWaitFor) {
        last = last == Impl::kNoTicket ? ticket : std::max(last, ticket);
      }
    }
  };
  if (impl_->fifo()) {
    // One acquisition of the index mutex for the whole batch (Impl::fifo_send), with the
    // clocks read once.
    std::array<Impl::FifoEntry, 10> es;
    const Impl::SendClocks clocks = impl_->read_send_clocks(true);
    impl_->fifo_send(requests, options, nullptr, &clocks, es);
    impl_->finish_journal();
    for (size_t i = 0; i < requests.size(); ++i) {
      if (es[i].error) {
        out.emplace_back(std::move(*es[i].error));
      } else {
        out.emplace_back(es[i].p.result);
        note_ticket(es[i].ticket);
      }
    }
  } else {
    // The clocks once for the batch, as above (a read costs ~23 ns on these VMs).
    const Impl::SendClocks clocks = impl_->read_send_clocks(true);
    for (const auto& r : requests) {
      uint64_t ticket = Impl::kNoTicket;
      out.push_back(impl_->send_one(r, options, false, nullptr, &ticket, &clocks));
      note_ticket(ticket);
    }
  }
  impl_->wake_receivers();
  if (unjournaled || last != Impl::kNoTicket) {
    auto w =
        impl_->wait_durable(unjournaled ? Impl::kNoTicket : last, options.durability_timeout_ms);
    if (!w) {
      for (auto& e : out) {
        if (e) {
          e = w.error();
        }
      }
    }
  }
  return {};
}

Result<void> Queue::receive(ReceiveBatch& out, const ReceiveOptions& o) {
  out.count = 0;
  if (auto v = queue::validate_receive_options(o); !v) {
    return v;
  }
  Impl& im = *impl_;
  if (im.fifo() && !o.receive_request_attempt_id.empty()) {
    if (auto v =
            queue::validate_fifo_token(o.receive_request_attempt_id, "ReceiveRequestAttemptId");
        !v) {
      return v;
    }
    return im.receive_with_attempt(
        out, o, [this](ReceiveBatch& b, const ReceiveOptions& opts) { return receive(b, opts); });
  }
  // Counts the call when it returns, whichever way: messages returned, or one empty receive.
  // relaxed: statistics; these lines are shared by receivers only.
  struct CountOnReturn {
    shm::SegmentHeader* h;
    const ReceiveBatch& out;
    ~CountOnReturn() {
      if (out.count > 0) {
        h->received_total.fetch_add(out.count, std::memory_order_relaxed);
      } else {
        h->empty_receives_total.fetch_add(1, std::memory_order_relaxed);
      }
    }
  } const count_on_return{im.h_, out};
  const auto vis_ms =
      static_cast<uint64_t>(o.visibility_timeout_s
                                ? *o.visibility_timeout_s
                                : im.h_->visibility_timeout_s.load(std::memory_order_relaxed)) *
      1000;
  const int32_t wait_s = o.wait_time_s
                             ? *o.wait_time_s
                             : im.h_->receive_message_wait_time_s.load(std::memory_order_relaxed);
  const auto want = static_cast<size_t>(o.max_number_of_messages);
  if (out.messages.size() < want) {
    out.messages.resize(want);
  }
  const uint32_t sys_mask =
      o.system_attribute_names.empty() ? 0 : queue::system_attribute_mask(o.system_attribute_names);
  // One monotonic read serves the deadline and the first attempt (clock reads are a visible
  // share of a receive's cost on VMs).
  const int64_t start_ns = im.clock_->mono_ns();
  const int64_t deadline_ns = start_ns + int64_t{wait_s} * 1'000'000'000;

  // Both clocks read once per attempt and passed on: a read costs ~23 ns on these VMs, and
  // an empty poll used to read them seven times.
  struct Now {
    uint64_t rel_ms;
    int64_t unix_ms;
  };
  auto read_now = [&](int64_t mono_ns) {
    return Now{im.rel_ms(mono_ns), im.clock_->unix_ms_at(mono_ns)};
  };
  auto fill_at = [&](const Now& at) {
    const uint64_t now = at.rel_ms;
    const int64_t unix_now = at.unix_ms;
    if (im.fifo()) {
      im.fifo_fill(now, unix_now, vis_ms, sys_mask, o, out, want);
      return;
    }
    uint32_t idle_lanes = 0;
    while (out.count < want) {
      uint32_t idx = 0;
      uint32_t epoch = 0;
      if (!im.take_one(now, unix_now, vis_ms, idx, epoch, idle_lanes)) {
        break;
      }
      if (im.deliver(idx, epoch, now, vis_ms, unix_now, sys_mask, o, out.messages[out.count])) {
        ++out.count;
      }
    }
  };

  auto fill = [&]() { fill_at(read_now(im.clock_->mono_ns())); };
  // What a sweep step, then perhaps a full sweep, made receivable: as of the same reading
  // (a lane entry falling due in the microseconds between is taken by the next attempt).
  auto sweep_and_fill = [&](const Now& at) {
    im.sweep_step(kSweepStep, at.rel_ms, at.unix_ms);
    fill_at(at);
    if (out.count == 0 && im.maybe_full_sweep(at.rel_ms)) {
      fill_at(at);
    }
  };

  const Now start = read_now(start_ns);
  fill_at(start);
  if (out.count > 0) {
    return {};
  }
  sweep_and_fill(start);
  if (out.count == 0 && wait_s > 0) {
    // Spin briefly before parking: a message that arrives within kReceiveSpinNs is taken
    // without the futex wake-up (4 µs on bare metal, 26-40 µs on these VMs). The spin keeps
    // the CPU (pause, no sched_yield: on a busy machine a yield gives the CPU away for a
    // whole time slice, milliseconds) and watches sent_total, which every send bumps after
    // publishing, so it tries a receive only when something was sent. Real time bounds it,
    // not the queue's clock (a test's fake clock does not move by itself).
    const auto spin_end =
        std::chrono::steady_clock::now() + std::chrono::nanoseconds(kReceiveSpinNs);
    // relaxed: a hint only; fill() does the acquiring loads.
    uint64_t seen = im.h_->sent_total.load(std::memory_order_relaxed);
    while (out.count == 0 && std::chrono::steady_clock::now() < spin_end) {
      for (int i = 0; i < 32; ++i) {
        __builtin_ia32_pause();
      }
      const uint64_t sent = im.h_->sent_total.load(std::memory_order_relaxed);
      if (sent != seen) {
        seen = sent;
        fill();
      }
    }
  }
  while (out.count == 0 && wait_s > 0) {
    const int64_t now_ns = im.clock_->mono_ns();
    if (now_ns >= deadline_ns) {
      break;
    }
    // Register as parked, then read the futex word, then re-check: a send that lands after
    // the re-check sees our bit and changes the word, so the wait returns at once.
    const int entry = im.register_waiter();
    // seq_cst: after our registration in the single total order (see wake_receivers()).
    const uint32_t seq = im.h_->futex_seq.load(std::memory_order_seq_cst);
    fill();
    if (out.count > 0) {
      im.unregister_waiter(entry);
      break;
    }
    int64_t sleep_ns = deadline_ns - now_ns;
    const uint64_t due = im.next_due_ms();
    if (due != UINT64_MAX) {
      const int64_t due_ns = im.h_->mono_base_ns + static_cast<int64_t>(due) * 1'000'000;
      sleep_ns = std::min(sleep_ns, std::max<int64_t>(due_ns - now_ns, 1'000'000));
    }
    sleep_ns = std::min<int64_t>(sleep_ns, 1'000'000'000);  // safety net: re-check every 1 s
    if (entry < 0) {
      sleep_ns = std::min<int64_t>(sleep_ns, 1'000'000);  // unregistered: nap, poll again
    }
    common::futex_wait(&im.h_->futex_seq, seq, sleep_ns);
    im.unregister_waiter(entry);
    const Now woke = read_now(im.clock_->mono_ns());
    fill_at(woke);
    if (out.count == 0) {
      sweep_and_fill(woke);
    }
  }
  return {};
}

Queue::Wakeup Queue::arm_wakeup() noexcept {
  Impl& im = *impl_;
  Wakeup w;
  w.entry = im.register_waiter();
  // seq_cst: after our registration in the single total order, as in receive() (pairs with
  // wake_receivers(): a send that lands after this load sees our bit and bumps the word).
  w.value = im.h_->futex_seq.load(std::memory_order_seq_cst);
  w.word = &im.h_->futex_seq;
  const int64_t now_ns = im.clock_->mono_ns();
  int64_t sleep_ns = 1'000'000'000;  // safety net, as in receive()
  const uint64_t due = im.next_due_ms();
  if (due != UINT64_MAX) {
    const int64_t due_ns = im.h_->mono_base_ns + static_cast<int64_t>(due) * 1'000'000;
    sleep_ns = std::min(sleep_ns, std::max<int64_t>(due_ns - now_ns, 1'000'000));
  }
  if (w.entry < 0) {
    sleep_ns = std::min<int64_t>(sleep_ns, 1'000'000);
  }
  w.max_sleep_ns = sleep_ns;
  return w;
}

void Queue::disarm_wakeup(const Wakeup& wakeup) noexcept { impl_->unregister_waiter(wakeup.entry); }

Result<void> Queue::delete_message(std::string_view receipt_handle) {
  Impl& im = *impl_;
  auto hd = im.parse_handle(receipt_handle);
  if (!hd) {
    return std::move(hd).error();
  }
  // relaxed: a statistic. Every call with a valid handle counts, repeats included, as
  // CloudWatch's NumberOfMessagesDeleted does.
  im.h_->deleted_total.fetch_add(1, std::memory_order_relaxed);
  shm::Slot& s = im.slots_[hd->slot];
  if (im.fifo()) {
    // FIFO: only the current lease may delete; an expired one fails as on SQS.
    for (int attempt = 0; attempt < 1000; ++attempt) {
      if (s.incarnation.load(std::memory_order_acquire) != hd->incarnation) {
        return {};  // already deleted
      }
      const uint64_t st = s.state.load(std::memory_order_acquire);
      const StateWord sw = StateWord::decode(st);
      if (sw.state == SlotState::kFree || sw.state == SlotState::kDeleting ||
          sw.state == SlotState::kWriting) {
        return {};
      }
      const uint64_t now = im.now_rel_ms();
      if (sw.epoch != hd->epoch || sw.state != SlotState::kLeased || sw.value <= now) {
        return expired_handle(receipt_handle);
      }
      if (im.delete_slot(hd->slot, st, /*journal=*/true, now)) {
        im.wake_receivers();  // the group may be receivable again
        return {};
      }
    }
    return {};
  }
  for (int attempt = 0; attempt < 1000; ++attempt) {
    if (s.incarnation.load(std::memory_order_acquire) != hd->incarnation) {
      return {};  // already deleted: SQS answers success
    }
    uint64_t st = s.state.load(std::memory_order_acquire);
    StateWord sw = StateWord::decode(st);
    if (sw.epoch != hd->epoch) {
      return {};  // received again since: SQS succeeds without deleting
    }
    switch (sw.state) {
      case SlotState::kLeased:
      case SlotState::kReady:
      case SlotState::kPublishing:
      case SlotState::kDelayed:
        if (im.delete_slot(hd->slot, st)) {
          return {};
        }
        continue;  // state changed under us: look again
      default:
        return {};  // FREE, WRITING (reused) or DELETING (someone else is deleting it)
    }
  }
  return {};
}

Result<void> Queue::delete_batch(std::span<const std::string_view> handles,
                                 std::vector<Result<void>>& out) {
  out.clear();
  if (handles.empty()) {
    return make_error(ErrorCode::kEmptyBatchRequest,
                      "There should be at least one DeleteMessageBatchRequestEntry in the "
                      "request.");
  }
  if (handles.size() > 10) {
    return make_error(ErrorCode::kTooManyEntriesInBatch,
                      "Maximum number of entries per request are 10. You have sent " +
                          std::to_string(handles.size()) + ".");
  }
  out.reserve(handles.size());
  // FIFO: the index mutex once for the batch, not once per entry (the guard is re-entrant).
  std::optional<Impl::FifoGuard> fifo_guard;
  if (impl_->fifo()) {
    fifo_guard.emplace(*impl_);
  }
  for (auto h : handles) {
    out.push_back(delete_message(h));
  }
  return {};
}

Result<void> Queue::change_visibility(std::string_view receipt_handle, int32_t timeout_s) {
  Impl& im = *impl_;
  auto hd = im.parse_handle(receipt_handle);
  if (!hd) {
    return std::move(hd).error();
  }
  if (timeout_s < 0 || timeout_s > 43200) {
    return make_error(ErrorCode::kInvalidParameterValue,
                      "Value " + std::to_string(timeout_s) +
                          " for parameter VisibilityTimeout is invalid. Reason: Must be between "
                          "0 and 43200, if provided.");
  }
  shm::Slot& s = im.slots_[hd->slot];
  for (int attempt = 0; attempt < 1000; ++attempt) {
    if (s.incarnation.load(std::memory_order_acquire) != hd->incarnation) {
      return not_available(receipt_handle);
    }
    uint64_t st = s.state.load(std::memory_order_acquire);
    StateWord sw = StateWord::decode(st);
    if (sw.epoch != hd->epoch) {
      return im.fifo() ? expired_handle(receipt_handle) : not_available(receipt_handle);
    }
    const uint64_t now = im.now_rel_ms();
    if (im.fifo() && (sw.state != SlotState::kLeased || sw.value <= now)) {
      return expired_handle(receipt_handle);  // FIFO: as SQS answers an expired handle
    }
    if (sw.state == SlotState::kReady || sw.state == SlotState::kPublishing) {
      return {};  // the lease expired and was reclaimed: a no-op, as SQS does
    }
    if (sw.state != SlotState::kLeased) {
      return not_available(receipt_handle);
    }
    if (sw.value <= now) {
      return {};  // expired, not yet reclaimed: a no-op
    }
    const auto start = static_cast<uint64_t>(s.lease_start_ms.load(std::memory_order_relaxed));
    const uint64_t new_deadline = now + static_cast<uint64_t>(timeout_s) * 1000;
    if (new_deadline > start + static_cast<uint64_t>(kMaxVisibilityMs)) {
      return make_error(ErrorCode::kInvalidParameterValue,
                        "Value " + std::to_string(timeout_s) +
                            " for parameter VisibilityTimeout is invalid. Reason: Total "
                            "VisibilityTimeout for the message is beyond the limit [43200 "
                            "seconds]");
    }
    // Read before the CAS, as a delete's (Impl::event_subject).
    const Impl::EventSubject subject = im.event_subject(hd->slot);
    if (timeout_s == 0) {
      const uint64_t publishing = make_state(SlotState::kPublishing, sw.epoch, sw.tver, now);
      if (s.state.compare_exchange_strong(st, publishing, std::memory_order_acq_rel)) {
        im.journal_message_event(shm::kJournalVisibility, hd->slot, subject, 0);
        im.publish(hd->slot, publishing);
        im.finish_journal();
        im.wake_receivers();
        return {};
      }
      continue;
    }
    const uint32_t tv = (sw.tver + 1) & queue::kTverMask;
    if (s.state.compare_exchange_strong(st,
                                        make_state(SlotState::kLeased, sw.epoch, tv, new_deadline),
                                        std::memory_order_acq_rel)) {
      im.journal_message_event(shm::kJournalVisibility, hd->slot, subject,
                               static_cast<uint32_t>(timeout_s));
      im.lane_push(static_cast<uint64_t>(timeout_s) * 1000, make_entry(hd->slot, sw.epoch, tv));
      im.finish_journal();
      return {};
    }
  }
  return not_available(receipt_handle);
}

Result<void> Queue::change_visibility_batch(std::span<const std::string_view> handles,
                                            std::span<const int32_t> timeouts,
                                            std::vector<Result<void>>& out) {
  out.clear();
  if (handles.empty()) {
    return make_error(ErrorCode::kEmptyBatchRequest,
                      "There should be at least one ChangeMessageVisibilityBatchRequestEntry in "
                      "the request.");
  }
  if (handles.size() > 10) {
    return make_error(ErrorCode::kTooManyEntriesInBatch,
                      "Maximum number of entries per request are 10. You have sent " +
                          std::to_string(handles.size()) + ".");
  }
  if (timeouts.size() != handles.size()) {
    return make_error(ErrorCode::kMissingParameter,
                      "The request must contain the parameter VisibilityTimeout.");
  }
  out.reserve(handles.size());
  for (size_t i = 0; i < handles.size(); ++i) {
    out.push_back(change_visibility(handles[i], timeouts[i]));
  }
  return {};
}

Result<void> Queue::purge() {
  Impl& im = *impl_;
  // One event stands for every delete below (they are not journaled one by one). If it is
  // lost, the overflow flag is raised once the purge is complete.
  (void)im.journal_append(shm::kJournalPurge, 0, 0, nullptr, 0, 0);
  const bool purge_lost = std::exchange(Impl::tl_event_lost, false);
  // FIFO: the whole purge under the index mutex, so each slot is unlinked before it is freed
  // (delete_slot and complete_delete then work at once instead of through the release ring).
  std::optional<Impl::FifoGuard> fifo_guard;
  if (im.fifo()) {
    fifo_guard.emplace(im);
  }
  for (uint32_t i = 0; i < im.slot_count_; ++i) {
    for (int attempt = 0; attempt < 100; ++attempt) {
      uint64_t s = im.slots_[i].state.load(std::memory_order_acquire);
      SlotState st = StateWord::decode(s).state;
      if (st == SlotState::kFree || st == SlotState::kWriting) {
        break;  // a send in progress may survive the purge, as SQS allows
      }
      if (st == SlotState::kDeleting) {
        im.complete_delete(i, s);
        break;
      }
      if (im.delete_slot(i, s, /*journal=*/false)) {
        break;
      }
    }
  }
  if (im.fifo()) {
    // PurgeQueue also clears the deduplication records (SQS_REFERENCE §1.3).
    im.dedup_clear();
  }
  fifo_guard.reset();
  if (purge_lost) {
    im.raise_overflow();
  }
  return {};
}

QueueStats Queue::stats() const {
  const Impl& im = *impl_;
  QueueStats st;
  const uint64_t now = im.now_rel_ms();
  int64_t oldest = INT64_MAX;
  for (uint32_t i = 0; i < im.slot_count_; ++i) {
    const shm::Slot& sl = im.slots_[i];
    StateWord sw = StateWord::decode(sl.state.load(std::memory_order_relaxed));
    switch (sw.state) {
      case SlotState::kReady:
      case SlotState::kPublishing:
        ++st.counts.visible;
        break;
      case SlotState::kLeased:
        ++(sw.value <= now ? st.counts.visible : st.counts.in_flight);
        break;
      case SlotState::kDelayed:
        ++(sw.value <= now ? st.counts.visible : st.counts.delayed);
        break;
      default:
        continue;
    }
    oldest = std::min(oldest, sl.sent_unix_ms.load(std::memory_order_relaxed));
  }
  st.oldest_sent_unix_ms = oldest == INT64_MAX ? 0 : oldest;
  const shm::SegmentHeader* h = im.h_;
  st.sent_total = h->sent_total.load(std::memory_order_relaxed);
  st.received_total = h->received_total.load(std::memory_order_relaxed);
  st.empty_receives_total = h->empty_receives_total.load(std::memory_order_relaxed);
  st.deleted_total = h->deleted_total.load(std::memory_order_relaxed);
  st.dlq_moves_total = h->dlq_moves_total.load(std::memory_order_relaxed);
  // relaxed: a statistic (raise_overflow() counts each time the flag goes up).
  st.journal_overflows_total = im.jc_->overflows_total.load(std::memory_order_relaxed);
  if (im.fifo()) {
    // relaxed: a statistic.
    st.fifo_dedup_evicted_total = im.fc_->dedup_evicted.load(std::memory_order_relaxed);
  }
  return st;
}

QueueCounts Queue::counts() const { return stats().counts; }

RecoveryReport Queue::recover() {
  Impl& im = *impl_;
  RecoveryReport r;
  const uint64_t now = im.now_rel_ms();
  const int64_t unix_now = im.unix_ms();
  for (uint32_t i = 0; i < im.slot_count_; ++i) {
    im.repair_slot(i, now, unix_now, true, r);
    ++r.slots_scanned;
  }
  r.free_hints_rebuilt += im.rebuild_slot_hints();
  r.dead_waiters_reaped = im.reap_dead_waiters();
  auto st = im.arena_.scavenge([&](uint64_t owner, uint64_t off) {
    const uint32_t idx = queue::owner_slot(owner);
    if (idx >= im.slot_count_) {
      return false;
    }
    const shm::Slot& s = im.slots_[idx];
    StateWord sw = StateWord::decode(s.state.load(std::memory_order_acquire));
    if (sw.state == SlotState::kFree) {
      return false;
    }
    if (s.incarnation.load(std::memory_order_acquire) != queue::owner_incarnation(owner)) {
      return false;
    }
    if (sw.state == SlotState::kWriting) {
      return true;  // a live writer (dead ones were released above) may not have recorded it
    }
    return s.record_off.load(std::memory_order_relaxed) == off;
  });
  r.chunks_reclaimed = st.chunks_reclaimed;
  r.free_hints_rebuilt += st.hints_rebuilt;
  if (im.fifo()) {
    // The dedup-window cleanup, and groups whose wake-up a dead process never gave.
    Impl::FifoGuard guard(im);
    r.dedup_records_expired = im.dedup_expire(unix_now);
    r.fifo_groups_requeued = im.fifo_requeue_groups();
  }
  return r;
}

std::vector<std::string> Queue::fsck() const {
  const Impl& im = *impl_;
  std::vector<std::string> problems;
  if (auto v = shm::validate_segment(im.seg_.base(), im.seg_.size()); !v) {
    problems.push_back(v.error().message);
    return problems;
  }
  for (uint32_t i = 0; i < im.slot_count_; ++i) {
    const shm::Slot& s = im.slots_[i];
    // Other processes may change the slot while we look: report only what held still.
    const uint64_t before = s.state.load(std::memory_order_acquire);
    StateWord sw = StateWord::decode(before);
    if (static_cast<uint8_t>(sw.state) > static_cast<uint8_t>(SlotState::kDeleting)) {
      problems.push_back("slot " + std::to_string(i) + ": invalid state " +
                         std::to_string(static_cast<int>(sw.state)));
      continue;
    }
    // WRITING slots may not have recorded their chunk yet, and a DELETING slot's chunk may
    // already be freed (and reused) by a deleter about to set FREE: only live messages must
    // own their record.
    if (sw.state == SlotState::kFree || sw.state == SlotState::kWriting ||
        sw.state == SlotState::kDeleting) {
      continue;
    }
    const uint32_t inc = s.incarnation.load(std::memory_order_acquire);
    const uint64_t off = s.record_off.load(std::memory_order_relaxed);
    const uint32_t len = s.record_len.load(std::memory_order_relaxed);
    const bool in_bounds = im.arena_.valid_ref(off, len);
    const uint64_t owner = in_bounds ? im.arena_.owner_at(off) : 0;
    if (s.state.load(std::memory_order_acquire) != before ||
        s.incarnation.load(std::memory_order_acquire) != inc) {
      continue;
    }
    if (!in_bounds) {
      problems.push_back("slot " + std::to_string(i) + ": record reference out of bounds");
    } else if (owner != queue::owner_token(i, inc)) {
      problems.push_back("slot " + std::to_string(i) + ": record at " + std::to_string(off) +
                         " owned by someone else (state " +
                         std::to_string(static_cast<int>(sw.state)) + ", epoch " +
                         std::to_string(sw.epoch) + ", incarnation " + std::to_string(inc) +
                         "; chunk owner slot " + std::to_string(queue::owner_slot(owner)) +
                         " incarnation " + std::to_string(queue::owner_incarnation(owner)) +
                         ", length " + std::to_string(len) + ")");
    }
  }
  // Every READY slot must have a ring entry naming its epoch (the entry is pushed before the
  // state becomes READY, and a popper changes the state before it consumes the entry). So:
  // note the READY slots, then scan the ring, then report only slots whose state did not
  // change meanwhile.
  {
    std::vector<uint64_t> ready_state(im.slot_count_, 0);
    for (uint32_t i = 0; i < im.slot_count_; ++i) {
      const uint64_t st = im.slots_[i].state.load(std::memory_order_acquire);
      if (StateWord::decode(st).state == SlotState::kReady) {
        ready_state[i] = st;
      }
    }
    std::vector<uint8_t> has(im.slot_count_, 0);
    const uint32_t cap = im.ready_.capacity();
    for (uint32_t c = 0; c < cap; ++c) {
      const uint64_t cell = im.ready_.cells()[c].load(std::memory_order_acquire);
      if ((cell & queue::kFullBit) == 0) {
        continue;
      }
      const uint64_t e = cell & queue::kEntryMask;
      const uint32_t idx = queue::entry_slot(e);
      if (idx < im.slot_count_ && ready_state[idx] != 0 &&
          StateWord::decode(ready_state[idx]).epoch == queue::entry_epoch(e)) {
        has[idx] = 1;
      }
    }
    for (uint32_t i = 0; i < im.slot_count_; ++i) {
      if (ready_state[i] == 0 || has[i] != 0 ||
          im.slots_[i].state.load(std::memory_order_acquire) != ready_state[i]) {
        continue;
      }
      problems.push_back("slot " + std::to_string(i) + ": READY (epoch " +
                         std::to_string(StateWord::decode(ready_state[i]).epoch) +
                         ") but no ready-ring entry names it");
    }
  }
  return problems;
}

}  // namespace lqs

namespace lqs {

namespace {
// A seqlock reader's barrier: the copy of a slot's record and descriptor above is ordered
// before the re-check of the slot below. TSan does not model fences (and g++ refuses them
// under -fsanitize=thread), so there an acq_rel no-op RMW of the slot's incarnation does it.
void copy_done(const shm::Slot& s) noexcept {
#if defined(__SANITIZE_THREAD__)
  (void)const_cast<shm::Slot&>(s).incarnation.fetch_add(0, std::memory_order_acq_rel);
#else
  (void)s;
  std::atomic_thread_fence(std::memory_order_acquire);
#endif
}

#if defined(__SANITIZE_THREAD__)
// TSan's dynamic annotations (in its runtime).
extern "C" void AnnotateIgnoreReadsBegin(const char* file, int line);
extern "C" void AnnotateIgnoreReadsEnd(const char* file, int line);
#endif

// A seqlock reader's copy of a record: a producer may reuse the chunk while it is copied (the
// re-check after copy_done() then discards the copy). That race is by design, and TSan is told
// to ignore the copy's reads, not the checks around it.
void copy_record(std::string& to, const char* from, size_t len) {
#if defined(__SANITIZE_THREAD__)
  AnnotateIgnoreReadsBegin(__FILE__, __LINE__);
  to.assign(from, len);
  AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
#else
  to.assign(from, len);
#endif
}
}  // namespace

// ---- durability: lqsd's side of the journal ------------------------------------------------

bool Queue::journal_attach() noexcept {
  const uint64_t me = common::self_owner_token();
  // acquire/acq_rel: pairs with other attachers' CAS; the journal's cells are ordered by seq.
  uint64_t cur = impl_->jc_->drainer_owner.load(std::memory_order_acquire);
  for (;;) {
    if (cur == me) {
      return true;
    }
    if (cur != 0 && common::owner_alive(cur)) {
      return false;
    }
    if (impl_->jc_->drainer_owner.compare_exchange_weak(cur, me, std::memory_order_acq_rel)) {
      return true;
    }
  }
}

void Queue::journal_detach() noexcept {
  uint64_t me = common::self_owner_token();
  // release: nothing of ours is published by it; pairs with journal_attach()'s acquire.
  (void)impl_->jc_->drainer_owner.compare_exchange_strong(me, 0, std::memory_order_release,
                                                          std::memory_order_relaxed);
}

uint64_t Queue::journal_head() const noexcept {
  // acquire: pairs with the release store in journal_commit().
  return impl_->jc_->head.load(std::memory_order_acquire);
}

uint64_t Queue::journal_capacity() const noexcept { return uint64_t{impl_->jmask_} + 1; }

uint64_t Queue::journal_tail() const noexcept {
  // acquire: only an estimate of what is pending (cells carry their own ordering).
  return impl_->jc_->tail.load(std::memory_order_acquire);
}

uint64_t Queue::journal_read(uint64_t from, size_t max_events, std::vector<JournalEntry>& out,
                             size_t* count) {
  Impl& im = *impl_;
  const uint64_t cap = uint64_t{im.jmask_} + 1;
  uint64_t t = from;
  size_t n = 0;
  for (; n < max_events; ++n) {
    shm::JournalCell& c = im.jcells_[t & im.jmask_];
    // acquire: pairs with the producer's release CAS publishing the cell's fields.
    const uint64_t seq = c.seq.load(std::memory_order_acquire);
    if (seq != t + 1) {
      if (seq == t && im.jc_->tail.load(std::memory_order_acquire) > t) {
        // Claimed, not published: a producer between its two steps, or a dead one.
        const auto now = std::chrono::steady_clock::now();
        if (im.stall_ticket_ != t) {
          im.stall_ticket_ = t;
          im.stall_since_ = now;
        } else if (now - im.stall_since_ > std::chrono::milliseconds(shm::kJournalStallMs)) {
          uint64_t expected = t;
          // acq_rel: frees the cell for the next lap; the late producer's CAS then fails.
          if (c.seq.compare_exchange_strong(expected, t + cap, std::memory_order_acq_rel)) {
            im.raise_overflow();
            ++t;
            --n;  // a skipped cell yields no event (the loop counts cells looked at)
            continue;
          }
        }
      }
      break;
    }
    if (n == out.size()) {
      out.emplace_back();
    }
    JournalEntry& e = out[n];
    e.ticket = t;
    // relaxed: ordered by the acquire load of seq above.
    e.kind = c.kind.load(std::memory_order_relaxed);
    e.slot = c.slot.load(std::memory_order_relaxed);
    e.incarnation = c.incarnation.load(std::memory_order_relaxed);
    e.arg = c.arg.load(std::memory_order_relaxed);
    e.unix_ms = c.unix_ms.load(std::memory_order_relaxed);
    const uint64_t id[2] = {c.message_id[0].load(std::memory_order_relaxed),
                            c.message_id[1].load(std::memory_order_relaxed)};
    std::memcpy(e.message_id.bytes.data(), id, 16);
    e.sequence = c.reserved[0].load(std::memory_order_relaxed);
    e.has_record = false;
    e.record.clear();  // keeps its capacity
    e.sent_unix_ms = 0;
    e.receive_count = 0;
    if (e.kind == shm::kJournalSend) {
      const uint32_t idx = e.slot;
      const uint32_t inc = e.incarnation;
      if (idx < im.slot_count_) {
        const shm::Slot& s = im.slots_[idx];
        auto live = [&] {
          // acquire: pairs with the claimer's release of a new incarnation and the deleter's
          // CAS to DELETING; the record is ours to copy only while both are unchanged.
          const SlotState st = StateWord::decode(s.state.load(std::memory_order_acquire)).state;
          return s.incarnation.load(std::memory_order_acquire) == inc && st != SlotState::kFree &&
                 st != SlotState::kDeleting;
        };
        if (live()) {
          const uint64_t off = s.record_off.load(std::memory_order_relaxed);
          const uint32_t len = s.record_len.load(std::memory_order_relaxed);
          if (len >= sizeof(shm::RecordHeader) && im.arena_.valid_ref(off, len)) {
            copy_record(e.record, reinterpret_cast<const char*>(im.arena_.record(off)), len);
            e.sent_unix_ms = s.sent_unix_ms.load(std::memory_order_relaxed);
            e.receive_count = s.receive_count.load(std::memory_order_relaxed);
            copy_done(s);
            e.has_record =
                live() && std::memcmp(e.record.data(), e.message_id.bytes.data(), 16) == 0;
          }
        }
        if (!e.has_record) {
          e.record.clear();
        }
      }
    }
    ++t;
  }
  if (count != nullptr) {
    *count = n;
  } else {
    out.resize(n);
  }
  return t;
}

void Queue::journal_commit(uint64_t ticket) noexcept {
  Impl& im = *impl_;
  const uint64_t cap = uint64_t{im.jmask_} + 1;
  uint64_t h = im.jc_->head.load(std::memory_order_relaxed);
  for (; h < ticket; ++h) {
    uint64_t expected = h + 1;
    // release: our reads of the cell are done before a producer of the next lap writes it.
    // A CAS: a cell skipped by journal_read() may already belong to the next lap.
    (void)im.jcells_[h & im.jmask_].seq.compare_exchange_strong(
        expected, h + cap, std::memory_order_release, std::memory_order_relaxed);
  }
  // seq_cst: Dekker pair with wait_durable() (see there).
  im.jc_->head.store(h, std::memory_order_seq_cst);
  im.jc_->durable_futex.fetch_add(1, std::memory_order_seq_cst);
  if (im.jc_->sync_waiters.load(std::memory_order_seq_cst) != 0) {
    common::futex_wake(&im.jc_->durable_futex, INT_MAX);
  }
}

void Queue::journal_set_error(int err) noexcept {
  // relaxed: a diagnostic read by timed-out sync senders.
  impl_->jc_->drainer_errno.store(err, std::memory_order_relaxed);
}

bool Queue::journal_take_overflow() noexcept {
  // acq_rel: a flag; the snapshot that follows reads the slots with their own ordering.
  // Loaded first: lqsd asks on every pass, and a write would take the line from producers.
  std::atomic<uint32_t>& f = impl_->jc_->overflow;
  return f.load(std::memory_order_relaxed) != 0 && f.exchange(0, std::memory_order_acq_rel) != 0;
}

const std::atomic<uint32_t>* Queue::journal_doorbell() const noexcept {
  return &impl_->jc_->doorbell;
}

void Queue::journal_set_sleeping(bool sleeping) noexcept {
  // seq_cst: Dekker pair with ring_doorbell(); lqsd re-checks the tails after setting it.
  impl_->jc_->drainer_sleeping.store(sleeping ? 1 : 0, std::memory_order_seq_cst);
}

void Queue::snapshot(const std::function<void(const StoredMessage&)>& visit) const {
  const Impl& im = *impl_;
  struct Live {
    uint64_t seq;
    uint32_t idx;
  };
  std::vector<Live> live;
  for (uint32_t i = 0; i < im.slot_count_; ++i) {
    const SlotState st =
        StateWord::decode(im.slots_[i].state.load(std::memory_order_acquire)).state;
    if (st == SlotState::kReady || st == SlotState::kPublishing || st == SlotState::kDelayed ||
        st == SlotState::kLeased) {
      // FifoNode::seq is written under the FIFO mutex before the slot leaves WRITING
      // (release), so the acquire load above makes it readable here.
      live.push_back({im.fifo() ? im.nodes_[i].seq : 0, i});
    }
  }
  if (im.fifo()) {
    std::sort(live.begin(), live.end(), [](const Live& a, const Live& b) { return a.seq < b.seq; });
  }
  StoredMessage m;
  for (const Live& l : live) {
    const shm::Slot& s = im.slots_[l.idx];
    const uint32_t inc = s.incarnation.load(std::memory_order_acquire);
    const uint64_t off = s.record_off.load(std::memory_order_relaxed);
    const uint32_t len = s.record_len.load(std::memory_order_relaxed);
    if (len < sizeof(shm::RecordHeader) || !im.arena_.valid_ref(off, len)) {
      continue;
    }
    copy_record(m.record, reinterpret_cast<const char*>(im.arena_.record(off)), len);
    m.sent_unix_ms = s.sent_unix_ms.load(std::memory_order_relaxed);
    m.receive_count = s.receive_count.load(std::memory_order_relaxed);
    m.sequence = l.seq;
    copy_done(s);
    const SlotState st = StateWord::decode(s.state.load(std::memory_order_acquire)).state;
    if (s.incarnation.load(std::memory_order_acquire) != inc || st == SlotState::kFree ||
        st == SlotState::kDeleting || st == SlotState::kWriting) {
      continue;  // deleted (or reused) while we copied: its delete is in the journal
    }
    std::memcpy(m.message_id.bytes.data(), m.record.data(), 16);
    visit(m);
  }
}

bool Queue::dedup_snapshot(std::array<uint8_t, 16>& hash_key, std::vector<DedupRecord>& out) const {
  Impl& im = *impl_;
  if (!im.fifo()) {
    return false;
  }
  Impl::FifoGuard guard(im);
  std::memcpy(hash_key.data(), im.h_->mac_key, hash_key.size());
  const int64_t unix_now = im.unix_ms();
  const uint32_t cap = im.dedup_cap();
  out.reserve(out.size() + (im.fc_->dedup_head - im.fc_->dedup_tail));
  for (uint64_t p = im.fc_->dedup_tail; p < im.fc_->dedup_head; ++p) {
    const shm::FifoDedup& d = im.dedup_[p % cap];
    if ((d.key_lo == 0 && d.key_hi == 0) || d.expires_unix_ms <= unix_now) {
      continue;
    }
    DedupRecord r;
    r.key_lo = d.key_lo;
    r.key_hi = d.key_hi;
    r.expires_unix_ms = d.expires_unix_ms;
    r.sequence = d.seq;
    std::memcpy(r.message_id.bytes.data(), d.message_id, 16);
    out.push_back(r);
  }
  return true;
}

Result<void> Queue::restore_dedup(const std::array<uint8_t, 16>& hash_key,
                                  std::span<const DedupRecord> records) {
  Impl& im = *impl_;
  if (!im.fifo()) {
    return make_error(ErrorCode::kInvalidParameterValue,
                      "restore_dedup: " + im.name_ + " is not a FIFO queue");
  }
  Impl::FifoGuard guard(im);
  bool empty = im.fc_->dedup_head == im.fc_->dedup_tail && im.fc_->groups_live == 0;
  for (uint32_t i = 0; empty && i < im.slot_count_; ++i) {
    empty = StateWord::decode(im.slots_[i].state.load(std::memory_order_acquire)).state ==
            SlotState::kFree;
  }
  if (!empty) {
    return make_error(
        ErrorCode::kInvalidParameterValue,
        "restore_dedup: queue " + im.name_ + " already holds messages or deduplication records");
  }
  // No message, group or receipt handle depends on the old key yet.
  std::memcpy(im.h_->mac_key, hash_key.data(), hash_key.size());
  const int64_t unix_now = im.unix_ms();
  for (const DedupRecord& r : records) {
    const Impl::Key k{r.key_lo, r.key_hi};
    if (k == Impl::Key{} || k == Impl::kTombstone) {
      continue;  // key_of() never gives these
    }
    im.dedup_restore(k, r.expires_unix_ms, r.sequence, r.message_id, unix_now);
    im.fc_->next_seq = std::max(im.fc_->next_seq, r.sequence);
  }
  return {};
}

Result<void> Queue::restore(const StoredMessage& m) {
  Impl& im = *impl_;
  ReceivedMessage rm;
  ReceiveOptions all;
  all.message_attribute_names = {"All"};
  if (!Impl::parse_record(reinterpret_cast<const uint8_t*>(m.record.data()), m.record.size(), rm,
                          all) ||
      rm.message_id != m.message_id) {
    return make_error(ErrorCode::kCorruption,
                      "restore: malformed message record for queue " + im.name_);
  }
  const bool fifo = im.fifo();
  if (fifo && (rm.message_group_id.empty() || m.sequence == 0)) {
    return make_error(ErrorCode::kCorruption,
                      "restore: FIFO message without group or SequenceNumber in " + im.name_);
  }
  const int64_t unix_now = im.unix_ms();
  if (m.dedup_only) {
    if (!fifo) {
      return {};
    }
    Impl::FifoGuard guard(im);
    im.restore_message_dedup(rm, m, unix_now);
    im.fc_->next_seq = std::max(im.fc_->next_seq, m.sequence);
    return {};
  }
  if (m.record.size() > im.arena_.max_record()) {
    return make_error(ErrorCode::kQueueFull, "restore: record larger than queue " + im.name_);
  }
  uint32_t epoch = 0;
  const int64_t claimed = im.claim_slot(0, epoch);
  if (claimed < 0) {
    return make_error(ErrorCode::kQueueFull, "restore: queue " + im.name_ + " is full");
  }
  const auto idx = static_cast<uint32_t>(claimed);
  shm::Slot& s = im.slots_[idx];
  const uint32_t inc = s.incarnation.load(std::memory_order_relaxed) + 1;
  // release: as in send (pairs with release_slot()'s acquire load).
  s.incarnation.store(inc, std::memory_order_release);
  s.record_off.store(kNoOffset, std::memory_order_relaxed);
  const uint64_t writing = make_state(SlotState::kWriting, epoch, 0, common::self_owner_token());
  const uint64_t off = im.arena_.allocate(m.record.size(), queue::owner_token(idx, inc));
  if (off == kNoOffset) {
    im.release_slot(idx, writing);
    return make_error(ErrorCode::kQueueFull, "restore: no room in queue " + im.name_);
  }
  s.record_off.store(off, std::memory_order_relaxed);
  s.record_len.store(static_cast<uint32_t>(m.record.size()), std::memory_order_relaxed);
  std::memcpy(im.arena_.record(off), m.record.data(), m.record.size());
  s.sent_unix_ms.store(m.sent_unix_ms, std::memory_order_relaxed);
  s.first_receive_unix_ms.store(0, std::memory_order_relaxed);
  s.receive_count.store(m.receive_count, std::memory_order_relaxed);
  s.lease_start_ms.store(0, std::memory_order_relaxed);
  if (fifo) {
    Impl::FifoGuard guard(im);
    const uint32_t g = im.group_add(im.key_of("g", rm.message_group_id, /*one_pass=*/true));
    if (g == shm::kFifoNil) {
      im.release_slot(idx, writing);
      return make_error(ErrorCode::kQueueFull, "restore: too many groups in " + im.name_);
    }
    im.nodes_[idx].seq = m.sequence;
    im.link_tail(g, idx);
    im.fc_->next_seq = std::max(im.fc_->next_seq, m.sequence);
    im.restore_message_dedup(rm, m, unix_now);
    uint64_t expected = writing;
    // release: the record and descriptor become visible with the state.
    (void)s.state.compare_exchange_strong(expected, make_state(SlotState::kReady, epoch, 0, 0),
                                          std::memory_order_release, std::memory_order_relaxed);
    if (!im.group_locked(g, im.now_rel_ms())) {
      im.ready_push(g);
    }
  } else {
    const uint64_t publishing = make_state(SlotState::kPublishing, epoch, 0, im.now_rel_ms());
    uint64_t expected = writing;
    // release: the record and descriptor become visible with the state.
    (void)s.state.compare_exchange_strong(expected, publishing, std::memory_order_release,
                                          std::memory_order_relaxed);
    im.publish(idx, publishing);
  }
  im.wake_receivers();
  return {};
}

}  // namespace lqs
