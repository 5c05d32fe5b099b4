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
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lqs::daemon::messages {

/// One message to send (SendMessage's input or one SendMessageBatch entry), owning what its
/// SendRequest points at.
struct OwnedSend {
  std::string body;
  std::vector<MessageAttribute> attributes;
  std::string group_id;
  std::string trace_header;
  std::string dedup_id;
  std::optional<int32_t> delay_s;
  SendRequest view() const {
    SendRequest r;
    r.body = body;
    r.attributes = attributes;
    r.message_group_id = group_id;
    r.delay_s = delay_s;
    r.aws_trace_header = trace_header;
    r.message_deduplication_id = dedup_id;
    return r;
  }
};

/// Reads one message to send from its JSON-shaped input, with SQS's errors for what is
/// missing or mistyped. `trace_header` (X-Amzn-Trace-Id) becomes AWSTraceHeader when the input
/// has no MessageSystemAttributes.AWSTraceHeader. sqs_fast.hpp reads the common case straight
/// from the wire and must agree with this (tests/fuzz/sqs_fast_fuzz.cpp checks it).
Result<void> read_send(const nlohmann::json& in, const std::string& trace_header, OwnedSend& out);
/// A successful send as SendMessage's output (and, with "Id", a SendMessageBatch entry's).
nlohmann::json send_result(const SendResult& r);
/// A failed batch entry as SQS reports it.
nlohmann::json failed_entry(const std::string& id, const Error& e);
/// Entries a *Batch action takes at most.
constexpr size_t kMaxBatchEntries = 10;
/// A batch entry Id as SQS accepts it: 1..80 of [A-Za-z0-9_-].
bool valid_entry_id(std::string_view id);
/// The batch-level checks of every *Batch action, in SQS's order: entries present, at most 10,
/// each Id well formed, Ids distinct. Returns the entries (pointing into `in`) and their Ids.
Result<std::vector<std::pair<std::string, const nlohmann::json*>>> batch_entries(
    const nlohmann::json& in, std::string_view entry_name);

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
  bool want_sender = false;  ///< SenderId asked for (filled from identity)
  bool want_source = false;  ///< DeadLetterQueueSourceArn asked for
  Identity identity;
  /// The SQS output for `b` as a tree (the Query protocol turns it into XML).
  [[nodiscard]] nlohmann::json render(const ReceiveBatch& b) const;
  /// The same answer as JSON text, byte for byte render(b).dump() (fast::write_receive).
  [[nodiscard]] std::string write(const ReceiveBatch& b) const;
};
Result<ReceiveCall> prepare_receive(const Queue& q, const nlohmann::json& in, Identity identity);

}  // namespace lqs::daemon::messages

#endif  // LQS_DAEMON_SQS_MESSAGES_HPP_
