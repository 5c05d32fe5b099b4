// Copyright lqs authors. A small synchronous HTTP/1.1 client for lqsd's SQS JSON protocol.
#ifndef LQS_TOOLS_LQS_HTTP_CLIENT_HPP_
#define LQS_TOOLS_LQS_HTTP_CLIENT_HPP_

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace lqs::cli {

struct Endpoint {
  std::string host;
  std::string port;
};

/// "http://host:port[/...]" or "host:port" (port 80 when absent). nullopt for anything else
/// (https is not served by lqsd).
std::optional<Endpoint> parse_endpoint(const std::string& text);

struct HttpAnswer {
  int status = 0;
  std::string body;
  std::string error;  ///< set when no answer came (connection refused, timeout, ...)
};

/// POSTs `body` to `/` with `X-Amz-Target: AmazonSQS.<action>` and the JSON 1.0 content type;
/// waits at most `timeout` for the whole exchange.
HttpAnswer call_sqs_json(const Endpoint& endpoint, const std::string& action,
                         const std::string& body, std::chrono::milliseconds timeout);

}  // namespace lqs::cli

#endif  // LQS_TOOLS_LQS_HTTP_CLIENT_HPP_
