// Copyright lqs authors. THE shared-memory format of a queue segment (layout version 4:
// kLayoutVersion below).
//
// Prose, grammar and the bump workflow are in src/shm/FORMAT.md; this file is the normative
// struct definition. Rules (STYLE.md point 2/3): fixed-width fields, literal 64-byte cache
// lines, no pointers (offsets from the segment start and indices only), every atomic is
// lock-free (asserted below), `layout_version` is written last with release.
//
// clang-format off
//
//  offset 0                                                           segment file (fallocated)
//  ┌──────────────────────────────────────────────────────────────────────────────────────────┐
//  │ SegmentHeader            4096 B: identity, geometry, attributes, futex + waiter table,  │
//  │                          sweep cursor + rate limits, lane tags, class hints, counters,   │
//  │                          redrive policy (seqlock)                                        │
//  ├──────────────────────────────────────────────────────────────────────────────────────────┤
//  │ Slot[slot_count]         64 B each: state word {state,epoch,tver,value} + descriptor     │  slots_off
//  ├──────────────────────────────────────────────────────────────────────────────────────────┤
//  │ uint64 free_bits[slot_count/64]   1 = "slot is probably FREE" (hint; state is truth)     │  slot_bits_off
//  ├──────────────────────────────────────────────────────────────────────────────────────────┤
//  │ RingControl + uint64 cell[ring_capacity]       ready ring of (slot, epoch)               │  ring_off
//  ├──────────────────────────────────────────────────────────────────────────────────────────┤
//  │ lane_count × (RingControl + cell[lane_capacity])  timer lanes (leases, delays)           │  lanes_off
//  ├──────────────────────────────────────────────────────────────────────────────────────────┤
//  │ PageDesc[page_count]     192 B each: page word + free-chunk bitmap                       │  pages_off
//  ├──────────────────────────────────────────────────────────────────────────────────────────┤
//  │ arena: page_count × 64 KiB pages; chunks (size classes) or runs of pages (large records) │  arena_off
//  ├──────────────────────────────────────────────────────────────────────────────────────────┤
//  │ FIFO region (FIFO queues only): FifoControl, groups, nodes, dedup, attempts,             │  fifo_off
//  │   dedup index, release ring (deleted slots waiting to be unlinked)                       │
//  ├──────────────────────────────────────────────────────────────────────────────────────────┤
//  │ JournalControl (256 B) + JournalCell[journal_capacity] (64 B each): durability events    │  journal_off
//  └──────────────────────────────────────────────────────────────────────────────────────────┘
//
// Slot state word (64 bits), changed only by CAS:
//   63                               28 27   23 22                  3 2   0
//  ┌───────────────────────────────────┬───────┬─────────────────────┬─────┐
//  │ value (36 bits)                   │ tver  │ epoch (20 bits)     │state│
//  └───────────────────────────────────┴───────┴─────────────────────┴─────┘
//   value: LEASED → lease deadline, DELAYED → visible-at, PUBLISHING → publish time (ms after
//          mono_base_ns); WRITING → owner token (pid + start time); otherwise 0.
//
// Ring / lane cell (64 bits):
//   63        48  47   46                25 24                 5 4    0
//  ┌────────────┬────┬────────────────────┬────────────────────┬──────┐
//  │ lap (16)   │full│ slot index (22)    │ epoch (20)         │ tver │
//  └────────────┴────┴────────────────────┴────────────────────┴──────┘
//
// clang-format on
#ifndef LQS_SHM_SEGMENT_LAYOUT_HPP_
#define LQS_SHM_SEGMENT_LAYOUT_HPP_

#include <pthread.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace lqs::shm {

constexpr uint64_t kSegmentMagic = 0x3147455353514C00ULL;  // "\0LQSSEG1" little-endian
// 2: FIFO deduplication ring + index (fifo_dedup_index_off, FifoControl 104-127), timer
// lanes of next_pow2(slot_count) / 4 cells. 3: the FIFO release ring (fifo_release_off,
// fifo_release_capacity). 4: FifoGroup and FifoAttempt keys are SipHash-2-4-128 (one pass)
// of the id, no longer two 64-bit passes. Older segments are refused (pre-release).
constexpr uint32_t kLayoutVersion = 4;
constexpr size_t kCacheLine = 64;
constexpr size_t kHeaderSize = 4096;
constexpr uint32_t kPageSize = 64 * 1024;  // arena page
constexpr uint32_t kLaneCount = 8;         // timer lanes
constexpr uint32_t kMaxWaiters = 64;       // receivers registered as parked at once
constexpr uint32_t kMaxSlots = 1u << 22;   // slot index is 22 bits in a cell
constexpr uint32_t kMinSlots = 16;
constexpr size_t kQueueNameMax = 80;
constexpr uint32_t kClassCount = 73;  // chunk size classes, 64 B .. 32 KiB
constexpr uint32_t kMaxChunksPerPage = kPageSize / 64;
constexpr uint32_t kPageBitWords = kMaxChunksPerPage / 64;  // 16

