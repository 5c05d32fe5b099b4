// Copyright lqs authors. Standard-queue semantics in one process, with a FakeClock: nothing
// here sleeps to wait out a timeout.
#include "lqs/queue.hpp"

#include "lqs/clock.hpp"

#include "support/test_support.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace lqs {
namespace {

// SystemClock::unix_ms_at derives the wall clock from a monotonic reading and a cached offset
// (refreshed after 50 ms): it must agree with a direct read, on the refreshing call and on
// the cached ones, and advance with the monotonic clock.
TEST(SystemClockTest, UnixMsAtAgreesWithTheWallClockCachedOrRefreshed) {
  const SystemClock& c = SystemClock::instance();
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 1000; ++i) {  // the first call of a round refreshes, the rest do not
      const int64_t before = c.unix_ms();
      const int64_t at = c.unix_ms_at(c.mono_ns());
      const int64_t after = c.unix_ms();
      ASSERT_GE(at, before - 1) << "round " << round << " call " << i;
      ASSERT_LE(at, after + 1) << "round " << round << " call " << i;
    }
    const int64_t m = c.mono_ns();
    const int64_t step = c.unix_ms_at(m + 20'000'000) - c.unix_ms_at(m);
    EXPECT_GE(step, 19);
    EXPECT_LE(step, 21);
    std::this_thread::sleep_for(std::chrono::milliseconds(60));  // past the cache's age
  }
}

using namespace std::chrono_literals;

class QueueTest : public ::testing::Test {
 protected:
  QueueLocation where(const std::string& name = "q1") {
    QueueLocation w;
    w.shm_root = root_.path();
    w.name = name;
    w.clock = &clock_;
    return w;
  }
  Queue make(QueueAttributes a = {}, const std::string& name = "q1") {
    if (a.capacity_messages == QueueAttributes{}.capacity_messages) a.capacity_messages = 1024;
    if (a.capacity_bytes == QueueAttributes{}.capacity_bytes) a.capacity_bytes = 8u << 20;
    auto q = Queue::create(where(name), a);
    EXPECT_TRUE(q.has_value()) << (q ? "" : q.error().message);
    return std::move(q).value();
  }
  static SendRequest req(std::string_view body) {
    SendRequest r;
    r.body = body;
    return r;
  }
  static ReceiveOptions opts(int max = 1, std::optional<int> vis = std::nullopt) {
    ReceiveOptions o;
    o.max_number_of_messages = max;
    o.visibility_timeout_s = vis;
    o.wait_time_s = 0;
    return o;
  }

  test::TempShmRoot root_;
  test::FakeClock clock_;
};

TEST_F(QueueTest, SendThenReceiveReturnsBodyIdHandleAndSystemAttributes) {
  Queue q = make();
  auto sent = q.send(req("hello"), SendOptions{true});
  ASSERT_TRUE(sent) << sent.error().message;
  ASSERT_TRUE(sent->md5_of_body);
  EXPECT_EQ(sent->md5_of_body->to_hex(), "5d41402abc4b2a76b9719d911017c592");
  EXPECT_EQ(sent->message_id.to_string().size(), 36u);
  ReceiveBatch b;
  ReceiveOptions o = opts();
  o.system_attribute_names = {"All"};
  ASSERT_TRUE(q.receive(b, o));
  ASSERT_EQ(b.count, 1u);
  const ReceivedMessage& m = b.messages[0];
  EXPECT_EQ(m.body, "hello");
  EXPECT_EQ(m.message_id, sent->message_id);
  EXPECT_EQ(m.receive_count, 1u);
  EXPECT_EQ(m.sent_timestamp_ms, clock_.unix_ms());
  EXPECT_EQ(m.first_receive_timestamp_ms, clock_.unix_ms());
  EXPECT_FALSE(m.receipt_handle.empty());
  std::set<std::string> names;
  for (auto& [k, v] : m.system_attributes) names.insert(k);
  EXPECT_TRUE(names.count("SentTimestamp"));
  EXPECT_TRUE(names.count("ApproximateReceiveCount"));
  EXPECT_TRUE(names.count("ApproximateFirstReceiveTimestamp"));
  EXPECT_FALSE(names.count("MessageGroupId"));  // not sent with one
  // While leased it is invisible.
  ASSERT_TRUE(q.receive(b, opts()));
  EXPECT_EQ(b.count, 0u);
  EXPECT_EQ(q.counts().in_flight, 1u);
  ASSERT_TRUE(q.delete_message(m.receipt_handle));
  auto c = q.counts();
  EXPECT_EQ(c.visible + c.in_flight + c.delayed, 0u);
}

