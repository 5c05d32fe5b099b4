// Copyright lqs authors. A FIFO queue shared by 4 producer and 4 consumer processes while
// consumers are SIGKILLed at random: every message is delivered, and per-group order and the
// group lock hold on acknowledged deliveries. Also: a process killed while it holds the FIFO
// index mutex (crash-point builds) leaves a queue that the next process repairs.
#include "lqs/queue.hpp"

#include "support/test_support.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace lqs {
namespace {

using namespace std::chrono_literals;

constexpr int kProducers = 4;
constexpr int kConsumers = 4;
constexpr int kGroupsPerProducer = 8;
constexpr int kGroups = kProducers * kGroupsPerProducer;
constexpr int kPerGroup = 250;

// Shared between the test and its children (MAP_SHARED | MAP_ANONYMOUS, before fork).
struct Shared {
  // Per group: messages [0, lo) are deleted for sure; [0, hi) may be (a consumer sets hi
  // before its DeleteMessage and lo after it, so a kill in between leaves lo < hi).
  std::atomic<int> lo[kGroups];
  std::atomic<int> hi[kGroups];
  // Per message: set when it is received (before its delete). "Every message delivered" is
  // every flag set; a count of deletes would be one short whenever a consumer is killed
  // between a successful delete and its increment.
  std::atomic<uint8_t> delivered[kGroups][kPerGroup];
  std::atomic<int> producers_finished;
  // Set by the test once every producer has finished and the queue is empty.
  std::atomic<bool> done;
  std::atomic<int> violations;
  char first_violation[256];
};

Shared* map_shared() {
  void* p =
      ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : new (p) Shared{};
}

void violation(Shared* sh, const std::string& what) {
  if (sh->violations.fetch_add(1) == 0) {
    std::snprintf(sh->first_violation, sizeof sh->first_violation, "%s", what.c_str());
  }
}

// A consumer: receive (batches of up to 10), check the group's order against lo/hi, delete
// in order. Runs until killed or until the test says the queue is drained.
int consume(const QueueLocation& w, Shared* sh) {
  auto q = Queue::open(w);
  if (!q) return 2;
  ReceiveBatch b;
  ReceiveOptions o;
  o.max_number_of_messages = 10;
  o.wait_time_s = 1;
  while (!sh->done.load()) {
    if (!q->receive(b, o)) return 3;
    int prev_group = -1;
    int prev_index = -1;
    for (size_t i = 0; i < b.count; ++i) {
      const ReceivedMessage& m = b.messages[i];
      const int g = std::atoi(m.message_group_id.c_str() + 1);
      const int idx = std::atoi(m.body.c_str() + m.body.find(':') + 1);
      if (g == prev_group) {
        if (idx != prev_index + 1) {
          violation(sh, "group " + std::to_string(g) + ": " + std::to_string(idx) + " follows " +
                            std::to_string(prev_index) + " in one batch");
        }
      } else {
        // The first message of a group in this batch is the first one not yet deleted.
        const int lo = sh->lo[g].load();
        const int hi = sh->hi[g].load();
        if (idx < lo || idx > hi) {
          violation(sh, "group " + std::to_string(g) + ": received " + std::to_string(idx) +
                            " while [" + std::to_string(lo) + ", " + std::to_string(hi) +
                            "] was acknowledged");
        }
      }
      prev_group = g;
      prev_index = idx;
      sh->delivered[g][idx].store(1);
      sh->hi[g].store(std::max(sh->hi[g].load(), idx + 1));
      auto d = q->delete_message(m.receipt_handle);
      if (!d) {
        // Our lease ran out (a slow process): the message comes back to someone; stop this
        // batch, as every later message of the group depends on this one.
        break;
      }
      sh->lo[g].store(std::max(sh->lo[g].load(), idx + 1));
    }
    // Pace the consumers (20 ms per batch, about 2,000 messages/s for four) so that the run
    // spans many kills, mid-batch among them.
    std::this_thread::sleep_for(20ms);
  }
  return 0;
}

int produce(const QueueLocation& w, int p, Shared* sh) {
  auto q = Queue::open(w);
  if (!q) return 2;
  for (int i = 0; i < kPerGroup; ++i) {
    for (int k = 0; k < kGroupsPerProducer; ++k) {
      const int g = p * kGroupsPerProducer + k;
      const std::string group = "g" + std::to_string(g);
      const std::string body = group + ":" + std::to_string(i);
      SendRequest r;
      r.body = body;
      r.message_group_id = group;
      r.message_deduplication_id = body;
      for (int attempt = 0;; ++attempt) {
        auto s = q->send(r);
        if (s) break;
        if (s.error().code != ErrorCode::kQueueFull || attempt > 100000) return 3;
        std::this_thread::sleep_for(1ms);
      }
    }
  }
  sh->producers_finished.fetch_add(1);
  return 0;
}

TEST(FifoMultiProcessTest, OrderAndGroupLocksHoldWhileConsumersAreKilled) {
  test::TempShmRoot root;
  QueueLocation w;
  w.shm_root = root.path();
  w.name = "mp.fifo";
  QueueAttributes a;
  a.fifo_queue = true;
  a.visibility_timeout_s = 2;
  a.capacity_messages = 4096;
  a.capacity_bytes = 16u << 20;
  auto q = Queue::create(w, a);
  ASSERT_TRUE(q) << q.error().message;
  Shared* sh = map_shared();
  ASSERT_NE(sh, nullptr);

  std::vector<pid_t> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.push_back(test::spawn([w, p, sh] { return produce(w, p, sh); }));
  }
  std::vector<pid_t> consumers;
  for (int c = 0; c < kConsumers; ++c) {
    consumers.push_back(test::spawn([w, sh] { return consume(w, sh); }));
  }
  std::mt19937 rng(12345);
  int kills = 0;
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  auto drained = [&] {
    if (sh->producers_finished.load() < kProducers) return false;
    const QueueCounts c = q->counts();
    return c.visible + c.in_flight + c.delayed == 0;
  };
  while (!drained() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 200));
    if (kills < 25) {
      const size_t victim = rng() % consumers.size();
      (void)::kill(consumers[victim], SIGKILL);
      (void)test::wait_for(consumers[victim], 10s);
      consumers[victim] = test::spawn([w, sh] { return consume(w, sh); });
      ++kills;
    }
  }
  sh->done.store(true);
  for (pid_t p : producers) {
    const int st = test::wait_for(p, 30s);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "producer: " << st;
  }
  for (pid_t c : consumers) {
    const int st = test::wait_for(c, 30s);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "consumer: " << st;
  }
  EXPECT_EQ(sh->violations.load(), 0) << sh->first_violation;
  int missing = 0;
  for (int g = 0; g < kGroups; ++g) {
    for (int i = 0; i < kPerGroup; ++i) {
      if (sh->delivered[g][i].load() == 0) {
        ADD_FAILURE_AT(__FILE__, __LINE__) << "message g" << g << ":" << i << " never delivered";
        if (++missing > 10) break;
      }
    }
    // The group's last message was received and its delete attempted.
    EXPECT_EQ(sh->hi[g].load(), kPerGroup) << "group " << g;
  }
  EXPECT_EQ(missing, 0) << "after " << kills << " kills";
  const QueueCounts c = q->counts();
  EXPECT_EQ(c.visible + c.in_flight + c.delayed, 0u);
  EXPECT_GE(kills, 10) << "too few kills happened during the traffic";
  RecordProperty("consumer_kills", kills);
}

