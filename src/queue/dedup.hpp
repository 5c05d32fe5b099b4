// Copyright lqs authors. The FIFO deduplication table: a bounded, lock-free, crash-tolerant
// hash table of SQS MessageDeduplicationIds over a (base, len) view of shared memory.
// The byte layout is specified in src/shm/FORMAT.md ("Deduplication table"); it is not yet
// placed in any segment (a future FIFO segment version will carry it).
//
// clang-format off
//
//  base  DedupControl (128 B)   magic, layout_version (published last), bucket_count,
//                               window_ms, total_bytes | reclaim_cursor (own line)
//  +128  DedupBucket[bucket_count]    2368 B each:
//          +0     word   u64   bits 0..31 occupancy (bit i: cell i holds a record),
//                              bits 32..63 generation (+1 on every change of the word)
//          +8     tag[32] u8   hash byte of cell i's key (valid while bit i is set)
//          +64    claim[32] u64 per-cell claim word: FREE | WRITING(owner) | READY
//          +320   cell[32]     64 B each: key[4] u64 | message_id[2] u64 |
//                              accepted_ms i64 | scope u32 | reserved u32
//
//  Claim word (64 bits):   63            38 37                    2 1   0
//                         ┌────────────────┬───────────────────────┬─────┐
//                         │ generation (26)│ owner token (36 bits) │state│  0 FREE, 1 WRITING,
//                         └────────────────┴───────────────────────┴─────┘  2 READY
//   generation: +1 on every claim (FREE → WRITING), kept by READY and FREE, so a process that
//   loaded READY(g) and then saw the cell's bit clear can free it with one CAS from READY(g)
//   knowing the cell was not re-claimed and re-committed in between. Owner: WRITING only.
//
//  Cell life:  FREE ──claim CAS──▶ WRITING(me) ──fields──▶ [bucket CAS sets bit: COMMIT]
//                ▲                     │                          │
//                │                     └─(lost: dup found)──▶ FREE│
//                │                                                ▼
//                └──[bucket CAS clears bit]──READY→FREE CAS◀── READY (record lives while bit set)
//
// clang-format on
//
// Contract
//  - The truth about which records exist is the bucket word: a record lives in cell i of a
//    bucket exactly while bit i of that bucket's word is set. Setting the bit (one CAS of the
//    word, release) is the commit of an insert; clearing it (one CAS) is the delete. Every CAS
//    of the word bumps its 32-bit generation, so a reader that loads the same word before and
//    after reading a cell knows the cell was not rewritten in between (a seqlock on the word).
//  - A cell's fields are written only by the process that owns the cell through its claim
//    word (FREE → WRITING(owner) by CAS). A cell becomes FREE only after its bit is clear, so
//    an owner never writes a cell a reader may see as live.
//  - Exactly one winner: an insert commits with a CAS of the bucket word from the very value
//    it scanned for the key. Any other commit in the bucket in between changes the word, so
//    the CAS fails and the insert rescans. Two inserts of one key therefore cannot both
//    commit; the loser finds the winner's record on its rescan and answers kDuplicate with
//    the winner's MessageId. Readers never wait for a writer: a record is complete when its
//    bit is set (the fields are written before the commit).
//  - Window: a record accepted at A is live for `now_ms` in [A, A + window_ms); at
//    now_ms >= A + window_ms it counts as absent and its cell may be reused. A record whose
//    A is ahead of `now_ms` (a caller with an older clock reading) is live.
//  - Writers: any process (insert_or_get, reclaim, purge, recover). Readers: the same.
//  - Progress: lock-free. Every retry is caused by another operation's successful CAS. Loops
//    are nevertheless bounded (kMaxAttempts) and answer kBusy rather than spin forever, since
//    the bytes are shared and may be corrupt.
//  - Bounded memory: a key hashes to one bucket of 32 cells. A full bucket of live records
//    answers kTableFull (never overwrites a live record). Size the table at about twice the
//    records expected within one window (see FORMAT.md for the overflow odds).
//  - No system calls on the insert path, except when a bucket is full and a claimed cell may
//    belong to a dead process (then owner_alive() is asked; table-full is already the slow
//    path). recover() asks owner_alive() for every WRITING cell.
//
// Crash table (an inserter of key K into cell i of bucket b; "repair" = repair_cell())
//  1. killed before the claim CAS            → nothing changed.
//  2. killed after the claim CAS             → cell i WRITING(dead), bit i clear: invisible
//     (dedup.after_claim)                       to readers, not claimable. recover() (or a later
//                                               inserter finding b full) sees the owner dead
//                                               and bit i clear → CAS WRITING(dead) → FREE.
//                                               The send had not returned: K is absent.
//  3. killed after the fields, before commit → as 2 (fields are garbage, bit is clear).
//  4. killed after the commit CAS            → bit i set, cell WRITING(dead): the record is
//     (dedup.after_commit)                      complete and live (readers only look at bits).
//                                               repair: CAS WRITING(dead) → READY. Until then
//                                               the cell works as a record; reclaim/purge clear
//                                               its bit and leave the cell WRITING → then case
//                                               5's repair frees it.
//  5. killed after commit, bit since cleared → WRITING(dead), bit clear: as 2 → FREE.
//  6. killed after WRITING → READY           → a normal record.
//  A reclaimer/purger of cell i:
//  7. killed after clearing bit i, before READY → FREE: an orphan (READY, bit clear), stable
//     (nobody sets bit i without owning the cell). reclaim(), recover() and a later inserter
//     finding b full CAS it READY → FREE.
//  An inserter that lost (found K after claiming cell i):
//  8. killed before releasing cell i         → as 2.
//
// Open issue (for the FIFO integration): insert_or_get commits the record before the caller
// enqueues the message. If the caller dies between the two, the record names a MessageId that
// was never enqueued, and a retry of the send within the window is answered as a duplicate.
// The FIFO send path must either enqueue first or add a "pending" phase; see FORMAT.md.
//
// ABA: the bucket word's generation is 32 bits, so a reader stalled across exactly 2^32
// changes of one bucket between its two loads could accept a torn record. Accepted.
#ifndef LQS_QUEUE_DEDUP_HPP_
#define LQS_QUEUE_DEDUP_HPP_

