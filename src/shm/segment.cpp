// Copyright lqs authors.
#include "shm/segment.hpp"

#include "common/random.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <new>
#include <string>

namespace lqs::shm {
namespace {

constexpr uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

uint32_t next_pow2(uint32_t v) { return v <= 1 ? 1 : std::bit_ceil(v); }

Error sys_error(const std::string& what, int err) {
  ErrorCode code = (err == ENOSPC || err == EDQUOT) ? ErrorCode::kNoSpace : ErrorCode::kSystem;
  // strerrordesc_np (glibc >= 2.32) is thread-safe, unlike std::strerror.
  const char* text = strerrordesc_np(err);
  return make_error(code, what + ": " + (text != nullptr ? text : "errno " + std::to_string(err)),
                    err);
}

// mkdir -p with mode 0770 (the instance directory).
bool make_dirs(const std::string& path) {
  std::string cur;
  for (size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      if (!cur.empty() && ::mkdir(cur.c_str(), 0770) != 0 && errno != EEXIST) {
        return false;
      }
    }
    if (i < path.size()) {
      cur.push_back(path[i]);
    }
  }
  return true;
}

}  // namespace

uint32_t fifo_flags(const QueueAttributes& a) noexcept {
  return (a.content_based_deduplication ? kFifoContentDedup : 0) |
         (a.deduplication_scope_message_group ? kFifoScopeGroup : 0) |
         (a.fifo_throughput_per_group ? kFifoPerGroup : 0);
}

bool init_fifo_region(uint8_t* base, const Geometry& g) noexcept {
  auto* c = new (base + g.fifo_off) FifoControl;  // NOLINT: zero bytes are a valid image
  pthread_mutexattr_t attr;
  if (pthread_mutexattr_init(&attr) != 0) {
    return false;
  }
  const bool ok = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED) == 0 &&
                  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST) == 0 &&
                  pthread_mutex_init(&c->mu, &attr) == 0;
  (void)pthread_mutexattr_destroy(&attr);
  if (!ok) {
    return false;
  }
  c->ready_head = kFifoNil;
  c->ready_tail = kFifoNil;
  auto* groups = reinterpret_cast<FifoGroup*>(base + g.fifo_groups_off);
  for (uint32_t i = 0; i < g.fifo_group_capacity; ++i) {
    groups[i].head = kFifoNil;
    groups[i].tail = kFifoNil;
    groups[i].ready_next = kFifoNotReady;
    groups[i].ready_prev = kFifoNil;
  }
  auto* nodes = reinterpret_cast<FifoNode*>(base + g.fifo_nodes_off);
  for (uint32_t i = 0; i < g.slot_count; ++i) {
    nodes[i].next = kFifoNil;
    nodes[i].prev = kFifoNil;
    nodes[i].group = kFifoNil;
  }
  return true;
}

