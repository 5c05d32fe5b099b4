// Copyright lqs authors. The `aws sqs` subcommands of lqs, with the AWS CLI's names, options
// and output. Control commands are sent to lqsd (AWS JSON 1.0 protocol); message commands run
// on the queue's shared memory through liblqs (no daemon needed), with the same JSON input and
// output code lqsd uses (daemon/sqs_messages.hpp).
#include "cli.hpp"
#include "daemon/sqs_messages.hpp"
#include "http_client.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace lqs::cli {

namespace {

enum class Route { kDaemon, kSharedMemory };

// One subcommand: its options fill the JSON input of its SQS action.
class Verb {
 public:
  Verb(CLI::App& app, const Instance& inst, const std::string& name, std::string action,
       Route route, const std::string& help)
      : inst_(inst), action_(std::move(action)), route_(route) {
    sub_ = app.add_subcommand(name, help);
    sub_->group("SQS commands (as `aws sqs`)");
  }

  // A string member.
  Verb& text(const std::string& flag, const std::string& member, bool required,
             const std::string& help) {
    member_option<std::string>(flag, member, required, help,
                               [](const std::string& v) { return json(param_text(v)); });
    return *this;
  }
  // An integer member (range checked by the service, as SQS does).
  Verb& integer(const std::string& flag, const std::string& member, bool required,
                const std::string& help) {
    member_option<int64_t>(flag, member, required, help, [](int64_t v) { return json(v); });
    return *this;
  }
  // A map of strings: JSON or Key=Value,Key=Value.
  Verb& map(const std::string& flag, const std::string& member, bool required,
            const std::string& help) {
    member_option<std::string>(flag, member, required, help + " (JSON or Key=Value,Key=Value)",
                               [flag](const std::string& v) { return parse_map_param(flag, v); });
    return *this;
  }
  // A list of strings: space- or comma-separated values.
  Verb& list(const std::string& flag, const std::string& member, bool required,
             const std::string& help) {
    member_option<std::vector<std::string>>(
        flag, member, required, help, [](const std::vector<std::string>& v) { return json(v); })
        ->delimiter(',');
    return *this;
  }
  // Any JSON value (or file://path).
  Verb& json_value(const std::string& flag, const std::string& member, bool required,
                   const std::string& help) {
    member_option<std::string>(flag, member, required, help + " (JSON, or file://path)",
                               [flag](const std::string& v) { return parse_json_param(flag, v); });
    return *this;
  }
  // --queue-url, or lqs's --queue-name shortcut: QueueUrl.
  Verb& queue() {
    auto url = std::make_shared<std::string>();
    auto name = std::make_shared<std::string>();
    CLI::Option* u = sub_->add_option("--queue-url", *url, "the queue's URL (or name)");
    CLI::Option* n = sub_->add_option("--queue-name", *name, "the queue's name (lqs only)");
    u->excludes(n);
    n->excludes(u);
    fill_.push_back([u, n, url, name](json& in) {
      if (u->count() + n->count() == 0)
        usage_error("the following arguments are required: --queue-url");
      in["QueueUrl"] = u->count() != 0 ? *url : *name;
    });
    return *this;
  }

  // Runs the command once parsing succeeded.
  void arm() {
    sub_->callback([this] { run(); });
  }

 private:
  // An option whose value, converted, becomes the input member `member` when given.
  template <typename T, typename Convert>
  CLI::Option* member_option(const std::string& flag, const std::string& member, bool required,
                             const std::string& help, Convert convert) {
    auto v = std::make_shared<T>();
    CLI::Option* o = sub_->add_option(flag, *v, help);
    if (required) o->required();
    fill_.push_back([o, v, member, convert](json& in) {
      if (o->count() != 0) in[member] = convert(*v);
    });
    return o;
  }

  void run() const {
    json in = json::object();
    for (const auto& f : fill_) f(in);
    const json out = route_ == Route::kDaemon ? via_daemon(in) : via_shared_memory(in);
    print_output(out, inst_.output, action_);
  }