#include "lqs/result.hpp"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace lqs::queue {

// ---- layout (FORMAT.md "Deduplication table") ---------------------------------------------

constexpr uint64_t kDedupMagic = 0x3150454444514C00ULL;  // "\0LQDDEP1" little-endian
constexpr uint32_t kDedupLayoutVersion = 1;
constexpr uint32_t kDedupBucketCells = 32;
constexpr int64_t kDedupDefaultWindowMs = 5 * 60 * 1000;

constexpr uint64_t kClaimFree = 0;
constexpr uint64_t kClaimWriting = 1;
constexpr uint64_t kClaimReady = 2;
constexpr uint64_t kClaimStateMask = 3;
constexpr int kClaimOwnerShift = 2;
constexpr int kClaimGenShift = 38;

/// Control block at the start of the table.
struct alignas(64) DedupControl {
  // --- line 0: identity and geometry (immutable once layout_version is published) ---
  uint64_t magic;                        // 0   kDedupMagic
  std::atomic<uint32_t> layout_version;  // 8   0 while initialising; published last (release)
  uint32_t bucket_count;                 // 12
  int64_t window_ms;                     // 16  300000 for SQS
  uint64_t total_bytes;                  // 24  bytes_for(bucket_count * 32)
  uint32_t cells_per_bucket;             // 32  kDedupBucketCells
  uint32_t reserved0a;                   // 36
  uint8_t reserved0[24];                 // 40
  // --- line 1: incremental reclaim cursor (bumped by any reclaimer) ---
  std::atomic<uint64_t> reclaim_cursor;  // 64
  uint8_t reserved1[56];                 // 72
};

