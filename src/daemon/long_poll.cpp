// Copyright lqs authors.
#include "daemon/long_poll.hpp"

#include "common/futex.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

namespace lqs::daemon {
namespace {

constexpr size_t kMaxWaitWords = 128;  // the kernel's limit for one futex_waitv
constexpr int64_t kOverflowPollNs = 2'000'000;

// Waits until one of `words` differs from its value or is woken, or `timeout_ns` passes.
// Process-shared futexes (no FUTEX_PRIVATE_FLAG): the queues' words live in shared segments.
void wait_any(std::span<struct futex_waitv> words, int64_t timeout_ns) {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  const int64_t end = static_cast<int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec + timeout_ns;
  timespec deadline{};
  deadline.tv_sec = end / 1'000'000'000;
  deadline.tv_nsec = end % 1'000'000'000;
  const long rc = ::syscall(SYS_futex_waitv, words.data(), static_cast<unsigned>(words.size()), 0U,
                            &deadline, CLOCK_MONOTONIC);
  if (rc < 0 && errno == ENOSYS) {
    // Kernels before 5.16: nap and re-check (the callers poll).
    timespec nap{0, static_cast<long>(std::min<int64_t>(timeout_ns, kOverflowPollNs))};
    ::nanosleep(&nap, nullptr);
  }
}

struct futex_waitv word_of(const std::atomic<uint32_t>* word, uint32_t value) {
  struct futex_waitv w {};
  w.val = value;
  w.uaddr = reinterpret_cast<uintptr_t>(word);
  w.flags = FUTEX_32;
  return w;
}

}  // namespace

LongPoller::LongPoller() : thread_([this] { run(); }) {}

LongPoller::~LongPoller() { stop(); }

void LongPoller::submit(std::shared_ptr<Queue> queue, ReceiveOptions options,
                        std::chrono::milliseconds wait, Done done) {
  options.wait_time_s = 0;
  Poll p{std::move(queue), std::move(options), std::chrono::steady_clock::now() + wait,
         std::move(done)};
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      incoming_.push_back(std::move(p));
      pending_.fetch_add(1, std::memory_order_relaxed);
      p.done = nullptr;
    }
  }
  if (p.done) {  // stopped: answer at once, empty
    ReceiveBatch empty;
    p.done({}, empty);
    return;
  }
  // release: pairs with the acquire load at the top of run()'s loop; the mutex already orders
  // incoming_, the word only has to change so that a parked poller returns.
  kick_.fetch_add(1, std::memory_order_release);
  common::futex_wake(&kick_, 1);
}

void LongPoller::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      return;
    }
    stopping_ = true;
  }
  kick_.fetch_add(1, std::memory_order_release);
  common::futex_wake(&kick_, 1);
  if (thread_.joinable()) {
    thread_.join();
  }
}

size_t LongPoller::pending() const { return pending_.load(std::memory_order_relaxed); }

void LongPoller::run() {
  std::vector<Poll> polls;  // arrival order
  ReceiveBatch batch;
  std::vector<std::shared_ptr<Queue>> queues;  // held until disarmed
  std::vector<Queue::Wakeup> wakeups;
  std::vector<struct futex_waitv> words;
  for (;;) {
    // acquire: pairs with submit()'s release; read before taking the new polls, so a submit
    // after this point changes the word and the wait below returns at once.
    const uint32_t kick = kick_.load(std::memory_order_acquire);
    bool stopping = false;
    {
      std::lock_guard lock(mu_);
      for (Poll& p : incoming_) {
        polls.push_back(std::move(p));
      }
      incoming_.clear();
      stopping = stopping_;
    }
    if (stopping) {
      for (Poll& p : polls) {
        batch.count = 0;
        p.done({}, batch);
      }
      pending_.store(0, std::memory_order_relaxed);
      return;
    }

    // Arm every queue that has polls, then re-check each: a send after the arm wakes us.
    queues.clear();
    for (const Poll& p : polls) {
      if (std::none_of(queues.begin(), queues.end(),
                       [&](const auto& q) { return q.get() == p.queue.get(); })) {
        queues.push_back(p.queue);
      }
    }
    wakeups.clear();
    for (const auto& q : queues) {
      wakeups.push_back(q->arm_wakeup());
    }
    for (const auto& q : queues) {
      // Serve this queue's polls, oldest first, until one finds it empty.
      for (Poll& p : polls) {
        if (p.queue != q || !p.done) {
          continue;
        }
        batch.count = 0;
        auto r = p.queue->receive(batch, p.options);
        if (!r || batch.count > 0) {
          p.done(std::move(r), batch);
          p.done = nullptr;
          continue;
        }
        break;
      }
    }
    // Answer the polls whose wait is over.
    const auto now = std::chrono::steady_clock::now();
    int64_t sleep_ns = 1'000'000'000;
    for (Poll& p : polls) {
      if (!p.done) {
        continue;
      }
      if (p.deadline <= now) {
        batch.count = 0;
        p.done({}, batch);
        p.done = nullptr;
        continue;
      }
      sleep_ns = std::min<int64_t>(
          sleep_ns, std::chrono::duration_cast<std::chrono::nanoseconds>(p.deadline - now).count());
    }
    const size_t before = polls.size();
    std::erase_if(polls, [](const Poll& p) { return !p.done; });
    pending_.fetch_sub(before - polls.size(), std::memory_order_relaxed);

    // Wait on our kick word and the words of the queues that still have polls.
    words.clear();
    words.push_back(word_of(&kick_, kick));
    for (size_t i = 0; i < queues.size(); ++i) {
      const bool waiting = std::any_of(polls.begin(), polls.end(),
                                       [&](const Poll& p) { return p.queue == queues[i]; });
      if (!waiting) {
        continue;
      }
      sleep_ns = std::min(sleep_ns, wakeups[i].max_sleep_ns);
      if (words.size() < kMaxWaitWords) {
        words.push_back(word_of(wakeups[i].word, wakeups[i].value));
      } else {
        sleep_ns = std::min(sleep_ns, kOverflowPollNs);
      }
    }
    if (sleep_ns > 0) {
      wait_any(words, sleep_ns);
    }
    for (size_t i = 0; i < queues.size(); ++i) {
      queues[i]->disarm_wakeup(wakeups[i]);
    }
  }
}

}  // namespace lqs::daemon
