// Copyright lqs authors. A real lqsd process on a temporary instance: the instance lock, clean
// shutdown on SIGTERM, a declared queue file applied idempotently, and a SIGKILLed daemon whose
// restart adopts the segments with every message intact and reaps leases nobody polls.
#include "lqs/queue.hpp"

#include "support/test_support.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#ifndef LQSD_PATH
#error "LQSD_PATH must name the lqsd binary"
#endif

namespace lqs {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The port lqsd printed in its ready line ("http://127.0.0.1:PORT/metrics").
int ready_port(const std::string& out) {
  const auto at = out.find("http://127.0.0.1:");
  return at == std::string::npos ? -1 : std::atoi(out.c_str() + at + 17);
}

// Reads until the peer closes (or the socket's receive timeout passes), then closes `fd`.
std::string read_all(int fd) {
  std::string got;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return got;
}

// Sends `raw` to 127.0.0.1:port and returns everything the server answers until it closes
// (or 5 s pass).
std::string http_exchange(int port, const std::string& raw) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return "connect failed";
  }
  timeval tv{5, 0};
  (void)::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  size_t sent = 0;
  while (sent < raw.size()) {
    const ssize_t n = ::send(fd, raw.data() + sent, raw.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  return read_all(fd);
}

// The value of the sample `line_prefix` ("name{labels}") in a Prometheus text body, or -1.
long long sample(const std::string& body, const std::string& line_prefix) {
  const auto at = body.find("\n" + line_prefix + " ");
  return at == std::string::npos ? -1 : std::atoll(body.c_str() + at + line_prefix.size() + 2);
}

class LqsdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = root_.path() + "-lqsd";
    fs::create_directories(dir_);
    config_ = dir_ + "/queues.json";
    std::ofstream(config_) << R"({"queues": [
      {"name": "orders", "attributes": {"VisibilityTimeout": 2, "DelaySeconds": "0"},
       "tags": {"team": "payments"}},
      {"name": "emails", "attributes": {"MaximumMessageSize": "2048"}}]})";
  }
  void TearDown() override {
    for (pid_t p : started_) {
      (void)::kill(p, SIGKILL);
      (void)::waitpid(p, nullptr, 0);
    }
    fs::remove_all(dir_);
  }

  // Starts lqsd with stdout and stderr in files under dir_; returns its pid.
  pid_t start(const std::string& tag, std::vector<std::string> extra = {},
              std::string shm_root = {}, std::string data_dir = {},
              std::string listen = "127.0.0.1:0") {
    const std::string out = dir_ + "/" + tag + ".out";
    const std::string err = dir_ + "/" + tag + ".err";
    std::vector<std::string> args = {LQSD_PATH,
                                     "--shm-root",
                                     shm_root.empty() ? root_.path() : shm_root,
                                     "--data-dir",
                                     data_dir.empty() ? dir_ + "/data" : data_dir,
                                     "--housekeeping-interval-ms",
                                     "100",
                                     "--listen",
                                     listen};
    args.insert(args.end(), extra.begin(), extra.end());
    // Remove the previous run's output here, not in the child: wait_ready() must never see
    // an old ready line.
    fs::remove(out);
    fs::remove(err);
    const pid_t pid = ::fork();
    if (pid == 0) {
      const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      (void)::dup2(o, 1);
      (void)::dup2(e, 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      _exit(127);
    }
    started_.push_back(pid);
    return pid;
  }
  // Waits for the ready line on stdout.
  bool wait_ready(const std::string& tag, std::chrono::milliseconds timeout = 15s) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      if (slurp(dir_ + "/" + tag + ".out").find("lqsd ready") != std::string::npos) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }
  int wait_exit(pid_t pid, std::chrono::milliseconds timeout = 15s) {
    const int st = test::wait_for(pid, timeout);
    std::erase(started_, pid);
    return st;
  }
  Queue open_queue(const std::string& name) {
    QueueLocation w;
    w.shm_root = root_.path();
    w.name = name;
    auto q = Queue::open(w);
    EXPECT_TRUE(q) << q.error().message;
    return std::move(q).value();
  }

  test::TempShmRoot root_;
  std::string dir_;
  std::string config_;
  std::vector<pid_t> started_;
};

TEST_F(LqsdTest, SecondDaemonOnTheSameInstanceExitsWithAClearMessage) {
  const pid_t first = start("first");
  ASSERT_TRUE(wait_ready("first")) << slurp(dir_ + "/first.err");
  const pid_t second = start("second");
  const int st = wait_exit(second);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 1);
  const std::string err = slurp(dir_ + "/second.err");
  EXPECT_NE(err.find("another lqsd (pid " + std::to_string(first) + ") already owns the instance"),
            std::string::npos)
      << err;
  // A second instance with its own directories runs side by side.
  const pid_t other = start("other", {}, root_.path() + "-other", dir_ + "/data2");
  EXPECT_TRUE(wait_ready("other")) << slurp(dir_ + "/other.err");
  (void)::kill(other, SIGTERM);
  EXPECT_EQ(wait_exit(other), 0);
  fs::remove_all(root_.path() + "-other");
  (void)::kill(first, SIGTERM);
  EXPECT_EQ(wait_exit(first), 0);
}

TEST_F(LqsdTest, PortInUseExitsWithAClearMessageNotACrash) {
  // A port someone else listens on.
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(s, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(s, 1), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len), 0);
  const std::string taken = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  // The durability thread is running by the time lqsd binds: it must be stopped, not abandoned
  // (an abandoned std::thread ended the process in std::terminate, SIGABRT).
  const pid_t d = start("busy", {}, {}, {}, taken);
  const int st = wait_exit(d, 15s);
  (void)::close(s);
  ASSERT_TRUE(WIFEXITED(st)) << "status " << st << ": " << slurp(dir_ + "/busy.err");
  EXPECT_EQ(WEXITSTATUS(st), 1);
  const std::string err = slurp(dir_ + "/busy.err");
  EXPECT_NE(err.find("lqsd: cannot listen on " + taken + ": Address already in use"),
            std::string::npos)
      << err;
  EXPECT_EQ(err.find("terminate"), std::string::npos) << err;
}

TEST_F(LqsdTest, ASegmentItCannotAdoptIsAWarningAndTheRestServes) {
  // A queue made through liblqs directly (no metadata), then aged to layout version 1.
  {
    QueueLocation w;
    w.shm_root = root_.path();
    w.name = "stale";
    ASSERT_TRUE(Queue::create(w, QueueAttributes{}));
  }
  std::string seg;
  for (const auto& e : fs::directory_iterator(root_.path())) {
    if (e.path().filename().string().starts_with("stale.")) seg = e.path().string();
  }
  ASSERT_FALSE(seg.empty());
  {
    std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(8);  // layout_version (src/shm/FORMAT.md)
    const uint32_t v1 = 1;
    f.write(reinterpret_cast<const char*>(&v1), sizeof v1);
    ASSERT_TRUE(f.good());
  }
  const pid_t d = start("d");
  ASSERT_TRUE(wait_ready("d")) << slurp(dir_ + "/d.err");
  const std::string err = slurp(dir_ + "/d.err");
  EXPECT_NE(err.find("level=warn component=registry event=queue_skipped queue=stale"),
            std::string::npos)
      << err;
  (void)::kill(d, SIGTERM);
  EXPECT_EQ(wait_exit(d), 0);
}

TEST_F(LqsdTest, SigtermAndSigintShutDownCleanly) {
  for (int sig : {SIGTERM, SIGINT}) {
    const pid_t d = start("d");
    ASSERT_TRUE(wait_ready("d")) << slurp(dir_ + "/d.err");
    ASSERT_EQ(::kill(d, sig), 0);
    const int st = wait_exit(d, 5s);
    ASSERT_TRUE(WIFEXITED(st)) << st;
    EXPECT_EQ(WEXITSTATUS(st), 0);
    EXPECT_NE(slurp(dir_ + "/d.err").find("event=shutdown"), std::string::npos);
  }
}

