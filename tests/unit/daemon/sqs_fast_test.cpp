// Copyright lqs authors. The JSON fast path (daemon/sqs_fast.hpp): what its readers take and
// what they leave to the general path, its writers byte for byte against nlohmann's dump, and
// the whole request path through SqsHttp, where a request in the fast shape and the same
// request sent down the general path must get the same answer.
#include "daemon/sqs_fast.hpp"

#include "lqs/clock.hpp"

#include "daemon/long_poll.hpp"
#include "daemon/move_tasks.hpp"
#include "daemon/registry.hpp"
#include "daemon/sqs_api.hpp"
#include "daemon/sqs_http.hpp"
#include "daemon/sqs_messages.hpp"
#include "support/test_support.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

namespace lqs::daemon {
namespace {

using nlohmann::json;

const char* const kUrl = "http://localhost:9324/000000000000/q";

TEST(SqsFastRead, ReadsSendMessageWithEveryMemberItKnows) {
  fast::SendInput in;
  ASSERT_TRUE(
      fast::read_send(R"( {"QueueUrl" : "http://h/1/q", "MessageBody":"hi", "DelaySeconds": -12,)"
                      R"( "MessageGroupId":"g","MessageDeduplicationId":"d"} )",
                      false, in));
  EXPECT_EQ(in.queue_url, "http://h/1/q");
  ASSERT_EQ(in.entries.size(), 1u);
  EXPECT_TRUE(in.ids.empty());
  EXPECT_EQ(in.entries[0].body, "hi");
  EXPECT_EQ(in.entries[0].delay_s, -12);  // the engine refuses it, with SQS's message
  EXPECT_EQ(in.entries[0].group_id, "g");
  EXPECT_EQ(in.entries[0].dedup_id, "d");
}

TEST(SqsFastRead, DecodesEveryEscapeAndKeepsUtf8) {
  fast::SendInput in;
  ASSERT_TRUE(fast::read_send(
      R"({"QueueUrl":"q","MessageBody":"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00\u0000z caf\u00C9 )"
      "\xe4\xb8\xad\xf0\x9f\x98\x80\"}",
      false, in));
  EXPECT_EQ(in.entries[0].body, std::string("a\"b\\c/d\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80") +
                                    std::string(1, '\0') +
                                    "z caf\xc3\x89 \xe4\xb8\xad\xf0\x9f\x98\x80");
}

// The reader takes 8 plain bytes at a time: every kind of byte that ends a plain run (a quote,
// each escape, UTF-8 of each length, a control character, malformed UTF-8), at every offset
// within and across the words of a long plain body, reads as nlohmann reads it or is refused
// exactly when nlohmann refuses it.
TEST(SqsFastRead, EveryBreakInAPlainRunAtEveryOffsetReadsAsNlohmannReadsIt) {
  const std::vector<std::string> breaks = {R"(\")",    R"(\\)",        R"(\/)",
                                           R"(\n)",    R"(\u00e9)",    R"(\ud83d\ude00)",
                                           "\xc3\xa9", "\xe4\xb8\xad", "\xf0\x9f\x98\x80",
                                           "\x7f",     "\x01",         "\x1f",
                                           "\xc3",     "\xed\xa0\x80", "\xff"};
  for (const std::string& b : breaks) {
    for (size_t at = 0; at < 40; ++at) {
      for (size_t len : {at, at + 1, at + 9, size_t{80}}) {
        std::string text(len, 'x');
        for (size_t i = 0; i < len; ++i) text[i] = static_cast<char>('a' + i % 26);
        text.insert(std::min(at, len), b);
        const std::string body = R"({"QueueUrl":"q","MessageBody":")" + text + "\"}";
        fast::SendInput in;
        const bool read = fast::read_send(body, false, in);
        const json j = json::parse(body, nullptr, false);
        if (j.is_discarded()) {
          EXPECT_FALSE(read) << json(body).dump(-1, ' ', true, json::error_handler_t::replace);
          continue;
        }
        ASSERT_TRUE(read) << json(body).dump(-1, ' ', true, json::error_handler_t::replace);
        EXPECT_EQ(in.entries.at(0).body, j["MessageBody"].get<std::string>());
      }
    }
  }
}

