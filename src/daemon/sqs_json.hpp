// Copyright lqs authors. The control-plane actions of the SQS API in the AWS JSON 1.0 protocol
// (`X-Amz-Target: AmazonSQS.<Action>`, SQS_REFERENCE.md §5.1), over lqsd's registry and move
// tasks: CreateQueue, GetQueueUrl, ListQueues, DeleteQueue, GetQueueAttributes,
// SetQueueAttributes, PurgeQueue, TagQueue, UntagQueue, ListQueueTags,
// ListDeadLetterSourceQueues, AddPermission, RemovePermission, StartMessageMoveTask,
// CancelMessageMoveTask, ListMessageMoveTasks. Errors as SQS sends them: `__type` and
// `message` in the body, the legacy code in `x-amzn-query-error`, SQS's HTTP status.
// The message actions (SendMessage, ReceiveMessage, ...) and the Query protocol are not
// served yet: they answer UnsupportedOperation (issue 5).
#ifndef LQS_DAEMON_SQS_JSON_HPP_
#define LQS_DAEMON_SQS_JSON_HPP_

#include "daemon/move_tasks.hpp"
#include "daemon/registry.hpp"
#include "http/server.hpp"

#include <functional>
#include <mutex>

namespace lqs::daemon {

class SqsJsonApi {
 public:
  /// `now_ms` gives the time for move tasks; `tasks_mu` guards `tasks` (shared with the
  /// daemon's loop, which steps them).
  SqsJsonApi(Registry& registry, MoveTasks& tasks, std::mutex& tasks_mu,
             std::function<int64_t()> now_ms)
      : registry_(registry), tasks_(tasks), tasks_mu_(tasks_mu), now_ms_(std::move(now_ms)) {}

  /// True if `r` is an SQS JSON request (POST with X-Amz-Target: AmazonSQS.*).
  static bool accepts(const http::Request& r);
  http::Response handle(const http::Request& r);

 private:
  Registry& registry_;
  MoveTasks& tasks_;
  std::mutex& tasks_mu_;
  std::function<int64_t()> now_ms_;
};

}  // namespace lqs::daemon

#endif  // LQS_DAEMON_SQS_JSON_HPP_
