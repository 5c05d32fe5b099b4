// Copyright lqs authors. The durability journal in the segment (src/shm/FORMAT.md, "Journal"):
// which operations journal what, in which order; a full journal (overflow), sync senders
// waiting for lqsd (with and without one), snapshot and restore (standard and FIFO).
#include "lqs/queue.hpp"

#include "shm/segment_layout.hpp"
#include "support/test_support.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace lqs {
namespace {

using namespace std::chrono_literals;

class JournalTest : public ::testing::Test {
 protected:
  QueueLocation where(const std::string& name) {
    QueueLocation w;
    w.shm_root = root_.path();
    w.name = name;
    return w;
  }
  // `drained`: this process attaches as the journal's drainer (as lqsd would); an async
  // queue with no drainer journals nothing.
  Queue make(const std::string& name, Durability d, uint32_t capacity = 256, bool drained = true) {
    QueueAttributes a;
    a.fifo_queue = name.ends_with(".fifo");
    a.durability = d;
    a.capacity_messages = capacity;
    a.capacity_bytes = 4u << 20;
    auto q = Queue::create(where(name), a);
    EXPECT_TRUE(q.has_value()) << (q ? "" : q.error().message);
    if (drained && q) {
      EXPECT_TRUE(q->journal_attach());
    }
    return std::move(q).value();
  }
  static SendRequest req(std::string_view body, std::string_view group = {}) {
    SendRequest r;
    r.body = body;
    r.message_group_id = group;
    if (!group.empty()) r.message_deduplication_id = body;
    return r;
  }
  // n times: send, receive, delete (2 journal events each).
  static void send_receive_delete(Queue& q, int n) {
    for (int i = 0; i < n; ++i) {
      ReceiveBatch b;
      ASSERT_TRUE(q.send(req("m" + std::to_string(i))));
      ASSERT_TRUE(q.receive(b, {}));
      ASSERT_EQ(b.count, 1u);
      ASSERT_TRUE(q.delete_message(b.messages[0].receipt_handle));
    }
  }
  static std::vector<Queue::JournalEntry> drain(Queue& q) {
    std::vector<Queue::JournalEntry> out;
    const uint64_t next = q.journal_read(q.journal_head(), 100000, out);
    q.journal_commit(next);
    return out;
  }
  test::TempShmRoot root_;
};

TEST_F(JournalTest, OperationsAreJournaledInOrderWithTheirRecords) {
  Queue q = make("j", Durability::kAsync);
  SendRequest r = req("hello");
  const MessageAttribute color[] = {{"Color", "String", "blue"}};
  r.attributes = color;
  auto sent = q.send(r);
  ASSERT_TRUE(sent);
  ReceiveBatch b;
  ReceiveOptions o;
  o.visibility_timeout_s = 30;
  ASSERT_TRUE(q.receive(b, o));
  ASSERT_EQ(b.count, 1u);
  ASSERT_TRUE(q.change_visibility(b.messages[0].receipt_handle, 7));
  ASSERT_TRUE(q.delete_message(b.messages[0].receipt_handle));
  ASSERT_TRUE(q.send(req("second")));
  ASSERT_TRUE(q.purge());

  auto ev = drain(q);
  ASSERT_EQ(ev.size(), 5u);
  EXPECT_EQ(ev[0].kind, shm::kJournalSend);
  EXPECT_EQ(ev[0].message_id, sent->message_id);
  EXPECT_FALSE(ev[0].has_record);  // read after its delete: the record is gone
  EXPECT_EQ(ev[1].kind, shm::kJournalVisibility);
  EXPECT_EQ(ev[1].arg, 7u);
  EXPECT_EQ(ev[2].kind, shm::kJournalDelete);
  EXPECT_EQ(ev[2].message_id, sent->message_id);
  EXPECT_EQ(ev[3].kind, shm::kJournalSend);
  EXPECT_EQ(ev[4].kind, shm::kJournalPurge);
  for (size_t i = 0; i < ev.size(); ++i) EXPECT_EQ(ev[i].ticket, i);
  EXPECT_EQ(q.journal_head(), 5u);
  EXPECT_EQ(q.journal_tail(), 5u);
  EXPECT_TRUE(drain(q).empty());
}

TEST_F(JournalTest, ADeleteBatchJournalsEveryDelete) {
  Queue q = make("batch", Durability::kAsync);
  std::vector<MessageId> ids;
  for (int i = 0; i < 3; ++i) {
    auto r = q.send(req("m" + std::to_string(i)));
    ASSERT_TRUE(r);
    ids.push_back(r->message_id);
  }
  ReceiveBatch b;
  ReceiveOptions o;
  o.max_number_of_messages = 10;
  ASSERT_TRUE(q.receive(b, o));
  ASSERT_EQ(b.count, 3u);
  std::vector<std::string_view> hs;
  for (size_t i = 0; i < b.count; ++i) hs.push_back(b.messages[i].receipt_handle);
  hs.push_back("not-a-handle");  // fails on its own; the others are still deleted
  std::vector<Result<void>> out;
  ASSERT_TRUE(q.delete_batch(hs, out));
  ASSERT_EQ(out.size(), 4u);
  EXPECT_FALSE(out[3]);
  auto ev = drain(q);
  ASSERT_EQ(ev.size(), 6u);
  std::set<std::string> deleted;
  for (size_t i = 3; i < 6; ++i) {
    EXPECT_EQ(ev[i].kind, shm::kJournalDelete);
    deleted.insert(ev[i].message_id.to_string());
  }
  std::set<std::string> sent;
  for (const auto& id : ids) sent.insert(id.to_string());
  EXPECT_EQ(deleted, sent);
  EXPECT_EQ(q.counts().visible + q.counts().in_flight, 0u);
}

TEST_F(JournalTest, ASendReadAfterItsDeleteCarriesNoRecord) {
  Queue q = make("gone", Durability::kAsync);
  ASSERT_TRUE(q.send(req("short-lived")));
  ReceiveBatch b;
  ASSERT_TRUE(q.receive(b, {}));
  ASSERT_TRUE(q.delete_message(b.messages[0].receipt_handle));
  auto ev = drain(q);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].kind, shm::kJournalSend);
  EXPECT_FALSE(ev[0].has_record);
  EXPECT_EQ(ev[1].kind, shm::kJournalDelete);
}

