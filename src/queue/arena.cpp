// Copyright lqs authors.
#include "queue/arena.hpp"

#include "common/crash_point.hpp"
#include "common/process.hpp"

#include <array>
#include <bit>

namespace lqs::queue {
namespace {

using shm::kClassCount;
using shm::kPageSize;

// Page descriptor word.
//   kind (bits 0-1): 0 FREE, 1 CLASS, 2 CARVING, 3 LARGE
//   CLASS: class id in bits 2-9
//   CARVING: the carver's owner token (pid + start time) in bits 2-37; no chunk of the page
//            may be allocated or scavenged until the carver publishes CLASS
//   LARGE: bit 2 head, bits 3-8 pages in the run, bits 9-62 owner token (54 bits)
constexpr uint64_t kKindFree = 0;
constexpr uint64_t kKindClass = 1;
constexpr uint64_t kKindCarving = 2;
constexpr uint64_t kKindLarge = 3;
constexpr uint32_t kLargeHintIndex = kClassCount;  // class_hint slot used for large runs

uint64_t kind_of(uint64_t w) { return w & 3; }
uint32_t class_of(uint64_t w) { return static_cast<uint32_t>((w >> 2) & 0xff); }
uint64_t class_word(uint32_t cls) { return kKindClass | (uint64_t{cls} << 2); }
uint64_t carving_word(uint64_t token) { return kKindCarving | (token << 2); }
uint64_t carving_owner(uint64_t w) { return w >> 2; }
uint64_t large_word(uint64_t owner, bool head, uint32_t npages) {
  return kKindLarge | (head ? 4u : 0u) | (uint64_t{npages & 63} << 3) |
         ((owner & ((uint64_t{1} << 54) - 1)) << 9);
}
uint64_t large_owner(uint64_t w) { return w >> 9; }
bool large_head(uint64_t w) { return (w & 4) != 0; }
uint32_t large_npages(uint64_t w) { return static_cast<uint32_t>((w >> 3) & 63); }

constexpr std::array<uint32_t, kClassCount> make_sizes() {
  std::array<uint32_t, kClassCount> s{};
  for (uint32_t c = 0; c + 1 < kClassCount; ++c) {
    uint32_t base = 64u << (c / 8);
    s[c] = base + (c % 8) * (base / 8);
  }
  s[kClassCount - 1] = 32768;
  return s;
}
constexpr std::array<uint32_t, kClassCount> kSizes = make_sizes();
static_assert(kSizes[0] == 64 && kSizes[1] == 72 && kSizes[8] == 128);
static_assert(kSizes[kClassCount - 2] == 30720 && kSizes[kClassCount - 1] == 32768);

uint32_t chunks_in_page(uint32_t cls) { return kPageSize / kSizes[cls]; }

uint64_t valid_mask(uint32_t count, uint32_t word) {
  const uint32_t lo = word * 64;
  if (count >= lo + 64) {
    return ~uint64_t{0};
  }
  if (count <= lo) {
    return 0;
  }
  return (uint64_t{1} << (count - lo)) - 1;
}

}  // namespace

uint32_t class_size(uint32_t cls) noexcept { return cls < kClassCount ? kSizes[cls] : 0; }

uint32_t class_for(size_t bytes) noexcept {
  if (bytes > kSizes[kClassCount - 1]) {
    return kClassCount;
  }
  uint32_t lo = 0;
  uint32_t hi = kClassCount - 1;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    if (kSizes[mid] >= bytes) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

uint64_t Arena::allocate(size_t bytes, uint64_t owner) noexcept {
  const size_t total = bytes + kOwnerWordSize;
  const uint32_t cls = class_for(total);
  if (cls < kClassCount) {
    return allocate_small(cls, owner);
  }
  const uint64_t npages = (total + kPageSize - 1) / kPageSize;
  if (npages > 63 || npages > page_count_) {
    return kNoOffset;
  }
  return allocate_large(static_cast<uint32_t>(npages), owner);
}

uint64_t Arena::try_page(uint32_t page, uint32_t cls, uint64_t owner) noexcept {
  shm::PageDesc& pd = pages_[page];
  const uint32_t count = chunks_in_page(cls);
  const uint32_t words = (count + 63) / 64;
  for (uint32_t wi = 0; wi < words; ++wi) {
    // relaxed: the bits are hints; the owner CAS below is the synchronising operation.
    uint64_t v = pd.free_bits[wi].load(std::memory_order_relaxed) & valid_mask(count, wi);
    while (v != 0) {
      const int b = std::countr_zero(v);
      const uint64_t bit = uint64_t{1} << b;
      uint64_t cur = v;
      if (!pd.free_bits[wi].compare_exchange_weak(cur, cur & ~bit, std::memory_order_relaxed)) {
        v = cur & valid_mask(count, wi);
        continue;
      }
      LQS_CRASH_POINT("arena.after_bit_clear");
      const uint64_t off = uint64_t{page} * kPageSize + uint64_t{wi * 64 + b} * kSizes[cls];
      uint64_t expected = 0;
      // acq_rel: takes ownership; pairs with the release CAS in free() so the previous
      // owner's reads of the chunk happen before our writes.
      if (owner_word(off)->compare_exchange_strong(expected, owner, std::memory_order_acq_rel)) {
        return off;
      }
      v = (cur & ~bit) & valid_mask(count, wi);  // stale hint: the chunk is owned; go on
    }
  }
  return kNoOffset;
}

bool Arena::carve(uint32_t page, uint32_t cls) noexcept {
  shm::PageDesc& pd = pages_[page];
  uint64_t expected = kKindFree;
  const uint64_t carving = carving_word(common::self_owner_token());
  // acq_rel: claims the page exclusively; pairs with the release CAS that freed a run. While
  // the page is CARVING nobody else allocates from it or scavenges it, so the owner words can
  // be zeroed with plain stores: a zeroing store after chunks were handed out would erase a
  // live owner and let two messages share a chunk.
  if (!pd.word.compare_exchange_strong(expected, carving, std::memory_order_acq_rel)) {
    return false;
  }
  LQS_CRASH_POINT("arena.after_carve");
  const uint32_t count = chunks_in_page(cls);
  for (uint32_t k = 0; k < count; ++k) {
    // relaxed: published by the release CAS of the page word below.
    owner_word(uint64_t{page} * kPageSize + uint64_t{k} * kSizes[cls])
        ->store(0, std::memory_order_relaxed);
  }
  for (uint32_t wi = 0; wi < shm::kPageBitWords; ++wi) {
    // relaxed: published by the release CAS below; stale bits from an earlier use of the
    // page are cleared first.
    pd.free_bits[wi].store(valid_mask(count, wi), std::memory_order_relaxed);
  }
  expected = carving;
  // release: pairs with the acquire load of the page word by allocators and scavengers, so
  // the zeroed owner words and the bits are visible before any chunk is taken. Only a
  // scavenger that saw us dead can change the word meanwhile, and then we are not running.
  return pd.word.compare_exchange_strong(expected, class_word(cls), std::memory_order_release,
                                         std::memory_order_relaxed);
}

uint64_t Arena::allocate_small(uint32_t cls, uint64_t owner) noexcept {
  // relaxed: a hint only.
  uint32_t hint = header_->class_hint[cls].load(std::memory_order_relaxed);
  if (hint >= page_count_) {
    hint = 0;
  }
  if (kind_of(pages_[hint].word.load(std::memory_order_acquire)) == kKindClass &&
      class_of(pages_[hint].word.load(std::memory_order_acquire)) == cls) {
    if (uint64_t off = try_page(hint, cls, owner); off != kNoOffset) {
      return off;
    }
  }
  // Pass 1: pages already in this class; pass 2: carve a free page (or, on the way, a page
  // of the class with room). Pass 1 reads every page descriptor of the arena when none has
  // room, which is always the case while a queue fills: once per page of chunks that made
  // filling a 1 GiB queue quadratic. If no chunk was freed since this process's last
  // fruitless pass 1 for the class, pass 1 cannot find one now either (pages carved since by
  // others are found by pass 2 as well): skip it. relaxed: a hint; a free racing with the
  // scan moves the counter past the value read here, so the next allocation scans again.
  const uint64_t frees = header_->arena_frees.load(std::memory_order_relaxed);
  const bool nothing_freed = fruitless_scan_at_[cls].at.load(std::memory_order_relaxed) == frees;
  for (int pass = nothing_freed ? 1 : 0; pass < 2; ++pass) {
    for (uint32_t i = 1; i <= page_count_; ++i) {
      const uint32_t p = (hint + i) % page_count_;
      const uint64_t w = pages_[p].word.load(std::memory_order_acquire);
      if (kind_of(w) == kKindClass && class_of(w) == cls) {
        if (uint64_t off = try_page(p, cls, owner); off != kNoOffset) {
          header_->class_hint[cls].store(p, std::memory_order_relaxed);
          return off;
        }
      } else if (pass == 1 && w == kKindFree && carve(p, cls)) {
        header_->class_hint[cls].store(p, std::memory_order_relaxed);
        if (uint64_t off = try_page(p, cls, owner); off != kNoOffset) {
          return off;
        }
      }
    }
    if (pass == 0) {
      fruitless_scan_at_[cls].at.store(frees, std::memory_order_relaxed);
    }
  }
  return kNoOffset;
}

uint64_t Arena::allocate_large(uint32_t npages, uint64_t owner) noexcept {
  uint32_t hint = header_->class_hint[kLargeHintIndex].load(std::memory_order_relaxed);
  if (hint >= page_count_) {
    hint = 0;
  }
  for (uint32_t scanned = 0; scanned < page_count_;) {
    uint32_t start = (hint + scanned) % page_count_;
    if (start + npages > page_count_) {
      scanned += page_count_ - start;  // runs do not wrap around the end
      continue;
    }
    uint32_t claimed = 0;
    for (; claimed < npages; ++claimed) {
      uint64_t expected = kKindFree;
      // acq_rel: claims the page; pairs with the release CAS that freed it.
      if (!pages_[start + claimed].word.compare_exchange_strong(
              expected, large_word(owner, claimed == 0, npages), std::memory_order_acq_rel)) {
        break;
      }
      LQS_CRASH_POINT("arena.large_partial");
    }
    if (claimed == npages) {
      const uint64_t off = uint64_t{start} * kPageSize;
      owner_word(off)->store(owner, std::memory_order_relaxed);
      header_->class_hint[kLargeHintIndex].store(start + npages, std::memory_order_relaxed);
      return off;
    }
    for (uint32_t j = 0; j < claimed; ++j) {
      uint64_t expected = large_word(owner, j == 0, npages);
      (void)pages_[start + j].word.compare_exchange_strong(expected, kKindFree,
                                                           std::memory_order_release);
    }
    scanned += claimed + 1;
  }
  return kNoOffset;
}

void Arena::free(uint64_t off, size_t bytes, uint64_t owner) noexcept {
  if (!valid_ref(off, bytes)) {
    return;
  }
  const auto page = static_cast<uint32_t>(off / kPageSize);
  const uint64_t w = pages_[page].word.load(std::memory_order_acquire);
  if (kind_of(w) == kKindClass) {
    const uint32_t cls = class_of(w);
    uint64_t expected = owner;
    // release: our reads of the record happen before the next owner's writes.
    if (owner_word(off)->compare_exchange_strong(expected, 0, std::memory_order_release)) {
      LQS_CRASH_POINT("arena.after_owner_clear");
      const uint64_t k = (off % kPageSize) / kSizes[cls];
      pages_[page].free_bits[k / 64].fetch_or(uint64_t{1} << (k % 64), std::memory_order_release);
      // relaxed: a hint for allocate_small (see there). A crash just before it leaves the
      // count one short: some allocator may carve a page instead of reusing this chunk once.
      header_->arena_frees.fetch_add(1, std::memory_order_relaxed);
    }
    return;
  }
  if (kind_of(w) == kKindLarge && large_head(w) &&
      large_owner(w) == (owner & ((uint64_t{1} << 54) - 1))) {
    const uint32_t n = large_npages(w);
    // Tail pages first, head last: a crash part-way leaves a head that still describes the
    // run, and scavenge() frees the rest.
    for (uint32_t j = n; j-- > 0;) {
      if (page + j >= page_count_) {
        continue;
      }
      uint64_t expected = large_word(owner, j == 0, n);
      (void)pages_[page + j].word.compare_exchange_strong(expected, kKindFree,
                                                          std::memory_order_release);
    }
  }
}

bool Arena::valid_ref(uint64_t off, size_t bytes) const noexcept {
  const uint64_t arena_size = uint64_t{page_count_} * kPageSize;
  if (off >= arena_size || bytes > arena_size || off + kOwnerWordSize + bytes > arena_size) {
    return false;
  }
  const auto page = static_cast<uint32_t>(off / kPageSize);
  const uint64_t w = pages_[page].word.load(std::memory_order_acquire);
  if (kind_of(w) == kKindClass) {
    const uint32_t cls = class_of(w);
    if (cls >= kClassCount) {
      return false;
    }
    const uint64_t in_page = off % kPageSize;
    return in_page % kSizes[cls] == 0 && in_page / kSizes[cls] < chunks_in_page(cls) &&
           bytes + kOwnerWordSize <= kSizes[cls];
  }
  if (kind_of(w) == kKindLarge) {
    return off % kPageSize == 0 && large_head(w) &&
           bytes + kOwnerWordSize <= uint64_t{large_npages(w)} * kPageSize;
  }
  return false;
}

uint64_t Arena::owner_at(uint64_t off) const noexcept {
  return owner_word(off)->load(std::memory_order_acquire);
}

Arena::ScavengeStats Arena::scavenge(
    const std::function<bool(uint64_t owner, uint64_t off)>& owner_valid) noexcept {
  ScavengeStats st;
  for (uint32_t p = 0; p < page_count_; ++p) {
    const uint64_t w = pages_[p].word.load(std::memory_order_acquire);
    if (kind_of(w) == kKindClass) {
      const uint32_t cls = class_of(w);
      if (cls >= kClassCount) {
        continue;  // corrupt descriptor: fsck reports it; never guess
      }
      const uint32_t count = chunks_in_page(cls);
      for (uint32_t k = 0; k < count; ++k) {
        const uint64_t off = uint64_t{p} * kPageSize + uint64_t{k} * kSizes[cls];
        uint64_t o = owner_word(off)->load(std::memory_order_acquire);
        const uint64_t bit = uint64_t{1} << (k % 64);
        std::atomic<uint64_t>& bits = pages_[p].free_bits[k / 64];
        if (o != 0 && !owner_valid(o, off)) {
          if (!owner_word(off)->compare_exchange_strong(o, 0, std::memory_order_acq_rel)) {
            continue;  // changed under us: someone else's now
          }
          ++st.chunks_reclaimed;
          o = 0;
        }
        if (o == 0 && (bits.load(std::memory_order_relaxed) & bit) == 0) {
          // A free chunk without its hint bit (or one being allocated right now: a spurious
          // bit only costs that allocator's rival a failed owner CAS).
          bits.fetch_or(bit, std::memory_order_release);
          ++st.hints_rebuilt;
        }
      }
    } else if (kind_of(w) == kKindCarving) {
      // A carve whose carver died: nothing was allocated from the page, so it is free again.
      // owner_alive() makes system calls, but carves are rare and short.
      if (!common::owner_alive(carving_owner(w))) {
        uint64_t expected = w;
        if (pages_[p].word.compare_exchange_strong(expected, kKindFree,
                                                   std::memory_order_acq_rel)) {
          ++st.chunks_reclaimed;
        }
      }
    } else if (kind_of(w) == kKindLarge) {
      const uint64_t owner = large_owner(w);
      // The run's head offset: walk back to the head page recorded by this owner.
      uint32_t head = p;
      while (!large_head(pages_[head].word.load(std::memory_order_acquire)) && head > 0 &&
             large_owner(pages_[head - 1].word.load(std::memory_order_acquire)) == owner &&
             kind_of(pages_[head - 1].word.load(std::memory_order_acquire)) == kKindLarge) {
        --head;
      }
      if (!owner_valid(owner, uint64_t{head} * kPageSize)) {
        uint64_t expected = w;
        if (pages_[p].word.compare_exchange_strong(expected, kKindFree,
                                                   std::memory_order_acq_rel)) {
          ++st.chunks_reclaimed;
        }
      }
    }
  }
  if (st.chunks_reclaimed != 0 || st.hints_rebuilt != 0) {
    // relaxed: as in free(): chunks became free (or findable) again; allocators scan anew.
    header_->arena_frees.fetch_add(1, std::memory_order_relaxed);
  }
  return st;
}

uint32_t Arena::pages_in_use() const noexcept {
  uint32_t n = 0;
  for (uint32_t p = 0; p < page_count_; ++p) {
    n += pages_[p].word.load(std::memory_order_relaxed) != kKindFree ? 1 : 0;
  }
  return n;
}

}  // namespace lqs::queue
