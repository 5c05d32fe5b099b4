// Copyright lqs authors. lqsd's durability agent: drains the journal of every durable queue
// (LqsDurability async or sync) into one write-ahead log, with group commit, publishes the
// durable position that sync senders wait on, takes snapshots and checkpoints, and after a
// reboot restores every queue's messages from the log. Format of the log's records and the
// replay rules: src/durability/FORMAT.md ("lqsd's records").
//
// One pass (do_work):
//  1. Attach to new durable queues (Queue::journal_attach) and forget deleted ones (a
//     kQueueGone record).
//  2. A queue whose overflow flag is raised (events were lost: full journal, lqsd absent, a
//     dead producer's cell skipped, or the queue just became durable), or that the log does
//     not know yet, is drained and then snapshotted: kSnapBegin, one kSnapMessage per live
//     message, kSnapEnd. On replay a complete snapshot replaces the queue's state. A long scan
//     does not stop the journals: when one is a quarter full, every journal's events are
//     logged in the middle of the snapshot and committed (heads advance, sync senders are
//     answered); replay applies events inside a snapshot to the queue's state and to the
//     snapshot being built (the scan may have copied a message before its delete, or not yet
//     reached one sent meanwhile), and no send read during the scan is remembered as skipped.
//  3. Every journal is read from its head; each event becomes one record.
//  4. One commit (write + fdatasync) covers every record of the pass: group commit.
//  5. Each journal's head advances to what was read (Queue::journal_commit): cells are freed
//     and sync senders woken.
//  6. When the log written since the last checkpoint reaches checkpoint_bytes, and twice
//     what that checkpoint wrote: every durable queue is snapshotted, a kCheckpoint record
//     committed, and the log files before the checkpoint's first record removed. (The second
//     bound keeps queues with a large backlog from snapshotting it over and over: a
//     checkpoint's snapshots are at most half the log between checkpoints.)
//
// Crash table (lqsd SIGKILLed; the shm root survives unless it says "reboot"):
//  - between reading events and the commit: the journal's head has not moved; the restarted
//    lqsd reads the same events again. Records are idempotent (a send of a MessageId the
//    queue already holds is ignored; a delete of an unknown one too).
//  - after the commit, before the heads advance: as above, the events are logged twice;
//    replaying both copies in order gives the same state.
//  - in the middle of a snapshot: the log ends with an incomplete snapshot, which replay
//    ignores (the events logged inside it were applied to the state as any others); the queue
//    is "not clean" and the restarted lqsd snapshots it again.
//  - during a checkpoint: old files are removed only after the kCheckpoint record is durable.
//  - reboot (shm root lost): the registry re-creates each queue empty from its metadata;
//    restore() replays the log and puts back every message not deleted, in order (FIFO:
//    SequenceNumbers, and deduplication records within their window: the last snapshot's
//    with the segment's hash key, then those of messages deleted since), visible, with its
//    receive count as last logged. Messages deleted, and (async) sent, since the agent's
//    last durable commit before the power loss are as that commit left them: deleted ones
//    may reappear, async sends may be missing. That span is ~max_delay_ms while the agent
//    keeps up and longer when it does not (lqs-durability-bench measures it).
#ifndef LQS_DAEMON_DURABILITY_HPP_
#define LQS_DAEMON_DURABILITY_HPP_

#include "lqs/result.hpp"

#include "daemon/registry.hpp"
#include "durability/io_backend.hpp"
#include "durability/wal.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace lqs::daemon {

struct DurabilityOptions {
  std::string wal_dir;                                ///< <data-dir>/wal
  std::string backend = "auto";                       ///< auto | io_uring | pwrite
  durability::IoBackend* backend_override = nullptr;  ///< tests: a FaultyBackend (not owned)
  uint64_t wal_file_bytes = uint64_t{64} << 20;
  /// Log written between checkpoints, at least (and at least twice the last checkpoint).
  uint64_t checkpoint_bytes = uint64_t{256} << 20;
  int64_t max_delay_ms = 10;  ///< the longest run() sleeps between passes (not a bound on an
                              ///< async event's wait when the agent cannot keep up)
  /// Tests: called in a snapshot between draining the queue's journal and scanning its slots,
  /// with the queue's name (what another process may do in that window).
  std::function<void(const std::string&)> before_snapshot_scan;
  /// Tests: called in a snapshot's scan every 1,024 messages, with the queue's name and the
  /// messages scanned so far, before the scan looks at the journals' fill.
  std::function<void(const std::string&, uint64_t)> during_snapshot_scan;
};