TEST_F(QueueTest, VisibilityExpiryRedeliversWithIncrementedReceiveCount) {
  QueueAttributes a;
  a.visibility_timeout_s = 30;
  Queue q = make(a);
  ASSERT_TRUE(q.send(req("x")));
  ReceiveBatch b;
  ASSERT_TRUE(q.receive(b, opts()));
  ASSERT_EQ(b.count, 1u);
  std::string first_handle = b.messages[0].receipt_handle;
  clock_.advance(29s);
  ASSERT_TRUE(q.receive(b, opts()));
  EXPECT_EQ(b.count, 0u);
  clock_.advance(2s);
  ASSERT_TRUE(q.receive(b, opts()));
  ASSERT_EQ(b.count, 1u);
  EXPECT_EQ(b.messages[0].receive_count, 2u);
  EXPECT_NE(b.messages[0].receipt_handle, first_handle);
  // The stale handle succeeds without deleting (SQS: "might not be deleted").
  ASSERT_TRUE(q.delete_message(first_handle));
  EXPECT_EQ(q.counts().in_flight, 1u);
  ASSERT_TRUE(q.delete_message(b.messages[0].receipt_handle));
  EXPECT_EQ(q.counts().in_flight, 0u);
}

TEST_F(QueueTest, ExpiredHandleNotReReceivedStillDeletes) {
  Queue q = make();
  ASSERT_TRUE(q.send(req("x")));
  ReceiveBatch b;
  ASSERT_TRUE(q.receive(b, opts(1, 5)));
  std::string h = b.messages[0].receipt_handle;
  clock_.advance(10s);
  ASSERT_TRUE(q.delete_message(h));
  EXPECT_EQ(q.counts().visible, 0u);
  ASSERT_TRUE(q.receive(b, opts()));
  EXPECT_EQ(b.count, 0u);
  ASSERT_TRUE(q.delete_message(h));  // repeated delete: success
}

TEST_F(QueueTest, ChangeVisibilityZeroExtendAndLimits) {
  Queue q = make();
  ASSERT_TRUE(q.send(req("x")));
  ReceiveBatch b;
  ASSERT_TRUE(q.receive(b, opts(1, 30)));
  std::string h = b.messages[0].receipt_handle;
  // Extend to 100 s: not visible at 31 s.
  ASSERT_TRUE(q.change_visibility(h, 100));
  clock_.advance(31s);
  ASSERT_TRUE(q.receive(b, opts()));
  EXPECT_EQ(b.count, 0u);
  // 0 makes it visible at once.
  ASSERT_TRUE(q.change_visibility(h, 0));
  ASSERT_TRUE(q.receive(b, opts(1, 30)));
  ASSERT_EQ(b.count, 1u);
  h = b.messages[0].receipt_handle;
  // Out of range.
  auto r = q.change_visibility(h, 43201);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameterValue);
  // Beyond 12 h after the receive: extend to 2 h, an hour later ask for 12 h more.
  ASSERT_TRUE(q.change_visibility(h, 7200));
  clock_.advance(std::chrono::hours(1));
  ASSERT_TRUE(q.change_visibility(h, 39600));  // exactly 12 h after the receive: allowed
  r = q.change_visibility(h, 43200);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameterValue);
  EXPECT_NE(r.error().message.find("43200"), std::string::npos);
  // After delete: not available.
  ASSERT_TRUE(q.delete_message(h));
  r = q.change_visibility(h, 10);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameterValue);
  EXPECT_NE(r.error().message.find("not available for visibility timeout change"),
            std::string::npos);
}

TEST_F(QueueTest, DelayedMessagesBecomeVisibleAtTheirTime) {
  QueueAttributes a;
  a.delay_s = 10;
  Queue q = make(a);
  ASSERT_TRUE(q.send(req("queue-delay")));
  SendRequest r = req("own-delay");
  r.delay_s = 0;  // per-message override: no delay
  ASSERT_TRUE(q.send(r));
  SendRequest r2 = req("long");
  r2.delay_s = 900;
  ASSERT_TRUE(q.send(r2));
  EXPECT_EQ(q.counts().delayed, 2u);
  ReceiveBatch b;
  ASSERT_TRUE(q.receive(b, opts(10)));
  ASSERT_EQ(b.count, 1u);
  EXPECT_EQ(b.messages[0].body, "own-delay");
  ASSERT_TRUE(q.delete_message(b.messages[0].receipt_handle));
  clock_.advance(9s);
  ASSERT_TRUE(q.receive(b, opts(10)));
  EXPECT_EQ(b.count, 0u);
  clock_.advance(1s);
  ASSERT_TRUE(q.receive(b, opts(10)));
  ASSERT_EQ(b.count, 1u);
  EXPECT_EQ(b.messages[0].body, "queue-delay");
  ASSERT_TRUE(q.delete_message(b.messages[0].receipt_handle));
  clock_.advance(900s);
  ASSERT_TRUE(q.receive(b, opts(10)));
  ASSERT_EQ(b.count, 1u);
  EXPECT_EQ(b.messages[0].body, "long");
  SendRequest bad = req("x");
  bad.delay_s = 901;
  auto s = q.send(bad);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidParameterValue);
}