  json via_daemon(const json& in) const {
    const auto endpoint = parse_endpoint(inst_.endpoint);
    if (!endpoint) {
      usage_error("--endpoint-url: expected http://HOST:PORT or HOST:PORT, got '" + inst_.endpoint +
                  "'");
    }
    const HttpAnswer a =
        call_sqs_json(*endpoint, action_, in.dump(-1, ' ', false, json::error_handler_t::replace),
                      std::chrono::seconds(30));
    if (!a.error.empty()) {
      throw Failure(kExitUnreachable, "cannot reach lqsd at http://" + endpoint->host + ":" +
                                          endpoint->port + " (" + a.error +
                                          "); is it running? (--endpoint-url, LQS_LISTEN)");
    }
    const json body = json::parse(a.body, nullptr, false);
    if (a.status == 200 && body.is_object()) {
      return body;
    }
    if (body.is_object() && body.contains("__type")) {
      std::string type = body.value("__type", std::string());
      type = type.substr(type.find('#') == std::string::npos ? 0 : type.find('#') + 1);
      std::string message = body.value("message", body.value("Message", std::string()));
      service_error(type, action_, message);
    }
    service_error("HTTP" + std::to_string(a.status), action_, a.body.substr(0, 200));
  }

  json via_shared_memory(const json& in) const {
    const std::string name = queue_name_of(in.value("QueueUrl", std::string()));
    auto q = Queue::open(inst_.location(name));
    if (!q) {
      service_error(q.error(), action_);
    }
    Result<json> out = json::object();
    namespace m = daemon::messages;
    if (action_ == "SendMessage") {
      out = m::send_message(*q, in);
    } else if (action_ == "SendMessageBatch") {
      out = m::send_message_batch(*q, in);
    } else if (action_ == "DeleteMessage") {
      out = m::delete_message(*q, in);
    } else if (action_ == "DeleteMessageBatch") {
      out = m::delete_message_batch(*q, in);
    } else if (action_ == "ChangeMessageVisibility") {
      out = m::change_message_visibility(*q, in);
    } else if (action_ == "ChangeMessageVisibilityBatch") {
      out = m::change_message_visibility_batch(*q, in);
    } else {  // ReceiveMessage: the library itself waits (a futex any sender wakes)
      const Instance& inst = inst_;
      auto call =
          m::prepare_receive(*q, in, m::Identity{inst.account_id, [&inst](const std::string& n) {
                                                   return inst.queue_arn(n);
                                                 }});
      if (!call) {
        service_error(call.error(), action_);
      }
      call->options.wait_time_s = call->wait_s;
      ReceiveBatch batch;
      if (auto r = q->receive(batch, call->options); !r) {
        service_error(r.error(), action_);
      }
      out = call->render(batch);
    }
    if (!out) {
      service_error(out.error(), action_);
    }
    return *out;
  }

  const Instance& inst_;
  std::string action_;
  Route route_;
  CLI::App* sub_ = nullptr;
  std::vector<std::function<void(json&)>> fill_;
};

}  // namespace

