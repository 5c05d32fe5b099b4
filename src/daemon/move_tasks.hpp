// Copyright lqs authors. Message move tasks (StartMessageMoveTask, CancelMessageMoveTask,
// ListMessageMoveTasks): redrive the messages of a dead-letter queue back to the queues they
// came from, or to a given destination, at a bounded rate. do_work(now) moves what the rate
// allows, so tests step it with a fake clock.
//
// A move is receive (lease) from the source → send a new message (new MessageId and
// timestamps, as SQS does; body, attributes, group id and trace header kept) → delete from
// the source. Crash table: the daemon killed after the send, before the delete → the lease
// expires and the message is in both queues (a duplicate, never a loss). Tasks live in the
// daemon's memory: a restarted lqsd has no task (a running one simply stops; the messages not
// yet moved stay in the dead-letter queue).
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
  explicit MoveTasks(Registry& registry);
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
  Registry& registry_;
  uint64_t next_id_ = 1;
  std::vector<std::unique_ptr<Task>> tasks_;  // in start order
};

}  // namespace lqs::daemon

#endif  // LQS_DAEMON_MOVE_TASKS_HPP_
