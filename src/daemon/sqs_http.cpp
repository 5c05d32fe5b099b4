// Copyright lqs authors.
#include "daemon/sqs_http.hpp"

#include "common/random.hpp"
#include "daemon/sqs_query.hpp"

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

// An answer already written as JSON text (the fast paths).
http::Response json_text_ok(std::string body, const std::string& id) {
  http::Response r;
  r.content_type = std::string(kJsonType);
  r.body = std::move(body);
  r.headers.emplace_back("x-amzn-RequestId", id);
  return r;
}

http::Response xml_response(int status, std::string body, const std::string& id) {
  http::Response r;
  r.status = status;
  r.content_type = "text/xml";
  r.body = std::move(body);
  r.headers.emplace_back("x-amzn-RequestId", id);
  return r;
}

http::Response xml_error(const Error& e, const std::string& id) {
  return xml_response(sqs_http_status(e.code), query::render_error(e, id), id);
}

// What a call knows of its request besides its input (both protocols).
CallContext context_of(const http::Request& r, bool query_protocol) {
  CallContext ctx;
  ctx.host = r.header("Host");
  if (ctx.host.empty()) {
    ctx.host = "localhost";
  }
  ctx.trace_header = r.header("X-Amzn-Trace-Id");
  ctx.query_protocol = query_protocol;
  return ctx;
}

std::string_view path_of(const std::string& target) {
  return std::string_view(target).substr(0, target.find('?'));
}

std::string_view query_of(const std::string& target) {
  const auto q = target.find('?');
  return q == std::string::npos ? std::string_view() : std::string_view(target).substr(q + 1);
}

bool is_form(const http::Request& r) {
  return r.header("Content-Type").starts_with("application/x-www-form-urlencoded");
}

// A queue-URL path, "/<account>/<name>": the queue a Query request at it addresses.
bool is_queue_path(std::string_view path) {
  if (path.size() < 4 || path[0] != '/') {
    return false;
  }
  const auto slash = path.find('/', 1);
  return slash != std::string_view::npos && slash > 1 && slash + 1 < path.size() &&
         path.find('/', slash + 1) == std::string_view::npos;
}

}  // namespace

bool SqsHttp::accepts(const http::Request& r) {
  if (r.method == "POST") {
    return r.header("X-Amz-Target").starts_with(kTargetPrefix) || is_form(r) ||
           query_of(r.target).find("Action=") != std::string_view::npos;
  }
  if (r.method == "GET") {
    const std::string_view path = path_of(r.target);
    return query_of(r.target).find("Action=") != std::string_view::npos || is_queue_path(path);
  }
  return false;
}

void SqsHttp::handle_query(const http::Request& r, const http::Respond& respond) {
  const std::string id = request_id();
  const std::string_view path = path_of(r.target);
  const std::string_view url_query = query_of(r.target);
  if (r.method == "GET" && url_query.find("Action=") == std::string_view::npos) {
    // A GET on a queue URL with no action, as SQS answers it (§1.2).
    respond(xml_response(404, "<UnknownOperationException/>", id));
    return;
  }
  auto req =
      query::parse(r.method == "POST" ? std::string_view(r.body) : std::string_view(), url_query);
  if (!req) {
    respond(xml_error(req.error(), id));
    return;
  }
  const CallContext ctx = context_of(r, true);
  if (is_queue_path(path) && !req->input.contains("QueueUrl")) {
    req->input["QueueUrl"] = "http://" + ctx.host + std::string(path);  // the URL is the queue
  }
  api_.call(req->action, req->input, ctx, [respond, id, action = req->action](Result<json> out) {
    if (out) {
      respond(xml_response(200, query::render_result(action, *out, id), id));
    } else {
      respond(xml_error(out.error(), id));
    }
  });
}

void SqsHttp::handle(const http::Request& r, const http::Respond& respond) {
  const std::string_view target = r.header("X-Amz-Target");  // looked up once
  const bool is_json = r.method == "POST" && target.starts_with(kTargetPrefix);
  if (verify_) {
    if (auto ok = verify_(r); !ok) {
      const std::string id = request_id();
      const Error& e = ok.error();
      respond(is_json ? json_error(e, id) : xml_error(e, id));
      return;
    }
  }
  if (!is_json) {
    handle_query(r, respond);
    return;
  }
  const std::string id = request_id();
  const std::string action(target.substr(kTargetPrefix.size()));
  const CallContext ctx = context_of(r, false);
  if (auto fast = api_.call_fast(action, r.body, ctx)) {
    respond(*fast ? json_text_ok(std::move(**fast), id) : json_error(fast->error(), id));
    return;
  }
  const json in = r.body.empty() ? json::object() : json::parse(r.body, nullptr, false);
  if (in.is_discarded() || !in.is_object()) {
    respond(json_error(
        make_error(ErrorCode::kMalformedRequest, "The request body is not a valid JSON object."),
        id));
    return;
  }
  if (action == "ReceiveMessage") {
    api_.receive_message_text(in, [respond, id](Result<std::string> out) {
      respond(out ? json_text_ok(std::move(*out), id) : json_error(out.error(), id));
    });
    return;
  }
  api_.call(action, in, ctx, [respond, id](Result<json> out) {
    respond(out ? json_ok(*out, id) : json_error(out.error(), id));
  });
}

}  // namespace lqs::daemon
