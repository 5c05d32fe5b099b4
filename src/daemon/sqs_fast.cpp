// Copyright lqs authors.
#include "daemon/sqs_fast.hpp"

#include "daemon/sqs_api.hpp"
#include "daemon/sqs_params.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>

namespace lqs::daemon::fast {
namespace {

// The length of the well-formed UTF-8 sequence at `p` (RFC 3629: no overlong form, no
// surrogate, nothing above U+10FFFF), of at most `avail` bytes; 0 if there is none.
size_t utf8_length(const unsigned char* p, size_t avail) {
  const unsigned char b0 = p[0];
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  size_t more = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    more = 1;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    more = 2;
    if (b0 == 0xE0) {
      lo = 0xA0;
    }
    if (b0 == 0xED) {
      hi = 0x9F;
    }
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    more = 3;
    if (b0 == 0xF0) {
      lo = 0x90;
    }
    if (b0 == 0xF4) {
      hi = 0x8F;
    }
  } else {
    return 0;
  }
  if (avail <= more) {
    return 0;
  }
  for (size_t i = 1; i <= more; ++i) {
    if (p[i] < lo || p[i] > hi) {
      return 0;
    }
    lo = 0x80;  // only the second byte has a narrower range
    hi = 0xBF;
  }
  return more + 1;
}

// A strict reader of JSON text (RFC 8259), for the few shapes above. Every function returns
// false for anything it does not handle; the caller then gives up on the whole input.
class Reader {
 public:
  explicit Reader(std::string_view s) : p_(s.data()), end_(s.data() + s.size()) {}

  bool eat(char c) {
    ws();
    if (p_ < end_ && *p_ == c) {
      ++p_;
      return true;
    }
    return false;
  }

  bool at_end() {
    ws();
    return p_ == end_;
  }

  // A member name: printable ASCII without escapes (no member this reader knows needs more).
  bool key(std::string_view& out) {
    if (!eat('"')) {
      return false;
    }
    const char* start = p_;
    while (p_ < end_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        out = std::string_view(start, static_cast<size_t>(p_ - start));
        ++p_;
        return eat(':');
      }
      if (c < 0x20 || c >= 0x80 || c == '\\') {
        return false;
      }
      ++p_;
    }
    return false;
  }

  // A string value, unescaped into `out`: exactly what nlohmann::json decodes, or false.
  bool string(std::string& out) {
    if (!eat('"')) {
      return false;
    }
    out.clear();
    const char* run = p_;  // bytes copied as they are, up to p_
    while (p_ < end_) {
      // Eight plain bytes at a time (printable ASCII other than '"' and '\\'): a body is
      // mostly those, and a byte at a time cost 0.7-0.8 ns per byte (256 KiB: 204 µs). Where
      // a word is not plain, the next 64 bytes go a byte at a time (text dense with UTF-8
      // would otherwise pay a failed word test every few bytes).
      while (end_ - p_ >= 8 && plain8(p_)) {
        p_ += 8;
      }
      const char* stop = end_ - p_ > 64 ? p_ + 64 : end_;
      while (p_ < stop) {
        const auto c = static_cast<unsigned char>(*p_);
        if (c == '"') {
          out.append(run, p_);
          ++p_;
          return true;
        }
        if (c == '\\') {
          out.append(run, p_);
          ++p_;
          if (!escape(out)) {
            return false;
          }
          run = p_;
        } else if (c >= 0x20 && c < 0x80) {
          ++p_;
        } else if (c < 0x20 || !utf8()) {
          return false;  // a control character (JSON wants it escaped), or not UTF-8
        }
      }
    }
    return false;
  }