TEST_F(QueueTest, RetentionRemovesOldMessagesWithoutADaemon) {
  QueueAttributes a;
  a.message_retention_period_s = 60;
  Queue q = make(a);
  ASSERT_TRUE(q.send(req("old")));
  clock_.advance(30s);
  ASSERT_TRUE(q.send(req("young")));
  clock_.advance(31s);
  ReceiveBatch b;
  ASSERT_TRUE(q.receive(b, opts(10)));
  ASSERT_EQ(b.count, 1u);
  EXPECT_EQ(b.messages[0].body, "young");
  // An in-flight message past retention is removed by recover().
  clock_.advance(60s);
  auto rep = q.recover();
  EXPECT_EQ(rep.retention_expired, 1u);
  auto c = q.counts();
  EXPECT_EQ(c.visible + c.in_flight, 0u);
}

TEST_F(QueueTest, PurgeRemovesVisibleInFlightAndDelayed) {
  Queue q = make();
  ASSERT_TRUE(q.send(req("a")));
  ASSERT_TRUE(q.send(req("b")));
  SendRequest d = req("c");
  d.delay_s = 100;
  ASSERT_TRUE(q.send(d));
  ReceiveBatch b;
  ASSERT_TRUE(q.receive(b, opts()));
  auto c = q.counts();
  EXPECT_EQ(c.visible, 1u);
  EXPECT_EQ(c.in_flight, 1u);
  EXPECT_EQ(c.delayed, 1u);
  ASSERT_TRUE(q.purge());
  c = q.counts();
  EXPECT_EQ(c.visible + c.in_flight + c.delayed, 0u);
  clock_.advance(200s);
  ASSERT_TRUE(q.receive(b, opts(10)));
  EXPECT_EQ(b.count, 0u);
  // The queue keeps working after a purge.
  ASSERT_TRUE(q.send(req("after")));
  ASSERT_TRUE(q.receive(b, opts()));
  ASSERT_EQ(b.count, 1u);
  EXPECT_EQ(b.messages[0].body, "after");
}

TEST_F(QueueTest, ReceiptHandlesAreAuthenticated) {
  Queue q1 = make({}, "q1");
  Queue q2 = make({}, "q2");
  ASSERT_TRUE(q1.send(req("x")));
  ReceiveBatch b;
  ASSERT_TRUE(q1.receive(b, opts()));
  std::string h = b.messages[0].receipt_handle;
  for (std::string bad :
       {std::string("garbage"), std::string(""), std::string(27, 'A'), std::string(2000, 'z')}) {
    auto r = q1.delete_message(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kReceiptHandleIsInvalid);
  }
  std::string forged = h;
  forged[3] = forged[3] == 'A' ? 'B' : 'A';  // flip bits of the slot index
  auto r = q1.delete_message(forged);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kReceiptHandleIsInvalid);
  // Every other spelling of the handle is refused: any one character changed to another
  // base64url character (the last one's 2 unused bits included) or to a byte outside the
  // alphabet.
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  ASSERT_EQ(h.size(), 27u);
  ASSERT_EQ(h.find_first_not_of(alphabet), std::string::npos) << h;
  int refused = 0;
  for (size_t i = 0; i < h.size(); ++i) {
    const std::string others = alphabet + std::string("+/= .\0\x80\xff", 8);
    for (const char c : others) {
      if (c == h[i]) {
        continue;
      }
      std::string v = h;
      v[i] = c;
      auto d = q1.delete_message(v);
      ASSERT_FALSE(d) << "position " << i << " char " << static_cast<int>(c);
      ASSERT_EQ(d.error().code, ErrorCode::kReceiptHandleIsInvalid);
      ++refused;
    }
  }
  EXPECT_EQ(refused, 27 * (64 + 8 - 1));
  // A handle of q1 is garbage to q2.
  r = q2.delete_message(h);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kReceiptHandleIsInvalid);
  EXPECT_NE(r.error().message.find("is not a valid receipt handle"), std::string::npos);
  auto cv = q2.change_visibility(h, 5);
  ASSERT_FALSE(cv);
  EXPECT_EQ(cv.error().code, ErrorCode::kReceiptHandleIsInvalid);
  EXPECT_TRUE(q1.delete_message(h));
}

TEST_F(QueueTest, BadInputGetsSqsErrorNames) {
  QueueAttributes a;
  a.maximum_message_size = 1024;
  Queue q = make(a);
  EXPECT_EQ(q.send(req("")).error().code, ErrorCode::kMissingParameter);
  EXPECT_EQ(q.send(req(std::string_view("a\0b", 3))).error().code,
            ErrorCode::kInvalidMessageContents);
  EXPECT_EQ(q.send(req("\xEF\xBF\xBF")).error().code, ErrorCode::kInvalidMessageContents);
  std::string exact(1024, 'x');
  EXPECT_TRUE(q.send(req(exact)));
  std::string over(1025, 'x');
  auto r = q.send(req(over));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameterValue);
  EXPECT_NE(r.error().message.find("shorter than 1024 bytes"), std::string::npos);
  // Attributes count toward the size: 1000 + "name"(4) + "String"(6) + 15 = 1025.
  std::vector<MessageAttribute> attrs{{"name", "String", std::string(15, 'v')}};
  const std::string body1000(1000, 'b');
  SendRequest s = req(body1000);
  s.attributes = attrs;
  EXPECT_EQ(q.send(s).error().code, ErrorCode::kInvalidParameterValue);
  std::vector<MessageAttribute> bad_attr{{"AWS.x", "String", "v"}};
  s = req("b");
  s.attributes = bad_attr;
  EXPECT_EQ(q.send(s).error().code, ErrorCode::kInvalidParameterValue);
  ReceiveBatch b;
  ReceiveOptions o = opts(11);
  EXPECT_EQ(q.receive(b, o).error().code, ErrorCode::kInvalidParameterValue);
  o = opts(1);
  o.wait_time_s = 21;
  EXPECT_EQ(q.receive(b, o).error().code, ErrorCode::kInvalidParameterValue);
}

