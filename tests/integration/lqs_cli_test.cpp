// Copyright lqs authors. The lqs CLI against a real lqsd on a temporary instance: every aws-sqs
// subcommand with its output parsed as JSON, the text and table formats, one-line errors and
// exit codes for bad input, message commands without a daemon, `lqs top`, and fsck/dump on
// healthy, truncated and bit-flipped segments, and `fsck --wal` (and --salvage-to) on logs
// written by a real lqsd.
#include "lqs/queue.hpp"

#include "common/md5.hpp"
#include "integration/cli_support.hpp"
#include "support/test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#ifndef LQS_PATH
#error "LQS_PATH must name the lqs binary"
#endif
#ifndef LQSD_PATH
#error "LQSD_PATH must name the lqsd binary"
#endif

namespace lqs {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

class LqsCliTest : public test::ScratchTest {
 protected:
  void SetUp() override {
    ScratchTest::SetUp();
    lqsd_ = test::start_child({LQSD_PATH, "--shm-root", root_.path(), "--data-dir", dir_ + "/data",
                               "--listen", "127.0.0.1:0", "--housekeeping-interval-ms", "100"},
                              dir_ + "/lqsd");
    ASSERT_TRUE(
        test::eventually([&] { return lqsd_.out().find("lqsd ready") != std::string::npos; }, 15s))
        << lqsd_.err();
    const std::string out = lqsd_.out();
    const auto at = out.find("http://127.0.0.1:");
    ASSERT_NE(at, std::string::npos);
    endpoint_ = "http://127.0.0.1:" + std::to_string(std::atoi(out.c_str() + at + 17));
  }
  void TearDown() override {
    stop_lqsd();
    ScratchTest::TearDown();
  }
  void stop_lqsd() {
    if (lqsd_.pid > 0) {
      (void)::kill(lqsd_.pid, SIGTERM);
      EXPECT_EQ(test::wait_for(lqsd_.pid, 15s), 0);
      lqsd_.pid = -1;
    }
  }

  // Runs lqs with the instance's settings first, then `args`.
  test::RunResult lqs(std::vector<std::string> args, std::vector<std::string> env = {}) {
    std::vector<std::string> all = {LQS_PATH, "--shm-root", root_.path(), "--endpoint-url",
                                    endpoint_};
    all.insert(all.end(), args.begin(), args.end());
    return test::run_child(all, dir_ + "/lqs", env);
  }
  // Runs lqs, expects success and JSON (or nothing) on stdout.
  json ok(std::vector<std::string> args) {
    const test::RunResult r = lqs(args);
    EXPECT_EQ(r.exit_code, 0) << args[0] << ": " << r.err;
    EXPECT_EQ(r.err, "") << args[0];
    if (r.out.empty()) return json::object();
    json j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out;
    return j;
  }
  // Runs lqs, expects exit `code` and exactly one line on stderr containing `needle`.
  void fails(std::vector<std::string> args, int code, const std::string& needle) {
    const test::RunResult r = lqs(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_EQ(r.exit_code, code) << joined << "\n" << r.err;
    EXPECT_EQ(test::lines_of(r.err).size(), 1u) << joined << "\n" << r.err;
    EXPECT_TRUE(r.err.starts_with("lqs: ")) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << joined << "\n" << r.err;
    EXPECT_EQ(r.out, "") << joined;
  }
  std::string url(const std::string& name) const { return endpoint_ + "/000000000000/" + name; }

  std::string endpoint_;
  test::Child lqsd_;
};

std::string md5_hex(const std::string& s) { return common::md5(s).to_hex(); }

TEST_F(LqsCliTest, ControlCommandsRoundTripThroughLqsd) {
  json j = ok({"create-queue", "--queue-name", "orders-dlq"});
  EXPECT_EQ(j, json({{"QueueUrl", url("orders-dlq")}}));
  // Attributes as JSON (a RedrivePolicy as its JSON text), tags as shorthand.
  j = ok(
      {"create-queue", "--queue-name", "orders", "--attributes",
       R"({"VisibilityTimeout": "45", "RedrivePolicy": "{\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:000000000000:orders-dlq\",\"maxReceiveCount\":\"3\"}"})",
       "--tags", "team=payments,env=test"});
  EXPECT_EQ(j["QueueUrl"], url("orders"));
  // Attributes as shorthand.
  ok({"create-queue", "--queue-name", "emails", "--attributes",
      "DelaySeconds=5,MaximumMessageSize=2048"});
  j = ok({"get-queue-url", "--queue-name", "orders"});
  EXPECT_EQ(j, json({{"QueueUrl", url("orders")}}));

  j = ok({"list-queues"});
  EXPECT_EQ(j["QueueUrls"], json({url("emails"), url("orders"), url("orders-dlq")}));
  j = ok({"list-queues", "--queue-name-prefix", "ord"});
  EXPECT_EQ(j["QueueUrls"], json({url("orders"), url("orders-dlq")}));
  j = ok({"list-queues", "--max-results", "1"});
  ASSERT_EQ(j["QueueUrls"].size(), 1u);
  ASSERT_TRUE(j.contains("NextToken")) << j;
  j = ok({"list-queues", "--max-results", "5", "--next-token", j["NextToken"]});
  EXPECT_EQ(j["QueueUrls"].size(), 2u);