/// The segment header. Identity and geometry are written once by the creator before
/// `layout_version` is published (release); readers load `layout_version` (acquire) first.
struct alignas(kCacheLine) SegmentHeader {
  // --- line 0: identity (immutable after creation) ---
  uint64_t magic;                        // 0   kSegmentMagic
  std::atomic<uint32_t> layout_version;  // 8   0 while initialising; published last
  uint32_t header_size;                  // 12  kHeaderSize
  uint64_t total_size;                   // 16  file size in bytes
  int64_t created_unix_ms;               // 24
  int64_t mono_base_ns;                  // 32  CLOCK_MONOTONIC at creation; times in shm
                                         //     are milliseconds after it
  uint64_t queue_id;                     // 40  random, distinguishes re-created queues
  uint8_t mac_key[16];                   // 48  receipt-handle SipHash key (random)
  // --- line 1: geometry (immutable after creation) ---
  uint32_t slot_count;     // 64
  uint32_t ring_capacity;  // 68  power of two
  uint32_t lane_count;     // 72  kLaneCount
  uint32_t lane_capacity;  // 76  power of two
  uint32_t page_count;     // 80
  uint32_t page_size;      // 84  kPageSize
  uint64_t slots_off;      // 88
  uint64_t slot_bits_off;  // 96
  uint64_t ring_off;       // 104
  uint64_t lanes_off;      // 112
  uint64_t pages_off;      // 120
  // --- line 2: geometry continued ---
  uint64_t arena_off;         // 128
  uint64_t capacity_bytes;    // 136 as requested at creation
  uint64_t geometry_check;    // 144 hash of the geometry fields (FORMAT.md)
  uint64_t journal_off;       // 152 JournalControl + JournalCell[journal_capacity]
  uint32_t journal_capacity;  // 160 power of two
  uint32_t reserved2a;        // 164
  uint8_t reserved2[24];      // 168
  // --- lines 3-4: name ---
  char name[128];  // 192 NUL-terminated, <= 80 chars
  // --- line 5: SQS attributes (mutable; relaxed loads, read per operation) ---
  std::atomic<int32_t> visibility_timeout_s;         // 320
  std::atomic<int32_t> message_retention_period_s;   // 324
  std::atomic<int32_t> maximum_message_size;         // 328
  std::atomic<int32_t> delay_s;                      // 332
  std::atomic<int32_t> receive_message_wait_time_s;  // 336
  std::atomic<int32_t> durability;                   // 340 LqsDurability: 0 memory, 1 async, 2 sync
  std::atomic<int64_t> last_modified_unix_ms;        // 344
  uint8_t reserved5[32];                             // 352
  // --- line 6: waiting (futex) ---
  std::atomic<uint32_t> futex_seq;    // 384 bumped (seq_cst) before every FUTEX_WAKE
  uint32_t reserved6a;                // 388
  int64_t reserved6b;                 // 392 (was waiters_until_ms; unused, zero)
  std::atomic<uint64_t> waiter_bits;  // 400 bit i set: waiter_owner[i] is parked (or parking)
  uint8_t reserved6[40];              // 408
  // --- line 7: sweep cursor ---
  std::atomic<uint64_t> sweep_cursor;        // 448 next slot the incremental sweep examines
  std::atomic<int64_t> full_sweep_due_ms;    // 456 next idle full sweep (ms after base); 0 = now
  std::atomic<int64_t> hint_rebuild_due_ms;  // 464 next free-slot hint rebuild; 0 = now
  std::atomic<uint64_t> arena_frees;         // 472 chunks freed so far (a hint, relaxed)
  uint8_t reserved7[32];                     // 480
  // --- line 8: timer lane tags ---
  std::atomic<int64_t> lane_duration_ms[kLaneCount];  // 512 0 = unassigned, else ms + 1
  // --- lines 9-13: size-class page hints ---
  std::atomic<uint32_t> class_hint[80];  // 576 page index most recently carved per class
  // --- lines 14-21: parked receivers ---
  std::atomic<uint64_t> waiter_owner[kMaxWaiters];  // 896 owner token of entry i, 0 = free
  // --- rest of the 4 KiB page ---
  // --- lines 22-25: statistics counters, one line each so the processes that bump one
  //     (producers, receivers, deleters) do not share it with the others ---
  std::atomic<uint64_t>
      sent_total;  // 1408 messages accepted by send (CloudWatch NumberOfMessagesSent); also
                   //      the hint a long poll spins on before parking (relaxed, read only)
  uint8_t pad22[56];
  std::atomic<uint64_t> received_total;  // 1472 messages returned by receive
  uint8_t pad23[56];
  std::atomic<uint64_t> empty_receives_total;  // 1536 receives that returned nothing
  uint8_t pad24[56];
  std::atomic<uint64_t> deleted_total;  // 1600 DeleteMessage calls with a valid handle
  uint8_t pad25[56];
  // --- lines 26-27: redrive policy (dead-letter queue), written under a seqlock ---
  std::atomic<uint32_t> redrive_seq;                // 1664 odd while being written
  std::atomic<uint32_t> redrive_max_receive_count;  // 1668 0 = no redrive policy
  std::atomic<uint64_t> redrive_dlq_name[12];       // 1672 DLQ name, NUL-padded (<= 80 chars)
  uint8_t pad27[24];                                // 1768
  // --- line 28: dead-letter moves out of this queue ---
  std::atomic<uint64_t> dlq_moves_total;  // 1792
  uint8_t pad28[56];
  // --- line 29: FIFO queues (all zero for a standard queue) ---
  uint64_t fifo_off;                 // 1856 offset of the FifoControl, 0 = standard queue
  uint32_t fifo_group_capacity;      // 1864 power of two (immutable)
  uint32_t fifo_dedup_capacity;      // 1868 power of two (immutable)
  std::atomic<uint32_t> fifo_flags;  // 1872 kFifoContentDedup | kFifoScopeGroup | kFifoPerGroup
  uint32_t reserved29a;              // 1876
  uint64_t fifo_groups_off;          // 1880 FifoGroup[fifo_group_capacity]
  uint64_t fifo_nodes_off;           // 1888 FifoNode[slot_count]
  uint64_t fifo_dedup_off;           // 1896 FifoDedup[fifo_dedup_capacity]
  uint64_t fifo_attempts_off;        // 1904 FifoAttempt[kFifoAttempts]
  uint64_t fifo_dedup_index_off;     // 1912 uint64_t[2 * fifo_dedup_capacity]
  // --- line 30: FIFO release ring (layout 3) ---
  uint64_t fifo_release_off;       // 1920 RingControl + cell[fifo_release_capacity]
  uint32_t fifo_release_capacity;  // 1928 power of two (immutable)
  uint32_t reserved30;             // 1932
  // --- rest of the 4 KiB page ---
  uint8_t reserved_tail[kHeaderSize - 1936];  // 1936
};

