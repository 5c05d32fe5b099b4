// Copyright lqs authors. The daemon's housekeeping agent: proactively does what the next
// receive would otherwise do, so queues nobody polls still expire leases, promote due delays
// and drop messages past their retention, and what dead processes left behind is repaired.
//
// One agent covers the lease reaper, delay promotion and retention expiry: the engine does
// all three in one pass over a queue's slots (Queue::recover(), whose cost is one scan of the
// slot table plus /proc reads only for slots held by a writer). do_work(now) runs a pass over
// every queue when `now` has reached the next due time, so tests step it with a fake clock
// (the queues' own clock is the registry's, injected through Instance::clock).
#ifndef LQS_DAEMON_HOUSEKEEPER_HPP_
#define LQS_DAEMON_HOUSEKEEPER_HPP_

#include "daemon/registry.hpp"

#include <cstdint>

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
};

class Housekeeper {
 public:
  explicit Housekeeper(Registry& registry, int64_t interval_ms = 1000) noexcept
      : registry_(registry), interval_ms_(interval_ms) {}

  /// Runs one pass over every queue if `now_ms` (Unix ms) is at or past the next due time.
  HousekeepingReport do_work(int64_t now_ms);
  int64_t next_due_ms() const noexcept { return next_due_ms_; }

 private:
  Registry& registry_;
  int64_t interval_ms_;
  int64_t next_due_ms_ = 0;
};

}  // namespace lqs::daemon

#endif  // LQS_DAEMON_HOUSEKEEPER_HPP_
