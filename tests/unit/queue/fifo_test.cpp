// Copyright lqs authors. FIFO queues in one process with a FakeClock: per-group order, group
// locks, deduplication (window edges, explicit ids against content hashes, both scopes, purge),
// SequenceNumbers, expired handles and the validation errors (SQS_REFERENCE.md §4).
#include "lqs/queue.hpp"

#include "support/test_support.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <deque>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace lqs {
namespace {

using namespace std::chrono_literals;

class FifoTest : public ::testing::Test {
 protected:
  QueueLocation where(const std::string& name = "jobs.fifo") {
    QueueLocation w;
    w.shm_root = root_.path();
    w.name = name;
    w.clock = &clock_;
    return w;
  }
  Queue make(QueueAttributes a = {}, const std::string& name = "jobs.fifo") {
    a.fifo_queue = true;
    a.capacity_messages = 1024;
    a.capacity_bytes = 8u << 20;
    auto q = Queue::create(where(name), a);
    EXPECT_TRUE(q.has_value()) << (q ? "" : q.error().message);
    return std::move(q).value();
  }
  static SendRequest req(std::string_view body, std::string_view group,
                         std::string_view dedup = {}) {
    SendRequest r;
    r.body = body;
    r.message_group_id = group;
    r.message_deduplication_id = dedup.empty() ? body : dedup;
    return r;
  }
  static ReceiveOptions opts(int max = 10, std::optional<int> vis = std::nullopt) {
    ReceiveOptions o;
    o.max_number_of_messages = max;
    o.visibility_timeout_s = vis;
    o.wait_time_s = 0;
    o.system_attribute_names = {"All"};
    return o;
  }
  std::vector<std::string> bodies(Queue& q, int max = 10, std::optional<int> vis = std::nullopt) {
    ReceiveBatch b;
    EXPECT_TRUE(q.receive(b, opts(max, vis)));
    std::vector<std::string> out;
    for (size_t i = 0; i < b.count; ++i) out.push_back(b.messages[i].body);
    return out;
  }

