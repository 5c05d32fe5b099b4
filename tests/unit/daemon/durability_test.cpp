// Copyright lqs authors. lqsd's durability agent in one process, over real files: sync sends
// that survive a simulated power loss (FaultyBackend) and a wiped shm root, deletes that stay
// deleted, the async loss window, EIO/ENOSPC, torn tails, checkpoints, overflow snapshots.
#include "daemon/durability.hpp"

#include "lqs/queue.hpp"

#include "daemon/registry.hpp"
#include "durability/io_backend.hpp"
#include "durability/wal.hpp"
#include "support/test_support.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace lqs::daemon {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class DurabilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = root_.path() + "-data";
    inst_.shm_root = root_.path();
    inst_.data_dir = data_dir_;
    pwrite_ = durability::make_pwrite_backend();
    faulty_ = std::make_unique<durability::FaultyBackend>(*pwrite_);
    open_all(faulty_.get());
  }
  void TearDown() override {
    stop_thread();
    agent_.reset();
    reg_.reset();
    fs::remove_all(data_dir_);
  }
  void open_all(durability::IoBackend* backend) {
    auto r = Registry::open(inst_);
    ASSERT_TRUE(r) << r.error().message;
    reg_ = std::move(r).value();
    DurabilityOptions o;
    o.wal_dir = data_dir_ + "/wal";
    o.backend_override = backend;
    o.wal_file_bytes = file_bytes_;
    o.checkpoint_bytes = checkpoint_bytes_;
    o.before_snapshot_scan = before_snapshot_scan_;
    o.during_snapshot_scan = during_snapshot_scan_;
    auto a = DurabilityAgent::open(*reg_, o);
    ASSERT_TRUE(a) << a.error().message;
    agent_ = std::move(a).value();
  }
  // A power loss: every process dies, the shm root is gone; lqsd starts again over the same
  // data directory with a healthy backend and restores what the log holds.
  uint64_t reboot() {
    stop_thread();
    agent_.reset();
    reg_.reset();
    fs::remove_all(root_.path());
    fs::create_directories(root_.path());
    open_all(pwrite_.get());
    auto restored = agent_->restore(reg_->recreated());
    EXPECT_TRUE(restored) << restored.error().message;
    return restored ? *restored : 0;
  }
  void start_thread() {
    stop_ = false;
    thread_ = std::thread([this] { agent_->run(stop_); });
  }
  void stop_thread() {
    if (thread_.joinable()) {
      stop_ = true;
      thread_.join();
    }
  }
  void create(const std::string& name, const std::string& durability, uint32_t capacity = 4096) {
    AttributeMap a = {{"LqsDurability", durability},
                      {"LqsCapacityMessages", std::to_string(capacity)}};
    if (name.ends_with(".fifo")) a["FifoQueue"] = "true";
    ASSERT_TRUE(reg_->create_queue(name, a));
  }
  std::shared_ptr<Queue> q(const std::string& name) { return reg_->queue(name); }
  static SendRequest req(const std::string& body, const std::string& group = {}) {
    SendRequest r;
    r.body = body;
    r.message_group_id = group;
    if (!group.empty()) r.message_deduplication_id = body;
    return r;
  }
  // Bodies of every message the queue holds, in FIFO order for a FIFO queue.
  std::vector<std::string> bodies(const std::string& name) {
    std::vector<std::string> out;
    auto queue = q(name);
    if (!queue) return out;
    queue->snapshot([&](const Queue::StoredMessage& m) {
      // RecordHeader (32 bytes) then the body (body_len at offset 16).
      uint32_t len = 0;
      std::memcpy(&len, m.record.data() + 16, 4);
      out.emplace_back(m.record.substr(32, len));
    });
    return out;
  }
  static std::set<std::string> as_set(const std::vector<std::string>& v) {
    return {v.begin(), v.end()};
  }

  test::TempShmRoot root_;
  std::string data_dir_;
  Instance inst_;
  uint64_t file_bytes_ = uint64_t{1} << 20;
  uint64_t checkpoint_bytes_ = uint64_t{256} << 20;
  std::function<void(const std::string&)> before_snapshot_scan_;
  std::function<void(const std::string&, uint64_t)> during_snapshot_scan_;
  std::unique_ptr<durability::IoBackend> pwrite_;
  std::unique_ptr<durability::FaultyBackend> faulty_;
  std::unique_ptr<Registry> reg_;
  std::unique_ptr<DurabilityAgent> agent_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST_F(DurabilityTest, SyncSendsSurviveAPowerLossAndDeletesStayDeleted) {
  create("jobs", "sync");
  create("jobs.fifo", "sync");
  start_thread();
  std::set<std::string> expect;
  SendOptions so;
  so.durability_timeout_ms = 5000;
  for (int i = 0; i < 200; ++i) {
    const std::string body = "m" + std::to_string(i);
    auto r = q("jobs")->send(req(body), so);
    ASSERT_TRUE(r) << r.error().message;
    expect.insert(body);
  }
  std::vector<std::string> fifo_expect;
  for (int i = 0; i < 60; ++i) {
    const std::string body = "f" + std::to_string(i);
    ASSERT_TRUE(q("jobs.fifo")->send(req(body, "g" + std::to_string(i % 3)), so));
    fifo_expect.push_back(body);
  }
  // Delete 50, then wait until lqsd has logged the deletes (deletes do not wait themselves).
  ReceiveOptions o;
  o.max_number_of_messages = 10;
  for (int k = 0; k < 5; ++k) {
    ReceiveBatch b;
    ASSERT_TRUE(q("jobs")->receive(b, o));
    ASSERT_EQ(b.count, 10u);
    for (size_t i = 0; i < b.count; ++i) {
      ASSERT_TRUE(q("jobs")->delete_message(b.messages[i].receipt_handle));
      expect.erase(b.messages[i].body);
    }
  }
  const uint64_t tail = q("jobs")->journal_tail();
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (q("jobs")->journal_head() < tail && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_GE(q("jobs")->journal_head(), tail);
  faulty_->crash();  // power loss: the machine is down
  EXPECT_EQ(reboot(), 150u + 60u);
  EXPECT_EQ(as_set(bodies("jobs")), expect);
  EXPECT_EQ(bodies("jobs.fifo"), fifo_expect);  // SequenceNumber order, every group in order
  // The restored FIFO queue still knows its deduplication ids.
  auto dup = q("jobs.fifo")->send(req("f0", "g0"));
  ASSERT_TRUE(dup);
  EXPECT_EQ(dup->sequence_number.to_string(), "10000000000000000001");
}

TEST_F(DurabilityTest, AsyncLosesOnlyWhatWasNotYetWritten) {
  create("a", "async");
  ASSERT_TRUE(agent_->do_work());  // attaches and snapshots the empty queue
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(q("a")->send(req("w" + std::to_string(i))));
  auto w = agent_->do_work();
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ(*w, 100u);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(q("a")->send(req("late" + std::to_string(i))));
  // Power loss in the middle of the write that would have made the 50 durable: a torn prefix
  // reaches the disk, and the log's torn tail is cut off when it is opened again.
  faulty_->crash_before_sync_of_next_write(durability::FaultyBackend::Tear::kPrefix, 700);
  EXPECT_FALSE(agent_->do_work());
  EXPECT_EQ(reboot(), 100u);
  const auto got = bodies("a");
  EXPECT_EQ(got.size(), 100u);
  for (const auto& b : got) EXPECT_EQ(b.rfind("w", 0), 0u) << b;
}

TEST_F(DurabilityTest, EioAndEnospcAreClearErrorsAndNothingIsCorrupted) {
  create("e", "sync");
  ASSERT_TRUE(agent_->do_work());
  faulty_->fail_all(ENOSPC);
  std::atomic<bool> sent{false};
  Result<SendResult> r = make_error(ErrorCode::kSystem, "not run");
  std::thread sender([&] {
    SendOptions so;
    so.durability_timeout_ms = 300;
    r = q("e")->send(req("during-enospc"), so);
    sent = true;
  });
  while (!sent) {
    auto w = agent_->do_work();
    if (!w) {
      EXPECT_EQ(w.error().code, ErrorCode::kNoSpace) << w.error().message;
    }
    std::this_thread::sleep_for(5ms);
  }
  sender.join();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNoSpace);
  EXPECT_NE(r.error().message.find("cannot write its log (No space left on device)"),
            std::string::npos)
      << r.error().message;
  EXPECT_GE(agent_->stats().no_space_errors, 1u);
  EXPECT_NE(agent_->stats().last_error.find("space"), std::string::npos)
      << agent_->stats().last_error;
  // EIO on one write, then the disk recovers: the retry writes everything.
  faulty_->clear_faults();
  faulty_->fail_write(1, EIO, durability::FaultyBackend::Tear::kPrefix, 100);
  EXPECT_FALSE(agent_->do_work());
  ASSERT_TRUE(agent_->do_work());
  SendOptions so;
  so.durability_timeout_ms = 5000;
  start_thread();
  ASSERT_TRUE(q("e")->send(req("after"), so));
  stop_thread();
  // The log reads back without a problem, and the message whose sync send timed out was
  // logged once the disk had room again.
  auto scan =
      durability::scan_wal(data_dir_ + "/wal", 1, durability::ScanMode::kStrict,
                           [](uint64_t, uint16_t, std::span<const std::byte>) { return true; });
  ASSERT_TRUE(scan) << scan.error().message;
  EXPECT_TRUE(scan->problems.empty());
  EXPECT_EQ(reboot(), 2u);
  EXPECT_EQ(as_set(bodies("e")), (std::set<std::string>{"during-enospc", "after"}));
}