// FIFO flag bits (SegmentHeader::fifo_flags; relaxed loads, read per send).
constexpr uint32_t kFifoContentDedup = 1;        // ContentBasedDeduplication=true
constexpr uint32_t kFifoScopeGroup = 2;          // DeduplicationScope=messageGroup
constexpr uint32_t kFifoPerGroup = 4;            // FifoThroughputLimit=perMessageGroupId
constexpr uint32_t kFifoNil = 0xFFFFFFFFu;       // no slot / no group
constexpr uint32_t kFifoNotReady = 0xFFFFFFFEu;  // FifoGroup::ready_next: not in the list
constexpr uint32_t kFifoAttempts = 256;          // ReceiveRequestAttemptId records
constexpr uint32_t kFifoMaxBatch = 10;

// The FIFO index of a FIFO queue (FORMAT.md, "FIFO region"). Everything below is guarded by
// the robust, process-shared mutex `mu`; the slots stay the truth for each message's state.
// A process that dies holding `mu` leaves the lists possibly half-linked: the next locker
// gets EOWNERDEAD and rebuilds every list from the slots (FifoNode::seq orders them).
// The one exception is the release ring at fifo_release_off (a RingControl and its cells):
// deleters push to it without `mu`, and only holders of `mu` pop (FORMAT.md).
struct alignas(kCacheLine) FifoControl {
  pthread_mutex_t mu;  // 0   robust, PTHREAD_PROCESS_SHARED
  uint8_t pad0[kCacheLine - sizeof(pthread_mutex_t)];
  uint64_t next_seq;      // 64  last SequenceNumber handed out
  uint32_t ready_head;    // 72  first group in the ready list, kFifoNil
  uint32_t ready_tail;    // 76
  uint32_t groups_live;   // 80  group records in use
  uint32_t groups_dead;   // 84  tombstones
  uint32_t reserved88;    // 88
  uint32_t attempt_next;  // 92  next FifoAttempt to overwrite
  uint64_t rebuilds;      // 96  times the index was rebuilt (owner died)
  uint64_t dedup_head;    // 104 records ever accepted: the next goes to ring slot head % capacity
  uint64_t dedup_tail;    // 112 oldest record still held (head - tail <= fifo_dedup_capacity)
  std::atomic<uint64_t> dedup_evicted;  // 120 records dropped before their 5 minutes (ring
                                        //     full); written under mu, read relaxed (stats)
};