  test::TempShmRoot root_;
  test::FakeClock clock_;
};

TEST_F(FifoTest, NamesAttributesAndReopen) {
  QueueAttributes a;
  a.fifo_queue = true;
  EXPECT_EQ(Queue::create(where("nofifosuffix"), a).error().code,
            ErrorCode::kInvalidParameterValue);
  EXPECT_EQ(Queue::create(where("std.fifo"), QueueAttributes{}).error().code,
            ErrorCode::kInvalidParameterValue);
  a.content_based_deduplication = true;
  a.deduplication_scope_message_group = true;
  a.fifo_throughput_per_group = true;
  Queue q = make(a);
  auto back = Queue::open(where());
  ASSERT_TRUE(back) << back.error().message;
  const QueueAttributes got = back->attributes();
  EXPECT_TRUE(got.fifo_queue);
  EXPECT_TRUE(got.content_based_deduplication);
  EXPECT_TRUE(got.deduplication_scope_message_group);
  EXPECT_TRUE(got.fifo_throughput_per_group);
  EXPECT_EQ(get_attribute(got, "DeduplicationScope").value(), "messageGroup");
  EXPECT_EQ(get_attribute(got, "FifoThroughputLimit").value(), "perMessageGroupId");
  EXPECT_TRUE(back->fsck().empty());
}

TEST_F(FifoTest, SendValidationErrors) {
  Queue q = make();
  SendRequest r;
  r.body = "x";
  r.message_deduplication_id = "d";
  auto e = q.send(r);
  EXPECT_EQ(e.error().code, ErrorCode::kMissingParameter);
  EXPECT_EQ(e.error().message, "The request must contain the parameter MessageGroupId.");
  r.message_group_id = "g";
  r.delay_s = 5;
  EXPECT_EQ(q.send(r).error().code, ErrorCode::kInvalidParameterValue);
  r.delay_s = 0;  // accepted: the queue's delay applies
  EXPECT_TRUE(q.send(r));
  r.message_deduplication_id = {};
  e = q.send(r);
  EXPECT_EQ(e.error().code, ErrorCode::kInvalidParameterValue);
  EXPECT_EQ(e.error().message,
            "The queue should either have ContentBasedDeduplication enabled or "
            "MessageDeduplicationId provided explicitly");
  r.message_deduplication_id = std::string_view("bad id with spaces");
  EXPECT_EQ(q.send(r).error().code, ErrorCode::kInvalidParameterValue);
  const std::string long_id(129, 'a');
  r.message_deduplication_id = long_id;
  EXPECT_EQ(q.send(r).error().code, ErrorCode::kInvalidParameterValue);
  // A standard queue refuses a deduplication id.
  auto std_q = Queue::create(where("plain"), QueueAttributes{});
  ASSERT_TRUE(std_q);
  SendRequest s;
  s.body = "x";
  s.message_deduplication_id = "d";
  EXPECT_EQ(std_q->send(s).error().code, ErrorCode::kInvalidParameterValue);
}

// SQS writes a SequenceNumber as 20 decimal digits; here it is 10^19 + the number, and a
// standard queue's (0) has no string at all.
TEST(SequenceNumberTest, FormatsAsTwentyDigitsAndOrdersAsItsString) {
  EXPECT_EQ(SequenceNumber{}.to_string(), "");
  EXPECT_TRUE(SequenceNumber{}.empty());
  EXPECT_EQ(SequenceNumber{1}.to_string(), "10000000000000000001");
  EXPECT_EQ(SequenceNumber{1234567890123456789}.to_string(), "11234567890123456789");
  EXPECT_EQ(SequenceNumber{8'000'000'000'000'000'000}.to_string(), "18000000000000000000");
  std::string out = "x";
  SequenceNumber{99}.append_to(out);
  SequenceNumber{}.append_to(out);
  EXPECT_EQ(out, "x10000000000000000099");
  for (uint64_t v : {1ULL, 9ULL, 10ULL, 99ULL, 100ULL, 999'999ULL, 1'000'000ULL}) {
    EXPECT_LT(SequenceNumber{v}, SequenceNumber{v + 1});
    EXPECT_LT(SequenceNumber{v}.to_string(), SequenceNumber{v + 1}.to_string());
  }
}

TEST_F(FifoTest, OrderWithinAGroupAndSequenceNumbersIncrease) {
  Queue q = make();
  std::string last;
  for (int i = 0; i < 5; ++i) {
    auto s = q.send(req("a" + std::to_string(i), "A"));
    ASSERT_TRUE(s) << s.error().message;
    ASSERT_EQ(s->sequence_number.to_string().size(), 20u);
    EXPECT_GT(s->sequence_number.to_string(), last);  // the strings increase, as on SQS
    last = s->sequence_number.to_string();
  }
  ReceiveBatch b;
  ASSERT_TRUE(q.receive(b, opts(10)));
  ASSERT_EQ(b.count, 5u);
  for (size_t i = 0; i < b.count; ++i) {
    EXPECT_EQ(b.messages[i].body, "a" + std::to_string(i));
    EXPECT_EQ(b.messages[i].message_group_id, "A");
    EXPECT_EQ(b.messages[i].message_deduplication_id, "a" + std::to_string(i));
    EXPECT_EQ(b.messages[i].sequence_number.to_string().size(), 20u);
    bool has_seq = false;
    for (const auto& [k, v] : b.messages[i].system_attributes) {
      has_seq =
          has_seq || (k == "SequenceNumber" && v == b.messages[i].sequence_number.to_string());
    }
    EXPECT_TRUE(has_seq);
  }
  EXPECT_EQ(b.messages[4].sequence_number.to_string(), last);
}

// A batch is prepared entry by entry and committed under one acquisition of the index mutex:
// entries keep request order (SequenceNumbers increase along the batch), a duplicate of an
// earlier entry of the same batch answers with that entry's MessageId and is not enqueued, and
// an entry that fails alone does not stop the others.
TEST_F(FifoTest, SendBatchKeepsRequestOrderDeduplicatesWithinTheBatchAndFailsEntriesAlone) {
  Queue q = make();
  std::vector<SendRequest> batch = {req("a0", "A"), req("b0", "B"), req("a1", "A"),
                                    req("dup of a0", "A", "a0"), req("a2", "A")};
  batch.push_back(req("no group", ""));
  batch.push_back(req("b1", "B"));
  std::vector<Result<SendResult>> out;
  ASSERT_TRUE(q.send_batch(batch, out));
  ASSERT_EQ(out.size(), batch.size());
  ASSERT_FALSE(out[5]);
  EXPECT_EQ(out[5].error().code, ErrorCode::kMissingParameter);
  SequenceNumber last;
  for (size_t i : {0u, 1u, 2u, 4u, 6u}) {
    ASSERT_TRUE(out[i]) << i << ": " << out[i].error().message;
    EXPECT_GT(out[i]->sequence_number, last) << i;
    last = out[i]->sequence_number;
  }
  ASSERT_TRUE(out[3]);
  EXPECT_EQ(out[3]->message_id, out[0]->message_id);
  EXPECT_EQ(out[3]->sequence_number, out[0]->sequence_number);
  // Group A first (its head is the oldest), in order, then B; the duplicate is absent.
  EXPECT_EQ(bodies(q, 10, 0), (std::vector<std::string>{"a0", "a1", "a2", "b0", "b1"}));
  // A batch that repeats an earlier batch's ids within the window enqueues nothing new.
  std::vector<Result<SendResult>> again;
  ASSERT_TRUE(q.send_batch(std::span(batch.data(), 3), again));
  for (size_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(again[i]);
    EXPECT_EQ(again[i]->message_id, out[i]->message_id);
  }
  EXPECT_EQ(bodies(q, 10, 0).size(), 5u);
}

// SQS: with visibility 0 and groups g1(m1,m2), g2(m1,m2), g3(m1), Max=3 returned g1-m1,
// g1-m2, g2-m1 (as many as it can from one group, then others).
TEST_F(FifoTest, ReceiveTakesAGroupThenFillsFromOthers) {
  Queue q = make();
  for (const auto& [g, m] : std::vector<std::pair<std::string, std::string>>{
           {"g1", "g1-m1"}, {"g1", "g1-m2"}, {"g2", "g2-m1"}, {"g2", "g2-m2"}, {"g3", "g3-m1"}}) {
    ASSERT_TRUE(q.send(req(m, g)));
  }
  EXPECT_EQ(bodies(q, 3, 0), (std::vector<std::string>{"g1-m1", "g1-m2", "g2-m1"}));
}

TEST_F(FifoTest, AGroupIsLockedWhileAMessageIsInFlight) {
  Queue q = make();
  ASSERT_TRUE(q.send(req("m1", "G")));
  ASSERT_TRUE(q.send(req("m2", "G")));
  ASSERT_TRUE(q.send(req("x1", "H")));
  ReceiveBatch b;
  ASSERT_TRUE(q.receive(b, opts(1, 30)));
  ASSERT_EQ(b.count, 1u);
  EXPECT_EQ(b.messages[0].body, "m1");
  const std::string h1 = b.messages[0].receipt_handle;
  // G is locked: only H's message comes; then nothing.
  EXPECT_EQ(bodies(q, 10, 30), std::vector<std::string>{"x1"});
  EXPECT_TRUE(bodies(q).empty());
  // A send to a locked group does not unlock it.
  ASSERT_TRUE(q.send(req("m3", "G")));
  EXPECT_TRUE(bodies(q).empty());
  // Deleting the in-flight message unlocks it at once, in order.
  ASSERT_TRUE(q.delete_message(h1));
  EXPECT_EQ(bodies(q, 10, 30), (std::vector<std::string>{"m2", "m3"}));
}

// A delete marks its slot and posts it to the release ring; the next holder of the index
// mutex unlinks and frees it. 64 slots give a ring of 16: of 40 deletes with no receive
// between them, the 17th and the 34th find the ring full and complete, under the mutex, the
// posted ones and their own; 6 are still posted at the end. A send to the then full queue
// completes those to make room.
TEST_F(FifoTest, DeletesArePostedToTheReleaseRingOrCompletedAtOnceWhenItIsFull) {
  QueueAttributes a;
  a.fifo_queue = true;
  a.capacity_messages = 64;
  a.capacity_bytes = 4u << 20;
  auto made = Queue::create(where(), a);
  ASSERT_TRUE(made) << made.error().message;
  Queue q = std::move(made).value();
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(q.send(req("a" + std::to_string(i), "G" + std::to_string(i))));
  }
  std::vector<std::string> handles;
  for (int r = 0; r < 4; ++r) {
    ReceiveBatch b;
    ASSERT_TRUE(q.receive(b, opts(10, 30)));
    ASSERT_EQ(b.count, 10u);
    for (size_t i = 0; i < b.count; ++i) handles.push_back(b.messages[i].receipt_handle);
  }
  for (const std::string& h : handles) ASSERT_TRUE(q.delete_message(h));
  QueueCounts c = q.counts();
  EXPECT_EQ(c.visible + c.in_flight + c.delayed, 0u);
  // All 64 slots take a message again: the send that finds no free slot completes the 16
  // posted deletes first (or the queue would answer "full" with 16 deleted messages in it).
  for (int i = 0; i < 64; ++i) {
    ASSERT_TRUE(q.send(req("b" + std::to_string(i), "H" + std::to_string(i % 2)))) << "send " << i;
  }
  auto full = q.send(req("one-too-many", "H0"));
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, ErrorCode::kQueueFull);
  // Each group in order, one message of each group in flight at a time, nothing of the
  // deleted ones delivered again.
  std::map<std::string, std::vector<std::string>> got;
  for (int round = 0; round < 64; ++round) {
    ReceiveBatch b;
    ASSERT_TRUE(q.receive(b, opts(1, 30)));
    if (b.count == 0) break;
    got[b.messages[0].message_group_id].push_back(b.messages[0].body);
    ASSERT_TRUE(q.delete_message(b.messages[0].receipt_handle));
  }
  for (int g = 0; g < 2; ++g) {
    std::vector<std::string> want;
    for (int i = g; i < 64; i += 2) want.push_back("b" + std::to_string(i));
    EXPECT_EQ(got["H" + std::to_string(g)], want);
  }
  EXPECT_TRUE(q.fsck().empty());
}

