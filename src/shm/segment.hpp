// Copyright lqs authors. Segment files: create, open, validate, map.
//
// Crash table (create): the segment is built under a temporary name and linked to its final
// name only once `layout_version` is published, so a creator killed at any step leaves either
// no queue or a complete one (plus, at worst, a `*.tmp.<pid>` file that the next create in the
// same root removes when its pid is dead).
#ifndef LQS_SHM_SEGMENT_HPP_
#define LQS_SHM_SEGMENT_HPP_

#include "lqs/queue_attributes.hpp"
#include "lqs/result.hpp"

#include "shm/segment_layout.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lqs::shm {

/// Sizes and offsets derived from the capacity attributes.
struct Geometry {
  uint32_t slot_count = 0;
  uint32_t ring_capacity = 0;
  uint32_t lane_capacity = 0;
  uint32_t page_count = 0;
  uint64_t slots_off = 0, slot_bits_off = 0, ring_off = 0, lanes_off = 0, pages_off = 0,
           arena_off = 0, total_size = 0;
  // FIFO queues only (0 otherwise): the FIFO region follows the arena.
  uint32_t fifo_group_capacity = 0;
  uint32_t fifo_dedup_capacity = 0;
  uint64_t fifo_off = 0, fifo_groups_off = 0, fifo_nodes_off = 0, fifo_dedup_off = 0,
           fifo_attempts_off = 0, fifo_dedup_index_off = 0, fifo_release_off = 0;
  uint32_t fifo_release_capacity = 0;
  // The durability journal follows everything else.
  uint32_t journal_capacity = 0;
  uint64_t journal_off = 0;
};

Geometry compute_geometry(uint32_t capacity_messages, uint64_t capacity_bytes,
                          bool fifo = false) noexcept;
uint64_t geometry_check(const SegmentHeader& h) noexcept;
/// The SegmentHeader::fifo_flags bits for `a`.
uint32_t fifo_flags(const QueueAttributes& a) noexcept;
/// Initialises the FIFO region of a new segment at `base` (mutex, empty lists).
bool init_fifo_region(uint8_t* base, const Geometry& g) noexcept;

/// Checks that `size` bytes at `base` are a complete, consistent segment of this layout
/// version: magic, version, sizes, offsets, geometry. Never trusts a field before checking
/// it; never crashes on any input (fuzzed). Errors: kCorruption, kIncompatibleVersion.
Result<void> validate_segment(const void* base, size_t size) noexcept;

/// A mapped segment file. Movable; unmaps on destruction.
class Segment {
 public:
  Segment() = default;
  Segment(Segment&& other) noexcept;
  Segment& operator=(Segment&& other) noexcept;
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;
  ~Segment();

  /// Creates <root>/<name>.v1.seg with mode 0660 and fallocated space.
  static Result<Segment> create(const std::string& root, std::string_view name,
                                const QueueAttributes& attributes, int64_t created_unix_ms,
                                int64_t mono_now_ns);
  static Result<Segment> open(const std::string& root, std::string_view name);
  static Result<void> remove(const std::string& root, std::string_view name);
  static std::string path_of(const std::string& root, std::string_view name);
  /// Queue names with a segment file in `root`, sorted; temporary files are skipped.
  static std::vector<std::string> list(const std::string& root);

  SegmentHeader* header() const noexcept { return reinterpret_cast<SegmentHeader*>(base_); }
  uint8_t* base() const noexcept { return base_; }
  size_t size() const noexcept { return size_; }

 private:
  uint8_t* base_ = nullptr;
  size_t size_ = 0;
};

}  // namespace lqs::shm

#endif  // LQS_SHM_SEGMENT_HPP_