TEST_F(DurabilityTest, CheckpointsRemoveOldLogFilesAndRecoveryStillHasEverything) {
  agent_.reset();
  reg_.reset();
  file_bytes_ = 64 << 10;
  checkpoint_bytes_ = 256 << 10;
  open_all(faulty_.get());
  create("c", "async");
  std::set<std::string> expect;
  const std::string pad(900, 'p');
  for (int round = 0; round < 30; ++round) {
    for (int i = 0; i < 40; ++i) {
      const std::string body = std::to_string(round) + "-" + std::to_string(i) + pad;
      ASSERT_TRUE(q("c")->send(req(body)));
      expect.insert(body);
    }
    ReceiveOptions o;
    o.max_number_of_messages = 10;
    for (int k = 0; k < 3; ++k) {  // 30 of the 40 are deleted: the queue grows slowly
      ReceiveBatch b;
      ASSERT_TRUE(q("c")->receive(b, o));
      for (size_t i = 0; i < b.count; ++i) {
        ASSERT_TRUE(q("c")->delete_message(b.messages[i].receipt_handle));
        expect.erase(b.messages[i].body);
      }
    }
    ASSERT_TRUE(agent_->do_work());
  }
  EXPECT_GE(agent_->stats().checkpoints, 2u);
  size_t files = 0;
  for (const auto& f : fs::directory_iterator(data_dir_ + "/wal")) {
    files += f.path().extension() == ".log" ? 1 : 0;
  }
  // 30 × 40 KiB of sends were logged (~1.2 MiB, 19+ files of 64 KiB) plus snapshots; the
  // checkpoints keep only the files since the last one.
  EXPECT_LT(files, 12u);
  // Released files are renamed aside (at most WalOptions::max_free_files) and later rolls
  // reuse them, so recovery reads log files with stale records of earlier ones after the data.
  size_t free_files = 0;
  for (const auto& f : fs::directory_iterator(data_dir_ + "/wal")) {
    free_files += f.path().filename().string().rfind(durability::Wal::kFreePrefix, 0) == 0;
  }
  EXPECT_LE(free_files, durability::WalOptions{}.max_free_files);
  EXPECT_GE(agent_->stats().wal_files_reused, 5u);
  EXPECT_EQ(reboot(), expect.size());
  EXPECT_EQ(as_set(bodies("c")), expect);
}

