// Copyright lqs authors. Fuzz target: arbitrary bytes as the body of an AWS JSON 1.0 request,
// through the real request path below the network (SqsHttp::handle → SqsApi → Registry and the
// queues' shared memory). Whatever the body, the respond callback must be called exactly once,
// with one of SQS's client statuses (200, 400, 403, 404, 413): a 5xx, no answer, two answers,
// a crash or an escaping exception is a finding.
//
// Input: the first byte picks the action (X-Amz-Target: AmazonSQS.<one of the 23 actions>, or
// an unknown one); the rest is the body. The seed corpus (tests/fuzz/corpus/sqs_json/) names
// the queue that always exists: http://localhost/000000000000/fuzz.
//
// LQS_FUZZ_VERBOSE=1 prints each action, status and the start of the answer.
//
// One lqs instance per process (shm root and data dir under /dev/shm/lqs-fuzz-<pid>/, removed
// at exit and by the replay driver), rebuilt when the inputs have created more than a few
// queues, deleted the `fuzz` queue, or every few thousand inputs (so the queues do not stay
// full). Long polls answer at once: the LongPoller is stopped before use, so a ReceiveMessage
// with a wait replies synchronously (empty) instead of 20 s later.
//
// A limit of the harness, not of lqsd: CreateQueue inputs naming an LqsCapacity* attribute are
// skipped, since lqsd reserves a queue's whole capacity (up to 64 GiB) in /dev/shm when it
// creates it, and a fuzzer would fill the machine's memory.
#include "lqs/clock.hpp"

#include "daemon/long_poll.hpp"
#include "daemon/move_tasks.hpp"
#include "daemon/registry.hpp"
#include "daemon/sqs_api.hpp"
#include "daemon/sqs_http.hpp"
#include "http/server.hpp"

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace {

using lqs::daemon::Registry;
using nlohmann::json;

constexpr const char* kActions[] = {
    "CreateQueue",
    "GetQueueUrl",
    "ListQueues",
    "ListDeadLetterSourceQueues",
    "DeleteQueue",
    "GetQueueAttributes",
    "SetQueueAttributes",
    "PurgeQueue",
    "TagQueue",
    "UntagQueue",
    "ListQueueTags",
    "AddPermission",
    "RemovePermission",
    "SendMessage",
    "SendMessageBatch",
    "ReceiveMessage",
    "DeleteMessage",
    "DeleteMessageBatch",
    "ChangeMessageVisibility",
    "ChangeMessageVisibilityBatch",
    "StartMessageMoveTask",
    "CancelMessageMoveTask",
    "ListMessageMoveTasks",
    "NoSuchAction",  // not an SQS action: UnknownOperationException
};
constexpr size_t kActionCount = sizeof kActions / sizeof kActions[0];
constexpr size_t kMaxQueues = 8;            // more: rebuild the instance
constexpr uint64_t kInputsPerBuild = 5000;  // then rebuild, so that queues do not stay full

std::string scratch_root() { return "/dev/shm/lqs-fuzz-" + std::to_string(::getpid()); }

// One lqs instance as lqsd builds it (tools/lqsd/main.cpp), minus the HTTP server.
struct Instance {
  std::unique_ptr<Registry> registry;
  std::unique_ptr<lqs::daemon::MoveTasks> tasks;
  std::mutex tasks_mu;
  lqs::daemon::LongPoller poller;
  std::unique_ptr<lqs::daemon::SqsApi> api;
  std::unique_ptr<lqs::daemon::SqsHttp> http;
  uint64_t inputs = 0;

  explicit Instance(const std::string& dir) {
    poller.stop();  // long polls answer at once (see the top of this file)
    lqs::daemon::Instance inst;
    inst.shm_root = dir + "/shm";
    inst.data_dir = dir + "/data";
    auto r = Registry::open(inst);
    if (!r) {
      (void)std::fprintf(stderr, "sqs_json_fuzz: cannot open a registry in %s: %s\n", dir.c_str(),
                         r.error().message.c_str());
      std::abort();
    }
    registry = std::move(r).value();
    // The queue the seeds address; small, so that building it is cheap.
    if (!registry->create_queue(
            "fuzz", {{"LqsCapacityMessages", "1024"}, {"LqsCapacityBytes", "2097152"}})) {
      std::abort();
    }
    tasks = std::make_unique<lqs::daemon::MoveTasks>(*registry);
    api = std::make_unique<lqs::daemon::SqsApi>(
        *registry, *tasks, tasks_mu, [] { return lqs::SystemClock::instance().unix_ms(); }, poller);
    http = std::make_unique<lqs::daemon::SqsHttp>(*api);
  }
};

std::unique_ptr<Instance>& instance() {
  static std::unique_ptr<Instance> inst;
  static uint64_t generation = 0;
  static const bool cleanup_registered = [] {
    (void)std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(scratch_root(), ec);
    });
    return true;
  }();
  (void)cleanup_registered;
  if (!inst) {
    inst = std::make_unique<Instance>(scratch_root() + "/" + std::to_string(generation++));
  }
  return inst;
}