TEST_F(FifoTest, VisibilityExpiryAndChangeVisibilityUnlockInOrder) {
  Queue q = make();
  ASSERT_TRUE(q.send(req("m1", "G")));
  ASSERT_TRUE(q.send(req("m2", "G")));
  ReceiveBatch b;
  ASSERT_TRUE(q.receive(b, opts(1, 10)));
  ASSERT_EQ(b.messages[0].body, "m1");
  const std::string expired = b.messages[0].receipt_handle;
  clock_.advance(11s);
  // m1 comes back first, with its count incremented; m2 follows it.
  ASSERT_TRUE(q.receive(b, opts(10, 10)));
  ASSERT_EQ(b.count, 2u);
  EXPECT_EQ(b.messages[0].body, "m1");
  EXPECT_EQ(b.messages[0].receive_count, 2u);
  EXPECT_EQ(b.messages[1].body, "m2");
  // The old handle has expired: FIFO refuses it, for delete and for visibility changes.
  auto d = q.delete_message(expired);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, ErrorCode::kInvalidParameterValue);
  EXPECT_NE(d.error().message.find("The receipt handle has expired."), std::string::npos);
  EXPECT_FALSE(q.change_visibility(expired, 5));
  // Visibility 0 on both makes the group receivable again, in order.
  ASSERT_TRUE(q.change_visibility(b.messages[1].receipt_handle, 0));
  EXPECT_TRUE(bodies(q).empty()) << "m1 is still in flight";
  ASSERT_TRUE(q.change_visibility(b.messages[0].receipt_handle, 0));
  EXPECT_EQ(bodies(q, 10, 10), (std::vector<std::string>{"m1", "m2"}));
  // A handle whose lease expired without a new receive is also refused.
  ASSERT_TRUE(q.send(req("m9", "K")));
  ASSERT_TRUE(q.receive(b, opts(1, 5)));
  ASSERT_EQ(b.messages[0].body, "m9");
  clock_.advance(6s);
  EXPECT_EQ(q.delete_message(b.messages[0].receipt_handle).error().code,
            ErrorCode::kInvalidParameterValue);
}