TEST_F(QueueTest, AttributesOutOfRangeNameTheAttribute) {
  QueueAttributes a;
  a.visibility_timeout_s = 43201;
  auto q = Queue::create(where(), a);
  ASSERT_FALSE(q);
  EXPECT_EQ(q.error().code, ErrorCode::kInvalidAttributeValue);
  EXPECT_NE(q.error().message.find("VisibilityTimeout"), std::string::npos);
  a = {};
  a.message_retention_period_s = 59;
  q = Queue::create(where(), a);
  ASSERT_FALSE(q);
  EXPECT_NE(q.error().message.find("MessageRetentionPeriod"), std::string::npos);
  auto bad_name = Queue::create(where("bad name!"), {});
  ASSERT_FALSE(bad_name);
  EXPECT_EQ(bad_name.error().code, ErrorCode::kInvalidParameterValue);
}

TEST_F(QueueTest, CreateOpenRemoveLifecycle) {
  EXPECT_EQ(Queue::open(where()).error().code, ErrorCode::kQueueDoesNotExist);
  { Queue q = make(); }
  auto again = Queue::create(where(), {});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kQueueNameExists);
  auto opened = Queue::open(where());
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->attributes().visibility_timeout_s, 30);
  QueueAttributes changed = opened->attributes();
  changed.visibility_timeout_s = 5;
  ASSERT_TRUE(opened->set_attributes(changed));
  EXPECT_EQ(Queue::open(where())->attributes().visibility_timeout_s, 5);
  ASSERT_TRUE(Queue::remove(where()));
  EXPECT_EQ(Queue::remove(where()).error().code, ErrorCode::kQueueDoesNotExist);
}

// A full /dev/shm must fail at create (fallocate reserves every byte), never SIGBUS later. A
// 4 MiB tmpfs stands in for a full /dev/shm; mounting needs root (CAP_SYS_ADMIN).
TEST_F(QueueTest, FullShmFailsAtCreateWithNoSpaceNotLater) {
  const std::string dir = root_.path() + "-tiny";
  std::filesystem::create_directories(dir);
  if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=4m") != 0) {
    std::filesystem::remove(dir);
    GTEST_SKIP() << "cannot mount a small tmpfs here (needs root): " << std::strerror(errno);
  }
  QueueLocation w;
  w.shm_root = dir;
  w.name = "big";
  QueueAttributes a;
  a.capacity_messages = 1024;
  a.capacity_bytes = uint64_t{16} << 20;  // more than the 4 MiB filesystem holds
  auto big = Queue::create(w, a);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, ErrorCode::kNoSpace) << big.error().message;
  EXPECT_NE(big.error().message.find("cannot reserve"), std::string::npos) << big.error().message;
  // Nothing is left behind, and a queue that fits is created and used to its last byte.
  EXPECT_EQ(Queue::open(w).error().code, ErrorCode::kQueueDoesNotExist);
  w.name = "small";
  a.capacity_messages = 64;
  a.capacity_bytes = uint64_t{2} << 20;
  {
    auto small = Queue::create(w, a);
    ASSERT_TRUE(small) << small.error().message;
    const std::string body(30000, 'x');
    SendRequest r;
    r.body = body;
    int sent = 0;
    for (; sent < 1000; ++sent) {
      auto res = small->send(r);
      if (!res) {
        EXPECT_EQ(res.error().code, ErrorCode::kQueueFull) << res.error().message;
        break;
      }
    }
    EXPECT_GT(sent, 32);  // the 2 MiB arena holds at least 32 records of 30 KB
    EXPECT_EQ(small->counts().visible, uint64_t(sent));
  }
  EXPECT_EQ(::umount(dir.c_str()), 0);
  std::filesystem::remove(dir);
}

