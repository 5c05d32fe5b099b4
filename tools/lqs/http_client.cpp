// Copyright lqs authors. The HTTP client: Boost.Beast on one io_context, each step an async
// operation run to completion so that the stream's deadline bounds it (Beast's synchronous
// calls have no timeout).
#include "http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace lqs::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::optional<Endpoint> parse_endpoint(const std::string& text) {
  std::string_view t = text;
  if (t.starts_with("http://")) {
    t.remove_prefix(7);
  } else if (t.find("://") != std::string_view::npos) {
    return std::nullopt;
  }
  t = t.substr(0, t.find('/'));
  if (t.empty()) return std::nullopt;
  Endpoint e;
  const auto colon = t.rfind(':');
  if (colon == std::string_view::npos || (t.front() == '[' && t.back() == ']')) {
    e.host = std::string(t);
    e.port = "80";
  } else {
    e.host = std::string(t.substr(0, colon));
    e.port = std::string(t.substr(colon + 1));
  }
  if (e.host.size() > 2 && e.host.front() == '[' && e.host.back() == ']') {
    e.host = e.host.substr(1, e.host.size() - 2);
  }
  if (e.host.empty() || e.port.empty() ||
      e.port.find_first_not_of("0123456789") != std::string::npos || e.port.size() > 5) {
    return std::nullopt;
  }
  return e;
}

HttpAnswer call_sqs_json(const Endpoint& endpoint, const std::string& action,
                         const std::string& body, std::chrono::milliseconds timeout) {
  HttpAnswer answer;
  asio::io_context ioc;
  beast::error_code ec;
  tcp::resolver resolver(ioc);
  const auto results = resolver.resolve(endpoint.host, endpoint.port, ec);
  if (ec) {
    answer.error = "cannot resolve " + endpoint.host + ": " + ec.message();
    return answer;
  }
  beast::tcp_stream stream(ioc);
  stream.expires_after(timeout);
  // Each step records its error and the next one runs only if it succeeded.
  auto run = [&ioc] {
    ioc.run();
    ioc.restart();
  };
  stream.async_connect(results, [&ec](beast::error_code e, const tcp::endpoint&) { ec = e; });
  run();
  if (ec) {
    answer.error = ec.message();
    return answer;
  }
  http::request<http::string_body> req{http::verb::post, "/", 11};
  req.set(http::field::host, endpoint.host + ":" + endpoint.port);
  req.set(http::field::content_type, "application/x-amz-json-1.0");
  req.set("X-Amz-Target", "AmazonSQS." + action);
  req.set(http::field::user_agent, "lqs-cli");
  req.body() = body;
  req.prepare_payload();
  http::async_write(stream, req, [&ec](beast::error_code e, size_t) { ec = e; });
  run();
  if (ec) {
    answer.error = ec.message();
    return answer;
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  http::async_read(stream, buffer, parser, [&ec](beast::error_code e, size_t) { ec = e; });
  run();
  if (ec) {
    answer.error = ec == beast::error::timeout ? "timed out" : ec.message();
    return answer;
  }
  answer.status = static_cast<int>(parser.get().result_int());
  answer.body = std::move(parser.get().body());
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  return answer;
}

}  // namespace lqs::cli
