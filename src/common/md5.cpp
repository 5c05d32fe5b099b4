// Copyright lqs authors.
#include "common/md5.hpp"

#define OPENSSL_SUPPRESS_DEPRECATED  // MD5_Init and friends: see class Md5
#include <openssl/evp.h>
#include <openssl/md5.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

namespace lqs::common {
namespace {

constexpr uint8_t kTransportString = 1;  // StringValue: String and Number types
constexpr uint8_t kTransportBinary = 2;  // BinaryValue: Binary types
constexpr size_t kStackSortLimit = 16;   // SQS allows 10 attributes; more is never hot

// OpenSSL's MD5 functions on a context on the stack. They are deprecated in OpenSSL 3 in
// favour of EVP, but EVP costs ~40 ns more per 64-byte digest here (214-229 against 176 ns:
// provider dispatch, and an allocation per digest), which SendMessageBatch pays ten times a
// request. They cannot fail.
class Md5 {
 public:
  Md5() noexcept { (void)MD5_Init(&ctx_); }
  Md5(const Md5&) = delete;
  Md5& operator=(const Md5&) = delete;

  void update(const void* p, size_t n) noexcept {
    if (n != 0) {
      (void)MD5_Update(&ctx_, p, n);
    }
  }
  void update_len_prefixed(std::string_view s) noexcept {
    const auto n = static_cast<uint32_t>(s.size());
    const uint8_t be[4] = {static_cast<uint8_t>(n >> 24), static_cast<uint8_t>(n >> 16),
                           static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)};
    update(be, sizeof be);
    update(s.data(), s.size());
  }
  void update_attribute(std::string_view name, std::string_view data_type,
                        std::string_view value) noexcept {
    update_len_prefixed(name);
    update_len_prefixed(data_type);
    const uint8_t transport = data_type.starts_with("Binary") ? kTransportBinary : kTransportString;
    update(&transport, 1);
    update_len_prefixed(value);
  }
  Md5Digest finish() noexcept {
    Md5Digest d;
    (void)MD5_Final(d.bytes.data(), &ctx_);
    return d;
  }

 private:
  MD5_CTX ctx_{};
};

bool name_less(const MessageAttribute* a, const MessageAttribute* b) noexcept {
  return a->name < b->name;  // std::string compares as unsigned bytes: code-point order
}

// Stable insertion sort: no temporary buffer (std::stable_sort may allocate one).
void sort_by_name(std::span<const MessageAttribute*> order) noexcept {
  for (size_t i = 1; i < order.size(); ++i) {
    const MessageAttribute* a = order[i];
    size_t j = i;
    for (; j > 0 && name_less(a, order[j - 1]); --j) {
      order[j] = order[j - 1];
    }
    order[j] = a;
  }
}

Md5Digest digest_pointers(std::span<const MessageAttribute* const> sorted) noexcept {
  Md5 m;
  for (const MessageAttribute* a : sorted) {
    m.update_attribute(a->name, a->data_type, a->value);
  }
  return m.finish();
}

}  // namespace

Md5Digest md5(std::string_view bytes) noexcept {
  Md5 m;
  m.update(bytes.data(), bytes.size());
  return m.finish();
}

Md5Digest md5_of_sorted_message_attributes(std::span<const MessageAttribute> sorted) noexcept {
  Md5 m;
  for (const MessageAttribute& a : sorted) {
    m.update_attribute(a.name, a.data_type, a.value);
  }
  return m.finish();
}

Md5Digest md5_of_message_attributes(std::span<const MessageAttribute> attributes) {
  const auto by_name = [](const MessageAttribute& a, const MessageAttribute& b) {
    return a.name < b.name;
  };
  if (std::is_sorted(attributes.begin(), attributes.end(), by_name)) {
    return md5_of_sorted_message_attributes(attributes);
  }
  if (attributes.size() <= kStackSortLimit) {
    std::array<const MessageAttribute*, kStackSortLimit> order{};
    for (size_t i = 0; i < attributes.size(); ++i) {
      order[i] = &attributes[i];
    }
    const std::span<const MessageAttribute*> used(order.data(), attributes.size());
    sort_by_name(used);
    return digest_pointers(used);
  }
  std::vector<const MessageAttribute*> order;
  order.reserve(attributes.size());
  for (const MessageAttribute& a : attributes) {
    order.push_back(&a);
  }
  std::stable_sort(order.begin(), order.end(), name_less);
  return digest_pointers(order);
}

Md5Digest md5_of_trace_header(std::string_view value) noexcept {
  Md5 m;
  m.update_attribute("AWSTraceHeader", "String", value);
  return m.finish();
}

std::string sha256_hex(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md, &n, EVP_sha256(), nullptr) != 1) {
    return {};
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(size_t{2} * n);
  for (unsigned int i = 0; i < n; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

}  // namespace lqs::common
