// Copyright lqs authors.
#include "queue/validation.hpp"

#include <cstring>
#include <set>
#include <string>

namespace lqs::queue {
namespace {

bool ascii_ok(unsigned char c) { return c >= 0x20 || c == 0x9 || c == 0xA || c == 0xD; }

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_punct(char c) { return c >= 0x21 && c <= 0x7E && !is_alnum(c); }

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return r;
}

Error invalid(std::string msg) {
  return make_error(ErrorCode::kInvalidParameterValue, std::move(msg));
}

bool valid_number(std::string_view v) {
  size_t i = 0;
  if (i < v.size() && (v[i] == '-' || v[i] == '+')) ++i;
  size_t digits = 0;
  size_t significant = 0;
  bool leading = true;
  auto take_digits = [&] {
    size_t n = 0;
    while (i < v.size() && v[i] >= '0' && v[i] <= '9') {
      if (!(leading && v[i] == '0')) {
        leading = false;
        ++significant;
      }
      ++i;
      ++n;
    }
    return n;
  };
  digits += take_digits();
  if (i < v.size() && v[i] == '.') {
    ++i;
    digits += take_digits();
  }
  if (digits == 0) return false;
  long exponent = 0;
  if (i < v.size() && (v[i] == 'e' || v[i] == 'E')) {
    ++i;
    bool neg = false;
    if (i < v.size() && (v[i] == '-' || v[i] == '+')) neg = v[i++] == '-';
    size_t start = i;
    while (i < v.size() && v[i] >= '0' && v[i] <= '9' && i - start < 6) {
      exponent = exponent * 10 + (v[i] - '0');
      ++i;
    }
    if (i == start) return false;
    if (neg) exponent = -exponent;
  }
  if (i != v.size() || significant > 38) return false;
  return exponent >= -128 - 38 && exponent <= 126;
}

}  // namespace

bool is_valid_message_text(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    // Fast path: 8 ASCII bytes at a time, all >= 0x20 and < 0x80.
    while (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      const uint64_t high = w & 0x8080808080808080ULL;
      // A byte < 0x20 has bits 5 and 6 clear: (b + 0x60) has bit 7 clear iff b < 0x20.
      const uint64_t low = ~(w + 0x6060606060606060ULL) & 0x8080808080808080ULL & ~high;
      if (high != 0 || low != 0) break;
      i += 8;
    }
    if (i >= n) break;
    const unsigned char c = p[i];
    if (c < 0x80) {
      if (!ascii_ok(c)) return false;
      ++i;
      continue;
    }
    uint32_t cp = 0;
    size_t len = 0;
    if ((c & 0xE0) == 0xC0) {
      cp = c & 0x1F;
      len = 2;
    } else if ((c & 0xF0) == 0xE0) {
      cp = c & 0x0F;
      len = 3;
    } else if ((c & 0xF8) == 0xF0) {
      cp = c & 0x07;
      len = 4;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) {
      return false;  // overlong
    }
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF || cp > 0x10FFFF) {
      return false;
    }
    i += len;
  }
  return true;
}

Result<void> validate_body(std::string_view body) {
  if (body.empty()) {
    return make_error(ErrorCode::kMissingParameter,
                      "The request must contain the parameter MessageBody.");
  }
  if (!is_valid_message_text(body)) {
    return make_error(ErrorCode::kInvalidMessageContents,
                      "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | "
                      "#x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF");
  }
  return {};
}

Result<void> validate_message_attributes(std::span<const MessageAttribute> attributes) {
  if (attributes.size() > 10) {
    return invalid("Number of message attributes [" + std::to_string(attributes.size()) +
                   "] exceeds the allowed maximum [10].");
  }
  std::set<std::string_view> names;
  for (const auto& a : attributes) {
    const std::string_view n = a.name;
    if (n.empty()) return invalid("The request must contain non-empty message attribute name.");
    if (n.size() > 256) {
      return invalid("Message (user) attribute name '" + std::string(n.substr(0, 256)) +
                     "...' exceeds the maximum allowed length of 256 characters.");
    }
    for (char c : n) {
      if (!(is_alnum(c) || c == '_' || c == '-' || c == '.')) {
        return invalid("Message (user) attribute name '" + std::string(n) +
                       "' can only contain alphanumeric characters, hyphens, underscores and "
                       "periods.");
      }
    }
    const std::string l = lower(n);
    if (l.rfind("aws.", 0) == 0 || l.rfind("amazon.", 0) == 0) {
      return invalid("Message (user) attribute name '" + std::string(n) +
                     "' cannot start with the reserved prefix 'AWS.' or 'Amazon.'.");
    }
    if (n.front() == '.' || n.back() == '.' || n.find("..") != std::string_view::npos) {
      return invalid("Message (user) attribute name '" + std::string(n) +
                     "' cannot start or end with a period or contain two successive periods.");
    }
    if (!names.insert(n).second) {
      return invalid("Message (user) attribute name '" + std::string(n) + "' is repeated.");
    }
    const std::string_view t = a.data_type;
    std::string_view base = t.substr(0, t.find('.'));
    const bool has_label = t.find('.') != std::string_view::npos;
    if ((base != "String" && base != "Number" && base != "Binary") || t.size() > 256 ||
        (has_label && (t.size() == base.size() + 1 || !is_valid_message_text(t)))) {
      return invalid("The type of message (user) attribute '" + std::string(n) +
                     "' is invalid. You must use only the following supported type prefixes: "
                     "Binary, Number, String.");
    }
    if (a.value.empty()) {
      return invalid("Message (user) attribute '" + std::string(n) +
                     "' must contain a non-empty value of type '" + std::string(t) + "'.");
    }
    if (base == "String" && !is_valid_message_text(a.value)) {
      return invalid("Message (user) attribute '" + std::string(n) +
                     "' contains invalid characters.");
    }
    if (base == "Number" && !valid_number(a.value)) {
      return invalid("Can't cast the value of message (user) attribute '" + std::string(n) +
                     "' to a number.");
    }
  }
  return {};
}

