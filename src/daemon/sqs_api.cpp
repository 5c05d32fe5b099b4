// Copyright lqs authors.
#include "daemon/sqs_api.hpp"

#include "daemon/sqs_params.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace lqs::daemon {

using nlohmann::json;
using namespace params;  // NOLINT(google-build-using-namespace): this file's vocabulary

std::string SqsApi::url(const CallContext& ctx, const std::string& name) const {
  return "http://" + ctx.host + "/" + registry_.instance().account_id + "/" + name;
}

void SqsApi::call(const std::string& action, const json& in, const CallContext& ctx,
                  const Reply& reply) {
  if (action == "ReceiveMessage") {
    receive_message(in, reply);
    return;
  }
  Result<json> out = json::object();
  if (action == "SendMessage" || action == "SendMessageBatch" || action == "DeleteMessage" ||
      action == "DeleteMessageBatch" || action == "ChangeMessageVisibility" ||
      action == "ChangeMessageVisibilityBatch") {
    out = message_action(action, in, ctx);
  } else {
    out = control(action, in, ctx);
  }
  reply(std::move(out));
}

Result<json> SqsApi::control(const std::string& action, const json& in, const CallContext& ctx) {
  if (action == "CreateQueue") {
    auto name = need_string(in, "QueueName");
    auto attrs = string_map(in, "Attributes");
    auto tags = string_map(in, "tags");  // lower-case in the JSON protocol (§1.3)
    if (!name) return std::move(name).error();
    if (!attrs) return std::move(attrs).error();
    if (!tags) return std::move(tags).error();
    if (auto c = registry_.create_queue(*name, *attrs, *tags); !c) return std::move(c).error();
    return json{{"QueueUrl", url(ctx, *name)}};
  }
  if (action == "GetQueueUrl") {
    auto name = need_string(in, "QueueName");
    if (!name) return std::move(name).error();
    if (auto g = registry_.get_queue_url(*name); !g) {
      Error e = std::move(g).error();
      if (e.code == ErrorCode::kQueueDoesNotExist && ctx.query_protocol) {
        e.message = "The specified queue does not exist for this wsdl version.";  // §1.3
      }
      return e;
    }
    return json{{"QueueUrl", url(ctx, *name)}};
  }
  if (action == "ListQueues" || action == "ListDeadLetterSourceQueues") {
    auto max = opt_int(in, "MaxResults");
    auto next = opt_string(in, "NextToken");
    auto prefix = opt_string(in, "QueueNamePrefix");
    if (!max) return std::move(max).error();
    if (!next) return std::move(next).error();
    if (!prefix) return std::move(prefix).error();
    Result<ListQueuesResult> l = ListQueuesResult{};
    const bool dlq = action == "ListDeadLetterSourceQueues";
    if (dlq) {
      auto name = queue_of_url(in);
      if (!name) return std::move(name).error();
      l = registry_.list_dead_letter_source_queues(*name, *max, *next);
    } else {
      l = registry_.list_queues(*prefix, *max, *next);
    }
    if (!l) return std::move(l).error();
    json urls = json::array();
    for (const std::string& n : l->names) urls.push_back(url(ctx, n));
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
    auto dest = opt_string(in, "DestinationArn");
    if (!src) return std::move(src).error();
    if (!dest) return std::move(dest).error();
    if (!rate) return std::move(rate).error();
    std::lock_guard lock(tasks_mu_);
    auto h = tasks_.start(*src, *dest, *rate, now_ms_());
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
  return make_error(ErrorCode::kInvalidAction,
                    "The action " + action + " is not valid for this endpoint.");
}

}  // namespace lqs::daemon