TEST_F(QueueTest, StatsCountSendsReceivesEmptyReceivesDeletesAndTheOldestMessage) {
  Queue q = make();
  const int64_t first_sent = clock_.unix_ms();
  ASSERT_TRUE(q.send(req("a")));
  clock_.advance(2s);
  ASSERT_TRUE(q.send(req("b")));
  ASSERT_TRUE(q.send(req("c")));
  ReceiveBatch b;
  ASSERT_TRUE(q.receive(b, opts(2)));
  ASSERT_EQ(b.count, 2u);
  ASSERT_TRUE(q.delete_message(b.messages[0].receipt_handle));
  ASSERT_TRUE(q.delete_message(b.messages[0].receipt_handle));  // a repeat counts, as on SQS
  ASSERT_FALSE(q.delete_message("garbage"));                    // an invalid handle does not
  ASSERT_TRUE(q.receive(b, opts(1)));
  ASSERT_EQ(b.count, 1u);
  ASSERT_TRUE(q.receive(b, opts(1)));
  ASSERT_EQ(b.count, 0u);
  ReceiveOptions bad = opts(11);
  ASSERT_FALSE(q.receive(b, bad));  // rejected calls are not receives
  const QueueStats st = q.stats();
  EXPECT_EQ(st.sent_total, 3u);
  EXPECT_EQ(st.received_total, 3u);
  EXPECT_EQ(st.empty_receives_total, 1u);
  EXPECT_EQ(st.deleted_total, 2u);
  EXPECT_EQ(st.counts.in_flight, 2u);
  EXPECT_EQ(st.counts.visible, 0u);
  // "a" was deleted: the oldest left is "b" or "c", sent 2 s after it.
  EXPECT_EQ(st.oldest_sent_unix_ms, first_sent + 2000);
  ASSERT_TRUE(q.purge());
  EXPECT_EQ(q.stats().oldest_sent_unix_ms, 0);
}

// ---- dead-letter queues ------------------------------------------------------------------

TEST_F(QueueTest, MessageMovesToTheDeadLetterQueueAfterMaxReceiveCountKeepingWhatSqsKeeps) {
  Queue src = make({}, "src");
  QueueAttributes da;
  da.message_retention_period_s = 60;
  Queue dlq = make(da, "dlq");
  ASSERT_TRUE(src.set_redrive_policy(RedrivePolicy{"dlq", 2}));
  EXPECT_EQ(src.redrive_policy(), (RedrivePolicy{"dlq", 2}));
  const std::vector<MessageAttribute> attrs = {{"kind", "String", "poison"}};
  SendRequest r = req("bad job");
  r.attributes = attrs;
  const int64_t sent_at = clock_.unix_ms();
  auto sent = src.send(r);
  ASSERT_TRUE(sent);
  ReceiveBatch b;
  ReceiveOptions o = opts(1, 1);
  o.message_attribute_names = {"All"};
  for (uint32_t n = 1; n <= 2; ++n) {  // delivered maxReceiveCount times
    ASSERT_TRUE(src.receive(b, o));
    ASSERT_EQ(b.count, 1u);
    EXPECT_EQ(b.messages[0].receive_count, n);
    clock_.advance(2s);  // the consumer fails: the lease expires
  }
  ASSERT_TRUE(src.receive(b, o));  // the next receive moves it instead
  EXPECT_EQ(b.count, 0u);
  EXPECT_EQ(src.counts().visible + src.counts().in_flight, 0u);
  EXPECT_EQ(src.stats().dlq_moves_total, 1u);
  ASSERT_TRUE(dlq.receive(b, o));
  ASSERT_EQ(b.count, 1u);
  const ReceivedMessage& m = b.messages[0];
  EXPECT_EQ(m.message_id, sent->message_id);
  EXPECT_EQ(m.body, "bad job");
  EXPECT_EQ(m.attributes, attrs);
  EXPECT_EQ(m.receive_count, 3u);
  EXPECT_EQ(m.sent_timestamp_ms, sent_at);
  EXPECT_EQ(m.dead_letter_source_queue, "src");
  // Retention counts from the original enqueue time: 60 s after the send it is gone, though
  // it reached the dead-letter queue only 4 s ago.
  ASSERT_TRUE(dlq.change_visibility(m.receipt_handle, 0));
  clock_.advance(57s);
  EXPECT_EQ(dlq.recover().retention_expired, 1u);
}

TEST_F(QueueTest, WithoutItsDeadLetterQueueAMessageIsDeliveredAsUsual) {
  Queue src = make({}, "src");
  ASSERT_TRUE(src.set_redrive_policy(RedrivePolicy{"missing", 1}));
  ASSERT_TRUE(src.send(req("x")));
  ReceiveBatch b;
  for (uint32_t n = 1; n <= 3; ++n) {
    ASSERT_TRUE(src.receive(b, opts(1, 1)));
    ASSERT_EQ(b.count, 1u) << n;
    EXPECT_EQ(b.messages[0].receive_count, n);
    clock_.advance(2s);
  }
  EXPECT_EQ(src.stats().dlq_moves_total, 0u);
  // Removing the policy stops the moves; a bad policy is refused.
  ASSERT_TRUE(src.set_redrive_policy(std::nullopt));
  EXPECT_FALSE(src.redrive_policy());
  EXPECT_EQ(src.set_redrive_policy(RedrivePolicy{"src", 3}).error().code,
            ErrorCode::kInvalidParameterValue);
  EXPECT_EQ(src.set_redrive_policy(RedrivePolicy{"dlq", 0}).error().message,
            "Invalid value for maxReceiveCount: 0, valid values are from 1 to 1000 both "
            "inclusive.");
  EXPECT_FALSE(src.set_redrive_policy(RedrivePolicy{"dlq", 1001}));
  EXPECT_FALSE(src.set_redrive_policy(RedrivePolicy{"bad name!", 5}));
}

