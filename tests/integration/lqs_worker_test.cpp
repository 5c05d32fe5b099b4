// Copyright lqs authors. `lqs worker` over shared memory (no daemon): handlers that count in
// files, failures that end in the dead-letter queue, a SIGKILLed worker whose messages a new
// worker gets, batches with partial failures, a handler slower than the visibility timeout,
// and SIGTERM finishing in-flight work.
#include "lqs/queue.hpp"

#include "integration/cli_support.hpp"
#include "support/test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#ifndef LQS_PATH
#error "LQS_PATH must name the lqs binary"
#endif

namespace lqs {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class LqsWorkerTest : public test::ScratchTest {
 protected:
  Queue create(const std::string& name, const std::string& dlq = {}, uint32_t max_receives = 0) {
    auto q = create_queue(name, 16384, 8 << 20);
    EXPECT_TRUE(q) << q.error().message;
    if (!dlq.empty()) {
      EXPECT_TRUE(q->set_redrive_policy(RedrivePolicy{dlq, max_receives}));
    }
    return std::move(q).value();
  }
  // Sends `bodies` in batches of 10; returns their MessageIds.
  std::vector<std::string> send_all(Queue& q, const std::vector<std::string>& bodies,
                                    const std::vector<MessageAttribute>& attrs = {},
                                    const std::string& group = {}) {
    std::vector<std::string> ids;
    for (size_t i = 0; i < bodies.size(); i += 10) {
      std::vector<SendRequest> reqs;
      for (size_t k = i; k < std::min(bodies.size(), i + 10); ++k) {
        SendRequest r;
        r.body = bodies[k];
        r.attributes = attrs;
        r.message_group_id = group;
        reqs.push_back(r);
      }
      std::vector<Result<SendResult>> out;
      EXPECT_TRUE(q.send_batch(reqs, out));
      for (auto& r : out) {
        EXPECT_TRUE(r);
        if (r) ids.push_back(r->message_id.to_string());
      }
    }
    return ids;
  }
  // Every body left in `q` (received and deleted).
  std::multiset<std::string> drain(Queue& q) {
    std::multiset<std::string> bodies;
    ReceiveBatch b;
    ReceiveOptions o;
    o.max_number_of_messages = 10;
    o.wait_time_s = 0;
    for (;;) {
      EXPECT_TRUE(q.receive(b, o));
      if (b.count == 0) return bodies;
      for (size_t i = 0; i < b.count; ++i) {
        bodies.insert(b.messages[i].body);
        EXPECT_TRUE(q.delete_message(b.messages[i].receipt_handle));
      }
    }
  }
  std::string script(const std::string& name, const std::string& text) {
    const std::string p = dir_ + "/" + name;
    test::write_file(p, text);
    return p;
  }
  std::vector<std::string> worker(const std::string& queue, std::vector<std::string> options,
                                  std::vector<std::string> command) {
    std::vector<std::string> args = {LQS_PATH, "--shm-root", root_.path(),
                                     "worker", "--queue",    queue};
    args.insert(args.end(), options.begin(), options.end());
    args.push_back("--");
    args.insert(args.end(), command.begin(), command.end());
    return args;
  }
  std::vector<std::string> lines(const std::string& file) {
    return test::lines_of(test::read_file(dir_ + "/" + file));
  }
};

TEST_F(LqsWorkerTest, TenThousandMessagesSuccessesOnceFailuresToTheDeadLetterQueue) {
  Queue dlq = create("work-dlq");
  Queue q = create("work", "work-dlq", 2);
  std::vector<std::string> bodies;
  std::set<std::string> ok_bodies;
  std::set<std::string> fail_bodies;
  for (int i = 0; i < 10000; ++i) {
    const bool fail = i % 10 == 3;  // a tenth fail
    bodies.push_back((fail ? "fail-" : "ok-") + std::to_string(i));
    (fail ? fail_bodies : ok_bodies).insert(bodies.back());
  }
  send_all(q, bodies);
  const std::string handler = script("handler.sh", R"(read -r body
case "$body" in
  fail-*) echo "$body $LQS_RECEIVE_COUNT" >> "$OUT/failed"; exit 1 ;;
esac
echo "$body $LQS_MESSAGE_ID" >> "$OUT/ok"
)");
  const auto t0 = std::chrono::steady_clock::now();
  const test::RunResult r =
      test::run_child(worker("work",
                             {"--concurrency", "4", "--visibility-timeout", "1", "--until-empty",
                              "--progress-interval", "1"},
                             {"/bin/sh", handler}),
                      dir_ + "/worker", {"OUT=" + dir_}, 150s);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::printf("10,000 messages through lqs worker in %.1f s\n", secs);