#if defined(LQS_CRASH_POINTS)
// A FIFO queue of 64 slots, and a child process killed at a named crash point.
class FifoCrashPointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    w_.shm_root = root_.path();
    w_.name = "release.fifo";
    QueueAttributes a;
    a.fifo_queue = true;
    a.capacity_messages = 64;
    a.capacity_bytes = 4u << 20;
    auto q = Queue::create(w_, a);
    ASSERT_TRUE(q);
    q_.emplace(std::move(q).value());
  }
  static Result<SendResult> send(Queue& to, const std::string& body, const std::string& group) {
    SendRequest r;
    r.body = body;
    r.message_group_id = group;
    r.message_deduplication_id = body;
    return to.send(r);
  }
  static ReceiveOptions opts(int max, std::optional<int> visibility_s = std::nullopt) {
    ReceiveOptions o;
    o.max_number_of_messages = max;
    o.wait_time_s = 0;
    o.visibility_timeout_s = visibility_s;
    return o;
  }
  // Receives and deletes everything, one message at a time; the bodies per group in order.
  std::map<std::string, std::vector<std::string>> drain_all() {
    std::map<std::string, std::vector<std::string>> got;
    for (int n = 0; n < 1000; ++n) {
      ReceiveBatch b;
      EXPECT_TRUE(q_->receive(b, opts(1)));
      if (b.count == 0) break;
      got[b.messages[0].message_group_id].push_back(b.messages[0].body);
      EXPECT_TRUE(q_->delete_message(b.messages[0].receipt_handle));
    }
    return got;
  }
  // Sends 40 messages to group "R" (reusing every free slot, the repaired one included).
  void refill() {
    for (int i = 0; i < 40; ++i) ASSERT_TRUE(send(*q_, "r" + std::to_string(i), "R"));
  }
  static std::vector<std::string> refilled() {
    std::vector<std::string> v;
    for (int i = 0; i < 40; ++i) v.push_back("r" + std::to_string(i));
    return v;
  }
  // After `child` was SIGKILLed inside a delete of m1 (group "G", followed by m2): recover()
  // completes the delete, 40 sends to group "R" reuse the freed slot, and, `wait` later,
  // everything is delivered once, in order: m2 alone for "G" (m1 was deleted: never again).
  void expect_delete_completed(pid_t child, std::chrono::milliseconds wait) {
    const int st = test::wait_for(child, 30s);
    ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) << st;
    const RecoveryReport r = q_->recover();
    EXPECT_GE(r.deletes_completed, 1u);
    refill();
    std::this_thread::sleep_for(wait);
    auto got = drain_all();
    EXPECT_EQ(got["G"], std::vector<std::string>{"m2"});
    EXPECT_EQ(got["R"], refilled());
    const QueueCounts c = q_->counts();
    EXPECT_EQ(c.visible + c.in_flight + c.delayed, 0u);
    EXPECT_TRUE(q_->fsck().empty());
  }

  test::TempShmRoot root_;
  QueueLocation w_;
  std::optional<Queue> q_;
};

