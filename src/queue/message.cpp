// Copyright lqs authors.
#include "lqs/message.hpp"

namespace lqs {
namespace {
constexpr char kHex[] = "0123456789abcdef";
}  // namespace

std::string MessageId::to_string() const {
  std::string s;
  s.reserve(36);
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(kHex[bytes[i] >> 4]);
    s.push_back(kHex[bytes[i] & 15]);
  }
  return s;
}

std::string Md5Digest::to_hex() const {
  std::string s;
  s.reserve(32);
  for (uint8_t b : bytes) {
    s.push_back(kHex[b >> 4]);
    s.push_back(kHex[b & 15]);
  }
  return s;
}

}  // namespace lqs