Geometry compute_geometry(uint32_t capacity_messages, uint64_t capacity_bytes, bool fifo) noexcept {
  Geometry g;
  g.slot_count = static_cast<uint32_t>(align_up(capacity_messages, 64));
  if (g.slot_count > kMaxSlots) {
    g.slot_count = kMaxSlots;
  }
  // The ready ring holds twice the slots: stale entries (deleted or re-leased messages) stay
  // until a consumer passes them.
  g.ring_capacity = next_pow2(g.slot_count) * 2;
  // Eight lanes of a quarter of the slots each: together twice the slots, enough for every
  // message in flight under one timeout (a full lane spills into a free one with the same
  // duration; an entry no lane takes is left to the sweep).
  g.lane_capacity = next_pow2(g.slot_count) / 4;
  g.page_count = static_cast<uint32_t>((capacity_bytes + kPageSize - 1) / kPageSize);
  uint64_t off = kHeaderSize;
  g.slots_off = off;
  off += uint64_t{g.slot_count} * sizeof(Slot);
  g.slot_bits_off = off;
  off = align_up(off + uint64_t{g.slot_count} / 8, kCacheLine);
  g.ring_off = off;
  off += sizeof(RingControl) + uint64_t{g.ring_capacity} * 8;
  g.lanes_off = off;
  off += uint64_t{kLaneCount} * (sizeof(RingControl) + uint64_t{g.lane_capacity} * 8);
  g.pages_off = off;
  off += uint64_t{g.page_count} * sizeof(PageDesc);
  g.arena_off = align_up(off, 4096);
  g.total_size = g.arena_off + uint64_t{g.page_count} * kPageSize;
  if (fifo) {
    // Groups: at most one per message, at most half the table live (open addressing).
    g.fifo_group_capacity = std::min<uint32_t>(next_pow2(g.slot_count) * 2, 1u << 20);
    // Deduplication records live 5 minutes after their message may be gone: 4 per slot.
    g.fifo_dedup_capacity = std::min<uint32_t>(next_pow2(g.slot_count) * 4, 1u << 22);
    off = align_up(g.total_size, 4096);
    g.fifo_off = off;
    off += sizeof(FifoControl);
    g.fifo_groups_off = off;
    off += uint64_t{g.fifo_group_capacity} * sizeof(FifoGroup);
    g.fifo_nodes_off = off;
    off += uint64_t{g.slot_count} * sizeof(FifoNode);
    g.fifo_dedup_off = off;
    off += uint64_t{g.fifo_dedup_capacity} * sizeof(FifoDedup);
    g.fifo_attempts_off = off;
    off += uint64_t{kFifoAttempts} * sizeof(FifoAttempt);
    g.fifo_dedup_index_off = off;  // the records' hash index: 2 buckets per record
    off += uint64_t{g.fifo_dedup_capacity} * 2 * sizeof(uint64_t);
    // Deletes waiting for the index mutex to unlink their slots: one entry per delete,
    // drained by every receive, so it holds the deletes since the last receive. A deleter
    // that finds it full unlinks under the mutex itself; a quarter of the slots is plenty.
    g.fifo_release_capacity = std::min<uint32_t>(next_pow2(g.slot_count) / 4, 1u << 16);
    g.fifo_release_off = align_up(off, kCacheLine);
    off = g.fifo_release_off + sizeof(RingControl) + uint64_t{g.fifo_release_capacity} * 8;
    g.total_size = align_up(off, 4096);
  }
  // One journal cell per slot (bounded): a full journal only makes async senders raise
  // `overflow` and sync senders wait for lqsd.
  g.journal_capacity = std::min<uint32_t>(next_pow2(g.slot_count), kJournalMaxCapacity);
  g.journal_off = align_up(g.total_size, 4096);
  g.total_size = align_up(
      g.journal_off + sizeof(JournalControl) + uint64_t{g.journal_capacity} * sizeof(JournalCell),
      4096);
  return g;
}

uint64_t geometry_check(const SegmentHeader& h) noexcept {
  // FNV-1a over the geometry fields, in a fixed order (FORMAT.md).
  const uint64_t fields[] = {h.total_size,    h.slot_count,  h.ring_capacity,   h.lane_count,
                             h.lane_capacity, h.page_count,  h.page_size,       h.slots_off,
                             h.slot_bits_off, h.ring_off,    h.lanes_off,       h.pages_off,
                             h.arena_off,     h.journal_off, h.journal_capacity};
  // A standard queue's check is unchanged by the FIFO fields (all zero there).
  uint64_t x = 0xcbf29ce484222325ULL;
  auto mix = [&x](uint64_t f) {
    for (int i = 0; i < 8; ++i) {
      x ^= (f >> (8 * i)) & 0xff;
      x *= 0x100000001b3ULL;
    }
  };
  for (uint64_t f : fields) {
    mix(f);
  }
  if (h.fifo_off != 0) {
    for (uint64_t f :
         {h.fifo_off, uint64_t{h.fifo_group_capacity}, uint64_t{h.fifo_dedup_capacity},
          h.fifo_groups_off, h.fifo_nodes_off, h.fifo_dedup_off, h.fifo_attempts_off,
          h.fifo_dedup_index_off, h.fifo_release_off, uint64_t{h.fifo_release_capacity}}) {
      mix(f);
    }
  }
  return x;
}

