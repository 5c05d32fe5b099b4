// Copyright lqs authors.
#include "daemon/sqs_http.hpp"

#include "common/random.hpp"

#include <nlohmann/json.hpp>
#include <string>

namespace lqs::daemon {
namespace {

using nlohmann::json;

constexpr std::string_view kTargetPrefix = "AmazonSQS.";
constexpr std::string_view kJsonType = "application/x-amz-json-1.0";

std::string request_id() { return common::new_message_id().to_string(); }

http::Response json_error(const Error& e, const std::string& id) {
  http::Response r;
  r.status = sqs_http_status(e.code);
  r.content_type = std::string(kJsonType);
  const json body = {{"__type", "com.amazonaws.sqs#" + std::string(sqs_shape(e.code))},
                     {"message", e.message}};
  r.body = body.dump();
  const bool server_fault = r.status >= 500;
  r.headers.emplace_back("x-amzn-RequestId", id);
  r.headers.emplace_back("x-amzn-query-error", std::string(sqs_legacy_code(e.code)) +
                                                   (server_fault ? ";Receiver" : ";Sender"));
  return r;
}

http::Response json_ok(const json& body, const std::string& id) {
  http::Response r;
  r.content_type = std::string(kJsonType);
  // Bodies may hold any bytes a client sent as UTF-8; replace what is not valid UTF-8
  // rather than throwing (the engine only accepts SQS's character set anyway).
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  r.headers.emplace_back("x-amzn-RequestId", id);
  return r;
}

}  // namespace

bool SqsHttp::accepts(const http::Request& r) {
  return r.method == "POST" && r.header("X-Amz-Target").starts_with(kTargetPrefix);
}

void SqsHttp::handle(const http::Request& r, const http::Respond& respond) {
  const std::string id = request_id();
  const std::string target = r.header("X-Amz-Target");
  const std::string action = target.substr(kTargetPrefix.size());
  const json in = r.body.empty() ? json::object() : json::parse(r.body, nullptr, false);
  if (in.is_discarded() || !in.is_object()) {
    respond(json_error(
        make_error(ErrorCode::kMalformedRequest, "The request body is not a valid JSON object."),
        id));
    return;
  }
  CallContext ctx;
  ctx.host = r.header("Host");
  if (ctx.host.empty()) {
    ctx.host = "localhost";
  }
  ctx.trace_header = r.header("X-Amzn-Trace-Id");
  api_.call(action, in, ctx, [respond, id](Result<json> out) {
    respond(out ? json_ok(*out, id) : json_error(out.error(), id));
  });
}

}  // namespace lqs::daemon
