// Copyright lqs authors. lqsd's LongPoller with real queues in a temporary shm root: polls on
// several queues held by its one thread, answered by sends from other threads in arrival
// order, at their deadline when nothing comes, with errors, and all at once by stop(). Runs
// under TSan too (label "threads").
#include "daemon/long_poll.hpp"

#include "support/test_support.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace lqs::daemon {
namespace {

using namespace std::chrono_literals;

class LongPollTest : public ::testing::Test {
 protected:
  std::shared_ptr<Queue> make(const std::string& name) {
    QueueLocation w;
    w.shm_root = root_.path();
    w.name = name;
    QueueAttributes a;
    a.capacity_messages = 256;
    a.capacity_bytes = 4u << 20;
    auto q = Queue::create(w, a);
    EXPECT_TRUE(q) << q.error().message;
    return std::make_shared<Queue>(std::move(q).value());
  }
  static void send(Queue& q, const std::string& body) {
    SendRequest r;
    r.body = body;
    ASSERT_TRUE(q.send(r));
  }
  test::TempShmRoot root_;
};

struct Answers {
  std::mutex mu;
  std::vector<std::string> got;  // "poll:body" or "poll:empty"
  std::atomic<int> n{0};
  LongPoller::Done done_for(int poll) {
    return [this, poll](Result<void> status, ReceiveBatch& b) {
      std::lock_guard lock(mu);
      if (!status) {
        got.push_back(std::to_string(poll) + ":error");
      } else if (b.count == 0) {
        got.push_back(std::to_string(poll) + ":empty");
      } else {
        got.push_back(std::to_string(poll) + ":" + b.messages[0].body);
      }
      n.fetch_add(1);
    };
  }
  bool wait_for(int count, std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (n.load() < count && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(1ms);
    }
    return n.load() >= count;
  }
};

TEST_F(LongPollTest, SendsFromOtherThreadsAnswerWaitingPollsInArrivalOrder) {
  auto a = make("a");
  auto b = make("b");
  LongPoller poller;
  Answers ans;
  ReceiveOptions o;
  for (int i = 0; i < 3; ++i) {
    poller.submit(a, o, 10s, ans.done_for(i));
  }
  poller.submit(b, o, 10s, ans.done_for(9));
  for (int i = 0; i < 500 && poller.pending() < 4; ++i) std::this_thread::sleep_for(1ms);
  ASSERT_EQ(poller.pending(), 4u);
  std::thread producer([&] {
    send(*b, "b1");
    send(*a, "a1");
    send(*a, "a2");
  });
  producer.join();
  ASSERT_TRUE(ans.wait_for(3, 5s));
  {
    std::lock_guard lock(ans.mu);
    // Poll 0 is the oldest on a: it gets a's first message, poll 1 the second.
    EXPECT_NE(std::find(ans.got.begin(), ans.got.end(), "0:a1"), ans.got.end());
    EXPECT_NE(std::find(ans.got.begin(), ans.got.end(), "1:a2"), ans.got.end());
    EXPECT_NE(std::find(ans.got.begin(), ans.got.end(), "9:b1"), ans.got.end());
  }
  EXPECT_EQ(poller.pending(), 1u);  // poll 2 still waits
  poller.stop();                    // answers it, empty
  ASSERT_TRUE(ans.wait_for(4, 1s));
  std::lock_guard lock(ans.mu);
  EXPECT_EQ(ans.got.back(), "2:empty");
}

TEST_F(LongPollTest, DeadlinesAnswerEmptyAndSubmitAfterStopAnswersAtOnce) {
  auto a = make("a");
  LongPoller poller;
  Answers ans;
  ReceiveOptions o;
  const auto t0 = std::chrono::steady_clock::now();
  poller.submit(a, o, 100ms, ans.done_for(1));
  ASSERT_TRUE(ans.wait_for(1, 5s));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 100ms);
  {
    std::lock_guard lock(ans.mu);
    EXPECT_EQ(ans.got[0], "1:empty");
  }
  // An invalid option is the receive's error, given to the poll.
  ReceiveOptions bad;
  bad.max_number_of_messages = 11;
  poller.submit(a, bad, 1s, ans.done_for(2));
  ASSERT_TRUE(ans.wait_for(2, 5s));
  poller.stop();
  poller.submit(a, o, 10s, ans.done_for(3));
  ASSERT_TRUE(ans.wait_for(3, 1s));
  std::lock_guard lock(ans.mu);
  EXPECT_EQ(ans.got[1], "2:error");
  EXPECT_EQ(ans.got[2], "3:empty");
}

TEST_F(LongPollTest, ManyPollsOnManyQueuesFromManyThreads) {
  constexpr int kQueues = 150;  // more than one futex_waitv can watch (128)
  std::vector<std::shared_ptr<Queue>> qs;
  for (int i = 0; i < kQueues; ++i) qs.push_back(make("q" + std::to_string(i)));
  LongPoller poller;
  Answers ans;
  ReceiveOptions o;
  for (int i = 0; i < kQueues; ++i) poller.submit(qs[i], o, 20s, ans.done_for(i));
  for (int i = 0; i < 1000 && poller.pending() < kQueues; ++i) std::this_thread::sleep_for(1ms);
  std::vector<std::thread> producers;
  for (int t = 0; t < 3; ++t) {
    producers.emplace_back([&, t] {
      for (int i = t; i < kQueues; i += 3) send(*qs[i], "m" + std::to_string(i));
    });
  }
  for (auto& p : producers) p.join();
  ASSERT_TRUE(ans.wait_for(kQueues, 10s)) << ans.n.load() << " of " << kQueues;
  std::lock_guard lock(ans.mu);
  for (const std::string& g : ans.got) {
    const auto colon = g.find(':');
    EXPECT_EQ(g.substr(colon + 1), "m" + g.substr(0, colon));
  }
}

}  // namespace
}  // namespace lqs::daemon