TEST(SqsFastRead, ReadsABatchInRequestOrder) {
  json entries = json::array();
  for (int i = 0; i < 10; ++i) {
    entries.push_back({{"Id", "e" + std::to_string(i)}, {"MessageBody", "m" + std::to_string(i)}});
  }
  fast::SendInput in;
  ASSERT_TRUE(fast::read_send(json{{"QueueUrl", kUrl}, {"Entries", entries}}.dump(), true, in));
  ASSERT_EQ(in.entries.size(), 10u);
  ASSERT_EQ(in.ids.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(in.ids[i], "e" + std::to_string(i));
    EXPECT_EQ(in.entries[i].body, "m" + std::to_string(i));
  }
}

TEST(SqsFastRead, LeavesEverythingElseToTheGeneralPath) {
  const std::vector<std::string> sends = {
      "",
      "[]",
      "{}",
      R"({"QueueUrl":"q"})",                                      // no MessageBody
      R"({"MessageBody":"x"})",                                   // no QueueUrl
      R"({"QueueUrl":"q","MessageBody":"x","MessageBody":"y"})",  // a member twice
      R"({"QueueUrl":"q","MessageBody":null})",
      R"({"QueueUrl":"q","MessageBody":5})",
      R"({"QueueUrl":"q","MessageBody":"x","DelaySeconds":"5"})",
      R"({"QueueUrl":"q","MessageBody":"x","DelaySeconds":1.0})",
      R"({"QueueUrl":"q","MessageBody":"x","DelaySeconds":1e2})",
      R"({"QueueUrl":"q","MessageBody":"x","DelaySeconds":2147483647})",  // 10 digits
      R"({"QueueUrl":"q","MessageBody":"x","DelaySeconds":01})",
      R"({"QueueUrl":"q","MessageBody":"x","MessageAttributes":{}})",
      R"({"QueueUrl":"q","MessageBody":"x","MessageSystemAttributes":{}})",
      R"({"QueueUrl":"q","MessageBody":"x","Unknown":1})",
      R"({"QueueUrl":"q","MessageBody":"x"} x)",  // trailing bytes
      R"({"QueueUrl":"q","MessageBody":"x",})",   // trailing comma
      R"({"Queue\u0055rl":"q","MessageBody":"x"})",
      R"({"QueueUrl":"q","MessageBody":"\ud800"})",  // lone high surrogate
      R"({"QueueUrl":"q","MessageBody":"\udc00"})",  // lone low surrogate
      R"({"QueueUrl":"q","MessageBody":"\ud800\u0041"})",
      R"({"QueueUrl":"q","MessageBody":"\x41"})",  // not a JSON escape
      R"({"QueueUrl":"q","MessageBody":"\u12G4"})",
      "{\"QueueUrl\":\"q\",\"MessageBody\":\"a\tb\"}",              // raw control character
      "\xef\xbb\xbf{\"QueueUrl\":\"q\",\"MessageBody\":\"x\"}",     // byte order mark
      "{\"QueueUrl\":\"q\",\"MessageBody\":\"\xc3\x28\"}",          // bad continuation
      "{\"QueueUrl\":\"q\",\"MessageBody\":\"\xc0\xaf\"}",          // overlong
      "{\"QueueUrl\":\"q\",\"MessageBody\":\"\xe0\x80\xaf\"}",      // overlong
      "{\"QueueUrl\":\"q\",\"MessageBody\":\"\xed\xa0\x80\"}",      // UTF-8 surrogate
      "{\"QueueUrl\":\"q\",\"MessageBody\":\"\xf4\x90\x80\x80\"}",  // above U+10FFFF
      "{\"QueueUrl\":\"q\",\"MessageBody\":\"\xe4\xb8\"}",          // cut short
      R"({"QueueUrl":"q","MessageBody":"x)",                        // unterminated
  };
  for (const std::string& body : sends) {
    fast::SendInput in;
    EXPECT_FALSE(fast::read_send(body, false, in)) << body;
  }
  const std::vector<std::string> batches = {
      R"({"QueueUrl":"q"})",
      R"({"QueueUrl":"q","Entries":[]})",
      R"({"QueueUrl":"q","Entries":{}})",
      R"({"QueueUrl":"q","Entries":[{"Id":"a"}]})",
      R"({"QueueUrl":"q","Entries":[{"MessageBody":"x"}]})",
      R"({"QueueUrl":"q","Entries":[{"Id":"a","MessageBody":"x"},{"Id":"a","MessageBody":"y"}]})",
      R"({"QueueUrl":"q","Entries":[{"Id":"a.b","MessageBody":"x"}]})",
      R"({"QueueUrl":"q","Entries":[{"Id":"","MessageBody":"x"}]})",
      R"({"QueueUrl":"q","Entries":[{"Id":"a","MessageBody":"x","Id":"b"}]})",
      R"({"QueueUrl":"q","Entries":[{"Id":"a","MessageBody":"x"}],"Entries":[]})",
      R"({"QueueUrl":"q","MessageBody":"x","Entries":[{"Id":"a","MessageBody":"x"}]})",
  };
  for (const std::string& body : batches) {
    fast::SendInput in;
    EXPECT_FALSE(fast::read_send(body, true, in)) << body;
  }
  json eleven = json::array();
  for (int i = 0; i < 11; ++i) {
    eleven.push_back({{"Id", "e" + std::to_string(i)}, {"MessageBody", "m"}});
  }
  fast::SendInput in;
  EXPECT_FALSE(fast::read_send(json{{"QueueUrl", "q"}, {"Entries", eleven}}.dump(), true, in));
  EXPECT_FALSE(fast::read_send(
      json{{"QueueUrl", "q"}, {"Entries", {{{"Id", std::string(81, 'a')}, {"MessageBody", "m"}}}}}
          .dump(),
      true, in));
  std::string url;
  std::string handle;
  EXPECT_TRUE(fast::read_delete(R"({"ReceiptHandle":"a\/b","QueueUrl":"q"})", url, handle));
  EXPECT_EQ(url, "q");
  EXPECT_EQ(handle, "a/b");
  EXPECT_FALSE(fast::read_delete(R"({"QueueUrl":"q"})", url, handle));
  EXPECT_FALSE(fast::read_delete(R"({"QueueUrl":"q","ReceiptHandle":"h","X":1})", url, handle));
  EXPECT_FALSE(fast::read_delete(R"({"QueueUrl":"q","ReceiptHandle":7})", url, handle));
}