TEST_F(LqsdTest, DeclaredQueuesApplyIdempotently) {
  for (int run = 0; run < 2; ++run) {
    const pid_t d = start("run", {"--config", config_});
    ASSERT_TRUE(wait_ready("run")) << slurp(dir_ + "/run.err");
    EXPECT_NE(slurp(dir_ + "/run.out").find("2 queues"), std::string::npos);
    (void)::kill(d, SIGTERM);
    ASSERT_EQ(wait_exit(d), 0);
    if (run == 0) {
      fs::copy_file(dir_ + "/data/queues/orders.json", dir_ + "/orders.first");
    }
  }
  EXPECT_EQ(slurp(dir_ + "/data/queues/orders.json"), slurp(dir_ + "/orders.first"));
  EXPECT_EQ(Queue::list(root_.path()), (std::vector<std::string>{"emails", "orders"}));
  EXPECT_EQ(open_queue("orders").attributes().visibility_timeout_s, 2);
  EXPECT_EQ(open_queue("emails").attributes().maximum_message_size, 2048);
  EXPECT_NE(slurp(dir_ + "/data/queues/orders.json").find("\"team\": \"payments\""),
            std::string::npos);
  // A changed declaration is applied to the existing queue.
  std::ofstream(config_)
      << R"({"queues": [{"name": "orders", "attributes": {"VisibilityTimeout": 9}}]})";
  const pid_t d = start("changed", {"--config", config_});
  ASSERT_TRUE(wait_ready("changed")) << slurp(dir_ + "/changed.err");
  EXPECT_EQ(open_queue("orders").attributes().visibility_timeout_s, 9);
  (void)::kill(d, SIGTERM);
  EXPECT_EQ(wait_exit(d), 0);
  // A bad file: one line naming the problem, non-zero exit, no queue touched.
  std::ofstream(config_)
      << R"({"queues": [{"name": "orders", "attributes": {"VisibilityTimeout": 99999}}]})";
  const pid_t bad = start("bad", {"--config", config_});
  const int st = wait_exit(bad);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 1);
  EXPECT_NE(slurp(dir_ + "/bad.err").find("InvalidAttributeValue"), std::string::npos)
      << slurp(dir_ + "/bad.err");
  EXPECT_EQ(open_queue("orders").attributes().visibility_timeout_s, 9);
}

TEST_F(LqsdTest, MetricsMatchKnownTrafficAndBadRequestsGetErrors) {
  const pid_t d = start("m", {"--config", config_});
  ASSERT_TRUE(wait_ready("m")) << slurp(dir_ + "/m.err");
  const int port = ready_port(slurp(dir_ + "/m.out"));
  ASSERT_GT(port, 0);
  Queue q = open_queue("orders");
  SendRequest r;
  r.body = "m";
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(q.send(r));
  ReceiveBatch b;
  ReceiveOptions o;
  o.max_number_of_messages = 3;
  ASSERT_TRUE(q.receive(b, o));
  ASSERT_EQ(b.count, 3u);
  ASSERT_TRUE(q.delete_message(b.messages[0].receipt_handle));
  ASSERT_TRUE(q.delete_message(b.messages[1].receipt_handle));
  Queue e = open_queue("emails");
  ASSERT_TRUE(e.receive(b, o));  // empty
  ASSERT_EQ(b.count, 0u);
  const std::string resp =
      http_exchange(port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ASSERT_NE(resp.find("HTTP/1.1 200 OK"), std::string::npos) << resp.substr(0, 300);
  EXPECT_NE(resp.find("# TYPE lqs_queue_messages_sent_total counter"), std::string::npos);
  EXPECT_EQ(sample(resp, "lqs_queue_messages_sent_total{queue=\"orders\"}"), 7);
  EXPECT_EQ(sample(resp, "lqs_queue_messages_received_total{queue=\"orders\"}"), 3);
  EXPECT_EQ(sample(resp, "lqs_queue_messages_deleted_total{queue=\"orders\"}"), 2);
  EXPECT_EQ(sample(resp, "lqs_queue_messages_visible{queue=\"orders\"}"), 4);
  EXPECT_EQ(sample(resp, "lqs_queue_messages_in_flight{queue=\"orders\"}"), 1);
  EXPECT_EQ(sample(resp, "lqs_queue_empty_receives_total{queue=\"emails\"}"), 1);
  EXPECT_EQ(sample(resp, "lqs_queue_messages_sent_total{queue=\"emails\"}"), 0);
  EXPECT_EQ(sample(resp, "lqs_queues"), 2);
  EXPECT_GE(sample(resp, "process_resident_memory_bytes"), 1);
  // Keep-alive: two requests on one connection, both answered.
  const std::string two =
      http_exchange(port,
                    "GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n"
                    "Connection: close\r\n\r\n");
  size_t answers = 0;
  for (size_t at = two.find("HTTP/1.1 200 OK"); at != std::string::npos;
       at = two.find("HTTP/1.1 200 OK", at + 1)) {
    ++answers;
  }
  EXPECT_EQ(answers, 2u) << two;
  // Bad input gets an error status, never a crash.
  EXPECT_NE(http_exchange(port, "GARBAGE\r\n\r\n").find(" 400 "), std::string::npos);
  EXPECT_NE(
      http_exchange(port, "GET /metrics HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n")
          .find(" 431 "),
      std::string::npos);
  EXPECT_NE(http_exchange(port, "GET /nope HTTP/1.1\r\nConnection: close\r\n\r\n").find(" 404 "),
            std::string::npos);
  EXPECT_NE(http_exchange(port,
                          "POST / HTTP/1.1\r\nContent-Length: 2\r\nConnection: "
                          "close\r\n\r\nab")
                .find(" 405 "),
            std::string::npos);
  // Still serving.
  EXPECT_NE(http_exchange(port, "GET /health HTTP/1.1\r\nConnection: close\r\n\r\n").find("ok"),
            std::string::npos);
  (void)::kill(d, SIGTERM);
  EXPECT_EQ(wait_exit(d), 0);
}

TEST_F(LqsdTest, PoisonMessageMovesToTheDeadLetterQueueAcrossProcesses) {
  // The dead-letter queue is declared first: a RedrivePolicy must name an existing queue.
  std::ofstream(config_) << R"({"queues": [
    {"name": "orders-dlq"},
    {"name": "orders", "attributes": {"VisibilityTimeout": 1, "RedrivePolicy":
      {"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:orders-dlq",
       "maxReceiveCount": 2}}}]})";
  const pid_t d = start("dlq", {"--config", config_});
  ASSERT_TRUE(wait_ready("dlq")) << slurp(dir_ + "/dlq.err");
  {
    Queue q = open_queue("orders");
    SendRequest r;
    r.body = "poison";
    ASSERT_TRUE(q.send(r));
  }
  // Three consumer processes in turn, each failing (never deleting): the first two get the
  // message, the third's receive moves it.
  QueueLocation where;
  where.shm_root = root_.path();
  where.name = "orders";
  for (int attempt = 1; attempt <= 3; ++attempt) {
    const pid_t c = test::spawn([where, attempt] {
      auto q = Queue::open(where);
      if (!q) return 2;
      ReceiveBatch b;
      ReceiveOptions o;
      o.wait_time_s = 3;  // outlasts the 1 s visibility timeout of the previous attempt
      if (!q->receive(b, o)) return 3;
      if (attempt <= 2) {
        return b.count == 1 && b.messages[0].receive_count == uint32_t(attempt) ? 0 : 4;
      }
      return b.count == 0 ? 0 : 5;
    });
    const int st = test::wait_for(c, 30s);
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "attempt " << attempt << ": " << st;
  }
  Queue dlq = open_queue("orders-dlq");
  ReceiveBatch b;
  ASSERT_TRUE(dlq.receive(b));
  ASSERT_EQ(b.count, 1u);
  EXPECT_EQ(b.messages[0].body, "poison");
  EXPECT_EQ(b.messages[0].dead_letter_source_queue, "orders");
  EXPECT_EQ(b.messages[0].receive_count, 3u);
  const int port = ready_port(slurp(dir_ + "/dlq.out"));
  const std::string m = http_exchange(port, "GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(sample(m, "lqs_queue_dlq_moves_total{queue=\"orders\"}"), 1) << m.substr(0, 200);
  (void)::kill(d, SIGTERM);
  EXPECT_EQ(wait_exit(d), 0);
}

