// Copyright lqs authors. Fuzz target: the contract of sqs_fast.hpp on arbitrary bytes. Whenever
// a fast reader accepts a body, the general path (nlohmann::json and sqs_messages.hpp) must
// accept it too and read exactly the same values; anything else aborts (a finding).
//
// Input: the first byte picks the reader (0: SendMessage, 1: SendMessageBatch, 2:
// DeleteMessage, by its value modulo 3); the rest is the request body.
#include "daemon/sqs_fast.hpp"
#include "daemon/sqs_messages.hpp"
#include "daemon/sqs_params.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace {

using lqs::daemon::messages::OwnedSend;
using nlohmann::json;

[[noreturn]] void fail(const char* what, std::string_view body) {
  std::fprintf(stderr, "sqs_fast contract broken: %s\nbody: %.*s\n", what,
               static_cast<int>(body.size()), body.data());
  std::abort();
}

void same_message(const OwnedSend& fast, const json& entry, std::string_view body) {
  OwnedSend general;
  if (!lqs::daemon::messages::read_send(entry, "", general)) {
    fail("the general reader refused a message the fast one read", body);
  }
  if (fast.body != general.body || fast.delay_s != general.delay_s ||
      fast.group_id != general.group_id || fast.dedup_id != general.dedup_id ||
      !general.attributes.empty() || !general.trace_header.empty() || !fast.attributes.empty()) {
    fail("the readers disagree on a message", body);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const int which = data[0] % 3;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  namespace fast = lqs::daemon::fast;
  namespace params = lqs::daemon::params;
  // Every input, as a string to write: the fast writer's JSON string is nlohmann's.
  std::string written;
  fast::append_json_string(written, body);
  if (written != json(std::string(body)).dump(-1, ' ', false, json::error_handler_t::replace)) {
    fail("append_json_string differs from nlohmann's dump", body);
  }
  if (which == 2) {
    std::string url;
    std::string handle;
    if (!fast::read_delete(body, url, handle)) {
      return 0;
    }
    const json in = json::parse(body, nullptr, false);
    if (in.is_discarded() || !in.is_object()) fail("nlohmann refused a DeleteMessage", body);
    auto u = params::need_string(in, "QueueUrl");
    auto h = params::need_string(in, "ReceiptHandle");
    if (!u || !h || *u != url || *h != handle || in.size() != 2) {
      fail("the readers disagree on a DeleteMessage", body);
    }
    return 0;
  }
  const bool batch = which == 1;
  fast::SendInput in;
  if (!fast::read_send(body, batch, in)) {
    return 0;
  }
  const json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    fail("nlohmann refused a send the fast reader read", body);
  auto url = params::need_string(j, "QueueUrl");
  if (!url || *url != in.queue_url) fail("the readers disagree on QueueUrl", body);
  if (!batch) {
    if (in.entries.size() != 1 || !in.ids.empty()) fail("SendMessage read as a batch", body);
    same_message(in.entries[0], j, body);
    return 0;
  }
  auto entries = lqs::daemon::messages::batch_entries(j, "SendMessageBatchRequestEntry");
  if (!entries) fail("the general batch checks refused a batch the fast reader read", body);
  if (entries->size() != in.entries.size() || in.ids.size() != in.entries.size()) {
    fail("the readers disagree on the number of entries", body);
  }
  for (size_t i = 0; i < in.entries.size(); ++i) {
    if ((*entries)[i].first != in.ids[i]) fail("the readers disagree on an entry Id", body);
    same_message(in.entries[i], *(*entries)[i].second, body);
  }
  return 0;
}
