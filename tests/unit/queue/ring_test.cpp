// Copyright lqs authors. Ring tests over heap buffers (a (control, cells, capacity) view).
#include "queue/ring.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <thread>
#include <vector>

namespace lqs::queue {
namespace {

struct HeapRing {
  explicit HeapRing(uint32_t cap) : cells(new std::atomic<uint64_t>[cap]) {
    control.head = 0;
    control.tail = 0;
    for (uint32_t i = 0; i < cap; ++i) cells[i] = 0;
    view = RingView(&control, cells.get(), cap);
  }
  shm::RingControl control{};
  std::unique_ptr<std::atomic<uint64_t>[]> cells;
  RingView view;
};

auto take_all = [](uint64_t) { return PopVerdict::kTake; };

TEST(RingTest, PopsInPushOrderAndReportsEmpty) {
  HeapRing r(8);
  uint64_t out = 0;
  EXPECT_FALSE(r.view.pop(take_all, out));
  for (uint64_t i = 1; i <= 5; ++i) ASSERT_TRUE(r.view.push(i));
  for (uint64_t i = 1; i <= 5; ++i) {
    ASSERT_TRUE(r.view.pop(take_all, out));
    EXPECT_EQ(out, i);
  }
  EXPECT_FALSE(r.view.pop(take_all, out));
}

TEST(RingTest, FullRingRefusesPushAndRecoversAfterPop) {
  HeapRing r(4);
  for (uint64_t i = 0; i < 4; ++i) ASSERT_TRUE(r.view.push(i + 10));
  EXPECT_FALSE(r.view.push(99));
  uint64_t out = 0;
  ASSERT_TRUE(r.view.pop(take_all, out));
  EXPECT_EQ(out, 10u);
  EXPECT_TRUE(r.view.push(99));
}

TEST(RingTest, WrapsManyLapsKeepingOrder) {
  HeapRing r(4);
  uint64_t out = 0;
  for (uint64_t i = 0; i < 100000; ++i) {
    ASSERT_TRUE(r.view.push(i & kEntryMask));
    ASSERT_TRUE(r.view.pop(take_all, out));
    ASSERT_EQ(out, i & kEntryMask);
  }
}

TEST(RingTest, DiscardedEntriesAreConsumedAndStopLeavesEntry) {
  HeapRing r(8);
  ASSERT_TRUE(r.view.push(1));
  ASSERT_TRUE(r.view.push(2));
  ASSERT_TRUE(r.view.push(3));
  uint64_t out = 0;
  // Discard 1, take 2.
  ASSERT_TRUE(r.view.pop(
      [](uint64_t e) { return e == 1 ? PopVerdict::kDiscard : PopVerdict::kTake; }, out));
  EXPECT_EQ(out, 2u);
  // Stop at 3: nothing taken, 3 stays.
  EXPECT_FALSE(r.view.pop([](uint64_t) { return PopVerdict::kStop; }, out));
  ASSERT_TRUE(r.view.pop(take_all, out));
  EXPECT_EQ(out, 3u);
}

TEST(RingTest, LaggingTailAndHeadAreHelpedForward) {
  // Simulate a pusher killed after its cell CAS (tail not advanced) and a popper killed after
  // consuming (head not advanced): the next operations must help, not wedge.
  HeapRing r(4);
  ASSERT_TRUE(r.view.push(7));
  r.control.tail.store(0);  // as if the pusher died before helping tail
  ASSERT_TRUE(r.view.push(8));
  uint64_t out = 0;
  ASSERT_TRUE(r.view.pop(take_all, out));
  EXPECT_EQ(out, 7u);
  r.control.head.store(0);  // as if the popper died before helping head
  ASSERT_TRUE(r.view.pop(take_all, out));
  EXPECT_EQ(out, 8u);
  EXPECT_FALSE(r.view.pop(take_all, out));
}

// Threads over one ring (run under TSan): every entry popped exactly once, per-producer order.
TEST(RingThreadsTest, MpmcDeliversEveryEntryOnceInPerProducerOrder) {
  HeapRing r(1024);
  constexpr int kProducers = 2;
  constexpr int kConsumers = 2;
  constexpr uint64_t kPer = 50000;
  std::atomic<uint64_t> popped{0};
  std::vector<std::vector<uint64_t>> got(kConsumers);
  // As in the queue, the verdict arbitrates: a popper takes an entry only by winning it
  // (here an exchange on a flag; in the queue, the slot CAS). Two poppers may judge one cell.
  std::vector<std::atomic<uint8_t>> won(kProducers * kPer);
  auto arbitrate = [&](uint64_t v) {
    const uint64_t i = (v >> 32) * kPer + (v & 0xffffffff);
    return won[i].exchange(1) == 0 ? PopVerdict::kTake : PopVerdict::kDiscard;
  };
  std::vector<std::thread> ts;
  for (int p = 0; p < kProducers; ++p) {
    ts.emplace_back([&, p] {
      for (uint64_t i = 0; i < kPer; ++i) {
        uint64_t v = (uint64_t(p) << 32) | i;
        while (!r.view.push(v)) std::this_thread::yield();
      }
    });
  }
  for (int c = 0; c < kConsumers; ++c) {
    ts.emplace_back([&, c] {
      uint64_t out = 0;
      while (popped.load() < kProducers * kPer) {
        if (r.view.pop(arbitrate, out)) {
          got[c].push_back(out);
          popped.fetch_add(1);
        } else {
          std::this_thread::yield();
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  std::set<uint64_t> all;
  for (int c = 0; c < kConsumers; ++c) {
    std::vector<int64_t> last(kProducers, -1);
    for (uint64_t v : got[c]) {
      int p = int(v >> 32);
      int64_t i = int64_t(v & 0xffffffff);
      EXPECT_GT(i, last[p]) << "per-producer order violated within one consumer";
      last[p] = i;
      EXPECT_TRUE(all.insert(v).second) << "entry popped twice";
    }
  }
  EXPECT_EQ(all.size(), kProducers * kPer);
}

}  // namespace
}  // namespace lqs::queue