Result<void> validate_segment(const void* base, size_t size) noexcept {
  auto corrupt = [](const char* why) {
    return make_error(ErrorCode::kCorruption, std::string("corrupt segment: ") + why);
  };
  if (base == nullptr || size < kHeaderSize) {
    return corrupt("file shorter than its header");
  }
  const auto* h = static_cast<const SegmentHeader*>(base);
  if (h->magic != kSegmentMagic) {
    return corrupt("bad magic");
  }
  const uint32_t version = h->layout_version.load(std::memory_order_acquire);
  if (version == 0) {
    return corrupt("segment was never completely initialised");
  }
  if (version != kLayoutVersion) {
    return make_error(ErrorCode::kIncompatibleVersion,
                      "segment layout version " + std::to_string(version) +
                          " is not supported (this build reads version " +
                          std::to_string(kLayoutVersion) +
                          "): delete the queue's segment file and create the queue again");
  }
  if (h->header_size != kHeaderSize || h->page_size != kPageSize || h->lane_count != kLaneCount) {
    return corrupt("bad header, page size or lane count");
  }
  if (h->total_size != size) {
    return corrupt("file size differs from the size recorded in the header");
  }
  if (h->journal_off == 0 && h->journal_capacity == 0) {
    // Made by a build from before the durability journal (same layout number, pre-release).
    return make_error(ErrorCode::kIncompatibleVersion,
                      "segment was made by an older lqs build (no durability journal): "
                      "delete the queue's segment file and create the queue again");
  }
  if (h->geometry_check != geometry_check(*h)) {
    return corrupt("geometry checksum mismatch");
  }
  if (h->slot_count < kMinSlots || h->slot_count > kMaxSlots || h->slot_count % 64 != 0) {
    return corrupt("slot count out of range");
  }
  if (!std::has_single_bit(h->ring_capacity) || !std::has_single_bit(h->lane_capacity) ||
      h->ring_capacity < h->slot_count || uint64_t{h->lane_capacity} * 4 < h->slot_count ||
      h->ring_capacity > 2 * kMaxSlots || h->lane_capacity > kMaxSlots) {
    return corrupt("ring capacity out of range");
  }
  if (h->page_count == 0 || h->page_count > (uint64_t{1} << 26)) {
    return corrupt("page count out of range");
  }
  // Recompute the layout from the counts and require exactly the recorded offsets.
  Geometry g =
      compute_geometry(h->slot_count, uint64_t{h->page_count} * kPageSize, h->fifo_off != 0);
  if (g.slot_count != h->slot_count || g.ring_capacity != h->ring_capacity ||
      g.lane_capacity != h->lane_capacity || g.slots_off != h->slots_off ||
      g.slot_bits_off != h->slot_bits_off || g.ring_off != h->ring_off ||
      g.lanes_off != h->lanes_off || g.pages_off != h->pages_off || g.arena_off != h->arena_off ||
      g.total_size != h->total_size || g.fifo_off != h->fifo_off ||
      g.fifo_group_capacity != h->fifo_group_capacity ||
      g.fifo_dedup_capacity != h->fifo_dedup_capacity || g.fifo_groups_off != h->fifo_groups_off ||
      g.fifo_nodes_off != h->fifo_nodes_off || g.fifo_dedup_off != h->fifo_dedup_off ||
      g.fifo_attempts_off != h->fifo_attempts_off ||
      g.fifo_dedup_index_off != h->fifo_dedup_index_off ||
      g.fifo_release_off != h->fifo_release_off ||
      g.fifo_release_capacity != h->fifo_release_capacity || g.journal_off != h->journal_off ||
      g.journal_capacity != h->journal_capacity) {
    return corrupt("offsets inconsistent with the geometry");
  }
  if (std::memchr(h->name, '\0', sizeof h->name) == nullptr ||
      std::strlen(h->name) > kQueueNameMax || h->name[0] == '\0') {
    return corrupt("bad queue name");
  }
  return {};
}

Segment::Segment(Segment&& other) noexcept : base_(other.base_), size_(other.size_) {
  other.base_ = nullptr;
  other.size_ = 0;
}

