// Copyright lqs authors.
#include "daemon/housekeeper.hpp"

#include <algorithm>
#include <chrono>

namespace lqs::daemon {

HousekeepingReport Housekeeper::do_work(int64_t now_ms) {
  HousekeepingReport out;
  if (now_ms < next_due_ms_) {
    return out;
  }
  next_due_ms_ = now_ms + interval_ms_;
  out.passes = 1;
  std::unordered_map<std::string, Due> due;
  for (std::string& name : registry_.queue_names()) {
    // Outside the registry's lock: a sweep of a large queue takes milliseconds, and the HTTP
    // thread takes that lock on every request. A queue deleted meanwhile is skipped (or
    // swept once more through the mapping we hold, which is harmless).
    const std::shared_ptr<Queue> q = registry_.queue(name);
    if (const auto it = queue_due_.find(name);
        q && it != queue_due_.end() && now_ms < it->second.at_ms && it->second.queue.lock() == q) {
      ++out.queues_deferred;
      due.emplace(std::move(name), it->second);
      continue;
    }
    if (q) {
      // Wall time, not `now_ms` (tests step that one by hand): the pass's real cost.
      const auto start = std::chrono::steady_clock::now();
      const RecoveryReport r = q->recover();
      const int64_t took_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                  std::chrono::steady_clock::now() - start)
                                  .count();
      due.emplace(std::move(name),
                  Due{q, now_ms + std::max(interval_ms_, budget_factor_ * took_us / 1000)});
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
  queue_due_ = std::move(due);
  return out;
}

}  // namespace lqs::daemon