TEST_F(FifoTest, DuplicatesWithinFiveMinutesReturnTheOriginalAndAreNotEnqueued) {
  Queue q = make();
  auto first = q.send(req("one", "G", "d1"));
  ASSERT_TRUE(first);
  clock_.advance(299s);
  auto dup = q.send(req("other body", "G", "d1"));
  ASSERT_TRUE(dup);
  EXPECT_EQ(dup->message_id, first->message_id);
  EXPECT_EQ(dup->sequence_number, first->sequence_number);
  // Records outlive receive and delete.
  ReceiveBatch b;
  ASSERT_TRUE(q.receive(b, opts()));
  ASSERT_EQ(b.count, 1u);
  EXPECT_EQ(b.messages[0].body, "one");
  ASSERT_TRUE(q.delete_message(b.messages[0].receipt_handle));
  EXPECT_EQ(q.send(req("again", "G", "d1"))->message_id, first->message_id);
  EXPECT_TRUE(bodies(q).empty());
  // At five minutes after the first send the window is over.
  clock_.advance(1s);
  auto later = q.send(req("later", "G", "d1"));
  ASSERT_TRUE(later);
  EXPECT_NE(later->message_id, first->message_id);
  EXPECT_EQ(bodies(q), std::vector<std::string>{"later"});
}