  j = ok({"get-queue-attributes", "--queue-url", url("orders"), "--attribute-names", "All"});
  EXPECT_EQ(j["Attributes"]["VisibilityTimeout"], "45");
  EXPECT_EQ(j["Attributes"]["QueueArn"], "arn:aws:sqs:us-east-1:000000000000:orders");
  EXPECT_EQ(json::parse(j["Attributes"]["RedrivePolicy"].get<std::string>())["maxReceiveCount"], 3);
  j = ok({"get-queue-attributes", "--queue-name", "emails", "--attribute-names", "DelaySeconds",
          "MaximumMessageSize"});
  EXPECT_EQ(j, json({{"Attributes", {{"DelaySeconds", "5"}, {"MaximumMessageSize", "2048"}}}}));
  EXPECT_EQ(
      ok({"set-queue-attributes", "--queue-name", "emails", "--attributes", "DelaySeconds=0"}),
      json::object());
  j = ok({"get-queue-attributes", "--queue-name", "emails", "--attribute-names",
          "DelaySeconds,ReceiveMessageWaitTimeSeconds"});
  EXPECT_EQ(j["Attributes"]["DelaySeconds"], "0");
  EXPECT_EQ(j["Attributes"].size(), 2u);

  j = ok({"list-queue-tags", "--queue-url", url("orders")});
  EXPECT_EQ(j, json({{"Tags", {{"team", "payments"}, {"env", "test"}}}}));
  ok({"tag-queue", "--queue-url", url("orders"), "--tags", R"({"owner": "ana"})"});
  ok({"untag-queue", "--queue-url", url("orders"), "--tag-keys", "env", "team"});
  j = ok({"list-queue-tags", "--queue-url", url("orders")});
  EXPECT_EQ(j, json({{"Tags", {{"owner", "ana"}}}}));

  j = ok({"list-dead-letter-source-queues", "--queue-url", url("orders-dlq")});
  EXPECT_EQ(j, json({{"queueUrls", {url("orders")}}}));

  ok({"send-message", "--queue-name", "emails", "--message-body", "x"});
  EXPECT_EQ(ok({"purge-queue", "--queue-url", url("emails")}), json::object());
  EXPECT_EQ(ok({"receive-message", "--queue-name", "emails"}), json::object());