SendResult sample_result(bool attrs, bool sys, bool seq) {
  SendResult r;
  for (uint8_t i = 0; i < 16; ++i) {
    r.message_id.bytes[i] = static_cast<uint8_t>(i * 17 + 3);
  }
  r.md5_of_body = Md5Digest{};
  r.md5_of_body->bytes[0] = 0xab;
  r.md5_of_body->bytes[15] = 0x01;
  if (attrs) {
    r.md5_of_message_attributes = Md5Digest{};
    r.md5_of_message_attributes->bytes[3] = 0xfe;
  }
  if (sys) {
    r.md5_of_message_system_attributes = Md5Digest{};
    r.md5_of_message_system_attributes->bytes[7] = 0x7f;
  }
  if (seq) r.sequence_number = lqs::SequenceNumber{8'890'000'000'000'000'001};
  return r;
}

std::string general_dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);  // as SqsHttp answers
}

TEST(SqsFastWrite, SendAnswersAreWhatNlohmannDumps) {
  for (int mask = 0; mask < 8; ++mask) {
    const SendResult r = sample_result(mask & 1, mask & 2, mask & 4);
    EXPECT_EQ(fast::write_send(r), general_dump(messages::send_result(r))) << mask;
  }
}

// Every byte below 0x80 alone, well-formed UTF-8 of each length, and the malformed sequences
// nlohmann replaces by rules of its own (overlong, surrogate, past U+10FFFF, cut short, stray
// continuation bytes), then random byte strings biased towards those cases.
TEST(SqsFastWrite, JsonStringsAreWhatNlohmannDumps) {
  std::vector<std::string> cases = {"",
                                    "plain",
                                    "caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80",
                                    "\xc0\xaf",
                                    "\xe0\x80\xaf",
                                    "\xed\xa0\x80",
                                    "\xf4\x90\x80\x80",
                                    "\xc3",
                                    "a\xe4\xb8",
                                    "\x80",
                                    "x\xbfy",
                                    "\xff",
                                    "\xf8\x88\x80\x80\x80",
                                    "\xef\xbf\xbf",
                                    "\xf4\x8f\xbf\xbf",
                                    "\xc2\x80",
                                    "\x7f"};
  for (int c = 0; c < 0x80; ++c) {
    cases.push_back(std::string(1, static_cast<char>(c)) + "q");
  }
  uint64_t x = 0x9E3779B97F4A7C15ULL;
  const std::string alphabet = std::string(
                                   "\"\\\b\f\n\r\t\x01\x1f"
                                   "Az/") +
                               "\xc3\xa9\xe4\xb8\xad\xf0\x9f";
  for (int i = 0; i < 20'000; ++i) {
    std::string t;
    const int n = static_cast<int>(x % 12);
    for (int k = 0; k < n; ++k) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      t.push_back((x >> 40) % 4 == 0 ? static_cast<char>(x >> 8)
                                     : alphabet[(x >> 16) % alphabet.size()]);
    }
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    cases.push_back(std::move(t));
  }
  for (const std::string& c : cases) {
    std::string o = "{";
    fast::append_json_string(o, c);
    EXPECT_EQ(o, "{" + general_dump(json(c)))
        << json(c).dump(-1, ' ', true, json::error_handler_t::replace);
  }
}