TEST_F(FifoTest, ContentBasedDeduplicationHashesTheBodyAndAnExplicitIdOverrides) {
  QueueAttributes a;
  a.content_based_deduplication = true;
  Queue q = make(a);
  SendRequest r;
  r.body = "same body";
  r.message_group_id = "G";
  auto s1 = q.send(r);
  ASSERT_TRUE(s1);
  MessageAttribute attr{"k", "String", "v"};
  r.attributes = std::span<const MessageAttribute>(&attr, 1);  // attributes do not count
  EXPECT_EQ(q.send(r)->message_id, s1->message_id);
  r.message_deduplication_id = "explicit";
  EXPECT_NE(q.send(r)->message_id, s1->message_id);
  ReceiveBatch b;
  ASSERT_TRUE(q.receive(b, opts(10, 0)));
  ASSERT_EQ(b.count, 2u);
  // The generated id is the SHA-256 of the body, and is what the message carries.
  // sha256("same body"), computed with Python's hashlib.
  EXPECT_EQ(b.messages[0].message_deduplication_id,
            "8f6372a8b1509601faa57ff3a292cfcccb95aa2325c18b8e50b0c035ea1648fe");
  EXPECT_EQ(b.messages[1].message_deduplication_id, "explicit");
  // An explicit id equal to another message's generated hash is a duplicate of it.
  SendRequest clash;
  clash.body = "different";
  clash.message_group_id = "H";
  clash.message_deduplication_id = b.messages[0].message_deduplication_id;
  EXPECT_EQ(q.send(clash)->message_id, s1->message_id);
}

TEST_F(FifoTest, DeduplicationScopeQueueSpansGroupsAndMessageGroupDoesNot) {
  Queue by_queue = make({}, "q.fifo");
  ASSERT_TRUE(by_queue.send(req("a", "G1", "same")));
  ASSERT_TRUE(by_queue.send(req("b", "G2", "same")));
  EXPECT_EQ(bodies(by_queue, 10, 0), std::vector<std::string>{"a"});
  QueueAttributes a;
  a.deduplication_scope_message_group = true;
  Queue by_group = make(a, "g.fifo");
  ASSERT_TRUE(by_group.send(req("a", "G1", "same")));
  ASSERT_TRUE(by_group.send(req("b", "G2", "same")));
  ASSERT_TRUE(by_group.send(req("c", "G2", "same")));  // a duplicate within G2
  auto got = bodies(by_group, 10, 0);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"a", "b"}));
}

TEST_F(FifoTest, PurgeClearsMessagesAndDeduplicationRecords) {
  Queue q = make();
  auto first = q.send(req("one", "G", "d1"));
  ASSERT_TRUE(first);
  ASSERT_TRUE(q.purge());
  EXPECT_EQ(q.counts().visible, 0u);
  auto again = q.send(req("one", "G", "d1"));
  ASSERT_TRUE(again);
  EXPECT_NE(again->message_id, first->message_id);
  EXPECT_EQ(bodies(q), std::vector<std::string>{"one"});
}

TEST_F(FifoTest, QueueDelayAppliesAndKeepsOrder) {
  QueueAttributes a;
  a.delay_s = 5;
  Queue q = make(a);
  ASSERT_TRUE(q.send(req("m1", "G")));
  ASSERT_TRUE(q.send(req("m2", "G")));
  EXPECT_TRUE(bodies(q).empty());
  EXPECT_EQ(q.counts().delayed, 2u);
  clock_.advance(5s);
  EXPECT_EQ(bodies(q), (std::vector<std::string>{"m1", "m2"}));
}

TEST_F(FifoTest, DeadLetterMoveKeepsTheMessageAndUnblocksTheGroup) {
  Queue dlq = make({}, "dlq.fifo");
  Queue q = make({}, "src.fifo");
  ASSERT_TRUE(q.set_redrive_policy(RedrivePolicy{"dlq.fifo", 2}));
  auto poison = q.send(req("poison", "G"));
  ASSERT_TRUE(q.send(req("next", "G")));
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(bodies(q, 1, 1), std::vector<std::string>{"poison"});
    clock_.advance(2s);
  }
  // The third receive moves it and goes on with the group.
  EXPECT_EQ(bodies(q, 1, 1), std::vector<std::string>{"next"});
  ReceiveBatch b;
  ASSERT_TRUE(dlq.receive(b, opts()));
  ASSERT_EQ(b.count, 1u);
  EXPECT_EQ(b.messages[0].message_id, poison->message_id);
  EXPECT_EQ(b.messages[0].message_group_id, "G");
  EXPECT_EQ(b.messages[0].dead_letter_source_queue, "src.fifo");
  // The dead-letter queue deduplicates by the original MessageId.
  EXPECT_EQ(b.messages[0].message_deduplication_id, poison->message_id.to_string());
}

