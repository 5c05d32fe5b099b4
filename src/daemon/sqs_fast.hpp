// Copyright lqs authors. The hot SQS actions over the JSON protocol without a JSON tree:
// SendMessage, SendMessageBatch and DeleteMessage in their common shape are read straight from
// the request bytes, and their answers written straight into the response body; so is every
// ReceiveMessage answer over the JSON protocol (its small request is still read by nlohmann).
//
// Why: with nlohmann::json, a SendMessageBatch of ten 64-byte messages built and destroyed
// two trees of ~100 allocated nodes; parse, dump and malloc were ~30 % of lqsd's CPU under
// `bench/http/run.sh` (bench/RESULTS.md).
//
// The contract: a reader returns true only for an input the general path (sqs_messages.hpp,
// over nlohmann::json) would read to exactly the same values without an error; for anything
// else (a member it does not know, a member twice, null, a number that is not a plain
// integer, an escape it cannot decode, bytes that are not UTF-8, a batch the general path
// would refuse or report an entry of as failed...) it returns false, and the caller takes
// the general path, which gives SQS's answer or error. So the two paths cannot disagree on an
// error: only the general path produces input errors. tests/fuzz/sqs_fast_fuzz.cpp checks
// the contract on arbitrary bytes against the general reader; tests/unit/daemon/
// sqs_fast_test.cpp checks the writers byte for byte against nlohmann's dump.
//
// Thread-safety: plain functions over their arguments.
#ifndef LQS_DAEMON_SQS_FAST_HPP_
#define LQS_DAEMON_SQS_FAST_HPP_

#include "lqs/message.hpp"
#include "lqs/result.hpp"

#include "daemon/sqs_messages.hpp"

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lqs::daemon::fast {

/// A SendMessage or SendMessageBatch input as read_send() found it.
struct SendInput {
  std::string queue_url;
  /// SendMessageBatch: the entries' Ids (1..10, well formed, distinct); SendMessage: empty.
  std::vector<std::string> ids;
  /// One per message, in request order; trace_header left empty (the caller sets it).
  std::vector<messages::OwnedSend> entries;
};

/// Reads a SendMessage (`batch` false) or SendMessageBatch input whose members are only
/// QueueUrl, MessageBody, DelaySeconds, MessageGroupId and MessageDeduplicationId (batch: Id
/// and those four in each entry of Entries). False: take the general path (see above).
bool read_send(std::string_view body, bool batch, SendInput& out);

/// Reads a DeleteMessage input of exactly QueueUrl and ReceiptHandle. False: general path.
bool read_delete(std::string_view body, std::string& queue_url, std::string& receipt_handle);

/// SendMessage's answer, byte for byte what nlohmann::json dumps for messages::send_result().
std::string write_send(const SendResult& r);

/// ReceiveMessage's answer for the batch `b` ({} when empty), byte for byte what dumping
/// messages::ReceiveCall::render(b) gives: no tree of ~10 allocated nodes per message.
/// `want_sender`, `want_source`: the SenderId and DeadLetterQueueSourceArn attributes were
/// asked for; `identity` fills them.
std::string write_receive(const ReceiveBatch& b, bool want_sender, bool want_source,
                          const messages::Identity& identity);

/// Appends `s` as a JSON string, exactly as nlohmann::json's dump (no ensure_ascii, invalid
/// UTF-8 replaced by U+FFFD) writes it.
void append_json_string(std::string& o, std::string_view s);

/// SendMessageBatch's answer for `ids[k]` sent with `results[k]`, byte for byte what the
/// general path dumps.
std::string write_send_batch(std::span<const std::string> ids,
                             std::span<const Result<SendResult>> results);

}  // namespace lqs::daemon::fast

#endif  // LQS_DAEMON_SQS_FAST_HPP_