  // Successes: each handled exactly once (the handler's own count), and all of them.
  std::map<std::string, int> ok_seen;
  for (const std::string& l : lines("ok")) ++ok_seen[l.substr(0, l.find(' '))];
  EXPECT_EQ(ok_seen.size(), ok_bodies.size());
  for (const auto& [body, n] : ok_seen) {
    EXPECT_EQ(n, 1) << body;
    EXPECT_EQ(ok_bodies.count(body), 1u) << body;
  }
  // Failures: tried maxReceiveCount (2) times each, receive counts 1 then 2, then moved.
  std::map<std::string, std::set<std::string>> fail_seen;
  for (const std::string& l : lines("failed")) {
    fail_seen[l.substr(0, l.find(' '))].insert(l.substr(l.find(' ') + 1));
  }
  EXPECT_EQ(lines("failed").size(), 2 * fail_bodies.size());
  EXPECT_EQ(fail_seen.size(), fail_bodies.size());
  for (const auto& [body, counts] : fail_seen) {
    EXPECT_EQ(counts, (std::set<std::string>{"1", "2"})) << body;
  }
  const std::multiset<std::string> dead = drain(dlq);
  EXPECT_EQ(std::set<std::string>(dead.begin(), dead.end()), fail_bodies);
  EXPECT_EQ(dead.size(), fail_bodies.size());
  const QueueCounts c = q.counts();
  EXPECT_EQ(c.visible + c.in_flight + c.delayed, 0u);
  // Progress on stderr, and the final tally.
  EXPECT_NE(r.err.find("processed="), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("processed=11000 succeeded=9000 failed=2000"), std::string::npos) << r.err;
}

TEST_F(LqsWorkerTest, SigkilledWorkerMidBatchItsMessagesGoToTheNextWorker) {
  Queue q = create("kill");
  std::vector<std::string> bodies;
  for (int i = 0; i < 20; ++i) bodies.push_back("job-" + std::to_string(i));
  const std::vector<std::string> ids = send_all(q, bodies);
  const std::string slow = script("slow.sh",
                                  "cat > /dev/null\necho start >> \"$OUT/started\"\n"
                                  "sleep 30\n");
  const test::Child first = test::start_child(
      worker("kill", {"--batch-size", "10", "--concurrency", "2", "--visibility-timeout", "2"},
             {"/bin/sh", slow}),
      dir_ + "/first", {"OUT=" + dir_});
  ASSERT_TRUE(test::eventually([&] { return lines("started").size() == 2; }, 20s))
      << test::read_file(first.err_path);
  EXPECT_EQ(q.counts().in_flight, 20u);
  ASSERT_EQ(::kill(-first.pid, SIGKILL), 0);  // the worker and its handlers
  const int st = test::wait_for(first.pid, 10s);
  ASSERT_TRUE(WIFSIGNALED(st));
  EXPECT_EQ(WTERMSIG(st), SIGKILL);

  const std::string record = script("record.py", R"(import json, os, sys
records = json.load(sys.stdin)
with open(os.environ["OUT"] + "/second", "a") as f:
    for r in records:
        f.write("%s %s %s\n" % (r["messageId"], r["attributes"]["ApproximateReceiveCount"], r["body"]))
)");
  const test::RunResult second = test::run_child(
      worker("kill", {"--batch-size", "10", "--visibility-timeout", "5", "--until-empty"},
             {"/usr/bin/env", "python3", record}),
      dir_ + "/second", {"OUT=" + dir_}, 30s);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  std::set<std::string> got;
  for (const std::string& l : lines("second")) {
    std::stringstream ss(l);
    std::string id, count, body;
    ss >> id >> count >> body;
    got.insert(id);
    EXPECT_EQ(count, "2") << l;  // the killed worker's receive was the first
  }
  EXPECT_EQ(got, std::set<std::string>(ids.begin(), ids.end()));
  EXPECT_EQ(lines("second").size(), 20u);
  const QueueCounts c = q.counts();
  EXPECT_EQ(c.visible + c.in_flight + c.delayed, 0u);
}

