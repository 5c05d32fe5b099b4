// Copyright lqs authors. SQS's MD5 digests (SQS_REFERENCE.md §5.3), over OpenSSL libcrypto.
#ifndef LQS_COMMON_MD5_HPP_
#define LQS_COMMON_MD5_HPP_

#include "lqs/message.hpp"

#include <span>
#include <string_view>

namespace lqs::common {

Md5Digest md5(std::string_view bytes) noexcept;
/// MD5OfMessageAttributes: attributes sorted by name (code-point order), each as
/// len(name) name len(type) type transport-byte len(value) value (lengths big-endian u32).
Md5Digest md5_of_message_attributes(std::span<const MessageAttribute> attributes);
/// MD5OfMessageSystemAttributes for {AWSTraceHeader: String value}.
Md5Digest md5_of_trace_header(std::string_view value);

}  // namespace lqs::common

#endif  // LQS_COMMON_MD5_HPP_
