// Copyright lqs authors.
#include "daemon/sqs_params.hpp"

#include <array>

namespace lqs::daemon::params {

Result<std::string> need_string(const json& in, std::string_view name) {
  const auto it = in.find(name);
  if (it == in.end() || it->is_null()) {
    return missing(name);
  }
  if (!it->is_string()) {
    return invalid("Value for parameter " + std::string(name) + " must be a string.");
  }
  return it->get<std::string>();
}

Result<std::string> opt_string(const json& in, std::string_view name) {
  const auto it = in.find(name);
  if (it == in.end() || it->is_null()) {
    return std::string();
  }
  if (!it->is_string()) {
    return invalid("Value for parameter " + std::string(name) + " must be a string.");
  }
  return it->get<std::string>();
}

Result<std::optional<int32_t>> opt_int(const json& in, std::string_view name) {
  const auto it = in.find(name);
  if (it == in.end() || it->is_null()) {
    return std::optional<int32_t>();
  }
  if (!it->is_number_integer()) {
    return invalid("Value for parameter " + std::string(name) + " must be an integer.");
  }
  if (it->is_number_unsigned() && it->get<uint64_t>() > INT32_MAX) {
    return invalid("Value " + std::to_string(it->get<uint64_t>()) + " for parameter " +
                   std::string(name) + " is invalid.");
  }
  const auto v = it->get<int64_t>();
  if (v < INT32_MIN || v > INT32_MAX) {
    return invalid("Value " + std::to_string(v) + " for parameter " + std::string(name) +
                   " is invalid.");
  }
  return std::optional<int32_t>(static_cast<int32_t>(v));
}

Result<std::map<std::string, std::string, std::less<>>> string_map(const json& in,
                                                                   std::string_view name) {
  std::map<std::string, std::string, std::less<>> out;
  const auto it = in.find(name);
  if (it == in.end() || it->is_null()) {
    return out;
  }
  if (!it->is_object()) {
    return invalid("Value for parameter " + std::string(name) + " must be a map.");
  }
  for (const auto& [k, v] : it->items()) {
    if (!v.is_string()) {
      return invalid("Value for " + std::string(name) + "." + k + " must be a string.");
    }
    out[k] = v.get<std::string>();
  }
  return out;
}

Result<std::vector<std::string>> string_list(const json& in, std::string_view name) {
  std::vector<std::string> out;
  const auto it = in.find(name);
  if (it == in.end() || it->is_null()) {
    return out;
  }
  if (!it->is_array()) {
    return invalid("Value for parameter " + std::string(name) + " must be a list.");
  }
  for (const json& v : *it) {
    if (!v.is_string()) {
      return invalid("Value for parameter " + std::string(name) + " must list strings.");
    }
    out.push_back(v.get<std::string>());
  }
  return out;
}

Result<std::string> queue_of_url(const json& in) {
  auto url = need_string(in, "QueueUrl");
  if (!url) {
    return std::move(url).error();
  }
  return queue_name_of_url(*url);
}

Result<std::string> queue_name_of_url(std::string_view u) {
  u = u.substr(0, u.find_first_of("?#"));
  while (!u.empty() && u.back() == '/') {
    u.remove_suffix(1);
  }
  const auto slash = u.find_last_of('/');
  const std::string name(slash == std::string_view::npos ? u : u.substr(slash + 1));
  if (name.empty()) {
    return make_error(ErrorCode::kQueueDoesNotExist, "The specified queue does not exist.");
  }
  return name;
}

namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<uint8_t, 256> make_values() {
  std::array<uint8_t, 256> v{};
  for (auto& x : v) {
    x = 0xFF;
  }
  for (size_t i = 0; i < kAlphabet.size(); ++i) {
    v[static_cast<uint8_t>(kAlphabet[i])] = static_cast<uint8_t>(i);
  }
  return v;
}

constexpr std::array<uint8_t, 256> kValues = make_values();

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8) | p[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = uint32_t{p[i]} << 16;
    if (rest == 2) {
      v |= uint32_t{p[i + 1]} << 8;
    }
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') {
    text.remove_suffix(1);
  }
  if (text.size() % 4 == 1) {
    return std::nullopt;
  }
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    const uint8_t v = kValues[static_cast<uint8_t>(c)];
    if (v == 0xFF) {
      return std::nullopt;
    }
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

}  // namespace lqs::daemon::params