void add_sqs_commands(CLI::App& app, const Instance& inst) {
  // Verbs live as long as the app (their callbacks run after parsing).
  static std::vector<std::unique_ptr<Verb>> verbs;
  const Route d = Route::kDaemon;
  const Route s = Route::kSharedMemory;
  auto verb = [&](const std::string& name, const std::string& action, Route route,
                  const std::string& help) -> Verb& {
    verbs.push_back(std::make_unique<Verb>(app, inst, name, action, route, help));
    return *verbs.back();
  };

  verb("create-queue", "CreateQueue", d, "Creates a queue (lqsd)")
      .text("--queue-name", "QueueName", true, "queue name (FIFO queues end in .fifo)")
      .map("--attributes", "Attributes", false, "queue attributes")
      .map("--tags", "tags", false, "cost allocation tags");
  verb("list-queues", "ListQueues", d, "Lists queues (lqsd)")
      .text("--queue-name-prefix", "QueueNamePrefix", false, "only names with this prefix")
      .integer("--max-results", "MaxResults", false, "1..1000: page size")
      .text("--next-token", "NextToken", false, "the NextToken of the previous page");
  verb("get-queue-url", "GetQueueUrl", d, "Returns a queue's URL (lqsd)")
      .text("--queue-name", "QueueName", true, "queue name")
      .text("--queue-owner-aws-account-id", "QueueOwnerAWSAccountId", false, "ignored");
  verb("delete-queue", "DeleteQueue", d, "Deletes a queue and its messages (lqsd)").queue();
  verb("get-queue-attributes", "GetQueueAttributes", d, "Gets queue attributes (lqsd)")
      .queue()
      .list("--attribute-names", "AttributeNames", false, "names, or All");
  verb("set-queue-attributes", "SetQueueAttributes", d, "Sets queue attributes (lqsd)")
      .queue()
      .map("--attributes", "Attributes", true, "queue attributes");
  verb("purge-queue", "PurgeQueue", d, "Deletes every message of a queue (lqsd)").queue();
  verb("tag-queue", "TagQueue", d, "Adds tags to a queue (lqsd)")
      .queue()
      .map("--tags", "Tags", true, "tags");
  verb("untag-queue", "UntagQueue", d, "Removes tags from a queue (lqsd)")
      .queue()
      .list("--tag-keys", "TagKeys", true, "tag keys");
  verb("list-queue-tags", "ListQueueTags", d, "Lists a queue's tags (lqsd)").queue();
  verb("list-dead-letter-source-queues", "ListDeadLetterSourceQueues", d,
       "Lists the queues whose dead-letter queue this is (lqsd)")
      .queue()
      .integer("--max-results", "MaxResults", false, "1..1000: page size")
      .text("--next-token", "NextToken", false, "the NextToken of the previous page");
  verb("start-message-move-task", "StartMessageMoveTask", d,
       "Moves messages out of a dead-letter queue (lqsd)")
      .text("--source-arn", "SourceArn", true, "ARN of the dead-letter queue")
      .text("--destination-arn", "DestinationArn", false, "ARN of the target (default: sources)")
      .integer("--max-number-of-messages-per-second", "MaxNumberOfMessagesPerSecond", false,
               "rate limit, 1..500");
  verb("cancel-message-move-task", "CancelMessageMoveTask", d, "Cancels a move task (lqsd)")
      .text("--task-handle", "TaskHandle", true, "the TaskHandle start-message-move-task gave");
  verb("list-message-move-tasks", "ListMessageMoveTasks", d, "Lists move tasks (lqsd)")
      .text("--source-arn", "SourceArn", true, "ARN of the dead-letter queue")
      .integer("--max-results", "MaxResults", false, "1..10");

  verb("send-message", "SendMessage", s, "Sends a message (shared memory)")
      .queue()
      .text("--message-body", "MessageBody", true, "the body")
      .integer("--delay-seconds", "DelaySeconds", false, "0..900")
      .json_value("--message-attributes", "MessageAttributes", false,
                  "{\"Name\": {\"DataType\": \"String\", \"StringValue\": \"v\"}}")
      .json_value("--message-system-attributes", "MessageSystemAttributes", false, "AWSTraceHeader")
      .text("--message-deduplication-id", "MessageDeduplicationId", false, "FIFO queues")
      .text("--message-group-id", "MessageGroupId", false, "FIFO queues (and fair queues)");
  verb("send-message-batch", "SendMessageBatch", s, "Sends up to 10 messages (shared memory)")
      .queue()
      .json_value("--entries", "Entries", true, "[{\"Id\": \"1\", \"MessageBody\": \"...\"}, ...]");
  verb("receive-message", "ReceiveMessage", s, "Receives messages (shared memory)")
      .queue()
      .list("--attribute-names", "AttributeNames", false, "system attributes, or All")
      .list("--message-system-attribute-names", "MessageSystemAttributeNames", false,
            "system attributes, or All")
      .list("--message-attribute-names", "MessageAttributeNames", false,
            "message attributes, All, or Prefix.*")
      .integer("--max-number-of-messages", "MaxNumberOfMessages", false, "1..10")
      .integer("--visibility-timeout", "VisibilityTimeout", false, "0..43200 seconds")
      .integer("--wait-time-seconds", "WaitTimeSeconds", false, "0..20: long poll")
      .text("--receive-request-attempt-id", "ReceiveRequestAttemptId", false, "FIFO queues");
  verb("delete-message", "DeleteMessage", s, "Deletes a received message (shared memory)")
      .queue()
      .text("--receipt-handle", "ReceiptHandle", true, "from receive-message");
  verb("delete-message-batch", "DeleteMessageBatch", s, "Deletes up to 10 messages (shared memory)")
      .queue()
      .json_value("--entries", "Entries", true, "[{\"Id\": \"1\", \"ReceiptHandle\": \"...\"}]");
  verb("change-message-visibility", "ChangeMessageVisibility", s,
       "Changes a received message's visibility timeout (shared memory)")
      .queue()
      .text("--receipt-handle", "ReceiptHandle", true, "from receive-message")
      .integer("--visibility-timeout", "VisibilityTimeout", true, "0..43200 seconds");
  verb("change-message-visibility-batch", "ChangeMessageVisibilityBatch", s,
       "Changes the visibility of up to 10 messages (shared memory)")
      .queue()
      .json_value("--entries", "Entries", true,
                  "[{\"Id\": \"1\", \"ReceiptHandle\": \"...\", \"VisibilityTimeout\": 0}]");
  for (auto& v : verbs) v->arm();
}

}  // namespace lqs::cli
