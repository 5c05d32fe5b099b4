// Copyright lqs authors. lqs-opcost: what one SendMessage, ReceiveMessage and DeleteMessage
// cost in CPU, alone: one thread, one queue, nothing running beside it, so no cache line
// ever moves to another core and no lock is ever contended. Standard and FIFO queues,
// unbatched and in batches of 10.
//
// Why: a throughput target on this 2-vCPU machine is a CPU budget. With the producer on one
// core and the consumer on the other, no run can beat
//     min(1 / send, 1 / (receive + delete))   messages per second (per-core split), or
//     2 / (send + receive + delete)           (perfect sharing of both cores),
// whatever the lock or ring design, because these costs are measured without any contention.
// The report prints both ceilings beside the PERF.md targets, so a missed target can be read
// as "the operations themselves cost too much" or "contention costs too much".
//
// A second table runs the same steps with the sends on CPU 0 and the receives and deletes on
// CPU 1, taking turns: still nothing contends, but every line a message touches moves between
// the cores, as in a real producer/consumer run. The difference between the two tables is
// the price of those moves; what a concurrent run costs beyond that is contention.
//
// Method: phases of `--phase` messages (default 1,000 = one per FIFO group, since a FIFO group
// delivers nothing while one of its messages is in flight): send them all, then receive them
// all, then delete them all, timing each step with the thread's CPU clock. After a warm-up
// (which also fills the FIFO deduplication table, so that every send pays its steady-state
// eviction) the median per-message cost over the phases is reported.
//
//   lqs-opcost [--phases N] [--phase M] [--warmup K] [--only standard|fifo] [--mode single|batch10]
#include "lqs/lqs.hpp"

#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

int64_t cpu_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// A thread pinned to one CPU that runs the jobs handed to it, one at a time.
class Worker {
 public:
  explicit Worker(int cpu) : thread_([this, cpu] { loop(cpu); }) {}
  ~Worker() {
    stop_.store(true, std::memory_order_release);
    job_.store(&stop_job_, std::memory_order_release);
    job_.notify_one();
    thread_.join();
  }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Runs `f` on the worker's thread and returns when it is done. Both sides sleep while they
  // wait (std::atomic::wait: one process), so that no spinning thread shares a CPU with the
  // one being measured.
  void run(const std::function<void()>& f) {
    job_.store(&f, std::memory_order_release);
    job_.notify_one();
    for (const auto* j = job_.load(std::memory_order_acquire); j != nullptr;
         j = job_.load(std::memory_order_acquire)) {
      job_.wait(j, std::memory_order_acquire);
    }
  }

 private:
  void loop(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    (void)::pthread_setaffinity_np(::pthread_self(), sizeof set, &set);
    for (;;) {
      job_.wait(nullptr, std::memory_order_acquire);
      if (stop_.load(std::memory_order_acquire)) {
        return;
      }
      (*job_.load(std::memory_order_acquire))();
      job_.store(nullptr, std::memory_order_release);
      job_.notify_one();
    }
  }

  const std::function<void()> stop_job_ = [] {};
  std::atomic<const std::function<void()>*> job_{nullptr};
  std::atomic<bool> stop_{false};
  std::thread thread_;  // last: started once the rest is built
};

struct Costs {
  double send = 0;
  double receive = 0;
  double del = 0;
  bool ok = false;
};