// lqsd SIGKILLed and restarted ten times while a producer and a consumer process exchange
// messages through the data plane: nothing acknowledged is lost, no queue is duplicated, and
// no lease stays stuck.
TEST_F(LqsdTest, RepeatedSigkillsMidTrafficLoseNothing) {
  // An upper bound the producer never reaches: it runs until the kills end. (At 1 ms of sleep
  // per 8 sends it needs 250 s for these; 200,000 took 25 s, and under ASan on a slow host
  // the ten restarts once took longer, so the last kill found the traffic already over.)
  constexpr int kMessages = 2000000;
  struct Shared {
    std::atomic<int> acked{-1};
    std::atomic<int> stop_producing{0};
    std::atomic<int> stop{0};
    std::atomic<uint8_t> seen[kMessages];
  };
  void* mem =
      ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mem, MAP_FAILED);
  auto* sh = new (mem) Shared();
  pid_t d = start("k0", {"--config", config_});
  ASSERT_TRUE(wait_ready("k0")) << slurp(dir_ + "/k0.err");
  QueueLocation where;
  where.shm_root = root_.path();
  where.name = "orders";
  const pid_t producer = test::spawn([where, sh] {
    auto q = Queue::open(where);
    if (!q) return 2;
    for (int i = 0; i < kMessages && sh->stop_producing.load() == 0; ++i) {
      const std::string body = std::to_string(i);
      SendRequest r;
      r.body = body;
      while (!q->send(r)) std::this_thread::sleep_for(1ms);  // full: retry
      sh->acked.store(i);
      if (i % 8 == 0) std::this_thread::sleep_for(1ms);  // spread over the kills
    }
    return 0;
  });
  const pid_t consumer = test::spawn([where, sh] {
    auto q = Queue::open(where);
    if (!q) return 2;
    ReceiveBatch b;
    ReceiveOptions o;
    o.max_number_of_messages = 10;
    o.wait_time_s = 1;
    for (;;) {
      if (!q->receive(b, o)) return 3;
      if (b.count == 0 && sh->stop.load() != 0) return 0;
      for (size_t i = 0; i < b.count; ++i) {
        const int id = std::atoi(b.messages[i].body.c_str());
        if (id >= 0 && id < kMessages) sh->seen[id].store(1);
        if (!q->delete_message(b.messages[i].receipt_handle)) return 4;
      }
    }
  });
  for (int k = 1; k <= 10; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + 37 * k));
    ASSERT_EQ(::kill(d, SIGKILL), 0);
    (void)wait_exit(d);
    const std::string tag = "k" + std::to_string(k);
    d = start(tag, {"--config", config_});
    ASSERT_TRUE(wait_ready(tag)) << slurp(dir_ + "/" + tag + ".err");
  }
  sh->stop_producing.store(1);
  int st = test::wait_for(producer, 120s);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
  sh->stop.store(1);
  st = test::wait_for(consumer, 120s);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
  int missing = 0;
  for (int i = 0; i <= sh->acked.load(); ++i) missing += sh->seen[i].load() == 0 ? 1 : 0;
  EXPECT_GT(sh->acked.load(), 1000) << "messages flowed while lqsd was being killed";
  EXPECT_LT(sh->acked.load(), kMessages - 1) << "and still flowed at the last kill";
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(Queue::list(root_.path()), (std::vector<std::string>{"emails", "orders"}));
  const QueueCounts c = open_queue("orders").counts();
  EXPECT_EQ(c.visible + c.in_flight + c.delayed, 0u);
  (void)::kill(d, SIGTERM);
  EXPECT_EQ(wait_exit(d), 0);
  ::munmap(mem, sizeof(Shared));
}

TEST_F(LqsdTest, YamlQueueFilesWorkLikeJsonOnes) {
  const std::string yaml = dir_ + "/queues.yaml";
  std::ofstream(yaml) << R"(queues:
  - name: orders-dlq
  - name: orders
    attributes:
      VisibilityTimeout: 7
      RedrivePolicy:
        deadLetterTargetArn: arn:aws:sqs:us-east-1:000000000000:orders-dlq
        maxReceiveCount: 3
    tags:
      team: payments
)";
  const pid_t d = start("yaml", {"--config", yaml});
  ASSERT_TRUE(wait_ready("yaml")) << slurp(dir_ + "/yaml.err");
  EXPECT_EQ(open_queue("orders").attributes().visibility_timeout_s, 7);
  EXPECT_EQ(open_queue("orders").redrive_policy(), (RedrivePolicy{"orders-dlq", 3}));
  EXPECT_NE(slurp(dir_ + "/data/queues/orders.json").find("\"team\": \"payments\""),
            std::string::npos);
  (void)::kill(d, SIGTERM);
  EXPECT_EQ(wait_exit(d), 0);
  std::ofstream(yaml) << "queues: [ {name: a\n";  // unterminated
  const pid_t bad = start("badyaml", {"--config", yaml});
  const int st = wait_exit(bad);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 1);
  EXPECT_NE(slurp(dir_ + "/badyaml.err").find("not valid YAML"), std::string::npos)
      << slurp(dir_ + "/badyaml.err");
}