// A queue whose backlog is larger than checkpoint_bytes: each checkpoint snapshots the whole
// backlog, so the next one waits for twice what it wrote. (With checkpoint_bytes alone every
// 64 KiB of traffic rewrote the ~1 MiB backlog: the log grew ~16 bytes per byte of traffic.)
TEST_F(DurabilityTest, ABacklogLargerThanTheCheckpointIntervalIsNotSnapshottedOverAndOver) {
  agent_.reset();
  reg_.reset();
  checkpoint_bytes_ = 64 << 10;
  open_all(faulty_.get());
  create("big", "async", 8192);
  create("t", "async");
  const std::string pad(1000, 'b');
  std::set<std::string> expect;
  for (int i = 0; i < 1000; ++i) {  // ~1 MiB that stays in the queue
    const std::string body = "backlog-" + std::to_string(i) + pad;
    ASSERT_TRUE(q("big")->send(req(body)));
    expect.insert(body);
  }
  ASSERT_TRUE(agent_->do_work());  // logs the sends; a checkpoint is due and snapshots them
  const DurabilityStats after_fill = agent_->stats();
  ASSERT_GE(after_fill.checkpoints, 1u);
  ASSERT_GT(after_fill.last_checkpoint_bytes, uint64_t{1000} * 1000);
  // Traffic beside it, on another queue ("t", created with "big"): 10 messages of ~1 KiB
  // sent, logged, received and deleted, per round.
  const auto round = [&](int r) {
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(q("t")->send(req("t-" + std::to_string(r) + "-" + std::to_string(i) + pad)));
    }
    ASSERT_TRUE(agent_->do_work());
    ReceiveOptions o;
    o.max_number_of_messages = 10;
    ReceiveBatch b;
    ASSERT_TRUE(q("t")->receive(b, o));
    ASSERT_EQ(b.count, 10u);
    for (size_t i = 0; i < b.count; ++i) {
      ASSERT_TRUE(q("t")->delete_message(b.messages[i].receipt_handle));
    }
    ASSERT_TRUE(agent_->do_work());
  };
  // ~10 KiB of log a round: 100 rounds are ~1 MiB, under twice the backlog's snapshot.
  for (int r = 0; r < 100; ++r) round(r);
  const DurabilityStats mid = agent_->stats();
  EXPECT_EQ(mid.checkpoints, after_fill.checkpoints) << "checkpointed within 2x its size";
  const uint64_t traffic = mid.wal_bytes - after_fill.wal_bytes;
  EXPECT_LT(traffic, 2 * after_fill.last_checkpoint_bytes);
  // Past twice the checkpoint's size: the next checkpoint comes.
  for (int r = 100; r < 400 && agent_->stats().checkpoints == mid.checkpoints; ++r) round(r);
  const DurabilityStats last = agent_->stats();
  EXPECT_EQ(last.checkpoints, mid.checkpoints + 1)
      << "log bytes after the fill " << after_fill.wal_bytes << ", after 100 rounds "
      << mid.wal_bytes << ", at the end " << last.wal_bytes;
  EXPECT_GE(last.wal_bytes - last.last_checkpoint_bytes - after_fill.wal_bytes,
            2 * after_fill.last_checkpoint_bytes);
  // Nothing lost: the backlog comes back after a power loss, the deleted traffic does not.
  EXPECT_EQ(reboot(), expect.size());
  EXPECT_EQ(as_set(bodies("big")), expect);
  EXPECT_TRUE(bodies("t").empty());
}