TEST_F(JournalTest, TheRecordOfALiveSendIsComplete) {
  Queue q = make("rec", Durability::kAsync);
  const std::string body(5000, 'x');
  SendRequest r = req(body);
  const MessageAttribute a42[] = {{"A", "Number", "42"}};
  r.attributes = a42;
  auto sent = q.send(r);
  ASSERT_TRUE(sent);
  auto ev = drain(q);
  ASSERT_EQ(ev.size(), 1u);
  ASSERT_TRUE(ev[0].has_record);
  // Restoring the record elsewhere gives back the same message.
  Queue other = make("rec2", Durability::kMemory);
  Queue::StoredMessage m;
  m.message_id = ev[0].message_id;
  m.record = ev[0].record;
  m.sent_unix_ms = ev[0].sent_unix_ms;
  ASSERT_TRUE(other.restore(m));
  ReceiveBatch b;
  ReceiveOptions o;
  o.message_attribute_names = {"All"};
  o.system_attribute_names = {"All"};
  ASSERT_TRUE(other.receive(b, o));
  ASSERT_EQ(b.count, 1u);
  EXPECT_EQ(b.messages[0].message_id, sent->message_id);
  EXPECT_EQ(b.messages[0].body, std::string(5000, 'x'));
  ASSERT_EQ(b.messages[0].attributes.size(), 1u);
  EXPECT_EQ(b.messages[0].attributes[0].value, "42");
}