// One configuration: ns of CPU per message for each operation (medians over the phases).
// `cross`: sends on CPU 0, receives and deletes on CPU 1 (else all on CPU 0).
Costs measure(const std::string& root, bool fifo, bool batched, bool cross, int phases, int phase,
              int warmup) {
  lqs::QueueLocation w;
  w.shm_root = root;
  w.name = fifo ? "opcost.fifo" : "opcost";
  (void)lqs::Queue::remove(w);
  lqs::QueueAttributes a;
  a.fifo_queue = fifo;
  a.capacity_messages = 65536;
  a.capacity_bytes = 64u << 20;
  auto made = lqs::Queue::create(w, a);
  if (!made) {
    std::fprintf(stderr, "create: %s\n", made.error().message.c_str());
    return {};
  }
  lqs::Queue q = std::move(made).value();
  const size_t k = batched ? 10 : 1;
  const auto n = static_cast<size_t>(phase);
  std::vector<std::string> bodies(n);
  std::vector<std::string> groups(n);
  std::vector<std::string> dedup(n);
  for (size_t i = 0; i < n; ++i) {
    bodies[i] = "message body " + std::to_string(i) + " of 64 bytes, as in PERF.md's rows....";
    bodies[i].resize(64, '.');
    groups[i] = "group-" + std::to_string(i);
  }
  std::vector<lqs::SendRequest> reqs(n);
  std::vector<lqs::Result<lqs::SendResult>> results;
  std::vector<lqs::Result<void>> deleted;
  lqs::ReceiveBatch b;
  lqs::ReceiveOptions o;
  o.max_number_of_messages = static_cast<int>(k);
  o.wait_time_s = 0;
  std::vector<std::string> handles;
  handles.reserve(n);
  std::vector<std::string_view> views;
  std::vector<double> send_ns;
  std::vector<double> recv_ns;
  std::vector<double> del_ns;
  uint64_t serial = 0;
  Worker producer(0);
  std::optional<Worker> other;
  if (cross) {
    other.emplace(1);
  }
  Worker& consumer = cross ? *other : producer;
  bool ok = true;
  int64_t send_cpu = 0;
  int64_t recv_cpu = 0;
  int64_t del_cpu = 0;
  const std::function<void()> send_step = [&] {
    const int64_t t0 = cpu_ns();
    for (size_t i = 0; i < n && ok; i += k) {
      if (batched) {
        if (!q.send_batch(std::span<const lqs::SendRequest>(reqs.data() + i, k), results)) {
          ok = false;
        }
        for (const auto& r : results) {
          if (!r) {
            std::fprintf(stderr, "send: %s\n", r.error().message.c_str());
            ok = false;
          }
        }
      } else if (auto r = q.send(reqs[i]); !r) {
        std::fprintf(stderr, "send: %s\n", r.error().message.c_str());
        ok = false;
      }
    }
    send_cpu = cpu_ns() - t0;
  };
  const std::function<void()> receive_step = [&] {
    const int64_t t0 = cpu_ns();
    handles.clear();
    while (handles.size() < n) {
      if (!q.receive(b, o) || b.count == 0) {
        std::fprintf(stderr, "receive: got %zu of %zu\n", handles.size(), n);
        ok = false;
        break;
      }
      for (size_t i = 0; i < b.count; ++i) handles.push_back(b.messages[i].receipt_handle);
    }
    recv_cpu = cpu_ns() - t0;
  };
  const std::function<void()> delete_step = [&] {
    views.assign(handles.begin(), handles.end());
    const int64_t t0 = cpu_ns();
    for (size_t i = 0; i < n && ok; i += k) {
      if (batched) {
        if (!q.delete_batch(std::span<const std::string_view>(views.data() + i, k), deleted)) {
          ok = false;
        }
      } else if (!q.delete_message(views[i])) {
        std::fprintf(stderr, "delete failed\n");
        ok = false;
      }
    }
    del_cpu = cpu_ns() - t0;
  };
  for (int p = 0; p < warmup + phases && ok; ++p) {
    for (size_t i = 0; i < n; ++i) {
      dedup[i] = std::to_string(serial++);  // a fresh deduplication id per message
      reqs[i] = lqs::SendRequest{};
      reqs[i].body = bodies[i];
      if (fifo) {
        reqs[i].message_group_id = groups[i];
        reqs[i].message_deduplication_id = dedup[i];
      }
    }
    producer.run(send_step);
    if (ok) {
      consumer.run(receive_step);
    }
    if (ok) {
      consumer.run(delete_step);
    }
    if (p >= warmup) {
      send_ns.push_back(static_cast<double>(send_cpu) / static_cast<double>(n));
      recv_ns.push_back(static_cast<double>(recv_cpu) / static_cast<double>(n));
      del_ns.push_back(static_cast<double>(del_cpu) / static_cast<double>(n));
    }
  }
  if (!ok) {
    return {};
  }
  const lqs::QueueCounts c = q.counts();
  (void)lqs::Queue::remove(w);
  if (c.visible + c.in_flight + c.delayed != 0) {
    std::fprintf(stderr, "messages left over\n");
    return {};
  }
  return Costs{median(send_ns), median(recv_ns), median(del_ns), true};
}

}  // namespace