// A producer killed holding the FIFO index mutex, after linking its message but before
// making it READY: the next process to lock gets EOWNERDEAD and rebuilds the index from the
// slots. The unacknowledged send is not delivered; everything else is, in order.
TEST_F(FifoCrashPointTest, AProcessKilledHoldingTheIndexMutexIsRepaired) {
  ASSERT_TRUE(send(*q_, "m1", "G"));
  const QueueLocation w = w_;
  const pid_t child = test::spawn([w] {
    setenv("LQS_CRASH_AT", "fifo.send.after_link:1", 1);
    auto c = Queue::open(w);
    if (!c) return 2;
    (void)send(*c, "lost", "G");
    return 3;  // not reached
  });
  const int st = test::wait_for(child, 30s);
  ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) << st;
  ASSERT_TRUE(send(*q_, "m2", "G"));  // locks: EOWNERDEAD, rebuild
  (void)q_->recover();                // frees the dead writer's slot
  ReceiveBatch b;
  ASSERT_TRUE(q_->receive(b, opts(10)));
  ASSERT_EQ(b.count, 2u);
  EXPECT_EQ(b.messages[0].body, "m1");
  EXPECT_EQ(b.messages[1].body, "m2");
  for (size_t i = 0; i < b.count; ++i) {
    ASSERT_TRUE(q_->delete_message(b.messages[i].receipt_handle));
  }
  ASSERT_TRUE(send(*q_, "m3", "G"));
  ASSERT_TRUE(q_->receive(b, opts(10)));
  ASSERT_EQ(b.count, 1u);
  EXPECT_EQ(b.messages[0].body, "m3");
  EXPECT_TRUE(q_->fsck().empty());
}

// The two crash windows of a delete through the release ring (Impl::fifo_delete_slot):
// killed after marking the slot DELETING but before posting it, the slot stays linked in its
// group until recover() (or a full sweep) unlinks and frees it; killed after the drain
// unlinked it but before freeing it, recover() frees it. Either way the deleted message is
// never delivered again, the rest of the group follows in order, and the freed slot can be
// reused by another group without corrupting either list.
TEST_F(FifoCrashPointTest, KilledAfterMarkingBeforePostingIsCompletedByRecover) {
  ASSERT_TRUE(send(*q_, "m1", "G"));
  ASSERT_TRUE(send(*q_, "m2", "G"));
  const QueueLocation w = w_;
  const pid_t child = test::spawn([w] {
    setenv("LQS_CRASH_AT", "fifo.delete.after_mark:1", 1);
    auto c = Queue::open(w);
    if (!c) return 2;
    ReceiveBatch b;
    if (!c->receive(b, opts(1, 300)) || b.count != 1 || b.messages[0].body != "m1") return 4;
    (void)c->delete_message(b.messages[0].receipt_handle);
    return 3;  // not reached
  });
  expect_delete_completed(child, 0ms);
}

TEST_F(FifoCrashPointTest, KilledBetweenTheDrainsUnlinkAndTheFreeIsCompletedByRecover) {
  ASSERT_TRUE(send(*q_, "m1", "G"));
  ASSERT_TRUE(send(*q_, "m2", "G"));
  {
    ReceiveBatch b;
    ASSERT_TRUE(q_->receive(b, opts(1)));
    ASSERT_EQ(b.count, 1u);
    ASSERT_EQ(b.messages[0].body, "m1");
    ASSERT_TRUE(q_->delete_message(b.messages[0].receipt_handle));  // posted, not yet freed
  }
  const QueueLocation w = w_;
  const pid_t child = test::spawn([w] {
    setenv("LQS_CRASH_AT", "fifo.drain.after_unlock:1", 1);
    auto c = Queue::open_without_recovery(w);  // recover() would complete m1's delete itself
    if (!c) return 2;
    ReceiveBatch b;
    (void)c->receive(b, opts(1, 1));  // drains m1's delete, leases m2, is killed after the unlock
    return 3;                         // not reached
  });
  expect_delete_completed(child, 1200ms);  // the dead child's lease on m2 runs out first
}
#endif

}  // namespace
}  // namespace lqs