// A long snapshot does not stop the journals: when one is a quarter full in the middle of a
// scan, the events are logged inside the snapshot and committed. Deletes of messages the scan
// has or has not copied yet, sends made during the scan, sends deleted before lqsd read them,
// and messages the scan copied whose sends lqsd reads only after their deletes (those deletes
// must be logged, not elided): after a power loss right after the snapshot, or in the middle
// of its scan (an incomplete snapshot), recovery gives exactly what the queue held when those
// events were committed.
class SnapshotScanTest : public DurabilityTest, public ::testing::WithParamInterface<bool> {};

TEST_P(SnapshotScanTest, EventsLoggedInsideASnapshotAreReplayedIntoIt) {
  const bool crash_mid_scan = GetParam();
  agent_.reset();
  reg_.reset();
  file_bytes_ = 64 << 10;  // several files, so that the checkpoint removes the first ones
  bool armed = false;
  std::set<std::string> expect;
  std::vector<std::string> handles;  // of the 4,000 first messages (a-), all received
  ReceiveOptions in_flight;
  in_flight.max_number_of_messages = 10;
  in_flight.visibility_timeout_s = 600;
  // Before the scan: the d-s, f-s and g-s (the g-s make sure the scan goes on past the check at
  // 5,120 whatever the slots' order); their 2,550 sends, under a quarter of the 16,384-cell
  // journal, are not read until the events at 4,096 fill it.
  before_snapshot_scan_ = [&](const std::string& name) {
    if (!armed || name != "s") return;
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE(q("s")->send(req("d-" + std::to_string(i))));
    }
    for (int i = 0; i < 1500; ++i) {
      const std::string body = "f-" + std::to_string(i);
      ASSERT_TRUE(q("s")->send(req(body)));
      expect.insert(body);
    }
    for (int i = 0; i < 1000; ++i) {
      const std::string body = "g-" + std::to_string(i);
      ASSERT_TRUE(q("s")->send(req(body)));
      expect.insert(body);
    }
  };
  during_snapshot_scan_ = [&](const std::string& name, uint64_t scanned) {
    if (!armed || name != "s") return;
    if (scanned == 5120 && crash_mid_scan) {
      faulty_->crash();  // after the commit of the events below (at 4,096)
      return;
    }
    if (scanned != 4096) return;
    // Copied so far: most of the a-s, d-s and f-s. Receive the d-s and f-s (sent before the
    // g-s, so received before them).
    std::map<std::string, std::string> f_handles;
    for (int got = 0; got < 1550;) {
      ReceiveBatch b;
      ASSERT_TRUE(q("s")->receive(b, in_flight));
      ASSERT_GT(b.count, 0u);
      for (size_t i = 0; i < b.count; ++i, ++got) {
        const std::string& body = b.messages[i].body;
        ASSERT_FALSE(body.starts_with("g-"));
        if (body.starts_with("d-")) {  // copied, its send not read yet: deleted
          ASSERT_TRUE(q("s")->delete_message(b.messages[i].receipt_handle));
        } else {
          f_handles[body] = b.messages[i].receipt_handle;
        }
      }
    }
    for (int i = 50; i < 350; ++i) {  // copied already
      ASSERT_TRUE(q("s")->delete_message(handles[static_cast<size_t>(i)]));
      expect.erase("a-" + std::to_string(i));
    }
    for (int i = 1200; i < 1500; ++i) {  // not copied yet
      const std::string body = "f-" + std::to_string(i);
      ASSERT_TRUE(q("s")->delete_message(f_handles.at(body)));
      expect.erase(body);
    }
    for (int i = 0; i < 100; ++i) {  // sent and deleted before lqsd reads them
      ASSERT_TRUE(q("s")->send(req("c-" + std::to_string(i))));
    }
    for (int got = 0; got < 100;) {  // after the g-s (received: they stay, in flight)
      ReceiveBatch b;
      ASSERT_TRUE(q("s")->receive(b, in_flight));
      ASSERT_GT(b.count, 0u);
      for (size_t i = 0; i < b.count; ++i) {
        if (b.messages[i].body.starts_with("c-")) {
          ASSERT_TRUE(q("s")->delete_message(b.messages[i].receipt_handle));
          ++got;
        }
      }
    }
    for (int i = 0; i < 1500; ++i) {  // sent during the scan: not in it but for their records
      const std::string body = "b-" + std::to_string(i);
      ASSERT_TRUE(q("s")->send(req(body)));
      expect.insert(body);
    }
    // Now over a quarter of the 16,384-cell journal: logged and committed after this call.
  };
  open_all(faulty_.get());
  create("s", "async", 16384);
  ASSERT_EQ(q("s")->journal_capacity(), 16384u);
  for (int i = 0; i < 4000; ++i) {
    const std::string body = "a-" + std::to_string(i);
    ASSERT_TRUE(q("s")->send(req(body)));
    expect.insert(body);
  }
  ASSERT_TRUE(agent_->do_work());
  handles.resize(4000);
  for (int got = 0; got < 4000;) {
    ReceiveBatch b;
    ASSERT_TRUE(q("s")->receive(b, in_flight));
    ASSERT_GT(b.count, 0u);
    for (size_t i = 0; i < b.count; ++i, ++got) {
      handles[std::stoul(b.messages[i].body.substr(2))] = b.messages[i].receipt_handle;
    }
  }
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(q("s")->delete_message(handles[static_cast<size_t>(i)]));
    expect.erase("a-" + std::to_string(i));
  }
  ASSERT_TRUE(agent_->do_work());
  const DurabilityStats before = agent_->stats();
  armed = true;
  const auto c = agent_->checkpoint();  // snapshots "s": 6,500 messages, 6 scan checks
  armed = false;
  const DurabilityStats after = agent_->stats();
  EXPECT_GE(after.events_in_snapshots - before.events_in_snapshots, 2000u);
  if (crash_mid_scan) {
    EXPECT_FALSE(c) << "the log was lost in the middle of the scan";
  } else {
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(after.snapshots, before.snapshots + 1);
    EXPECT_FALSE(q("s")->journal_take_overflow()) << "the journal overflowed during the scan";
  }
  EXPECT_EQ(reboot(), expect.size());
  EXPECT_EQ(as_set(bodies("s")), expect);
}

