// Copyright lqs authors.
#include "lqs/queue_attributes.hpp"

#include <charconv>
#include <cstdint>
#include <string>

namespace lqs {
namespace {

struct Spec {
  std::string_view name;
  int64_t lo, hi;
};

constexpr Spec kSpecs[] = {
    {"VisibilityTimeout", 0, 43200},
    {"MessageRetentionPeriod", 60, 1209600},
    {"MaximumMessageSize", 1024, 1048576},
    {"DelaySeconds", 0, 900},
    {"ReceiveMessageWaitTimeSeconds", 0, 20},
    {"LqsCapacityMessages", 16, 4194304},
    {"LqsCapacityBytes", 2097152, int64_t{68719476736}},
};

Error out_of_range(const Spec& s) {
  return make_error(ErrorCode::kInvalidAttributeValue,
                    "Invalid value for the parameter " + std::string(s.name) +
                        ". Reason: must be an integer between " + std::to_string(s.lo) + " and " +
                        std::to_string(s.hi) + ".");
}

int64_t field(const QueueAttributes& a, size_t i) {
  switch (i) {
    case 0:
      return a.visibility_timeout_s;
    case 1:
      return a.message_retention_period_s;
    case 2:
      return a.maximum_message_size;
    case 3:
      return a.delay_s;
    case 4:
      return a.receive_message_wait_time_s;
    case 5:
      return a.capacity_messages;
    default:
      return static_cast<int64_t>(a.capacity_bytes);
  }
}

void set_field(QueueAttributes& a, size_t i, int64_t v) {
  switch (i) {
    case 0:
      a.visibility_timeout_s = static_cast<int32_t>(v);
      break;
    case 1:
      a.message_retention_period_s = static_cast<int32_t>(v);
      break;
    case 2:
      a.maximum_message_size = static_cast<int32_t>(v);
      break;
    case 3:
      a.delay_s = static_cast<int32_t>(v);
      break;
    case 4:
      a.receive_message_wait_time_s = static_cast<int32_t>(v);
      break;
    case 5:
      a.capacity_messages = static_cast<uint32_t>(v);
      break;
    default:
      a.capacity_bytes = static_cast<uint64_t>(v);
      break;
  }
}

const Spec* find(std::string_view name, size_t& index) {
  for (size_t i = 0; i < std::size(kSpecs); ++i) {
    if (kSpecs[i].name == name) {
      index = i;
      return &kSpecs[i];
    }
  }
  return nullptr;
}

}  // namespace

Result<void> validate(const QueueAttributes& a) {
  for (size_t i = 0; i < std::size(kSpecs); ++i) {
    const int64_t v = field(a, i);
    if (v < kSpecs[i].lo || v > kSpecs[i].hi) return out_of_range(kSpecs[i]);
  }
  return {};
}

Result<void> set_attribute(QueueAttributes& a, std::string_view name, std::string_view value) {
  size_t i = 0;
  const Spec* s = find(name, i);
  if (s == nullptr) {
    return make_error(ErrorCode::kInvalidAttributeName,
                      "Unknown Attribute " + std::string(name) + ".");
  }
  int64_t v = 0;
  const char* end = value.data() + value.size();
  auto [p, ec] = std::from_chars(value.data(), end, v);
  if (value.empty() || ec != std::errc() || p != end || v < s->lo || v > s->hi) {
    return out_of_range(*s);
  }
  set_field(a, i, v);
  return {};
}

Result<std::string> get_attribute(const QueueAttributes& a, std::string_view name) {
  size_t i = 0;
  if (find(name, i) == nullptr) {
    return make_error(ErrorCode::kInvalidAttributeName,
                      "Unknown Attribute " + std::string(name) + ".");
  }
  return std::to_string(field(a, i));
}

}  // namespace lqs
