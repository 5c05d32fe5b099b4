// Copyright lqs authors. lqs-durability-bench: lqs sends by durability mode, end to end.
//
//   lqs-durability-bench [--dir /var/tmp/lqs-durability-bench] [--seconds 3]
//                        [--producers 1,4,16,64] [--backend io_uring|pwrite] [--body 64]
//                        [--no-sync]   (lifecycle only)
//                        [--no-sync-lifecycle]   (memory and async lifecycles only)
//                        [--fill N]   (the async fill run's messages; 0 skips it)
//                        [--rate R]   (the lifecycle producer's offered sends/s; 0: flat out)
//
// In one process, as lqsd and its clients run: a Registry over a fresh shm root, lqsd's
// DurabilityAgent on its own thread writing the log to --dir (a real disk, not /dev/shm),
// and producer threads calling Queue::send.
//   sync    N producers, each send waits until its record is on disk: acks/s, p50/p99 of
//           the send call. Sends only (no consumer), like the raw harness's appends. Compare with
//           `lqs-wal-bench`'s raw group-commit harness (same record size, same N, same disk) run
//           next to it by bench/durability/run.sh.
//   lifecycle  1 producer sending and 1 consumer receiving + deleting in batches of 10,
//           for memory, async and sync queues: messages/s and the ratio to memory.
#include "lqs/queue.hpp"

#include "../ipc/histogram.hpp"
#include "daemon/durability.hpp"
#include "daemon/registry.hpp"
#include "durability/crc32c.hpp"
#include "durability/wal_format.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace lqs::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string dir = "/var/tmp/lqs-durability-bench";
  double seconds = 3.0;
  std::vector<int> producers = {1, 4, 16, 64};
  std::string backend = "io_uring";
  size_t body = 64;
  bool lifecycle_sync = true;  // --no-sync-lifecycle: memory and async lifecycles only
  uint64_t fill = 1'000'000;   // --fill N: messages of the async fill run (0: skip it)
  double rate = 0;             // --rate R: the lifecycle producer's sends/s (0: flat out)
};