TEST(SqsFastWrite, BatchAnswersAreWhatNlohmannDumps) {
  const std::vector<std::string> ids = {"a", "B-2", "c_3", "d4"};
  std::vector<Result<SendResult>> results;
  results.emplace_back(sample_result(false, false, false));
  results.emplace_back(make_error(ErrorCode::kInvalidMessageContents,
                                  "Invalid characters \"\x01\" \xc3\xa9 found \xff here"));
  results.emplace_back(sample_result(true, true, true));
  results.emplace_back(make_error(ErrorCode::kSystem, "server side"));
  // The general path's shape (sqs_messages.cpp, send_message_batch): Successful always,
  // Failed only when an entry failed.
  const auto general = [&](size_t n) {
    json successful = json::array();
    json failed = json::array();
    for (size_t k = 0; k < n; ++k) {
      if (results[k]) {
        json s = messages::send_result(*results[k]);
        s["Id"] = ids[k];
        successful.push_back(std::move(s));
      } else {
        failed.push_back(messages::failed_entry(ids[k], results[k].error()));
      }
    }
    json out = json{{"Successful", successful}};
    if (!failed.empty()) out["Failed"] = failed;
    return general_dump(out);
  };
  for (size_t n = 1; n <= results.size(); ++n) {
    EXPECT_EQ(fast::write_send_batch(std::span(ids).first(n), std::span(results).first(n)),
              general(n))
        << n;
  }
  // Every entry failed: an empty Successful list.
  const std::vector<std::string> one = {"x"};
  std::vector<Result<SendResult>> failed;
  failed.emplace_back(make_error(ErrorCode::kQueueFull, "full"));
  EXPECT_EQ(fast::write_send_batch(one, failed),
            general_dump(json{{"Successful", json::array()},
                              {"Failed", {messages::failed_entry("x", failed[0].error())}}}));
}

// The request path of lqsd below the network, as tests/fuzz/sqs_json_fuzz.cpp builds it.
class SqsFastHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    poller_.stop();
    Instance inst;
    inst.shm_root = root_.path();
    inst.data_dir = root_.path() + "-data";
    auto r = Registry::open(inst);
    ASSERT_TRUE(r) << r.error().message;
    registry_ = std::move(r).value();
    auto q = registry_->create_queue("q", {{"LqsCapacityMessages", "64"},
                                           {"LqsCapacityBytes", "2097152"},
                                           {"MaximumMessageSize", "1024"}});
    ASSERT_TRUE(q) << q.error().message;
    auto f = registry_->create_queue(
        "f.fifo",
        {{"FifoQueue", "true"}, {"LqsCapacityMessages", "64"}, {"LqsCapacityBytes", "2097152"}});
    ASSERT_TRUE(f) << f.error().message;
    tasks_ = std::make_unique<MoveTasks>(*registry_);
    api_ = std::make_unique<SqsApi>(
        *registry_, *tasks_, tasks_mu_, [] { return SystemClock::instance().unix_ms(); }, poller_);
    http_ = std::make_unique<SqsHttp>(*api_);
  }
  void TearDown() override {
    http_.reset();
    api_.reset();
    tasks_.reset();
    registry_.reset();
    std::filesystem::remove_all(root_.path() + "-data");
  }

  http::Response call(const std::string& action, const std::string& body) {
    http::Request r;
    r.method = "POST";
    r.target = "/";
    r.body = body;
    const std::string target = "AmazonSQS." + action;
    r.header = [&target](std::string_view name) -> std::string_view {
      if (name == "X-Amz-Target") return target;
      if (name == "Content-Type") return "application/x-amz-json-1.0";
      if (name == "Host") return "localhost:9324";
      return {};
    };
    http::Response out;
    int answers = 0;
    http_->handle(r, [&](http::Response resp) {
      out = std::move(resp);
      ++answers;
    });
    EXPECT_EQ(answers, 1);
    return out;
  }

  // What may differ between two answers to the same request: ids, sequence numbers, request ids.
  static std::string masked(const http::Response& r) {
    static const std::regex uuid("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
    static const std::regex seq("\"SequenceNumber\":\"[0-9]+\"");
    std::string s = std::to_string(r.status) + " " + r.content_type + "\n";
    for (const auto& [k, v] : r.headers) {
      if (k != "x-amzn-RequestId") s += k + ": " + v + "\n";
    }
    s += r.body;
    s = std::regex_replace(s, uuid, "<id>");
    return std::regex_replace(s, seq, "\"SequenceNumber\":<n>");
  }

  // `body` in the fast shape, then with a member the general path ignores (so the fast path
  // passes it on): the two answers must be the same.
  static bool fast_shape(const std::string& action, const std::string& body) {
    fast::SendInput in;
    std::string url;
    std::string handle;
    return action == "DeleteMessage" ? fast::read_delete(body, url, handle)
                                     : fast::read_send(body, action == "SendMessageBatch", in);
  }

  void expect_same_answer(const std::string& action, json body) {
    ASSERT_TRUE(fast_shape(action, body.dump())) << body.dump();
    const http::Response fast_answer = call(action, body.dump());
    body["LqsTestIgnored"] = 1;
    ASSERT_FALSE(fast_shape(action, body.dump()));
    const http::Response general_answer = call(action, body.dump());
    EXPECT_EQ(masked(fast_answer), masked(general_answer)) << body.dump();
  }

  test::TempShmRoot root_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<MoveTasks> tasks_;
  std::mutex tasks_mu_;
  LongPoller poller_;
  std::unique_ptr<SqsApi> api_;
  std::unique_ptr<SqsHttp> http_;
};