Segment& Segment::operator=(Segment&& other) noexcept {
  if (this != &other) {
    if (base_ != nullptr) {
      (void)::munmap(base_, size_);
    }
    base_ = other.base_;
    size_ = other.size_;
    other.base_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

Segment::~Segment() {
  if (base_ != nullptr) {
    (void)::munmap(base_, size_);
  }
}

std::string Segment::path_of(const std::string& root, std::string_view name) {
  std::string p = root;
  if (!p.empty() && p.back() != '/') {
    p.push_back('/');
  }
  p.append(name);
  p.append(".v1.seg");
  return p;
}

std::vector<std::string> Segment::list(const std::string& root) {
  std::vector<std::string> names;
  DIR* d = ::opendir(root.c_str());
  if (d == nullptr) {
    return names;
  }
  constexpr std::string_view kSuffix = ".v1.seg";
  while (const dirent* e = ::readdir(d)) {  // NOLINT(concurrency-mt-unsafe): own DIR stream
    std::string_view n = e->d_name;
    if (n.size() > kSuffix.size() && n.ends_with(kSuffix)) {
      n.remove_suffix(kSuffix.size());
      names.emplace_back(n);
    }
  }
  (void)::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

Result<Segment> Segment::create(const std::string& root, std::string_view name,
                                const QueueAttributes& attributes, int64_t created_unix_ms,
                                int64_t mono_now_ns) {
  if (!make_dirs(root)) {
    return sys_error("cannot create shm root " + root, errno);
  }
  const std::string final_path = path_of(root, name);
  const std::string tmp_path = final_path + ".tmp." + std::to_string(::getpid());
  Geometry g = compute_geometry(attributes.capacity_messages, attributes.capacity_bytes,
                                attributes.fifo_queue);

  int fd = ::open(tmp_path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0660);
  if (fd < 0) {
    return sys_error("cannot create " + tmp_path, errno);
  }
  auto fail = [&](const std::string& what, int err) -> Error {
    (void)::close(fd);
    (void)::unlink(tmp_path.c_str());
    return sys_error(what, err);
  };
  // Reserve every byte now: a full /dev/shm fails here with ENOSPC instead of raising SIGBUS
  // on a later page fault.
  int rc = ::posix_fallocate(fd, 0, static_cast<off_t>(g.total_size));
  if (rc != 0) {
    return fail("cannot reserve " + std::to_string(g.total_size) + " bytes for queue " +
                    std::string(name) + " in " + root,
                rc);
  }
  void* p = ::mmap(nullptr, g.total_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    return fail("mmap", errno);
  }
  Segment seg;
  seg.base_ = static_cast<uint8_t*>(p);
  seg.size_ = g.total_size;

  // The file is zero-filled, which is the initial state of every atomic (FREE slots with
  // epoch 0, empty cells of lap 0, FREE pages). Fill in the header.
  auto* h = new (p) SegmentHeader;  // NOLINT: zero bytes are a valid SegmentHeader image
  h->magic = kSegmentMagic;
  h->header_size = kHeaderSize;
  h->total_size = g.total_size;
  h->created_unix_ms = created_unix_ms;
  h->mono_base_ns = mono_now_ns;
  if (!common::secure_random(&h->queue_id, sizeof h->queue_id) ||
      !common::secure_random(h->mac_key, sizeof h->mac_key)) {
    (void)::close(fd);
    (void)::unlink(tmp_path.c_str());
    return make_error(ErrorCode::kSystem, "getrandom failed");
  }
  h->slot_count = g.slot_count;
  h->ring_capacity = g.ring_capacity;
  h->lane_count = kLaneCount;
  h->lane_capacity = g.lane_capacity;
  h->page_count = g.page_count;
  h->page_size = kPageSize;
  h->slots_off = g.slots_off;
  h->slot_bits_off = g.slot_bits_off;
  h->ring_off = g.ring_off;
  h->lanes_off = g.lanes_off;
  h->pages_off = g.pages_off;
  h->arena_off = g.arena_off;
  h->capacity_bytes = attributes.capacity_bytes;
  h->fifo_off = g.fifo_off;
  h->fifo_group_capacity = g.fifo_group_capacity;
  h->fifo_dedup_capacity = g.fifo_dedup_capacity;
  h->fifo_groups_off = g.fifo_groups_off;
  h->fifo_nodes_off = g.fifo_nodes_off;
  h->fifo_dedup_off = g.fifo_dedup_off;
  h->fifo_attempts_off = g.fifo_attempts_off;
  h->fifo_dedup_index_off = g.fifo_dedup_index_off;
  h->fifo_release_off = g.fifo_release_off;
  h->fifo_release_capacity = g.fifo_release_capacity;
  h->journal_off = g.journal_off;
  h->journal_capacity = g.journal_capacity;
  h->geometry_check = geometry_check(*h);
  std::memcpy(h->name, name.data(), name.size());
  h->visibility_timeout_s.store(attributes.visibility_timeout_s, std::memory_order_relaxed);
  h->message_retention_period_s.store(attributes.message_retention_period_s,
                                      std::memory_order_relaxed);
  h->maximum_message_size.store(attributes.maximum_message_size, std::memory_order_relaxed);
  h->delay_s.store(attributes.delay_s, std::memory_order_relaxed);
  h->receive_message_wait_time_s.store(attributes.receive_message_wait_time_s,
                                       std::memory_order_relaxed);
  h->last_modified_unix_ms.store(created_unix_ms, std::memory_order_relaxed);
  if (g.fifo_off != 0) {
    h->fifo_flags.store(fifo_flags(attributes), std::memory_order_relaxed);
    if (!init_fifo_region(seg.base_, g)) {
      (void)::close(fd);
      (void)::unlink(tmp_path.c_str());
      return make_error(ErrorCode::kSystem, "cannot initialise the FIFO index mutex");
    }
  }
  h->durability.store(static_cast<int32_t>(attributes.durability), std::memory_order_relaxed);
  // Journal cell i starts free for ticket i (Vyukov: seq == ticket means "free for it").
  auto* cells = reinterpret_cast<JournalCell*>(seg.base_ + g.journal_off + sizeof(JournalControl));
  for (uint32_t i = 0; i < g.journal_capacity; ++i) {
    cells[i].seq.store(i, std::memory_order_relaxed);
  }
  // Every slot starts FREE: set every free-hint bit.
  auto* bits = reinterpret_cast<std::atomic<uint64_t>*>(seg.base_ + g.slot_bits_off);
  for (uint32_t w = 0; w < g.slot_count / 64; ++w) {
    bits[w].store(~uint64_t{0}, std::memory_order_relaxed);
  }
  // release: publishes every store above; pairs with the acquire load in validate_segment.
  h->layout_version.store(kLayoutVersion, std::memory_order_release);
  (void)::close(fd);

  // link() fails with EEXIST if the name is taken, so two creators cannot both win.
  if (::link(tmp_path.c_str(), final_path.c_str()) != 0) {
    int err = errno;
    (void)::unlink(tmp_path.c_str());
    if (err == EEXIST) {
      return make_error(ErrorCode::kQueueNameExists,
                        "A queue already exists with the same name: " + std::string(name));
    }
    return sys_error("cannot publish " + final_path, err);
  }
  (void)::unlink(tmp_path.c_str());
  return seg;
}

Result<Segment> Segment::open(const std::string& root, std::string_view name) {
  const std::string path = path_of(root, name);
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) {
      return make_error(ErrorCode::kQueueDoesNotExist, "The specified queue does not exist.");
    }
    return sys_error("cannot open " + path, err);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    (void)::close(fd);
    return sys_error("fstat " + path, err);
  }
  if (st.st_size < static_cast<off_t>(kHeaderSize)) {
    (void)::close(fd);
    return make_error(ErrorCode::kCorruption, "corrupt segment " + path + ": file is " +
                                                  std::to_string(st.st_size) +
                                                  " bytes, shorter than its header");
  }
  const auto size = static_cast<size_t>(st.st_size);
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int err = errno;
  (void)::close(fd);
  if (p == MAP_FAILED) {
    return sys_error("mmap " + path, err);
  }
  Segment seg;
  seg.base_ = static_cast<uint8_t*>(p);
  seg.size_ = size;
  if (auto v = validate_segment(p, size); !v) {
    Error e = std::move(v).error();
    e.message += " (" + path + ")";
    return e;
  }
  return seg;
}

Result<void> Segment::remove(const std::string& root, std::string_view name) {
  const std::string path = path_of(root, name);
  if (::unlink(path.c_str()) != 0) {
    int err = errno;
    if (err == ENOENT) {
      return make_error(ErrorCode::kQueueDoesNotExist, "The specified queue does not exist.");
    }
    return sys_error("cannot remove " + path, err);
  }
  return {};
}

}  // namespace lqs::shm