std::string power_loss_name(const ::testing::TestParamInfo<bool>& p) {
  return p.param ? "InTheMiddleOfTheScan" : "AfterTheSnapshot";
}
INSTANTIATE_TEST_SUITE_P(PowerLoss, SnapshotScanTest, ::testing::Values(false, true),
                         power_loss_name);

// run() keeps a spare log file ready beside the commit path (zero-filled and fsynced by a
// helper thread), so that a roll renames it instead of zero-filling a file while journals wait.
// Each round logs less than one file (so at most one roll) and waits for the next spare; every
// roll must then have taken one. A reboot over a directory holding a spare restores everything.
TEST_F(DurabilityTest, RunKeepsASpareLogFileSoEveryRollRenamesInsteadOfZeroFilling) {
  create("spare", "async");
  start_thread();
  const std::string spare = data_dir_ + "/wal/" + durability::Wal::kSpareName;
  const auto wait_for = [](auto done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return done();
  };
  ASSERT_TRUE(wait_for([&] { return fs::exists(spare); }));
  std::set<std::string> expect;
  const std::string pad(3000, 's');
  // Counted from after round 0: the first log file is created at the first commit, which may
  // or may not find the keeper's first spare ready (a race the rolls below do not have).
  DurabilityStats base{};
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 250; ++i) {  // ~0.76 MB of send records: under one 1 MiB file
      const std::string body = std::to_string(round) + "-" + std::to_string(i) + pad;
      ASSERT_TRUE(q("spare")->send(req(body)));
      expect.insert(body);
    }
    ASSERT_TRUE(wait_for([&] { return q("spare")->journal_head() == q("spare")->journal_tail(); }));
    ASSERT_TRUE(wait_for([&] { return fs::exists(spare); })) << "round " << round;
    if (round == 0) {
      base = agent_->stats();
    }
  }
  stop_thread();
  const DurabilityStats st = agent_->stats();
  const uint64_t rolls = st.wal_files_created - base.wal_files_created;
  EXPECT_GE(rolls, 2u);                                         // 4 × 0.76 MB over 1 MiB files
  EXPECT_EQ(st.wal_spares_used - base.wal_spares_used, rolls);  // every roll took a spare
  EXPECT_EQ(reboot(), expect.size());
  EXPECT_EQ(as_set(bodies("spare")), expect);
}