TEST_F(FifoTest, ManyGroupsAndIdleGroupsAreReclaimed) {
  Queue q = make();
  // 3 rounds of 900 distinct groups through a 1024-slot queue: groups must be reclaimed.
  for (int round = 0; round < 3; ++round) {
    for (int g = 0; g < 900; ++g) {
      const std::string id = "r" + std::to_string(round) + "g" + std::to_string(g);
      auto s = q.send(req(id, id));
      ASSERT_TRUE(s) << s.error().message;
    }
    int got = 0;
    ReceiveBatch b;
    while (q.receive(b, opts(10, 30)) && b.count > 0) {
      for (size_t i = 0; i < b.count; ++i) {
        ASSERT_TRUE(q.delete_message(b.messages[i].receipt_handle));
        ++got;
      }
    }
    EXPECT_EQ(got, 900);
  }
  const RecoveryReport r = q.recover();
  EXPECT_EQ(r.fifo_groups_requeued, 0u);
}

TEST_F(FifoTest, RecoverDropsExpiredDeduplicationRecords) {
  Queue q = make();
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(q.send(req("m" + std::to_string(i), "G")));
  }
  EXPECT_EQ(q.recover().dedup_records_expired, 0u);
  clock_.advance(301s);
  EXPECT_EQ(q.recover().dedup_records_expired, 20u);
}

TEST_F(FifoTest, ReceiveRequestAttemptIdRetriesReturnTheSameMessagesUntilOneChanges) {
  Queue q = make();
  ASSERT_TRUE(q.send(req("m1", "G")));
  ASSERT_TRUE(q.send(req("m2", "G")));
  ASSERT_TRUE(q.send(req("h1", "H")));
  ReceiveOptions o = opts(2, 10);
  o.receive_request_attempt_id = "attempt-1";
  ReceiveBatch first;
  ASSERT_TRUE(q.receive(first, o));
  ASSERT_EQ(first.count, 2u);
  clock_.advance(8s);
  // The retry (e.g. after a lost response) gets the same messages and handles, with a fresh
  // visibility timeout: still in flight 8 s after the retry, 16 s after the first receive.
  ReceiveBatch retry;
  ASSERT_TRUE(q.receive(retry, o));
  ASSERT_EQ(retry.count, 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(retry.messages[i].message_id, first.messages[i].message_id);
    EXPECT_EQ(retry.messages[i].receipt_handle, first.messages[i].receipt_handle);
  }
  clock_.advance(8s);
  EXPECT_EQ(bodies(q, 10, 10), std::vector<std::string>{"h1"});
  // Once a message of the answer is deleted, the id is no longer retryable.
  ASSERT_TRUE(q.delete_message(first.messages[0].receipt_handle));
  auto refused = q.receive(retry, o);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidParameterValue);
  EXPECT_NE(refused.error().message.find("not valid anymore"), std::string::npos);
  o.receive_request_attempt_id = "bad id";
  EXPECT_EQ(q.receive(retry, o).error().code, ErrorCode::kInvalidParameterValue);
}

// 100,000 distinct groups active at once, next to one group with a deep backlog whose head is
// in flight: every other group is served, each message once.
TEST_F(FifoTest, HundredThousandActiveGroupsBesideADeepBacklog) {
  QueueAttributes a;
  a.fifo_queue = true;
  a.capacity_messages = 131072;
  a.capacity_bytes = 64u << 20;
  auto made = Queue::create(where("wide.fifo"), a);
  ASSERT_TRUE(made) << made.error().message;
  Queue& q = *made;
  constexpr int kGroups = 100000;
  constexpr int kDeep = 20000;
  for (int i = 0; i < kDeep; ++i) {
    ASSERT_TRUE(q.send(req("deep" + std::to_string(i), "deep")));
  }
  ReceiveBatch b;
  ASSERT_TRUE(q.receive(b, opts(1, 600)));
  ASSERT_EQ(b.count, 1u);
  EXPECT_EQ(b.messages[0].body, "deep0");  // the deep group is now locked
  for (int g = 0; g < kGroups; ++g) {
    const std::string id = "g" + std::to_string(g);
    auto s = q.send(req(id, id));
    ASSERT_TRUE(s) << g << ": " << s.error().message;
  }
  std::set<std::string> seen;
  while (q.receive(b, opts(10, 600)) && b.count > 0) {
    for (size_t i = 0; i < b.count; ++i) {
      EXPECT_TRUE(seen.insert(b.messages[i].body).second) << b.messages[i].body;
      EXPECT_NE(b.messages[i].message_group_id, "deep");
    }
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kGroups));
  EXPECT_EQ(q.counts().visible, static_cast<uint64_t>(kDeep - 1));
}

