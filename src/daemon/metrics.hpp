// Copyright lqs authors. /metrics: the registry's queues in Prometheus text format, with the
// names of CloudWatch's SQS metrics in the help text, plus figures about the lqsd process.
#ifndef LQS_DAEMON_METRICS_HPP_
#define LQS_DAEMON_METRICS_HPP_

#include "daemon/registry.hpp"

#include <cstdint>
#include <string>

namespace lqs::daemon {

/// Figures of the lqsd process that the registry does not know.
struct DaemonFigures {
  size_t long_polls_waiting = 0;  ///< ReceiveMessage calls held by the long poller
  // The durability agent (daemon/durability.hpp); absent when it is off.
  bool durability = false;
  uint64_t wal_bytes = 0;
  uint64_t wal_syncs = 0;
  uint64_t wal_events = 0;
  uint64_t wal_snapshots = 0;
  uint64_t wal_checkpoints = 0;
  uint64_t wal_files_created = 0;
  uint64_t wal_files_reused = 0;
  uint64_t wal_commit_errors = 0;
  uint64_t wal_no_space_errors = 0;
  uint64_t durable_queues = 0;
};

/// Renders every queue's gauges and counters at `now_unix_ms`, and the process figures.
std::string render_metrics(Registry& registry, int64_t now_unix_ms,
                           const DaemonFigures& daemon = {});

}  // namespace lqs::daemon

#endif  // LQS_DAEMON_METRICS_HPP_
