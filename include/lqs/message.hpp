// Copyright lqs authors. Messages: what is sent, what is received, and their identifiers.
#ifndef LQS_MESSAGE_HPP_
#define LQS_MESSAGE_HPP_

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lqs {

/// A MessageId: a random (version 4) UUID. to_string() gives the canonical 36-character form,
/// which is also a valid SQS batch entry id (sqs-consumer uses it as one).
struct MessageId {
  std::array<uint8_t, 16> bytes{};
  std::string to_string() const;
  /// Appends the same 36 characters to `out` (no temporary string).
  void append_to(std::string& out) const;
  bool operator==(const MessageId&) const = default;
};

/// An MD5 digest; to_hex() gives the lower-case hex form SQS returns.
struct Md5Digest {
  std::array<uint8_t, 16> bytes{};
  std::string to_hex() const;
  /// Appends the same 32 characters to `out` (no temporary string).
  void append_hex_to(std::string& out) const;
  bool operator==(const Md5Digest&) const = default;
};

/// A FIFO message's SequenceNumber. SQS writes it as a string of 20 decimal digits, which is
/// 10^19 + `value` here; `value` is 0 for none (standard queues). Kept as a number so that a
/// send or receive never builds the string (20 characters do not fit std::string's inline
/// buffer: every FIFO send and receive allocated one); format it when you need it. Numbers
/// order as their strings do.
struct SequenceNumber {
  uint64_t value = 0;  ///< increasing per queue from 1; below 8 * 10^18
  bool empty() const noexcept { return value == 0; }
  /// The 20 digits SQS sends, or "" when empty().
  std::string to_string() const;
  /// Appends the same 20 digits to `out` (nothing when empty()).
  void append_to(std::string& out) const;
  auto operator<=>(const SequenceNumber&) const = default;
};

/// A user message attribute (SQS MessageAttributeValue). `data_type` is "String", "Number" or
/// "Binary", optionally with a custom suffix ("Number.int", "Binary.png"). `value` holds the
/// StringValue's UTF-8 bytes, or the BinaryValue's raw (decoded) bytes for Binary types.
struct MessageAttribute {
  std::string name;
  std::string data_type;
  std::string value;
  bool operator==(const MessageAttribute&) const = default;
};

/// One message to send. Views must stay valid for the duration of the call only.
struct SendRequest {
  std::string_view body;                         ///< 1 byte .. MaximumMessageSize, XML chars
  std::span<const MessageAttribute> attributes;  ///< at most 10
  std::string_view message_group_id;             ///< optional on standard queues (fair queues)
  std::optional<int32_t> delay_s;                ///< 0..900; absent: the queue's DelaySeconds
  std::string_view aws_trace_header;             ///< optional AWSTraceHeader system attribute
  /// FIFO queues: MessageDeduplicationId (<= 128 chars); empty with ContentBasedDeduplication
  /// means the SHA-256 of the body. Refused on standard queues.
  std::string_view message_deduplication_id;
};

/// What a successful send returns. The digests are computed only when asked for
/// (SendOptions::compute_md5) because SQS clients need them and shared-memory users do not.
struct SendResult {
  MessageId message_id;
  std::optional<Md5Digest> md5_of_body;
  std::optional<Md5Digest> md5_of_message_attributes;         ///< only when attributes sent
  std::optional<Md5Digest> md5_of_message_system_attributes;  ///< only when trace header sent
  /// FIFO queues: the SequenceNumber; empty otherwise. A duplicate within the deduplication
  /// window returns the first send's id and number.
  SequenceNumber sequence_number;
};

struct SendOptions {
  bool compute_md5 = false;
  /// LqsDurability=sync: how long a send waits for lqsd to put its record on disk before it
  /// fails with kTimedOut (the message was sent; it may or may not survive a reboot).
  int64_t durability_timeout_ms = 10'000;
};

/// ReceiveMessage parameters (SQS_REFERENCE.md §1.3, §3).
struct ReceiveOptions {
  int32_t max_number_of_messages = 1;           ///< 1..10
  std::optional<int32_t> visibility_timeout_s;  ///< 0..43200; absent: the queue's value
  std::optional<int32_t> wait_time_s;           ///< 0..20; absent: the queue's default
  /// System attributes to return: "All", or names such as "SentTimestamp". Empty: none.
  std::vector<std::string> system_attribute_names;
  /// User attributes to return: "All", ".*", "*", exact names, or "Prefix.*". Empty: none.
  std::vector<std::string> message_attribute_names;
  bool compute_md5 = false;  ///< fill md5_of_body / md5_of_attributes
  /// FIFO queues: ReceiveRequestAttemptId (<= 128 chars). A retry with the same id within 5
  /// minutes returns the same messages and receipt handles (their visibility reset) while
  /// none of them was deleted or changed; otherwise kInvalidParameterValue. Ignored on
  /// standard queues.
  std::string receive_request_attempt_id;
};

/// A received message. Receiving into a reused ReceiveBatch keeps the strings' capacity, so a
/// steady-state receive does not allocate.
struct ReceivedMessage {
  MessageId message_id;
  std::string receipt_handle;
  std::string body;
  /// The user attributes selected by ReceiveOptions::message_attribute_names, sorted by name.
  std::vector<MessageAttribute> attributes;
  /// The system attributes selected by ReceiveOptions::system_attribute_names, as SQS names
  /// and string values ("SentTimestamp" -> "1700000000000"), in SQS's order.
  std::vector<std::pair<std::string, std::string>> system_attributes;
  // Always filled, whatever the filters:
  int64_t sent_timestamp_ms = 0;
  int64_t first_receive_timestamp_ms = 0;
  uint32_t receive_count = 0;
  std::string message_group_id;
  std::string aws_trace_header;
  SequenceNumber sequence_number;        ///< FIFO queues; empty otherwise
  std::string message_deduplication_id;  ///< FIFO queues
  /// For a message moved here by a redrive policy: the name of the queue it came from (SQS's
  /// DeadLetterQueueSourceArn names it by ARN). Empty otherwise.
  std::string dead_letter_source_queue;
  std::optional<Md5Digest> md5_of_body;
  std::optional<Md5Digest> md5_of_message_attributes;  ///< over the attributes returned
};

/// The output of Queue::receive. Reuse one per consumer loop.
struct ReceiveBatch {
  std::vector<ReceivedMessage> messages;  ///< capacity kept across calls
  size_t count = 0;                       ///< messages[0..count) are this call's
};

/// Approximate counts (SQS ApproximateNumberOfMessages, ...NotVisible, ...Delayed).
struct QueueCounts {
  uint64_t visible = 0;
  uint64_t in_flight = 0;
  uint64_t delayed = 0;
};

}  // namespace lqs

#endif  // LQS_MESSAGE_HPP_
