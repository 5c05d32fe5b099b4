// Copyright lqs authors.
#include "queue/validation.hpp"

#include <algorithm>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <string>

namespace lqs::queue {
namespace {

constexpr size_t kMaxAttributes = 10;
constexpr size_t kMaxAttributeNameLength = 256;
constexpr size_t kMaxDataTypeLength = 256;
constexpr size_t kMaxNumberDigits = 38;
constexpr int64_t kMinNumberExponent = -128;  // |value| >= 10^-128
constexpr int64_t kMaxNumberExponent = 126;   // |value| <  10^127
constexpr size_t kMaxGroupIdLength = 128;
constexpr size_t kMaxBatchEntryIdLength = 80;
constexpr size_t kMaxQueueNameLength = 80;
constexpr std::string_view kFifoSuffix = ".fifo";

constexpr std::string_view kInvalidCharacters =
    "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | "
    "#xE000 to #xFFFD | #x10000 to #x10FFFF";

bool is_alnum(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
// ASCII punctuation: !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~
bool is_punct(char c) noexcept { return c >= 0x21 && c <= 0x7E && !is_alnum(c); }
bool is_id_char(char c) noexcept { return is_alnum(c) || c == '_' || c == '-'; }
bool is_attribute_name_char(char c) noexcept { return is_id_char(c) || c == '.'; }

bool starts_with_ignoring_case(std::string_view s, std::string_view lower_prefix) noexcept {
  if (s.size() < lower_prefix.size()) {
    return false;
  }
  for (size_t i = 0; i < lower_prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
    if (c != lower_prefix[i]) {
      return false;
    }
  }
  return true;
}

bool has_reserved_prefix(std::string_view name) noexcept {
  return starts_with_ignoring_case(name, "aws.") || starts_with_ignoring_case(name, "amazon.");
}

bool has_bad_periods(std::string_view name) noexcept {
  return name.front() == '.' || name.back() == '.' || name.find("..") != std::string_view::npos;
}

// §2.3: 1..256 of [A-Za-z0-9_.-], no reserved prefix, no leading, trailing or double period.
bool is_valid_attribute_name(std::string_view name) noexcept {
  return !name.empty() && name.size() <= kMaxAttributeNameLength &&
         std::all_of(name.begin(), name.end(), is_attribute_name_char) &&
         !has_reserved_prefix(name) && !has_bad_periods(name);
}

// Decodes the multi-byte sequence at p[0..n) (p[0] >= 0x80) and returns its length, or 0 if
// it is ill-formed UTF-8 or (unless `nonchars`) encodes U+FFFE or U+FFFF, which SQS's
// message character set excludes. The lead-byte and second-byte ranges are those of Unicode
// Table 3-7, which excludes overlong forms, surrogates (ED A0..BF) and code points above
// U+10FFFF (F4 90.., F5..FF).
size_t allowed_sequence_length(const unsigned char* p, size_t n, bool nonchars = false) noexcept {
  const auto cont = [](unsigned char b) { return (b & 0xC0) == 0x80; };
  const unsigned char c = p[0];
  if (c >= 0xC2 && c <= 0xDF) {
    return n >= 2 && cont(p[1]) ? 2 : 0;  // U+0080..U+07FF
  }
  if (c >= 0xE0 && c <= 0xEF) {
    if (n < 3 || !cont(p[1]) || !cont(p[2])) {
      return 0;
    }
    if (c == 0xE0 && p[1] < 0xA0) {
      return 0;  // overlong
    }
    if (c == 0xED && p[1] > 0x9F) {
      return 0;  // U+D800..U+DFFF
    }
    if (!nonchars && c == 0xEF && p[1] == 0xBF && p[2] >= 0xBE) {
      return 0;  // U+FFFE, U+FFFF
    }
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (n < 4 || !cont(p[1]) || !cont(p[2]) || !cont(p[3])) {
      return 0;
    }
    if (c == 0xF0 && p[1] < 0x90) {
      return 0;  // overlong
    }
    if (c == 0xF4 && p[1] > 0x8F) {
      return 0;  // above U+10FFFF
    }
    return 4;
  }
  return 0;  // a continuation byte, C0/C1 (overlong) or F5..FF
}

// True iff none of the 8 bytes in `w` has its top bit set or is below 0x20.
bool all_printable_ascii(uint64_t w) noexcept {
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  constexpr uint64_t kAdd = 0x6060606060606060ULL;
  // For a byte b < 0x80, b + 0x60 has its top bit set iff b >= 0x20, and no carry crosses
  // into the next byte. A byte >= 0x80 is caught by `w & kHigh` (its carry does not matter).
  return ((w & kHigh) | (~(w + kAdd) & kHigh)) == 0;
}

#if defined(__SSE2__)
// The same for the 16 bytes at `p`: a byte read as signed is above 0x1f iff it is in
// 0x20..0x7f (0x80..0xff are negative).
bool all_printable_ascii16(const unsigned char* p) noexcept {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm_movemask_epi8(_mm_cmpgt_epi8(v, _mm_set1_epi8(0x1f))) == 0xffff;
}
#endif

// SQS Number: optional sign, digits with an optional fraction (at least one digit in all),
// optional exponent; at most 38 significant digits; zero, or a magnitude in
// [10^-128, 10^127). The range is "10^-128 to 10^+126" of the SQS guide, read as "the
// decimal exponent of the leading digit is between -128 and 126".
enum class NumberCheck { kOk, kNotANumber, kOutOfRange };

NumberCheck check_number(std::string_view v) noexcept {
  constexpr auto kNone = static_cast<size_t>(-1);
  size_t i = 0;
  if (i < v.size() && (v[i] == '+' || v[i] == '-')) {
    ++i;
  }
  size_t digits = 0;  // mantissa digits seen, integer and fraction part
  size_t integer_digits = 0;
  size_t first_nonzero = kNone;
  size_t last_nonzero = kNone;
  const auto take_digits = [&] {
    for (; i < v.size() && is_digit(v[i]); ++i, ++digits) {
      if (v[i] != '0') {
        if (first_nonzero == kNone) {
          first_nonzero = digits;
        }
        last_nonzero = digits;
      }
    }
  };
  take_digits();
  integer_digits = digits;
  if (i < v.size() && v[i] == '.') {
    ++i;
    take_digits();
  }
  if (digits == 0) {
    return NumberCheck::kNotANumber;
  }
  int64_t exponent = 0;
  if (i < v.size() && (v[i] == 'e' || v[i] == 'E')) {
    ++i;
    bool negative = false;
    if (i < v.size() && (v[i] == '+' || v[i] == '-')) {
      negative = v[i++] == '-';
    }
    const size_t start = i;
    for (; i < v.size() && is_digit(v[i]); ++i) {
      exponent = std::min<int64_t>(exponent * 10 + (v[i] - '0'), 1'000'000);  // saturate
    }
    if (i == start) {
      return NumberCheck::kNotANumber;
    }
    if (negative) {
      exponent = -exponent;
    }
  }
  if (i != v.size()) {
    return NumberCheck::kNotANumber;
  }
  if (first_nonzero == kNone) {
    return NumberCheck::kOk;  // zero
  }
  if (last_nonzero - first_nonzero + 1 > kMaxNumberDigits) {
    return NumberCheck::kOutOfRange;
  }
  const int64_t leading_exponent =
      static_cast<int64_t>(integer_digits) - 1 - static_cast<int64_t>(first_nonzero) + exponent;
  return leading_exponent >= kMinNumberExponent && leading_exponent <= kMaxNumberExponent
             ? NumberCheck::kOk
             : NumberCheck::kOutOfRange;
}

Error invalid(std::string message) {
  return make_error(ErrorCode::kInvalidParameterValue, std::move(message));
}

Error quoted(std::string_view before, std::string_view name, std::string_view after) {
  std::string m;
  m.reserve(before.size() + name.size() + after.size());
  m.append(before).append(name).append(after);
  return invalid(std::move(m));
}

// The name rules of §2.3, in the order SQS reports them; wording from AWS where recorded.
Result<void> validate_attribute_name(std::span<const MessageAttribute> earlier,
                                     std::string_view name) {
  if (name.empty()) {
    return invalid("The request must contain non-empty message (user) attribute names.");
  }
  if (name.size() > kMaxAttributeNameLength) {
    return invalid("Message (user) attribute names must be at most 256 Bytes long.");
  }
  if (!std::all_of(name.begin(), name.end(), is_attribute_name_char)) {
    return quoted("Message (user) attribute name '", name,
                  "' can only contain upper and lower case characters, digits, periods, hyphens "
                  "and underscores.");
  }
  if (has_reserved_prefix(name) || name.front() == '.' || name.back() == '.') {
    return quoted("Message (user) attribute name '", name,
                  "' is invalid. You can't use message attribute names beginning with 'AWS.' or "
                  "'Amazon.'. These strings are reserved for internal use. Additionally, they "
                  "cannot start or end with '.'.");
  }
  if (name.find("..") != std::string_view::npos) {
    return quoted("Message (user) attribute name '", name,
                  "' must not have successive '.' characters.");
  }
  for (const MessageAttribute& e : earlier) {
    if (e.name == name) {
      return quoted("Message (user) attribute name '", name, "' is repeated.");
    }
  }
  return {};
}

}  // namespace

bool is_valid_utf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  for (size_t i = 0; i < s.size();) {
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    const size_t len = allowed_sequence_length(p + i, s.size() - i, /*nonchars=*/true);
    if (len == 0) {
      return false;
    }
    i += len;
  }
  return true;
}

bool is_valid_message_text(std::string_view utf8) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(utf8.data());
  const size_t n = utf8.size();
  size_t i = 0;
  while (i < n) {
    // Fast path: printable ASCII 16 (SSE2), then 8 bytes at a time. Where a block is not all
    // printable ASCII, the next 64 bytes go a byte (or a UTF-8 sequence) at a time, so that
    // text dense with UTF-8 does not pay a failed block test every few bytes.
#if defined(__SSE2__)
    for (; i + 16 <= n; i += 16) {
      if (!all_printable_ascii16(p + i)) {
        break;
      }
    }
#endif
    for (; i + 8 <= n; i += 8) {
      uint64_t w;
      std::memcpy(&w, p + i, sizeof w);
      if (!all_printable_ascii(w)) {
        break;
      }
    }
    const size_t stop = std::min(n, i + 64);
    while (i < stop) {
      const unsigned char c = p[i];
      if ((c >= 0x20 && c < 0x80) || c == 0x9 || c == 0xA || c == 0xD) {
        ++i;  // printable ASCII, tab, line feed, carriage return
      } else if (c < 0x80) {
        return false;  // other C0 controls
      } else {
        const size_t len = allowed_sequence_length(p + i, n - i);
        if (len == 0) {
          return false;
        }
        i += len;
      }
    }
  }
  return true;
}