TEST_F(LqsWorkerTest, BatchModePartialFailuresRetryOnlyTheFailedOnes) {
  Queue dlq = create("batch-dlq");
  Queue q = create("batch", "batch-dlq", 1);
  std::vector<std::string> bodies;
  std::set<std::string> good;
  std::set<std::string> bad;
  for (int i = 0; i < 30; ++i) {
    bodies.push_back((i % 3 == 0 ? "bad-" : "good-") + std::to_string(i));
    (i % 3 == 0 ? bad : good).insert(bodies.back());
  }
  const MessageAttribute attr{"kind", "String", "test"};
  send_all(q, bodies, {attr});
  const std::string handler = script("batch.py", R"(import json, os, sys
records = json.load(sys.stdin)
out = os.environ["OUT"]
with open(out + "/sample.json", "w") as f:
    json.dump(records[0], f)
failures = []
with open(out + "/handled", "a") as f:
    for r in records:
        f.write(r["body"] + "\n")
        if r["body"].startswith("bad-"):
            failures.append({"itemIdentifier": r["messageId"]})
print(json.dumps({"batchItemFailures": failures}))
)");
  const test::RunResult r = test::run_child(worker("batch",
                                                   {"--batch-size", "10", "--concurrency", "2",
                                                    "--visibility-timeout", "1", "--until-empty"},
                                                   {"/usr/bin/env", "python3", handler}),
                                            dir_ + "/worker", {"OUT=" + dir_}, 60s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::multiset<std::string> handled;
  for (const std::string& l : lines("handled")) handled.insert(l);
  EXPECT_EQ(handled.size(), 30u);  // every message once: no good one was retried
  EXPECT_EQ(std::set<std::string>(handled.begin(), handled.end()).size(), 30u);
  const std::multiset<std::string> dead = drain(dlq);
  EXPECT_EQ(std::set<std::string>(dead.begin(), dead.end()), bad);
  EXPECT_EQ(dead.size(), bad.size());
  EXPECT_NE(r.err.find("succeeded=20 failed=10"), std::string::npos) << r.err;
  // The records are shaped as Lambda's SQS event records.
  const json rec = json::parse(test::read_file(dir_ + "/sample.json"));
  for (const char* k : {"messageId", "receiptHandle", "body", "attributes", "messageAttributes",
                        "md5OfBody", "eventSource", "eventSourceARN", "awsRegion"}) {
    EXPECT_TRUE(rec.contains(k)) << k << " " << rec;
  }
  EXPECT_EQ(rec["eventSource"], "aws:sqs");
  EXPECT_EQ(rec["eventSourceARN"], "arn:aws:sqs:us-east-1:000000000000:batch");
  EXPECT_EQ(rec["attributes"]["ApproximateReceiveCount"], "1");
  EXPECT_EQ(rec["messageAttributes"]["kind"]["stringValue"], "test");
  EXPECT_EQ(rec["messageAttributes"]["kind"]["dataType"], "String");
}

TEST_F(LqsWorkerTest, VisibilityIsExtendedWhileASlowHandlerRuns) {
  Queue q = create("slow");
  send_all(q, {"take your time"});
  const test::Child w =
      test::start_child(worker("slow", {"--visibility-timeout", "1", "--until-empty"},
                               {"/bin/sh", "-c",
                                "cat > /dev/null; echo $LQS_RECEIVE_COUNT >> \"$OUT/runs\"; "
                                "sleep 3"}),
                        dir_ + "/worker", {"OUT=" + dir_});
  ASSERT_TRUE(test::eventually([&] { return lines("runs").size() == 1; }, 10s));
  // Three times the timeout: the message stays in flight, nobody else can receive it.
  ReceiveBatch b;
  ReceiveOptions o;
  o.wait_time_s = 0;
  const auto until = std::chrono::steady_clock::now() + 2500ms;
  int checks = 0;
  while (std::chrono::steady_clock::now() < until) {
    ASSERT_TRUE(q.receive(b, o));
    EXPECT_EQ(b.count, 0u) << "the lease lapsed while the handler ran";
    if (b.count != 0) break;
    const QueueCounts c = q.counts();
    EXPECT_EQ(c.in_flight, 1u);
    EXPECT_EQ(c.visible, 0u);
    ++checks;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_GT(checks, 10);
  const int st = test::wait_for(w.pid, 20s);
  ASSERT_TRUE(WIFEXITED(st)) << test::read_file(w.err_path);
  EXPECT_EQ(WEXITSTATUS(st), 0);
  EXPECT_EQ(lines("runs"), std::vector<std::string>{"1"});  // ran once, on the first receive
  const QueueCounts c = q.counts();
  EXPECT_EQ(c.visible + c.in_flight + c.delayed, 0u);
}

TEST_F(LqsWorkerTest, SigtermFinishesInFlightHandlersAndStopsReceiving) {
  Queue q = create("term");
  const MessageAttribute color{"color", "String", "blue"};
  const MessageAttribute dotted{"trace.id", "String", "t-1"};
  std::vector<std::string> bodies;
  for (int i = 0; i < 6; ++i) bodies.push_back("task-" + std::to_string(i));
  const std::vector<std::string> ids = send_all(q, bodies, {color, dotted}, "g1");
  const std::string handler = script("term.sh", R"(read -r body
echo "$LQS_MESSAGE_ID|$LQS_RECEIVE_COUNT|$LQS_MESSAGE_GROUP_ID|$LQS_ATTR_color|$LQS_ATTR_trace_id|$body" >> "$OUT/started"
sleep 1
echo done >> "$OUT/done"
)");
  const test::Child w = test::start_child(
      worker("term", {"--concurrency", "2", "--visibility-timeout", "30"}, {"/bin/sh", handler}),
      dir_ + "/worker", {"OUT=" + dir_});
  ASSERT_TRUE(test::eventually([&] { return lines("started").size() == 2; }, 10s));
  ASSERT_EQ(::kill(w.pid, SIGTERM), 0);
  const int st = test::wait_for(w.pid, 10s);
  ASSERT_TRUE(WIFEXITED(st)) << test::read_file(w.err_path);
  EXPECT_EQ(WEXITSTATUS(st), 0) << test::read_file(w.err_path);
  EXPECT_EQ(lines("done").size(), 2u);     // in-flight handlers finished
  EXPECT_EQ(lines("started").size(), 2u);  // nothing received after SIGTERM
  const QueueCounts c = q.counts();
  EXPECT_EQ(c.visible, 4u);
  EXPECT_EQ(c.in_flight, 0u);  // the two handled were deleted
  EXPECT_NE(test::read_file(w.err_path).find("SIGTERM"), std::string::npos);
  for (const std::string& l : lines("started")) {
    std::vector<std::string> f;
    std::stringstream ss(l);
    std::string x;
    while (std::getline(ss, x, '|')) f.push_back(x);
    ASSERT_EQ(f.size(), 6u) << l;
    EXPECT_NE(std::find(ids.begin(), ids.end(), f[0]), ids.end()) << l;
    EXPECT_EQ(f[1], "1");
    EXPECT_EQ(f[2], "g1");
    EXPECT_EQ(f[3], "blue");
    EXPECT_EQ(f[4], "t-1");
    EXPECT_TRUE(f[5].starts_with("task-")) << l;
  }
}

TEST_F(LqsWorkerTest, FifoGroupsKeepTheirOrderUnderConcurrency) {
  QueueLocation w;
  w.shm_root = root_.path();
  w.name = "steps.fifo";
  QueueAttributes a;
  a.capacity_messages = 1024;
  a.capacity_bytes = 2 << 20;
  a.fifo_queue = true;
  a.content_based_deduplication = true;
  auto q = Queue::create(w, a);
  ASSERT_TRUE(q) << q.error().message;
  for (const char* g : {"a", "b"}) {
    std::vector<std::string> bodies;
    for (int i = 0; i < 8; ++i) bodies.push_back(std::string(g) + std::to_string(i));
    send_all(*q, bodies, {}, g);
  }
  const std::string handler = script("fifo.sh", R"(read -r body
echo "$LQS_MESSAGE_GROUP_ID $body" >> "$OUT/order"
sleep 0.05
)");
  const test::RunResult r = test::run_child(
      worker("steps.fifo", {"--concurrency", "4", "--until-empty"}, {"/bin/sh", handler}),
      dir_ + "/worker", {"OUT=" + dir_}, 60s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, std::vector<std::string>> by_group;
  for (const std::string& l : lines("order")) {
    by_group[l.substr(0, l.find(' '))].push_back(l.substr(l.find(' ') + 1));
  }
  for (const char* g : {"a", "b"}) {
    std::vector<std::string> expected;
    for (int i = 0; i < 8; ++i) expected.push_back(std::string(g) + std::to_string(i));
    EXPECT_EQ(by_group[g], expected) << g;
  }
}

}  // namespace
}  // namespace lqs