TEST_F(JournalTest, MemoryQueuesJournalNothing) {
  Queue q = make("mem", Durability::kMemory);
  ASSERT_TRUE(q.send(req("a")));
  EXPECT_EQ(q.journal_tail(), 0u);
  EXPECT_FALSE(q.journal_take_overflow());
}

TEST_F(JournalTest, AsyncQueuesWithoutLqsdSkipTheJournalAndAskForASnapshot) {
  Queue q = make("nobody", Durability::kAsync, 64, /*drained=*/false);
  send_receive_delete(q, 200);
  EXPECT_EQ(q.journal_tail(), 0u);         // nobody drains: nothing journaled
  EXPECT_TRUE(q.journal_take_overflow());  // so lqsd snapshots the queue when it attaches
  EXPECT_FALSE(q.journal_take_overflow());
}

TEST_F(JournalTest, AFullJournalDoesNotStopAsyncTraffic) {
  Queue q = make("full", Durability::kAsync, 64);  // 64 journal cells, attached, not drained
  send_receive_delete(q, 200);
  EXPECT_EQ(q.journal_tail(), 64u);  // 400 events, 64 cells
  EXPECT_TRUE(q.journal_take_overflow());
}

TEST_F(JournalTest, OverflowIsRaisedWhenTheJournalIsFull) {
  Queue q = make("full2", Durability::kAsync, 64);
  for (int i = 0; i < 64; ++i) ASSERT_TRUE(q.send(req("m" + std::to_string(i))));
  EXPECT_FALSE(q.journal_take_overflow());
  EXPECT_EQ(q.stats().journal_overflows_total, 0u);
  EXPECT_EQ(q.journal_tail(), 64u);
  ReceiveBatch b;
  ASSERT_TRUE(q.receive(b, {}));
  ASSERT_TRUE(q.delete_message(b.messages[0].receipt_handle));  // no cell left: not journaled
  EXPECT_TRUE(q.journal_take_overflow());
  EXPECT_FALSE(q.journal_take_overflow());  // taken
  EXPECT_EQ(q.journal_tail(), 64u);
  EXPECT_EQ(q.stats().journal_overflows_total, 1u);
  // Draining makes room again.
  EXPECT_EQ(drain(q).size(), 64u);
  ASSERT_TRUE(q.send(req("after")));
  EXPECT_EQ(q.journal_tail(), 65u);
  // Full again (64 deletes for the 63 free cells: the last one lost): counted again.
  for (int deleted = 0; deleted < 64;) {
    ReceiveBatch more;
    ReceiveOptions o;
    o.max_number_of_messages = 10;
    ASSERT_TRUE(q.receive(more, o));
    ASSERT_GT(more.count, 0u);
    for (size_t i = 0; i < more.count && deleted < 64; ++i, ++deleted) {
      ASSERT_TRUE(q.delete_message(more.messages[i].receipt_handle));
    }
  }
  EXPECT_TRUE(q.journal_take_overflow());
  EXPECT_EQ(q.stats().journal_overflows_total, 2u);
}

TEST_F(JournalTest, SwitchingFromMemoryToDurableAsksForASnapshot) {
  Queue q = make("switch", Durability::kMemory);
  QueueAttributes a = q.attributes();
  a.durability = Durability::kSync;
  ASSERT_TRUE(q.set_attributes(a));
  EXPECT_EQ(q.attributes().durability, Durability::kSync);
  EXPECT_TRUE(q.journal_take_overflow());
  a.durability = Durability::kAsync;
  ASSERT_TRUE(q.set_attributes(a));
  EXPECT_FALSE(q.journal_take_overflow());  // durable → durable: nothing was missed
}

