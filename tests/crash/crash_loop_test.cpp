// Copyright lqs authors. Crash loop: producer and consumer processes SIGKILLed at random
// moments and, in crash-point builds, at named crash points. After every kill a fresh process
// attaches, recovers and runs fsck; at checkpoints the queue is drained and every
// acknowledged message must have been delivered, and the queue must accept a full load again
// (no slot or chunk stuck).
//
// LQS_CRASH_KILLS (default 200) sets the number of kills.
#include "lqs/queue.hpp"

#include "support/test_support.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace lqs {
namespace {

using namespace std::chrono_literals;

constexpr int kMaxProducers = 1024;
constexpr int kMaxSeq = 4096;

// Shared between the test and its children (MAP_SHARED | MAP_ANONYMOUS, mapped before fork).
struct Track {
  std::atomic<int64_t> acked[kMaxProducers];  // highest seq whose send returned OK
  std::atomic<uint8_t> seen[kMaxProducers][kMaxSeq];
  std::atomic<uint64_t> corrupt_bodies;
  std::atomic<uint64_t> unexpected_errors;
  char last_error[256];
};

uint32_t crc(std::string_view s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  return h;
}

// Body: "<producer>:<seq>:<filler>#<crc of everything before #>"
std::string make_body(int producer, int seq, std::mt19937& rng) {
  std::string b = std::to_string(producer) + ":" + std::to_string(seq) + ":";
  size_t len = rng() % 16 == 0 ? 40000 + rng() % 120000 : rng() % 3000;
  for (size_t i = 0; i < len; ++i) b.push_back(static_cast<char>('a' + (seq + i) % 26));
  b += "#" + std::to_string(crc(b));
  return b;
}

bool parse_body(const std::string& b, int& producer, int& seq) {
  auto hash = b.rfind('#');
  if (hash == std::string::npos) return false;
  if (std::to_string(crc(std::string_view(b).substr(0, hash))) != b.substr(hash + 1)) {
    return false;
  }
  return std::sscanf(b.c_str(), "%d:%d:", &producer, &seq) == 2 && producer >= 0 &&
         producer < kMaxProducers && seq >= 0 && seq < kMaxSeq;
}

void note_error(Track* t, const std::string& what) {
  t->unexpected_errors.fetch_add(1);
  std::snprintf(t->last_error, sizeof t->last_error, "%s", what.c_str());
}

int producer_main(const QueueLocation& where, Track* t, int id, const char* crash_at) {
  if (crash_at != nullptr) setenv("LQS_CRASH_AT", crash_at, 1);
  auto q = Queue::open(where);
  if (!q) {
    note_error(t, "producer open: " + q.error().message);
    return 1;
  }
  std::mt19937 rng(static_cast<uint32_t>(id * 7919 + getpid()));
  std::vector<std::string> bodies;
  std::vector<SendRequest> reqs;
  std::vector<Result<SendResult>> out;
  for (int seq = 0; seq < kMaxSeq;) {
    if (rng() % 4 == 0 && seq + 5 < kMaxSeq) {
      bodies.clear();
      reqs.clear();
      for (int i = 0; i < 5; ++i) bodies.push_back(make_body(id, seq + i, rng));
      for (auto& b : bodies) {
        SendRequest r;
        r.body = b;
        reqs.push_back(r);
      }
      auto r = q->send_batch(reqs, out);
      if (!r) {
        note_error(t, "send_batch: " + r.error().message);
        return 1;
      }
      bool all = true;
      for (auto& o : out) {
        if (!o) {
          all = false;
          if (o.error().code != ErrorCode::kQueueFull)
            note_error(t, "batch entry: " + o.error().message);
        }
      }
      if (!all) {
        // Entries are independent; record only a contiguous acknowledged prefix.
        int ok = 0;
        while (ok < 5 && out[ok]) ++ok;
        if (ok > 0) t->acked[id].store(seq + ok - 1);
        // Entries after a failure may still have been enqueued: skip past them.
        seq += 5;
        std::this_thread::sleep_for(1ms);
        continue;
      }
      t->acked[id].store(seq + 4);
      seq += 5;
    } else {
      std::string b = make_body(id, seq, rng);
      SendRequest r;
      r.body = b;
      auto s = q->send(r);
      if (!s) {
        if (s.error().code == ErrorCode::kQueueFull) {
          std::this_thread::sleep_for(1ms);
          continue;
        }
        note_error(t, "send: " + s.error().message);
        return 1;
      }
      t->acked[id].store(seq);
      ++seq;
    }
  }
  return 0;
}

int consumer_main(const QueueLocation& where, Track* t, const char* crash_at, int wait_s) {
  if (crash_at != nullptr) setenv("LQS_CRASH_AT", crash_at, 1);
  auto q = Queue::open(where);
  if (!q) {
    note_error(t, "consumer open: " + q.error().message);
    return 1;
  }
  ReceiveBatch b;
  ReceiveOptions o;
  o.max_number_of_messages = 10;
  o.wait_time_s = wait_s;
  std::vector<std::string_view> hs;
  std::vector<Result<void>> out;
  std::mt19937 rng(static_cast<uint32_t>(getpid()));
  for (;;) {
    auto r = q->receive(b, o);
    if (!r) {
      note_error(t, "receive: " + r.error().message);
      return 1;
    }
    if (b.count == 0 && wait_s > 0) return 0;  // drained
    hs.clear();
    for (size_t i = 0; i < b.count; ++i) {
      int p = 0;
      int s = 0;
      if (!parse_body(b.messages[i].body, p, s)) {
        t->corrupt_bodies.fetch_add(1);
        continue;
      }
      t->seen[p][s].store(1);
      hs.push_back(b.messages[i].receipt_handle);
    }
    if (hs.empty()) continue;
    if (rng() % 2 == 0) {
      auto d = q->delete_batch(hs, out);
      if (!d) note_error(t, "delete_batch: " + d.error().message);
      for (auto& e : out) {
        if (!e) note_error(t, "delete entry: " + e.error().message);
      }
    } else {
      for (auto h : hs) {
        if (auto d = q->delete_message(h); !d) note_error(t, "delete: " + d.error().message);
      }
    }
  }
}

class CrashLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    void* p =
        mmap(nullptr, sizeof(Track), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(p, MAP_FAILED);
    track_ = static_cast<Track*>(p);
    for (auto& a : track_->acked) a.store(-1);
    where_.shm_root = root_.path();
    where_.name = "crash";
    QueueAttributes a;
    a.visibility_timeout_s = 1;  // a dead consumer's messages come back after 1 s
    a.capacity_messages = 2048;
    a.capacity_bytes = 32u << 20;
    auto q = Queue::create(where_, a);
    ASSERT_TRUE(q) << q.error().message;
  }
  void TearDown() override { munmap(track_, sizeof(Track)); }