#if defined(LQS_CRASH_POINTS)
// A receiver killed between the copy into the dead-letter queue and the delete leaves the
// message in both queues, never in neither; the next receive finishes the move.
// A process killed in the middle of writing a redrive policy leaves the seqlock odd; the next
// writer takes the write over after its wait instead of hanging.
TEST_F(QueueTest, RedrivePolicyWriterKilledMidWriteDoesNotWedgeTheNextOne) {
  Queue src = make({}, "src");
  const QueueLocation w = where("src");
  pid_t child = test::spawn([w] {
    setenv("LQS_CRASH_AT", "redrive.after_claim:1", 1);
    auto q = Queue::open(w);
    if (!q) return 2;
    (void)q->set_redrive_policy(RedrivePolicy{"dlq", 4});
    return 3;  // not reached: killed at the crash point
  });
  const int st = test::wait_for(child, 30s);
  ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) << st;
  ASSERT_TRUE(src.set_redrive_policy(RedrivePolicy{"dlq", 7}));  // returns: no hang
  EXPECT_EQ(src.redrive_policy(), (RedrivePolicy{"dlq", 7}));
}

TEST_F(QueueTest, KillDuringADeadLetterMoveNeverLosesTheMessage) {
  Queue src = make({}, "src");
  Queue dlq = make({}, "dlq");
  ASSERT_TRUE(src.set_redrive_policy(RedrivePolicy{"dlq", 1}));
  ASSERT_TRUE(src.send(req("poison")));
  ReceiveBatch b;
  ASSERT_TRUE(src.receive(b, opts(1, 1)));
  ASSERT_EQ(b.count, 1u);
  clock_.advance(2s);
  const QueueLocation w = where("src");
  pid_t child = test::spawn([w] {
    setenv("LQS_CRASH_AT", "dlq.after_copy:1", 1);
    auto q = Queue::open(w);
    if (!q) return 2;
    ReceiveBatch cb;
    ReceiveOptions o;
    o.visibility_timeout_s = 1;
    (void)q->receive(cb, o);
    return 3;  // not reached: killed at the crash point
  });
  const int st = test::wait_for(child, 30s);
  ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) << st;
  EXPECT_EQ(dlq.counts().visible, 1u);  // copied
  clock_.advance(2s);                   // the dead receiver's lease expires
  ASSERT_TRUE(src.receive(b, opts(1, 1)));
  EXPECT_EQ(b.count, 0u);  // moved again rather than delivered
  EXPECT_EQ(dlq.counts().visible, 2u) << "at worst in both: a duplicate, never a loss";
}
#endif

TEST_F(QueueTest, FullQueueAnswersWithClearErrorAndDropsNothing) {
  QueueAttributes a;
  a.capacity_messages = 64;
  a.capacity_bytes = 2u << 20;
  Queue q = make(a);
  int sent = 0;
  while (true) {
    auto r = q.send(req("m" + std::to_string(sent)));
    if (!r) {
      EXPECT_EQ(r.error().code, ErrorCode::kQueueFull);
      EXPECT_NE(r.error().message.find("full"), std::string::npos);
      break;
    }
    ++sent;
  }
  EXPECT_EQ(sent, 64);
  std::set<std::string> got;
  ReceiveBatch b;
  while (true) {
    ASSERT_TRUE(q.receive(b, opts(10)));
    if (b.count == 0) break;
    for (size_t i = 0; i < b.count; ++i) {
      got.insert(b.messages[i].body);
      ASSERT_TRUE(q.delete_message(b.messages[i].receipt_handle));
    }
  }
  EXPECT_EQ(got.size(), 64u);
  // Byte capacity: ~1 MB messages in a fresh 2 MiB (32-page) arena: two fit, the third is
  // refused with kQueueFull.
  Queue q2 = make(a, "bytes");
  std::string big(1000000, 'b');
  int big_sent = 0;
  Result<SendResult> last = q2.send(req(big));
  while (last) {
    ++big_sent;
    last = q2.send(req(big));
  }
  EXPECT_EQ(big_sent, 2);
  EXPECT_EQ(last.error().code, ErrorCode::kQueueFull);
}

