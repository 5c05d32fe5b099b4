// Copyright lqs authors. Message move tasks (StartMessageMoveTask, CancelMessageMoveTask,
// ListMessageMoveTasks): redrive the messages of a dead-letter queue back to the queues they
// came from, or to a given destination, at a bounded rate. do_work(now) moves what the rate
// allows, so tests step it with a fake clock.
//
// A move is receive (lease) from the source → send a new message (new MessageId and
// timestamps, as SQS does; body, attributes, group id and trace header kept) → delete from
// the source. Crash table: the daemon killed after the send, before the delete → the lease
// expires and the message is in both queues (a duplicate, never a loss).
//
// Persistence: with a state file (lqsd: `<data_dir>/move_tasks.json`), every task is written
// there (atomically) when it starts, changes status or is cancelled, and its progress at most
// once a second; a restarted lqsd loads the file and resumes the RUNNING tasks where their
// counts left off (a kill between saves makes "moved" under-count by at most a second's worth;
// no message is moved twice by that, as each move deletes what it moved). A RUNNING task whose
// source queue is gone after the restart becomes FAILED with SQS's NonExistentQueue reason.
#ifndef LQS_DAEMON_MOVE_TASKS_HPP_
#define LQS_DAEMON_MOVE_TASKS_HPP_

#include "daemon/registry.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lqs::daemon {

struct MoveTaskInfo {
  std::string task_handle;  ///< set only while RUNNING
  std::string status;       ///< RUNNING | COMPLETED | CANCELLED | FAILED
  std::string source_arn;
  std::string destination_arn;                     ///< empty: each message's source
  std::optional<int32_t> max_messages_per_second;  ///< as given
  uint64_t approximate_messages_moved = 0;
  uint64_t approximate_messages_to_move = 0;  ///< visible in the source at the start
  std::string failure_reason;
  int64_t started_timestamp_ms = 0;
};

class MoveTasks {
 public:
  /// `state_file` empty: tasks live in memory only. Otherwise load() reads it.
  explicit MoveTasks(Registry& registry, std::string state_file = {});
  /// Loads the state file (missing: no task). Errors: kCorruption (unreadable file).
  Result<void> load(int64_t now_ms);
  ~MoveTasks();
  MoveTasks(const MoveTasks&) = delete;
  MoveTasks& operator=(const MoveTasks&) = delete;

  /// StartMessageMoveTask; returns the TaskHandle. Errors: kResourceNotFound (source or
  /// destination), kInvalidParameterValue (not a dead-letter queue, rate outside 1..500, a
  /// task already running for the source).
  Result<std::string> start(std::string_view source_arn, std::string_view destination_arn,
                            std::optional<int32_t> max_messages_per_second, int64_t now_ms);
  /// CancelMessageMoveTask; returns the number of messages moved so far. Errors:
  /// kInvalidParameterValue (malformed handle, task not running), kResourceNotFound.
  Result<uint64_t> cancel(std::string_view task_handle);
  /// ListMessageMoveTasks: the most recent tasks of a source first; max_results 1..10
  /// (default 1). Errors: kResourceNotFound, kInvalidParameterValue.
  Result<std::vector<MoveTaskInfo>> list(std::string_view source_arn,
                                         std::optional<int32_t> max_results) const;
  /// Moves what every running task's rate allows by `now_ms`. Returns messages moved.
  uint64_t do_work(int64_t now_ms);

 private:
  struct Task;
  void save(int64_t now_ms, bool force);
  Registry& registry_;
  std::string state_file_;
  int64_t saved_ms_ = 0;
  uint64_t next_id_ = 1;
  std::vector<std::unique_ptr<Task>> tasks_;  // in start order
};

}  // namespace lqs::daemon

#endif  // LQS_DAEMON_MOVE_TASKS_HPP_