// A FIFO message deleted before a checkpoint keeps its deduplication record through a
// reboot: the checkpoint's snapshot carries the queue's records (and their hash key), because
// the log that held the delete is removed. SequenceNumbers go on from the highest ever given.
TEST_F(DurabilityTest, FifoDeduplicationOfDeletedMessagesSurvivesCheckpointAndReboot) {
  agent_.reset();
  reg_.reset();
  file_bytes_ = 64 << 10;
  checkpoint_bytes_ = 128 << 10;
  open_all(faulty_.get());
  create("d.fifo", "async");
  create("filler", "async");
  std::vector<SendResult> first;
  for (int i = 0; i < 20; ++i) {
    auto r = q("d.fifo")->send(req("id" + std::to_string(i), "g" + std::to_string(i % 4)));
    ASSERT_TRUE(r) << r.error().message;
    first.push_back(*r);
  }
  ReceiveOptions o;
  o.max_number_of_messages = 10;
  for (;;) {  // every FIFO message received and deleted
    ReceiveBatch b;
    ASSERT_TRUE(q("d.fifo")->receive(b, o));
    if (b.count == 0) break;
    for (size_t i = 0; i < b.count; ++i) {
      ASSERT_TRUE(q("d.fifo")->delete_message(b.messages[i].receipt_handle));
    }
  }
  ASSERT_TRUE(agent_->do_work());
  // Enough other traffic for checkpoints to remove the files holding the sends and deletes.
  const std::string pad(900, 'p');
  for (int round = 0; round < 12; ++round) {
    for (int i = 0; i < 40; ++i) {
      ASSERT_TRUE(q("filler")->send(req(std::to_string(round) + "-" + std::to_string(i) + pad)));
    }
    ASSERT_TRUE(agent_->do_work());
  }
  ASSERT_GE(agent_->stats().checkpoints, 2u);
  reboot();
  EXPECT_TRUE(bodies("d.fifo").empty());
  for (int i = 0; i < 20; i += 7) {
    auto dup = q("d.fifo")->send(req("id" + std::to_string(i), "g" + std::to_string(i % 4)));
    ASSERT_TRUE(dup);
    EXPECT_EQ(dup->message_id, first[i].message_id) << "id" << i << " is a duplicate";
    EXPECT_EQ(dup->sequence_number, first[i].sequence_number);
  }
  EXPECT_TRUE(bodies("d.fifo").empty()) << "duplicates are not enqueued";
  auto fresh = q("d.fifo")->send(req("new", "g0"));
  ASSERT_TRUE(fresh);
  EXPECT_GT(fresh->sequence_number, first.back().sequence_number);
  EXPECT_EQ(bodies("d.fifo"), std::vector<std::string>{"new"});
}