  // A plain integer of at most 9 digits (so it fits an int32_t): what opt_int() accepts
  // without an error. Fractions, exponents and longer numbers go the general way.
  bool int32(std::optional<int32_t>& out) {
    ws();
    const bool negative = p_ < end_ && *p_ == '-';
    if (negative) {
      ++p_;
    }
    if (p_ == end_ || *p_ < '0' || *p_ > '9') {
      return false;
    }
    int64_t v = 0;
    if (*p_ == '0') {
      ++p_;
    } else {
      int digits = 0;
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') {
        if (++digits > 9) {
          return false;
        }
        v = v * 10 + (*p_ - '0');
        ++p_;
      }
    }
    if (p_ < end_ && ((*p_ >= '0' && *p_ <= '9') || *p_ == '.' || *p_ == 'e' || *p_ == 'E')) {
      return false;
    }
    out = static_cast<int32_t>(negative ? -v : v);
    return true;
  }

 private:
  // True if none of the 8 bytes at `p` is below 0x20, at or above 0x80, '"' or '\\'.
  // (SWAR: a byte b < n shows as the high bit of (b - n) & ~b; exact for "any byte", which is
  // all this asks.)
  static bool plain8(const char* p) {
    uint64_t w = 0;
    std::memcpy(&w, p, 8);
    constexpr uint64_t kOnes = 0x0101010101010101ULL;
    constexpr uint64_t kHigh = 0x8080808080808080ULL;
    const auto below = [](uint64_t x, uint64_t n) { return (x - kOnes * n) & ~x & kHigh; };
    const uint64_t quote = w ^ (kOnes * '"');
    const uint64_t slash = w ^ (kOnes * '\\');
    return ((w & kHigh) | below(w, 0x20) | below(quote, 1) | below(slash, 1)) == 0;
  }

  void ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) {
      ++p_;
    }
  }

  bool hex4(uint32_t& v) {
    if (end_ - p_ < 4) {
      return false;
    }
    v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = *p_++;
      uint32_t d = 0;
      if (c >= '0' && c <= '9') {
        d = static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        d = static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        d = static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return false;
      }
      v = (v << 4) | d;
    }
    return true;
  }

  // After a backslash.
  bool escape(std::string& out) {
    if (p_ == end_) {
      return false;
    }
    const char c = *p_++;
    switch (c) {
      case '"':
        out.push_back('"');
        return true;
      case '\\':
        out.push_back('\\');
        return true;
      case '/':
        out.push_back('/');
        return true;
      case 'b':
        out.push_back('\b');
        return true;
      case 'f':
        out.push_back('\f');
        return true;
      case 'n':
        out.push_back('\n');
        return true;
      case 'r':
        out.push_back('\r');
        return true;
      case 't':
        out.push_back('\t');
        return true;
      case 'u':
        break;
      default:
        return false;
    }
    uint32_t cp = 0;
    if (!hex4(cp)) {
      return false;
    }
    if (cp >= 0xDC00 && cp <= 0xDFFF) {
      return false;  // a lone low surrogate
    }
    if (cp >= 0xD800 && cp <= 0xDBFF) {  // must be followed by a low one
      uint32_t low = 0;
      if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') {
        return false;
      }
      p_ += 2;
      if (!hex4(low) || low < 0xDC00 || low > 0xDFFF) {
        return false;
      }
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    put_utf8(cp, out);
    return true;
  }

  static void put_utf8(uint32_t cp, std::string& out) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  // One UTF-8 sequence of 2-4 bytes at p_ (RFC 3629 §4: no overlong forms, no surrogates,
  // nothing above U+10FFFF), as nlohmann's lexer checks it.
  bool utf8() {
    const size_t n =
        utf8_length(reinterpret_cast<const unsigned char*>(p_), static_cast<size_t>(end_ - p_));
    p_ += n;
    return n != 0;
  }

  const char* p_;
  const char* end_;
};

// Bits of the members seen in one object (a member twice goes the general way: nlohmann keeps
// the last one, and this reader does not try to agree).
enum Member : unsigned {
  kUrl = 1U << 0,
  kBody = 1U << 1,
  kDelay = 1U << 2,
  kGroup = 1U << 3,
  kDedup = 1U << 4,
  kId = 1U << 5,
  kEntries = 1U << 6,
  kHandle = 1U << 7,
};