// ReceiveMessage's two renderers, the JSON text one (JSON protocol) and the tree one (dumped
// for the same, and turned into XML for the Query protocol), on batches of every shape.
TEST_F(SqsFastHttpTest, ReceiveAnswersAreWhatNlohmannDumps) {
  const std::shared_ptr<Queue> q = registry_->queue("q");
  ASSERT_TRUE(q);
  ReceiveBatch b;
  b.messages.resize(4);
  ReceivedMessage& plain = b.messages[0];
  plain.message_id.bytes[0] = 0xab;
  plain.receipt_handle = "AQEB-handle_0";
  plain.body = "hello";
  plain.md5_of_body = Md5Digest{};
  plain.md5_of_body->bytes[15] = 1;
  ReceivedMessage& rich = b.messages[1];
  rich.receipt_handle = "h1";
  rich.body = "tab\t quote\" slash\\ \x01 caf\xc3\xa9 \xf0\x9f\x98\x80";
  rich.md5_of_body = Md5Digest{};
  rich.system_attributes = {{"SentTimestamp", "1700000000000"},
                            {"ApproximateReceiveCount", "2"},
                            {"MessageGroupId", "g\"1"},
                            {"AWSTraceHeader", "Root=1-abc"}};
  rich.dead_letter_source_queue = "src-queue";
  // As a receive returns them: sorted by name, each name once.
  rich.attributes = {{"a.num", "Number.int", "42"},
                     {"b.bin", "Binary", std::string("\x00\xff\x10", 3)},
                     {"c", "String", "v\n\xe4\xb8\xad"},
                     {"d.custom", "Binary.png", ""}};
  rich.md5_of_message_attributes = Md5Digest{};
  rich.md5_of_message_attributes->bytes[0] = 0x5a;
  ReceivedMessage& no_md5 = b.messages[2];  // attributes, but no digest
  no_md5.receipt_handle = "h2";
  no_md5.attributes = {{"x", "String", "y"}};
  ReceivedMessage& bad_utf8 = b.messages[3];
  bad_utf8.receipt_handle = "h3";
  bad_utf8.body = "cut \xe4\xb8";
  const std::vector<json> asks = {
      {{"QueueUrl", kUrl}},
      {{"QueueUrl", kUrl}, {"AttributeNames", {"All"}}},
      {{"QueueUrl", kUrl},
       {"MessageSystemAttributeNames", {"SenderId", "DeadLetterQueueSourceArn"}}},
      {{"QueueUrl", kUrl}, {"AttributeNames", {"SenderId"}}, {"MessageAttributeNames", {"All"}}}};
  const Registry& registry = *registry_;
  for (const json& in : asks) {
    messages::Identity id{
        "123456789012", [&registry](const std::string& name) { return registry.queue_arn(name); }};
    auto call = messages::prepare_receive(*q, in, id);
    ASSERT_TRUE(call) << call.error().message;
    for (size_t n = 0; n <= b.messages.size(); ++n) {
      b.count = n;
      EXPECT_EQ(call->write(b), general_dump(call->render(b))) << in.dump() << " " << n;
    }
  }
  b.count = 4;
  EXPECT_NE(general_dump(messages::prepare_receive(*q, asks[2], {"1", nullptr})->render(b)),
            general_dump(messages::prepare_receive(*q, asks[0], {"1", nullptr})->render(b)))
      << "the attributes asked for change the answer";
}