// A message group: a doubly linked list of slots in SequenceNumber order, and its link in
// the list of groups that may have a receivable message ("ready list"). Keyed by the
// SipHash-2-4-128 (one pass, layout 4) of "g" NUL MessageGroupId; key {0,0} is empty, {0,1}
// a tombstone.
struct FifoGroup {
  uint64_t key_lo;      // 0
  uint64_t key_hi;      // 8
  uint32_t head;        // 16 slot index, kFifoNil when empty
  uint32_t tail;        // 20
  uint32_t ready_next;  // 24 kFifoNotReady when not in the ready list
  uint32_t ready_prev;  // 28
};

// Per slot: its links in its group's list (valid while the slot is linked).
struct FifoNode {
  uint32_t next;   // 0
  uint32_t prev;   // 4
  uint32_t group;  // 8  kFifoNil when not linked
  uint32_t pad;    // 12
  uint64_t seq;    // 16 SequenceNumber of the message in the slot
  uint64_t pad2;   // 24
};

// A deduplication record: the key (128-bit SipHash of scope + MessageDeduplicationId), when
// it expires (5 minutes after the first accepted send) and what the first send returned.
struct FifoDedup {
  uint64_t key_lo;          // 0  {0,0}: empty
  uint64_t key_hi;          // 8
  int64_t expires_unix_ms;  // 16
  uint64_t seq;             // 24
  uint8_t message_id[16];   // 32
};

// A ReceiveRequestAttemptId and the messages its receive returned.
struct FifoAttempt {
  uint64_t key_lo;                // 0  {0,0}: unused
  uint64_t key_hi;                // 8
  int64_t expires_unix_ms;        // 16
  uint32_t count;                 // 24
  uint32_t vis_ms;                // 28 visibility the receive asked for
  uint32_t slot[kFifoMaxBatch];   // 32
  uint32_t epoch[kFifoMaxBatch];  // 72
  uint32_t inc[kFifoMaxBatch];    // 112
  uint32_t pad;                   // 152
};

// ---- durability journal (FORMAT.md, "Journal") -------------------------------------------
// A bounded multi-producer, single-consumer ring (Vyukov's sequence-per-cell scheme) of the
// events lqsd writes to the write-ahead log: sends, deletes, visibility changes, purges.
// Producers claim ticket t by CAS on `tail` when cell[t % cap].seq == t, fill the cell and
// publish it with CAS seq t → t+1 (release). lqsd, the only consumer, reads cells from `head`
// whose seq == ticket+1 (acquire), writes them to the log, and once they are on disk frees
// them (seq = ticket + cap, release), advances `head` (= the durable ticket) and wakes `sync`
// senders waiting on `durable_futex`. A cell claimed by a producer that died before
// publishing is skipped by lqsd after kJournalStallMs: it CASes seq t → t+cap itself; a late
// publisher's CAS then fails and it raises `overflow` (lqsd re-snapshots the queue).
constexpr uint32_t kJournalMaxCapacity = 1u << 16;
constexpr int64_t kJournalStallMs = 2000;
enum JournalKind : uint32_t {
  kJournalSend = 1,        // slot, incarnation, message_id: a message was written (not yet visible)
  kJournalDelete = 2,      // message_id: deleted (DeleteMessage, DLQ move out)
  kJournalVisibility = 3,  // message_id, arg = new visibility timeout in seconds
  kJournalPurge = 4,       // every message sent before this event is gone
};

