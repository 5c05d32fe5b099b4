// Copyright lqs authors.
#include "common/md5.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace lqs::common {
namespace {

class Md5 {
 public:
  Md5() : ctx_(EVP_MD_CTX_new()) { (void)EVP_DigestInit_ex(ctx_, EVP_md5(), nullptr); }
  ~Md5() { EVP_MD_CTX_free(ctx_); }
  Md5(const Md5&) = delete;
  Md5& operator=(const Md5&) = delete;
  void update(const void* p, size_t n) { (void)EVP_DigestUpdate(ctx_, p, n); }
  void update_len_prefixed(std::string_view s) {
    const auto n = static_cast<uint32_t>(s.size());
    const uint8_t be[4] = {static_cast<uint8_t>(n >> 24), static_cast<uint8_t>(n >> 16),
                           static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)};
    update(be, 4);
    update(s.data(), s.size());
  }
  Md5Digest finish() {
    Md5Digest d;
    unsigned int len = 0;
    (void)EVP_DigestFinal_ex(ctx_, d.bytes.data(), &len);
    return d;
  }

 private:
  EVP_MD_CTX* ctx_;
};

}  // namespace

Md5Digest md5(std::string_view bytes) noexcept {
  Md5Digest d;
  unsigned int len = 0;
  (void)EVP_Digest(bytes.data(), bytes.size(), d.bytes.data(), &len, EVP_md5(), nullptr);
  return d;
}

Md5Digest md5_of_message_attributes(std::span<const MessageAttribute> attributes) {
  std::vector<const MessageAttribute*> sorted;
  sorted.reserve(attributes.size());
  for (const auto& a : attributes) sorted.push_back(&a);
  // UTF-8 byte order equals code-point order.
  std::sort(sorted.begin(), sorted.end(),
            [](const MessageAttribute* a, const MessageAttribute* b) { return a->name < b->name; });
  Md5 m;
  for (const MessageAttribute* a : sorted) {
    m.update_len_prefixed(a->name);
    m.update_len_prefixed(a->data_type);
    const uint8_t transport = a->data_type.rfind("Binary", 0) == 0 ? 2 : 1;
    m.update(&transport, 1);
    m.update_len_prefixed(a->value);
  }
  return m.finish();
}

Md5Digest md5_of_trace_header(std::string_view value) {
  const MessageAttribute a{"AWSTraceHeader", "String", std::string(value)};
  return md5_of_message_attributes(std::span<const MessageAttribute>(&a, 1));
}

}  // namespace lqs::common