/// One record. Every field is an atomic (so a reader racing a rewrite races on atomics, not
/// UB); the bucket word's seqlock says whether what was read is consistent.
struct alignas(64) DedupCell {
  std::atomic<uint64_t> key[4];         // 0   SHA-256 digest, 4 little-endian words
  std::atomic<uint64_t> message_id[2];  // 32  the original MessageId (16 bytes)
  std::atomic<int64_t> accepted_ms;     // 48  first accepted send (caller's clock)
  std::atomic<uint32_t> scope;          // 56  0 = queue scope, else message-group index
  std::atomic<uint32_t> reserved;       // 60
};

struct alignas(64) DedupBucket {
  std::atomic<uint64_t> word;                      // 0   occupancy (32) | generation (32)
  std::atomic<uint8_t> tag[kDedupBucketCells];     // 8   hash byte of each live cell's key
  uint8_t reserved[24];                            // 40
  std::atomic<uint64_t> claim[kDedupBucketCells];  // 64  FREE | WRITING(owner) | READY
  DedupCell cell[kDedupBucketCells];               // 320
};

static_assert(sizeof(DedupControl) == 128);
static_assert(offsetof(DedupControl, layout_version) == 8);
static_assert(offsetof(DedupControl, bucket_count) == 12);
static_assert(offsetof(DedupControl, window_ms) == 16);
static_assert(offsetof(DedupControl, total_bytes) == 24);
static_assert(offsetof(DedupControl, cells_per_bucket) == 32);
static_assert(offsetof(DedupControl, reclaim_cursor) == 64);
static_assert(sizeof(DedupCell) == 64);
static_assert(offsetof(DedupCell, message_id) == 32);
static_assert(offsetof(DedupCell, accepted_ms) == 48);
static_assert(offsetof(DedupCell, scope) == 56);
static_assert(sizeof(DedupBucket) == 64 + 256 + 32 * 64);
static_assert(offsetof(DedupBucket, tag) == 8);
static_assert(offsetof(DedupBucket, claim) == 64);
static_assert(offsetof(DedupBucket, cell) == 320);
static_assert(std::is_standard_layout_v<DedupControl> && std::is_standard_layout_v<DedupBucket>);
static_assert(std::atomic<uint64_t>::is_always_lock_free);
static_assert(std::atomic<int64_t>::is_always_lock_free);
static_assert(std::atomic<uint32_t>::is_always_lock_free);
static_assert(std::atomic<uint8_t>::is_always_lock_free);
static_assert(sizeof(std::atomic<uint8_t>) == 1 && sizeof(std::atomic<uint64_t>) == 8);

// ---- API ----------------------------------------------------------------------------------

using DedupKey = std::array<uint8_t, 32>;
using DedupMessageId = std::array<uint8_t, 16>;

/// SHA-256 of `data` (OpenSSL EVP). For content-based dedup pass the body; for an explicit
/// MessageDeduplicationId pass the id string. Returns all zeros if libcrypto fails (it only
/// fails on allocation failure).
DedupKey sha256(std::string_view data) noexcept;

enum class DedupOutcome : uint8_t {
  kInserted,   // first send of the key within the window: the caller enqueues the message
  kDuplicate,  // answer success with `message_id` (the original) and do not enqueue
  kTableFull,  // the key's bucket holds 32 live records: the caller answers an error
  kBusy,       // gave up after kMaxAttempts retries (pathological contention or corrupt bytes)
};

struct DedupResult {
  DedupOutcome outcome = DedupOutcome::kBusy;
  DedupMessageId message_id{};  // kDuplicate: the original; kInserted: the caller's
};

struct DedupCheck {
  uint64_t records = 0;     // bits set
  uint64_t free_cells = 0;  // FREE, bit clear
  uint64_t writing = 0;     // WRITING (in progress, or a dead writer not yet repaired)
  uint64_t orphans = 0;     // READY with bit clear (a reclaimer died between its two steps)
  uint64_t bad_states = 0;  // claim word not FREE/WRITING/READY, or bit set on a FREE cell
};