  EXPECT_EQ(ok({"delete-queue", "--queue-url", url("emails")}), json::object());
  fails({"get-queue-url", "--queue-name", "emails"}, 1,
        "An error occurred (QueueDoesNotExist) when calling the GetQueueUrl operation: ");
  fails({"create-queue", "--queue-name", "orders", "--attributes", "VisibilityTimeout=46"}, 1,
        "(QueueNameExists) when calling the CreateQueue operation");
  fails({"set-queue-attributes", "--queue-name", "orders", "--attributes", "Bogus=1"}, 1,
        "(InvalidAttributeName) when calling the SetQueueAttributes operation");
}

TEST_F(LqsCliTest, MessageCommandsRunOnSharedMemory) {
  ok({"create-queue", "--queue-name", "jobs"});
  json j = ok({"send-message", "--queue-url", url("jobs"), "--message-body", "hello world",
               "--message-attributes",
               R"({"color": {"DataType": "String", "StringValue": "blue"},
                   "n": {"DataType": "Number", "StringValue": "7"}})",
               "--delay-seconds", "0"});
  EXPECT_EQ(j["MD5OfMessageBody"], md5_hex("hello world"));
  ASSERT_TRUE(j.contains("MD5OfMessageAttributes"));
  const std::string id = j["MessageId"];
  EXPECT_EQ(id.size(), 36u);

  j = ok({"receive-message", "--queue-name", "jobs", "--attribute-names", "All",
          "--message-attribute-names", "All", "--visibility-timeout", "30"});
  ASSERT_EQ(j["Messages"].size(), 1u) << j;
  json m = j["Messages"][0];
  EXPECT_EQ(m["MessageId"], id);
  EXPECT_EQ(m["Body"], "hello world");
  EXPECT_EQ(m["MD5OfBody"], md5_hex("hello world"));
  EXPECT_EQ(m["MessageAttributes"]["color"],
            json({{"DataType", "String"}, {"StringValue", "blue"}}));
  EXPECT_EQ(m["Attributes"]["ApproximateReceiveCount"], "1");
  EXPECT_EQ(m["Attributes"]["SenderId"], "000000000000");
  ASSERT_TRUE(m.contains("ReceiptHandle"));
  const std::string handle = m["ReceiptHandle"];
  // Visibility back to 0: received again, count 2.
  EXPECT_EQ(ok({"change-message-visibility", "--queue-name", "jobs", "--receipt-handle", handle,
                "--visibility-timeout", "0"}),
            json::object());
  j = ok(
      {"receive-message", "--queue-name", "jobs", "--attribute-names", "ApproximateReceiveCount"});
  ASSERT_EQ(j["Messages"].size(), 1u);
  EXPECT_EQ(j["Messages"][0]["Attributes"], json({{"ApproximateReceiveCount", "2"}}));
  EXPECT_FALSE(j["Messages"][0].contains("MessageAttributes"));
  EXPECT_EQ(ok({"delete-message", "--queue-name", "jobs", "--receipt-handle",
                j["Messages"][0]["ReceiptHandle"]}),
            json::object());
  EXPECT_EQ(ok({"receive-message", "--queue-name", "jobs"}), json::object());

  // Batches.
  json entries = json::array();
  for (int i = 0; i < 10; ++i) {
    entries.push_back({{"Id", "e" + std::to_string(i)}, {"MessageBody", "b" + std::to_string(i)}});
  }
  j = ok({"send-message-batch", "--queue-name", "jobs", "--entries", entries.dump()});
  ASSERT_EQ(j["Successful"].size(), 10u) << j;
  EXPECT_FALSE(j.contains("Failed"));
  EXPECT_EQ(j["Successful"][3]["Id"], "e3");
  EXPECT_EQ(j["Successful"][3]["MD5OfMessageBody"], md5_hex("b3"));
  // From a file, one bad entry: a per-entry failure, the call succeeds.
  test::write_file(dir_ + "/entries.json",
                   R"([{"Id": "ok", "MessageBody": "fine"}, {"Id": "bad", "MessageBody": ""}])");
  j = ok({"send-message-batch", "--queue-name", "jobs", "--entries",
          "file://" + dir_ + "/entries.json"});
  EXPECT_EQ(j["Successful"].size(), 1u);
  ASSERT_EQ(j["Failed"].size(), 1u);
  EXPECT_EQ(j["Failed"][0]["Id"], "bad");
  EXPECT_EQ(j["Failed"][0]["SenderFault"], true);

  j = ok({"receive-message", "--queue-name", "jobs", "--max-number-of-messages", "10"});
  ASSERT_EQ(j["Messages"].size(), 10u);
  json del = json::array();
  json vis = json::array();
  for (size_t i = 0; i < 10; ++i) {
    const std::string h = j["Messages"][i]["ReceiptHandle"];
    (i < 5 ? del : vis).push_back({{"Id", "m" + std::to_string(i)}, {"ReceiptHandle", h}});
    if (i >= 5) vis.back()["VisibilityTimeout"] = 0;
  }
  j = ok({"delete-message-batch", "--queue-name", "jobs", "--entries", del.dump()});
  EXPECT_EQ(j["Successful"].size(), 5u);
  j = ok({"change-message-visibility-batch", "--queue-name", "jobs", "--entries", vis.dump()});
  EXPECT_EQ(j["Successful"].size(), 5u);
  // 5 made visible + the 11th message.
  j = ok({"receive-message", "--queue-name", "jobs", "--max-number-of-messages", "10"});
  EXPECT_EQ(j["Messages"].size(), 6u);

  // Long poll: a receive waits for a send from another process.
  const test::Child waiter =
      test::start_child({LQS_PATH, "--shm-root", root_.path(), "receive-message", "--queue-name",
                         "jobs", "--wait-time-seconds", "10", "--visibility-timeout", "60"},
                        dir_ + "/waiter");
  std::this_thread::sleep_for(300ms);
  ok({"send-message", "--queue-name", "jobs", "--message-body", "late"});
  ASSERT_EQ(test::wait_for(waiter.pid, 15s), 0) << waiter.err();
  j = json::parse(waiter.out());
  ASSERT_EQ(j["Messages"].size(), 1u);
  EXPECT_EQ(j["Messages"][0]["Body"], "late");

  // FIFO: group and deduplication ids, SequenceNumber.
  ok({"create-queue", "--queue-name", "steps.fifo", "--attributes", "FifoQueue=true"});
  j = ok({"send-message", "--queue-name", "steps.fifo", "--message-body", "one",
          "--message-group-id", "g1", "--message-deduplication-id", "d1"});
  ASSERT_TRUE(j.contains("SequenceNumber")) << j;
  const json dup = ok({"send-message", "--queue-name", "steps.fifo", "--message-body", "one",
                       "--message-group-id", "g1", "--message-deduplication-id", "d1"});
  EXPECT_EQ(dup["MessageId"], j["MessageId"]);
  j = ok({"receive-message", "--queue-name", "steps.fifo", "--attribute-names", "All"});
  ASSERT_EQ(j["Messages"].size(), 1u);
  EXPECT_EQ(j["Messages"][0]["Attributes"]["MessageGroupId"], "g1");
  fails({"send-message", "--queue-name", "steps.fifo", "--message-body", "x"}, 1,
        "when calling the SendMessage operation");

  // Message commands need no daemon; control commands say lqsd is unreachable (exit 3).
  stop_lqsd();
  j = ok({"send-message", "--queue-name", "jobs", "--message-body", "no daemon"});
  EXPECT_EQ(j["MD5OfMessageBody"], md5_hex("no daemon"));
  fails({"list-queues"}, 3, "cannot reach lqsd at " + endpoint_);
}

