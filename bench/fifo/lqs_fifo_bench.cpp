// Copyright lqs authors. lqs-fifo-bench: FIFO throughput against a standard queue in the same
// run. One producer process sends N messages spread over G groups (round robin, explicit
// deduplication ids); C consumer processes receive and delete them (the full lifecycle),
// unbatched (1 per call) or batched (10 per call). The clock runs from the first send to the
// last delete. Each FIFO row is followed by the same load on a standard queue and the ratio.
//
//   lqs-fifo-bench [--quick] [--messages N] [--groups 1,100,1000,10000] [--consumers 1,2,4]
//                  [--modes single,batch10] [--fifo-only | --standard-only]
#include "lqs/queue.hpp"

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Shared {
  std::atomic<uint64_t> deleted{0};
  std::atomic<int> go{0};
  std::atomic<int> errors{0};
};

std::vector<int> parse_list(const std::string& s) {
  std::vector<int> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    out.push_back(std::atoi(item.c_str()));
  }
  return out;
}

int producer(const lqs::QueueLocation& w, Shared* sh, uint64_t n, int groups, bool batched,
             bool fifo) {
  auto q = lqs::Queue::open(w);
  if (!q) return 2;
  while (sh->go.load() == 0) {
  }
  std::vector<std::string> bodies(10), gids(10), dids(10);
  std::vector<lqs::SendRequest> reqs(10);
  std::vector<lqs::Result<lqs::SendResult>> results;
  for (uint64_t i = 0; i < n;) {
    const size_t k = batched ? std::min<uint64_t>(10, n - i) : 1;
    for (size_t j = 0; j < k; ++j) {
      bodies[j] = "message " + std::to_string(i + j);
      gids[j] = "g" + std::to_string((i + j) % static_cast<uint64_t>(groups));
      dids[j] = std::to_string(i + j);
      reqs[j] = lqs::SendRequest{};
      reqs[j].body = bodies[j];
      if (fifo) {
        reqs[j].message_group_id = gids[j];
        reqs[j].message_deduplication_id = dids[j];
      }
    }
    bool full = false;
    if (batched) {
      if (!q->send_batch(std::span<const lqs::SendRequest>(reqs.data(), k), results)) return 3;
      for (size_t j = 0; j < k; ++j) {
        if (!results[j]) {
          if (results[j].error().code != lqs::ErrorCode::kQueueFull) return 4;
          full = true;  // retry the whole batch later; duplicates are dropped by dedup
        }
      }
    } else {
      auto r = q->send(reqs[0]);
      if (!r) {
        if (r.error().code != lqs::ErrorCode::kQueueFull) return 4;
        full = true;
      }
    }
    if (full) {
      if (!fifo && batched) {
        // A standard queue has no dedup: count only what went in.
        uint64_t ok = 0;
        for (size_t j = 0; j < k; ++j) ok += results[j] ? 1 : 0;
        i += ok;
      }
      std::this_thread::yield();
      continue;
    }
    i += k;
  }
  return 0;
}

int consumer(const lqs::QueueLocation& w, Shared* sh, uint64_t n, bool batched) {
  auto q = lqs::Queue::open(w);
  if (!q) return 2;
  lqs::ReceiveBatch b;
  lqs::ReceiveOptions o;
  o.max_number_of_messages = batched ? 10 : 1;
  o.wait_time_s = 0;
  std::vector<std::string_view> handles;
  std::vector<lqs::Result<void>> out;
  while (sh->go.load() == 0) {
  }
  while (sh->deleted.load(std::memory_order_relaxed) < n) {
    if (!q->receive(b, o)) return 3;
    if (b.count == 0) {
      std::this_thread::yield();
      continue;
    }
    if (batched) {
      handles.clear();
      for (size_t i = 0; i < b.count; ++i) handles.push_back(b.messages[i].receipt_handle);
      if (!q->delete_batch(handles, out)) return 4;
    } else {
      if (!q->delete_message(b.messages[0].receipt_handle)) return 4;
    }
    sh->deleted.fetch_add(b.count, std::memory_order_relaxed);
  }
  return 0;
}

