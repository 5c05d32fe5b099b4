// Copyright lqs authors. lqs-wal-bench: group commit through the write-ahead log next to a raw
// group-commit harness on the same disk, in one run.
//
//   lqs-wal-bench [--dir /var/tmp/lqs-wal-bench] [--seconds 1.5] [--warmup 0.3] [--rounds 3]
//                 [--threads 1,4,16,64] [--record 64] [--systems raw,pwrite,io_uring]
//
// Workload: N producer threads each append one record and wait until it is durable, then the
// next (a `sync` sender). One flusher thread takes everything pending and makes it durable:
//   raw       one pwrite + fdatasync of the pending bytes into a preallocated, zero-filled file
//             (the floor: no record framing, no checksums, no file rolls)
//   pwrite    Wal::append of each pending record, then Wal::commit (pwritev + fdatasync)
//   io_uring  the same with the io_uring backend (writev linked to fdatasync)
// The Wal runs as lqsd runs it: 64 MiB files, a helper thread keeping a spare file ready
// (Wal::prepare_spare), so a roll costs a header write and a rename.
// Printed: acks/s, ack latency p50/p99 (append to "durable" seen by the producer), and the ratio
// to raw at the same N; plus a single 4 KiB pwrite + fdatasync p50 for reference. The systems
// take turns (`--rounds` rounds of each at every N) and the medians of the rounds are printed,
// so that the disk's slow spells on a shared machine fall on all of them alike.
#include "durability/io_backend.hpp"
#include "durability/wal.hpp"

#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#ifndef LQS_BENCH_GIT_COMMIT
#define LQS_BENCH_GIT_COMMIT ""
#endif
#ifndef LQS_BENCH_BUILD_TYPE
#define LQS_BENCH_BUILD_TYPE "unknown"
#endif