TEST_F(QueueTest, BatchLimitsAndPerEntryResults) {
  Queue q = make();
  std::vector<Result<SendResult>> out;
  std::vector<SendRequest> none;
  EXPECT_EQ(q.send_batch(none, out).error().code, ErrorCode::kEmptyBatchRequest);
  std::vector<SendRequest> eleven(11, req("x"));
  EXPECT_EQ(q.send_batch(eleven, out).error().code, ErrorCode::kTooManyEntriesInBatch);
  std::string half(600000, 'h');
  std::vector<SendRequest> too_long{req(half), req(half)};
  auto tl = q.send_batch(too_long, out);
  ASSERT_FALSE(tl);
  EXPECT_EQ(tl.error().code, ErrorCode::kBatchRequestTooLong);
  EXPECT_NE(tl.error().message.find("1200000"), std::string::npos);
  std::vector<SendRequest> mixed{req("one"), req(std::string_view("\x01", 1)), req("three")};
  ASSERT_TRUE(q.send_batch(mixed, out));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(out[0]);
  EXPECT_EQ(out[1].error().code, ErrorCode::kInvalidMessageContents);
  EXPECT_TRUE(out[2]);
  ReceiveBatch b;
  ASSERT_TRUE(q.receive(b, opts(10)));
  ASSERT_EQ(b.count, 2u);
  std::vector<std::string_view> hs{b.messages[0].receipt_handle, "garbage",
                                   b.messages[1].receipt_handle};
  std::vector<Result<void>> dout;
  ASSERT_TRUE(q.delete_batch(hs, dout));
  EXPECT_TRUE(dout[0]);
  EXPECT_EQ(dout[1].error().code, ErrorCode::kReceiptHandleIsInvalid);
  EXPECT_TRUE(dout[2]);
  EXPECT_EQ(q.counts().in_flight, 0u);
}

TEST_F(QueueTest, MessageAttributesFilteredWithDigestOverReturnedSubset) {
  Queue q = make();
  std::vector<MessageAttribute> attrs{
      {"Help.Me", "String", "Me"}, {"Hello", "String", "There"}, {"General", "String", "Kenobi"}};
  SendRequest r = req("msg");
  r.attributes = attrs;
  r.message_group_id = "g1";
  auto s = q.send(r, SendOptions{true});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->md5_of_message_attributes->to_hex(), "4c360f3fdafd970e05fae2f149d997f5");
  EXPECT_EQ(s->md5_of_body->to_hex(), "6e2baaf3b97dbeef01c0043275f9a0e7");
  ReceiveBatch b;
  ReceiveOptions o = opts(1);
  o.message_attribute_names = {"Hello", "General"};
  o.system_attribute_names = {"MessageGroupId"};
  o.compute_md5 = true;
  ASSERT_TRUE(q.receive(b, o));
  ASSERT_EQ(b.count, 1u);
  const auto& m = b.messages[0];
  ASSERT_EQ(m.attributes.size(), 2u);
  EXPECT_EQ(m.attributes[0].name, "General");  // sorted by name
  EXPECT_EQ(m.attributes[1].name, "Hello");
  EXPECT_EQ(m.md5_of_message_attributes->to_hex(), "fca026605781cb4126a1e9044df24232");
  ASSERT_EQ(m.system_attributes.size(), 1u);
  EXPECT_EQ(m.system_attributes[0].first, "MessageGroupId");
  EXPECT_EQ(m.system_attributes[0].second, "g1");
  // Prefix filter: Hel.* selects Hello and Help.Me.
  ASSERT_TRUE(q.change_visibility(m.receipt_handle, 0));
  o.message_attribute_names = {"Hel.*"};
  ASSERT_TRUE(q.receive(b, o));
  ASSERT_EQ(b.count, 1u);
  ASSERT_EQ(b.messages[0].attributes.size(), 2u);
  EXPECT_EQ(b.messages[0].receive_count, 2u);
  // No filter: no attributes and no digest.
  ASSERT_TRUE(q.change_visibility(b.messages[0].receipt_handle, 0));
  o.message_attribute_names.clear();
  ASSERT_TRUE(q.receive(b, o));
  ASSERT_EQ(b.count, 1u);
  EXPECT_TRUE(b.messages[0].attributes.empty());
  EXPECT_FALSE(b.messages[0].md5_of_message_attributes);
}

TEST_F(QueueTest, CorruptOrTruncatedSegmentGivesClearErrorNotCrash) {
  { Queue q = make(); }
  const std::string path = root_.path() + "/q1.v1.seg";
  // Flip the magic.
  {
    int fd = ::open(path.c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    uint8_t x = 0x42;
    ASSERT_EQ(::pwrite(fd, &x, 1, 0), 1);
    ::close(fd);
  }
  auto r = Queue::open(where());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kCorruption);
  EXPECT_NE(r.error().message.find("magic"), std::string::npos);
  // Truncate.
  ASSERT_EQ(::truncate(path.c_str(), 100), 0);
  r = Queue::open(where());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kCorruption);
}