struct DedupRecoverStats {
  uint64_t dead_writers_repaired = 0;
  uint64_t orphans_freed = 0;
};

/// A view of a deduplication table in caller-provided memory. Copyable; holds no state of
/// its own. Thread-safety: every method may be called concurrently from any thread or process
/// mapping the same bytes (at any address: the table holds no pointers).
class DedupTable {
 public:
  static constexpr int kMaxAttempts = 1 << 16;

  DedupTable() = default;

  /// Bytes needed for at least `capacity_records` records (rounded up to whole buckets).
  static size_t bytes_for(uint32_t capacity_records) noexcept;
  /// Formats `len` bytes at `base` (64-byte aligned, zero or not) as an empty table with room
  /// for `capacity_records` and the given window. Control plane: may be called only while no
  /// other process uses the bytes. Errors: kInvalidParameterValue (too small, misaligned,
  /// capacity 0 or window <= 0).
  static Result<DedupTable> create(void* base, size_t len, uint32_t capacity_records,
                                   int64_t window_ms);
  /// Validates and attaches to a table created by create() (possibly in another process).
  /// The bytes are untrusted: any inconsistency is kCorruption, never a crash.
  static Result<DedupTable> attach(void* base, size_t len);

  /// Records (key, scope) → message_id at now_ms unless a live record exists. noexcept, no
  /// allocation; no system call unless the key's bucket is full (see the contract).
  DedupResult insert_or_get(const DedupKey& key, uint32_t scope, const DedupMessageId& message_id,
                            int64_t now_ms) noexcept;
  /// Clears every record (PurgeQueue). Concurrent inserts are ordered before or after it.
  void purge() noexcept;
  /// Deletes expired records in up to `max_buckets` buckets, continuing where the previous
  /// call stopped (pass bucket_count() for a full pass), and frees orphaned cells. No system
  /// calls. Returns the number of records deleted.
  uint64_t reclaim(int64_t now_ms, uint32_t max_buckets) noexcept;
  /// Repairs what dead processes left behind (crash table rows 2-5, 7). Asks owner_alive()
  /// for every WRITING cell: for the daemon, not the hot path.
  DedupRecoverStats recover() noexcept;
  /// Counts cells by state (fsck and tests). Exact only while nobody writes.
  DedupCheck check() const noexcept;
  /// Live records at now_ms (approximate under concurrency).
  uint64_t live_count(int64_t now_ms) const noexcept;

  uint32_t bucket_count() const noexcept { return bucket_count_; }
  uint64_t capacity() const noexcept { return uint64_t{bucket_count_} * kDedupBucketCells; }
  int64_t window_ms() const noexcept { return window_ms_; }

 private:
  DedupTable(DedupControl* control, DedupBucket* buckets, uint32_t bucket_count,
             int64_t window_ms) noexcept
      : control_(control), buckets_(buckets), bucket_count_(bucket_count), window_ms_(window_ms) {}

  bool live(int64_t accepted_ms, int64_t now_ms) const noexcept;
  /// Frees cell i of `b` if it is an orphan or belongs to a dead writer (slow path only when
  /// `ask_liveness`). Returns true if the cell changed.
  static bool repair_cell(DedupBucket& b, uint32_t i, bool ask_liveness) noexcept;
  /// Clears the bits of records in `b` expired at now_ms and frees their cells.
  /// Also frees orphans (READY cells whose bit is clear), counted in `orphans_freed`.
  uint64_t reclaim_bucket(DedupBucket& b, int64_t now_ms, uint64_t& orphans_freed) noexcept;

  DedupControl* control_ = nullptr;
  DedupBucket* buckets_ = nullptr;
  uint32_t bucket_count_ = 0;
  int64_t window_ms_ = 0;
};

}  // namespace lqs::queue

#endif  // LQS_QUEUE_DEDUP_HPP_
