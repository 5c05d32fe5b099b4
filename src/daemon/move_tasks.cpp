// Copyright lqs authors.
#include "daemon/move_tasks.hpp"

#include "daemon/files.hpp"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

namespace lqs::daemon {
namespace {

constexpr int32_t kDefaultRate = 500;  // SQS picks a rate when none is given; this is its cap
constexpr int32_t kLeaseSeconds = 30;  // a move's lease: plenty for one send and one delete
constexpr std::string_view kHandlePrefix = "lqs-move-";

Error not_found(std::string_view what) {
  return make_error(
      ErrorCode::kResourceNotFound,
      "The resource that you specified for the " + std::string(what) + " parameter doesn't exist.");
}

}  // namespace

struct MoveTasks::Task {
  uint64_t id = 0;
  MoveTaskInfo info;
  std::string source;       // queue names
  std::string destination;  // empty: each message's dead_letter_source_queue
  int32_t rate = kDefaultRate;
  double allowance = 0;  // messages the rate allows now (token bucket, at most one second)
  int64_t last_ms = 0;
  std::shared_ptr<Queue> source_q;  // the registry's queues, held while the task runs
  std::map<std::string, std::shared_ptr<Queue>, std::less<>> destinations;
};

MoveTasks::MoveTasks(Registry& registry, std::string state_file)
    : registry_(registry), state_file_(std::move(state_file)) {}

void MoveTasks::save(int64_t now_ms, bool force) {
  if (state_file_.empty() || (!force && now_ms - saved_ms_ < 1000)) {
    return;
  }
  nlohmann::json tasks = nlohmann::json::array();
  for (const auto& t : tasks_) {
    nlohmann::json j = {{"id", t->id},
                        {"status", t->info.status},
                        {"source", t->source},
                        {"destination", t->destination},
                        {"rate", t->rate},
                        {"source_arn", t->info.source_arn},
                        {"destination_arn", t->info.destination_arn},
                        {"moved", t->info.approximate_messages_moved},
                        {"to_move", t->info.approximate_messages_to_move},
                        {"failure_reason", t->info.failure_reason},
                        {"started_ms", t->info.started_timestamp_ms}};
    if (t->info.max_messages_per_second) {
      j["max_per_second"] = *t->info.max_messages_per_second;
    }
    tasks.push_back(std::move(j));
  }
  const nlohmann::json doc = {{"next_id", next_id_}, {"tasks", tasks}};
  if (write_file_atomically(state_file_, doc.dump(1))) {
    saved_ms_ = now_ms;
  }  // else: retried at the next change or second; the tasks themselves go on
}

Result<void> MoveTasks::load(int64_t now_ms) {
  std::error_code ec;
  if (state_file_.empty() || !std::filesystem::exists(state_file_, ec)) {
    return {};
  }
  auto doc = read_json(state_file_);
  if (!doc) {
    return std::move(doc).error();
  }
  const auto bad = [&] {
    return make_error(ErrorCode::kCorruption, state_file_ + " is not a move-task file");
  };
  if (!doc->is_object() || !doc->contains("tasks") || !(*doc)["tasks"].is_array()) {
    return bad();
  }
  try {
    next_id_ = doc->value("next_id", uint64_t{1});
    for (const auto& j : (*doc)["tasks"]) {
      auto t = std::make_unique<Task>();
      t->id = j.at("id").get<uint64_t>();
      t->info.status = j.at("status").get<std::string>();
      t->source = j.at("source").get<std::string>();
      t->destination = j.at("destination").get<std::string>();
      t->rate = j.at("rate").get<int32_t>();
      t->info.source_arn = j.at("source_arn").get<std::string>();
      t->info.destination_arn = j.at("destination_arn").get<std::string>();
      t->info.approximate_messages_moved = j.at("moved").get<uint64_t>();
      t->info.approximate_messages_to_move = j.at("to_move").get<uint64_t>();
      t->info.failure_reason = j.at("failure_reason").get<std::string>();
      t->info.started_timestamp_ms = j.at("started_ms").get<int64_t>();
      if (j.contains("max_per_second")) {
        t->info.max_messages_per_second = j["max_per_second"].get<int32_t>();
      }
      next_id_ = std::max(next_id_, t->id + 1);
      if (t->info.status == "RUNNING") {
        t->last_ms = now_ms;
        t->source_q = registry_.queue(t->source);
        if (t->source_q) {
          t->info.task_handle = std::string(kHandlePrefix) + std::to_string(t->id);
        } else {
          t->info.status = "FAILED";
          t->info.failure_reason = "AWS.SimpleQueueService.NonExistentQueue";
        }
      }
      tasks_.push_back(std::move(t));
    }
  } catch (const nlohmann::json::exception&) {
    tasks_.clear();
    return bad();
  }
  return {};
}
MoveTasks::~MoveTasks() = default;

Result<std::string> MoveTasks::start(std::string_view source_arn, std::string_view destination_arn,
                                     std::optional<int32_t> max_messages_per_second,
                                     int64_t now_ms) {
  const auto source = registry_.queue_of_arn(source_arn);
  if (!source || !registry_.get_queue_url(*source)) {
    return not_found("SourceArn");
  }
  std::optional<std::string> destination;
  if (!destination_arn.empty()) {
    destination = registry_.queue_of_arn(destination_arn);
    if (!destination || !registry_.get_queue_url(*destination)) {
      return not_found("DestinationArn");
    }
  }
  auto sources = registry_.list_dead_letter_source_queues(*source, std::nullopt, "");
  if (!sources || sources->names.empty()) {
    return make_error(ErrorCode::kInvalidParameterValue,
                      "Source queue must be configured as a Dead Letter Queue.");
  }
  if (max_messages_per_second && (*max_messages_per_second < 1 || *max_messages_per_second > 500)) {
    return make_error(ErrorCode::kInvalidParameterValue,
                      "Value " + std::to_string(*max_messages_per_second) +
                          " for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: must "
                          "be between 1 and 500.");
  }
  for (const auto& t : tasks_) {
    if (t->source == *source && t->info.status == "RUNNING") {
      return make_error(ErrorCode::kInvalidParameterValue,
                        "There is already a task running. Only one active task is allowed for "
                        "a source queue arn at a given time.");
    }
  }
  auto t = std::make_unique<Task>();
  t->source = *source;
  t->source_q = registry_.queue(t->source);
  if (!t->source_q) {
    return not_found("SourceArn");
  }
  t->id = next_id_++;
  t->destination = destination.value_or("");
  t->rate = max_messages_per_second.value_or(kDefaultRate);
  t->last_ms = now_ms;
  t->info.task_handle = std::string(kHandlePrefix) + std::to_string(t->id);
  t->info.status = "RUNNING";
  t->info.source_arn = std::string(source_arn);
  t->info.destination_arn = std::string(destination_arn);
  t->info.max_messages_per_second = max_messages_per_second;
  t->info.approximate_messages_to_move = t->source_q->counts().visible;
  t->info.started_timestamp_ms = now_ms;
  const std::string handle = t->info.task_handle;
  tasks_.push_back(std::move(t));
  save(now_ms, true);
  return handle;
}

Result<uint64_t> MoveTasks::cancel(std::string_view task_handle) {
  uint64_t id = 0;
  const std::string_view digits = task_handle.starts_with(kHandlePrefix)
                                      ? task_handle.substr(kHandlePrefix.size())
                                      : std::string_view();
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
  if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size()) {
    return make_error(ErrorCode::kInvalidParameterValue,
                      "Value for parameter TaskHandle is invalid.");
  }
  for (auto& t : tasks_) {
    if (t->id != id) {
      continue;
    }
    if (t->info.status != "RUNNING") {
      return make_error(
          ErrorCode::kInvalidParameterValue,
          "Only a RUNNING task can be cancelled; this one is " + t->info.status + ".");
    }
    t->info.status = "CANCELLED";
    t->info.task_handle.clear();
    save(saved_ms_, true);
    return t->info.approximate_messages_moved;
  }
  return make_error(ErrorCode::kResourceNotFound, "Task does not exist.");
}