// The SQS control actions in the JSON 1.0 protocol, as an SDK sends them.
TEST_F(LqsdTest, SqsJsonControlActionsWithSqsErrors) {
  const pid_t d = start("api");
  ASSERT_TRUE(wait_ready("api")) << slurp(dir_ + "/api.err");
  const int port = ready_port(slurp(dir_ + "/api.out"));
  auto call = [&](const std::string& action, const std::string& body) {
    return http_exchange(port, "POST / HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                                   "\r\nX-Amz-Target: AmazonSQS." + action +
                                   "\r\nContent-Type: application/x-amz-json-1.0\r\n"
                                   "Content-Length: " +
                                   std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
                                   body);
  };
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/000000000000/jobs";
  std::string r =
      call("CreateQueue",
           R"({"QueueName":"jobs","Attributes":{"VisibilityTimeout":"45"},"tags":{"team":"a"}})");
  EXPECT_NE(r.find("HTTP/1.1 200"), std::string::npos) << r;
  EXPECT_NE(r.find(R"({"QueueUrl":")" + url + R"("})"), std::string::npos) << r;
  r = call("CreateQueue", R"({"QueueName":"jobs","Attributes":{"VisibilityTimeout":"46"}})");
  EXPECT_NE(r.find("HTTP/1.1 400"), std::string::npos) << r;
  EXPECT_NE(r.find("x-amzn-query-error: QueueAlreadyExists;Sender"), std::string::npos) << r;
  EXPECT_NE(r.find(R"("__type":"com.amazonaws.sqs#QueueNameExists")"), std::string::npos) << r;
  r = call("GetQueueUrl", R"({"QueueName":"nope"})");
  EXPECT_NE(r.find("AWS.SimpleQueueService.NonExistentQueue;Sender"), std::string::npos) << r;
  r = call("ListQueues", R"({"QueueNamePrefix":"jo"})");
  EXPECT_NE(r.find(R"({"QueueUrls":[")" + url + R"("]})"), std::string::npos) << r;
  r = call("GetQueueAttributes",
           R"({"QueueUrl":")" + url + R"(","AttributeNames":["VisibilityTimeout","QueueArn"]})");
  EXPECT_NE(r.find(R"("VisibilityTimeout":"45")"), std::string::npos) << r;
  EXPECT_NE(r.find(R"("QueueArn":"arn:aws:sqs:us-east-1:000000000000:jobs")"), std::string::npos);
  r = call("SetQueueAttributes",
           R"({"QueueUrl":")" + url + R"(","Attributes":{"DelaySeconds":"901"}})");
  EXPECT_NE(r.find("x-amzn-query-error: InvalidAttributeValue;Sender"), std::string::npos) << r;
  r = call("ListQueueTags", R"({"QueueUrl":")" + url + R"("})");
  EXPECT_NE(r.find(R"({"Tags":{"team":"a"}})"), std::string::npos) << r;
  r = call("PurgeQueue", R"({"QueueUrl":")" + url + R"("})");
  EXPECT_NE(r.find("HTTP/1.1 200"), std::string::npos) << r;
  r = call("PurgeQueue", R"({"QueueUrl":")" + url + R"("})");
  EXPECT_NE(r.find("HTTP/1.1 403"), std::string::npos) << r;
  EXPECT_NE(r.find("AWS.SimpleQueueService.PurgeQueueInProgress;Sender"), std::string::npos);
  r = call("FlyAway", "{}");
  EXPECT_NE(r.find("x-amzn-query-error: InvalidAction;Sender"), std::string::npos) << r;
  r = call("CreateQueue", "{not json");
  EXPECT_NE(r.find("HTTP/1.1 400"), std::string::npos) << r;
  r = call("CreateQueue", "{}");
  EXPECT_NE(r.find("The request must contain the parameter QueueName."), std::string::npos) << r;
  r = call("StartMessageMoveTask", R"({"SourceArn":"arn:aws:sqs:us-east-1:000000000000:jobs"})");
  EXPECT_NE(r.find("Source queue must be configured as a Dead Letter Queue."), std::string::npos)
      << r;
  r = call("DeleteQueue", R"({"QueueUrl":")" + url + R"("})");
  EXPECT_NE(r.find("HTTP/1.1 200"), std::string::npos) << r;
  r = call("CreateQueue", R"({"QueueName":"jobs"})");
  EXPECT_NE(r.find("AWS.SimpleQueueService.QueueDeletedRecently;Sender"), std::string::npos) << r;
  (void)::kill(d, SIGTERM);
  EXPECT_EQ(wait_exit(d), 0);
}

TEST_F(LqsdTest, KilledDaemonRestartsAdoptsMessagesAndReapsLeasesNobodyPolls) {
  pid_t d = start("a", {"--config", config_});
  ASSERT_TRUE(wait_ready("a")) << slurp(dir_ + "/a.err");
  Queue q = open_queue("orders");
  SendRequest r;
  r.body = "job";
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(q.send(r));
  ReceiveBatch b;
  ReceiveOptions o;
  o.max_number_of_messages = 10;
  ASSERT_TRUE(q.receive(b, o));
  ASSERT_EQ(b.count, 10u);  // leased for 2 s and never deleted
  ASSERT_EQ(::kill(d, SIGKILL), 0);
  (void)wait_exit(d);
  d = start("b", {"--config", config_});
  ASSERT_TRUE(wait_ready("b")) << slurp(dir_ + "/b.err");
  QueueCounts c = q.counts();
  EXPECT_EQ(c.visible + c.in_flight, 100u);
  // With no receiver at all, the daemon's reaper makes the 10 leased messages visible again.
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (slurp(dir_ + "/b.err").find("leases_expired=10") == std::string::npos &&
         std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_NE(slurp(dir_ + "/b.err").find("leases_expired=10"), std::string::npos)
      << slurp(dir_ + "/b.err");
  // Every message is still there, and can be received and deleted.
  size_t got = 0;
  o.wait_time_s = 0;
  while (got < 100) {
    ASSERT_TRUE(q.receive(b, o));
    if (b.count == 0) break;
    for (size_t i = 0; i < b.count; ++i) {
      EXPECT_EQ(b.messages[i].body, "job");
      ASSERT_TRUE(q.delete_message(b.messages[i].receipt_handle));
    }
    got += b.count;
  }
  EXPECT_EQ(got, 100u);
  EXPECT_EQ(Queue::list(root_.path()).size(), 2u);  // no duplicate queue
  (void)::kill(d, SIGTERM);
  EXPECT_EQ(wait_exit(d), 0);
}

}  // namespace
}  // namespace lqs

namespace lqs {
namespace {

// A raw JSON-protocol call on a fresh connection.
std::string sqs_call(int port, const std::string& action, const std::string& body,
                     const std::string& extra_headers = "") {
  return http_exchange(port, "POST / HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                                 "\r\nX-Amz-Target: AmazonSQS." + action +
                                 "\r\nContent-Type: application/x-amz-json-1.0\r\n" +
                                 extra_headers + "Content-Length: " + std::to_string(body.size()) +
                                 "\r\nConnection: close\r\n\r\n" + body);
}

// The string value of `"key":"` in `r`, or "".
std::string field(const std::string& r, const std::string& key, size_t from = 0) {
  const std::string k = "\"" + key + "\":\"";
  const auto at = r.find(k, from);
  if (at == std::string::npos) return {};
  const auto end = r.find('"', at + k.size());
  return r.substr(at + k.size(), end - at - k.size());
}

size_t count_of(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

// SendMessage, ReceiveMessage, DeleteMessage and the batches over the JSON protocol, with
// the digests SDKs check (values computed by SQS's algorithm, SQS_REFERENCE §5.3) and SQS's
// errors.
TEST_F(LqsdTest, SqsMessageActionsWithDigestsAndErrors) {
  const pid_t d = start("msg", {"--config", config_});
  ASSERT_TRUE(wait_ready("msg")) << slurp(dir_ + "/msg.err");
  const int port = ready_port(slurp(dir_ + "/msg.out"));
  const std::string q =
      R"("QueueUrl":"http://127.0.0.1:)" + std::to_string(port) + R"(/000000000000/emails")";
  // md5("hello") and the attribute digest boto3 computes for {a: String v, b: Binary 0001}.
  std::string r = sqs_call(port, "SendMessage",
                           "{" + q +
                               R"(,"MessageBody":"hello","MessageAttributes":{"a":{"DataType":)"
                               R"("String","StringValue":"v"},"b":{"DataType":"Binary",)"
                               R"("BinaryValue":"AAE="}}})");
  EXPECT_NE(r.find("HTTP/1.1 200"), std::string::npos) << r;
  EXPECT_EQ(field(r, "MD5OfMessageBody"), "5d41402abc4b2a76b9719d911017c592") << r;
  EXPECT_EQ(field(r, "MD5OfMessageAttributes"), "f3eef722b9e535eb41b93a467449512d") << r;
  const std::string id = field(r, "MessageId");
  ASSERT_EQ(id.size(), 36u) << r;
  {
    // One queue, two doors: the HTTP client's message, seen through shared memory from this
    // process, has the same id, body, attributes and digests; visibility 0 puts it back.
    Queue shm = open_queue("emails");
    ReceiveBatch b;
    ReceiveOptions o;
    o.message_attribute_names = {"All"};
    o.visibility_timeout_s = 0;
    o.compute_md5 = true;
    ASSERT_TRUE(shm.receive(b, o));
    ASSERT_EQ(b.count, 1u);
    EXPECT_EQ(b.messages[0].message_id.to_string(), id);
    EXPECT_EQ(b.messages[0].body, "hello");
    ASSERT_EQ(b.messages[0].attributes.size(), 2u);
    EXPECT_EQ(b.messages[0].attributes[1].value, std::string("\x00\x01", 2));
    EXPECT_EQ(b.messages[0].md5_of_message_attributes->to_hex(),
              "f3eef722b9e535eb41b93a467449512d");
  }
  r = sqs_call(port, "ReceiveMessage",
               "{" + q +
                   R"(,"AttributeNames":["SentTimestamp"],"MessageSystemAttributeNames":)"
                   R"(["ApproximateReceiveCount"],"MessageAttributeNames":["a"]})");
  EXPECT_EQ(field(r, "MessageId"), id) << r;
  EXPECT_EQ(field(r, "Body"), "hello") << r;
  EXPECT_EQ(field(r, "ApproximateReceiveCount"), "2") << r;  // once through shm above
  EXPECT_FALSE(field(r, "SentTimestamp").empty()) << r;
  EXPECT_TRUE(field(r, "SenderId").empty()) << r;  // not asked for
  // The digest covers only the attribute returned (a), not the one filtered out (b).
  EXPECT_NE(field(r, "MD5OfMessageAttributes"), "f3eef722b9e535eb41b93a467449512d") << r;
  EXPECT_EQ(r.find("\"b\":"), std::string::npos) << r;
  const std::string handle = field(r, "ReceiptHandle");
  ASSERT_FALSE(handle.empty()) << r;
  r = sqs_call(port, "ChangeMessageVisibility",
               "{" + q + R"(,"ReceiptHandle":")" + handle + R"(","VisibilityTimeout":43201})");
  EXPECT_NE(r.find("InvalidParameterValue"), std::string::npos) << r;
  r = sqs_call(port, "DeleteMessage", "{" + q + R"(,"ReceiptHandle":")" + handle + R"("})");
  EXPECT_NE(r.find("HTTP/1.1 200"), std::string::npos) << r;
  r = sqs_call(port, "ReceiveMessage", "{" + q + "}");
  EXPECT_TRUE(r.ends_with("\r\n\r\n{}")) << r;  // an empty receive is {}

  // A batch with one bad entry: the others are sent, the bad one is reported.
  r = sqs_call(
      port, "SendMessageBatch",
      "{" + q +
          R"(,"Entries":[{"Id":"a","MessageBody":"one"},{"Id":"b","MessageBody":"\u0000"},)"
          R"({"Id":"c","MessageBody":"three","DelaySeconds":1000}]})");
  EXPECT_NE(r.find("HTTP/1.1 200"), std::string::npos) << r;
  EXPECT_EQ(count_of(r, "\"MessageId\""), 1u) << r;
  EXPECT_NE(r.find(R"("Code":"InvalidMessageContents","Id":"b")"), std::string::npos) << r;
  EXPECT_NE(r.find(R"("Code":"InvalidParameterValue","Id":"c")"), std::string::npos) << r;
  EXPECT_NE(r.find(R"("SenderFault":true)"), std::string::npos) << r;
  r = sqs_call(port, "ReceiveMessage", "{" + q + R"(,"MaxNumberOfMessages":10})");
  const std::string h1 = field(r, "ReceiptHandle");
  EXPECT_EQ(field(r, "Body"), "one") << r;
  r = sqs_call(port, "DeleteMessageBatch",
               "{" + q + R"(,"Entries":[{"Id":"x","ReceiptHandle":")" + h1 +
                   R"("},{"Id":"y","ReceiptHandle":"garbage"}]})");
  EXPECT_NE(r.find(R"("Successful":[{"Id":"x"}])"), std::string::npos) << r;
  EXPECT_NE(r.find(R"("Code":"ReceiptHandleIsInvalid","Id":"y")"), std::string::npos) << r;

  struct Case {
    const char* action;
    std::string body;
    const char* status;
    const char* code;
  };
  const std::string ten = [] {
    std::string e;
    for (int i = 0; i < 11; ++i)
      e +=
          std::string(i ? "," : "") + R"({"Id":"e)" + std::to_string(i) + R"(","MessageBody":"x"})";
    return e;
  }();
  const std::vector<Case> cases = {
      {"SendMessage", "{" + q + "}", "400", "MissingParameter"},
      {"SendMessage", "{" + q + R"(,"MessageBody":""})", "400", "MissingParameter"},
      {"SendMessage", R"({"QueueUrl":"http://x/000000000000/nope","MessageBody":"x"})", "400",
       "AWS.SimpleQueueService.NonExistentQueue"},
      {"SendMessage", "{" + q + R"(,"MessageBody":"x","DelaySeconds":901})", "400",
       "InvalidParameterValue"},
      {"SendMessage", "{" + q + R"(,"MessageBody":"x","DelaySeconds":"5"})", "400",
       "InvalidParameterValue"},
      {"SendMessage", "{" + q + R"(,"MessageBody":")" + std::string(2049, 'x') + R"("})", "400",
       "InvalidParameterValue"},
      {"SendMessage",
       "{" + q +
           R"(,"MessageBody":"x","MessageAttributes":{"AWS.x":{"DataType":"String",)"
           R"("StringValue":"v"}}})",
       "400", "InvalidParameterValue"},
      {"SendMessage", "{" + q + R"(,"MessageBody":"x","MessageDeduplicationId":"d"})", "400",
       "InvalidParameterValue"},
      {"ReceiveMessage", "{" + q + R"(,"MaxNumberOfMessages":11})", "400", "InvalidParameterValue"},
      {"ReceiveMessage", "{" + q + R"(,"WaitTimeSeconds":21})", "400", "InvalidParameterValue"},
      {"ReceiveMessage", "{" + q + R"(,"VisibilityTimeout":43201})", "400",
       "InvalidParameterValue"},
      {"DeleteMessage", "{" + q + R"(,"ReceiptHandle":"garbage"})", "404",
       "ReceiptHandleIsInvalid"},
      {"DeleteMessage", "{" + q + "}", "400", "MissingParameter"},
      {"ChangeMessageVisibility", "{" + q + R"(,"ReceiptHandle":"garbage"})", "400",
       "MissingParameter"},
      {"SendMessageBatch", "{" + q + R"(,"Entries":[]})", "400",
       "AWS.SimpleQueueService.EmptyBatchRequest"},
      {"SendMessageBatch", "{" + q + R"(,"Entries":[)" + ten + "]}", "400",
       "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"},
      {"SendMessageBatch",
       "{" + q + R"(,"Entries":[{"Id":"a","MessageBody":"x"},{"Id":"a","MessageBody":"y"}]})",
       "400", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"},
      {"DeleteMessageBatch", "{" + q + R"(,"Entries":[{"Id":"a b","ReceiptHandle":"h"}]})", "400",
       "AWS.SimpleQueueService.InvalidBatchEntryId"},
      {"ChangeMessageVisibilityBatch", "{" + q + "}", "400",
       "AWS.SimpleQueueService.EmptyBatchRequest"},
  };
  for (const Case& c : cases) {
    r = sqs_call(port, c.action, c.body);
    EXPECT_NE(r.find(std::string("HTTP/1.1 ") + c.status), std::string::npos)
        << c.action << " " << c.body << "\n"
        << r;
    EXPECT_NE(r.find(std::string("x-amzn-query-error: ") + c.code + ";Sender"), std::string::npos)
        << c.action << " " << c.body << "\n"
        << r;
  }
  (void)::kill(d, SIGTERM);
  EXPECT_EQ(wait_exit(d), 0);
}

// Thousands of long polls over HTTP are held by lqsd without a thread each, and a send
// through shared memory from another process wakes them: every poll gets exactly one message.
// One queue, two doors: the message a C++ producer sent is what the HTTP client receives.
TEST_F(LqsdTest, ThousandsOfLongPollsWakeOnSharedMemorySends) {
  constexpr int kPolls = 2000;
  rlimit nofile{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &nofile), 0);
  if (nofile.rlim_max < kPolls + 100) GTEST_SKIP() << "RLIMIT_NOFILE hard limit too low";
  nofile.rlim_cur = nofile.rlim_max;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &nofile), 0);
  const pid_t d = start("lp", {"--config", config_});
  ASSERT_TRUE(wait_ready("lp")) << slurp(dir_ + "/lp.err");
  const int port = ready_port(slurp(dir_ + "/lp.out"));
  const std::string body = R"({"QueueUrl":"http://127.0.0.1:)" + std::to_string(port) +
                           R"(/000000000000/emails","WaitTimeSeconds":20,)"
                           R"("MessageAttributeNames":["All"]})";
  const std::string req =
      "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: "
      "AmazonSQS.ReceiveMessage\r\nContent-Type: application/x-amz-json-1.0"
      "\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  std::vector<int> fds;
  for (int i = 0; i < kPolls; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
    fds.push_back(fd);
  }
  // Wait until lqsd holds every poll, then look at its threads.
  const std::string metrics_req = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  long long waiting = -1;
  for (int i = 0; i < 500 && waiting != kPolls; ++i) {
    waiting = sample(http_exchange(port, metrics_req), "lqsd_long_polls_waiting");
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(waiting, kPolls);
  const std::string status = slurp("/proc/" + std::to_string(d) + "/status");
  const auto at = status.find("Threads:");
  ASSERT_NE(at, std::string::npos);
  const int threads = std::atoi(status.c_str() + at + 8);
  EXPECT_LE(threads, 8) << "a thread per long poll?";

  // A producer in another process (this one) sends through shared memory.
  Queue q = open_queue("emails");
  const auto t0 = std::chrono::steady_clock::now();
  const MessageAttribute attr{"origin", "String", "shm"};
  for (int i = 0; i < kPolls; ++i) {
    SendRequest s;
    const std::string b = "m" + std::to_string(i);
    s.body = b;
    s.attributes = std::span<const MessageAttribute>(&attr, 1);
    auto sent = q.send(s);
    ASSERT_TRUE(sent) << sent.error().message;
  }
  std::vector<std::string> bodies;
  for (const int fd : fds) {
    timeval tv{25, 0};
    (void)::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const std::string got = read_all(fd);
    EXPECT_EQ(count_of(got, "\"MessageId\""), 1u) << got;
    EXPECT_NE(got.find(R"("StringValue":"shm")"), std::string::npos) << got;
    bodies.push_back(field(got, "Body"));
  }
  const auto took = std::chrono::steady_clock::now() - t0;
  // Woken by the sends, not by the 20 s wait running out.
  EXPECT_LT(took, 15s);
  std::sort(bodies.begin(), bodies.end());
  EXPECT_EQ(std::unique(bodies.begin(), bodies.end()), bodies.end()) << "a message delivered twice";
  EXPECT_EQ(bodies.size(), static_cast<size_t>(kPolls));
  EXPECT_EQ(q.counts().visible, 0u);
  (void)::kill(d, SIGTERM);
  EXPECT_EQ(wait_exit(d), 0);
}

