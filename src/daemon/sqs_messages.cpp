// Copyright lqs authors. The message actions of SqsApi: SendMessage(Batch), ReceiveMessage,
// DeleteMessage(Batch), ChangeMessageVisibility(Batch), over the queues' shared memory.
#include "daemon/sqs_messages.hpp"

#include "daemon/sqs_api.hpp"
#include "daemon/sqs_fast.hpp"
#include "daemon/sqs_params.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <set>
#include <string>
#include <vector>

namespace lqs::daemon {

using nlohmann::json;
using namespace params;  // NOLINT(google-build-using-namespace): this file's vocabulary

namespace {

Result<void> parse_message_attributes(const json& in, std::vector<MessageAttribute>& out) {
  const auto it = in.find("MessageAttributes");
  if (it == in.end() || it->is_null()) {
    return {};
  }
  if (!it->is_object()) {
    return invalid("Value for parameter MessageAttributes must be a map.");
  }
  for (const auto& [name, v] : it->items()) {
    if (!v.is_object()) {
      return invalid("The message attribute '" + name + "' must be a structure.");
    }
    MessageAttribute a;
    a.name = name;
    auto type = opt_string(v, "DataType");
    if (!type) return std::move(type).error();
    if (type->empty()) {
      return invalid("The message attribute '" + name + "' must contain non-empty attribute type.");
    }
    a.data_type = *type;
    for (const char* list : {"StringListValues", "BinaryListValues"}) {
      const auto l = v.find(list);
      if (l != v.end() && l->is_array() && !l->empty()) {
        return invalid(
            "Message attribute list values in SendMessage operation are not "
            "supported.");
      }
    }
    if (a.data_type.starts_with("Binary")) {
      auto b64 = opt_string(v, "BinaryValue");
      if (!b64) return std::move(b64).error();
      auto raw = base64_decode(*b64);
      if (!raw) {
        return invalid("The message attribute '" + name + "' has an invalid binary value.");
      }
      a.value = std::move(*raw);
    } else {
      auto s = opt_string(v, "StringValue");
      if (!s) return std::move(s).error();
      a.value = std::move(*s);
    }
    out.push_back(std::move(a));
  }
  return {};
}

}  // namespace

namespace messages {

bool valid_entry_id(std::string_view id) {
  return !id.empty() && id.size() <= 80 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

Result<void> read_send(const json& in, const std::string& trace_header, OwnedSend& out) {
  auto body = need_string(in, "MessageBody");
  if (!body) return std::move(body).error();
  out.body = std::move(*body);
  auto delay = opt_int(in, "DelaySeconds");
  if (!delay) return std::move(delay).error();
  out.delay_s = *delay;
  auto group = opt_string(in, "MessageGroupId");
  if (!group) return std::move(group).error();
  out.group_id = std::move(*group);
  auto dedup = opt_string(in, "MessageDeduplicationId");
  if (!dedup) return std::move(dedup).error();
  out.dedup_id = std::move(*dedup);  // the engine refuses it on a standard queue
  if (auto a = parse_message_attributes(in, out.attributes); !a) return a;
  const auto sys = in.find("MessageSystemAttributes");
  if (sys != in.end() && !sys->is_null()) {
    if (!sys->is_object()) {
      return invalid("Value for parameter MessageSystemAttributes must be a map.");
    }
    for (const auto& [name, v] : sys->items()) {
      if (name != "AWSTraceHeader") {
        return invalid("Message system attribute name '" + name + "' is invalid.");
      }
      auto type = v.is_object() ? opt_string(v, "DataType") : Result<std::string>(std::string());
      auto value =
          v.is_object() ? opt_string(v, "StringValue") : Result<std::string>(std::string());
      if (!type) return std::move(type).error();
      if (!value) return std::move(value).error();
      if (*type != "String" || value->empty()) {
        return invalid(
            "Message system attribute 'AWSTraceHeader' must contain a non-empty "
            "value of type 'String'.");
      }
      out.trace_header = std::move(*value);
    }
  }
  if (out.trace_header.empty()) {
    out.trace_header = trace_header;  // the X-Amzn-Trace-Id header (§1.3)
  }
  return {};
}

json send_result(const SendResult& r) {
  json out = json::object();
  if (r.md5_of_body) out["MD5OfMessageBody"] = r.md5_of_body->to_hex();
  if (r.md5_of_message_attributes) {
    out["MD5OfMessageAttributes"] = r.md5_of_message_attributes->to_hex();
  }
  if (r.md5_of_message_system_attributes) {
    out["MD5OfMessageSystemAttributes"] = r.md5_of_message_system_attributes->to_hex();
  }
  out["MessageId"] = r.message_id.to_string();
  if (!r.sequence_number.empty()) out["SequenceNumber"] = r.sequence_number.to_string();
  return out;
}

json failed_entry(const std::string& id, const Error& e) {
  return json{{"Id", id},
              {"SenderFault", sqs_http_status(e.code) < 500},
              {"Code", std::string(sqs_legacy_code(e.code))},
              {"Message", e.message}};
}

Result<std::vector<std::pair<std::string, const json*>>> batch_entries(
    const json& in, std::string_view entry_name) {
  const auto it = in.find("Entries");
  if (it != in.end() && !it->is_null() && !it->is_array()) {
    return invalid("Value for parameter Entries must be a list.");
  }
  if (it == in.end() || it->is_null() || it->empty()) {
    return make_error(
        ErrorCode::kEmptyBatchRequest,
        "There should be at least one " + std::string(entry_name) + " in the request.");
  }
  if (it->size() > kMaxBatchEntries) {
    return make_error(ErrorCode::kTooManyEntriesInBatch,
                      "Maximum number of entries per request are 10. You have sent " +
                          std::to_string(it->size()) + ".");
  }
  std::vector<std::pair<std::string, const json*>> out;
  std::set<std::string, std::less<>> seen;
  size_t n = 0;
  for (const json& e : *it) {
    ++n;
    if (!e.is_object()) {
      return invalid("Value for parameter " + std::string(entry_name) + "." + std::to_string(n) +
                     " must be a structure.");
    }
    auto id = need_string(e, "Id");
    if (!id) {
      return missing(std::string(entry_name) + "." + std::to_string(n) + ".Id");
    }
    if (!valid_entry_id(*id)) {
      return make_error(ErrorCode::kInvalidBatchEntryId,
                        "A batch entry id can only contain alphanumeric characters, hyphens and "
                        "underscores. It can be at most 80 letters long.");
    }
    if (!seen.insert(*id).second) {
      return make_error(ErrorCode::kBatchEntryIdsNotDistinct, "Id " + *id + " repeated.");
    }
    out.emplace_back(std::move(*id), &e);
  }
  return out;
}

}  // namespace messages

namespace {

using messages::batch_entries;
using messages::failed_entry;
using messages::OwnedSend;
using messages::read_send;
using messages::send_result;

// Runs `fn` on each entry; the answer of DeleteMessageBatch and ChangeMessageVisibilityBatch.
json each_entry(const std::vector<std::pair<std::string, const json*>>& entries,
                const std::function<Result<void>(const json&)>& fn) {
  json successful = json::array();
  json failed = json::array();
  for (const auto& [id, e] : entries) {
    if (auto r = fn(*e); r) {
      successful.push_back(json{{"Id", id}});
    } else {
      failed.push_back(failed_entry(id, r.error()));
    }
  }
  json out = json{{"Successful", successful}};
  if (!failed.empty()) out["Failed"] = failed;  // AWS omits an empty Failed list (§1.3)
  return out;
}

bool wants(const std::vector<std::string>& names, std::string_view name) {
  return std::any_of(names.begin(), names.end(),
                     [&](const std::string& n) { return n == "All" || n == name; });
}

}  // namespace

namespace messages {

Result<json> send_message(Queue& q, const json& in, const std::string& trace_header) {
  OwnedSend m;
  if (auto p = read_send(in, trace_header, m); !p) return std::move(p).error();
  SendOptions o;
  o.compute_md5 = true;
  auto r = q.send(m.view(), o);
  if (!r) return std::move(r).error();
  return send_result(*r);
}

Result<json> send_message_batch(Queue& q, const json& in, const std::string& trace_header) {
  auto entries = batch_entries(in, "SendMessageBatchRequestEntry");
  if (!entries) return std::move(entries).error();
  json failed = json::array();
  std::vector<OwnedSend> owned(entries->size());
  std::vector<size_t> sent;  // indexes into entries, in request order
  for (size_t i = 0; i < entries->size(); ++i) {
    if (auto p = read_send(*(*entries)[i].second, trace_header, owned[i]); !p) {
      failed.push_back(failed_entry((*entries)[i].first, p.error()));
    } else {
      sent.push_back(i);
    }
  }
  json successful = json::array();
  if (!sent.empty()) {
    std::vector<SendRequest> requests;
    requests.reserve(sent.size());
    for (const size_t i : sent) {
      requests.push_back(owned[i].view());
    }
    std::vector<Result<SendResult>> results;
    SendOptions o;
    o.compute_md5 = true;
    if (auto b = q.send_batch(requests, results, o); !b) return std::move(b).error();
    for (size_t k = 0; k < sent.size(); ++k) {
      const std::string& id = (*entries)[sent[k]].first;
      if (results[k]) {
        json s = send_result(*results[k]);
        s["Id"] = id;
        successful.push_back(std::move(s));
      } else {
        failed.push_back(failed_entry(id, results[k].error()));
      }
    }
  }
  json out = json{{"Successful", successful}};
  if (!failed.empty()) out["Failed"] = failed;  // AWS omits an empty Failed list (§1.3)
  return out;
}

Result<ReceiveCall> prepare_receive(const Queue& q, const json& in, Identity identity) {
  auto max = opt_int(in, "MaxNumberOfMessages");
  auto vis = opt_int(in, "VisibilityTimeout");
  auto wait = opt_int(in, "WaitTimeSeconds");
  auto names = string_list(in, "AttributeNames");
  auto sys_names = string_list(in, "MessageSystemAttributeNames");
  auto attr_names = string_list(in, "MessageAttributeNames");
  auto attempt = opt_string(in, "ReceiveRequestAttemptId");  // FIFO only
  if (!max) return std::move(max).error();
  if (!vis) return std::move(vis).error();
  if (!wait) return std::move(wait).error();
  if (!names) return std::move(names).error();
  if (!sys_names) return std::move(sys_names).error();
  if (!attr_names) return std::move(attr_names).error();
  if (!attempt) return std::move(attempt).error();
  ReceiveCall call;
  ReceiveOptions& o = call.options;
  o.max_number_of_messages = max->value_or(1);
  o.visibility_timeout_s = *vis;
  // AWS returns the union of both lists (§3.2).
  o.system_attribute_names = std::move(*names);
  for (std::string& n : *sys_names) {
    if (std::find(o.system_attribute_names.begin(), o.system_attribute_names.end(), n) ==
        o.system_attribute_names.end()) {
      o.system_attribute_names.push_back(std::move(n));
    }
  }
  o.message_attribute_names = std::move(*attr_names);
  o.receive_request_attempt_id = std::move(*attempt);
  o.compute_md5 = true;
  call.wait_s = wait->value_or(q.attributes().receive_message_wait_time_s);
  if (call.wait_s < 0 || call.wait_s > 20) {
    return invalid("Value " + std::to_string(call.wait_s) +
                   " for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and "
                   "<= 20, if provided.");
  }
  call.want_sender = wants(o.system_attribute_names, "SenderId");
  call.want_source = wants(o.system_attribute_names, "DeadLetterQueueSourceArn");
  call.identity = std::move(identity);
  return call;
}

std::string ReceiveCall::write(const ReceiveBatch& b) const {
  return fast::write_receive(b, want_sender, want_source, identity);
}

json ReceiveCall::render(const ReceiveBatch& b) const {
  const Identity& id = identity;
  json out = json::object();
  if (b.count == 0) {
    return out;  // an empty receive is {} (§1.3)
  }
  json messages = json::array();
  for (size_t i = 0; i < b.count; ++i) {
    const ReceivedMessage& m = b.messages[i];
    json j = {{"MessageId", m.message_id.to_string()},
              {"ReceiptHandle", m.receipt_handle},
              {"MD5OfBody", m.md5_of_body ? m.md5_of_body->to_hex() : std::string()},
              {"Body", m.body}};
    json attrs = json::object();
    for (const auto& [k, v] : m.system_attributes) {
      attrs[k] = v;
    }
    if (want_sender) attrs["SenderId"] = id.account_id;
    if (want_source && !m.dead_letter_source_queue.empty() && id.queue_arn) {
      attrs["DeadLetterQueueSourceArn"] = id.queue_arn(m.dead_letter_source_queue);
    }
    if (!attrs.empty()) j["Attributes"] = std::move(attrs);
    if (!m.attributes.empty()) {
      json ma = json::object();
      for (const MessageAttribute& a : m.attributes) {
        json v = {{"DataType", a.data_type}};
        if (a.data_type.starts_with("Binary")) {
          v["BinaryValue"] = base64_encode(a.value);
        } else {
          v["StringValue"] = a.value;
        }
        ma[a.name] = std::move(v);
      }
      if (m.md5_of_message_attributes) {
        j["MD5OfMessageAttributes"] = m.md5_of_message_attributes->to_hex();
      }
      j["MessageAttributes"] = std::move(ma);
    }
    messages.push_back(std::move(j));
  }
  out["Messages"] = std::move(messages);
  return out;
}

Result<json> delete_message(Queue& q, const json& in) {
  auto handle = need_string(in, "ReceiptHandle");
  if (!handle) return std::move(handle).error();
  if (auto d = q.delete_message(*handle); !d) return std::move(d).error();
  return json::object();
}

Result<json> delete_message_batch(Queue& q, const json& in) {
  auto entries = batch_entries(in, "DeleteMessageBatchRequestEntry");
  if (!entries) return std::move(entries).error();
  return each_entry(*entries, [&](const json& e) -> Result<void> {
    auto handle = need_string(e, "ReceiptHandle");
    if (!handle) return std::move(handle).error();
    return q.delete_message(*handle);
  });
}

Result<json> change_message_visibility(Queue& q, const json& in) {
  auto handle = need_string(in, "ReceiptHandle");
  auto vis = opt_int(in, "VisibilityTimeout");
  if (!handle) return std::move(handle).error();
  if (!vis) return std::move(vis).error();
  if (!*vis) return missing("VisibilityTimeout");
  if (auto c = q.change_visibility(*handle, **vis); !c) return std::move(c).error();
  return json::object();
}

Result<json> change_message_visibility_batch(Queue& q, const json& in) {
  auto entries = batch_entries(in, "ChangeMessageVisibilityBatchRequestEntry");
  if (!entries) return std::move(entries).error();
  return each_entry(*entries, [&](const json& e) -> Result<void> {
    auto handle = need_string(e, "ReceiptHandle");
    auto vis = opt_int(e, "VisibilityTimeout");
    if (!handle) return std::move(handle).error();
    if (!vis) return std::move(vis).error();
    if (!*vis) return missing("VisibilityTimeout");
    return q.change_visibility(*handle, **vis);
  });
}

}  // namespace messages

Result<std::shared_ptr<Queue>> SqsApi::queue_of(const json& in) const {
  auto url = need_string(in, "QueueUrl");
  if (!url) {
    return std::move(url).error();
  }
  return queue_at(*url);
}

Result<std::shared_ptr<Queue>> SqsApi::queue_at(std::string_view url) const {
  auto name = queue_name_of_url(url);
  if (!name) {
    return std::move(name).error();
  }
  std::shared_ptr<Queue> q = registry_.queue(*name);
  if (!q) {
    return make_error(ErrorCode::kQueueDoesNotExist, "The specified queue does not exist.");
  }
  return q;
}

std::optional<Result<std::string>> SqsApi::call_fast(std::string_view action, std::string_view body,
                                                     const CallContext& ctx) {
  const bool batch = action == "SendMessageBatch";
  if (batch || action == "SendMessage") {
    fast::SendInput in;
    if (!fast::read_send(body, batch, in)) return std::nullopt;
    auto found = queue_at(in.queue_url);
    if (!found) return Result<std::string>(std::move(found).error());
    Queue* q = found->get();
    std::vector<SendRequest> requests;
    requests.reserve(in.entries.size());
    for (messages::OwnedSend& m : in.entries) {
      m.trace_header = ctx.trace_header;  // the X-Amzn-Trace-Id header, as read_send() does
      requests.push_back(m.view());
    }
    SendOptions o;
    o.compute_md5 = true;
    if (!batch) {
      auto r = q->send(requests.front(), o);
      if (!r) return Result<std::string>(std::move(r).error());
      return Result<std::string>(fast::write_send(*r));
    }
    std::vector<Result<SendResult>> results;
    if (auto b = q->send_batch(requests, results, o); !b) {
      return Result<std::string>(std::move(b).error());
    }
    return Result<std::string>(fast::write_send_batch(in.ids, results));
  }
  if (action == "DeleteMessage") {
    std::string url;
    std::string handle;
    if (!fast::read_delete(body, url, handle)) return std::nullopt;
    auto found = queue_at(url);
    if (!found) return Result<std::string>(std::move(found).error());
    Queue* q = found->get();
    if (auto d = q->delete_message(handle); !d) return Result<std::string>(std::move(d).error());
    return Result<std::string>(std::string("{}"));
  }
  return std::nullopt;
}

Result<json> SqsApi::message_action(const std::string& action, const json& in,
                                    const CallContext& ctx) {
  auto q = queue_of(in);
  if (!q) return std::move(q).error();
  Queue& queue = **q;
  if (action == "SendMessage") return messages::send_message(queue, in, ctx.trace_header);
  if (action == "SendMessageBatch") {
    return messages::send_message_batch(queue, in, ctx.trace_header);
  }
  if (action == "DeleteMessage") return messages::delete_message(queue, in);
  if (action == "DeleteMessageBatch") return messages::delete_message_batch(queue, in);
  if (action == "ChangeMessageVisibility") return messages::change_message_visibility(queue, in);
  return messages::change_message_visibility_batch(queue, in);
}

void SqsApi::receive_message(const json& in, const Reply& reply) {
  receive(in, [reply](Result<void> ok, const messages::ReceiveCall& call, const ReceiveBatch& b) {
    reply(ok ? Result<json>(call.render(b)) : Result<json>(std::move(ok).error()));
  });
}

void SqsApi::receive_message_text(const json& in, const TextReply& reply) {
  receive(in, [reply](Result<void> ok, const messages::ReceiveCall& call, const ReceiveBatch& b) {
    reply(ok ? Result<std::string>(call.write(b)) : Result<std::string>(std::move(ok).error()));
  });
}

void SqsApi::receive(const json& in, const ReceiveDone& done) {
  static const ReceiveBatch no_messages;
  auto fail = [&done](Error e) {
    const messages::ReceiveCall none;
    done(std::move(e), none, no_messages);
  };
  auto q = queue_of(in);
  if (!q) return fail(std::move(q).error());
  Registry& registry = registry_;
  messages::Identity id{registry_.instance().account_id,
                        [&registry](const std::string& name) { return registry.queue_arn(name); }};
  auto call = messages::prepare_receive(**q, in, std::move(id));
  if (!call) return fail(std::move(call).error());
  ReceiveOptions& o = call->options;
  o.wait_time_s = 0;
  // Try at once: this also validates the options. Wait only if nothing is there.
  ReceiveBatch batch;
  if (auto r = (*q)->receive(batch, o); !r) return done(std::move(r).error(), *call, no_messages);
  if (batch.count > 0 || call->wait_s == 0) return done({}, *call, batch);
  // The options leave `call` before it moves into the callback (argument order is unspecified).
  const std::chrono::seconds wait(call->wait_s);
  ReceiveOptions options = std::move(o);
  poller_.submit(std::move(*q), std::move(options), wait,
                 [done, call = std::move(*call)](Result<void> status, ReceiveBatch& b) {
                   done(std::move(status), call, b);
                 });
}

}  // namespace lqs::daemon