struct alignas(kCacheLine) JournalControl {
  std::atomic<uint64_t> tail;  // 0   next ticket to claim (producers, CAS)
  uint8_t pad0[kCacheLine - 8];
  std::atomic<uint64_t> head;           // 64  first ticket not yet durable (lqsd only)
  std::atomic<uint32_t> durable_futex;  // 72  bumped (release) after each advance of head
  std::atomic<uint32_t> sync_waiters;   // 76  senders waiting on durable_futex
  uint8_t pad1[kCacheLine - 16];
  std::atomic<uint64_t>
      drainer_owner;               // 128 owner token of the lqsd draining this journal, 0 = none
  std::atomic<uint32_t> overflow;  // 136 1: events were lost (journal full or a skipped cell)
  std::atomic<uint32_t> doorbell;  // 140 bumped by sync senders when drainer_sleeping
  std::atomic<uint32_t> drainer_sleeping;  // 144 1 while lqsd sleeps on the doorbell
  std::atomic<int32_t> drainer_errno;      // 148 errno of lqsd's last failed log write, 0 = ok
  std::atomic<uint64_t> overflows_total;   // 152 events dropped because the journal was full
  uint8_t pad2[kCacheLine - 32];
  uint8_t pad3[kCacheLine];  // 192
};

struct alignas(kCacheLine) JournalCell {
  std::atomic<uint64_t> seq;            // 0  ticket+1 when published; ticket (mod cap) when free
  std::atomic<uint32_t> kind;           // 8  JournalKind
  std::atomic<uint32_t> slot;           // 12
  std::atomic<uint32_t> incarnation;    // 16
  std::atomic<uint32_t> arg;            // 20
  std::atomic<int64_t> unix_ms;         // 24 when the event happened
  std::atomic<uint64_t> message_id[2];  // 32
  std::atomic<uint64_t> reserved[2];    // 48
};

/// A message slot. All fields are atomics (relaxed unless the state word says otherwise) so
/// that concurrent readers of a slot being rewritten are races on atomics, not UB.
struct alignas(kCacheLine) Slot {
  std::atomic<uint64_t> state;                 // 0  see diagram; CAS only
  std::atomic<uint32_t> incarnation;           // 8  bumped by each claimer (WRITING)
  std::atomic<uint32_t> record_len;            // 12 bytes of the record (after the owner word)
  std::atomic<uint64_t> record_off;            // 16 arena offset of the chunk (owner word first)
  std::atomic<int64_t> sent_unix_ms;           // 24
  std::atomic<int64_t> first_receive_unix_ms;  // 32 0 until the first receive
  std::atomic<uint32_t> receive_count;         // 40
  std::atomic<uint32_t> reserved;              // 44
  std::atomic<int64_t> lease_start_ms;         // 48 receive time (ms after mono base): 12 h cap
  std::atomic<uint64_t> reserved2;             // 56
};

/// Head and tail of a ring, each on its own cache line. Cells follow the control block.
struct alignas(kCacheLine) RingControl {
  std::atomic<uint64_t> head;  // 0   next ticket to pop (helped forward)
  uint8_t pad0[kCacheLine - 8];
  std::atomic<uint64_t> tail;  // 64  next ticket to push (helped forward)
  uint8_t pad1[kCacheLine - 8];
};

/// Descriptor of one arena page.
struct alignas(kCacheLine) PageDesc {
  std::atomic<uint64_t> word;  // 0   kind / class / large owner (arena.hpp)
  uint8_t pad[kCacheLine - 8];
  std::atomic<uint64_t> free_bits[kPageBitWords];  // 64  1 = chunk probably free (hint)
};

/// The record stored in the arena after the 8-byte chunk owner word.
struct RecordHeader {
  uint8_t message_id[16];  // 0
  uint32_t body_len;       // 16
  uint32_t attrs_len;      // 20 serialised attribute bytes
  uint16_t attr_count;     // 24
  uint16_t group_len;      // 26
  uint16_t trace_len;      // 28
  uint16_t source_len;     // 30 length of the dead-letter source queue name, 0 if none
};
// Each attribute: uint16 name_len, uint16 type_len, uint32 value_len, then the three byte
// strings. Record = RecordHeader | body | group id | trace header | DLQ source queue name |
// attributes.