TEST_F(DurabilityTest, AnOverflowedJournalIsCoveredByASnapshot) {
  create("o", "async", 64);  // 64 journal cells
  ASSERT_TRUE(agent_->do_work());
  std::set<std::string> expect;
  for (int i = 0; i < 60; ++i) {
    const std::string body = "o" + std::to_string(i);
    ASSERT_TRUE(q("o")->send(req(body)));
    expect.insert(body);
  }
  for (int i = 0; i < 30; ++i) {  // 30 deletes: 90 events for 64 cells
    ReceiveBatch b;
    ASSERT_TRUE(q("o")->receive(b, {}));
    ASSERT_TRUE(q("o")->delete_message(b.messages[0].receipt_handle));
    expect.erase(b.messages[0].body);
  }
  const uint64_t snapshots = agent_->stats().snapshots;
  ASSERT_TRUE(agent_->do_work());
  EXPECT_EQ(agent_->stats().snapshots, snapshots + 1);
  EXPECT_EQ(reboot(), 30u);
  EXPECT_EQ(as_set(bodies("o")), expect);
}

TEST_F(DurabilityTest, DeletesOfMessagesGoneBeforeTheirSendWasReadAreNotLogged) {
  create("x", "async");
  ASSERT_TRUE(agent_->do_work());  // attaches and snapshots the empty queue
  const uint64_t bytes0 = agent_->stats().wal_bytes;
  // 20 messages sent and deleted before lqsd reads the journal: nothing of them is logged.
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(q("x")->send(req("gone" + std::to_string(i))));
  for (int i = 0; i < 2; ++i) {
    ReceiveBatch b;
    ReceiveOptions o;
    o.max_number_of_messages = 10;
    ASSERT_TRUE(q("x")->receive(b, o));
    ASSERT_EQ(b.count, 10u);
    for (size_t k = 0; k < b.count; ++k) {
      ASSERT_TRUE(q("x")->delete_message(b.messages[k].receipt_handle));
    }
  }
  auto w = agent_->do_work();
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ(*w, 40u);  // 20 sends and 20 deletes read
  EXPECT_EQ(agent_->stats().elided, 20u);
  EXPECT_EQ(agent_->stats().wal_bytes, bytes0);  // no record at all
  // A message logged while live keeps its delete: logged, and it stays deleted.
  ASSERT_TRUE(q("x")->send(req("logged")));
  ASSERT_TRUE(q("x")->send(req("kept")));
  ASSERT_TRUE(agent_->do_work());
  const uint64_t bytes1 = agent_->stats().wal_bytes;
  EXPECT_GT(bytes1, bytes0);
  ReceiveBatch b;
  ASSERT_TRUE(q("x")->receive(b, {}));
  ASSERT_EQ(b.count, 1u);
  ASSERT_EQ(b.messages[0].body, "logged");
  ASSERT_TRUE(q("x")->delete_message(b.messages[0].receipt_handle));
  ASSERT_TRUE(agent_->do_work());
  EXPECT_EQ(agent_->stats().elided, 20u);
  EXPECT_GT(agent_->stats().wal_bytes, bytes1);  // the delete
  EXPECT_EQ(reboot(), 1u);
  EXPECT_EQ(bodies("x"), std::vector<std::string>{"kept"});
}