int main(int argc, char** argv) {
  int phases = 100;
  int phase = 1000;
  int warmup = 300;  // 300 k sends: past the FIFO deduplication table's 262,144 records
  std::string only;  // "standard" or "fifo": one kind of queue (to profile it alone)
  std::string mode;  // "single" or "batch10"
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--phases" && i + 1 < argc) {
      phases = std::atoi(argv[++i]);
    } else if (a == "--phase" && i + 1 < argc) {
      phase = std::atoi(argv[++i]);
    } else if (a == "--warmup" && i + 1 < argc) {
      warmup = std::atoi(argv[++i]);
    } else if (a == "--only" && i + 1 < argc) {
      only = argv[++i];
    } else if (a == "--mode" && i + 1 < argc) {
      mode = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: lqs-opcost [--phases N] [--phase M] [--warmup K] [--only "
                   "standard|fifo] [--mode single|batch10]\n");
      return 2;
    }
  }
  if (!only.empty() && only != "standard" && only != "fifo") {
    std::fprintf(stderr, "lqs-opcost: --only standard or --only fifo\n");
    return 2;
  }
  if (!mode.empty() && mode != "single" && mode != "batch10") {
    std::fprintf(stderr, "lqs-opcost: --mode single or --mode batch10\n");
    return 2;
  }
  if (phases < 1 || phase < 10 || phase % 10 != 0 || phase > 60000 || warmup < 0) {
    std::fprintf(stderr,
                 "lqs-opcost: --phases >= 1, --phase a multiple of 10 in [10, 60000], "
                 "--warmup >= 0\n");
    return 2;
  }
  const std::string root = "/dev/shm/lqs-opcost-" + std::to_string(::getpid());
  std::printf(
      "lqs-opcost: CPU ns per message, one thread, no contention (median of %d phases of %d "
      "after %d warm-up phases)\n",
      phases, phase, warmup);
  std::printf("%-9s %-7s %8s %8s %8s %8s   %-13s %-13s %s\n", "queue", "mode", "send", "receive",
              "delete", "total", "ceiling/split", "ceiling/2cpu", "target");
  bool all_ok = true;
  const bool two_cpus = ::sysconf(_SC_NPROCESSORS_ONLN) >= 2;
  for (const bool cross : {false, true}) {
    if (cross && !two_cpus) {
      std::printf("(one CPU online: the cross-core table is skipped)\n");
      break;
    }
    if (cross) {
      std::printf(
          "\nthe same, sends on CPU 0 and receives + deletes on CPU 1, taking turns (every line "
          "a message touches moves between the cores; still nothing contends):\n");
      std::printf("%-9s %-7s %8s %8s %8s %8s   %-13s %-13s %s\n", "queue", "mode", "send",
                  "receive", "delete", "total", "ceiling/split", "ceiling/2cpu", "target");
    }
    for (const bool fifo : {false, true}) {
      for (const bool batched : {false, true}) {
        if ((!only.empty() && (only == "fifo") != fifo) ||
            (!mode.empty() && (mode == "batch10") != batched)) {
          continue;
        }
        const Costs c = measure(root, fifo, batched, cross, phases, phase, warmup);
        if (!c.ok) {
          std::printf("%-9s %-7s failed\n", fifo ? "fifo" : "standard",
                      batched ? "batch10" : "single");
          all_ok = false;
          continue;
        }
        const double total = c.send + c.receive + c.del;
        // Messages per second: producer on one core and consumer on the other, or both cores
        // shared perfectly; in M msg/s (1e3 / ns).
        const double split = 1e3 / std::max(c.send, c.receive + c.del);
        const double shared = 2e3 / total;
        const char* target =
            fifo ? (batched ? "-" : "3 M (1,000 groups, 2 consumers)") : (batched ? "10 M" : "3 M");
        std::printf("%-9s %-7s %8.0f %8.0f %8.0f %8.0f   %6.2f M/s    %6.2f M/s    %s\n",
                    fifo ? "fifo" : "standard", batched ? "batch10" : "single", c.send, c.receive,
                    c.del, total, split, shared, target);
      }
    }
  }
  ::rmdir(root.c_str());
  return all_ok ? 0 : 1;
}
