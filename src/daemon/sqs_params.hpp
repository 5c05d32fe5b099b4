// Copyright lqs authors. Reading SQS request members from the JSON-protocol-shaped input that
// both protocols are decoded into (the Query protocol is translated to the same shape), with
// SQS's errors for missing and mistyped members. Internal to lqsd's API layer.
#ifndef LQS_DAEMON_SQS_PARAMS_HPP_
#define LQS_DAEMON_SQS_PARAMS_HPP_

#include "lqs/result.hpp"

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lqs::daemon::params {

using nlohmann::json;

inline Error invalid(const std::string& message) {
  return make_error(ErrorCode::kInvalidParameterValue, message);
}

inline Error missing(std::string_view parameter) {
  return make_error(ErrorCode::kMissingParameter,
                    "The request must contain the parameter " + std::string(parameter) + ".");
}

/// A required string member. Errors: kMissingParameter, kInvalidParameterValue.
Result<std::string> need_string(const json& in, std::string_view name);
/// An optional string member ("" when absent). Errors: kInvalidParameterValue (not a string).
Result<std::string> opt_string(const json& in, std::string_view name);
/// An optional 32-bit integer member. Errors: kInvalidParameterValue.
Result<std::optional<int32_t>> opt_int(const json& in, std::string_view name);
/// A map of strings (Attributes, Tags). Errors: kInvalidParameterValue.
Result<std::map<std::string, std::string, std::less<>>> string_map(const json& in,
                                                                   std::string_view name);
/// A list of strings (AttributeNames, TagKeys). Errors: kInvalidParameterValue.
Result<std::vector<std::string>> string_list(const json& in, std::string_view name);
/// The queue name in the QueueUrl member: its last path segment (any scheme, host and
/// account; a bare name works too). Errors: kMissingParameter, kQueueDoesNotExist.
Result<std::string> queue_of_url(const json& in);
/// The same for a QueueUrl already read. Errors: kQueueDoesNotExist.
Result<std::string> queue_name_of_url(std::string_view url);

/// Standard base64 (RFC 4648 §4, padded), as SQS's blobs travel in both protocols.
std::string base64_encode(std::string_view bytes);
/// Decodes standard base64; tolerates missing padding. nullopt for anything else.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace lqs::daemon::params

#endif  // LQS_DAEMON_SQS_PARAMS_HPP_
