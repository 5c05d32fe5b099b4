// Copyright lqs authors. lqs-durability-bench: lqs sends by durability mode, end to end.
//
//   lqs-durability-bench [--dir /var/tmp/lqs-durability-bench] [--seconds 3]
//                        [--producers 1,4,16,64] [--backend io_uring|pwrite] [--body 64]
//                        [--no-sync]   (lifecycle only)
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

#include <sys/utsname.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
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

double run_lifecycle(const Options& o, const std::string& mode) {
  Instance inst(o, "life-" + mode);
  auto q = inst.create("life", mode);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> done{0};
  std::thread consumer([&] { consume(*q, stop, done); });
  const std::string body(o.body, 'x');
  SendRequest r;
  r.body = body;
  const auto t0 = Clock::now();
  const auto until = t0 + std::chrono::duration<double>(o.seconds);
  while (Clock::now() < until) {
    if (!q->send(r)) std::this_thread::yield();  // full: the consumer catches up
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  stop = true;
  consumer.join();
  const double rate = static_cast<double>(done.load()) / secs;
  return rate;
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
    } else if (a == "--body") {
      o.body = static_cast<size_t>(std::atol(next().c_str()));
    } else {
      std::fprintf(stderr,
                   "usage: lqs-durability-bench [--dir D] [--seconds S] [--producers 1,4,16,64] "
                   "[--backend io_uring|pwrite] [--body B] [--no-sync]\n");
      return 2;
    }
  }
  if (o.seconds <= 0 || o.body == 0) {
    std::fprintf(stderr, "lqs-durability-bench: bad --seconds, --body or --producers\n");
    return 2;
  }
  fs::create_directories(o.dir);
  for (int p : o.producers) run_sync(o, p);
  const double mem = run_lifecycle(o, "memory");
  const double async = run_lifecycle(o, "async");
  const double sync = run_lifecycle(o, "sync");
  std::printf("lifecycle memory msgs/s=%9.0f\n", mem);
  std::printf("lifecycle async  msgs/s=%9.0f ratio_to_memory=%.2f\n", async, async / mem);
  std::printf("lifecycle sync   msgs/s=%9.0f ratio_to_memory=%.3f (1 producer)\n", sync,
              sync / mem);
  return 0;
}

}  // namespace
}  // namespace lqs::bench

int main(int argc, char** argv) { return lqs::bench::main_impl(argc, argv); }