// Dead letters redriven back to their source by a move task at a set rate, over HTTP: 12
// messages at 4 per second take about 3 s (at least 2 s: the first second's quota goes at
// once), and every one is back in the source queue, none left in the dead-letter queue.
// Writes the work / work-dlq queue file, sends `n` messages over HTTP and receives them twice
// (zero visibility timeout), so that all `n` end in the dead-letter queue.
void dead_letter(int port, int n) {
  const std::string src = R"("QueueUrl":"http://127.0.0.1/000000000000/work")";
  for (int i = 0; i < n; ++i) {
    const std::string r = sqs_call(
        port, "SendMessage", "{" + src + R"(,"MessageBody":"job )" + std::to_string(i) + "\"}");
    ASSERT_NE(r.find("HTTP/1.1 200"), std::string::npos) << r;
  }
  for (int pass = 0; pass < 2; ++pass) {
    for (int i = 0; i < n; i += 10) {
      (void)sqs_call(port, "ReceiveMessage",
                     "{" + src + R"(,"MaxNumberOfMessages":10,"VisibilityTimeout":0})");
    }
  }
}

constexpr const char* kWorkQueues = R"({"queues": [
    {"name": "work-dlq"},
    {"name": "work", "attributes": {"RedrivePolicy":
      {"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:work-dlq",
       "maxReceiveCount": 1}}}]})";