size_t message_size(std::string_view body, std::span<const MessageAttribute> attributes) noexcept {
  size_t n = body.size();
  for (const auto& a : attributes) n += a.name.size() + a.data_type.size() + a.value.size();
  return n;
}

Result<void> validate_message_size(size_t size, int32_t maximum) {
  if (size > static_cast<size_t>(maximum)) {
    return invalid("One or more parameters are invalid. Reason: Message must be shorter than " +
                   std::to_string(maximum) + " bytes.");
  }
  return {};
}

Result<void> validate_message_group_id(std::string_view id) {
  bool ok = !id.empty() && id.size() <= 128;
  for (char c : id) ok = ok && (is_alnum(c) || is_punct(c));
  if (!ok) {
    return invalid("Value " + std::string(id.substr(0, 256)) +
                   " for parameter MessageGroupId is invalid. Reason: MessageGroupId can only "
                   "include alphanumeric and punctuation characters. 1 to 128 in length.");
  }
  return {};
}

Result<void> validate_delay(int32_t delay_s) {
  if (delay_s < 0 || delay_s > 900) {
    return invalid("Value " + std::to_string(delay_s) +
                   " for parameter DelaySeconds is invalid. Reason: must be between 0 and 900, "
                   "if provided.");
  }
  return {};
}

Result<void> validate_batch_entry_id(std::string_view id) {
  bool ok = !id.empty() && id.size() <= 80;
  for (char c : id) ok = ok && (is_alnum(c) || c == '_' || c == '-');
  if (!ok) {
    return make_error(ErrorCode::kInvalidBatchEntryId,
                      "A batch entry id can only contain alphanumeric characters, hyphens and "
                      "underscores. It can be at most 80 letters long.");
  }
  return {};
}

Result<void> validate_receive_options(const ReceiveOptions& o) {
  if (o.max_number_of_messages < 1 || o.max_number_of_messages > 10) {
    return invalid("Value " + std::to_string(o.max_number_of_messages) +
                   " for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 "
                   "and 10, if provided.");
  }
  if (o.wait_time_s && (*o.wait_time_s < 0 || *o.wait_time_s > 20)) {
    return invalid("Value " + std::to_string(*o.wait_time_s) +
                   " for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, "
                   "if provided.");
  }
  if (o.visibility_timeout_s && (*o.visibility_timeout_s < 0 || *o.visibility_timeout_s > 43200)) {
    return invalid("Value " + std::to_string(*o.visibility_timeout_s) +
                   " for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and "
                   "43200, if provided.");
  }
  return {};
}

bool message_attribute_selected(std::span<const std::string> filters,
                                std::string_view name) noexcept {
  for (const std::string& f : filters) {
    if (f == "All" || f == ".*" || f == "*" || f == name) return true;
    if (f.size() > 2 && f.compare(f.size() - 2, 2, ".*") == 0 &&
        name.substr(0, f.size() - 2) == std::string_view(f).substr(0, f.size() - 2)) {
      return true;
    }
  }
  return false;
}

uint32_t system_attribute_mask(std::span<const std::string> names) noexcept {
  using M = SystemAttributeMask;
  uint32_t m = 0;
  for (const std::string& n : names) {
    if (n == "All")
      m |= M::kAll;
    else if (n == "SenderId")
      m |= M::kSenderId;
    else if (n == "SentTimestamp")
      m |= M::kSentTimestamp;
    else if (n == "ApproximateReceiveCount")
      m |= M::kApproximateReceiveCount;
    else if (n == "ApproximateFirstReceiveTimestamp")
      m |= M::kApproximateFirstReceiveTimestamp;
    else if (n == "SequenceNumber")
      m |= M::kSequenceNumber;
    else if (n == "MessageDeduplicationId")
      m |= M::kMessageDeduplicationId;
    else if (n == "MessageGroupId")
      m |= M::kMessageGroupId;
    else if (n == "AWSTraceHeader")
      m |= M::kAWSTraceHeader;
    else if (n == "DeadLetterQueueSourceArn")
      m |= M::kDeadLetterQueueSourceArn;
  }
  return m;
}

Result<void> validate_queue_name(std::string_view name, bool fifo) {
  std::string_view stem = name;
  bool ok = !name.empty() && name.size() <= 80;
  if (fifo) {
    ok = ok && name.size() > 5 && name.substr(name.size() - 5) == ".fifo";
    if (ok) stem = name.substr(0, name.size() - 5);
  }
  for (char c : stem) ok = ok && (is_alnum(c) || c == '_' || c == '-');
  if (!ok) {
    return invalid(
        "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 "
        "in length");
  }
  return {};
}

}  // namespace lqs::queue
