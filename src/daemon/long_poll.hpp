// Copyright lqs authors. Long polls for lqsd's HTTP API: ReceiveMessage calls with a wait,
// held without a thread each. One thread owns every pending poll; it parks on the futex words
// of all queues that have polls (futex_waitv, up to 127 queues per wait) and on a word of its
// own that new polls bump, so a send from any process — over HTTP or shared memory — wakes
// it at once.
//
// Contract
//  - submit() never blocks. The poll's `done` runs exactly once, on the poller's thread: with
//    messages as soon as one is available, or with an empty batch at the deadline (an empty
//    long poll is not an error), or with the receive's error.
//  - Polls on one queue are served in arrival order: the oldest waiting poll gets the next
//    message.
//  - stop() answers every pending poll (empty) and joins the thread; submit() after stop()
//    answers at once.
//  - More than 127 queues with waiting polls: the queues beyond the first 127 are polled
//    every 2 ms instead of woken (the futex_waitv limit is 128 words).
//
// Crash table: lqsd killed while polls wait → the HTTP connections close; no message was
// leased for them (a poll leases only when it answers). A poll answered with messages whose
// connection closed before the response was written leaves those messages in flight until
// their visibility timeout, as in SQS.
#ifndef LQS_DAEMON_LONG_POLL_HPP_
#define LQS_DAEMON_LONG_POLL_HPP_

#include "lqs/queue.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace lqs::daemon {

class LongPoller {
 public:
  using Done = std::function<void(Result<void> status, ReceiveBatch& batch)>;

  LongPoller();
  ~LongPoller();
  LongPoller(const LongPoller&) = delete;
  LongPoller& operator=(const LongPoller&) = delete;

  /// Waits up to `wait` for messages on `queue`, receiving with `options` (whose wait_time_s
  /// is ignored), then calls `done`.
  void submit(std::shared_ptr<Queue> queue, ReceiveOptions options, std::chrono::milliseconds wait,
              Done done);
  /// Answers every pending poll and joins the thread. Idempotent.
  void stop();
  /// Polls waiting now (for metrics and tests).
  size_t pending() const;

 private:
  struct Poll {
    std::shared_ptr<Queue> queue;
    ReceiveOptions options;
    std::chrono::steady_clock::time_point deadline;
    Done done;
  };
  void run();

  mutable std::mutex mu_;
  std::vector<Poll> incoming_;  // guarded by mu_
  bool stopping_ = false;       // guarded by mu_
  std::atomic<size_t> pending_{0};
  // Bumped (release) by submit()/stop() and futex-woken; the poller thread waits on it
  // together with the queues' words (acquire load before its re-check).
  std::atomic<uint32_t> kick_{0};
  std::thread thread_;
};

}  // namespace lqs::daemon

#endif  // LQS_DAEMON_LONG_POLL_HPP_