namespace lqs::bench {
namespace {

using Clock = std::chrono::steady_clock;
using durability::IoBackend;
using durability::Wal;

struct Options {
  std::string dir = "/var/tmp/lqs-wal-bench";
  double seconds = 1.5;
  double warmup = 0.3;
  int rounds = 3;
  std::vector<int> threads = {1, 4, 16, 64};
  size_t record = 64;
  std::vector<std::string> systems = {"raw", "pwrite", "io_uring"};
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t from = 0;
  while (from <= s.size()) {
    const size_t comma = s.find(',', from);
    const size_t to = comma == std::string::npos ? s.size() : comma;
    if (to > from) {
      out.push_back(s.substr(from, to - from));
    }
    from = to + 1;
  }
  return out;
}

[[noreturn]] void fail(const std::string& what) {
  (void)std::fprintf(stderr, "lqs-wal-bench: %s\n", what.c_str());
  (void)std::fflush(stdout);
  ::_exit(1);  // from any thread: no destructors of running threads' objects
}

double pct(std::vector<uint32_t>& v, double p) {
  if (v.empty()) {
    return 0;
  }
  const auto k = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k] / 1000.0;  // µs
}

// ---- the group-commit harness ---------------------------------------------------------------

// Makes `batch` (whole records of `record` bytes) durable; runs on the flusher thread only.
using FlushFn = std::function<void(const std::vector<std::byte>& batch)>;

struct RunResult {
  double acks_per_s = 0;
  double p50_us = 0;
  double p99_us = 0;
  double mean_batch = 0;
};

RunResult run_group_commit(int producers, const Options& o, const FlushFn& flush) {
  std::mutex m;
  std::condition_variable flusher_cv;
  std::condition_variable durable_cv;
  std::vector<std::byte> pending;
  pending.reserve(1 << 20);
  uint64_t appended = 0;
  uint64_t durable = 0;
  bool stop = false;
  std::atomic<bool> measuring{false};
  std::atomic<uint64_t> flushes{0};
  std::atomic<uint64_t> flushed_records{0};

  std::thread flusher([&] {
    std::vector<std::byte> batch;
    batch.reserve(1 << 20);
    for (;;) {
      uint64_t upto = 0;
      {
        std::unique_lock lk(m);
        flusher_cv.wait(lk, [&] { return !pending.empty() || stop; });
        if (pending.empty()) {
          return;
        }
        batch.swap(pending);
        upto = appended;
      }
      flush(batch);
      if (measuring.load(std::memory_order_relaxed)) {
        flushes.fetch_add(1, std::memory_order_relaxed);
        flushed_records.fetch_add(batch.size() / o.record, std::memory_order_relaxed);
      }
      batch.clear();
      {
        std::lock_guard lk(m);
        durable = upto;
      }
      durable_cv.notify_all();
    }
  });

  std::vector<std::vector<uint32_t>> lat(static_cast<size_t>(producers));
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(producers));
  std::atomic<bool> quit{false};
  for (int t = 0; t < producers; ++t) {
    threads.emplace_back([&, t] {
      auto& mine = lat[static_cast<size_t>(t)];
      mine.reserve(1 << 16);
      std::vector<std::byte> rec(o.record, std::byte{static_cast<unsigned char>(t)});
      while (!quit.load(std::memory_order_relaxed)) {
        const bool counted = measuring.load(std::memory_order_relaxed);
        const auto t0 = Clock::now();
        std::unique_lock lk(m);
        pending.insert(pending.end(), rec.begin(), rec.end());
        const uint64_t seq = ++appended;
        flusher_cv.notify_one();
        durable_cv.wait(lk, [&] { return durable >= seq; });
        lk.unlock();
        const auto t1 = Clock::now();
        if (counted && measuring.load(std::memory_order_relaxed)) {
          mine.push_back(static_cast<uint32_t>(
              std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count()));
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup));
  measuring = true;
  const auto start = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
  measuring = false;
  const auto end = Clock::now();
  quit = true;
  for (auto& th : threads) {
    th.join();
  }
  {
    std::lock_guard lk(m);
    stop = true;
  }
  flusher_cv.notify_one();
  flusher.join();

  std::vector<uint32_t> all;
  for (auto& v : lat) {
    all.insert(all.end(), v.begin(), v.end());
  }
  RunResult r;
  r.acks_per_s =
      static_cast<double>(all.size()) / std::chrono::duration<double>(end - start).count();
  r.p50_us = pct(all, 0.50);
  r.p99_us = pct(all, 0.99);
  r.mean_batch =
      flushes == 0 ? 0 : static_cast<double>(flushed_records) / static_cast<double>(flushes);
  return r;
}

// ---- systems --------------------------------------------------------------------------------

constexpr uint64_t kRawFileBytes = 256ull << 20;

int make_raw_file(const std::string& path) {
  auto fd = durability::detail::open_preallocated(path, kRawFileBytes, true);
  if (!fd) {
    fail(fd.error().message);
  }
  return *fd;
}

void full_pwrite(int fd, const void* p, size_t n, uint64_t off) {
  const auto* c = static_cast<const char*>(p);
  while (n > 0) {
    const ssize_t w = ::pwrite(fd, c, n, static_cast<off_t>(off));
    if (w <= 0) {
      fail("pwrite failed");
    }
    c += w;
    n -= static_cast<size_t>(w);
    off += static_cast<uint64_t>(w);
  }
}

RunResult run_raw(int producers, const Options& o, int fd) {
  uint64_t off = 0;
  return run_group_commit(producers, o, [&](const std::vector<std::byte>& batch) {
    if (off + batch.size() > kRawFileBytes) {
      off = 0;
    }
    full_pwrite(fd, batch.data(), batch.size(), off);
    if (::fdatasync(fd) != 0) {
      fail("fdatasync failed");
    }
    off += batch.size();
  });
}

// One Wal per backend for the whole run, as in lqsd: 64 MiB files and a helper thread that
// keeps a spare ready (Wal::prepare_spare), so a roll costs a header write and a rename.
class WalSystem {
 public:
  WalSystem(IoBackend& backend, std::string dir) : dir_(std::move(dir)) {
    std::filesystem::remove_all(dir_);
    auto w = Wal::open(durability::WalOptions{dir_, kWalFileBytes, &backend});
    if (!w) {
      fail(w.error().message);
    }
    wal_ = std::move(*w);
    wal_->append(0, {});  // the first file exists before measuring
    if (auto c = wal_->commit(); !c) {
      fail(c.error().message);
    }
    if (auto sp = Wal::prepare_spare(dir_, kWalFileBytes); !sp) {
      fail(sp.error().message);
    }
    spare_ = std::thread([this] {
      while (!done_.load()) {
        if (auto sp = Wal::prepare_spare(dir_, kWalFileBytes); !sp) {
          fail(sp.error().message);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
  }
  ~WalSystem() {
    done_ = true;
    spare_.join();
    wal_.reset();
    std::filesystem::remove_all(dir_);
  }
  WalSystem(const WalSystem&) = delete;
  WalSystem& operator=(const WalSystem&) = delete;

  RunResult run(int producers, const Options& o) {
    return run_group_commit(producers, o, [&](const std::vector<std::byte>& batch) {
      for (size_t at = 0; at < batch.size(); at += o.record) {
        wal_->append(1, std::span(batch.data() + at, o.record));
      }
      if (auto c = wal_->commit(); !c) {
        fail(c.error().message);
      }
    });
  }
  [[nodiscard]] Wal::Stats stats() const { return wal_->stats(); }

 private:
  static constexpr uint64_t kWalFileBytes = 64ull << 20;
  std::string dir_;
  std::unique_ptr<Wal> wal_;
  std::atomic<bool> done_{false};
  std::thread spare_;
};

// A single 4 KiB pwrite + fdatasync, p50/p99 of `n` at successive offsets.
std::pair<double, double> raw_4k(int fd, int n) {
  std::vector<char> buf(4096, 'x');
  std::vector<uint32_t> lat;
  for (int i = 0; i < n; ++i) {
    const auto t0 = Clock::now();
    full_pwrite(fd, buf.data(), buf.size(), static_cast<uint64_t>(i % 4096) * 4096);
    if (::fdatasync(fd) != 0) {
      fail("fdatasync failed");
    }
    lat.push_back(static_cast<uint32_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count()));
  }
  return {pct(lat, 0.5), pct(lat, 0.99)};
}

std::string machine() {
  std::string cpu = "?";
  std::ifstream f("/proc/cpuinfo");
  for (std::string line; std::getline(f, line);) {
    if (line.rfind("model name", 0) == 0) {
      cpu = line.substr(line.find(':') + 2);
      break;
    }
  }
  struct utsname u {};
  ::uname(&u);
  return cpu + ", " + std::to_string(std::thread::hardware_concurrency()) + " CPUs, Linux " +
         u.release;
}

std::string fs_type(const std::string& dir) {
  struct statfs s {};
  if (::statfs(dir.c_str(), &s) != 0) {
    return "?";
  }
  switch (static_cast<unsigned long>(s.f_type)) {
    case 0xEF53:
      return "ext4";
    case 0x01021994:
      return "tmpfs (not a disk!)";
    case 0x58465342:
      return "xfs";
    case 0x9123683E:
      return "btrfs";
    case 0x794c7630:
      return "overlayfs";
    default: {
      char b[32];
      (void)std::snprintf(b, sizeof b, "0x%lx", static_cast<unsigned long>(s.f_type));
      return b;
    }
  }
}

int main_impl(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        fail("missing value for " + a);
      }
      return argv[++i];
    };
    if (a == "--dir") {
      o.dir = next();
    } else if (a == "--seconds") {
      o.seconds = std::stod(next());
    } else if (a == "--rounds") {
      o.rounds = std::max(1, std::stoi(next()));
    } else if (a == "--warmup") {
      o.warmup = std::stod(next());
    } else if (a == "--threads") {
      o.threads.clear();
      for (const auto& t : split(next())) {
        o.threads.push_back(std::stoi(t));
      }
    } else if (a == "--record") {
      o.record = static_cast<size_t>(std::stoul(next()));
    } else if (a == "--systems") {
      o.systems = split(next());
    } else {
      fail("unknown option " + a + " (see the comment at the top of wal_bench.cpp)");
    }
  }
  std::filesystem::create_directories(o.dir);
  std::printf("env: %s; dir %s (%s); commit %s; build %s\n", machine().c_str(), o.dir.c_str(),
              fs_type(o.dir).c_str(), LQS_BENCH_GIT_COMMIT, LQS_BENCH_BUILD_TYPE);
  std::printf(
      "workload: %zu-byte records; %d rounds of %.1f s (after %.1f s warm-up) per system "
      "and thread count, medians shown\n",
      o.record, o.rounds, o.seconds, o.warmup);

  const std::string raw_path = o.dir + "/raw.dat";
  const int raw_fd = make_raw_file(raw_path);
  const auto [p50_4k, p99_4k] = raw_4k(raw_fd, 2000);
  std::printf("raw 4 KiB pwrite+fdatasync (preallocated): p50 %.1f us, p99 %.1f us\n\n", p50_4k,
              p99_4k);

  std::unique_ptr<IoBackend> pwrite = durability::make_pwrite_backend();
  std::unique_ptr<IoBackend> uring;
  if (auto u = durability::make_uring_backend(); u) {
    uring = std::move(*u);
  } else {
    std::printf("io_uring unavailable: %s (skipped)\n", u.error().message.c_str());
  }
  std::map<std::string, std::unique_ptr<WalSystem>> wals;
  for (const auto& sys : o.systems) {
    if (sys == "pwrite") {
      wals[sys] = std::make_unique<WalSystem>(*pwrite, o.dir + "/wal-pwrite");
    } else if (sys == "io_uring" && uring) {
      wals[sys] = std::make_unique<WalSystem>(*uring, o.dir + "/wal-io_uring");
    } else if (sys != "raw" && sys != "io_uring") {
      fail("unknown system " + sys);
    }
  }

  std::printf("%8s %-9s %12s %10s %10s %8s %8s   %s\n", "threads", "system", "acks/s", "p50 us",
              "p99 us", "batch", "vs raw", "acks/s of each round");
  for (const int n : o.threads) {
    std::map<std::string, std::vector<RunResult>> res;
    for (int round = 0; round < o.rounds; ++round) {
      for (const auto& sys : o.systems) {
        if (sys == "raw") {
          res[sys].push_back(run_raw(n, o, raw_fd));
        } else if (wals.count(sys) != 0) {
          res[sys].push_back(wals[sys]->run(n, o));
        }
      }
    }
    auto median = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return v.empty() ? 0.0 : v[v.size() / 2];
    };
    double raw_rate = 0;
    for (const auto& sys : o.systems) {
      const auto& rs = res[sys];
      if (rs.empty()) {
        continue;
      }
      std::vector<double> rate;
      std::vector<double> p50;
      std::vector<double> p99;
      std::vector<double> batch;
      std::string each;
      for (const auto& r : rs) {
        rate.push_back(r.acks_per_s);
        p50.push_back(r.p50_us);
        p99.push_back(r.p99_us);
        batch.push_back(r.mean_batch);
        each += (each.empty() ? "" : " ") + std::to_string(static_cast<long>(r.acks_per_s));
      }
      const double m = median(rate);
      if (sys == "raw") {
        raw_rate = m;
      }
      char ratio[32] = "-";
      if (sys != "raw" && raw_rate > 0) {
        (void)std::snprintf(ratio, sizeof ratio, "%.2fx", m / raw_rate);
      }
      std::string notes = each;
      if (n == 1 && sys != "raw") {
        char b[64];
        (void)std::snprintf(b, sizeof b, "; p50/raw-4K-p50 %.2f", median(p50) / p50_4k);
        notes += b;
      }
      std::printf("%8d %-9s %12.0f %10.1f %10.1f %8.1f %8s   %s\n", n, sys.c_str(), m, median(p50),
                  median(p99), median(batch), ratio, notes.c_str());
      (void)std::fflush(stdout);
    }
  }
  for (const auto& [sys, w] : wals) {
    const auto st = w->stats();
    std::printf("wal %s: %llu syncs, %llu files created (%llu from spares)\n", sys.c_str(),
                static_cast<unsigned long long>(st.syncs),
                static_cast<unsigned long long>(st.files_created),
                static_cast<unsigned long long>(st.spares_used));
  }
  wals.clear();
  ::close(raw_fd);
  std::filesystem::remove(raw_path);
  return 0;
}

}  // namespace
}  // namespace lqs::bench

int main(int argc, char** argv) {
  try {
    return lqs::bench::main_impl(argc, argv);
  } catch (const std::exception& e) {
    (void)std::fprintf(stderr, "lqs-wal-bench: %s\n", e.what());
    return 1;
  }
}