TEST_F(LqsCliTest, DeadLetterQueueAndMessageMoveTasks) {
  ok({"create-queue", "--queue-name", "src-dlq"});
  ok({"create-queue", "--queue-name", "src", "--attributes",
      R"({"RedrivePolicy": {"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:src-dlq", "maxReceiveCount": 1}})"});
  ok({"send-message", "--queue-name", "src", "--message-body", "poison"});
  json j = ok({"receive-message", "--queue-name", "src", "--visibility-timeout", "0"});
  ASSERT_EQ(j["Messages"].size(), 1u);
  // Its second receive moves it to the dead-letter queue.
  EXPECT_EQ(ok({"receive-message", "--queue-name", "src"}), json::object());
  j = ok({"receive-message", "--queue-name", "src-dlq", "--attribute-names", "All",
          "--visibility-timeout", "0"});
  ASSERT_EQ(j["Messages"].size(), 1u);
  EXPECT_EQ(j["Messages"][0]["Body"], "poison");
  EXPECT_EQ(j["Messages"][0]["Attributes"]["DeadLetterQueueSourceArn"],
            "arn:aws:sqs:us-east-1:000000000000:src");

  const std::string dlq_arn = "arn:aws:sqs:us-east-1:000000000000:src-dlq";
  j = ok({"start-message-move-task", "--source-arn", dlq_arn});
  ASSERT_TRUE(j.contains("TaskHandle")) << j;
  const std::string task = j["TaskHandle"];
  ASSERT_TRUE(test::eventually(
      [&] {
        const json r = ok({"receive-message", "--queue-name", "src", "--visibility-timeout", "0"});
        return r.contains("Messages") && r["Messages"][0]["Body"] == "poison";
      },
      10s));
  EXPECT_TRUE(test::eventually(
      [&] {
        j = ok({"list-message-move-tasks", "--source-arn", dlq_arn});
        return j["Results"].size() == 1 && j["Results"][0]["Status"] == "COMPLETED";
      },
      10s))
      << j;
  EXPECT_EQ(j["Results"][0]["SourceArn"], dlq_arn);
  // A finished task cannot be cancelled: SQS's error, one line, exit 1.
  fails({"cancel-message-move-task", "--task-handle", task}, 1,
        "when calling the CancelMessageMoveTask operation");
}