TEST_F(LqsdTest, MoveTaskRedrivesDeadLettersBackAtItsRate) {
  std::ofstream(config_) << kWorkQueues;
  const pid_t d = start("mv", {"--config", config_});
  ASSERT_TRUE(wait_ready("mv")) << slurp(dir_ + "/mv.err");
  const int port = ready_port(slurp(dir_ + "/mv.out"));
  constexpr int kMessages = 12;
  dead_letter(port, kMessages);
  Queue dq = open_queue("work-dlq");
  Queue sq = open_queue("work");
  ASSERT_EQ(dq.counts().visible, static_cast<uint64_t>(kMessages));
  ASSERT_EQ(sq.counts().visible + sq.counts().in_flight, 0u);
  std::string r = sqs_call(
      port, "StartMessageMoveTask",
      R"({"SourceArn":"arn:aws:sqs:us-east-1:000000000000:work-dlq","MaxNumberOfMessagesPerSecond":4})");
  ASSERT_NE(r.find("TaskHandle"), std::string::npos) << r;
  const auto t0 = std::chrono::steady_clock::now();
  r = sqs_call(port, "StartMessageMoveTask",
               R"({"SourceArn":"arn:aws:sqs:us-east-1:000000000000:work-dlq"})");
  EXPECT_NE(r.find("There is already a task running"), std::string::npos) << r;
  std::string status;
  for (int i = 0; i < 300 && status != "COMPLETED"; ++i) {
    std::this_thread::sleep_for(50ms);
    r = sqs_call(port, "ListMessageMoveTasks",
                 R"({"SourceArn":"arn:aws:sqs:us-east-1:000000000000:work-dlq"})");
    status = field(r, "Status");
  }
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(status, "COMPLETED") << r;
  EXPECT_NE(r.find(R"("ApproximateNumberOfMessagesMoved":12)"), std::string::npos) << r;
  EXPECT_GE(took, 2s) << "the rate limit was not applied";
  EXPECT_EQ(dq.counts().visible + dq.counts().in_flight, 0u);
  EXPECT_EQ(sq.counts().visible, static_cast<uint64_t>(kMessages));
  (void)::kill(d, SIGTERM);
  EXPECT_EQ(wait_exit(d), 0);
}

// A running move task survives lqsd being SIGKILLed: the restarted daemon resumes it from
// <data_dir>/move_tasks.json and completes it; every message ends back in its source.
TEST_F(LqsdTest, MoveTaskResumesAfterLqsdIsKilled) {
  std::ofstream(config_) << kWorkQueues;
  pid_t d = start("mk", {"--config", config_});
  ASSERT_TRUE(wait_ready("mk")) << slurp(dir_ + "/mk.err");
  int port = ready_port(slurp(dir_ + "/mk.out"));
  constexpr int kMessages = 10;
  dead_letter(port, kMessages);
  const std::string arn = R"("SourceArn":"arn:aws:sqs:us-east-1:000000000000:work-dlq")";
  std::string r =
      sqs_call(port, "StartMessageMoveTask", "{" + arn + R"(,"MaxNumberOfMessagesPerSecond":3})");
  const std::string handle = field(r, "TaskHandle");
  ASSERT_FALSE(handle.empty()) << r;
  std::this_thread::sleep_for(1500ms);  // a few moved, most not
  (void)::kill(d, SIGKILL);
  (void)wait_exit(d);
  Queue dq = open_queue("work-dlq");
  const uint64_t left = dq.counts().visible + dq.counts().in_flight;
  ASSERT_GT(left, 0u) << "the task finished before the kill; nothing to resume";
  d = start("mk2", {"--config", config_});
  ASSERT_TRUE(wait_ready("mk2")) << slurp(dir_ + "/mk2.err");
  port = ready_port(slurp(dir_ + "/mk2.out"));
  r = sqs_call(port, "ListMessageMoveTasks", "{" + arn + "}");
  EXPECT_TRUE(field(r, "Status") == "RUNNING" || field(r, "Status") == "COMPLETED") << r;
  std::string status;
  for (int i = 0; i < 400 && status != "COMPLETED"; ++i) {
    std::this_thread::sleep_for(50ms);
    status = field(sqs_call(port, "ListMessageMoveTasks", "{" + arn + "}"), "Status");
  }
  ASSERT_EQ(status, "COMPLETED");
  // Nothing lost. A kill inside a move (after its receive, before its delete) leaves at most
  // one batch (<= 3 at this rate) leased in the dead-letter queue until its 30 s move lease
  // ends; everything else is back in the source.
  Queue sq = open_queue("work");
  EXPECT_GE(sq.counts().visible + dq.counts().visible + dq.counts().in_flight,
            static_cast<uint64_t>(kMessages));
  EXPECT_GE(sq.counts().visible, static_cast<uint64_t>(kMessages - 3));
  (void)::kill(d, SIGTERM);
  EXPECT_EQ(wait_exit(d), 0);
}

// A slow client (a request trickling in) neither blocks others nor keeps its connection past
// the idle timeout; a header over the limit gets 431.
TEST_F(LqsdTest, SlowClientsAreCutOffAndDoNotBlockOthers) {
  const pid_t d = start("slow", {"--http-idle-timeout", "1"});
  ASSERT_TRUE(wait_ready("slow")) << slurp(dir_ + "/slow.err");
  const int port = ready_port(slurp(dir_ + "/slow.out"));
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  const auto t0 = std::chrono::steady_clock::now();
  const std::string part = "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AmazonSQS.ListQueues\r\n";
  ASSERT_EQ(::send(fd, part.data(), part.size(), MSG_NOSIGNAL), static_cast<ssize_t>(part.size()));
  // Meanwhile others are served.
  EXPECT_NE(http_exchange(port, "GET /health HTTP/1.1\r\nConnection: close\r\n\r\n").find("ok"),
            std::string::npos);
  // The slow request is cut off: the server closes (recv returns 0 or an error).
  timeval tv{10, 0};
  (void)::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[256];
  const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  EXPECT_LE(n, 0) << std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 8s) << "not closed by the 1 s idle timeout";
  ::close(fd);
  const std::string huge =
      "GET /health HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\nConnection: close\r\n\r\n";
  EXPECT_NE(http_exchange(port, huge).find(" 431 "), std::string::npos);
  (void)::kill(d, SIGTERM);
  EXPECT_EQ(wait_exit(d), 0);
}

