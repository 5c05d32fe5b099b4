// Copyright lqs authors.
#include "lqs/message.hpp"

#include <array>
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

void SequenceNumber::append_to(std::string& out) const {
  if (empty()) {
    return;
  }
  static constexpr std::array<char, 200> kPairs = [] {
    std::array<char, 200> t{};
    for (size_t i = 0; i < 100; ++i) {
      t[2 * i] = static_cast<char>('0' + i / 10);
      t[2 * i + 1] = static_cast<char>('0' + i % 10);
    }
    return t;
  }();
  uint64_t v = uint64_t{10'000'000'000'000'000'000ULL} + value;  // < 2^64 for value < 8.4e18
  std::array<char, 20> buf{};
  for (size_t i = buf.size(); i > 0; i -= 2) {  // two digits at a time, from the right
    const auto pair = static_cast<size_t>(v % 100);
    v /= 100;
    buf[i - 2] = kPairs[2 * pair];
    buf[i - 1] = kPairs[2 * pair + 1];
  }
  out.append(buf.data(), buf.size());
}

std::string SequenceNumber::to_string() const {
  std::string s;
  append_to(s);
  return s;
}

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