// The queue's DelaySeconds is retroactive on FIFO queues: lengthening it hides messages already
// waiting until SentTimestamp + the new delay; shortening it releases them.
TEST_F(FifoTest, QueueDelayChangesApplyToMessagesAlreadyWaiting) {
  Queue q = make();
  ASSERT_TRUE(q.send(req("m1", "G")));
  QueueAttributes a = q.attributes();
  a.delay_s = 30;
  ASSERT_TRUE(q.set_attributes(a));
  clock_.advance(10s);
  EXPECT_TRUE(bodies(q).empty()) << "m1 is due 30 s after its send";
  ASSERT_TRUE(q.send(req("m2", "G")));
  clock_.advance(21s);
  EXPECT_EQ(bodies(q, 1, 0), std::vector<std::string>{"m1"});
  a.delay_s = 0;
  ASSERT_TRUE(q.set_attributes(a));
  // m2 was sent with a 30 s delay 21 s ago; the shorter delay releases it now, after m1.
  EXPECT_EQ(bodies(q, 10, 30), (std::vector<std::string>{"m1", "m2"}));
}

// Lengthening the queue's delay hides a message that is already READY; nothing else happens
// to its group afterwards (no send, no delete), so the message must come back by itself once
// its new delay is over. (It used to strand the group outside the ready list for good.)
TEST_F(FifoTest, ALengthenedDelayReleasesAWaitingMessageWithNoOtherTrafficInItsGroup) {
  Queue q = make();
  ASSERT_TRUE(q.send(req("m1", "G")));
  QueueAttributes a = q.attributes();
  a.delay_s = 30;
  ASSERT_TRUE(q.set_attributes(a));
  clock_.advance(10s);
  EXPECT_TRUE(bodies(q).empty()) << "m1 is due 30 s after its send";
  EXPECT_EQ(q.counts().delayed, 1u) << "waits out the rest of its delay as a delayed message";
  clock_.advance(21s);
  EXPECT_EQ(bodies(q, 10, 30), std::vector<std::string>{"m1"});
}

// A receiver whose wall clock reads earlier than the sender's (read a moment before the send,
// or stepped back by NTP) still gets a message of a queue without delay, and its group is not
// dropped from the ready list. (The hang found by lqs-fifo-bench: 8 messages stranded.)
TEST_F(FifoTest, AWallClockBehindTheSendDoesNotStrandTheGroup) {
  Queue q = make();
  ASSERT_TRUE(q.send(req("m1", "G")));
  clock_.step_wall(-5ms);
  EXPECT_EQ(bodies(q), std::vector<std::string>{"m1"});
  QueueAttributes a = q.attributes();
  a.delay_s = 1;
  ASSERT_TRUE(q.set_attributes(a));
  ASSERT_TRUE(q.send(req("m2", "H")));
  clock_.step_wall(-5ms);
  clock_.advance(1s);  // m2's timer is due; the wall clock, 5 ms behind its send, says not yet
  EXPECT_TRUE(bodies(q).empty());
  clock_.advance(10ms);
  EXPECT_EQ(bodies(q), std::vector<std::string>{"m2"});
}