// Every control-plane validation error over HTTP, with SQS's code, status and message.
TEST_F(LqsdTest, EveryControlValidationErrorOverHttp) {
  const pid_t d = start("val", {"--config", config_});
  ASSERT_TRUE(wait_ready("val")) << slurp(dir_ + "/val.err");
  const int port = ready_port(slurp(dir_ + "/val.out"));
  const std::string o = R"("QueueUrl":"http://127.0.0.1/000000000000/orders")";
  const std::string arn = "arn:aws:sqs:us-east-1:000000000000:";
  struct Case {
    const char* action;
    std::string body;
    int status;
    const char* code;
    const char* message;  // a part of SQS's message
  };
  const std::vector<Case> cases = {
      {"CreateQueue", "{}", 400, "MissingParameter", "parameter QueueName"},
      {"CreateQueue", R"({"QueueName":"bad name"})", 400, "InvalidParameterValue",
       "Can only include alphanumeric characters, hyphens, or underscores"},
      {"CreateQueue", R"({"QueueName":")" + std::string(81, 'a') + R"("})", 400,
       "InvalidParameterValue", "1 to 80 in length"},
      {"CreateQueue", R"({"QueueName":"std.fifo"})", 400, "InvalidParameterValue", ""},
      {"CreateQueue", R"({"QueueName":"x","Attributes":{"Nope":"1"}})", 400, "InvalidAttributeName",
       "Unknown Attribute Nope."},
      {"CreateQueue", R"({"QueueName":"x","Attributes":{"FifoQueue":"false"}})", 400,
       "InvalidAttributeName", "Unknown Attribute FifoQueue."},
      {"CreateQueue", R"({"QueueName":"x","Attributes":{"ContentBasedDeduplication":"true"}})", 400,
       "InvalidAttributeName", ""},
      {"CreateQueue", R"({"QueueName":"x","Attributes":{"VisibilityTimeout":"43201"}})", 400,
       "InvalidAttributeValue", "VisibilityTimeout"},
      {"CreateQueue", R"({"QueueName":"x","Attributes":{"DelaySeconds":"-1"}})", 400,
       "InvalidAttributeValue", "DelaySeconds"},
      {"CreateQueue", R"({"QueueName":"x","Attributes":{"MaximumMessageSize":"1023"}})", 400,
       "InvalidAttributeValue", "MaximumMessageSize"},
      {"CreateQueue", R"({"QueueName":"x","Attributes":{"MessageRetentionPeriod":"59"}})", 400,
       "InvalidAttributeValue", "MessageRetentionPeriod"},
      {"CreateQueue", R"({"QueueName":"x","Attributes":{"ReceiveMessageWaitTimeSeconds":"21"}})",
       400, "InvalidAttributeValue", "ReceiveMessageWaitTimeSeconds"},
      {"CreateQueue", R"({"QueueName":"x","Attributes":{"VisibilityTimeout":"ten"}})", 400,
       "InvalidAttributeValue", ""},
      {"CreateQueue", R"({"QueueName":"orders","Attributes":{"VisibilityTimeout":"3"}})", 400,
       "QueueAlreadyExists", "different value for attribute VisibilityTimeout"},
      {"CreateQueue",
       R"({"QueueName":"x","Attributes":{"RedrivePolicy":"{\"deadLetterTargetArn\":\")" + arn +
           R"(nope\",\"maxReceiveCount\":3}"}})",
       400, "InvalidParameterValue", "Dead-letter target does not exist."},
      {"CreateQueue",
       R"({"QueueName":"x","Attributes":{"RedrivePolicy":"{\"deadLetterTargetArn\":\")" + arn +
           R"(emails\",\"maxReceiveCount\":1001}"}})",
       400, "InvalidParameterValue", ""},
      {"CreateQueue", R"({"QueueName":"x","Attributes":{"RedrivePolicy":"not json"}})", 400,
       "InvalidParameterValue", ""},
      {"CreateQueue",
       R"({"QueueName":"x","Attributes":{"RedriveAllowPolicy":"{\"redrivePermission\":\"maybe\"}"}})",
       400, "InvalidParameterValue", ""},
      {"GetQueueUrl", R"({"QueueName":"nope"})", 400, "AWS.SimpleQueueService.NonExistentQueue",
       "The specified queue does not exist."},
      {"ListQueues", R"({"MaxResults":0})", 400, "InvalidParameterValue", "MaxResults"},
      {"ListQueues", R"({"MaxResults":1001})", 400, "InvalidParameterValue", "MaxResults"},
      {"ListQueues", R"({"MaxResults":5,"NextToken":"%%%"})", 400, "InvalidParameterValue", ""},
      {"GetQueueAttributes", "{" + o + R"(,"AttributeNames":["Foobar"]})", 400,
       "InvalidAttributeName", "Unknown Attribute Foobar."},
      {"GetQueueAttributes", R"({"QueueUrl":"http://h/000000000000/nope"})", 400,
       "AWS.SimpleQueueService.NonExistentQueue", ""},
      {"SetQueueAttributes", "{" + o + R"(,"Attributes":{"FifoQueue":"true"}})", 400,
       "InvalidAttributeName", "Unknown Attribute FifoQueue."},
      {"SetQueueAttributes", "{" + o + R"(,"Attributes":{"QueueArn":"x"}})", 400,
       "InvalidAttributeName", ""},
      {"SetQueueAttributes", "{" + o + R"(,"Attributes":{"VisibilityTimeout":"-5"}})", 400,
       "InvalidAttributeValue", ""},
      {"TagQueue", "{" + o + R"(,"Tags":{"aws:x":"1"}})", 400, "InvalidParameterValue", ""},
      {"TagQueue", "{" + o + R"(,"Tags":{"k":")" + std::string(257, 'v') + R"("}})", 400,
       "InvalidParameterValue", ""},
      {"AddPermission",
       "{" + o +
           R"(,"Label":"bad label","AWSAccountIds":["111122223333"],"Actions":["SendMessage"]})",
       400, "InvalidParameterValue", ""},
      {"AddPermission",
       "{" + o +
           R"(,"Label":"l","AWSAccountIds":["111122223333"],"Actions":["a","b","c","d","e","f","g","h"]})",
       403, "OverLimit", ""},
      {"RemovePermission", "{" + o + R"(,"Label":"missing"})", 400, "InvalidParameterValue",
       "can't find label"},
      {"ListDeadLetterSourceQueues", "{" + o + R"(,"MaxResults":1001})", 400,
       "InvalidParameterValue", ""},
      {"StartMessageMoveTask", R"({"SourceArn":")" + arn + R"(orders"})", 400,
       "InvalidParameterValue", "Source queue must be configured as a Dead Letter Queue."},
      {"StartMessageMoveTask", R"({"SourceArn":")" + arn + R"(nope"})", 404,
       "ResourceNotFoundException", ""},
      {"StartMessageMoveTask",
       R"({"SourceArn":")" + arn + R"(orders","MaxNumberOfMessagesPerSecond":501})", 400,
       "InvalidParameterValue", ""},
      {"CancelMessageMoveTask", R"({"TaskHandle":"nonsense"})", 400, "InvalidParameterValue",
       "Value for parameter TaskHandle is invalid."},
      {"ListMessageMoveTasks", R"({"SourceArn":")" + arn + R"(orders","MaxResults":11})", 400,
       "InvalidParameterValue", ""},
      {"DeleteQueue", R"({"QueueUrl":"http://h/000000000000/nope"})", 400,
       "AWS.SimpleQueueService.NonExistentQueue", ""},
      {"PurgeQueue", "{}", 400, "MissingParameter", "parameter QueueUrl"},
  };
  for (const Case& c : cases) {
    const std::string r = sqs_call(port, c.action, c.body);
    EXPECT_NE(r.find("HTTP/1.1 " + std::to_string(c.status)), std::string::npos)
        << c.action << " " << c.body << "\n"
        << r;
    EXPECT_NE(r.find(std::string("x-amzn-query-error: ") + c.code + ";Sender"), std::string::npos)
        << c.action << " " << c.body << "\n"
        << r;
    EXPECT_NE(r.find(c.message), std::string::npos) << c.action << " " << c.body << "\n" << r;
  }
  (void)::kill(d, SIGTERM);
  EXPECT_EQ(wait_exit(d), 0);
}

// Issue 6's reboot loop. Producers send with LqsDurability=sync, through shared memory (a
// child process) and over HTTP, while lqsd is SIGKILLed together with every client and the
// shm root is wiped: a reboot. After each restart every acknowledged send is present with
// its checksum intact, every durably deleted message stays deleted, and FIFO order holds.
namespace reboot {
uint64_t fnv(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}
// "<kind>:<round>:<i>:<group>|<fnv of what precedes the bar>"
std::string body(char kind, int round, int i, int group) {
  std::string b = std::string(1, kind) + ":" + std::to_string(round) + ":" + std::to_string(i) +
                  ":" + std::to_string(group);
  return b + "|" + std::to_string(fnv(b));
}
bool intact(const std::string& b) {
  const auto bar = b.rfind('|');
  return bar != std::string::npos && std::to_string(fnv(b.substr(0, bar))) == b.substr(bar + 1);
}
// The bodies a queue holds, in its order (SequenceNumber order for FIFO).
std::vector<std::string> bodies(Queue& q) {
  std::vector<std::string> out;
  q.snapshot([&](const Queue::StoredMessage& m) {
    uint32_t len = 0;
    std::memcpy(&len, m.record.data() + 16, 4);  // RecordHeader::body_len
    out.emplace_back(m.record.substr(32, len));
  });
  return out;
}
constexpr int kRounds = 6;
constexpr int kPerRound = 100000;
struct Acked {
  std::atomic<int> shm[kRounds];   // sends acknowledged through shared memory, as a prefix
  std::atomic<int> fifo[kRounds];  // the same for the FIFO queue
};
}  // namespace reboot