struct DurabilityStats {
  std::string backend;
  uint64_t durable_queues = 0;
  uint64_t events = 0;  ///< journal events read (each logged, or elided below)
  uint64_t elided = 0;  ///< deletes (and visibility changes) of messages never logged: not written
  uint64_t events_in_snapshots = 0;    ///< of `events`, read during a snapshot's scan
  uint64_t wal_bytes = 0;              ///< bytes made durable
  uint64_t syncs = 0;                  ///< write + fdatasync submissions
  uint64_t snapshots = 0;              ///< queue snapshots written
  uint64_t checkpoints = 0;            ///< checkpoints completed
  uint64_t last_checkpoint_bytes = 0;  ///< log bytes the last checkpoint wrote
  uint64_t wal_files_created = 0;      ///< log files rolled to (or created at start)
  uint64_t wal_spares_used = 0;        ///< of which a prepared spare (renamed, zero-filled aside)
  uint64_t wal_files_reused = 0;       ///< of which a released file reused (no zero-fill at all)
  uint64_t commit_errors = 0;
  uint64_t no_space_errors = 0;
  uint64_t restored_messages = 0;
  std::string last_error;
};

class DurabilityAgent {
 public:
  /// Opens the log (repairing a torn tail). If the registry re-created queues (a reboot), it
  /// replays the log for restore(); either way the first pass writes a checkpoint.
  /// Errors: kCorruption (damage in the middle of the log: lqsd refuses to start; `lqs fsck
  /// --wal` salvages), kSystem, kNoSpace.
  static Result<std::unique_ptr<DurabilityAgent>> open(Registry& registry,
                                                       const DurabilityOptions& options,
                                                       LogFn log = {});
  ~DurabilityAgent();
  DurabilityAgent(const DurabilityAgent&) = delete;
  DurabilityAgent& operator=(const DurabilityAgent&) = delete;

  /// Reboot recovery: puts back, into the queues the registry re-created empty, every message
  /// the log says they held. Returns the number of messages restored.
  Result<uint64_t> restore(const std::vector<std::string>& recreated);
  /// One pass (see above). Returns the number of journal events written. A failed commit
  /// (EIO, ENOSPC) is returned; nothing is acknowledged, and the next pass retries.
  Result<uint64_t> do_work();
  /// Writes a checkpoint now (do_work() does when checkpoint_bytes are due).
  Result<void> checkpoint();
  /// Sleeps up to `timeout_ms`, or until a sync sender rings a queue's doorbell; at once if
  /// events are pending, unless `even_if_pending` (gathering async events).
  void wait(int64_t timeout_ms, bool even_if_pending = false);
  /// The agent's thread: do_work() and wait() until `stop`, then one last pass; detaches.
  void run(const std::atomic<bool>& stop);
  DurabilityStats stats() const;

 private:
  struct Tracked;
  struct Replay;
  DurabilityAgent(Registry& registry, DurabilityOptions options, LogFn log);
  void refresh_queues();
  Result<void> snapshot_queue(Tracked& t);
  bool journal_filling() const;  // a durable queue's journal is a quarter full
  uint64_t drain_queue(Tracked& t, size_t max_events);
  Result<void> commit_pass();
  void note_error(const Error& e);
  void log(std::string_view event, const std::string& fields) const;

  Registry& registry_;
  DurabilityOptions options_;
  LogFn log_;
  std::unique_ptr<durability::IoBackend> owned_backend_;
  durability::IoBackend* backend_ = nullptr;
  std::unique_ptr<durability::Wal> wal_;
  std::map<std::string, std::unique_ptr<Tracked>, std::less<>> tracked_;
  // drain_queue()'s events, kept for their capacity (record buffers of at most
  // kKeptRecordBytes each are kept too), so that a pass allocates nothing.
  std::vector<Queue::JournalEntry> events_;
  std::unique_ptr<Replay> replay_;  // the log's state at open(), until restore() used it
  std::map<std::string, bool, std::less<>> clean_;  // queues with a complete snapshot in the log
  int64_t last_refresh_ms_ = 0;
  uint64_t bytes_at_checkpoint_ = 0;    // log bytes written when the last checkpoint ended
  uint64_t last_checkpoint_bytes_ = 0;  // what it wrote (its snapshots)
  bool failing_ = false;                // the last commit failed (journals carry its errno)
  bool startup_checkpoint_ = false;     // the next pass starts with a checkpoint
  bool sync_events_ = false;            // the last pass wrote events of a sync queue
  std::chrono::steady_clock::time_point last_sync_{};
  mutable std::mutex stats_mu_;
  DurabilityStats stats_;
};

}  // namespace lqs::daemon

#endif  // LQS_DAEMON_DURABILITY_HPP_
