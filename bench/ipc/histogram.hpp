// Copyright lqs authors. A fixed-size log-linear latency histogram (HdrHistogram-style).
//
// Values are nanoseconds. Values below 256 are recorded exactly; above, each power of two is
// split into 128 linear sub-buckets, so any recorded value is reported within 1/128 (< 0.8 %)
// of its true value. The range is [0, 2^40) ns (about 18 minutes); larger values land in the
// last bucket and are still counted (max() stays exact).
//
// The type is trivially copyable and has no pointers, so it can live in a MAP_SHARED region
// written by a child process and read by the parent.
#ifndef LQS_BENCH_IPC_HISTOGRAM_HPP_
#define LQS_BENCH_IPC_HISTOGRAM_HPP_

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <iterator>

namespace lqs::bench {

class LatencyHistogram {
 public:
  static constexpr int kSubBits = 8;  // 256 exact values, then 128/octave
  static constexpr uint64_t kSubCount = uint64_t{1} << kSubBits;
  static constexpr uint64_t kHalf = kSubCount / 2;
  static constexpr int kMaxBits = 40;
  static constexpr size_t kBuckets = kSubCount + (kMaxBits - kSubBits) * kHalf;

  void clear() noexcept {
    std::fill(std::begin(counts_), std::end(counts_), 0);
    total_ = 0;
    max_ = 0;
    min_ = UINT64_MAX;
    sum_ = 0;
  }

  void record(int64_t value_ns) noexcept {
    const uint64_t v = value_ns < 0 ? 0 : static_cast<uint64_t>(value_ns);
    ++counts_[index_of(v)];
    ++total_;
    sum_ += v;
    max_ = std::max(max_, v);
    min_ = std::min(min_, v);
  }

  void merge(const LatencyHistogram& other) noexcept {
    for (size_t i = 0; i < kBuckets; ++i) {
      counts_[i] += other.counts_[i];
    }
    total_ += other.total_;
    sum_ += other.sum_;
    max_ = std::max(max_, other.max_);
    min_ = std::min(min_, other.min_);
  }

  uint64_t count() const noexcept { return total_; }
  uint64_t max() const noexcept { return total_ == 0 ? 0 : max_; }
  uint64_t min() const noexcept { return total_ == 0 ? 0 : min_; }
  double mean() const noexcept {
    return total_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(total_);
  }

  /// The value at quantile q (0..1): the highest value equivalent to the bucket holding the
  /// q-th sample (as HdrHistogram reports), clamped to the exact maximum.
  uint64_t percentile(double q) const noexcept {
    if (total_ == 0) {
      return 0;
    }
    q = std::clamp(q, 0.0, 1.0);
    auto rank = static_cast<uint64_t>(q * static_cast<double>(total_) + 0.5);
    rank = std::clamp<uint64_t>(rank, 1, total_);
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) {
        return std::min(highest_of(i), max_);
      }
    }
    return max_;
  }

  static size_t index_of(uint64_t v) noexcept {
    if (v < kSubCount) {
      return static_cast<size_t>(v);
    }
    const int msb = 63 - std::countl_zero(v);
    if (msb >= kMaxBits) {
      return kBuckets - 1;
    }
    const int shift = msb - kSubBits + 1;  // >= 1
    const uint64_t top = v >> shift;       // in [kHalf, kSubCount)
    return static_cast<size_t>(kSubCount + static_cast<uint64_t>(shift - 1) * kHalf +
                               (top - kHalf));
  }

  static uint64_t highest_of(size_t index) noexcept {
    if (index < kSubCount) {
      return index;
    }
    const uint64_t rel = index - kSubCount;
    const int shift = static_cast<int>(rel / kHalf) + 1;
    const uint64_t top = kHalf + rel % kHalf;
    return ((top + 1) << shift) - 1;
  }

 private:
  uint64_t counts_[kBuckets] = {};
  uint64_t total_ = 0;
  uint64_t sum_ = 0;
  uint64_t max_ = 0;
  uint64_t min_ = UINT64_MAX;
};

}  // namespace lqs::bench

#endif  // LQS_BENCH_IPC_HISTOGRAM_HPP_