// Runs one configuration; returns messages per second (0 on failure).
double run(const std::string& root, bool fifo, uint64_t n, int groups, int consumers,
           bool batched) {
  lqs::QueueLocation w;
  w.shm_root = root;
  w.name = fifo ? "bench.fifo" : "bench";
  (void)lqs::Queue::remove(w);
  lqs::QueueAttributes a;
  a.fifo_queue = fifo;
  a.capacity_messages = 65536;
  a.capacity_bytes = 64u << 20;
  auto q = lqs::Queue::create(w, a);
  if (!q) {
    std::fprintf(stderr, "create: %s\n", q.error().message.c_str());
    return 0;
  }
  auto* sh = static_cast<Shared*>(
      ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  new (sh) Shared{};
  std::vector<pid_t> pids;
  if (const pid_t p = ::fork(); p == 0) {
    _exit(producer(w, sh, n, groups, batched, fifo));
  } else {
    pids.push_back(p);
  }
  for (int c = 0; c < consumers; ++c) {
    if (const pid_t p = ::fork(); p == 0) {
      _exit(consumer(w, sh, n, batched));
    } else {
      pids.push_back(p);
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto t0 = Clock::now();
  sh->go.store(1);
  bool ok = true;
  for (pid_t p : pids) {
    int st = 0;
    (void)::waitpid(p, &st, 0);
    ok = ok && WIFEXITED(st) && WEXITSTATUS(st) == 0;
  }
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  const uint64_t deleted = sh->deleted.load();
  ::munmap(sh, sizeof(Shared));
  (void)lqs::Queue::remove(w);
  if (!ok || deleted < n) {
    std::fprintf(stderr, "run failed (fifo=%d groups=%d consumers=%d)\n", fifo, groups, consumers);
    return 0;
  }
  return static_cast<double>(n) / s;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t n = 200000;
  std::vector<int> groups = {1, 100, 1000, 10000};
  std::vector<int> consumers = {1, 2, 4};
  std::vector<bool> modes = {false, true};  // batched?
  // Skip one of the two queue kinds (to profile one configuration alone).
  bool fifo_only = false;
  bool standard_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") {
      n = 50000;
      consumers = {1, 2};
    } else if (a == "--messages" && i + 1 < argc) {
      n = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--groups" && i + 1 < argc) {
      groups = parse_list(argv[++i]);
    } else if (a == "--consumers" && i + 1 < argc) {
      consumers = parse_list(argv[++i]);
    } else if (a == "--modes" && i + 1 < argc) {
      const std::string m = argv[++i];
      modes.clear();
      if (m.find("single") != std::string::npos) modes.push_back(false);
      if (m.find("batch10") != std::string::npos) modes.push_back(true);
      if (modes.empty()) {
        std::fprintf(stderr, "lqs-fifo-bench: --modes takes single, batch10 or both\n");
        return 2;
      }
    } else if (a == "--fifo-only") {
      fifo_only = true;
    } else if (a == "--standard-only") {
      standard_only = true;
    } else {
      std::fprintf(
          stderr,
          "usage: lqs-fifo-bench [--quick] [--messages N] [--groups 1,100,...] "
          "[--consumers 1,2,4] [--modes single,batch10] [--fifo-only | --standard-only]\n");
      return 2;
    }
  }
  if (fifo_only && standard_only) {
    std::fprintf(stderr, "lqs-fifo-bench: --fifo-only and --standard-only exclude each other\n");
    return 2;
  }
  const std::string root = "/dev/shm/lqs-fifo-bench-" + std::to_string(::getpid());
  std::printf(
      "lqs-fifo-bench: %llu messages of ~16 B, 1 producer process, full lifecycle "
      "(send, receive, delete)\n",
      static_cast<unsigned long long>(n));
  std::printf("%-9s %7s %9s %14s %14s %7s\n", "mode", "groups", "consumers", "fifo msg/s",
              "standard msg/s", "ratio");
  int failures = 0;
  for (const bool batched : modes) {
    for (const int g : groups) {
      for (const int c : consumers) {
        const double f = standard_only ? 0 : run(root, true, n, g, c, batched);
        const double s = fifo_only ? 0 : run(root, false, n, g, c, batched);
        failures += ((!standard_only && f == 0) || (!fifo_only && s == 0)) ? 1 : 0;
        std::printf("%-9s %7d %9d %14.0f %14.0f %7.2f\n", batched ? "batch10" : "single", g, c, f,
                    s, s > 0 ? f / s : 0.0);
        std::fflush(stdout);
      }
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(root, ec);
  return failures == 0 ? 0 : 1;
}
