// Copyright lqs authors. SQS's MD5 digests (SQS_REFERENCE.md §5.3), over OpenSSL libcrypto.
#ifndef LQS_COMMON_MD5_HPP_
#define LQS_COMMON_MD5_HPP_

#include "lqs/message.hpp"

#include <span>
#include <string_view>

namespace lqs::common {

/// MD5 of `bytes` (MD5OfMessageBody).
Md5Digest md5(std::string_view bytes) noexcept;

/// MD5OfMessageAttributes: attributes sorted by name (code-point order, which for UTF-8 is
/// byte order), each fed as u32be(len) name, u32be(len) data type, transport byte (1 for
/// String/Number types, 2 for Binary types), u32be(len) value. Does not copy the attributes;
/// allocates only when they are unsorted and more than 16.
Md5Digest md5_of_message_attributes(std::span<const MessageAttribute> attributes);

/// The same digest over attributes the caller already holds sorted by name (as
/// ReceivedMessage::attributes are). REQUIRES: `sorted` is sorted by name; no check is made.
Md5Digest md5_of_sorted_message_attributes(std::span<const MessageAttribute> sorted) noexcept;

/// MD5OfMessageSystemAttributes for the map {AWSTraceHeader: String `value`}.
Md5Digest md5_of_trace_header(std::string_view value) noexcept;
/// Lower-case hex SHA-256 of `bytes` (FIFO content-based deduplication ids).
std::string sha256_hex(std::string_view bytes);

}  // namespace lqs::common

#endif  // LQS_COMMON_MD5_HPP_