Result<void> validate_body(std::string_view body) {
  if (body.empty()) {
    return make_error(ErrorCode::kMissingParameter,
                      "The request must contain the parameter MessageBody.");
  }
  if (!is_valid_message_text(body)) {
    return make_error(ErrorCode::kInvalidMessageContents, std::string(kInvalidCharacters));
  }
  return {};
}

Result<void> validate_message_attributes(std::span<const MessageAttribute> attributes) {
  if (attributes.size() > kMaxAttributes) {
    return invalid("Number of message attributes [" + std::to_string(attributes.size()) +
                   "] exceeds the allowed maximum [10].");
  }
  for (size_t k = 0; k < attributes.size(); ++k) {
    const MessageAttribute& a = attributes[k];
    const std::string_view name = a.name;
    if (auto v = validate_attribute_name(attributes.first(k), name); !v) {
      return v;
    }

    const std::string_view type = a.data_type;
    const size_t dot = type.find('.');
    const std::string_view base = type.substr(0, dot);
    const bool known_base = base == "String" || base == "Number" || base == "Binary";
    const bool bad_label =
        dot != std::string_view::npos && (dot + 1 == type.size() || !is_valid_message_text(type));
    if (!known_base || type.size() > kMaxDataTypeLength || bad_label) {
      return quoted("The type of message (user) attribute '", name,
                    "' is invalid. You must use only the following supported type prefixes: "
                    "Binary, Number, String.");
    }
    if (a.value.empty()) {
      return invalid("Message (user) attribute '" + std::string(name) +
                     "' must contain a non-empty value of type '" + std::string(type) + "'.");
    }
    if (base == "String" && !is_valid_message_text(a.value)) {
      return quoted("Message (user) attribute '", name,
                    "' has a string value with invalid characters. Valid unicode characters are "
                    "#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to "
                    "#x10FFFF");
    }
    if (base == "Number") {
      switch (check_number(a.value)) {
        case NumberCheck::kOk:
          break;
        case NumberCheck::kNotANumber:
          return quoted("Can't cast the value of message (user) attribute '", name,
                        "' to a number.");
        case NumberCheck::kOutOfRange:
          return quoted("Value of message (user) attribute '", name,
                        "' is out of range: a Number has at most 38 significant digits and a "
                        "magnitude between 10^-128 and 10^+126.");
      }
    }
  }
  return {};
}

