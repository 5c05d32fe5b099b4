// Copyright lqs authors. SQS input validation: pure functions (SQS_REFERENCE.md §1.3, §2.3, §3).
#ifndef LQS_QUEUE_VALIDATION_HPP_
#define LQS_QUEUE_VALIDATION_HPP_

#include "lqs/message.hpp"
#include "lqs/result.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace lqs::queue {

// Every function here is pure, and none allocates unless it returns an error.

/// True iff `s` is well-formed UTF-8: no overlong forms, no surrogates, at most U+10FFFF.
bool is_valid_utf8(std::string_view s) noexcept;
/// True iff `utf8` is valid UTF-8 (no overlong forms, surrogates or code points above
/// U+10FFFF) and every code point is #x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD |
/// #x10000–#x10FFFF. Runs on every send: printable ASCII is checked 8 bytes at a time.
bool is_valid_message_text(std::string_view utf8) noexcept;
/// kMissingParameter when empty, kInvalidMessageContents for characters outside the set.
Result<void> validate_body(std::string_view body);
/// At most 10 attributes; names, data types and values as in §2.3. kInvalidParameterValue.
/// A Number value is a decimal (sign, digits, fraction, exponent) with at most 38
/// significant digits and, unless zero, a magnitude in [10^-128, 10^127).
Result<void> validate_message_attributes(std::span<const MessageAttribute> attributes);
/// Body bytes + Σ (name + data type + value bytes).
size_t message_size(std::string_view body, std::span<const MessageAttribute> attributes) noexcept;
/// kInvalidParameterValue when size > maximum (equal is accepted, as in SQS).
Result<void> validate_message_size(size_t size, int32_t maximum);
/// 1..128 alphanumerics and ASCII punctuation; kInvalidParameterValue.
Result<void> validate_message_group_id(std::string_view id);
/// MessageDeduplicationId, ReceiveRequestAttemptId: 1..128 alphanumerics and punctuation.
Result<void> validate_fifo_token(std::string_view id, std::string_view parameter);
/// 0..900; kInvalidParameterValue.
Result<void> validate_delay(int32_t delay_s);
/// 1..80 of [A-Za-z0-9_-]; kInvalidBatchEntryId.
Result<void> validate_batch_entry_id(std::string_view id);
/// MaxNumberOfMessages 1..10, WaitTimeSeconds 0..20, VisibilityTimeout 0..43200;
/// kInvalidParameterValue with SQS's messages.
Result<void> validate_receive_options(const ReceiveOptions& options);
/// MessageAttributeNames filter (§3.3): All, .*, *, exact names, "Prefix.*" (a plain
/// startswith on Prefix). Invalid filters ("AWS.*", "..foo") select nothing.
bool message_attribute_selected(std::span<const std::string> filters,
                                std::string_view name) noexcept;

struct SystemAttributeMask {
  static constexpr uint32_t kSenderId = 1u << 0;
  static constexpr uint32_t kSentTimestamp = 1u << 1;
  static constexpr uint32_t kApproximateReceiveCount = 1u << 2;
  static constexpr uint32_t kApproximateFirstReceiveTimestamp = 1u << 3;
  static constexpr uint32_t kSequenceNumber = 1u << 4;
  static constexpr uint32_t kMessageDeduplicationId = 1u << 5;
  static constexpr uint32_t kMessageGroupId = 1u << 6;
  static constexpr uint32_t kAWSTraceHeader = 1u << 7;
  static constexpr uint32_t kDeadLetterQueueSourceArn = 1u << 8;
  static constexpr uint32_t kAll = (1u << 9) - 1;
};
/// "All" = every bit; unknown names are ignored.
uint32_t system_attribute_mask(std::span<const std::string> names) noexcept;

/// 1..80 of [A-Za-z0-9_-]; a name ending in ".fifo" (or any name, with fifo) is checked as a
/// FIFO queue's: the stem before ".fifo" (which counts in the 80) must be such characters.
Result<void> validate_queue_name(std::string_view name, bool fifo = false);

}  // namespace lqs::queue

#endif  // LQS_QUEUE_VALIDATION_HPP_