TEST_F(SqsFastHttpTest, FastAndGeneralPathsGiveTheSameAnswers) {
  const std::string q = "http://localhost:9324/000000000000/q";
  const std::string f = "http://localhost:9324/000000000000/f.fifo";
  // Successes.
  expect_same_answer("SendMessage", {{"QueueUrl", q}, {"MessageBody", "hello"}});
  expect_same_answer("SendMessage",
                     {{"QueueUrl", q}, {"MessageBody", "caf\xc3\xa9"}, {"DelaySeconds", 0}});
  expect_same_answer("SendMessage", {{"QueueUrl", f},
                                     {"MessageBody", "x"},
                                     {"MessageGroupId", "g"},
                                     {"MessageDeduplicationId", "d1"}});
  // Errors from the queue, the engine and the registry.
  expect_same_answer("SendMessage", {{"QueueUrl", q}, {"MessageBody", ""}});
  expect_same_answer("SendMessage", {{"QueueUrl", q}, {"MessageBody", "a\x01"}});
  expect_same_answer("SendMessage", {{"QueueUrl", q}, {"MessageBody", std::string(1025, 'x')}});
  expect_same_answer("SendMessage", {{"QueueUrl", q}, {"MessageBody", "x"}, {"DelaySeconds", 901}});
  expect_same_answer("SendMessage",
                     {{"QueueUrl", q}, {"MessageBody", "x"}, {"MessageDeduplicationId", "d"}});
  expect_same_answer("SendMessage", {{"QueueUrl", f}, {"MessageBody", "x"}});
  expect_same_answer("SendMessage", {{"QueueUrl", f},
                                     {"MessageBody", "x"},
                                     {"DelaySeconds", 5},
                                     {"MessageGroupId", "g"},
                                     {"MessageDeduplicationId", "d2"}});
  expect_same_answer("SendMessage", {{"QueueUrl", "http://localhost:9324/000000000000/nope"},
                                     {"MessageBody", "x"}});
  expect_same_answer("SendMessage", {{"QueueUrl", "http://localhost:9324/"}, {"MessageBody", "x"}});
  // Batches: all sent, and some entries failing.
  expect_same_answer("SendMessageBatch",
                     {{"QueueUrl", q},
                      {"Entries",
                       {{{"Id", "a"}, {"MessageBody", "1"}},
                        {{"Id", "b"}, {"MessageBody", "2"}, {"DelaySeconds", 3}}}}});
  expect_same_answer("SendMessageBatch",
                     {{"QueueUrl", q},
                      {"Entries",
                       {{{"Id", "a"}, {"MessageBody", "ok"}},
                        {{"Id", "b"}, {"MessageBody", "bad \x02"}},
                        {{"Id", "c"}, {"MessageBody", "x"}, {"DelaySeconds", -1}}}}});
  expect_same_answer("SendMessageBatch", {{"QueueUrl", f},
                                          {"Entries",
                                           {{{"Id", "a"},
                                             {"MessageBody", "1"},
                                             {"MessageGroupId", "g"},
                                             {"MessageDeduplicationId", "b1"}},
                                            {{"Id", "b"}, {"MessageBody", "2"}}}}});
  // DeleteMessage: a handle that is not one, then a real one (each answered once: a receipt
  // handle of a deleted message is still accepted, as on SQS).
  expect_same_answer("DeleteMessage", {{"QueueUrl", q}, {"ReceiptHandle", "garbage"}});
  const http::Response rec =
      call("ReceiveMessage", json{{"QueueUrl", q}, {"MaxNumberOfMessages", 1}}.dump());
  ASSERT_EQ(rec.status, 200) << rec.body;
  const json got = json::parse(rec.body);
  ASSERT_EQ(got["Messages"].size(), 1u) << rec.body;
  expect_same_answer("DeleteMessage",
                     {{"QueueUrl", q}, {"ReceiptHandle", got["Messages"][0]["ReceiptHandle"]}});
}

}  // namespace
}  // namespace lqs::daemon