size_t message_size(std::string_view body, std::span<const MessageAttribute> attributes) noexcept {
  size_t n = body.size();
  for (const MessageAttribute& a : attributes) {
    n += a.name.size() + a.data_type.size() + a.value.size();
  }
  return n;
}

Result<void> validate_message_size(size_t size, int32_t maximum) {
  if (maximum < 0 || size > static_cast<size_t>(maximum)) {
    return invalid("One or more parameters are invalid. Reason: Message must be shorter than " +
                   std::to_string(maximum) + " bytes.");
  }
  return {};
}

Result<void> validate_message_group_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxGroupIdLength ||
      !std::all_of(id.begin(), id.end(), [](char c) { return is_alnum(c) || is_punct(c); })) {
    return quoted("Value ", id,
                  " for parameter MessageGroupId is invalid. Reason: MessageGroupId can only "
                  "include alphanumeric and punctuation characters. 1 to 128 in length.");
  }
  return {};
}

Result<void> validate_fifo_token(std::string_view id, std::string_view parameter) {
  if (id.empty() || id.size() > kMaxGroupIdLength ||
      !std::all_of(id.begin(), id.end(), [](char c) { return is_alnum(c) || is_punct(c); })) {
    return quoted("Value ", id,
                  " for parameter " + std::string(parameter) +
                      " is invalid. Reason: " + std::string(parameter) +
                      " can only include alphanumeric and punctuation characters. 1 to 128 in "
                      "length.");
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
  if (id.empty() || id.size() > kMaxBatchEntryIdLength ||
      !std::all_of(id.begin(), id.end(), is_id_char)) {
    return make_error(ErrorCode::kInvalidBatchEntryId,
                      "A batch entry id can only contain alphanumeric characters, hyphens and "
                      "underscores. It can be at most 80 letters long.");
  }
  return {};
}

Result<void> validate_receive_options(const ReceiveOptions& options) {
  const int32_t max = options.max_number_of_messages;
  if (max < 1 || max > 10) {
    return invalid("Value " + std::to_string(max) +
                   " for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 "
                   "and 10, if provided.");
  }
  if (const auto& w = options.wait_time_s; w && (*w < 0 || *w > 20)) {
    return invalid("Value " + std::to_string(*w) +
                   " for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, "
                   "if provided.");
  }
  if (const auto& v = options.visibility_timeout_s; v && (*v < 0 || *v > 43200)) {
    return invalid("Value " + std::to_string(*v) +
                   " for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and "
                   "43200, if provided.");
  }
  return {};
}

bool message_attribute_selected(std::span<const std::string> filters,
                                std::string_view name) noexcept {
  for (const std::string& filter : filters) {
    const std::string_view f = filter;
    if (f == "All" || f == ".*" || f == "*") {
      return true;
    }
    if (f.size() > 2 && f.ends_with(".*")) {
      // "Prefix.*": a plain startswith on Prefix ("Hel.*" selects Hello and Help.Me). A
      // prefix that is not itself a valid name ("AWS.*", "..foo.*") is ignored.
      const std::string_view prefix = f.substr(0, f.size() - 2);
      if (!has_reserved_prefix(f) && is_valid_attribute_name(prefix) && name.starts_with(prefix)) {
        return true;
      }
    } else if (f == name) {
      // Stored names are valid, so an invalid exact filter ("AWS.", "..foo") never matches.
      return true;
    }
  }
  return false;
}

uint32_t system_attribute_mask(std::span<const std::string> names) noexcept {
  using M = SystemAttributeMask;
  struct Entry {
    std::string_view name;
    uint32_t bit;
  };
  static constexpr Entry kEntries[] = {
      {"All", M::kAll},
      {"SenderId", M::kSenderId},
      {"SentTimestamp", M::kSentTimestamp},
      {"ApproximateReceiveCount", M::kApproximateReceiveCount},
      {"ApproximateFirstReceiveTimestamp", M::kApproximateFirstReceiveTimestamp},
      {"SequenceNumber", M::kSequenceNumber},
      {"MessageDeduplicationId", M::kMessageDeduplicationId},
      {"MessageGroupId", M::kMessageGroupId},
      {"AWSTraceHeader", M::kAWSTraceHeader},
      {"DeadLetterQueueSourceArn", M::kDeadLetterQueueSourceArn},
  };
  uint32_t mask = 0;
  for (const std::string& n : names) {
    for (const Entry& e : kEntries) {
      if (n == e.name) {
        mask |= e.bit;
        break;
      }
    }
  }
  return mask;
}

Result<void> validate_queue_name(std::string_view name, bool fifo) {
  fifo = fifo || name.ends_with(kFifoSuffix);  // a FIFO queue's name, checked as one
  std::string_view stem = name;
  bool ok = !name.empty() && name.size() <= kMaxQueueNameLength;
  if (fifo) {
    ok = ok && name.size() > kFifoSuffix.size() && name.ends_with(kFifoSuffix);
    stem.remove_suffix(std::min(stem.size(), kFifoSuffix.size()));
  }
  if (!ok || !std::all_of(stem.begin(), stem.end(), is_id_char)) {
    return invalid(
        "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in "
        "length");
  }
  return {};
}

}  // namespace lqs::queue