// The case the elision must not get wrong: a message that a snapshot holds but whose send
// event lqsd reads only after the snapshot, once the message is deleted. Its delete must be
// logged, or the snapshot brings the message back after a reboot. The test hook, which runs
// in each snapshot between the drain of the journal and the scan of the slots, sends the
// message before queue "s" is scanned and deletes it before "t" (scanned next) is.
TEST_F(DurabilityTest, DeletesAreLoggedForMessagesASnapshotHoldsEvenIfTheirSendIsReadLater) {
  create("s", "async");
  create("t", "async");
  ASSERT_TRUE(agent_->do_work());  // attaches and snapshots the empty queues
  stop_thread();
  agent_.reset();
  reg_.reset();
  bool sent = false;
  bool deleted = false;
  before_snapshot_scan_ = [&](const std::string& name) {
    if (name == "s" && !sent) {
      sent = true;
      ASSERT_TRUE(q("s")->send(req("in the snapshot")));
    } else if (name == "t" && sent && !deleted) {
      ReceiveBatch b;
      ASSERT_TRUE(q("s")->receive(b, {}));
      ASSERT_EQ(b.count, 1u);
      ASSERT_TRUE(q("s")->delete_message(b.messages[0].receipt_handle));
      deleted = true;
    }
  };
  open_all(faulty_.get());         // lqsd restarts (shm intact): its first pass is a checkpoint
  ASSERT_TRUE(agent_->do_work());  // then reads the send (message gone) and its delete
  ASSERT_TRUE(deleted);
  EXPECT_TRUE(bodies("s").empty());
  EXPECT_EQ(agent_->stats().elided, 0u);
  ASSERT_EQ(q("s")->journal_head(), q("s")->journal_tail());
  faulty_->crash();
  EXPECT_EQ(reboot(), 0u);
  EXPECT_TRUE(bodies("s").empty());
}

// Under load, with journal overflows answered by snapshots (64 cells) while a producer and a
// consumer run flat out: once the log has caught up, a power loss restores exactly what the
// queue held (nothing deleted comes back, nothing live is missing).
TEST_F(DurabilityTest, UnderLoadWithElidedDeletesAndSnapshotsRecoveryMatchesTheQueue) {
  create("r", "async", 64);
  ASSERT_TRUE(agent_->do_work());
  std::atomic<bool> stop{false};
  std::thread producer([&] {
    for (int i = 0; !stop.load(); ++i) {
      if (!q("r")->send(req("p" + std::to_string(i)))) std::this_thread::yield();
    }
  });
  std::thread consumer([&] {
    ReceiveOptions o;
    o.max_number_of_messages = 10;
    ReceiveBatch b;
    while (!stop.load()) {
      if (!q("r")->receive(b, o)) continue;
      for (size_t k = 0; k < b.count; ++k)
        (void)q("r")->delete_message(b.messages[k].receipt_handle);
    }
  });
  const auto until = std::chrono::steady_clock::now() + 1000ms;
  while (std::chrono::steady_clock::now() < until) ASSERT_TRUE(agent_->do_work());
  stop = true;
  producer.join();
  consumer.join();
  // Caught up: everything journaled is read and on disk (a last overflow is snapshotted).
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(agent_->do_work());
  ASSERT_EQ(q("r")->journal_head(), q("r")->journal_tail());
  EXPECT_GT(agent_->stats().snapshots, 2u);
  EXPECT_GT(agent_->stats().elided, 0u);
  const std::set<std::string> live = as_set(bodies("r"));
  faulty_->crash();
  reboot();
  EXPECT_EQ(as_set(bodies("r")), live);
}

TEST_F(DurabilityTest, MemoryQueuesAreNotLoggedAndSwitchingToDurableLogsWhatTheyHold) {
  create("m", "memory");
  create("s", "memory");
  ASSERT_TRUE(q("m")->send(req("gone after a reboot")));
  ASSERT_TRUE(q("s")->send(req("kept")));
  ASSERT_TRUE(agent_->do_work());
  EXPECT_EQ(agent_->stats().durable_queues, 0u);
  ASSERT_TRUE(reg_->set_queue_attributes("s", {{"LqsDurability", "async"}}));
  ASSERT_TRUE(agent_->do_work());  // no queue tracked yet: the queue list is refreshed
  EXPECT_EQ(agent_->stats().durable_queues, 1u);
  EXPECT_EQ(reboot(), 1u);
  EXPECT_TRUE(bodies("m").empty());
  EXPECT_EQ(bodies("s"), (std::vector<std::string>{"kept"}));
}

TEST_F(DurabilityTest, ADeletedQueueIsNotRestored) {
  create("d", "async");
  ASSERT_TRUE(q("d")->send(req("x")));
  ASSERT_TRUE(agent_->do_work());
  ASSERT_TRUE(reg_->delete_queue("d"));
  std::this_thread::sleep_for(150ms);
  ASSERT_TRUE(agent_->do_work());
  EXPECT_EQ(reboot(), 0u);
  EXPECT_EQ(q("d"), nullptr);
}

}  // namespace
}  // namespace lqs::daemon