// The deduplication records against a model, through far more sends than the queue holds
// records (4 per slot: 4096 here) and several 5-minute windows: a resend of an id is a
// duplicate exactly while the model still holds it (within 5 minutes of its first accepted
// send, and among the last 4096 accepted), and answers the original MessageId. This churns
// the ring and the index's backward-shift deletion.
TEST_F(FifoTest, DeduplicationRecordsMatchAModelThroughEvictionAndExpiry) {
  Queue q = make();
  const size_t cap = 4096;  // 4 × next_pow2(1024 slots)
  struct Rec {
    int64_t expires;
    std::string message_id;
  };
  std::map<std::string, Rec> live;  // the model: id -> record
  std::deque<std::string> order;    // accepted ids, oldest first (with stale repeats)
  std::mt19937_64 rng(7);
  int64_t now_ms = 0;
  uint64_t evicted = 0;
  size_t dups = 0;
  ReceiveBatch b;
  for (int i = 0; i < 40000; ++i) {
    // Mostly new ids; some resends of recent ones, some of old (maybe forgotten) ones.
    const uint64_t pick = rng() % 10;
    const std::string id = pick < 7
                               ? "n" + std::to_string(i)
                               : "n" + std::to_string(std::max<int64_t>(
                                           0, i - 1 - int64_t(rng() % (pick < 9 ? 50 : 6000))));
    auto model = live.find(id);
    if (model != live.end() && model->second.expires <= now_ms) {
      live.erase(model);
      model = live.end();
    }
    auto r = q.send(req("b", "g" + std::to_string(i % 7), id));
    ASSERT_TRUE(r) << r.error().message;
    if (model != live.end()) {
      EXPECT_EQ(r->message_id.to_string(), model->second.message_id) << "resend of " << id;
      ++dups;
    } else {
      // Accepted: drop what the queue drops (window over, then the oldest when full).
      while (!order.empty() &&
             (live.count(order.front()) == 0 || live.at(order.front()).expires <= now_ms)) {
        live.erase(order.front());
        order.pop_front();
      }
      if (live.size() == cap) {
        live.erase(order.front());
        order.pop_front();
        ++evicted;
      }
      live[id] = Rec{now_ms + 300'000, r->message_id.to_string()};
      order.push_back(id);
    }
    if (i % 64 == 63) {  // keep the queue from filling: receive and delete everything
      for (;;) {
        ASSERT_TRUE(q.receive(b, opts(10)));
        if (b.count == 0) break;
        for (size_t k = 0; k < b.count; ++k)
          ASSERT_TRUE(q.delete_message(b.messages[k].receipt_handle));
      }
    }
    if (i % 500 == 499) {
      clock_.advance(20s);  // 15 steps per window
      now_ms += 20'000;
    }
  }
  EXPECT_GT(dups, 1000u);
  EXPECT_GT(evicted, 1000u) << "the test must run the ring full";
  EXPECT_EQ(q.stats().fifo_dedup_evicted_total, evicted);
  // Purge forgets every id.
  ASSERT_TRUE(q.purge());
  auto again = q.send(req("b", "g", order.back()));
  ASSERT_TRUE(again);
  EXPECT_NE(again->message_id.to_string(), live.at(order.back()).message_id);
}

// Reboot recovery of deduplication records: dedup_snapshot() gives the hash key and the open
// records; restore_dedup() puts them into an empty queue, and only an empty one.
TEST_F(FifoTest, DeduplicationRecordsMoveToAFreshQueueWithTheirHashKey) {
  Queue a = make({}, "a.fifo");
  auto sent = a.send(req("m1", "G", "d1"));
  ASSERT_TRUE(sent);
  std::array<uint8_t, 16> key{};
  std::vector<Queue::DedupRecord> recs;
  ASSERT_TRUE(a.dedup_snapshot(key, recs));
  ASSERT_EQ(recs.size(), 1u);
  Queue b = make({}, "b.fifo");
  ASSERT_TRUE(b.restore_dedup(key, recs));
  auto dup = b.send(req("m1 again", "G", "d1"));
  ASSERT_TRUE(dup);
  EXPECT_EQ(dup->message_id, sent->message_id);
  EXPECT_EQ(dup->sequence_number, sent->sequence_number);
  EXPECT_TRUE(bodies(b).empty());
  auto again = b.restore_dedup(key, recs);
  ASSERT_FALSE(again) << "b holds records now";
  EXPECT_EQ(again.error().code, ErrorCode::kInvalidParameterValue);
  clock_.advance(301s);  // past the window: nothing to restore, nothing found
  Queue c = make({}, "c.fifo");
  ASSERT_TRUE(c.restore_dedup(key, recs));
  auto late = c.send(req("m1", "G", "d1"));
  ASSERT_TRUE(late);
  EXPECT_NE(late->message_id, sent->message_id);
}

// Threads over one mapping (TSan runs this): 2 producers on their own groups, 2 consumers;
// every message once, each group in order.
TEST_F(FifoTest, ThreadsKeepGroupOrder) {
  Queue q = make();
  constexpr int kGroups = 8;
  constexpr int kPerGroup = 200;
  std::array<std::atomic<int>, kGroups> next{};
  std::atomic<int> done{0};
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < 2; ++p) {
    threads.emplace_back([&, p] {
      for (int i = 0; i < kPerGroup; ++i) {
        for (int g = p; g < kGroups; g += 2) {
          const std::string group = "g" + std::to_string(g);
          const std::string body = group + ":" + std::to_string(i);
          while (!q.send(req(body, group))) std::this_thread::yield();
        }
      }
    });
  }
  for (int c = 0; c < 2; ++c) {
    threads.emplace_back([&] {
      ReceiveBatch b;
      while (done.load() < kGroups * kPerGroup) {
        if (!q.receive(b, opts(10, 60)) || b.count == 0) {
          std::this_thread::yield();
          continue;
        }
        for (size_t i = 0; i < b.count; ++i) {
          const ReceivedMessage& m = b.messages[i];
          const int g = std::stoi(m.message_group_id.substr(1));
          const int idx = std::stoi(m.body.substr(m.body.find(':') + 1));
          if (next[g].load() != idx) bad.fetch_add(1);
          next[g].store(idx + 1);
          if (!q.delete_message(m.receipt_handle)) bad.fetch_add(1);
          done.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(done.load(), kGroups * kPerGroup);
  EXPECT_EQ(q.counts().visible + q.counts().in_flight, 0u);
}

}  // namespace
}  // namespace lqs
