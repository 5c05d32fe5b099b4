// Copyright lqs authors.
#include "lqs/queue_attributes.hpp"

#include <charconv>
#include <cstdint>
#include <string>
#include <system_error>

namespace lqs {
namespace {

// One row per settable attribute: its SQS name, its inclusive range and how to read and write
// its field. Every field fits in int64_t (LqsCapacityBytes tops out at 2^36).
struct Spec {
  std::string_view name;
  int64_t lo;
  int64_t hi;
  int64_t (*get)(const QueueAttributes&);
  void (*set)(QueueAttributes&, int64_t);  // REQUIRES: lo <= v <= hi
};

constexpr Spec kSpecs[] = {
    {"VisibilityTimeout", 0, 43200,
     [](const QueueAttributes& a) -> int64_t { return a.visibility_timeout_s; },
     [](QueueAttributes& a, int64_t v) { a.visibility_timeout_s = static_cast<int32_t>(v); }},
    {"MessageRetentionPeriod", 60, 1209600,
     [](const QueueAttributes& a) -> int64_t { return a.message_retention_period_s; },
     [](QueueAttributes& a, int64_t v) { a.message_retention_period_s = static_cast<int32_t>(v); }},
    {"MaximumMessageSize", 1024, 1048576,
     [](const QueueAttributes& a) -> int64_t { return a.maximum_message_size; },
     [](QueueAttributes& a, int64_t v) { a.maximum_message_size = static_cast<int32_t>(v); }},
    {"DelaySeconds", 0, 900, [](const QueueAttributes& a) -> int64_t { return a.delay_s; },
     [](QueueAttributes& a, int64_t v) { a.delay_s = static_cast<int32_t>(v); }},
    {"ReceiveMessageWaitTimeSeconds", 0, 20,
     [](const QueueAttributes& a) -> int64_t { return a.receive_message_wait_time_s; },
     [](QueueAttributes& a, int64_t v) {
       a.receive_message_wait_time_s = static_cast<int32_t>(v);
     }},
    {"LqsCapacityMessages", 16, 4194304,
     [](const QueueAttributes& a) -> int64_t { return a.capacity_messages; },
     [](QueueAttributes& a, int64_t v) { a.capacity_messages = static_cast<uint32_t>(v); }},
    {"LqsCapacityBytes", int64_t{2} << 20, int64_t{64} << 30,
     [](const QueueAttributes& a) -> int64_t {
       // Values above INT64_MAX map to -1, which is out of range like they are.
       return a.capacity_bytes > uint64_t{INT64_MAX} ? -1 : static_cast<int64_t>(a.capacity_bytes);
     },
     [](QueueAttributes& a, int64_t v) { a.capacity_bytes = static_cast<uint64_t>(v); }},
};

const Spec* find_spec(std::string_view name) noexcept {
  for (const Spec& s : kSpecs) {
    if (s.name == name) {
      return &s;
    }
  }
  return nullptr;
}

Error unknown_attribute(std::string_view name) {
  return make_error(ErrorCode::kInvalidAttributeName,
                    "Unknown Attribute " + std::string(name) + ".");
}

Error invalid_value(const Spec& s) {
  return make_error(ErrorCode::kInvalidAttributeValue,
                    "Invalid value for the parameter " + std::string(s.name) +
                        ". Reason: must be an integer between " + std::to_string(s.lo) + " and " +
                        std::to_string(s.hi) + ".");
}

// A plain decimal integer: an optional '-', then one or more digits, nothing else ("1.5",
// "", " 1", "+1", "0x10" and "1e3" are not integers). Overflow fails.
bool parse_integer(std::string_view text, int64_t& out) noexcept {
  if (text.empty()) {
    return false;
  }
  const char* end = text.data() + text.size();
  const auto [p, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && p == end;
}

// The FIFO attributes: SQS words, not integers.
struct WordSpec {
  std::string_view name;
  std::string_view yes;  // value that sets the flag
  std::string_view no;   // value that clears it
  bool QueueAttributes::*flag;
};

constexpr WordSpec kWordSpecs[] = {
    {"FifoQueue", "true", "false", &QueueAttributes::fifo_queue},
    {"ContentBasedDeduplication", "true", "false", &QueueAttributes::content_based_deduplication},
    {"DeduplicationScope", "messageGroup", "queue",
     &QueueAttributes::deduplication_scope_message_group},
    {"FifoThroughputLimit", "perMessageGroupId", "perQueue",
     &QueueAttributes::fifo_throughput_per_group},
};

const WordSpec* find_word_spec(std::string_view name) noexcept {
  for (const WordSpec& s : kWordSpecs) {
    if (s.name == name) {
      return &s;
    }
  }
  return nullptr;
}

constexpr std::string_view kDurabilityWords[] = {"memory", "async", "sync"};

}  // namespace

Result<void> validate(const QueueAttributes& attributes) {
  for (const Spec& s : kSpecs) {
    const int64_t v = s.get(attributes);
    if (v < s.lo || v > s.hi) {
      return invalid_value(s);
    }
  }
  return {};
}

Result<void> set_attribute(QueueAttributes& attributes, std::string_view name,
                           std::string_view value) {
  if (name == "LqsDurability") {
    for (size_t i = 0; i < std::size(kDurabilityWords); ++i) {
      if (value == kDurabilityWords[i]) {
        attributes.durability = static_cast<Durability>(i);
        return {};
      }
    }
    return make_error(ErrorCode::kInvalidAttributeValue,
                      "Invalid value for the parameter LqsDurability. Reason: must be memory, "
                      "async or sync.");
  }
  if (const WordSpec* w = find_word_spec(name); w != nullptr) {
    if (value != w->yes && value != w->no) {
      return make_error(ErrorCode::kInvalidAttributeValue,
                        "Invalid value for the parameter " + std::string(name) +
                            ". Reason: must be " + std::string(w->no) + " or " +
                            std::string(w->yes) + ".");
    }
    attributes.*(w->flag) = value == w->yes;
    return {};
  }
  const Spec* s = find_spec(name);
  if (s == nullptr) {
    return unknown_attribute(name);
  }
  int64_t v = 0;
  if (!parse_integer(value, v) || v < s->lo || v > s->hi) {
    return invalid_value(*s);
  }
  s->set(attributes, v);
  return {};
}

Result<std::string> get_attribute(const QueueAttributes& attributes, std::string_view name) {
  if (name == "LqsDurability") {
    const auto i = static_cast<size_t>(attributes.durability);
    return std::string(i < std::size(kDurabilityWords) ? kDurabilityWords[i] : "memory");
  }
  if (const WordSpec* w = find_word_spec(name); w != nullptr) {
    return std::string(attributes.*(w->flag) ? w->yes : w->no);
  }
  const Spec* s = find_spec(name);
  if (s == nullptr) {
    return unknown_attribute(name);
  }
  if (s->name == "LqsCapacityBytes") {
    return std::to_string(attributes.capacity_bytes);
  }
  return std::to_string(s->get(attributes));
}

}  // namespace lqs