TEST_F(LqsdTest, RebootLoopKeepsEveryAcknowledgedSyncSend) {
  using reboot::Acked;
  std::ofstream(config_) << R"({"queues": [
    {"name": "ledger", "attributes": {"LqsDurability": "sync"}},
    {"name": "ledger.fifo", "attributes": {"FifoQueue": "true", "LqsDurability": "sync"}}]})";
  void* mem =
      ::mmap(nullptr, sizeof(Acked), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mem, MAP_FAILED);
  auto* acked = new (mem) Acked();
  std::set<std::string> expect;        // acknowledged and not deleted
  std::set<std::string> deleted;       // deleted, and the delete known to be on disk
  std::vector<std::string> fifo_seen;  // FIFO bodies acknowledged, all rounds
  std::mt19937 rng(7);
  for (int round = 0; round < reboot::kRounds; ++round) {
    const std::string tag = "rb" + std::to_string(round);
    const pid_t d = start(tag, {"--config", config_});
    ASSERT_TRUE(wait_ready(tag)) << slurp(dir_ + "/" + tag + ".err");
    const int port = ready_port(slurp(dir_ + "/" + tag + ".out"));
    // 1. What the previous rounds acknowledged is all there, intact; deletes held.
    Queue ledger = open_queue("ledger");
    Queue fifo = open_queue("ledger.fifo");
    const std::vector<std::string> have = reboot::bodies(ledger);
    const std::set<std::string> have_set(have.begin(), have.end());
    int missing = 0;
    for (const auto& b : expect) missing += have_set.contains(b) ? 0 : 1;
    EXPECT_EQ(missing, 0) << "round " << round;
    for (const auto& b : have) {
      EXPECT_TRUE(reboot::intact(b)) << b;
      EXPECT_FALSE(deleted.contains(b)) << "deleted message came back: " << b;
    }
    const std::vector<std::string> fifo_have = reboot::bodies(fifo);
    std::map<int, int> last_in_group;  // group → last (round*kPerRound + i) seen
    for (const auto& b : fifo_have) {
      int r = 0, i = 0, g = 0;
      ASSERT_EQ(std::sscanf(b.c_str(), "f:%d:%d:%d|", &r, &i, &g), 3) << b;
      const int at = r * reboot::kPerRound + i;
      EXPECT_GT(at, last_in_group.count(g) ? last_in_group[g] : -1) << "FIFO order: " << b;
      last_in_group[g] = at;
    }
    const std::set<std::string> fifo_set(fifo_have.begin(), fifo_have.end());
    for (const auto& b : fifo_seen) EXPECT_TRUE(fifo_set.contains(b)) << "lost FIFO " << b;
    if (HasFailure()) break;
    // 2. Delete a few, and wait until lqsd has the deletes on disk.
    ReceiveOptions o;
    o.max_number_of_messages = 10;
    for (int k = 0; k < 3; ++k) {
      ReceiveBatch b;
      ASSERT_TRUE(ledger.receive(b, o));
      for (size_t i = 0; i < b.count; ++i) {
        ASSERT_TRUE(ledger.delete_message(b.messages[i].receipt_handle));
        deleted.insert(b.messages[i].body);
        expect.erase(b.messages[i].body);
      }
    }
    const uint64_t tail = ledger.journal_tail();
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (ledger.journal_head() < tail && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(1ms);
    }
    ASSERT_GE(ledger.journal_head(), tail) << "lqsd did not log the deletes";
    // 3. Traffic: a shared-memory producer process and an HTTP producer thread.
    QueueLocation lw;
    lw.shm_root = root_.path();
    lw.name = "ledger";
    const pid_t producer = test::spawn([lw, acked, round] {
      QueueLocation fw = lw;
      fw.name = "ledger.fifo";
      auto l = Queue::open(lw);
      auto f = Queue::open(fw);
      if (!l || !f) return 2;
      SendOptions so;
      so.durability_timeout_ms = 2000;
      for (int i = 0; i < reboot::kPerRound; ++i) {
        const std::string b = reboot::body('s', round, i, 0);
        SendRequest r;
        r.body = b;
        if (!l->send(r, so)) return 3;
        acked->shm[round].store(i + 1);
        const std::string fb = reboot::body('f', round, i, i % 4);
        const std::string group = "g" + std::to_string(i % 4);
        SendRequest fr;
        fr.body = fb;
        fr.message_group_id = group;
        fr.message_deduplication_id = fb.substr(0, fb.find('|'));
        if (!f->send(fr, so)) return 4;
        acked->fifo[round].store(i + 1);
      }
      return 0;
    });
    std::atomic<bool> stop_http{false};
    std::vector<std::string> http_acked;
    std::thread http([&] {
      for (int i = 0; !stop_http.load(); ++i) {
        const std::string b = reboot::body('h', round, i, 0);
        const std::string r = sqs_call(
            port, "SendMessage",
            R"({"QueueUrl":"http://127.0.0.1/000000000000/ledger","MessageBody":")" + b + R"("})");
        if (r.find("HTTP/1.1 200") == 0) http_acked.push_back(b);
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + rng() % 250));
    // 4. The reboot: lqsd and every client die at once; the shm root is lost.
    (void)::kill(d, SIGKILL);
    (void)::kill(producer, SIGKILL);
    stop_http.store(true);
    http.join();
    (void)wait_exit(d);
    (void)test::wait_for(producer, 10s);
    for (const auto& f : fs::directory_iterator(root_.path())) fs::remove_all(f.path());
    for (int i = 0; i < acked->shm[round].load(); ++i)
      expect.insert(reboot::body('s', round, i, 0));
    for (int i = 0; i < acked->fifo[round].load(); ++i) {
      fifo_seen.push_back(reboot::body('f', round, i, i % 4));
    }
    for (const auto& b : http_acked) expect.insert(b);
    EXPECT_GT(acked->shm[round].load() + static_cast<int>(http_acked.size()), 0)
        << "no traffic in round " << round;
  }
  RecordProperty("acknowledged_sends_kept", static_cast<int>(expect.size()));
  ::munmap(mem, sizeof(Acked));
}

// A log damaged in the middle is never silently dropped: lqsd refuses to start and says where.
TEST_F(LqsdTest, ALogCorruptedInTheMiddleStopsLqsdWithAClearMessage) {
  std::ofstream(config_)
      << R"({"queues": [{"name": "c", "attributes": {"LqsDurability": "sync"}}]})";
  const pid_t d = start("c0", {"--config", config_});
  ASSERT_TRUE(wait_ready("c0")) << slurp(dir_ + "/c0.err");
  Queue q = open_queue("c");
  for (int i = 0; i < 20; ++i) {
    SendRequest r;
    const std::string body = "record " + std::to_string(i);
    r.body = body;
    ASSERT_TRUE(q.send(r));
  }
  (void)::kill(d, SIGTERM);
  ASSERT_EQ(wait_exit(d), 0);
  std::string wal;
  for (const auto& f : fs::directory_iterator(dir_ + "/data/wal")) {
    if (f.path().extension() == ".log") wal = f.path();
  }
  ASSERT_FALSE(wal.empty());
  {
    std::fstream f(wal, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096 + 40);  // inside the first record (the file header takes 4 KiB)
    const char x = 0x5a;
    f.write(&x, 1);
  }
  const pid_t d2 = start("c1", {"--config", config_});
  const int st = wait_exit(d2);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) != 0) << st;
  const std::string err = slurp(dir_ + "/c1.err");
  EXPECT_NE(err.find("cannot open the write-ahead log"), std::string::npos) << err;
  EXPECT_NE(err.find(fs::path(wal).filename().string()), std::string::npos) << err;
}

#if defined(LQS_CRASH_POINTS)
// lqsd killed in the middle of a dead-letter move it makes for an HTTP ReceiveMessage (after
// the copy, before the delete): after a restart the message is in the dead-letter queue — and
// at worst in both — never in neither.
TEST_F(LqsdTest, LqsdKilledMidDeadLetterMoveLosesNothing) {
  std::ofstream(config_) << R"({"queues": [
    {"name": "p-dlq"},
    {"name": "p", "attributes": {"RedrivePolicy":
      {"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:p-dlq",
       "maxReceiveCount": 1}}}]})";
  const std::string src = R"("QueueUrl":"http://127.0.0.1/000000000000/p")";
  setenv("LQS_CRASH_AT", "dlq.after_copy:1", 1);
  const pid_t d = start("cr", {"--config", config_});
  unsetenv("LQS_CRASH_AT");
  ASSERT_TRUE(wait_ready("cr")) << slurp(dir_ + "/cr.err");
  int port = ready_port(slurp(dir_ + "/cr.out"));
  std::string r = sqs_call(port, "SendMessage", "{" + src + R"(,"MessageBody":"poison"})");
  const std::string id = field(r, "MessageId");
  ASSERT_FALSE(id.empty()) << r;
  r = sqs_call(port, "ReceiveMessage", "{" + src + R"(,"VisibilityTimeout":0})");
  ASSERT_EQ(field(r, "MessageId"), id) << r;
  r = sqs_call(port, "ReceiveMessage", "{" + src + "}");  // moves it: lqsd dies mid-move
  EXPECT_EQ(r.find("HTTP/1.1 200"), std::string::npos) << r;
  const int st = wait_exit(d);
  ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) << st;
  const pid_t d2 = start("cr2", {"--config", config_});
  ASSERT_TRUE(wait_ready("cr2")) << slurp(dir_ + "/cr2.err");
  port = ready_port(slurp(dir_ + "/cr2.out"));
  // In the dead-letter queue: the copy was made before the kill.
  r = sqs_call(port, "ReceiveMessage",
               R"({"QueueUrl":"http://127.0.0.1/000000000000/p-dlq","WaitTimeSeconds":5,)"
               R"("AttributeNames":["All"]})");
  EXPECT_EQ(field(r, "MessageId"), id) << r;
  EXPECT_EQ(field(r, "DeadLetterQueueSourceArn"), "arn:aws:sqs:us-east-1:000000000000:p") << r;
  // The source's copy, if the kill left one, moves again at its next receive: never lost.
  r = sqs_call(port, "ReceiveMessage", "{" + src + R"(,"WaitTimeSeconds":2})");
  EXPECT_TRUE(field(r, "MessageId").empty()) << r;
  (void)::kill(d2, SIGTERM);
  EXPECT_EQ(wait_exit(d2), 0);
}
#endif
}  // namespace
}  // namespace lqs
