// Copyright lqs authors.
#include "lqs/message.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

namespace lqs {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// Writes the two lower-case hex digits of `b` at `out`.
void put_hex(uint8_t b, char* out) noexcept {
  out[0] = kHex[b >> 4];
  out[1] = kHex[b & 15];
}

}  // namespace

void MessageId::append_to(std::string& out) const {
  // 8-4-4-4-12: a hyphen before bytes 4, 6, 8 and 10.
  char s[36];
  size_t pos = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) {
      s[pos++] = '-';
    }
    put_hex(bytes[i], &s[pos]);
    pos += 2;
  }
  out.append(s, sizeof s);
}

std::string MessageId::to_string() const {
  std::string s;
  append_to(s);
  return s;
}

void Md5Digest::append_hex_to(std::string& out) const {
  char s[32];
  for (size_t i = 0; i < bytes.size(); ++i) {
    put_hex(bytes[i], &s[2 * i]);
  }
  out.append(s, sizeof s);
}

std::string Md5Digest::to_hex() const {
  std::string s;
  append_hex_to(s);
  return s;
}

}  // namespace lqs
