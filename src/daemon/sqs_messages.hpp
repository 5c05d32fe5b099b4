// Copyright lqs authors. The message actions of the SQS API over one open queue: SendMessage
// (Batch), ReceiveMessage, DeleteMessage(Batch), ChangeMessageVisibility(Batch). Inputs and
// outputs are JSON objects shaped as in the AWS JSON 1.0 protocol. lqsd's SqsApi calls them
// with a queue from its registry; the `lqs` CLI calls them with a queue it opened itself in
// shared memory, so both give the same answers and the same errors.
//
// Thread-safety: as Queue (every function may run on many threads at once).
#ifndef LQS_DAEMON_SQS_MESSAGES_HPP_
#define LQS_DAEMON_SQS_MESSAGES_HPP_

#include "lqs/message.hpp"
#include "lqs/queue.hpp"
#include "lqs/result.hpp"

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace lqs::daemon::messages {

/// SendMessage. `trace_header` (X-Amzn-Trace-Id) becomes AWSTraceHeader when the input has no
/// MessageSystemAttributes.AWSTraceHeader.
Result<nlohmann::json> send_message(Queue& q, const nlohmann::json& in,
                                    const std::string& trace_header = {});
Result<nlohmann::json> send_message_batch(Queue& q, const nlohmann::json& in,
                                          const std::string& trace_header = {});
Result<nlohmann::json> delete_message(Queue& q, const nlohmann::json& in);
Result<nlohmann::json> delete_message_batch(Queue& q, const nlohmann::json& in);
Result<nlohmann::json> change_message_visibility(Queue& q, const nlohmann::json& in);
Result<nlohmann::json> change_message_visibility_batch(Queue& q, const nlohmann::json& in);

/// How SenderId and DeadLetterQueueSourceArn are filled in received messages.
struct Identity {
  std::string account_id = "000000000000";
  /// The ARN of a queue, by name.
  std::function<std::string(const std::string&)> queue_arn;
};

/// A ReceiveMessage input decoded and checked: the options to receive with (compute_md5 on,
/// wait_time_s unset), the wait the caller should apply (the input's WaitTimeSeconds or the
/// queue's default, checked to 0..20), and how to render a batch as the SQS output
/// ({"Messages": [...]}, or {} when empty).
struct ReceiveCall {
  ReceiveOptions options;
  int32_t wait_s = 0;
  std::function<nlohmann::json(const ReceiveBatch&)> render;
};
Result<ReceiveCall> prepare_receive(const Queue& q, const nlohmann::json& in, Identity identity);

}  // namespace lqs::daemon::messages

#endif  // LQS_DAEMON_SQS_MESSAGES_HPP_
