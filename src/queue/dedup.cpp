// Copyright lqs authors. The FIFO deduplication table; the contract, algorithm and crash
// table are in dedup.hpp.
//
// Memory-order tags used below (each names the operation it pairs with):
//  [R0] layout_version store (release)      ↔ [A0] attach's load (acquire).
//  [R1] bucket word CAS: commit / clear     ↔ [A1] bucket word loads (acquire): a reader that
//       (acq_rel; all word changes are RMWs,     sees bit i set sees the fields and tag of cell
//       so each later CAS continues the          i written before the commit.
//       release sequence)
//  [R2] claim word → FREE (release/acq_rel) ↔ [A2] claim CAS FREE → WRITING (acquire): the new
//                                                owner's field stores happen after the bit
//                                                clear that preceded the FREE, which is what
//                                                makes the seqlock re-check [A4] sound.
//  [R3] field stores (release)              ↔ [A3] field loads (acquire): a reader that reads
//                                                a rewritten field synchronises with its
//                                                writer, so its re-load [A4] of the bucket word
//                                                sees the clear that preceded the rewrite.
//  [A4] bucket word re-load (acquire) after reading fields: equal to [A1]'s value means the
//       fields belong to the record that word names (the generation rules out ABA).
#include "queue/dedup.hpp"

#include "common/crash_point.hpp"
#include "common/process.hpp"

#include <openssl/evp.h>

#include <bit>
#include <cstring>