bool first_time(unsigned& seen, unsigned bit) {
  if ((seen & bit) != 0) {
    return false;
  }
  seen |= bit;
  return true;
}

// One member of a message to send; false for any other member.
bool message_member(Reader& r, std::string_view k, messages::OwnedSend& m, unsigned& seen) {
  if (k == "MessageBody") {
    return first_time(seen, kBody) && r.string(m.body);
  }
  if (k == "DelaySeconds") {
    return first_time(seen, kDelay) && r.int32(m.delay_s);
  }
  if (k == "MessageGroupId") {
    return first_time(seen, kGroup) && r.string(m.group_id);
  }
  if (k == "MessageDeduplicationId") {
    return first_time(seen, kDedup) && r.string(m.dedup_id);
  }
  return false;
}

// Entries: 1..10 objects, each with a well-formed Id (distinct) and a MessageBody.
bool read_entries(Reader& r, SendInput& out) {
  if (!r.eat('[')) {
    return false;
  }
  out.entries.reserve(messages::kMaxBatchEntries);
  out.ids.reserve(messages::kMaxBatchEntries);
  do {
    if (out.entries.size() == messages::kMaxBatchEntries || !r.eat('{')) {
      return false;
    }
    messages::OwnedSend& m = out.entries.emplace_back();
    std::string& id = out.ids.emplace_back();
    unsigned seen = 0;
    do {
      std::string_view k;
      if (!r.key(k)) {
        return false;
      }
      if (k == "Id") {
        if (!first_time(seen, kId) || !r.string(id)) {
          return false;
        }
      } else if (!message_member(r, k, m, seen)) {
        return false;
      }
    } while (r.eat(','));
    if (!r.eat('}') || (seen & (kId | kBody)) != (kId | kBody) || !messages::valid_entry_id(id)) {
      return false;
    }
    for (size_t i = 0; i + 1 < out.ids.size(); ++i) {
      if (out.ids[i] == id) {
        return false;
      }
    }
  } while (r.eat(','));
  return r.eat(']');
}

// A string member whose value needs no escaping (ids, digests, codes, digits); `comma` first.
void plain_member(std::string& o, std::string_view name, std::string_view value) {
  o.push_back('"');
  o.append(name);
  o.append("\":\"");
  o.append(value);
  o.push_back('"');
}

// The members of messages::send_result() in nlohmann's (sorted) order, after `id` if any.
void send_members(std::string& o, const SendResult& r, std::string_view id) {
  if (!id.empty()) {
    plain_member(o, "Id", id);
    o.push_back(',');
  }
  const auto digest = [&](std::string_view name, const std::optional<Md5Digest>& d) {
    if (d) {
      o.push_back('"');
      o.append(name);
      o.append("\":\"");
      d->append_hex_to(o);
      o.append("\",");
    }
  };
  digest("MD5OfMessageAttributes", r.md5_of_message_attributes);
  digest("MD5OfMessageBody", r.md5_of_body);
  digest("MD5OfMessageSystemAttributes", r.md5_of_message_system_attributes);
  o.append(R"("MessageId":")");
  r.message_id.append_to(o);
  o.push_back('"');
  if (!r.sequence_number.empty()) {
    o.append(R"(,"SequenceNumber":")");
    r.sequence_number.append_to(o);
    o.push_back('"');
  }
}

}  // namespace

bool read_send(std::string_view body, bool batch, SendInput& out) {
  out.queue_url.clear();
  out.ids.clear();
  out.entries.clear();
  Reader r(body);
  if (!r.eat('{')) {
    return false;
  }
  unsigned seen = 0;
  messages::OwnedSend single;
  do {
    std::string_view k;
    if (!r.key(k)) {
      return false;
    }
    if (k == "QueueUrl") {
      if (!first_time(seen, kUrl) || !r.string(out.queue_url)) {
        return false;
      }
    } else if (batch) {
      if (k != "Entries" || !first_time(seen, kEntries) || !read_entries(r, out)) {
        return false;
      }
    } else if (!message_member(r, k, single, seen)) {
      return false;
    }
  } while (r.eat(','));
  if (!r.eat('}') || !r.at_end() || (seen & kUrl) == 0) {
    return false;
  }
  if (batch) {
    return (seen & kEntries) != 0;
  }
  if ((seen & kBody) == 0) {
    return false;
  }
  out.entries.push_back(std::move(single));
  return true;
}

