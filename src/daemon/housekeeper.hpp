// Copyright lqs authors. The daemon's housekeeping agent: proactively does what the next
// receive would otherwise do, so queues nobody polls still expire leases, promote due delays
// and drop messages past their retention, and what dead processes left behind is repaired.
//
// One agent covers the lease reaper, delay promotion and retention expiry: the engine does
// all three in one pass over a queue's slots (Queue::recover(), whose cost is one scan of the
// slot table plus /proc reads only for slots held by a writer). do_work(now) runs a pass over
// every queue when `now` has reached the next due time, so tests step it with a fake clock
// (the queues' own clock is the registry's, injected through Instance::clock).
//
// A CPU budget: a pass over a queue costs one scan of its slot table and its arena, ~48 ms
// for a queue of 4,194,304 slots (an idle lqsd with one such queue used 4.8 % of a core at a
// pass per second). So a queue is passed over again only after the interval or after
// kBudgetFactor times its last pass's wall time, whichever is longer: at most ~1 % of a core
// per queue, and small queues (a pass of microseconds) every interval as before. What a
// deferred pass would have done waits, and nothing is lost: a receive never returns a
// message past its retention or a leased one, expires leases itself (its sweep steps and the
// timer lanes), and attach repairs what a dead process left.
#ifndef LQS_DAEMON_HOUSEKEEPER_HPP_
#define LQS_DAEMON_HOUSEKEEPER_HPP_

#include "daemon/registry.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

namespace lqs::daemon {

struct HousekeepingReport {
  uint64_t passes = 0;  ///< 0 when do_work found nothing due
  uint64_t queues = 0;
  uint64_t leases_expired = 0;  ///< leases and delays made visible
  uint64_t retention_expired = 0;
  uint64_t dead_writers_reclaimed = 0;
  uint64_t deletes_completed = 0;
  uint64_t chunks_reclaimed = 0;
  uint64_t dead_waiters_reaped = 0;
  uint64_t dedup_records_expired = 0;  ///< FIFO deduplication records past their 5 minutes
  uint64_t fifo_groups_requeued = 0;   ///< FIFO groups whose wake-up a dead process lost
  uint64_t queues_deferred = 0;        ///< not due yet: their last pass was long (the CPU budget)
};

class Housekeeper {
 public:
  /// A queue's next pass waits at least this many times its last pass's wall time.
  static constexpr int64_t kBudgetFactor = 100;

  explicit Housekeeper(Registry& registry, int64_t interval_ms = 1000,
                       int64_t budget_factor = kBudgetFactor) noexcept
      : registry_(registry), interval_ms_(interval_ms), budget_factor_(budget_factor) {}

  /// If `now_ms` (Unix ms) is at or past the next due time, passes over every queue that is
  /// due itself (every queue, unless the budget deferred it).
  HousekeepingReport do_work(int64_t now_ms);
  int64_t next_due_ms() const noexcept { return next_due_ms_; }

 private:
  Registry& registry_;
  int64_t interval_ms_;
  int64_t budget_factor_;
  int64_t next_due_ms_ = 0;
  // Per queue: when its next pass is due (absent: now), and for which queue object: a queue
  // deleted and created again under its name is a new object, due at once. Entries of deleted
  // queues are dropped at the next pass.
  struct Due {
    std::weak_ptr<Queue> queue;
    int64_t at_ms = 0;
  };
  std::unordered_map<std::string, Due> queue_due_;
};

}  // namespace lqs::daemon

#endif  // LQS_DAEMON_HOUSEKEEPER_HPP_