TEST_F(JournalTest, ASyncSendWithoutLqsdFailsAfterItsDeadlineButIsSent) {
  Queue q = make("nolqsd", Durability::kSync, 256, /*drained=*/false);
  SendOptions so;
  so.durability_timeout_ms = 200;
  const auto t0 = std::chrono::steady_clock::now();
  auto r = q.send(req("x"), so);
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kTimedOut);
  EXPECT_NE(r.error().message.find("no lqsd"), std::string::npos) << r.error().message;
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 5s);
  EXPECT_EQ(q.counts().visible, 1u);  // sent to shared memory all the same
}

TEST_F(JournalTest, ASyncSendReturnsOnceADrainerCommitsIt) {
  Queue q = make("drained", Durability::kSync);
  std::atomic<bool> stop{false};
  auto owner = Queue::open(where("drained"));
  ASSERT_TRUE(owner);
  std::thread drainer([&] {
    std::vector<Queue::JournalEntry> ev;
    while (!stop.load()) {
      ev.clear();
      const uint64_t next = owner->journal_read(owner->journal_head(), 1000, ev);
      if (!ev.empty()) {
        owner->journal_commit(next);
      }
      std::this_thread::sleep_for(1ms);
    }
  });
  SendOptions so;
  so.durability_timeout_ms = 5000;
  for (int i = 0; i < 20; ++i) {
    auto r = q.send(req("s" + std::to_string(i)), so);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_GE(q.journal_head(), static_cast<uint64_t>(i + 1));  // on "disk" before returning
  }
  std::vector<SendRequest> batch;
  std::vector<std::string> batch_bodies;  // SendRequest::body is a view: keep them alive
  for (int i = 0; i < 10; ++i) batch_bodies.push_back("b" + std::to_string(i));
  for (const auto& b : batch_bodies) batch.push_back(req(b));
  std::vector<Result<SendResult>> out;
  ASSERT_TRUE(q.send_batch(batch, out, so));
  for (auto& e : out) EXPECT_TRUE(e) << (e ? "" : e.error().message);
  EXPECT_GE(q.journal_head(), 30u);
  stop.store(true);
  drainer.join();
  q.journal_detach();
}

TEST_F(JournalTest, OnlyOneLiveProcessDrainsAJournal) {
  Queue q = make("owner", Durability::kAsync);
  const pid_t child = test::spawn([this] {
    auto c = Queue::open(where("owner"));
    return c && !c->journal_attach() ? 0 : 1;
  });
  const int st = test::wait_for(child, 30s);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  q.journal_detach();
  const pid_t child2 = test::spawn([this] {
    auto c = Queue::open(where("owner"));
    return c && c->journal_attach() ? 0 : 1;
  });
  const int st2 = test::wait_for(child2, 30s);
  EXPECT_TRUE(WIFEXITED(st2) && WEXITSTATUS(st2) == 0);
  // The child died attached: its token is dead, so we may take over.
  EXPECT_TRUE(q.journal_attach());
}

TEST_F(JournalTest, SnapshotAndRestoreKeepFifoOrderSequenceNumbersAndDeduplication) {
  Queue q = make("src.fifo", Durability::kAsync);
  std::vector<SequenceNumber> seqs;
  for (int i = 0; i < 6; ++i) {
    auto r = q.send(req("m" + std::to_string(i), i % 2 == 0 ? "A" : "B"));
    ASSERT_TRUE(r);
    seqs.push_back(r->sequence_number);
  }
  std::vector<Queue::StoredMessage> snap;
  q.snapshot([&](const Queue::StoredMessage& m) { snap.push_back(m); });
  ASSERT_EQ(snap.size(), 6u);
  for (size_t i = 1; i < snap.size(); ++i) EXPECT_LT(snap[i - 1].sequence, snap[i].sequence);

  Queue r = make("dst.fifo", Durability::kAsync);
  for (const auto& m : snap) ASSERT_TRUE(r.restore(m));
  EXPECT_EQ(r.journal_tail(), 0u);  // restoring is not journaled
  // A duplicate of a restored message is answered with the original MessageId.
  auto dup = r.send(req("m0", "A"));
  ASSERT_TRUE(dup);
  EXPECT_EQ(dup->message_id, snap[0].message_id);
  EXPECT_EQ(dup->sequence_number, seqs[0]);
  // Later sends get larger SequenceNumbers than every restored one.
  auto next = r.send(req("m6", "A"));
  ASSERT_TRUE(next);
  EXPECT_GT(next->sequence_number, seqs[5]);
  // Per-group order is kept.
  ReceiveOptions o;
  o.max_number_of_messages = 10;
  o.system_attribute_names = {"All"};
  ReceiveBatch b;
  std::vector<std::string> a_bodies;
  ASSERT_TRUE(r.receive(b, o));
  for (size_t i = 0; i < b.count; ++i) {
    if (b.messages[i].message_group_id == "A") a_bodies.push_back(b.messages[i].body);
  }
  EXPECT_EQ(a_bodies, (std::vector<std::string>{"m0", "m2", "m4", "m6"}));
  EXPECT_TRUE(r.fsck().empty());
}