namespace lqs::queue {
namespace {

constexpr uint64_t kBitsMask = 0xFFFFFFFFULL;
constexpr uint64_t kGenOne = uint64_t{1} << 32;
constexpr uint64_t kClaimGenOne = uint64_t{1} << kClaimGenShift;
constexpr uint64_t kClaimGenMask = ~((uint64_t{1} << kClaimGenShift) - 1);
constexpr uint64_t kOwnerMask = (uint64_t{1} << common::kOwnerTokenBits) - 1;
constexpr int kMaxBucketLoops = 1 << 12;

uint64_t bits_of(uint64_t w) noexcept { return w & kBitsMask; }
/// The next value of a bucket word with occupancy `bits`: generation + 1 (wraps).
uint64_t next_word(uint64_t w, uint64_t bits) noexcept {
  return ((w & ~kBitsMask) + kGenOne) | (bits & kBitsMask);
}
uint64_t claim_state(uint64_t c) noexcept { return c & kClaimStateMask; }
uint64_t claim_owner(uint64_t c) noexcept { return (c >> kClaimOwnerShift) & kOwnerMask; }
uint64_t claim_gen(uint64_t c) noexcept { return c & kClaimGenMask; }
uint64_t with_state(uint64_t c, uint64_t state) noexcept { return claim_gen(c) | state; }

uint64_t load64(const uint8_t* p) noexcept {
  uint64_t v = 0;
  std::memcpy(&v, p, sizeof v);
  return v;
}
void store64(uint8_t* p, uint64_t v) noexcept { std::memcpy(p, &v, sizeof v); }

struct Probe {
  uint32_t bucket;
  uint8_t tag;
  uint32_t start;  // first cell tried when claiming (spreads claimers over the bucket)
};

Probe probe(const uint64_t k[4], uint32_t scope, uint32_t bucket_count) noexcept {
  // The digest is already uniform; mix the scope in and finalise (splitmix64).
  uint64_t h = k[0] ^ (uint64_t{scope} * 0x9E3779B97F4A7C15ULL);
  h ^= h >> 31;
  h *= 0xBF58476D1CE4E5B9ULL;
  h ^= h >> 29;
  return Probe{static_cast<uint32_t>((h >> 16) % bucket_count), static_cast<uint8_t>(h),
               static_cast<uint32_t>((h >> 8) & (kDedupBucketCells - 1))};
}

struct Rec {
  uint64_t key[4];
  uint64_t id[2];
  int64_t accepted_ms;
  uint32_t scope;
};

void read_cell(const DedupCell& c, Rec& r) noexcept {
  for (int i = 0; i < 4; ++i) {
    r.key[i] = c.key[i].load(std::memory_order_acquire);  // [A3] pairs with [R3]
  }
  r.id[0] = c.message_id[0].load(std::memory_order_acquire);      // [A3]
  r.id[1] = c.message_id[1].load(std::memory_order_acquire);      // [A3]
  r.accepted_ms = c.accepted_ms.load(std::memory_order_acquire);  // [A3]
  r.scope = c.scope.load(std::memory_order_acquire);              // [A3]
}

/// Frees cell i if it is an orphan: READY and its bit clear. Case analysis of the one CAS:
///  1. claim == READY(g) at load, bit clear at the later word load: nobody can set bit i
///     without first owning the cell (FREE → WRITING, a new generation), so while the claim
///     word still equals READY(g) the bit stays clear. The CAS from READY(g) succeeds only in
///     that case → FREE(g) is correct.
///  2. bit set at the word load: a live record; leave it.
///  3. the CAS fails: another collector freed it, or it was freed, re-claimed and possibly
///     re-committed (generation differs): not ours to touch.
bool try_free_orphan(DedupBucket& b, uint32_t i) noexcept {
  uint64_t c = b.claim[i].load(std::memory_order_acquire);
  if (claim_state(c) != kClaimReady) {
    return false;
  }
  // [A1] pairs with [R1]; ordered after the claim load by its acquire.
  const uint64_t w = b.word.load(std::memory_order_acquire);
  if ((bits_of(w) >> i) & 1U) {
    return false;
  }
  // [R2] release: pairs with the next claimer's [A2].
  return b.claim[i].compare_exchange_strong(c, with_state(c, kClaimFree), std::memory_order_acq_rel,
                                            std::memory_order_relaxed);
}

/// Clears `mask` in the bucket word if it still equals `w`; then frees the cells.
bool clear_bits(DedupBucket& b, uint64_t w, uint64_t mask) noexcept {
  // [R1] acq_rel: the delete; later claimers of these cells order after it via [R2]/[A2].
  if (!b.word.compare_exchange_strong(w, next_word(w, bits_of(w) & ~mask),
                                      std::memory_order_acq_rel, std::memory_order_acquire)) {
    return false;
  }
  for (uint64_t m = mask; m != 0; m &= m - 1) {
    (void)try_free_orphan(b, static_cast<uint32_t>(std::countr_zero(m)));
  }
  return true;
}

/// Claims a FREE cell (its bit is then necessarily clear: a cell becomes FREE only after its
/// bit is cleared, and only its owner sets the bit). Returns the cell or -1.
int claim_free_cell(DedupBucket& b, uint64_t w, uint32_t start, uint64_t me) noexcept {
  const uint64_t clear = ~bits_of(w) & kBitsMask;
  // Rotate so that claimers of different keys start at different cells.
  const uint64_t rotated = ((clear >> start) | (clear << (kDedupBucketCells - start))) & kBitsMask;
  for (uint64_t m = rotated; m != 0; m &= m - 1) {
    const uint32_t i = (static_cast<uint32_t>(std::countr_zero(m)) + start) % kDedupBucketCells;
    uint64_t c = b.claim[i].load(std::memory_order_relaxed);
    if (claim_state(c) != kClaimFree) {
      continue;
    }
    // [A2] acquire: pairs with the [R2] that freed the cell (see the tag table above).
    if (b.claim[i].compare_exchange_strong(c, claim_gen(c) + kClaimGenOne + me,
                                           std::memory_order_acquire, std::memory_order_relaxed)) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

/// Returns cell i (owned as `mine`) to FREE: the insert lost or gave up.
void release_cell(DedupBucket& b, uint32_t i, uint64_t mine) noexcept {
  // [R2] release: pairs with the next claimer's [A2].
  (void)b.claim[i].compare_exchange_strong(mine, with_state(mine, kClaimFree),
                                           std::memory_order_release, std::memory_order_relaxed);
}

}  // namespace

DedupKey sha256(std::string_view data) noexcept {
  DedupKey out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != out.size()) {
    out.fill(0);
  }
  return out;
}

size_t DedupTable::bytes_for(uint32_t capacity_records) noexcept {
  uint64_t buckets = (uint64_t{capacity_records} + kDedupBucketCells - 1) / kDedupBucketCells;
  if (buckets == 0) {
    buckets = 1;
  }
  return sizeof(DedupControl) + buckets * sizeof(DedupBucket);
}

Result<DedupTable> DedupTable::create(void* base, size_t len, uint32_t capacity_records,
                                      int64_t window_ms) {
  if (base == nullptr || reinterpret_cast<uintptr_t>(base) % alignof(DedupBucket) != 0) {
    return make_error(ErrorCode::kInvalidParameterValue, "dedup table: base not 64-byte aligned");
  }
  if (capacity_records == 0 || window_ms <= 0) {
    return make_error(ErrorCode::kInvalidParameterValue, "dedup table: capacity/window <= 0");
  }
  const size_t need = bytes_for(capacity_records);
  if (len < need) {
    return make_error(ErrorCode::kInvalidParameterValue, "dedup table: region too small");
  }
  const auto buckets = static_cast<uint32_t>((need - sizeof(DedupControl)) / sizeof(DedupBucket));
  // Control plane, nobody else maps the bytes yet: plain zeroing is fine. Zero is an empty
  // table (every word 0 = no records, every claim word FREE(0)).
  std::memset(base, 0, need);
  auto* control = static_cast<DedupControl*>(base);
  control->magic = kDedupMagic;
  control->bucket_count = buckets;
  control->window_ms = window_ms;
  control->total_bytes = need;
  control->cells_per_bucket = kDedupBucketCells;
  // [R0] release: publishes the fields above; pairs with [A0] in attach().
  control->layout_version.store(kDedupLayoutVersion, std::memory_order_release);
  auto* cells = reinterpret_cast<DedupBucket*>(static_cast<uint8_t*>(base) + sizeof(DedupControl));
  return DedupTable(control, cells, buckets, window_ms);
}

Result<DedupTable> DedupTable::attach(void* base, size_t len) {
  if (base == nullptr || reinterpret_cast<uintptr_t>(base) % alignof(DedupBucket) != 0 ||
      len < sizeof(DedupControl)) {
    return make_error(ErrorCode::kCorruption, "dedup table: region too small or misaligned");
  }
  auto* control = static_cast<DedupControl*>(base);
  // [A0] acquire: pairs with [R0]; the identity fields are read after it.
  const uint32_t version = control->layout_version.load(std::memory_order_acquire);
  if (control->magic != kDedupMagic || version != kDedupLayoutVersion) {
    return make_error(ErrorCode::kCorruption, "dedup table: bad magic or layout version");
  }
  const uint32_t buckets = control->bucket_count;
  if (control->cells_per_bucket != kDedupBucketCells || buckets == 0 ||
      buckets > (len - sizeof(DedupControl)) / sizeof(DedupBucket) || control->window_ms <= 0 ||
      control->total_bytes != sizeof(DedupControl) + uint64_t{buckets} * sizeof(DedupBucket)) {
    return make_error(ErrorCode::kCorruption, "dedup table: inconsistent geometry");
  }
  auto* cells = reinterpret_cast<DedupBucket*>(static_cast<uint8_t*>(base) + sizeof(DedupControl));
  return DedupTable(control, cells, buckets, control->window_ms);
}

bool DedupTable::live(int64_t accepted_ms, int64_t now_ms) const noexcept {
  if (now_ms < accepted_ms) {
    return true;
  }
  // Unsigned: accepted_ms comes from shared memory and may be anything.
  return static_cast<uint64_t>(now_ms) - static_cast<uint64_t>(accepted_ms) <
         static_cast<uint64_t>(window_ms_);
}

DedupResult DedupTable::insert_or_get(const DedupKey& key, uint32_t scope,
                                      const DedupMessageId& message_id, int64_t now_ms) noexcept {
  uint64_t k[4];
  for (int i = 0; i < 4; ++i) {
    k[i] = load64(key.data() + 8 * i);
  }
  const uint64_t id[2] = {load64(message_id.data()), load64(message_id.data() + 8)};
  const Probe p = probe(k, scope, bucket_count_);
  DedupBucket& b = buckets_[p.bucket];
  const uint64_t me = (common::self_owner_token() << kClaimOwnerShift) | kClaimWriting;

  int mine = -1;        // the cell this insert owns (WRITING), fields written
  uint64_t mine_c = 0;  // its claim word value
  bool asked_liveness = false;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    // [A1] acquire: pairs with [R1]; every set bit's fields and tag are visible.
    uint64_t w = b.word.load(std::memory_order_acquire);

    // 1. Look for (key, scope) among the records `w` names.
    bool torn = false;
    bool found_live = false;
    uint64_t found_id[2] = {0, 0};
    uint64_t expired_same = 0;
    for (uint64_t m = bits_of(w); m != 0; m &= m - 1) {
      const auto i = static_cast<uint32_t>(std::countr_zero(m));
      // relaxed: a hint; a tag written after `w` means the word changed, which the commit
      // CAS or the re-load below detects.
      if (b.tag[i].load(std::memory_order_relaxed) != p.tag) {
        continue;
      }
      Rec r{};
      read_cell(b.cell[i], r);
      // [A4] acquire: the seqlock re-check (see the tag table).
      if (b.word.load(std::memory_order_acquire) != w) {
        torn = true;
        break;
      }
      if (r.scope != scope || r.key[0] != k[0] || r.key[1] != k[1] || r.key[2] != k[2] ||
          r.key[3] != k[3]) {
        continue;
      }
      if (live(r.accepted_ms, now_ms)) {
        found_live = true;
        found_id[0] = r.id[0];
        found_id[1] = r.id[1];
        break;
      }
      expired_same |= uint64_t{1} << i;
    }
    if (torn) {
      continue;
    }
    if (found_live) {
      if (mine >= 0) {
        release_cell(b, static_cast<uint32_t>(mine), mine_c);
      }
      DedupResult res{DedupOutcome::kDuplicate, {}};
      store64(res.message_id.data(), found_id[0]);
      store64(res.message_id.data() + 8, found_id[1]);
      return res;
    }
    if (expired_same != 0) {
      // Keep at most one record per key: delete the expired one before inserting.
      (void)clear_bits(b, w, expired_same);
      continue;
    }

    // 2. Own a cell and write the record into it (invisible until its bit is set).
    if (mine < 0) {
      mine = claim_free_cell(b, w, p.start, me);
      if (mine < 0) {
        // The bucket has no FREE cell: delete expired records, free orphans, and once per
        // call (slow path: system calls) repair cells of dead writers.
        uint64_t orphans = 0;
        if (reclaim_bucket(b, now_ms, orphans) > 0 || orphans > 0) {
          continue;
        }
        if (!asked_liveness) {
          asked_liveness = true;
          bool repaired = false;
          for (uint32_t i = 0; i < kDedupBucketCells; ++i) {
            repaired = repair_cell(b, i, true) || repaired;
          }
          if (repaired) {
            continue;
          }
        }
        return DedupResult{DedupOutcome::kTableFull, {}};
      }
      const auto i = static_cast<uint32_t>(mine);
      mine_c = b.claim[i].load(std::memory_order_relaxed);  // our own store
      LQS_CRASH_POINT("dedup.after_claim");
      DedupCell& c = b.cell[i];
      for (int j = 0; j < 4; ++j) {
        c.key[j].store(k[j], std::memory_order_release);  // [R3] pairs with [A3]
      }
      c.message_id[0].store(id[0], std::memory_order_release);  // [R3]
      c.message_id[1].store(id[1], std::memory_order_release);  // [R3]
      c.accepted_ms.store(now_ms, std::memory_order_release);   // [R3]
      c.scope.store(scope, std::memory_order_release);          // [R3]
      // relaxed: published by the commit CAS [R1].
      b.tag[i].store(p.tag, std::memory_order_relaxed);
    }

    // 3. Commit: set our bit in the very word we scanned. Failure means the bucket changed
    //    (maybe another insert of this key committed): rescan.
    const uint64_t bit = uint64_t{1} << mine;
    if ((w & bit) != 0) {
      // Our bit is set although we own the cell and never set it: corrupt bytes.
      break;
    }
    // [R1] acq_rel: publishes the fields and tag (release); pairs with readers' [A1].
    if (b.word.compare_exchange_strong(w, next_word(w, bits_of(w) | bit), std::memory_order_acq_rel,
                                       std::memory_order_acquire)) {
      LQS_CRASH_POINT("dedup.after_commit");
      const auto i = static_cast<uint32_t>(mine);
      // The record is live; hand the cell to the table. [R2]-style release: a reclaimer that
      // later frees it via try_free_orphan reads this with acquire.
      uint64_t c = mine_c;
      if (b.claim[i].compare_exchange_strong(c, with_state(mine_c, kClaimReady),
                                             std::memory_order_acq_rel,
                                             std::memory_order_relaxed)) {
        // A purge or reclaim may have cleared our bit meanwhile: then free the cell now.
        (void)try_free_orphan(b, i);
      }
      DedupResult res{DedupOutcome::kInserted, message_id};
      return res;
    }
  }
  if (mine >= 0) {
    release_cell(b, static_cast<uint32_t>(mine), mine_c);
  }
  return DedupResult{DedupOutcome::kBusy, {}};
}

bool DedupTable::repair_cell(DedupBucket& b, uint32_t i, bool ask_liveness) noexcept {
  uint64_t c = b.claim[i].load(std::memory_order_acquire);
  const uint64_t state = claim_state(c);
  if (state == kClaimReady) {
    return try_free_orphan(b, i);
  }
  if (state != kClaimWriting || !ask_liveness) {
    return false;
  }
  if (common::owner_alive(claim_owner(c))) {
    return false;
  }
  // The owner is dead: nobody will set or rely on this cell's bit except through the word.
  // [A1] acquire: pairs with [R1] (the owner's commit, if it happened).
  const uint64_t w = b.word.load(std::memory_order_acquire);
  if ((bits_of(w) >> i) & 1U) {
    // Crash table row 4: committed; the record is complete. Hand the cell to the table.
    return b.claim[i].compare_exchange_strong(c, with_state(c, kClaimReady),
                                              std::memory_order_acq_rel, std::memory_order_relaxed);
  }
  // Rows 2, 3, 5, 8: not (or no longer) a record. [R2] release: pairs with [A2].
  return b.claim[i].compare_exchange_strong(c, with_state(c, kClaimFree), std::memory_order_acq_rel,
                                            std::memory_order_relaxed);
}

uint64_t DedupTable::reclaim_bucket(DedupBucket& b, int64_t now_ms,
                                    uint64_t& orphans_freed) noexcept {
  uint64_t deleted = 0;
  for (int attempt = 0; attempt < kMaxBucketLoops; ++attempt) {
    const uint64_t w = b.word.load(std::memory_order_acquire);  // [A1]
    uint64_t expired = 0;
    for (uint64_t m = bits_of(w); m != 0; m &= m - 1) {
      const auto i = static_cast<uint32_t>(std::countr_zero(m));
      // [A3] pairs with [R3].
      if (!live(b.cell[i].accepted_ms.load(std::memory_order_acquire), now_ms)) {
        expired |= uint64_t{1} << i;
      }
    }
    if (expired == 0) {
      break;
    }
    // The CAS from `w` validates the reads (seqlock): no cell was rewritten since `w`.
    if (clear_bits(b, w, expired)) {
      deleted = static_cast<uint64_t>(std::popcount(expired));
      break;
    }
  }
  for (uint32_t i = 0; i < kDedupBucketCells; ++i) {
    if (repair_cell(b, i, false)) {
      ++orphans_freed;
    }
  }
  return deleted;
}

void DedupTable::purge() noexcept {
  for (uint32_t bi = 0; bi < bucket_count_; ++bi) {
    DedupBucket& b = buckets_[bi];
    for (int attempt = 0; attempt < kMaxBucketLoops; ++attempt) {
      const uint64_t w = b.word.load(std::memory_order_acquire);  // [A1]
      if (bits_of(w) == 0 || clear_bits(b, w, bits_of(w))) {
        break;
      }
    }
  }
}

uint64_t DedupTable::reclaim(int64_t now_ms, uint32_t max_buckets) noexcept {
  const uint32_t n = max_buckets < bucket_count_ ? max_buckets : bucket_count_;
  // relaxed: the cursor only spreads work between reclaimers; no data is published by it.
  const uint64_t start = control_->reclaim_cursor.fetch_add(n, std::memory_order_relaxed);
  uint64_t deleted = 0;
  uint64_t orphans = 0;
  for (uint32_t j = 0; j < n; ++j) {
    deleted += reclaim_bucket(buckets_[(start + j) % bucket_count_], now_ms, orphans);
  }
  return deleted;
}

DedupRecoverStats DedupTable::recover() noexcept {
  DedupRecoverStats stats;
  for (uint32_t bi = 0; bi < bucket_count_; ++bi) {
    DedupBucket& b = buckets_[bi];
    for (uint32_t i = 0; i < kDedupBucketCells; ++i) {
      const uint64_t c = b.claim[i].load(std::memory_order_acquire);
      if (claim_state(c) == kClaimWriting) {
        if (repair_cell(b, i, true)) {
          ++stats.dead_writers_repaired;
          // Row 4 repaired to READY may have had its bit cleared since: collect it too.
          if (try_free_orphan(b, i)) {
            ++stats.orphans_freed;
          }
        }
      } else if (claim_state(c) == kClaimReady && try_free_orphan(b, i)) {
        ++stats.orphans_freed;
      }
    }
  }
  return stats;
}

DedupCheck DedupTable::check() const noexcept {
  DedupCheck out;
  for (uint32_t bi = 0; bi < bucket_count_; ++bi) {
    const DedupBucket& b = buckets_[bi];
    const uint64_t w = b.word.load(std::memory_order_acquire);  // [A1]
    for (uint32_t i = 0; i < kDedupBucketCells; ++i) {
      const uint64_t state = claim_state(b.claim[i].load(std::memory_order_acquire));
      const bool set = ((bits_of(w) >> i) & 1U) != 0;
      if (set) {
        ++out.records;
      }
      if (state == kClaimWriting) {
        ++out.writing;
      } else if (state == kClaimFree) {
        if (set) {
          ++out.bad_states;
        } else {
          ++out.free_cells;
        }
      } else if (state == kClaimReady) {
        if (!set) {
          ++out.orphans;
        }
      } else {
        ++out.bad_states;
      }
    }
  }
  return out;
}

uint64_t DedupTable::live_count(int64_t now_ms) const noexcept {
  uint64_t n = 0;
  for (uint32_t bi = 0; bi < bucket_count_; ++bi) {
    const DedupBucket& b = buckets_[bi];
    const uint64_t w = b.word.load(std::memory_order_acquire);  // [A1]
    for (uint64_t m = bits_of(w); m != 0; m &= m - 1) {
      const auto i = static_cast<uint32_t>(std::countr_zero(m));
      if (live(b.cell[i].accepted_ms.load(std::memory_order_acquire), now_ms)) {  // [A3]
        ++n;
      }
    }
  }
  return n;
}

}  // namespace lqs::queue
