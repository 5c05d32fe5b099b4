// Copyright lqs authors.
#include "daemon/sqs_json.hpp"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lqs::daemon {
namespace {

using nlohmann::json;

constexpr std::string_view kTargetPrefix = "AmazonSQS.";
constexpr std::string_view kContentType = "application/x-amz-json-1.0";

http::Response error_response(const Error& e) {
  http::Response r;
  r.status = sqs_http_status(e.code);
  r.content_type = std::string(kContentType);
  const json body = {{"__type", "com.amazonaws.sqs#" + std::string(sqs_shape(e.code))},
                     {"message", e.message}};
  r.body = body.dump();
  const bool server_fault = r.status >= 500;
  r.headers.emplace_back("x-amzn-query-error", std::string(sqs_legacy_code(e.code)) +
                                                   (server_fault ? ";Receiver" : ";Sender"));
  return r;
}

http::Response ok_response(const json& body) {
  http::Response r;
  r.content_type = std::string(kContentType);
  r.body = body.dump();
  return r;
}

Error invalid(const std::string& message) {
  return make_error(ErrorCode::kInvalidParameterValue, message);
}

Error missing(std::string_view parameter) {
  return make_error(ErrorCode::kMissingParameter,
                    "The request must contain the parameter " + std::string(parameter) + ".");
}

// Reads a required string member.
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

std::string opt_string(const json& in, std::string_view name) {
  const auto it = in.find(name);
  return it != in.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Result<std::optional<int32_t>> opt_int(const json& in, std::string_view name) {
  const auto it = in.find(name);
  if (it == in.end() || it->is_null()) {
    return std::optional<int32_t>();
  }
  if (!it->is_number_integer()) {
    return invalid("Value for parameter " + std::string(name) + " must be an integer.");
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

// The queue name in a queue URL: its last path segment (any host, account and scheme).
Result<std::string> queue_of_url(const json& in) {
  auto url = need_string(in, "QueueUrl");
  if (!url) {
    return std::move(url).error();
  }
  const std::string& u = *url;
  const auto slash = u.find_last_of('/');
  const std::string name = slash == std::string::npos ? u : u.substr(slash + 1);
  if (name.empty()) {
    return make_error(ErrorCode::kQueueDoesNotExist, "The specified queue does not exist.");
  }
  return name;
}

}  // namespace

bool SqsJsonApi::accepts(const http::Request& r) {
  return r.method == "POST" && r.header("X-Amz-Target").starts_with(kTargetPrefix);
}

http::Response SqsJsonApi::handle(const http::Request& r) {
  const std::string target = r.header("X-Amz-Target");
  const std::string action = target.substr(kTargetPrefix.size());
  const json in = r.body.empty() ? json::object() : json::parse(r.body, nullptr, false);
  if (in.is_discarded() || !in.is_object()) {
    return error_response(
        make_error(ErrorCode::kMalformedRequest, "The request body is not a valid JSON object."));
  }
  std::string host = r.header("Host");
  if (host.empty()) {
    host = "localhost";
  }
  const auto url = [&](const std::string& name) {
    return "http://" + host + "/" + registry_.instance().account_id + "/" + name;
  };
  // Each action returns its JSON body or an Error.
  auto run = [&]() -> Result<json> {
    if (action == "CreateQueue") {
      auto name = need_string(in, "QueueName");
      auto attrs = string_map(in, "Attributes");
      auto tags = string_map(in, "tags");  // lower-case in the JSON protocol (§1.3)
      if (!name) return std::move(name).error();
      if (!attrs) return std::move(attrs).error();
      if (!tags) return std::move(tags).error();
      if (auto c = registry_.create_queue(*name, *attrs, *tags); !c) return std::move(c).error();
      return json{{"QueueUrl", url(*name)}};
    }
    if (action == "GetQueueUrl") {
      auto name = need_string(in, "QueueName");
      if (!name) return std::move(name).error();
      if (auto g = registry_.get_queue_url(*name); !g) return std::move(g).error();
      return json{{"QueueUrl", url(*name)}};
    }
    if (action == "ListQueues" || action == "ListDeadLetterSourceQueues") {
      auto max = opt_int(in, "MaxResults");
      if (!max) return std::move(max).error();
      Result<ListQueuesResult> l = ListQueuesResult{};
      const bool dlq = action == "ListDeadLetterSourceQueues";
      if (dlq) {
        auto name = queue_of_url(in);
        if (!name) return std::move(name).error();
        l = registry_.list_dead_letter_source_queues(*name, *max, opt_string(in, "NextToken"));
      } else {
        l = registry_.list_queues(opt_string(in, "QueueNamePrefix"), *max,
                                  opt_string(in, "NextToken"));
      }
      if (!l) return std::move(l).error();
      json urls = json::array();
      for (const std::string& n : l->names) urls.push_back(url(n));
      json out = json::object();
      if (dlq) {
        out["queueUrls"] = urls;  // lower-case key (§1.3)
      } else if (!urls.empty()) {
        out["QueueUrls"] = urls;
      }
      if (!l->next_token.empty()) out["NextToken"] = l->next_token;
      return out;
    }
    if (action == "StartMessageMoveTask") {
      auto src = need_string(in, "SourceArn");
      auto rate = opt_int(in, "MaxNumberOfMessagesPerSecond");
      if (!src) return std::move(src).error();
      if (!rate) return std::move(rate).error();
      std::lock_guard lock(tasks_mu_);
      auto h = tasks_.start(*src, opt_string(in, "DestinationArn"), *rate, now_ms_());
      if (!h) return std::move(h).error();
      return json{{"TaskHandle", *h}};
    }
    if (action == "CancelMessageMoveTask") {
      auto handle = need_string(in, "TaskHandle");
      if (!handle) return std::move(handle).error();
      std::lock_guard lock(tasks_mu_);
      auto moved = tasks_.cancel(*handle);
      if (!moved) return std::move(moved).error();
      return json{{"ApproximateNumberOfMessagesMoved", *moved}};
    }
    if (action == "ListMessageMoveTasks") {
      auto src = need_string(in, "SourceArn");
      auto max = opt_int(in, "MaxResults");
      if (!src) return std::move(src).error();
      if (!max) return std::move(max).error();
      std::lock_guard lock(tasks_mu_);
      auto list = tasks_.list(*src, *max);
      if (!list) return std::move(list).error();
      json results = json::array();
      for (const MoveTaskInfo& t : *list) {
        json e = {{"Status", t.status},
                  {"SourceArn", t.source_arn},
                  {"ApproximateNumberOfMessagesMoved", t.approximate_messages_moved},
                  {"ApproximateNumberOfMessagesToMove", t.approximate_messages_to_move},
                  {"StartedTimestamp", t.started_timestamp_ms}};
        if (!t.task_handle.empty()) e["TaskHandle"] = t.task_handle;
        if (!t.destination_arn.empty()) e["DestinationArn"] = t.destination_arn;
        if (t.max_messages_per_second) {
          e["MaxNumberOfMessagesPerSecond"] = *t.max_messages_per_second;
        }
        if (!t.failure_reason.empty()) e["FailureReason"] = t.failure_reason;
        results.push_back(e);
      }
      return json{{"Results", results}};
    }
    // Every other control action names its queue by URL.
    static constexpr std::string_view kQueueActions[] = {
        "DeleteQueue", "GetQueueAttributes", "SetQueueAttributes", "PurgeQueue",      "TagQueue",
        "UntagQueue",  "ListQueueTags",      "AddPermission",      "RemovePermission"};
    if (std::find(std::begin(kQueueActions), std::end(kQueueActions), action) !=
        std::end(kQueueActions)) {
      auto name = queue_of_url(in);
      if (!name) return std::move(name).error();
      if (action == "DeleteQueue") {
        if (auto d = registry_.delete_queue(*name); !d) return std::move(d).error();
        return json::object();
      }
      if (action == "GetQueueAttributes") {
        auto names = string_list(in, "AttributeNames");
        if (!names) return std::move(names).error();
        auto a = registry_.get_queue_attributes(*name, *names);
        if (!a) return std::move(a).error();
        return a->empty() ? json::object() : json{{"Attributes", *a}};
      }
      if (action == "SetQueueAttributes") {
        auto attrs = string_map(in, "Attributes");
        if (!attrs) return std::move(attrs).error();
        if (auto s = registry_.set_queue_attributes(*name, *attrs); !s) {
          return std::move(s).error();
        }
        return json::object();
      }
      if (action == "PurgeQueue") {
        if (auto p = registry_.purge_queue(*name); !p) return std::move(p).error();
        return json::object();
      }
      if (action == "TagQueue") {
        auto tags = string_map(in, "Tags");
        if (!tags) return std::move(tags).error();
        if (auto t = registry_.tag_queue(*name, *tags); !t) return std::move(t).error();
        return json::object();
      }
      if (action == "UntagQueue") {
        auto keys = string_list(in, "TagKeys");
        if (!keys) return std::move(keys).error();
        if (auto u = registry_.untag_queue(*name, *keys); !u) return std::move(u).error();
        return json::object();
      }
      if (action == "ListQueueTags") {
        auto tags = registry_.list_queue_tags(*name);
        if (!tags) return std::move(tags).error();
        return tags->empty() ? json::object() : json{{"Tags", *tags}};
      }
      auto label = need_string(in, "Label");
      if (!label) return std::move(label).error();
      if (action == "AddPermission") {
        auto accounts = string_list(in, "AWSAccountIds");
        auto actions = string_list(in, "Actions");
        if (!accounts) return std::move(accounts).error();
        if (!actions) return std::move(actions).error();
        if (auto a = registry_.add_permission(*name, *label, *accounts, *actions); !a) {
          return std::move(a).error();
        }
        return json::object();
      }
      if (auto rm = registry_.remove_permission(*name, *label); !rm) {
        return std::move(rm).error();
      }
      return json::object();
    }
    static constexpr std::string_view kMessageActions[] = {"SendMessage",
                                                           "SendMessageBatch",
                                                           "ReceiveMessage",
                                                           "DeleteMessage",
                                                           "DeleteMessageBatch",
                                                           "ChangeMessageVisibility",
                                                           "ChangeMessageVisibilityBatch"};
    if (std::find(std::begin(kMessageActions), std::end(kMessageActions), action) !=
        std::end(kMessageActions)) {
      return make_error(ErrorCode::kUnsupportedOperation,
                        action + " is not served over HTTP by lqsd yet; use liblqs (C++).");
    }
    return make_error(ErrorCode::kInvalidAction,
                      "The action " + action + " is not valid for this endpoint.");
  };
  auto out = run();
  return out ? ok_response(*out) : error_response(out.error());
}

}  // namespace lqs::daemon