  // A fresh process attaches (recover() runs in open), runs fsck and checks the counts.
  void fresh_check() {
    pid_t pid = test::spawn([&] {
      auto q = Queue::open(where_);
      if (!q) return 10;
      auto problems = q->fsck();
      if (!problems.empty()) {
        std::fprintf(stderr, "fsck: %s\n", problems[0].c_str());
        return 11;
      }
      QueueCounts c = q->counts();
      return c.visible + c.in_flight + c.delayed <= 2048 ? 0 : 12;
    });
    int st = test::wait_for(pid, 30s);
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "fresh check status " << st;
  }

  // Drains the queue with a fresh consumer (waiting out leases of dead consumers), then checks
  // that every acknowledged send was delivered and that the queue takes a full load again.
  void drain_and_verify(int next_producer) {
    pid_t c = test::spawn([&] { return consumer_main(where_, track_, nullptr, 3); });
    int st = test::wait_for(c, 120s);
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
        << "drain consumer status " << st << " " << track_->last_error;
    uint64_t acked = 0;
    uint64_t missing = 0;
    for (int p = 0; p < next_producer; ++p) {
      for (int64_t s = 0; s <= track_->acked[p].load(); ++s) {
        ++acked;
        if (track_->seen[p][s].load() == 0) {
          if (missing < 5) ADD_FAILURE() << "lost acknowledged message " << p << ":" << s;
          ++missing;
        }
      }
    }
    EXPECT_EQ(missing, 0u) << "of " << acked << " acknowledged";
    total_acked_ = acked;
    EXPECT_EQ(track_->corrupt_bodies.load(), 0u);
    // The queue is empty and every slot and byte is usable again.
    pid_t f = test::spawn([&] {
      auto q = Queue::open(where_);
      if (!q) return 20;
      QueueCounts cnt = q->counts();
      if (cnt.visible + cnt.in_flight + cnt.delayed != 0) return 21;
      std::string body(1000, 'f');  // 2048 × 1 KB: fits whatever classes pages were carved for
      SendRequest r;
      r.body = body;
      for (int i = 0; i < 2048; ++i) {
        if (!q->send(r)) return 22;
      }
      if (q->send(r)) return 23;  // exactly full
      (void)q->purge();
      return q->counts().visible == 0 ? 0 : 24;
    });
    st = test::wait_for(f, 60s);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "refill check status " << st;
  }

