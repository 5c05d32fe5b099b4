// Copyright lqs authors. Fuzz target: the SQS Query codec on arbitrary bytes must give a
// request or an Error, never a crash, a hang or an exception; whatever it parses must be
// valid JSON (dump() throws on invalid UTF-8) and must render as XML.
//
// Input: `<url query>\n<form body>`, or a form body alone when there is no newline.
// Built as a libFuzzer target in the `fuzz` preset (clang); in every other build the same
// function is driven by sqs_query_parse_replay.cpp over tests/fuzz/corpus/sqs_query_parse/.
#include "daemon/sqs_query.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t nl = in.find('\n');
  const std::string_view query =
      nl == std::string_view::npos ? std::string_view() : in.substr(0, nl);
  const std::string_view body = nl == std::string_view::npos ? in : in.substr(nl + 1);
  auto r = lqs::daemon::query::parse(body, query);
  if (!r) {
    (void)lqs::daemon::query::render_error(r.error(), "fuzz");
    return 0;
  }
  (void)r->input.dump();
  // The input rendered as if it were the action's output: the renderer must skip what does
  // not fit the output shape, whatever the JSON holds.
  (void)lqs::daemon::query::render_result(r->action, r->input, "fuzz");
  return 0;
}