TEST_F(QueueTest, CostOfExpiryDoesNotScanInFlightMessages) {
  // 5000 messages in flight with a long timeout; one short lease expires. The next receive
  // finds it through the timer lane (no scan needed): counted by recover() doing nothing.
  QueueAttributes a;
  a.capacity_messages = 8192;
  Queue q = make(a);
  ReceiveBatch b;
  for (int i = 0; i < 5000; ++i) ASSERT_TRUE(q.send(req("x")));
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(q.receive(b, opts(10, 3600)));
    ASSERT_EQ(b.count, 10u);
  }
  ASSERT_TRUE(q.send(req("short")));
  ASSERT_TRUE(q.receive(b, opts(1, 5)));
  ASSERT_EQ(b.count, 1u);
  EXPECT_EQ(b.messages[0].body, "short");
  clock_.advance(6s);
  ASSERT_TRUE(q.receive(b, opts(1, 5)));
  ASSERT_EQ(b.count, 1u);
  EXPECT_EQ(b.messages[0].body, "short");
  EXPECT_EQ(b.messages[0].receive_count, 2u);
  EXPECT_EQ(q.counts().in_flight, 5001u);
}

TEST_F(QueueTest, SegmentMappedTwiceAtDifferentAddressesWorks) {
  // Two independent mappings of one segment in one process: any absolute pointer stored in
  // shared memory would break here.
  Queue a = make();
  auto b = Queue::open(where());
  ASSERT_TRUE(b);
  ASSERT_TRUE(a.send(req("through a")));
  ReceiveBatch batch;
  ASSERT_TRUE(b->receive(batch, opts()));
  ASSERT_EQ(batch.count, 1u);
  EXPECT_EQ(batch.messages[0].body, "through a");
  ASSERT_TRUE(a.delete_message(batch.messages[0].receipt_handle));
  EXPECT_EQ(b->counts().in_flight, 0u);
}

}  // namespace
}  // namespace lqs

namespace lqs {
namespace {

// Producer and consumer threads over one mapping (run under TSan too): a batched 2×2
// lifecycle loses nothing and delivers nothing twice.
TEST(QueueThreadsTest, TwoByTwoBatchedLifecycleDeliversEveryMessageOnce) {
  test::TempShmRoot root;
  QueueLocation w;
  w.shm_root = root.path();
  w.name = "threads";
  QueueAttributes a;
  a.capacity_messages = 256;
  a.capacity_bytes = 4u << 20;
  auto q = Queue::create(w, a);
  ASSERT_TRUE(q) << q.error().message;
  constexpr int kProducers = 2;
  constexpr int kPer = 30000;
  std::vector<std::atomic<int>> seen(kProducers * kPer);
  std::atomic<int> received{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> ts;
  for (int p = 0; p < kProducers; ++p) {
    ts.emplace_back([&, p] {
      std::vector<std::string> bodies(10);
      std::vector<SendRequest> reqs(10);
      std::vector<Result<SendResult>> out;
      for (int i = 0; i < kPer;) {
        const int n = std::min(10, kPer - i);
        for (int k = 0; k < n; ++k) {
          bodies[k] = std::to_string(p * kPer + i + k);
          reqs[k].body = bodies[k];
        }
        if (!q->send_batch(std::span(reqs.data(), n), out)) {
          errors.fetch_add(1);
          return;
        }
        // Entries are independent: resend exactly the refused ones.
        for (int k = 0; k < n; ++k) {
          if (out[k]) continue;
          if (out[k].error().code != ErrorCode::kQueueFull) {
            errors.fetch_add(1);
            return;
          }
          while (true) {
            SendRequest r;
            r.body = bodies[k];
            auto s = q->send(r);
            if (s) break;
            if (s.error().code != ErrorCode::kQueueFull) {
              errors.fetch_add(1);
              return;
            }
            std::this_thread::yield();
          }
        }
        i += n;
      }
    });
  }
  for (int c = 0; c < 2; ++c) {
    ts.emplace_back([&] {
      ReceiveBatch b;
      ReceiveOptions o;
      o.max_number_of_messages = 10;
      o.wait_time_s = 0;
      std::vector<std::string_view> hs;
      std::vector<Result<void>> out;
      auto idle_since = std::chrono::steady_clock::now();
      while (received.load() < kProducers * kPer) {
        if (!q->receive(b, o)) {
          errors.fetch_add(1);
          return;
        }
        if (b.count == 0) {
          if (std::chrono::steady_clock::now() - idle_since > std::chrono::seconds(10)) return;
          std::this_thread::yield();
          continue;
        }
        idle_since = std::chrono::steady_clock::now();
        hs.clear();
        for (size_t i = 0; i < b.count; ++i) {
          int id = std::stoi(b.messages[i].body);
          if (seen[id].fetch_add(1) == 0) received.fetch_add(1);
          hs.push_back(b.messages[i].receipt_handle);
        }
        if (!q->delete_batch(hs, out)) errors.fetch_add(1);
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(errors.load(), 0);
  int missing = 0;
  int dup = 0;
  for (auto& s : seen) {
    missing += s.load() == 0;
    dup += s.load() > 1;
  }
  EXPECT_EQ(missing, 0) << "counts now: visible " << q->counts().visible << ", in flight "
                        << q->counts().in_flight;
  for (const auto& p : q->fsck()) ADD_FAILURE() << "fsck: " << p;
  EXPECT_EQ(dup, 0);
}

}  // namespace
}  // namespace lqs