  test::TempShmRoot root_;
  Track* track_ = nullptr;
  QueueLocation where_;
  uint64_t total_acked_ = 0;
};

TEST_F(CrashLoopTest, RandomAndNamedKillsLoseNoAcknowledgedMessage) {
  int kills_wanted = 200;
  if (const char* k = std::getenv("LQS_CRASH_KILLS")) kills_wanted = std::atoi(k);
  const char* points[] = {
      "send.after_bit_clear",  "send.after_claim",         "send.after_alloc",
      "send.after_write",      "send.after_publishing",    "send.after_push",
      "send.after_delayed",    "receive.after_lease",      "receive.after_lane_push",
      "delete.after_mark",     "delete.after_free_record", "delete.after_free_slot",
      "arena.after_bit_clear", "arena.after_carve",        "arena.after_owner_clear",
      "arena.large_partial"};
  std::mt19937 rng(12345);
  int next_producer = 0;
  std::vector<std::unique_ptr<std::string>> specs;  // crash specs, alive while children fork
  std::vector<pid_t> producers;
  std::vector<pid_t> consumers;
  int kills = 0;
  int named = 0;
  auto start_producer = [&](const char* crash_at) {
    const int id = next_producer++;
    ASSERT_LT(id, kMaxProducers);
    producers.push_back(
        test::spawn([&, id, crash_at] { return producer_main(where_, track_, id, crash_at); }));
  };
  auto start_consumer = [&](const char* crash_at) {
    consumers.push_back(
        test::spawn([&, crash_at] { return consumer_main(where_, track_, crash_at, 0); }));
  };
  auto reap = [&](std::vector<pid_t>& v) {
    for (auto it = v.begin(); it != v.end();) {
      int st = 0;
      pid_t r = waitpid(*it, &st, WNOHANG);
      if (r == *it) {
        if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
          ++named, ++kills;  // died at a point
        else if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
          ADD_FAILURE() << "child failed: " << st << " " << track_->last_error;
        it = v.erase(it);
      } else {
        ++it;
      }
    }
  };
  const bool points_compiled =
#if defined(LQS_CRASH_POINTS)
      true;
#else
      false;
#endif
  int round = 0;
  while (kills < kills_wanted) {
    ++round;
    reap(producers);
    reap(consumers);
    while (producers.size() < 2) {
      const char* p = nullptr;
      if (points_compiled && rng() % 2 == 0) {
        std::string s =
            std::string(points[rng() % std::size(points)]) + ":" + std::to_string(1 + rng() % 50);
        specs.push_back(std::make_unique<std::string>(s));
        p = specs.back()->c_str();
      }
      start_producer(p);
      if (HasFatalFailure()) return;
    }
    while (consumers.size() < 2) {
      const char* p = nullptr;
      if (points_compiled && rng() % 2 == 0) {
        std::string s =
            std::string(points[rng() % std::size(points)]) + ":" + std::to_string(1 + rng() % 50);
        specs.push_back(std::make_unique<std::string>(s));
        p = specs.back()->c_str();
      }
      start_consumer(p);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2 + rng() % 25));
    // Random-time kill of one producer or consumer (or both).
    auto kill_one = [&](std::vector<pid_t>& v) {
      if (v.empty()) return;
      size_t i = rng() % v.size();
      ::kill(v[i], SIGKILL);
      int st = 0;
      (void)waitpid(v[i], &st, 0);
      v.erase(v.begin() + static_cast<std::ptrdiff_t>(i));
      ++kills;
    };
    switch (rng() % 3) {
      case 0:
        kill_one(producers);
        break;
      case 1:
        kill_one(consumers);
        break;
      default:
        kill_one(producers);
        kill_one(consumers);
        break;
    }
    fresh_check();
    if (HasFatalFailure()) return;
    if (round % 40 == 0 || kills >= kills_wanted) {
      for (pid_t p : producers) ::kill(p, SIGKILL), waitpid(p, nullptr, 0), ++kills;
      for (pid_t p : consumers) ::kill(p, SIGKILL), waitpid(p, nullptr, 0), ++kills;
      producers.clear();
      consumers.clear();
      drain_and_verify(next_producer);
      if (HasFailure()) return;
    }
  }
  EXPECT_EQ(track_->unexpected_errors.load(), 0u) << track_->last_error;
  EXPECT_GE(kills, kills_wanted);
  EXPECT_GT(total_acked_, 1000u) << "the loop must actually exchange messages";
  std::printf(
      "crash loop: %d kills (%d at named crash points), %d producers, %llu acknowledged "
      "messages all delivered\n",
      kills, named, next_producer, static_cast<unsigned long long>(total_acked_));
}

}  // namespace
}  // namespace lqs