Result<std::vector<MoveTaskInfo>> MoveTasks::list(std::string_view source_arn,
                                                  std::optional<int32_t> max_results) const {
  const auto source = registry_.queue_of_arn(source_arn);
  if (!source || !registry_.get_queue_url(*source)) {
    return not_found("SourceArn");
  }
  if (max_results && (*max_results < 1 || *max_results > 10)) {
    return make_error(ErrorCode::kInvalidParameterValue,
                      "Value " + std::to_string(*max_results) +
                          " for parameter MaxResults is invalid. Reason: must be between 1 and "
                          "10.");
  }
  const size_t limit = static_cast<size_t>(max_results.value_or(1));
  std::vector<MoveTaskInfo> out;
  for (auto it = tasks_.rbegin(); it != tasks_.rend() && out.size() < limit; ++it) {
    if ((*it)->source == *source) {
      out.push_back((*it)->info);
    }
  }
  return out;
}

uint64_t MoveTasks::do_work(int64_t now_ms) {
  uint64_t moved_now = 0;
  bool finished = false;
  for (auto& t : tasks_) {
    if (t->info.status != "RUNNING") {
      continue;
    }
    const double elapsed_s = static_cast<double>(std::max<int64_t>(0, now_ms - t->last_ms)) / 1000;
    t->last_ms = now_ms;
    t->allowance = std::min<double>(t->allowance + elapsed_s * t->rate, t->rate);
    ReceiveBatch b;
    ReceiveOptions o;
    o.visibility_timeout_s = kLeaseSeconds;
    o.message_attribute_names = {"All"};
    while (t->allowance >= 1 && t->info.status == "RUNNING") {
      o.max_number_of_messages = static_cast<int32_t>(std::min<double>(10, t->allowance));
      if (!t->source_q->receive(b, o) || b.count == 0) {
        t->info.status = "COMPLETED";  // the dead-letter queue has nothing visible left
        t->info.task_handle.clear();
        break;
      }
      for (size_t i = 0; i < b.count; ++i) {
        const ReceivedMessage& m = b.messages[i];
        const std::string& dest =
            t->destination.empty() ? m.dead_letter_source_queue : t->destination;
        auto& dq = t->destinations[dest];
        if (!dq && !dest.empty()) {
          dq = registry_.queue(dest);
        }
        SendRequest r;
        r.body = m.body;
        r.attributes = m.attributes;
        r.message_group_id = m.message_group_id;
        r.aws_trace_header = m.aws_trace_header;
        if (!dq || !dq->send(r)) {
          // Put the message back at once, and stop with SQS's reason.
          (void)t->source_q->change_visibility(m.receipt_handle, 0);
          t->info.status = "FAILED";
          t->info.failure_reason = dest.empty() || !dq
                                       ? "AWS.SimpleQueueService.NonExistentQueue"
                                       : "The destination queue did not accept the message";
          t->info.task_handle.clear();
          for (size_t j = i + 1; j < b.count; ++j) {
            (void)t->source_q->change_visibility(b.messages[j].receipt_handle, 0);
          }
          break;
        }
        (void)t->source_q->delete_message(m.receipt_handle);
        ++t->info.approximate_messages_moved;
        ++moved_now;
        t->allowance -= 1;
      }
      if (t->info.status == "RUNNING" &&
          t->info.approximate_messages_moved >= t->info.approximate_messages_to_move) {
        t->info.status = "COMPLETED";
        t->info.task_handle.clear();
      }
    }
    finished = finished || t->info.status != "RUNNING";
  }
  if (finished || moved_now != 0) {
    save(now_ms, finished);
  }
  return moved_now;
}

}  // namespace lqs::daemon
