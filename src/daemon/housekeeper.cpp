// Copyright lqs authors.
#include "daemon/housekeeper.hpp"

namespace lqs::daemon {

HousekeepingReport Housekeeper::do_work(int64_t now_ms) {
  HousekeepingReport out;
  if (now_ms < next_due_ms_) {
    return out;
  }
  next_due_ms_ = now_ms + interval_ms_;
  out.passes = 1;
  for (const std::string& name : registry_.queue_names()) {
    // Outside the registry's lock: a sweep of a large queue takes milliseconds, and the HTTP
    // thread takes that lock on every request. A queue deleted meanwhile is skipped (or
    // swept once more through the mapping we hold, which is harmless).
    const std::shared_ptr<Queue> q = registry_.queue(name);
    if (q) {
      const RecoveryReport r = q->recover();
      ++out.queues;
      out.leases_expired += r.leases_expired;
      out.retention_expired += r.retention_expired;
      out.dead_writers_reclaimed += r.dead_writers_reclaimed;
      out.deletes_completed += r.deletes_completed;
      out.chunks_reclaimed += r.chunks_reclaimed;
      out.dead_waiters_reaped += r.dead_waiters_reaped;
      out.dedup_records_expired += r.dedup_records_expired;
      out.fifo_groups_requeued += r.fifo_groups_requeued;
    }
  }
  return out;
}

}  // namespace lqs::daemon