bool read_delete(std::string_view body, std::string& queue_url, std::string& receipt_handle) {
  Reader r(body);
  if (!r.eat('{')) {
    return false;
  }
  unsigned seen = 0;
  do {
    std::string_view k;
    if (!r.key(k)) {
      return false;
    }
    if (k == "QueueUrl") {
      if (!first_time(seen, kUrl) || !r.string(queue_url)) {
        return false;
      }
    } else if (k == "ReceiptHandle") {
      if (!first_time(seen, kHandle) || !r.string(receipt_handle)) {
        return false;
      }
    } else {
      return false;
    }
  } while (r.eat(','));
  return r.eat('}') && r.at_end() && seen == (kUrl | kHandle);
}

namespace {

// nlohmann's two-character escapes in a string: the character after the backslash, or 0 (other
// control characters are \u00xx).
constexpr std::array<char, 128> kShortEscape = [] {
  std::array<char, 128> t{};
  t['"'] = '"';
  t['\\'] = '\\';
  t['\b'] = 'b';
  t['\f'] = 'f';
  t['\n'] = 'n';
  t['\r'] = 'r';
  t['\t'] = 't';
  return t;
}();

}  // namespace

void append_json_string(std::string& o, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  const size_t start = o.size();
  o.push_back('"');
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const unsigned char* end = p + s.size();
  while (p < end) {
    const unsigned char c = *p;
    if (c >= 0x80) {
      // A UTF-8 sequence, copied as it is (no ensure_ascii) if well formed. Otherwise
      // nlohmann replaces bytes with U+FFFD by rules of its own: let it write the whole string.
      const size_t n = utf8_length(p, static_cast<size_t>(end - p));
      if (n == 0) {
        o.resize(start);
        o.append(nlohmann::json(std::string(s))
                     .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        return;
      }
      o.append(reinterpret_cast<const char*>(p), n);
      p += n;
      continue;
    }
    if (const char e = kShortEscape[c]; e != 0) {
      const char esc[2] = {'\\', e};
      o.append(esc, sizeof esc);
    } else if (c < 0x20) {
      const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
      o.append(esc, sizeof esc);
    } else {
      o.push_back(static_cast<char>(c));
    }
    ++p;
  }
  o.push_back('"');
}

namespace {

// `"name":` then `value` as a JSON string.
void string_member(std::string& o, std::string_view name, std::string_view value) {
  o.push_back('"');
  o.append(name);
  o.append("\":");
  append_json_string(o, value);
}

}  // namespace

std::string write_receive(const ReceiveBatch& b, bool want_sender, bool want_source,
                          const messages::Identity& identity) {
  if (b.count == 0) {
    return "{}";
  }
  std::string o;
  size_t guess = 16;
  for (size_t i = 0; i < b.count; ++i) {
    guess += 200 + b.messages[i].body.size() + 64 * b.messages[i].system_attributes.size();
  }
  o.reserve(guess);
  o.append("{\"Messages\":[");
  // Attributes by name, as nlohmann's std::map orders them. Names are distinct: the engine's
  // system attributes never include SenderId or DeadLetterQueueSourceArn.
  std::vector<std::pair<std::string_view, std::string_view>> attrs;
  std::string source_arn;
  std::string binary;
  for (size_t i = 0; i < b.count; ++i) {
    const ReceivedMessage& m = b.messages[i];
    if (i > 0) {
      o.push_back(',');
    }
    o.push_back('{');
    attrs.clear();
    for (const auto& [k, v] : m.system_attributes) {
      attrs.emplace_back(k, v);
    }
    if (want_sender) {
      attrs.emplace_back("SenderId", identity.account_id);
    }
    if (want_source && !m.dead_letter_source_queue.empty() && identity.queue_arn) {
      source_arn = identity.queue_arn(m.dead_letter_source_queue);
      attrs.emplace_back("DeadLetterQueueSourceArn", source_arn);
    }
    if (!attrs.empty()) {
      std::sort(attrs.begin(), attrs.end());
      o.append("\"Attributes\":{");
      for (size_t k = 0; k < attrs.size(); ++k) {
        if (k > 0) {
          o.push_back(',');
        }
        append_json_string(o, attrs[k].first);
        o.push_back(':');
        append_json_string(o, attrs[k].second);
      }
      o.append("},");
    }
    string_member(o, "Body", m.body);
    o.append(R"(,"MD5OfBody":")");
    if (m.md5_of_body) {
      m.md5_of_body->append_hex_to(o);
    }
    o.push_back('"');
    if (!m.attributes.empty()) {
      if (m.md5_of_message_attributes) {
        o.append(R"(,"MD5OfMessageAttributes":")");
        m.md5_of_message_attributes->append_hex_to(o);
        o.push_back('"');
      }
      // Already in the map's order: a receive returns them sorted by name, and names are
      // distinct (validate_message_attributes refuses a name twice).
      o.append(",\"MessageAttributes\":{");
      for (size_t k = 0; k < m.attributes.size(); ++k) {
        const MessageAttribute& a = m.attributes[k];
        if (k > 0) {
          o.push_back(',');
        }
        append_json_string(o, a.name);
        o.append(":{");
        if (a.data_type.starts_with("Binary")) {
          binary = params::base64_encode(a.value);
          string_member(o, "BinaryValue", binary);
          o.push_back(',');
          string_member(o, "DataType", a.data_type);
        } else {
          string_member(o, "DataType", a.data_type);
          o.push_back(',');
          string_member(o, "StringValue", a.value);
        }
        o.push_back('}');
      }
      o.push_back('}');
    }
    o.append(R"(,"MessageId":")");
    m.message_id.append_to(o);
    o.push_back('"');
    o.push_back(',');
    string_member(o, "ReceiptHandle", m.receipt_handle);
    o.push_back('}');
  }
  o.append("]}");
  return o;
}

std::string write_send(const SendResult& r) {
  std::string o;
  o.reserve(192);
  o.push_back('{');
  send_members(o, r, {});
  o.push_back('}');
  return o;
}

std::string write_send_batch(std::span<const std::string> ids,
                             std::span<const Result<SendResult>> results) {
  std::string o;
  o.reserve(64 + 160 * results.size());
  bool any_failed = false;
  for (const auto& res : results) {
    any_failed = any_failed || !res;
  }
  o.push_back('{');
  if (any_failed) {
    o.append("\"Failed\":[");
    bool first = true;
    for (size_t k = 0; k < results.size(); ++k) {
      if (results[k]) {
        continue;
      }
      if (!first) {
        o.push_back(',');
      }
      first = false;
      const Error& e = results[k].error();
      o.push_back('{');
      plain_member(o, "Code", sqs_legacy_code(e.code));
      o.push_back(',');
      plain_member(o, "Id", ids[k]);
      // The message may quote what the client sent: nlohmann escapes it as the general path.
      o.append(",\"Message\":");
      o.append(
          nlohmann::json(e.message).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      o.append(sqs_http_status(e.code) < 500 ? ",\"SenderFault\":true}"
                                             : ",\"SenderFault\":false}");
    }
    o.append("],");
  }
  o.append("\"Successful\":[");
  bool first = true;
  for (size_t k = 0; k < results.size(); ++k) {
    if (!results[k]) {
      continue;
    }
    if (!first) {
      o.push_back(',');
    }
    first = false;
    o.push_back('{');
    send_members(o, *results[k], ids[k]);
    o.push_back('}');
  }
  o.append("]}");
  return o;
}

}  // namespace lqs::daemon::fast