TEST_F(LqsCliTest, TextAndTableOutput) {
  ok({"create-queue", "--queue-name", "a"});
  ok({"create-queue", "--queue-name", "b"});
  test::RunResult r = lqs({"list-queues", "--output", "text"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "QUEUEURLS\t" + url("a") + "\nQUEUEURLS\t" + url("b") + "\n");
  r = lqs({"--output", "text", "get-queue-url", "--queue-name", "a"});
  EXPECT_EQ(r.out, url("a") + "\n");
  ok({"send-message", "--queue-name", "a", "--message-body", "hi"});
  r = lqs({"receive-message", "--queue-name", "a", "--output", "text"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // MESSAGES, then the message's scalars in key order: Body, MD5OfBody, MessageId, handle.
  const auto cols = test::lines_of(r.out);
  ASSERT_EQ(cols.size(), 1u) << r.out;
  EXPECT_TRUE(cols[0].starts_with("MESSAGES\thi\t" + md5_hex("hi") + "\t")) << r.out;
  r = lqs({"get-queue-url", "--queue-name", "a", "--output", "table"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("GetQueueUrl"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| QueueUrl "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(url("a")), std::string::npos) << r.out;
}

TEST_F(LqsCliTest, BadArgumentsGiveOneLineErrorsAndExitCodes) {
  ok({"create-queue", "--queue-name", "q"});
  fails({}, 2, "error:");
  fails({"no-such-command"}, 2, "unknown command 'no-such-command'");
  fails({"send-message", "--queue-name", "q"}, 2, "--message-body is required");
  fails({"send-message", "--message-body", "x"}, 2, "--queue-url");
  fails({"send-message", "--queue-name", "q", "--queue-url", url("q"), "--message-body", "x"}, 2,
        "excludes");
  fails({"list-queues", "--max-results", "many"}, 2, "--max-results");
  fails({"list-queues", "--bogus-flag"}, 2, "--bogus-flag");
  fails({"--output", "yaml", "list-queues"}, 2, "--output");
  fails({"send-message-batch", "--queue-name", "q", "--entries", "[{not json"}, 2,
        "--entries: not valid JSON");
  fails({"send-message-batch", "--queue-name", "q", "--entries", "file:///nonexistent/x"}, 2,
        "cannot read /nonexistent/x");
  fails({"create-queue", "--queue-name", "r", "--attributes", "VisibilityTimeout"}, 2,
        "--attributes: expected JSON or Key=Value");
  fails(
      {"send-message", "--queue-name", "q", "--message-body", "x", "--message-attributes", "[1,2]"},
      1, "(InvalidParameterValueException) when calling the SendMessage operation");
  fails({"receive-message", "--queue-name", "q", "--max-number-of-messages", "11"}, 1,
        "when calling the ReceiveMessage operation");
  fails({"receive-message", "--queue-name", "nope"}, 1,
        "An error occurred (QueueDoesNotExist) when calling the ReceiveMessage operation: The "
        "specified queue does not exist.");
  fails({"delete-message", "--queue-name", "q", "--receipt-handle", "garbage"}, 1,
        "(ReceiptHandleIsInvalid) when calling the DeleteMessage operation");
  fails({"create-queue", "--queue-name", "bad name!"}, 1, "when calling the CreateQueue operation");
  fails({"--endpoint-url", "https://127.0.0.1:1", "list-queues"}, 2, "--endpoint-url");
  fails({"--endpoint-url", "127.0.0.1:1", "list-queues"}, 3, "cannot reach lqsd");
  fails({"worker", "--queue", "q"}, 2, "command");
  fails({"fsck"}, 2, "give queue names, --all or --wal");
  // --help is not an error.
  const test::RunResult h = lqs({"send-message", "--help"});
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_NE(h.out.find("--message-body"), std::string::npos);
}

TEST_F(LqsCliTest, TopShowsEveryQueueFromSharedMemory) {
  ok({"create-queue", "--queue-name", "top-dlq"});
  ok({"create-queue", "--queue-name", "top-src", "--attributes",
      R"({"RedrivePolicy": {"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:top-dlq", "maxReceiveCount": 1}})"});
  json entries = json::array();
  for (int i = 0; i < 5; ++i) {
    entries.push_back({{"Id", std::to_string(i)}, {"MessageBody", "m"}});
  }
  ok({"send-message-batch", "--queue-name", "top-src", "--entries", entries.dump()});
  ok({"send-message", "--queue-name", "top-src", "--message-body", "later", "--delay-seconds",
      "600"});
  ok({"receive-message", "--queue-name", "top-src", "--max-number-of-messages", "2"});
  ok({"send-message", "--queue-name", "top-dlq", "--message-body", "dead"});
  stop_lqsd();  // top reads shared memory only

  // Sends during the frame's interval show as a rate.
  const test::Child top = test::start_child(
      {LQS_PATH, "--shm-root", root_.path(), "top", "--once", "--interval", "2"}, dir_ + "/top");
  std::this_thread::sleep_for(300ms);  // after top's first sample
  for (int i = 0; i < 10; ++i) {
    ok({"send-message", "--queue-name", "top-dlq", "--message-body", "d"});
  }
  ASSERT_EQ(test::wait_for(top.pid, 20s), 0) << top.err();
  const auto lines = test::lines_of(top.out());
  ASSERT_EQ(lines.size(), 4u) << top.out();
  EXPECT_NE(lines[0].find("2 queues"), std::string::npos) << lines[0];
  EXPECT_EQ(lines[1].substr(0, 5), "QUEUE");
  for (const char* col : {"VISIBLE", "INFLIGHT", "DELAYED", "SEND/s", "RECV/s", "OLDEST", "DLQ"}) {
    EXPECT_NE(lines[1].find(col), std::string::npos) << col;
  }
  auto fields = [](const std::string& l) {
    std::vector<std::string> f;
    std::stringstream ss(l);
    std::string w;
    while (ss >> w) f.push_back(w);
    return f;
  };
  // Queues sorted: top-dlq, top-src.
  std::vector<std::string> dlq = fields(lines[2]);
  std::vector<std::string> src = fields(lines[3]);
  ASSERT_GE(dlq.size(), 8u) << lines[2];
  ASSERT_GE(src.size(), 9u) << lines[3];
  EXPECT_EQ(dlq[0], "top-dlq");
  EXPECT_EQ(dlq[1], "11");            // visible
  EXPECT_GT(std::stod(dlq[4]), 0.0);  // send rate during the interval
  EXPECT_EQ(dlq[7], "-");             // no DLQ of its own
  EXPECT_EQ(src[0], "top-src");
  EXPECT_EQ(src[1], "3");    // visible
  EXPECT_EQ(src[2], "2");    // in flight
  EXPECT_EQ(src[3], "1");    // delayed
  EXPECT_EQ(src[4], "0.0");  // nothing sent during the interval
  EXPECT_NE(src[6], "-");    // age of the oldest message
  EXPECT_EQ(src[7], "top-dlq");
  EXPECT_EQ(src[8], "(11)");  // DLQ depth

  // Live mode refreshes in place with ANSI escapes.
  const test::RunResult live = lqs({"top", "--interval", "0.1", "--iterations", "3"});
  EXPECT_EQ(live.exit_code, 0);
  EXPECT_EQ(live.out.rfind("\x1b[H\x1b[2J", 0), 0u);
  size_t homes = 0;
  for (size_t at = live.out.find("\x1b[H"); at != std::string::npos;
       at = live.out.find("\x1b[H", at + 1)) {
    ++homes;
  }
  EXPECT_EQ(homes, 4u);  // clear screen + 3 frames
}

TEST_F(LqsCliTest, FsckAndDumpOnHealthyTruncatedAndBitFlippedSegments) {
  stop_lqsd();  // fsck works on the segments alone
  for (const char* name : {"healthy", "truncated", "flipped", "badslot"}) {
    auto q = create_queue(name, 64, 2 << 20);
    ASSERT_TRUE(q) << q.error().message;
    SendRequest s;
    s.body = "payload";
    ASSERT_TRUE(q->send(s));
  }
  const std::string seg = root_.path() + "/";
  test::RunResult r = lqs({"fsck", "healthy"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("queue healthy: healthy"), std::string::npos) << r.out;

  fs::resize_file(seg + "truncated.v1.seg", fs::file_size(seg + "truncated.v1.seg") - 4096);
  {  // one bit of the magic
    std::fstream f(seg + "flipped.v1.seg", std::ios::in | std::ios::out | std::ios::binary);
    char c = 0;
    f.seekg(5);
    f.get(c);
    f.seekp(5);
    f.put(static_cast<char>(c ^ 0x10));
  }
  {  // slot 0's state bits set to 7, which is no state
    std::fstream f(seg + "badslot.v1.seg", std::ios::in | std::ios::out | std::ios::binary);
    uint64_t slots_off = 0;
    f.seekg(88);  // SegmentHeader::slots_off
    f.read(reinterpret_cast<char*>(&slots_off), 8);
    uint64_t state = 0;
    f.seekg(static_cast<std::streamoff>(slots_off));
    f.read(reinterpret_cast<char*>(&state), 8);
    state |= 7;
    f.seekp(static_cast<std::streamoff>(slots_off));
    f.write(reinterpret_cast<const char*>(&state), 8);
  }
  r = lqs({"fsck", "truncated"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.out.find("queue truncated: corrupt"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("truncated or extended"), std::string::npos) << r.out;

  r = lqs({"fsck", "flipped", "--output", "json"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["status"], "corrupt");
  ASSERT_EQ(j["checks"].size(), 1u);
  EXPECT_EQ(j["checks"][0]["findings"].size(), 1u);
  EXPECT_NE(j["checks"][0]["findings"][0]["where"].get<std::string>().find("header.magic @0"),
            std::string::npos)
      << j;
  EXPECT_NE(j["checks"][0]["findings"][0]["what"].get<std::string>().find("bad magic"),
            std::string::npos);

  r = lqs({"fsck", "badslot"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("queue badslot: problems"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("slot 0: invalid state 7"), std::string::npos) << r.out;

  // --all: the worst verdict wins; every queue is listed.
  r = lqs({"fsck", "--all"});
  EXPECT_EQ(r.exit_code, 2);
  for (const char* name : {"healthy", "truncated", "flipped", "badslot"}) {
    EXPECT_NE(r.out.find(std::string("queue ") + name + ":"), std::string::npos) << name;
  }
  r = lqs({"fsck", "missing"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("QueueDoesNotExist"), std::string::npos) << r.out;

  // dump: the header as found, and what liblqs reads from a healthy segment.
  r = lqs({"dump", "healthy"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  j = json::parse(r.out);
  EXPECT_EQ(j["header"]["magic"], "0x3147455353514c00");
  EXPECT_EQ(j["header"]["slot_count"], 64);
  EXPECT_EQ(j["header"]["name"], "healthy");
  EXPECT_EQ(j["attributes"]["VisibilityTimeout"], "30");
  EXPECT_EQ(j["stats"]["visible"], 1);
  EXPECT_EQ(j["stats"]["sent_total"], 1);
  r = lqs({"dump", "flipped"});
  EXPECT_EQ(r.exit_code, 2);
  j = json::parse(r.out);
  EXPECT_EQ(j["header"]["magic"], "0x3147555353514c00");  // byte 5: 0x45 ^ 0x10
  EXPECT_NE(j["error"].get<std::string>().find("bad magic"), std::string::npos);
}

// --- lqs fsck --wal: lqsd's write-ahead log, written by a real lqsd ---

// One record of a log file as the test finds it (FORMAT.md: RecordHeader at `offset`, the
// payload after it, padded to 8 bytes; an all-zero header ends the data).
struct WalRecord {
  uint64_t offset = 0;
  uint64_t size = 0;  // header + payload + padding
  uint32_t length = 0;
  uint64_t lsn = 0;
  uint16_t type = 0;
  std::string payload;
};

std::vector<WalRecord> wal_records(const std::string& file) {
  const std::string bytes = test::read_file(file);
  std::vector<WalRecord> out;
  uint64_t at = 4096;
  while (at + 32 <= bytes.size()) {
    WalRecord r;
    r.offset = at;
    std::memcpy(&r.length, bytes.data() + at + 4, 4);
    std::memcpy(&r.lsn, bytes.data() + at + 8, 8);
    std::memcpy(&r.type, bytes.data() + at + 16, 2);
    if (r.lsn == 0) break;  // the zero header: end of data
    r.size = 32 + (r.length + 7) / 8 * 8;
    r.payload = bytes.substr(at + 32, r.length);
    out.push_back(r);
    at += r.size;
  }
  return out;
}

class LqsCliWalTest : public test::ScratchTest {
 protected:
  void SetUp() override {
    ScratchTest::SetUp();
    data_ = dir_ + "/data";
    config_ = dir_ + "/queues.json";
    test::write_file(
        config_, R"({"queues": [{"name": "ledger", "attributes": {"LqsDurability": "sync"}}]})");
  }
  void TearDown() override {
    if (lqsd_.pid > 0) stop_lqsd();
    ScratchTest::TearDown();
  }
  void start_lqsd(const std::string& shm_root) {
    lqsd_ = test::start_child({LQSD_PATH, "--shm-root", shm_root, "--data-dir", data_, "--config",
                               config_, "--listen", "127.0.0.1:0"},
                              dir_ + "/lqsd");
    ASSERT_TRUE(
        test::eventually([&] { return lqsd_.out().find("lqsd ready") != std::string::npos; }, 15s))
        << lqsd_.err();
  }
  void stop_lqsd() {
    (void)::kill(lqsd_.pid, SIGTERM);
    EXPECT_EQ(test::wait_for(lqsd_.pid, 15s), 0) << lqsd_.err();
    lqsd_.pid = -1;
  }
  static Result<Queue> open_ledger(const std::string& shm_root) {
    QueueLocation w;
    w.shm_root = shm_root;
    w.name = "ledger";
    return Queue::open(w);
  }
  // A real lqsd logs `n` sync sends, one at a time (so each is a write of its own), and stops.
  void write_log(int n) {
    start_lqsd(root_.path());
    auto q = open_ledger(root_.path());
    ASSERT_TRUE(q) << q.error().message;
    for (int i = 0; i < n; ++i) {
      sent_.push_back("wal-fsck-body-" + std::to_string(100 + i));
      SendRequest s;
      s.body = sent_.back();
      ASSERT_TRUE(q->send(s));
    }
    stop_lqsd();
    for (const auto& f : fs::directory_iterator(data_ + "/wal")) {
      if (f.path().extension() == ".log") files_.push_back(f.path());
    }
    ASSERT_EQ(files_.size(), 1u);
    records_ = wal_records(files_[0]);
    ASSERT_GE(records_.size(), static_cast<size_t>(n));
  }
  test::RunResult lqs(std::vector<std::string> args) {
    std::vector<std::string> all = {LQS_PATH, "--shm-root", root_.path(), "--data-dir", data_};
    all.insert(all.end(), args.begin(), args.end());
    return test::run_child(all, dir_ + "/lqs");
  }
  json lqs_json(std::vector<std::string> args, int expected_exit) {
    args.insert(args.begin(), {"--output", "json"});
    const test::RunResult r = lqs(args);
    EXPECT_EQ(r.exit_code, expected_exit) << r.out << r.err;
    json j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out << r.err;
    return j;
  }
  // The bodies a queue holds (received, visibility 600 s, until empty).
  static std::multiset<std::string> drain(Queue& q) {
    std::multiset<std::string> bodies;
    ReceiveBatch b;
    ReceiveOptions o;
    o.max_number_of_messages = 10;
    o.visibility_timeout_s = 600;
    o.wait_time_s = 0;
    for (;;) {
      EXPECT_TRUE(q.receive(b, o));
      if (b.count == 0) break;
      for (size_t i = 0; i < b.count; ++i) bodies.insert(b.messages[i].body);
    }
    return bodies;
  }
  size_t count_type(uint16_t type) const {
    return static_cast<size_t>(std::count_if(
        records_.begin(), records_.end(), [type](const WalRecord& r) { return r.type == type; }));
  }

  std::string data_;
  std::string config_;
  test::Child lqsd_;
  std::vector<std::string> sent_;
  std::vector<std::string> files_;
  std::vector<WalRecord> records_;
};

TEST_F(LqsCliWalTest, HealthyLogWrittenByLqsdCountsEveryRecordType) {
  write_log(6);
  // Alone, DIR defaulting to <data-dir>/wal: text output.
  test::RunResult r = lqs({"fsck", "--wal"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("wal: healthy (" + data_ + "/wal)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 file, " + std::to_string(records_.size()) + " records, last LSN " +
                       std::to_string(records_.back().lsn)),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("kSend 6"), std::string::npos) << r.out;

  // With the queue segments: one check each, JSON.
  json j = lqs_json({"fsck", "--all", "--wal", data_ + "/wal"}, 0);
  EXPECT_EQ(j["status"], "healthy");
  ASSERT_EQ(j["checks"].size(), 2u) << j;
  EXPECT_EQ(j["checks"][0]["kind"], "queue");
  EXPECT_EQ(j["checks"][0]["subject"], "ledger");
  const json& w = j["checks"][1];
  EXPECT_EQ(w["kind"], "wal");
  EXPECT_EQ(w["status"], "healthy");
  EXPECT_EQ(w["findings"], json::array());
  EXPECT_EQ(w["details"]["files"], 1);
  EXPECT_EQ(w["details"]["records"], records_.size());
  EXPECT_EQ(w["details"]["last_lsn"], records_.back().lsn);
  EXPECT_EQ(w["details"]["torn_tail"], false);
  // The counts by type are those of the file, named as in FORMAT.md.
  const char* const names[] = {"",           "kSend",      "kDelete",      "kVisibility",
                               "kPurge",     "kSnapBegin", "kSnapMessage", "kSnapEnd",
                               "kQueueGone", "kCheckpoint"};
  json expected = json::object();
  for (uint16_t t = 1; t <= 9; ++t) {
    if (count_type(t) > 0) expected[names[t]] = count_type(t);
  }
  EXPECT_EQ(w["details"]["record_types"], expected);
  EXPECT_EQ(w["details"]["record_types"]["kSend"], 6);
}

TEST_F(LqsCliWalTest, TornTailIsAProblemNotCorruption) {
  write_log(4);
  // The last write lost its second half: zeros from the middle of the last record's payload.
  const WalRecord& last = records_.back();
  ASSERT_EQ(last.type, 1);  // the last send
  {
    std::fstream f(files_[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(last.offset + 32 + last.length / 2));
    const std::string zeros(last.size - 32 - last.length / 2, '\0');
    f.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
  }
  test::RunResult r = lqs({"fsck", "--wal", data_ + "/wal"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("wal: problems"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("torn tail"), std::string::npos) << r.out;
  const json j = lqs_json({"fsck", "--wal", data_ + "/wal"}, 1);
  EXPECT_EQ(j["status"], "problems");
  const json& w = j["checks"][0];
  EXPECT_EQ(w["details"]["torn_tail"], true);
  EXPECT_EQ(w["details"]["records"], records_.size() - 1);
  EXPECT_EQ(w["details"]["last_lsn"], last.lsn - 1);
  EXPECT_EQ(w["details"]["record_types"]["kSend"], 3);
  ASSERT_EQ(w["findings"].size(), 1u) << w;
  EXPECT_EQ(w["findings"][0]["where"], fs::path(files_[0]).filename().string());
}

TEST_F(LqsCliWalTest, BitFlipInTheMiddleIsCorruptionAndSalvageKeepsTheIntactRecords) {
  write_log(8);
  // The first send's record (later sends are later writes): one bit of its payload flipped.
  const auto first_send = std::find_if(records_.begin(), records_.end(),
                                       [](const WalRecord& r) { return r.type == 1; });
  ASSERT_NE(first_send, records_.end());
  ASSERT_NE(first_send->payload.find(sent_[0]), std::string::npos);
  {
    std::fstream f(files_[0], std::ios::in | std::ios::out | std::ios::binary);
    const auto at = static_cast<std::streamoff>(first_send->offset + 32 + 3);
    char c = 0;
    f.seekg(at);
    f.get(c);
    f.seekp(at);
    f.put(static_cast<char>(c ^ 0x04));
  }
  const std::string file = fs::path(files_[0]).filename().string();
  const std::string wal = data_ + "/wal";
  test::RunResult r = lqs({"fsck", "--wal", wal});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.out.find("wal: corrupt"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(file + ":" + std::to_string(first_send->offset) + ": "), std::string::npos)
      << r.out;
  json j = lqs_json({"fsck", "--wal", wal}, 2);
  EXPECT_EQ(j["status"], "corrupt");
  ASSERT_EQ(j["checks"][0]["findings"].size(), 1u) << j;
  EXPECT_EQ(j["checks"][0]["findings"][0]["where"],
            file + ":" + std::to_string(first_send->offset));
  EXPECT_EQ(j["checks"][0]["details"]["records"], records_.size() - 1);
  EXPECT_EQ(j["checks"][0]["details"]["record_types"]["kSend"], 7);

  // Salvage: every other record, into a new log that opens.
  const std::string out = dir_ + "/salvaged";
  r = lqs({"fsck", "--wal", wal, "--salvage-to", out});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("salvaged to " + out + ": " + std::to_string(records_.size() - 1) +
                       " records kept"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("dropped " + file + ":" + std::to_string(first_send->offset)),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("mv " + out + " " + wal), std::string::npos) << r.out;
  j = lqs_json({"fsck", "--wal", out}, 0);
  EXPECT_EQ(j["checks"][0]["details"]["records"], records_.size() - 1);
  EXPECT_EQ(j["checks"][0]["details"]["record_types"]["kSend"], 7);

  // Put in place as the output says, and "reboot" (a new shm root): lqsd starts and restores
  // every message whose record was intact.
  fs::rename(wal, wal + ".damaged");
  fs::rename(out, wal);
  test::TempShmRoot rebooted;
  start_lqsd(rebooted.path());
  auto q = open_ledger(rebooted.path());
  ASSERT_TRUE(q) << q.error().message;
  const std::multiset<std::string> expected(sent_.begin() + 1, sent_.end());
  EXPECT_EQ(drain(*q), expected);
  stop_lqsd();
}

TEST_F(LqsCliWalTest, UsageErrorsAreOneLine) {
  write_log(1);
  auto fails = [&](std::vector<std::string> args, const std::string& needle) {
    const test::RunResult r = lqs(args);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(test::lines_of(r.err).size(), 1u) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
  };
  fails({"fsck", "--wal", dir_ + "/nowhere"}, "lqs: error: --wal: " + dir_ + "/nowhere: no such");
  fs::create_directories(dir_ + "/full");
  test::write_file(dir_ + "/full/x", "x");
  fails({"fsck", "--wal", data_ + "/wal", "--salvage-to", dir_ + "/full"},
        "--salvage-to: " + dir_ + "/full exists and is not an empty directory");
  fails({"fsck", "--salvage-to", dir_ + "/new"}, "--salvage-to needs --wal");
  EXPECT_FALSE(fs::exists(dir_ + "/new"));
  // LQS_DATA_DIR names the data dir, as for lqsd.
  const test::RunResult r =
      test::run_child({LQS_PATH, "fsck", "--wal"}, dir_ + "/lqs-env", {"LQS_DATA_DIR=" + data_});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("wal: healthy (" + data_ + "/wal)"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace lqs