std::vector<int> parse_list(const std::string& s) {
  std::vector<int> out;
  size_t at = 0;
  while (at <= s.size()) {
    const size_t comma = s.find(',', at);
    out.push_back(std::atoi(s.substr(at, comma - at).c_str()));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  return out;
}

// A fresh instance: shm root, data dir (log under --dir), registry, agent on its thread.
class Instance {
 public:
  Instance(const Options& o, const std::string& tag) {
    shm_root_ = "/dev/shm/lqs-durability-bench-" + std::to_string(::getpid()) + "-" + tag;
    data_dir_ = o.dir + "/" + tag;
    fs::remove_all(shm_root_);
    fs::remove_all(data_dir_);
    daemon::Instance inst;
    inst.shm_root = shm_root_;
    inst.data_dir = data_dir_;
    auto r = daemon::Registry::open(inst);
    if (!r) {
      std::fprintf(stderr, "lqs-durability-bench: %s\n", r.error().message.c_str());
      std::exit(1);
    }
    registry_ = std::move(r).value();
    daemon::DurabilityOptions d;
    d.wal_dir = data_dir_ + "/wal";
    d.backend = o.backend;
    auto a = daemon::DurabilityAgent::open(*registry_, d);
    if (!a) {
      std::fprintf(stderr, "lqs-durability-bench: %s\n", a.error().message.c_str());
      std::exit(1);
    }
    agent_ = std::move(a).value();
    backend_ = agent_->stats().backend;
    thread_ = std::thread([this] { agent_->run(stop_); });
  }
  ~Instance() {
    stop_ = true;
    thread_.join();
    agent_.reset();
    registry_.reset();
    fs::remove_all(shm_root_);
    fs::remove_all(data_dir_);
  }
  std::shared_ptr<Queue> create(const std::string& name, const std::string& durability,
                                uint32_t messages = 65536, uint64_t bytes = uint64_t{256} << 20) {
    daemon::AttributeMap a = {{"LqsDurability", durability},
                              {"LqsCapacityMessages", std::to_string(messages)},
                              {"LqsCapacityBytes", std::to_string(bytes)}};
    if (auto c = registry_->create_queue(name, a); !c) {
      std::fprintf(stderr, "lqs-durability-bench: %s\n", c.error().message.c_str());
      std::exit(1);
    }
    // Let the agent attach (it refreshes its queue list every 100 ms).
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    return registry_->queue(name);
  }
  const std::string& backend() const { return backend_; }
  daemon::DurabilityStats stats() const { return agent_->stats(); }
  // CPU seconds the agent's thread has used so far.
  double agent_cpu_s() const {
    clockid_t id{};
    timespec ts{};
    if (::pthread_getcpuclockid(const_cast<std::thread&>(thread_).native_handle(), &id) != 0 ||
        ::clock_gettime(id, &ts) != 0) {
      return 0;
    }
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
  }

 private:
  std::string shm_root_;
  std::string data_dir_;
  std::unique_ptr<daemon::Registry> registry_;
  std::unique_ptr<daemon::DurabilityAgent> agent_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::string backend_;
};

// Receives (batches of 10) and deletes until `stop`, counting messages in `done`.
void consume(Queue& q, const std::atomic<bool>& stop, std::atomic<uint64_t>& done) {
  ReceiveBatch b;
  ReceiveOptions ro;
  ro.max_number_of_messages = 10;
  ro.wait_time_s = 1;
  std::vector<std::string_view> hs;
  std::vector<Result<void>> out;
  while (!stop.load()) {
    if (!q.receive(b, ro) || b.count == 0) continue;
    hs.clear();
    for (size_t i = 0; i < b.count; ++i) hs.push_back(b.messages[i].receipt_handle);
    (void)q.delete_batch(hs, out);
    done.fetch_add(b.count, std::memory_order_relaxed);
  }
}

void run_sync(const Options& o, int producers) {
  Instance inst(o, "sync" + std::to_string(producers));
  // Sends only, as the raw harness's appends: a queue big enough for the whole run.
  auto q = inst.create("bench", "sync", 4194304, uint64_t{1} << 30);
  std::vector<LatencyHistogram> hist(static_cast<size_t>(producers));
  std::atomic<uint64_t> acks{0};
  std::atomic<uint64_t> errors{0};
  const auto t0 = Clock::now();
  const auto until = t0 + std::chrono::duration<double>(o.seconds);
  std::vector<std::thread> ts;
  for (int p = 0; p < producers; ++p) {
    ts.emplace_back([&, p] {
      const std::string body(o.body, 'x');
      SendRequest r;
      r.body = body;
      SendOptions so;
      so.durability_timeout_ms = 10'000;
      while (Clock::now() < until) {
        const auto s = Clock::now();
        if (q->send(r, so)) {
          hist[static_cast<size_t>(p)].record(
              std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - s).count());
          acks.fetch_add(1, std::memory_order_relaxed);
        } else {
          errors.fetch_add(1, std::memory_order_relaxed);
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  LatencyHistogram all;
  for (const auto& h : hist) all.merge(h);
  const daemon::DurabilityStats st = inst.stats();
  std::printf(
      "sync      producers=%-3d backend=%-8s acks/s=%9.0f p50_us=%7.1f p99_us=%8.1f "
      "fsyncs/s=%7.0f errors=%llu\n",
      producers, inst.backend().c_str(), static_cast<double>(acks.load()) / secs,
      static_cast<double>(all.percentile(0.50)) / 1000.0,
      static_cast<double>(all.percentile(0.99)) / 1000.0, static_cast<double>(st.syncs) / secs,
      static_cast<unsigned long long>(errors.load()));
}

struct Lifecycle {
  double rate = 0;  // messages/s received and deleted
  double secs = 0;
  uint64_t messages = 0;
  daemon::DurabilityStats stats;  // the agent's, at the end of the run
  double process_cpu_s = 0;       // every thread of the process (io_uring workers too)
  double agent_cpu_s = 0;         // the agent's thread alone
  std::string lag;                // LagProbe::summary()
};

double process_cpu_s() {
  timespec ts{};
  (void)::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// How long journaled events wait before lqsd has them on disk: every millisecond it notes
// the journal's tail, and when the durable head passes that ticket, records the time taken
// (to within the 1 ms sampling). Events an overflow kept out of the journal are not seen here:
// the snapshot that covers them comes with a later commit.
class LagProbe {
 public:
  explicit LagProbe(Queue& q) : q_(q), thread_([this] { run(); }) {}
  ~LagProbe() { stop(); }
  LagProbe(const LagProbe&) = delete;
  LagProbe& operator=(const LagProbe&) = delete;
  void stop() {
    if (!stop_.exchange(true)) thread_.join();
  }
  // "p50 / p99 / max ms", or "-" with no sample. REQUIRES: stop().
  [[nodiscard]] std::string summary() const {
    if (samples_ == 0) return "-";
    char buf[160];
    std::snprintf(buf, sizeof buf, "p50 %.1f ms, p99 %.1f ms, max %.1f ms (%llu samples)",
                  static_cast<double>(lags_.percentile(0.50)) / 1e6,
                  static_cast<double>(lags_.percentile(0.99)) / 1e6,
                  static_cast<double>(lags_.percentile(1.0)) / 1e6,
                  static_cast<unsigned long long>(samples_));
    return buf;
  }

 private:
  void run() {
    (void)::pthread_setname_np(::pthread_self(), "lag-probe");  // for top -H, chrt
    std::deque<std::pair<Clock::time_point, uint64_t>> pending;  // (when, ticket)
    bool last = false;
    while (!last) {
      last = stop_.load();  // one more look after stop: what became durable meanwhile
      const auto now = Clock::now();
      const uint64_t head = q_.journal_head();
      while (!pending.empty() && head > pending.front().second) {
        lags_.record(
            std::chrono::duration_cast<std::chrono::nanoseconds>(now - pending.front().first)
                .count());
        ++samples_;
        pending.pop_front();
      }
      const uint64_t tail = q_.journal_tail();
      if (tail > head && (pending.empty() || pending.back().second != tail - 1)) {
        pending.emplace_back(now, tail - 1);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  Queue& q_;
  std::atomic<bool> stop_{false};
  LatencyHistogram lags_;
  uint64_t samples_ = 0;
  std::thread thread_;  // last: started once the rest is built
};

Lifecycle run_lifecycle(const Options& o, const std::string& mode) {
  Instance inst(o, "life-" + mode);
  auto q = inst.create("life", mode);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> done{0};
  std::thread consumer([&] { consume(*q, stop, done); });
  const std::string body(o.body, 'x');
  SendRequest r;
  r.body = body;
  const double cpu0 = process_cpu_s();
  const double agent0 = inst.agent_cpu_s();
  std::optional<LagProbe> probe;
  if (mode == "async") probe.emplace(*q);
  const auto t0 = Clock::now();
  const auto until = t0 + std::chrono::duration<double>(o.seconds);
  uint64_t sent = 0;
  for (auto now = t0; now < until; now = Clock::now()) {
    if (o.rate > 0 &&
        std::chrono::duration<double>(now - t0).count() * o.rate < static_cast<double>(sent)) {
      continue;  // paced: ahead of the offered rate
    }
    if (q->send(r)) {
      ++sent;
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(50));  // full: the consumer catches up
    }
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  stop = true;
  consumer.join();
  std::string lag;
  if (probe) {
    probe->stop();
    lag = probe->summary();
  }
  Lifecycle l;
  l.secs = secs;
  l.messages = done.load();
  l.rate = static_cast<double>(l.messages) / secs;
  l.stats = inst.stats();
  l.process_cpu_s = process_cpu_s() - cpu0;
  l.agent_cpu_s = inst.agent_cpu_s() - agent0;
  l.lag = lag;
  return l;
}

// One producer filling an async queue with `n` messages and no consumer: the log must keep
// up with a queue that grows (a journal overflow is answered with a snapshot of the whole
// queue, so overflowing here costs far more than in the lifecycle run).
void run_async_fill(const Options& o, uint64_t n) {
  Instance inst(o, "fill");
  const uint64_t slots = std::max<uint64_t>(1024, uint64_t{1} << (64 - __builtin_clzll(n)));
  auto q = inst.create("fill", "async", static_cast<uint32_t>(std::min<uint64_t>(slots, 1u << 24)),
                       std::max<uint64_t>(uint64_t{1} << 30, n * (o.body + 256)));
  if (n > (uint64_t{1} << 24)) {
    std::fprintf(stderr, "lqs-durability-bench: --fill is at most 16777216\n");
    std::exit(2);
  }
  const std::string body(o.body, 'x');
  SendRequest r;
  r.body = body;
  const double agent0 = inst.agent_cpu_s();
  LagProbe probe(*q);
  const auto t0 = Clock::now();
  uint64_t sent = 0;
  while (sent < n) {
    auto s = q->send(r);
    if (!s) {
      std::fprintf(stderr, "lqs-durability-bench: async fill: %s\n", s.error().message.c_str());
      std::exit(1);
    }
    ++sent;
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  // Wait for the log to catch up (the agent's commit moves the journal head to the tail).
  const auto t1 = Clock::now();
  while (q->journal_head() < q->journal_tail() && Clock::now() - t1 < std::chrono::seconds(30)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const double catch_up = std::chrono::duration<double>(Clock::now() - t1).count();
  probe.stop();
  const daemon::DurabilityStats st = inst.stats();
  std::printf(
      "async fill: %llu messages in %.2f s = %.0f msgs/s, log caught up %.3f s later; "
      "%.0f MB written (%.0f B/message), %llu events, %llu snapshots, agent CPU %.2f s\n",
      static_cast<unsigned long long>(n), secs, static_cast<double>(n) / secs, catch_up,
      static_cast<double>(st.wal_bytes) / 1e6,
      static_cast<double>(st.wal_bytes) / static_cast<double>(n),
      static_cast<unsigned long long>(st.events), static_cast<unsigned long long>(st.snapshots),
      inst.agent_cpu_s() - agent0);
  std::printf("async fill lag, journal -> disk: %s\n", probe.summary().c_str());
}

// The disk's own sequential write bandwidth in the log's directory, in the same run: 256 MiB
// in 1 MiB writes into a preallocated file, then one fdatasync (bytes/s). An async queue
// cannot log faster than this, whatever the CPU does.
double disk_write_floor(const Options& o) {
  const std::string path = o.dir + "/disk-floor.tmp";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return 0;
  constexpr size_t kChunk = size_t{1} << 20;
  constexpr size_t kTotal = size_t{256} << 20;
  (void)::posix_fallocate(fd, 0, kTotal);
  (void)::fdatasync(fd);
  std::vector<char> buf(kChunk, 'x');
  const auto t0 = Clock::now();
  bool ok = true;
  for (size_t off = 0; off < kTotal && ok; off += kChunk) {
    ok = ::pwrite(fd, buf.data(), kChunk, static_cast<off_t>(off)) == static_cast<ssize_t>(kChunk);
  }
  ok = ok && ::fdatasync(fd) == 0;
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  ::close(fd);
  ::unlink(path.c_str());
  return ok ? static_cast<double>(kTotal) / secs : 0;
}

// The least CPU a log can spend per message of the lifecycle, whatever its design: framing,
// copying and checksumming one send record (the message's 96-byte stored record: header and
// 64-byte body) and one delete record in lqs's log format (32-byte record headers, CRC32C of
// header and payload), written with pwrite in 1 MiB chunks to a preallocated file, no
// fdatasync. The journal, reading the message from another core, snapshots and the sync
// itself all come on top. ns of this thread's CPU (kernel write path included) per message.
double log_cpu_floor_ns(const Options& o) {
  const std::string path = o.dir + "/log-floor.tmp";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return 0;
  constexpr size_t kChunk = size_t{1} << 20;
  constexpr size_t kFile = size_t{64} << 20;
  (void)::posix_fallocate(fd, 0, kFile);
  (void)::fdatasync(fd);
  namespace fmt = durability::format;
  const std::string name = "life";
  const size_t send_payload = 2 + name.size() + 8 + 4 + 8 + 4 + 32 + o.body;  // encode_message
  const size_t delete_payload = 2 + name.size() + 16 + 8;
  std::vector<char> message(32 + o.body, 'm');  // the stored record the agent copies
  std::vector<char> buf(kChunk + 4096);
  size_t used = 0;
  size_t file_off = 0;
  uint64_t lsn = 0;
  bool ok = true;
  auto frame = [&](uint16_t type, const char* payload, size_t n) {
    char* at = buf.data() + used;
    fmt::RecordHeader h{};
    h.length = static_cast<uint32_t>(n);
    h.lsn = ++lsn;
    h.type = type;
    std::memcpy(at + sizeof h, payload, n);
    h.header_crc = durability::crc32c(0, reinterpret_cast<const char*>(&h) + 4, 24);
    std::memcpy(at, &h, sizeof h);
    const uint32_t crc = durability::crc32c(0, at + 4, sizeof h - 4 + n);
    std::memcpy(at, &crc, 4);
    used += fmt::record_bytes(n);
  };
  std::vector<char> send(send_payload, 's');
  std::vector<char> del(delete_payload, 'd');
  constexpr uint64_t kMessages = 2'000'000;
  timespec a{};
  timespec b{};
  (void)::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
  for (uint64_t m = 0; m < kMessages && ok; ++m) {
    message[0] = static_cast<char>(m);  // the copy the agent makes of the message
    std::memcpy(send.data() + send_payload - message.size(), message.data(), message.size());
    frame(1, send.data(), send.size());
    frame(2, del.data(), del.size());
    if (used >= kChunk) {
      ok = ::pwrite(fd, buf.data(), used, static_cast<off_t>(file_off)) ==
           static_cast<ssize_t>(used);
      file_off = (file_off + used) % (kFile - kChunk - 4096);
      used = 0;
    }
  }
  (void)::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
  ::close(fd);
  ::unlink(path.c_str());
  const double ns =
      static_cast<double>(b.tv_sec - a.tv_sec) * 1e9 + static_cast<double>(b.tv_nsec - a.tv_nsec);
  return ok ? ns / static_cast<double>(kMessages) : 0;
}

int main_impl(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "lqs-durability-bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--dir") {
      o.dir = next();
    } else if (a == "--seconds") {
      o.seconds = std::atof(next().c_str());
    } else if (a == "--producers") {
      o.producers = parse_list(next());
    } else if (a == "--backend") {
      o.backend = next();
    } else if (a == "--no-sync") {
      o.producers.clear();
    } else if (a == "--no-sync-lifecycle") {
      o.lifecycle_sync = false;
    } else if (a == "--rate") {
      o.rate = std::atof(next().c_str());
    } else if (a == "--fill") {
      o.fill = std::strtoull(next().c_str(), nullptr, 10);
    } else if (a == "--body") {
      o.body = static_cast<size_t>(std::atol(next().c_str()));
    } else {
      std::fprintf(stderr,
                   "usage: lqs-durability-bench [--dir D] [--seconds S] [--producers 1,4,16,64] "
                   "[--backend io_uring|pwrite] [--body B] [--no-sync] "
                   "[--no-sync-lifecycle] [--fill N] [--rate R]\n");
      return 2;
    }
  }
  if (o.seconds <= 0 || o.body == 0) {
    std::fprintf(stderr, "lqs-durability-bench: bad --seconds, --body or --producers\n");
    return 2;
  }
  fs::create_directories(o.dir);
  for (int p : o.producers) run_sync(o, p);
  const Lifecycle ml = run_lifecycle(o, "memory");
  const double mem = ml.rate;
  const Lifecycle al = run_lifecycle(o, "async");
  const double async = al.rate;
  const double sync = o.lifecycle_sync ? run_lifecycle(o, "sync").rate : 0;
  const double disk = disk_write_floor(o);
  if (o.fill > 0) {
    run_async_fill(o, o.fill);
  }
  std::printf("lifecycle memory msgs/s=%9.0f\n", mem);
  std::printf("lifecycle async  msgs/s=%9.0f ratio_to_memory=%.2f\n", async, async / mem);
  std::printf("lifecycle sync   msgs/s=%9.0f ratio_to_memory=%.3f (1 producer)\n", sync,
              sync / mem);
  // What the async run wrote, and the ceiling the disk alone puts on it.
  const double per_msg =
      al.messages > 0 ? static_cast<double>(al.stats.wal_bytes) / static_cast<double>(al.messages)
                      : 0;
  std::printf(
      "async log: %.0f B/message, %.0f MB/s written, %llu events (%llu deletes of messages "
      "never logged, elided), %llu snapshots "
      "(a journal overflow is answered with a snapshot), %llu files (%llu from spares, %llu "
      "reused)\n",
      per_msg, static_cast<double>(al.stats.wal_bytes) / al.secs / 1e6,
      static_cast<unsigned long long>(al.stats.events),
      static_cast<unsigned long long>(al.stats.elided),
      static_cast<unsigned long long>(al.stats.snapshots),
      static_cast<unsigned long long>(al.stats.wal_files_created),
      static_cast<unsigned long long>(al.stats.wal_spares_used),
      static_cast<unsigned long long>(al.stats.wal_files_reused));
  // CPU: the memory run keeps both cores busy (producer, consumer); whatever async adds per
  // message comes out of the same two cores.
  const auto cpu_line = [](const char* mode, const Lifecycle& l) {
    const double m = static_cast<double>(std::max<uint64_t>(l.messages, 1));
    std::printf(
        "cpu %-6s %.2f cores busy, %.0f ns CPU/message (agent thread %.0f ns/message, %.0f "
        "ns/event read)\n",
        mode, l.process_cpu_s / l.secs, l.process_cpu_s * 1e9 / m, l.agent_cpu_s * 1e9 / m,
        l.stats.events > 0 ? l.agent_cpu_s * 1e9 / static_cast<double>(l.stats.events) : 0.0);
  };
  cpu_line("memory", ml);
  cpu_line("async", al);
  // With both cores busy in the memory run, async can at best add the log's own floor to each
  // message's CPU: the ratio that leaves.
  if (const double floor_ns = log_cpu_floor_ns(o); floor_ns > 0 && ml.messages > 0) {
    const double mem_ns = ml.process_cpu_s * 1e9 / static_cast<double>(ml.messages);
    std::printf(
        "log CPU floor: %.0f ns/message (a send and a delete record framed, checksummed and "
        "written, nothing else) -> async at best %.2f x memory when memory keeps %.2f cores "
        "busy at %.0f ns/message\n",
        floor_ns, mem_ns / (mem_ns + floor_ns), ml.process_cpu_s / ml.secs, mem_ns);
  }
  std::printf("async lag, journal -> disk: %s\n", al.lag.c_str());
  if (disk > 0 && per_msg > 0) {
    std::printf(
        "disk floor: sequential write %.0f MB/s (256 MiB, 1 MiB writes, one fdatasync) -> at "
        "most %.0f msgs/s at %.0f B/message = %.2f x memory\n",
        disk / 1e6, disk / per_msg, per_msg, disk / per_msg / mem);
  }
  return 0;
}

}  // namespace
}  // namespace lqs::bench

int main(int argc, char** argv) { return lqs::bench::main_impl(argc, argv); }