void maybe_rebuild() {
  auto& inst = instance();
  const auto names = inst->registry->queue_names();
  if (++inst->inputs < kInputsPerBuild && names.size() <= kMaxQueues &&
      inst->registry->queue("fuzz") != nullptr) {
    return;
  }
  const std::string dir = inst->registry->instance().shm_root;
  inst.reset();
  std::error_code ec;
  std::filesystem::remove_all(std::filesystem::path(dir).parent_path(), ec);
}

// A CreateQueue that names LqsCapacityMessages/Bytes: skipped (see the top of this file).
bool names_capacity(std::string_view action, const std::string& body) {
  if (action != "CreateQueue") return false;
  const json in = json::parse(body, nullptr, false);
  if (in.is_discarded() || !in.is_object() || !in.contains("Attributes") ||
      !in["Attributes"].is_object()) {
    return false;
  }
  for (const auto& [k, v] : in["Attributes"].items()) {
    if (k.starts_with("LqsCapacity")) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view action = kActions[data[0] % kActionCount];
  lqs::http::Request r;
  r.method = "POST";
  r.target = "/";
  r.body.assign(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (names_capacity(action, r.body)) return 0;
  const std::string target = "AmazonSQS." + std::string(action);
  r.header = [&target](std::string_view name) -> std::string_view {
    if (name == "X-Amz-Target") return target;
    if (name == "Content-Type") return "application/x-amz-json-1.0";
    if (name == "Host") return "localhost";
    return {};
  };
  auto& inst = instance();
  if (!lqs::daemon::SqsHttp::accepts(r)) {
    (void)std::fprintf(stderr, "sqs_json_fuzz: SqsHttp does not accept a JSON request\n");
    std::abort();
  }
  int calls = 0;
  int status = 0;
  static const bool verbose = std::getenv("LQS_FUZZ_VERBOSE") != nullptr;
  inst->http->handle(r, [&calls, &status, action](lqs::http::Response resp) {
    ++calls;
    status = resp.status;
    if (verbose) {
      (void)std::fprintf(stderr, "%.*s -> %d %.200s\n", static_cast<int>(action.size()),
                         action.data(), resp.status, resp.body.c_str());
    }
  });
  if (calls != 1) {
    (void)std::fprintf(stderr, "sqs_json_fuzz: %.*s answered %d times (expected once)\n",
                       static_cast<int>(action.size()), action.data(), calls);
    std::abort();
  }
  if (status != 200 && status != 400 && status != 403 && status != 404 && status != 413) {
    (void)std::fprintf(stderr, "sqs_json_fuzz: %.*s answered HTTP %d\n",
                       static_cast<int>(action.size()), action.data(), status);
    std::abort();
  }
  maybe_rebuild();
  return 0;
}
