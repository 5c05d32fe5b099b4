// Copyright lqs authors. lqs-floor: the platform's floor for a parked consumer, with no queue
// at all. A parent process stamps CLOCK_MONOTONIC into shared memory and calls FUTEX_WAKE; a
// child pinned to the other CPU sleeps in FUTEX_WAIT on that word and measures how long after
// the stamp it runs again. With gaps of a few hundred microseconds between wakes, this is what
// any queue whose consumer sleeps in the kernel pays per message on this machine
// (lqs-bench's latency_parked workload), so parked-latency results are read against it.
//
//   lqs-floor [--gap-us U] [--count N] [--cpus A,B]     (defaults: 500, 2000, 0,1)
#include <linux/futex.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

namespace {

struct Shared {
  std::atomic<uint32_t> word;   // futex word: bumped by the parent before each wake
  std::atomic<int64_t> stamp;   // CLOCK_MONOTONIC ns of the wake
  std::atomic<uint32_t> ready;  // child is about to wait for the next round
  int64_t latency_ns[100000];   // per wake, written by the child
};

int64_t mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

long futex(std::atomic<uint32_t>* w, int op, uint32_t val) {
  // Not FUTEX_PRIVATE_FLAG: the word is shared between processes.
  return syscall(SYS_futex, reinterpret_cast<uint32_t*>(w), op, val, nullptr, nullptr, 0);
}

bool pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof set, &set) == 0;
}

int64_t pct(std::vector<int64_t>& v, double p) {
  const auto i = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  long gap_us = 500;
  long count = 2000;
  int cpu_a = 0;
  int cpu_b = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--gap-us" && i + 1 < argc) {
      gap_us = std::strtol(argv[++i], nullptr, 10);
    } else if (a == "--count" && i + 1 < argc) {
      count = std::strtol(argv[++i], nullptr, 10);
    } else if (a == "--cpus" && i + 1 < argc) {
      if (std::sscanf(argv[++i], "%d,%d", &cpu_a, &cpu_b) != 2) {
        std::fprintf(stderr, "lqs-floor: --cpus wants A,B\n");
        return 2;
      }
    } else {
      std::fprintf(stderr, "usage: lqs-floor [--gap-us U] [--count N<=100000] [--cpus A,B]\n");
      return 2;
    }
  }
  if (gap_us < 0 || count <= 0 || count > 100000) {
    std::fprintf(stderr, "lqs-floor: --count must be 1..100000 and --gap-us >= 0\n");
    return 2;
  }
  void* p =
      mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    std::fprintf(stderr, "lqs-floor: mmap: %s\n", std::strerror(errno));
    return 1;
  }
  auto* sh = new (p) Shared();
  const pid_t child = fork();
  if (child == 0) {
    (void)pin(cpu_b);
    for (long i = 0; i < count; ++i) {
      const uint32_t seen = sh->word.load(std::memory_order_acquire);
      sh->ready.store(1, std::memory_order_release);
      while (sh->word.load(std::memory_order_acquire) == seen) {
        (void)futex(&sh->word, FUTEX_WAIT, seen);
      }
      sh->latency_ns[i] = mono_ns() - sh->stamp.load(std::memory_order_acquire);
    }
    _exit(0);
  }
  (void)pin(cpu_a);
  for (long i = 0; i < count; ++i) {
    while (sh->ready.load(std::memory_order_acquire) == 0) {
    }
    sh->ready.store(0, std::memory_order_relaxed);
    const int64_t until = mono_ns() + gap_us * 1000;
    while (mono_ns() < until) {  // the child has long since parked
    }
    sh->stamp.store(mono_ns(), std::memory_order_relaxed);
    sh->word.fetch_add(1, std::memory_order_release);
    (void)futex(&sh->word, FUTEX_WAKE, 1);
  }
  int st = 0;
  (void)waitpid(child, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    std::fprintf(stderr, "lqs-floor: child failed (status %d)\n", st);
    return 1;
  }
  std::vector<int64_t> v(sh->latency_ns, sh->latency_ns + count);
  std::printf(
      "futex wake -> waiter running, gap %ld us, %ld wakes, cpus %d->%d: p50 %.1f us, "
      "p99 %.1f us, max %.1f us\n",
      gap_us, count, cpu_a, cpu_b, static_cast<double>(pct(v, 0.5)) / 1000.0,
      static_cast<double>(pct(v, 0.99)) / 1000.0,
      static_cast<double>(*std::max_element(v.begin(), v.end())) / 1000.0);
  return 0;
}