#if defined(LQS_CRASH_POINTS)
// A delete's journal event names the message its mark won, even when a sweep completes the
// delete and a producer reuses the slot between the mark and the event: the child is stopped
// right after its mark (LQS_CRASH_AT=delete.after_mark:stop), this process frees the slot
// (recover(): repair_slot) and sends into it, then resumes the child. Read after the mark,
// the event named the new message, and a log replay would delete it: an acknowledged send
// lost after a reboot.
TEST_F(JournalTest, ADeleteJournalsTheMessageItMarkedEvenIfItsSlotIsReusedBeforeTheEvent) {
  Queue q = make("reuse", Durability::kAsync, 64);
  auto first = q.send(req("first"));
  ASSERT_TRUE(first);
  const QueueLocation w = where("reuse");
  const pid_t child = test::spawn([w] {
    setenv("LQS_CRASH_AT", "delete.after_mark:stop", 1);
    auto c = Queue::open_without_recovery(w);
    if (!c) return 2;
    ReceiveBatch b;
    if (!c->receive(b, {}) || b.count != 1) return 3;
    return c->delete_message(b.messages[0].receipt_handle) ? 0 : 4;
  });
  int st = 0;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (::waitpid(child, &st, WUNTRACED | WNOHANG) == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_TRUE(WIFSTOPPED(st)) << "the child did not stop at its mark";
  const RecoveryReport r = q.recover();  // frees the DELETING slot, as a sweep would
  EXPECT_EQ(r.deletes_completed, 1u);
  auto second = q.send(req("second"));  // claims the freed slot (the lowest free one)
  ASSERT_TRUE(second);
  ASSERT_EQ(::kill(child, SIGCONT), 0);
  st = test::wait_for(child, 30s);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
  auto ev = drain(q);
  std::vector<MessageId> deleted;
  for (const auto& e : ev) {
    if (e.kind == shm::kJournalDelete) deleted.push_back(e.message_id);
  }
  ASSERT_EQ(deleted.size(), 1u);
  EXPECT_EQ(deleted[0], first->message_id);
  EXPECT_NE(deleted[0], second->message_id);
  ReceiveBatch b;
  ASSERT_TRUE(q.receive(b, {}));
  ASSERT_EQ(b.count, 1u);
  EXPECT_EQ(b.messages[0].body, "second");
}
#endif

TEST_F(JournalTest, RestoreRefusesAMalformedRecord) {
  Queue q = make("bad", Durability::kMemory);
  Queue::StoredMessage m;
  m.record = std::string(20, 'z');
  auto r = q.restore(m);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kCorruption);
  m.record = std::string(40, '\0');  // a header claiming an empty body, but another id
  m.message_id.bytes[0] = 1;
  EXPECT_FALSE(q.restore(m));
}

}  // namespace
}  // namespace lqs
