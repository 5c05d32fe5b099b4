// Copyright lqs authors. The SQS API of lqsd, protocol-neutral: all 23 actions over the
// registry, the queues' shared memory, the move tasks and the long poller. Inputs and outputs
// are JSON objects shaped as in the AWS JSON 1.0 protocol (member names of the service model);
// the HTTP layer (sqs_http) decodes both wire protocols into that shape and encodes the
// results back, so every rule and error lives here once.
//
// Threading: call() runs on the HTTP server's I/O threads, several at once, and never blocks;
// it is thread-safe (the registry, the move tasks and the queues guard themselves). Every action
// but a ReceiveMessage that has to wait replies before call() returns; a waiting ReceiveMessage
// replies later from the long poller's thread.
#ifndef LQS_DAEMON_SQS_API_HPP_
#define LQS_DAEMON_SQS_API_HPP_

#include "daemon/long_poll.hpp"
#include "daemon/move_tasks.hpp"
#include "daemon/registry.hpp"

#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace lqs::daemon {

/// What a call knows about its request besides its input.
struct CallContext {
  std::string host = "localhost";  ///< the Host the client called, for queue URLs
  std::string trace_header;        ///< X-Amzn-Trace-Id, becomes AWSTraceHeader on sends
  bool query_protocol = false;     ///< some messages differ between the protocols
};

namespace messages {
struct ReceiveCall;
}  // namespace messages

using Reply = std::function<void(Result<nlohmann::json>)>;
/// An answer already written as JSON text (ReceiveMessage over the JSON protocol).
using TextReply = std::function<void(Result<std::string>)>;

class SqsApi {
 public:
  /// `now_ms` gives the time for move tasks; `tasks_mu` guards `tasks` (shared with the
  /// daemon's loop, which steps them).
  SqsApi(Registry& registry, MoveTasks& tasks, std::mutex& tasks_mu,
         std::function<int64_t()> now_ms, LongPoller& poller)
      : registry_(registry),
        tasks_(tasks),
        tasks_mu_(tasks_mu),
        now_ms_(std::move(now_ms)),
        poller_(poller) {}

  /// Runs `action` with `in`; calls `reply` exactly once (see Threading above). Errors are
  /// SQS's: kInvalidAction for an unknown action, and each action's own.
  void call(const std::string& action, const nlohmann::json& in, const CallContext& ctx,
            const Reply& reply);

  /// The same for SendMessage, SendMessageBatch and DeleteMessage over the JSON protocol,
  /// from the raw request body, when it has the common shape sqs_fast.hpp reads: the answer
  /// (a JSON body, or SQS's error). nullopt: any other action or input; use call().
  std::optional<Result<std::string>> call_fast(std::string_view action, std::string_view body,
                                               const CallContext& ctx);

  /// ReceiveMessage as call() runs it, answered as JSON text written directly (the JSON
  /// protocol's answer, byte for byte call()'s dumped): calls `reply` exactly once.
  void receive_message_text(const nlohmann::json& in, const TextReply& reply);

 private:
  // What a ReceiveMessage did: its status, the call as prepared (its renderers) and the
  // messages (none unless the status is ok). Called exactly once, maybe on the poller's thread.
  using ReceiveDone =
      std::function<void(Result<void>, const messages::ReceiveCall&, const ReceiveBatch&)>;
  void receive(const nlohmann::json& in, const ReceiveDone& done);
  Result<nlohmann::json> control(const std::string& action, const nlohmann::json& in,
                                 const CallContext& ctx);
  Result<std::shared_ptr<Queue>> queue_of(const nlohmann::json& in) const;
  /// The queue a QueueUrl names. Errors: kQueueDoesNotExist.
  Result<std::shared_ptr<Queue>> queue_at(std::string_view url) const;
  /// SendMessage(Batch), DeleteMessage(Batch), ChangeMessageVisibility(Batch): sqs_messages.hpp
  /// on the queue named by QueueUrl.
  Result<nlohmann::json> message_action(const std::string& action, const nlohmann::json& in,
                                        const CallContext& ctx);
  void receive_message(const nlohmann::json& in, const Reply& reply);
  std::string url(const CallContext& ctx, const std::string& name) const;

  Registry& registry_;
  MoveTasks& tasks_;
  std::mutex& tasks_mu_;
  std::function<int64_t()> now_ms_;
  LongPoller& poller_;
};

}  // namespace lqs::daemon

#endif  // LQS_DAEMON_SQS_API_HPP_