static_assert(sizeof(SegmentHeader) == kHeaderSize);
static_assert(offsetof(SegmentHeader, layout_version) == 8);
static_assert(offsetof(SegmentHeader, slot_count) == 64);
static_assert(offsetof(SegmentHeader, arena_off) == 128);
static_assert(offsetof(SegmentHeader, name) == 192);
static_assert(offsetof(SegmentHeader, visibility_timeout_s) == 320);
static_assert(offsetof(SegmentHeader, futex_seq) == 384);
static_assert(offsetof(SegmentHeader, waiter_bits) == 400);
static_assert(offsetof(SegmentHeader, waiter_owner) == 896);
static_assert(offsetof(SegmentHeader, sent_total) == 1408);
static_assert(offsetof(SegmentHeader, received_total) == 1472);
static_assert(offsetof(SegmentHeader, empty_receives_total) == 1536);
static_assert(offsetof(SegmentHeader, deleted_total) == 1600);
static_assert(offsetof(SegmentHeader, redrive_seq) == 1664);
static_assert(offsetof(SegmentHeader, redrive_dlq_name) == 1672);
static_assert(offsetof(SegmentHeader, dlq_moves_total) == 1792);
static_assert(offsetof(SegmentHeader, sweep_cursor) == 448);
static_assert(offsetof(SegmentHeader, full_sweep_due_ms) == 456);
static_assert(offsetof(SegmentHeader, hint_rebuild_due_ms) == 464);
static_assert(offsetof(SegmentHeader, arena_frees) == 472);
static_assert(offsetof(SegmentHeader, lane_duration_ms) == 512);
static_assert(offsetof(SegmentHeader, class_hint) == 576);
static_assert(sizeof(Slot) == 64);
static_assert(offsetof(SegmentHeader, journal_off) == 152);
static_assert(offsetof(SegmentHeader, journal_capacity) == 160);
static_assert(offsetof(SegmentHeader, durability) == 340);
static_assert(sizeof(JournalControl) == 256);
static_assert(offsetof(JournalControl, head) == 64);
static_assert(offsetof(JournalControl, drainer_owner) == 128);
static_assert(offsetof(JournalControl, overflows_total) == 152);
static_assert(sizeof(JournalCell) == 64);
static_assert(offsetof(JournalCell, message_id) == 32);
static_assert(offsetof(SegmentHeader, fifo_off) == 1856);
static_assert(offsetof(SegmentHeader, fifo_flags) == 1872);
static_assert(offsetof(SegmentHeader, fifo_attempts_off) == 1904);
static_assert(offsetof(SegmentHeader, fifo_dedup_index_off) == 1912);
static_assert(offsetof(SegmentHeader, fifo_release_off) == 1920);
static_assert(offsetof(SegmentHeader, fifo_release_capacity) == 1928);
static_assert(sizeof(FifoControl) == 128);
static_assert(offsetof(FifoControl, next_seq) == 64);
static_assert(offsetof(FifoControl, dedup_head) == 104);
static_assert(offsetof(FifoControl, dedup_evicted) == 120);
static_assert(sizeof(FifoGroup) == 32);
static_assert(sizeof(FifoNode) == 32);
static_assert(sizeof(FifoDedup) == 48);
static_assert(sizeof(FifoAttempt) == 160);
static_assert(offsetof(Slot, record_off) == 16);
static_assert(offsetof(Slot, lease_start_ms) == 48);
static_assert(sizeof(RingControl) == 128);
static_assert(offsetof(RingControl, tail) == 64);
static_assert(sizeof(PageDesc) == 192);
static_assert(offsetof(PageDesc, free_bits) == 64);
static_assert(sizeof(RecordHeader) == 32);
static_assert(kClassCount <= 80);
static_assert(std::atomic<uint64_t>::is_always_lock_free);
static_assert(std::atomic<int64_t>::is_always_lock_free);
static_assert(std::atomic<uint32_t>::is_always_lock_free);
static_assert(std::atomic<int32_t>::is_always_lock_free);
static_assert(sizeof(std::atomic<uint64_t>) == 8 && sizeof(std::atomic<uint32_t>) == 4);

}  // namespace lqs::shm

#endif  // LQS_SHM_SEGMENT_LAYOUT_HPP_
