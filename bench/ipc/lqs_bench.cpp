// Copyright lqs authors. lqs-bench: lqs against its peers (Boost.Interprocess message_queue,
// POSIX mq, a Unix domain socket, Redis lists and streams, beanstalkd, iceoryx), producers and
// consumers in separate pinned processes, side by side in one run.
//
//   lqs-bench [--quick] [--json] [--workload NAME[,NAME...]] [--duration S] [--messages N]
//             [--cpus 0,1] [--systems lqs,boost_mq,...] [--sizes 64,1024,...]
//             [--rates 10000,100000] [--park-interval-us 50] [--list]
//
// See bench/README.md for what each workload measures.
#include "harness.hpp"
#include "histogram.hpp"
#include "peers.hpp"
#include "ports.hpp"
#include "servers.hpp"
#include "workloads.hpp"

#if defined(LQS_BENCH_HAVE_ICEORYX)
#include "iceoryx_port.hpp"
#endif

#include <dirent.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <functional>
#include <map>
#include <new>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#ifndef LQS_BENCH_BUILD_TYPE
#define LQS_BENCH_BUILD_TYPE "unknown"
#endif
#ifndef LQS_BENCH_CXX_FLAGS
#define LQS_BENCH_CXX_FLAGS ""
#endif
#ifndef LQS_BENCH_GIT_COMMIT
#define LQS_BENCH_GIT_COMMIT ""
#endif
#ifndef LQS_BENCH_SOURCE_DIR
#define LQS_BENCH_SOURCE_DIR "."
#endif
#ifndef LQS_BENCH_SANITIZE
#define LQS_BENCH_SANITIZE ""
#endif

namespace lqs::bench {
namespace {

// ---- options ----------------------------------------------------------------------------------
const std::vector<std::string> kWorkloads = {
    "latency_spin",  "latency_parked",        "open_loop",     "lifecycle", "lifecycle_batch10",
    "lifecycle_2x2", "lifecycle_batch10_2x2", "lifecycle_4x4", "expiry",    "memory"};
/// The default systems, in the order they run; the durable variants only when named.
const std::vector<std::string> kSystems = {"lqs",        "boost_mq",     "posix_mq",   "uds",
                                           "redis_list", "redis_stream", "beanstalkd", "iceoryx"};
const std::vector<std::string> kDurableSystems = {"redis_list_aof", "beanstalkd_fsync"};

struct Options {
  bool quick = false;
  bool json = false;
  std::vector<std::string> workloads;
  std::vector<std::string> systems = kSystems;
  std::vector<size_t> sizes;  // empty: per-workload defaults
  std::vector<int> cpus = {0, 1};
  double duration_s = 0;  // 0: default (quick 3 s, full 10 s)
  uint64_t messages = 0;  // 0: per-workload default
  int64_t park_interval_us = 500;
  std::vector<double> rates;  // open_loop offered rates (default 10k, 100k, 500k msg/s)
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) {
    if (!cur.empty()) {
      out.push_back(cur);
    }
  }
  return out;
}

void usage(FILE* f) {
  std::fprintf(f,
               "usage: lqs-bench [options]\n"
               "  --quick                short version of every workload (< 1 minute)\n"
               "  --json                 one JSON object per line (first line: env)\n"
               "  --workload NAME[,..]   run only these (see --list)\n"
               "  --systems S[,..]       lqs,boost_mq,posix_mq,uds,redis_list,redis_stream,\n"
               "                         beanstalkd,iceoryx (default: all of these), and the\n"
               "                         durable variants redis_list_aof,beanstalkd_fsync\n"
               "  --sizes B[,..]         message sizes in bytes (64..1048576)\n"
               "  --duration S           cap on each run's sending time, seconds\n"
               "  --messages N           messages per run at 64 B (bigger sizes: fewer)\n"
               "  --cpus A,B[,..]        CPUs for the children, round-robin, producers first\n"
               "                         (default 0,1: producer on CPU 0, consumer on CPU 1)\n"
               "  --park-interval-us U   latency_parked: gap between messages (default 500)\n"
               "  --rates R[,..]         open_loop: offered rates, msg/s (default 10000,100000,"
               "500000)\n"
               "  --list                 list the workloads\n");
}

bool parse_options(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::optional<std::string> {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "lqs-bench: %s needs a value\n", a.c_str());
        return std::nullopt;
      }
      return std::string(argv[++i]);
    };
    if (a == "--quick") {
      o.quick = true;
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--help" || a == "-h") {
      usage(stdout);
      std::exit(0);  // NOLINT(concurrency-mt-unsafe): single-threaded, nothing to clean yet
    } else if (a == "--list") {
      for (const auto& w : kWorkloads) {
        std::printf("%s\n", w.c_str());
      }
      std::exit(0);  // NOLINT(concurrency-mt-unsafe)
    } else if (a == "--workload" || a == "--workloads") {
      auto v = next();
      if (!v) return false;
      for (auto& w : split(*v, ',')) {
        if (std::find(kWorkloads.begin(), kWorkloads.end(), w) == kWorkloads.end()) {
          std::fprintf(stderr, "lqs-bench: unknown workload '%s' (see --list)\n", w.c_str());
          return false;
        }
        o.workloads.push_back(w);
      }
    } else if (a == "--systems") {
      auto v = next();
      if (!v) return false;
      o.systems.clear();
      for (auto& s : split(*v, ',')) {
        if (std::find(kSystems.begin(), kSystems.end(), s) == kSystems.end() &&
            std::find(kDurableSystems.begin(), kDurableSystems.end(), s) == kDurableSystems.end()) {
          std::fprintf(stderr, "lqs-bench: unknown system '%s'\n", s.c_str());
          return false;
        }
        o.systems.push_back(s);
      }
    } else if (a == "--sizes") {
      auto v = next();
      if (!v) return false;
      for (auto& s : split(*v, ',')) {
        const unsigned long long b = std::strtoull(s.c_str(), nullptr, 10);
        if (b < 64 || b > 1048576) {
          std::fprintf(stderr, "lqs-bench: size %s out of 64..1048576\n", s.c_str());
          return false;
        }
        o.sizes.push_back(static_cast<size_t>(b));
      }
    } else if (a == "--cpus") {
      auto v = next();
      if (!v) return false;
      o.cpus.clear();
      for (auto& s : split(*v, ',')) {
        o.cpus.push_back(std::atoi(s.c_str()));
      }
      if (o.cpus.empty()) {
        return false;
      }
    } else if (a == "--duration") {
      auto v = next();
      if (!v) return false;
      o.duration_s = std::strtod(v->c_str(), nullptr);
      if (o.duration_s <= 0) {
        std::fprintf(stderr, "lqs-bench: --duration must be > 0\n");
        return false;
      }
    } else if (a == "--messages") {
      auto v = next();
      if (!v) return false;
      o.messages = std::strtoull(v->c_str(), nullptr, 10);
      if (o.messages == 0) {
        std::fprintf(stderr, "lqs-bench: --messages must be > 0\n");
        return false;
      }
    } else if (a == "--rates") {
      auto v = next();
      if (!v) return false;
      for (auto& r : split(*v, ',')) {
        const double x = std::strtod(r.c_str(), nullptr);
        if (x < 1 || x > 1e8) {
          std::fprintf(stderr, "lqs-bench: rate %s out of 1..1e8\n", r.c_str());
          return false;
        }
        o.rates.push_back(x);
      }
    } else if (a == "--park-interval-us") {
      auto v = next();
      if (!v) return false;
      o.park_interval_us = std::atoll(v->c_str());
    } else {
      std::fprintf(stderr, "lqs-bench: unknown option '%s'\n", a.c_str());
      usage(stderr);
      return false;
    }
  }
  if (o.workloads.empty()) {
    o.workloads = kWorkloads;
  }
  return true;
}

// ---- cleanup registry -------------------------------------------------------------------------
struct Cleanup {
  std::vector<std::pair<int, std::function<void()>>> actions;  // (id, action)
  int next_id = 0;
  int add(std::function<void()> f) {
    actions.emplace_back(next_id, std::move(f));
    return next_id++;
  }
  void run(int id) {
    for (auto it = actions.begin(); it != actions.end(); ++it) {
      if (it->first == id) {
        auto f = std::move(it->second);
        actions.erase(it);
        f();
        return;
      }
    }
  }
  void run_all() {
    while (!actions.empty()) {
      auto f = std::move(actions.back().second);
      actions.pop_back();
      f();
    }
  }
};
Cleanup g_cleanup;

// ---- environment --------------------------------------------------------------------------------
std::string read_first_line(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  if (f) {
    std::getline(f, line);
  }
  return line;
}

bool write_file(const std::string& path, const std::string& value) {
  std::ofstream f(path);
  if (!f) {
    return false;
  }
  f << value << "\n";
  f.flush();
  return static_cast<bool>(f);
}

std::string run_command(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");  // NOLINT(cert-env33-c): fixed command, no user input
  if (p == nullptr) {
    return out;
  }
  char buf[256];
  while (std::fgets(buf, sizeof buf, p) != nullptr) {
    out += buf;
  }
  (void)pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) {
    out.pop_back();
  }
  return out;
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '"':
        o += "\\\"";
        break;
      case '\\':
        o += "\\\\";
        break;
      case '\n':
        o += "\\n";
        break;
      case '\t':
        o += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char b[8];
          std::snprintf(b, sizeof b, "\\u%04x", c);
          o += b;
        } else {
          o += c;
        }
    }
  }
  return o;
}

struct Env {
  long nproc = 0;
  std::string kernel;
  std::string cpu_model;
  std::string compiler = __VERSION__;
  std::string build_type = LQS_BENCH_BUILD_TYPE;
  std::string flags = LQS_BENCH_CXX_FLAGS;
  std::string commit;
  bool dirty = false;
  std::string governor;
  std::vector<std::string> warnings;
  std::string mq_note;
};

Env collect_env(const Options& o) {
  Env e;
  e.nproc = sysconf(_SC_NPROCESSORS_ONLN);
  utsname u{};
  if (uname(&u) == 0) {
    e.kernel = std::string(u.sysname) + " " + u.release + " " + u.version + " " + u.machine;
  }
  {
    std::ifstream f("/proc/cpuinfo");
    std::string line;
    while (std::getline(f, line)) {
      if (line.rfind("model name", 0) == 0) {
        auto pos = line.find(':');
        e.cpu_model = pos == std::string::npos ? line : line.substr(pos + 2);
        break;
      }
    }
  }
  const std::string src = LQS_BENCH_SOURCE_DIR;
  e.commit = run_command("git -C '" + src + "' rev-parse --verify -q HEAD 2>/dev/null");
  if (e.commit.empty()) {
    e.commit = LQS_BENCH_GIT_COMMIT;
  }
  if (!e.commit.empty()) {
    e.dirty = !run_command("git -C '" + src + "' status --porcelain 2>/dev/null").empty();
  }
  e.governor = read_first_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");

#if !defined(__OPTIMIZE__)
  e.warnings.emplace_back("built WITHOUT optimisation (build type " + e.build_type +
                          "): numbers are meaningless; use cmake --preset release");
#endif
#if !defined(NDEBUG)
  e.warnings.emplace_back("assertions are on (NDEBUG not defined)");
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  e.warnings.emplace_back("built with sanitizers: numbers are meaningless");
#endif
  if (std::string(LQS_BENCH_SANITIZE).size() > 0) {
    e.warnings.emplace_back(std::string("LQS_SANITIZE=") + LQS_BENCH_SANITIZE +
                            ": numbers are meaningless");
  }
  if (!e.governor.empty() && e.governor != "performance") {
    e.warnings.emplace_back("CPU governor is '" + e.governor + "', not 'performance'");
  }
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof allowed, &allowed) == 0) {
    for (int c : o.cpus) {
      if (c < 0 || c >= CPU_SETSIZE || !CPU_ISSET(c, &allowed)) {
        e.warnings.emplace_back("CPU " + std::to_string(c) +
                                " is not in this process's affinity mask: pinning will fail");
      }
    }
  }
  if (o.cpus.size() < 2) {
    e.warnings.emplace_back("only one CPU given: producer and consumer share it");
  }
  if (e.commit.empty()) {
    e.warnings.emplace_back("git commit unknown (no commits yet, or not a git checkout)");
  }
  return e;
}

// ---- POSIX mq limits
// -----------------------------------------------------------------------------
struct MqLimits {
  uint64_t msg_max = 10;
  uint64_t msgsize_max = 8192;
  uint64_t rlimit_bytes = 819200;  // RLIMIT_MSGQUEUE: bytes of all of this user's queues
};
MqLimits g_mq;

void setup_posix_mq(Env& env, uint64_t want_depth, uint64_t want_size) {
  const std::string dir = "/proc/sys/fs/mqueue/";
  auto read_u = [&](const char* n) {
    return std::strtoull(read_first_line(dir + n).c_str(), nullptr, 10);
  };
  const uint64_t old_max = read_u("msg_max");
  const uint64_t old_size = read_u("msgsize_max");
  g_mq.msg_max = old_max;
  g_mq.msgsize_max = old_size;
  std::string note;
  if (old_max < want_depth) {
    if (write_file(dir + "msg_max", std::to_string(want_depth)) &&
        read_u("msg_max") == want_depth) {
      g_mq.msg_max = want_depth;
      g_cleanup.add([dir, old_max] { (void)write_file(dir + "msg_max", std::to_string(old_max)); });
      note += "raised fs.mqueue.msg_max " + std::to_string(old_max) + "->" +
              std::to_string(want_depth) + " for the run; ";
    } else {
      note += "fs.mqueue.msg_max is " + std::to_string(old_max) +
              " and could not be raised: posix_mq depth clamped to it; ";
    }
  }
  if (old_size < want_size) {
    if (write_file(dir + "msgsize_max", std::to_string(want_size)) &&
        read_u("msgsize_max") == want_size) {
      g_mq.msgsize_max = want_size;
      g_cleanup.add(
          [dir, old_size] { (void)write_file(dir + "msgsize_max", std::to_string(old_size)); });
      note += "raised fs.mqueue.msgsize_max " + std::to_string(old_size) + "->" +
              std::to_string(want_size) + " for the run; ";
    } else {
      note += "fs.mqueue.msgsize_max is " + std::to_string(old_size) +
              " and could not be raised: posix_mq skips bigger messages; ";
    }
  }
  rlimit rl{RLIM_INFINITY, RLIM_INFINITY};
  if (setrlimit(RLIMIT_MSGQUEUE, &rl) != 0) {
    rlimit cur{};
    (void)getrlimit(RLIMIT_MSGQUEUE, &cur);
    if (cur.rlim_cur != cur.rlim_max) {
      cur.rlim_cur = cur.rlim_max;
      (void)setrlimit(RLIMIT_MSGQUEUE, &cur);
    }
    g_mq.rlimit_bytes = cur.rlim_cur;
    note += "RLIMIT_MSGQUEUE is " + std::to_string(cur.rlim_cur) +
            " bytes and cannot be raised (no CAP_SYS_RESOURCE): posix_mq depth clamped to "
            "fit, sizes where not even one message fits are skipped; ";
  } else {
    g_mq.rlimit_bytes = UINT64_MAX;
  }
  if (!note.empty()) {
    note.resize(note.size() - 2);
  }
  env.mq_note = note;
}

// ---- results
// --------------------------------------------------------------------------------------
struct Row {
  std::string workload;
  std::string system;
  size_t msg_size = 0;
  int producers = 1;
  int consumers = 1;
  uint64_t sent = 0;
  uint64_t received = 0;  // unique messages received
  uint64_t lost = 0;
  uint64_t duplicates = 0;
  uint64_t bad = 0;
  bool ok = true;
  bool skipped = false;
  std::optional<double> msgs_per_sec;
  std::optional<double> ns_per_op;
  std::optional<uint64_t> p50, p99, p999, max;
  std::optional<uint64_t> in_flight;
  std::optional<double> ratio;             // expiry: big/small cost
  std::optional<double> parks_per_msg;     // consumer voluntary context switches per message
  std::optional<double> offered_rate;      // open loop: msg/s offered
  std::optional<uint64_t> shm_bytes;       // memory: blocks allocated in /dev/shm, bytes
  std::optional<uint64_t> capacity_bytes;  // memory: LqsCapacityBytes of the queue measured
  double seconds = 0;
  std::string note;
  std::string error;
};

std::string fmt_rate(std::optional<double> r) {
  if (!r) return "-";
  char b[32];
  if (*r >= 1e6) {
    std::snprintf(b, sizeof b, "%.2fM", *r / 1e6);
  } else if (*r >= 1e3) {
    std::snprintf(b, sizeof b, "%.1fk", *r / 1e3);
  } else {
    std::snprintf(b, sizeof b, "%.0f", *r);
  }
  return b;
}

std::string fmt_ns(std::optional<uint64_t> v) {
  if (!v) return "-";
  char b[32];
  if (*v >= 10'000'000) {
    std::snprintf(b, sizeof b, "%.1fms", static_cast<double>(*v) / 1e6);
  } else if (*v >= 10'000) {
    std::snprintf(b, sizeof b, "%.1fus", static_cast<double>(*v) / 1e3);
  } else {
    std::snprintf(b, sizeof b, "%.2fus", static_cast<double>(*v) / 1e3);
  }
  return b;
}

std::string fmt_size(size_t s) {
  if (s >= 1048576 && s % 1048576 == 0) return std::to_string(s / 1048576) + "MiB";
  if (s >= 1024 && s % 1024 == 0) return std::to_string(s / 1024) + "KiB";
  return std::to_string(s) + "B";
}

template <typename T>
std::string jnum(const std::optional<T>& v) {
  if (!v) return "null";
  std::ostringstream o;
  if constexpr (std::is_floating_point_v<T>) {
    o.setf(std::ios::fixed);
    o.precision(*v < 100 ? 3 : 0);
  }
  o << *v;
  return o.str();
}

void print_json_row(const Row& r) {
  std::printf(
      "{\"type\":\"result\",\"workload\":\"%s\",\"system\":\"%s\",\"msg_size\":%zu,"
      "\"producers\":%d,\"consumers\":%d,\"msgs_per_sec\":%s,\"p50_ns\":%s,\"p99_ns\":%s,"
      "\"p999_ns\":%s,\"max_ns\":%s,\"ns_per_op\":%s,\"in_flight\":%s,\"ratio\":%s,\"consumer_"
      "parks_per_msg\":%s,\"offered_rate\":%s,\"shm_bytes\":%s,\"capacity_bytes\":%s,"
      "\"sent\":%" PRIu64 ",\"received\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"duplicates\":%" PRIu64
      ",\"bad\":%" PRIu64
      ",\"ok\":%s,\"skipped\":%s,"
      "\"seconds\":%.3f,\"note\":\"%s\",\"error\":\"%s\"}\n",
      r.workload.c_str(), r.system.c_str(), r.msg_size, r.producers, r.consumers,
      jnum(r.msgs_per_sec).c_str(), jnum(r.p50).c_str(), jnum(r.p99).c_str(), jnum(r.p999).c_str(),
      jnum(r.max).c_str(), jnum(r.ns_per_op).c_str(), jnum(r.in_flight).c_str(),
      jnum(r.ratio).c_str(), jnum(r.parks_per_msg).c_str(), jnum(r.offered_rate).c_str(),
      jnum(r.shm_bytes).c_str(), jnum(r.capacity_bytes).c_str(), r.sent, r.received, r.lost,
      r.duplicates, r.bad, r.ok ? "true" : "false", r.skipped ? "true" : "false", r.seconds,
      json_escape(r.note).c_str(), json_escape(r.error).c_str());
  std::fflush(stdout);
}

void print_table_header() {
  std::printf("%-22s %6s %4s %-16s %9s %9s %9s %9s %9s %6s  %-9s %s\n", "workload", "size", "PxC",
              "system", "msgs/s", "p50", "p99", "p99.9", "max", "parks", "verify", "lqs/peer");
}

std::string verify_text(const Row& r) {
  if (r.skipped) return "skipped";
  if (!r.error.empty()) return "ERROR";
  if (r.lost || r.duplicates || r.bad) return "MISMATCH";
  return "ok";
}

void print_table_group(const std::vector<Row>& rows) {
  const Row* lqs_row = nullptr;
  for (const auto& r : rows) {
    if (r.system == "lqs" && !r.skipped && r.error.empty()) lqs_row = &r;
  }
  for (const auto& r : rows) {
    std::string ratio;
    if (lqs_row != nullptr && &r != lqs_row && !r.skipped && r.error.empty()) {
      char b[96];
      if (r.p50 && lqs_row->p50 && *r.p50 > 0 && r.p99 && lqs_row->p99 && *r.p99 > 0) {
        std::snprintf(b, sizeof b, "p50 %.2fx p99 %.2fx",
                      static_cast<double>(*lqs_row->p50) / static_cast<double>(*r.p50),
                      static_cast<double>(*lqs_row->p99) / static_cast<double>(*r.p99));
        ratio = b;
      } else if (r.msgs_per_sec && lqs_row->msgs_per_sec && *r.msgs_per_sec > 0) {
        std::snprintf(b, sizeof b, "rate %.2fx", *lqs_row->msgs_per_sec / *r.msgs_per_sec);
        ratio = b;
      }
    }
    if (r.shm_bytes) {
      char b[96];
      std::snprintf(b, sizeof b, "shm %.3f GiB (capacity %.3f GiB)",
                    static_cast<double>(*r.shm_bytes) / 1073741824.0,
                    static_cast<double>(r.capacity_bytes.value_or(0)) / 1073741824.0);
      ratio = b;
    }
    if (r.ns_per_op) {
      char b[64];
      std::snprintf(b, sizeof b, "%.0f ns/op, %s in flight", *r.ns_per_op,
                    r.in_flight ? std::to_string(*r.in_flight).c_str() : "?");
      ratio = b;
      if (r.ratio) {
        std::snprintf(b, sizeof b, "; ratio %.2fx (target <= 1.2)", *r.ratio);
        ratio += b;
      }
    }
    char pxc[16];
    std::snprintf(pxc, sizeof pxc, "%dx%d", r.producers, r.consumers);
    char parks[16] = "-";
    if (r.parks_per_msg) {
      std::snprintf(parks, sizeof parks, "%.2f", *r.parks_per_msg);
    }
    std::printf("%-22s %6s %4s %-16s %9s %9s %9s %9s %9s %6s  %-9s %s\n", r.workload.c_str(),
                fmt_size(r.msg_size).c_str(), pxc, r.system.c_str(),
                fmt_rate(r.msgs_per_sec).c_str(), fmt_ns(r.p50).c_str(), fmt_ns(r.p99).c_str(),
                fmt_ns(r.p999).c_str(), fmt_ns(r.max).c_str(), parks, verify_text(r).c_str(),
                ratio.c_str());
    if (!r.error.empty()) {
      std::printf("    error: %s\n", r.error.c_str());
    }
    if (r.lost || r.duplicates || r.bad) {
      std::printf("    sent %" PRIu64 ", received %" PRIu64 ", lost %" PRIu64
                  ", duplicates %" PRIu64 ", bad %" PRIu64 "\n",
                  r.sent, r.received, r.lost, r.duplicates, r.bad);
    }
    // A skipped row's reason is the same every time: say it once per system.
    static std::set<std::string> skip_notes_said;
    if (!r.note.empty() && (!r.skipped || skip_notes_said.insert(r.system + r.note).second)) {
      std::printf("    note: %s\n", r.note.c_str());
    }
  }
  std::fflush(stdout);
}

// ---- running one workload on one system
// ----------------------------------------------------------
struct Context {
  Options opt;
  std::string shm_root;
  int run_counter = 0;
  bool any_failure = false;
};

// Queue depth (messages) for throughput runs: up to 4096, at most ~32 MiB of bodies (at least
// 16 messages), so a run cycles through the queue's memory several times.
// Latency runs keep one message in flight, so they use a small queue (less fresh memory).
uint32_t depth_for(size_t size, Kind kind) {
  if (kind == Kind::kLatencySpin || kind == Kind::kLatencyParked) {
    return 16;
  }
  const uint64_t d = (uint64_t{32} << 20) / size;
  return static_cast<uint32_t>(std::clamp<uint64_t>(d, 16, 4096));
}

// POSIX mq: the kernel charges about msgsize + 96 bytes per message slot to RLIMIT_MSGQUEUE.
uint64_t posix_depth_limit(size_t size) {
  if (g_mq.rlimit_bytes == UINT64_MAX) {
    return g_mq.msg_max;
  }
  const uint64_t fit = g_mq.rlimit_bytes > 4096 ? (g_mq.rlimit_bytes - 4096) / (size + 128) : 0;
  return std::min<uint64_t>(fit, g_mq.msg_max);
}

ChannelSpec make_channel(Context& ctx, const std::string& system, size_t size, Kind kind) {
  ChannelSpec c;
  c.lqs_root = ctx.shm_root;
  c.name = "lqsb-" + std::to_string(getpid()) + "-" + std::to_string(ctx.run_counter++);
  c.max_msg = size;
  c.depth = depth_for(size, kind);
  if (system == "posix_mq") {
    c.depth = static_cast<uint32_t>(std::min<uint64_t>(c.depth, posix_depth_limit(size)));
  }
  c.lqs_bytes = std::max<uint64_t>(uint64_t{64} << 20, uint64_t{c.depth} * (size + 1024) * 2);
  if (kind == Kind::kLatencySpin || kind == Kind::kLatencyParked) {
    c.lqs_bytes = std::max<uint64_t>(uint64_t{4} << 20, uint64_t{c.depth} * (size + 4096) * 2);
  }
  return c;
}

// After a failed lqs run (children gone): where are the missing messages? Counts from the
// slot table, plus fsck's findings.
std::string lqs_post_mortem(const ChannelSpec& c) {
  auto q = lqs::Queue::open(LqsPort::location(c));
  if (!q) {
    return "post-mortem: open failed: " + q.error().message;
  }
  const lqs::QueueCounts n = q->counts();
  std::string out = "post-mortem: queue holds " + std::to_string(n.visible) + " visible, " +
                    std::to_string(n.in_flight) + " in flight, " + std::to_string(n.delayed) +
                    " delayed (sentinels included)";
  const std::vector<std::string> problems = q->fsck();
  out += "; fsck: " + (problems.empty() ? std::string("clean") : problems.front());
  if (problems.size() > 1) {
    out += " (+" + std::to_string(problems.size() - 1) + " more)";
  }
  // Can they be received now? And after recover()?
  lqs::ReceiveOptions o;
  o.max_number_of_messages = 10;
  o.wait_time_s = 0;
  lqs::ReceiveBatch b;
  auto drain = [&] {
    uint64_t got = 0;
    for (int i = 0; i < 100; ++i) {
      if (!q->receive(b, o) || b.count == 0) {
        break;
      }
      got += b.count;
    }
    return got;
  };
  const uint64_t before = drain();
  const lqs::RecoveryReport r = q->recover();
  const uint64_t after = drain();
  out += "; receive now gets " + std::to_string(before) + "; recover() reports " +
         std::to_string(r.publishes_completed) + " re-published, " +
         std::to_string(r.leases_expired) + " leases expired, " +
         std::to_string(r.dead_writers_reclaimed) + " dead writers; then receive gets " +
         std::to_string(after);
  return out;
}

/// Why `system` does not run `s` (empty: it does).
std::string unsupported(const std::string& system, const RunSpec& s) {
  const bool latency = s.kind == Kind::kLatencySpin || s.kind == Kind::kLatencyParked;
  if (system == "iceoryx" && !latency) {
    return "iceoryx runs the latency workloads only (publish/subscribe: no queue, lease or "
           "delete)";
  }
  return {};
}

/// What a peer's lifecycle is, for the note of its throughput rows.
std::string lifecycle_note(const std::string& system, bool batched) {
  if (system == "boost_mq" || system == "posix_mq" || system == "uds") {
    return batched ? "peer has no batch API (10 single calls); dequeue = receive, no delete"
                   : "dequeue = receive, no delete";
  }
  if (system.rfind("redis_list", 0) == 0) {
    return batched ? "LPUSH of 10; LMOVE x10 and LREM x10 pipelined" : "LPUSH; BLMOVE; LREM";
  }
  if (system == "redis_stream") {
    return batched ? "XADD x10 pipelined; XREADGROUP COUNT 10; XACK+XDEL"
                   : "XADD; XREADGROUP; XACK+XDEL";
  }
  if (system.rfind("beanstalkd", 0) == 0) {
    return batched ? "put x10, reserve x10, delete x10, each pipelined" : "put; reserve; delete";
  }
  return {};
}

template <typename Port>
Row run_channel(Context& ctx, const RunSpec& s) {
  Row row;
  row.workload = s.workload;
  row.system = Port::kName;
  row.msg_size = s.msg_size;
  row.producers = s.producers;
  row.consumers = s.consumers;
  if (s.kind == Kind::kOpenLoop) {
    row.offered_rate = s.offered_rate;
  }
  if (const std::string why = unsupported(Port::kName, s); !why.empty()) {
    row.skipped = true;
    row.note = why;
    return row;
  }
  if (std::string(Port::kName) == "posix_mq" && s.msg_size > g_mq.msgsize_max) {
    row.skipped = true;
    row.note =
        "message size above fs.mqueue.msgsize_max (" + std::to_string(g_mq.msgsize_max) + ")";
    return row;
  }
  if (std::string(Port::kName) == "posix_mq" && posix_depth_limit(s.msg_size) < 1) {
    row.skipped = true;
    row.note = "not even one message of this size fits in RLIMIT_MSGQUEUE (" +
               std::to_string(g_mq.rlimit_bytes) + " bytes)";
    return row;
  }
  ChannelSpec c = make_channel(ctx, Port::kName, s.msg_size, s.kind);
  std::string err;
  if (!Port::create(c, err)) {
    row.ok = false;
    row.error = err;
    return row;
  }
  const int cleanup_id = g_cleanup.add([c] { Port::remove(c); });
  if (!Port::prefault(c, err)) {
    g_cleanup.run(cleanup_id);
    row.ok = false;
    row.error = err;
    return row;
  }

  const size_t ctl_bytes = sizeof(Control);
  void* ctl_mem = map_shared(ctl_bytes);
  const uint64_t stride = seen_stride(s);
  const size_t seen_bytes =
      std::max<size_t>(1, static_cast<size_t>(stride * static_cast<uint64_t>(s.producers) *
                                              static_cast<uint64_t>(s.consumers)));
  auto* seen = static_cast<uint8_t*>(map_shared(seen_bytes));
  if (ctl_mem == nullptr || seen == nullptr) {
    unmap_shared(ctl_mem, ctl_bytes);
    unmap_shared(seen, seen_bytes);
    g_cleanup.run(cleanup_id);
    row.ok = false;
    row.error = "mmap of the result region failed";
    return row;
  }
  auto* ctl = new (ctl_mem) Control();

  std::vector<pid_t> pids;
  const int children = s.producers + s.consumers;
  bool spawn_failed = false;
  for (int i = 0; i < children && !spawn_failed; ++i) {
    const int cpu = ctx.opt.cpus[static_cast<size_t>(i) % ctx.opt.cpus.size()];
    pid_t pid = -1;
    // A port that must deregister on the way out (iceoryx) leaves through exit(): its objects
    // are gone by then (they live in producer_main/consumer_main), its runtime is not.
    auto leave = [](int rc) {
      if constexpr (kExitNormallyPort<Port>) {
        std::fflush(nullptr);
        std::exit(rc);  // NOLINT(concurrency-mt-unsafe): a single-threaded child
      }
      return rc;
    };
    if (i < s.producers) {
      pid = spawn_child(cpu, [&, i] { return leave(producer_main<Port>(s, c, *ctl, i, i)); });
    } else {
      pid = spawn_child(
          cpu, [&, i] { return leave(consumer_main<Port>(s, c, *ctl, i, i - s.producers, seen)); });
    }
    if (pid < 0) {
      spawn_failed = true;
    } else {
      pids.push_back(pid);
    }
  }
  // Wait until every child is ready (or 20 s), then start them together.
  const int64_t ready_deadline = now_ns() + 20'000'000'000;
  while (!spawn_failed && ctl->ready.load() < children && now_ns() < ready_deadline &&
         ctl->abort.load() == 0) {
    usleep(1000);
    poll_interrupts();
    if (interrupted()) {
      break;
    }
  }
  if (spawn_failed || ctl->ready.load() < children || interrupted()) {
    ctl->abort.store(1);
  }
  const int64_t go = now_ns();
  ctl->go_ns.store(go);
  ctl->go.store(1, std::memory_order_release);
  const int64_t deadline = go + s.duration_cap_ns + 30'000'000'000;
  ReapOutcome reap = reap_children(pids, deadline);
  const double elapsed = static_cast<double>(now_ns() - go) / 1e9;
  row.seconds = elapsed;

  // Gather.
  LatencyHistogram hist;
  hist.clear();
  int64_t t_end = go;
  uint64_t vcsw = 0;
  std::vector<uint64_t> sent_by(static_cast<size_t>(s.producers), 0);
  for (int i = 0; i < children; ++i) {
    const ChildSlot& sl = ctl->slots[i];
    if (sl.failed != 0 && row.error.empty()) {
      row.error = std::string(i < s.producers ? "producer: " : "consumer: ") + sl.err;
    }
    if (i < s.producers) {
      sent_by[static_cast<size_t>(i)] = sl.sent;
      row.sent += sl.sent;
    } else {
      row.bad += sl.bad;
      vcsw += sl.vol_switches;
      hist.merge(sl.hist);
      t_end = std::max(t_end, sl.t_last);
      if (sl.idle_exit) {
        row.note +=
            "consumer " + std::to_string(i - s.producers) + " stopped after 2 s without messages; ";
      }
    }
  }
  for (int p = 0; p < s.producers; ++p) {
    for (uint64_t q = 0; q < stride; ++q) {
      uint64_t n = 0;
      for (int k = 0; k < s.consumers; ++k) {
        n += seen[(static_cast<uint64_t>(k) * static_cast<uint64_t>(s.producers) +
                   static_cast<uint64_t>(p)) *
                      stride +
                  q];
      }
      if (q < sent_by[static_cast<size_t>(p)]) {
        if (n == 0) {
          ++row.lost;
        } else {
          ++row.received;
          row.duplicates += n - 1;
        }
      } else if (n > 0) {
        row.bad += n;  // received but never reported sent
      }
    }
  }
  if (reap.timed_out) {
    row.error += (row.error.empty() ? "" : "; ") + std::string("deadline passed: children killed");
  }
  if (reap.interrupted) {
    row.error += (row.error.empty() ? "" : "; ") + std::string("interrupted");
  }
  for (const auto& p : reap.problems) {
    if (row.error.find(p) == std::string::npos && row.error.size() < 400) {
      row.error += (row.error.empty() ? "" : "; ") + p;
    }
  }
  if (ctl->ready.load() < children && row.error.empty()) {
    row.error = "children did not get ready";
  }
  if (row.received > 0) {
    row.parks_per_msg = static_cast<double>(vcsw) / static_cast<double>(row.received);
  }
  if (s.kind == Kind::kLatencyParked && row.parks_per_msg && *row.parks_per_msg < 0.5) {
    char b[160];
    std::snprintf(b, sizeof b,
                  "consumer parked for only %.0f%% of messages: raise --park-interval-us; ",
                  *row.parks_per_msg * 100);
    row.note += b;
  }
  if (s.kind == Kind::kThroughput || s.kind == Kind::kOpenLoop) {
    const double secs = static_cast<double>(t_end - go) / 1e9;
    if (secs > 0 && row.received > 0) {
      row.msgs_per_sec = static_cast<double>(row.received) / secs;
    }
  }
  if (s.kind == Kind::kOpenLoop && row.msgs_per_sec && *row.msgs_per_sec < 0.95 * s.offered_rate) {
    char b[128];
    std::snprintf(b, sizeof b, "did not keep up with the offered %.0f msg/s (latency is backlog); ",
                  s.offered_rate);
    row.note += b;
  }
  if (s.kind != Kind::kThroughput && hist.count() > 0) {
    row.p50 = hist.percentile(0.50);
    row.p99 = hist.percentile(0.99);
    row.p999 = hist.percentile(0.999);
    row.max = hist.max();
    // Ping-pong rate: one message in flight at a time; not a throughput figure.
  }
  if (s.messages > 0 && row.sent < s.messages && row.error.empty()) {
    char b[128];
    std::snprintf(b, sizeof b, "duration cap reached: %" PRIu64 " of %" PRIu64 " sent; ", row.sent,
                  s.messages);
    row.note += b;
  }
  if (s.kind == Kind::kThroughput) {
    const std::string n = lifecycle_note(Port::kName, s.batched);
    row.note += n.empty() ? "" : n + "; ";
  }
  if (std::string(Port::kName) == "posix_mq" && c.depth < depth_for(s.msg_size, s.kind)) {
    row.note += "queue depth clamped to " + std::to_string(c.depth) + "; ";
  }
  if (row.note.size() >= 2) {
    row.note.resize(row.note.size() - 2);
  }
  row.ok = row.error.empty() && row.lost == 0 && row.duplicates == 0 && row.bad == 0;
  if (!row.ok && std::string(Port::kName) == "lqs") {
    row.note += (row.note.empty() ? "" : "; ") + lqs_post_mortem(c);
  }

  ctl->~Control();
  unmap_shared(ctl_mem, ctl_bytes);
  unmap_shared(seen, seen_bytes);
  g_cleanup.run(cleanup_id);
  return row;
}

std::vector<Row> run_expiry(Context& ctx, const RunSpec& s) {
  std::vector<Row> rows(2);
  for (int k = 0; k < 2; ++k) {
    rows[k].workload = s.workload;
    rows[k].system = "lqs";
    rows[k].msg_size = s.msg_size;
    rows[k].in_flight = k == 0 ? s.expiry_in_flight_small : s.expiry_in_flight_big;
  }
  auto fail = [&](const std::string& e) {
    for (auto& r : rows) {
      r.ok = false;
      r.error = e;
    }
    return rows;
  };
  auto spec = [&] {
    ChannelSpec c = make_channel(ctx, "lqs", s.msg_size, s.kind);
    c.depth = static_cast<uint32_t>(std::max<uint64_t>(131072, s.expiry_in_flight_big * 5 / 4));
    c.lqs_bytes = std::max<uint64_t>(uint64_t{256} << 20, uint64_t{c.depth} * 2048);
    return c;
  };
  const ChannelSpec small = spec();
  const ChannelSpec big = spec();  // identical attributes: only the in-flight count differs
  std::string err;
  if (!LqsPort::create(small, err)) return fail(err);
  const int c1 = g_cleanup.add([small] { LqsPort::remove(small); });
  if (!LqsPort::create(big, err)) {
    g_cleanup.run(c1);
    return fail(err);
  }
  const int c2 = g_cleanup.add([big] { LqsPort::remove(big); });
  void* mem = map_shared(sizeof(Control));
  if (mem == nullptr) {
    g_cleanup.run(c2);
    g_cleanup.run(c1);
    return fail("mmap failed");
  }
  auto* ctl = new (mem) Control();
  const int cpu = ctx.opt.cpus[ctx.opt.cpus.size() > 1 ? 1 : 0];
  const int64_t t0 = now_ns();
  pid_t pid = spawn_child(cpu, [&] { return expiry_main(s, small, big, *ctl); });
  std::vector<pid_t> pids;
  if (pid > 0) pids.push_back(pid);
  ReapOutcome reap = reap_children(pids, t0 + 120'000'000'000);
  const ChildSlot& sl = ctl->slots[0];
  std::string e = pid < 0 ? "fork failed" : (sl.failed != 0 ? std::string(sl.err) : "");
  if (reap.timed_out) e += (e.empty() ? "" : "; ") + std::string("deadline passed: child killed");
  if (reap.interrupted) e += (e.empty() ? "" : "; ") + std::string("interrupted");
  for (const auto& p : reap.problems) {
    if (e.find(p) == std::string::npos) e += (e.empty() ? "" : "; ") + p;
  }
  const int reps = std::clamp(s.expiry_reps, 1, kMaxReps);
  double med[2] = {0, 0};
  for (int k = 0; k < 2; ++k) {
    std::vector<double> v(sl.expiry_ns[k], sl.expiry_ns[k] + reps);
    std::sort(v.begin(), v.end());
    med[k] = v[v.size() / 2];
    rows[k].error = e;
    rows[k].bad = sl.bad;
    rows[k].seconds = static_cast<double>(now_ns() - t0) / 1e9;
    if (e.empty() && med[k] > 0) {
      rows[k].ns_per_op = med[k];
      rows[k].msgs_per_sec = 1e9 / med[k];
      if (sl.expiry_in_flight[k] != *rows[k].in_flight) {
        rows[k].note =
            "counts() reports " + std::to_string(sl.expiry_in_flight[k]) + " in flight; ";
      }
    }
    rows[k].note += "op = send+receive+delete of one 64 B message, single process; median of " +
                    std::to_string(reps) + " reps; msgs_per_sec = ops/s";
    rows[k].ok = e.empty() && sl.bad == 0;
    rows[k].sent = rows[k].received = static_cast<uint64_t>(reps) * s.messages;
  }
  if (e.empty() && med[0] > 0) {
    rows[1].ratio = med[1] / med[0];
  }
  ctl->~Control();
  unmap_shared(mem, sizeof(Control));
  g_cleanup.run(c2);
  g_cleanup.run(c1);
  return rows;
}

Row run_system(Context& ctx, const std::string& system, const RunSpec& s) {
  if (system == "lqs") return run_channel<LqsPort>(ctx, s);
  if (system == "boost_mq") return run_channel<BoostPort>(ctx, s);
  if (system == "posix_mq") return run_channel<PosixMqPort>(ctx, s);
  if (system == "uds") return run_channel<UdsPort>(ctx, s);
  if (system == "redis_list") return run_channel<RedisListPort<false>>(ctx, s);
  if (system == "redis_list_aof") return run_channel<RedisListPort<true>>(ctx, s);
  if (system == "redis_stream") return run_channel<RedisStreamPort>(ctx, s);
  if (system == "beanstalkd") return run_channel<BeanstalkPort<false>>(ctx, s);
  if (system == "beanstalkd_fsync") return run_channel<BeanstalkPort<true>>(ctx, s);
#if defined(LQS_BENCH_HAVE_ICEORYX)
  if (system == "iceoryx") return run_channel<IceoryxPort>(ctx, s);
#endif
  Row row;
  row.workload = s.workload;
  row.system = system;
  row.msg_size = s.msg_size;
  row.producers = s.producers;
  row.consumers = s.consumers;
  row.skipped = true;
  row.note = system == "iceoryx"
                 ? "built without iceoryx (libiceoryx-posh-dev was not found at configure time)"
                 : "unknown system";
  return row;
}

/// Blocks allocated (st_blocks) by the files of `dir` whose names start with `prefix`.
uint64_t allocated_bytes(const std::string& dir, const std::string& prefix) {
  uint64_t total = 0;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return 0;
  while (dirent* ent = readdir(d)) {  // NOLINT(concurrency-mt-unsafe): single-threaded
    const std::string n = ent->d_name;
    struct stat st {};
    if (n.rfind(prefix, 0) == 0 && stat((dir + "/" + n).c_str(), &st) == 0) {
      total += static_cast<uint64_t>(st.st_blocks) * 512;
    }
  }
  (void)closedir(d);
  return total;
}

/// memory: an lqs queue holding 1,000,000 messages of 1 KiB. Tries LqsCapacityBytes from the
/// payload itself upwards until one holds them all, and reports the blocks the queue's files
/// have in /dev/shm (tmpfs) for that one. The PERF.md target is <= 1.25 GiB.
Row run_memory(Context& ctx, const RunSpec& s) {
  Row row;
  row.workload = s.workload;
  row.system = "lqs";
  row.msg_size = s.msg_size;
  const uint64_t payload = s.messages * s.msg_size;
  std::string tried;
  // --quick starts the search at 1.10 x the payload (each step fills ~1 GiB: ~3 s).
  std::vector<double> factors = {1.00, 1.05, 1.10, 1.15, 1.20, 1.25, 1.35, 1.50};
  if (ctx.opt.quick) {
    factors.erase(factors.begin(), factors.begin() + 2);
  }
  for (double f : factors) {
    ChannelSpec c = make_channel(ctx, "lqs", s.msg_size, Kind::kThroughput);
    c.depth = static_cast<uint32_t>(std::min<uint64_t>(4194304, s.messages + s.messages / 16));
    c.lqs_bytes = static_cast<uint64_t>(static_cast<double>(payload) * f);
    std::string err;
    if (!LqsPort::create(c, err)) {
      tried += "capacity x" + std::to_string(f).substr(0, 4) + ": " + err + "; ";
      continue;
    }
    const int cleanup_id = g_cleanup.add([c] { LqsPort::remove(c); });
    void* mem = map_shared(sizeof(Control));
    if (mem == nullptr) {
      g_cleanup.run(cleanup_id);
      row.error = "mmap failed";
      break;
    }
    auto* ctl = new (mem) Control();
    const int cpu = ctx.opt.cpus[0];
    const int64_t t0 = now_ns();
    pid_t pid = spawn_child(cpu, [&] {
      ChildSlot& slot = ctl->slots[0];
      LqsPort port;
      std::string e;
      if (!port.open(c, e)) {
        set_error(slot, e);
        return 1;
      }
      std::vector<std::string> bodies(10, std::string(s.msg_size, 'x'));
      std::vector<std::string_view> views(10);
      bool done[10] = {};
      slot.t_first = now_ns();
      uint64_t sent = 0;
      while (sent < s.messages) {
        const size_t k = static_cast<size_t>(std::min<uint64_t>(10, s.messages - sent));
        for (size_t i = 0; i < k; ++i) {
          stamp_body(bodies[i], sent + i);
          views[i] = bodies[i];
          done[i] = false;
        }
        if (!port.send_many(std::span<const std::string_view>(views.data(), k),
                            std::span<bool>(done, k), e)) {
          set_error(slot, e);
          break;
        }
        const auto n = static_cast<uint64_t>(std::count(done, done + k, true));
        sent += n;
        if (n < k) break;  // full
      }
      slot.t_last = now_ns();
      slot.sent = sent;
      slot.handled = port.queue().counts().visible;
      return slot.failed;
    });
    std::vector<pid_t> pids;
    if (pid > 0) pids.push_back(pid);
    ReapOutcome reap = reap_children(pids, t0 + 120'000'000'000);
    const ChildSlot& sl = ctl->slots[0];
    const uint64_t shm = allocated_bytes(ctx.shm_root, c.name);
    const bool held = sl.failed == 0 && sl.sent == s.messages && sl.handled == s.messages;
    tried += "capacity x" + std::to_string(f).substr(0, 4) + ": " + std::to_string(sl.sent) +
             " sent" + (sl.failed ? std::string(" (") + sl.err + ")" : "") + "; ";
    if (held) {
      row.sent = row.received = sl.sent;
      row.shm_bytes = shm;
      row.capacity_bytes = c.lqs_bytes;
      if (sl.t_last > sl.t_first) {
        row.msgs_per_sec =
            static_cast<double>(sl.sent) * 1e9 / static_cast<double>(sl.t_last - sl.t_first);
      }
      char b[256];
      std::snprintf(b, sizeof b,
                    "%" PRIu64
                    " x %zu B held with LqsCapacityBytes = %.2f x payload; /dev/shm "
                    "blocks %.3f GiB (payload %.3f GiB); target <= 1.25 GiB: %s; msgs/s = fill "
                    "rate (send_batch of 10, one process)",
                    s.messages, s.msg_size, f, static_cast<double>(shm) / 1073741824.0,
                    static_cast<double>(payload) / 1073741824.0,
                    shm <= (uint64_t{5} << 28) ? "met" : "MISSED");
      row.note = b;
    }
    if (reap.timed_out || reap.interrupted) {
      row.error = reap.timed_out ? "deadline passed: child killed" : "interrupted";
    }
    ctl->~Control();
    unmap_shared(mem, sizeof(Control));
    g_cleanup.run(cleanup_id);
    if (held || !row.error.empty() || interrupted()) break;
  }
  if (!row.shm_bytes && row.error.empty()) {
    row.error = "no capacity tried held " + std::to_string(s.messages) + " messages: " + tried;
  } else if (row.shm_bytes) {
    row.note += "; tried: " + tried.substr(0, tried.size() - 2);
  }
  row.ok = row.error.empty();
  return row;
}

uint64_t scaled(uint64_t base, size_t size) {
  // Fewer messages for big sizes: base * sqrt(64 / size), at least 200.
  const double f = std::sqrt(64.0 / static_cast<double>(size));
  return std::max<uint64_t>(200, static_cast<uint64_t>(static_cast<double>(base) * f));
}

std::vector<RunSpec> plan(const Options& o, const std::string& w) {
  const int64_t cap =
      static_cast<int64_t>((o.duration_s > 0 ? o.duration_s : (o.quick ? 3.0 : 10.0)) * 1e9);
  const uint64_t thr = o.messages ? o.messages : (o.quick ? 200'000 : 2'000'000);
  const uint64_t lat = o.messages ? o.messages : (o.quick ? 20'000 : 200'000);
  const uint64_t parked = o.messages ? o.messages : (o.quick ? 2'000 : 10'000);
  const uint64_t expiry = o.messages ? o.messages : (o.quick ? 20'000 : 200'000);
  const std::vector<size_t> all_sizes = {64, 1024, 65536, 1048576};
  auto sizes_or = [&](std::vector<size_t> def, size_t max_size) {
    std::vector<size_t> v = o.sizes.empty() ? std::move(def) : o.sizes;
    v.erase(std::remove_if(v.begin(), v.end(), [&](size_t x) { return x > max_size; }), v.end());
    return v;
  };
  std::vector<RunSpec> out;
  RunSpec b;
  b.workload = w;
  b.duration_cap_ns = cap;
  b.park_interval_ns = o.park_interval_us * 1000;
  if (w == "latency_spin") {
    b.kind = Kind::kLatencySpin;
    for (size_t sz : sizes_or(all_sizes, 1048576)) {
      RunSpec r = b;
      r.msg_size = sz;
      r.messages = scaled(lat, sz);
      // Big messages are slow on the server peers: a short run must still leave samples.
      r.warmup = std::min<uint64_t>(sz >= 65536 ? 8 : 64, r.messages / 4);
      out.push_back(r);
    }
  } else if (w == "latency_parked") {
    b.kind = Kind::kLatencyParked;
    for (size_t sz : sizes_or({64}, 1048576)) {
      RunSpec r = b;
      r.msg_size = sz;
      r.messages = scaled(parked, sz);
      r.warmup = std::min<uint64_t>(64, r.messages / 4);
      out.push_back(r);
    }
  } else if (w == "open_loop") {
    // Fixed offered rates, 1 producer -> 1 consumer (blocking receive, as a service would),
    // 64 B; each rate for the duration cap's worth of messages, at most 2 s (quick 1 s).
    b.kind = Kind::kOpenLoop;
    const double secs = std::min(o.quick ? 1.0 : 2.0, static_cast<double>(cap) / 1e9);
    const std::vector<double> rates =
        o.rates.empty() ? std::vector<double>{10'000, 100'000, 500'000} : o.rates;
    for (double rate : rates) {
      for (size_t sz : sizes_or({64}, 1048576)) {
        RunSpec r = b;
        char label[32];
        std::snprintf(label, sizeof label, "open_loop_%gk", rate / 1000);
        r.workload = label;
        r.msg_size = sz;
        r.offered_rate = rate;
        r.messages = std::max<uint64_t>(100, static_cast<uint64_t>(rate * secs));
        // Warm-up by count, small enough that a system far below the rate still has samples.
        r.warmup = std::min<uint64_t>(r.messages / 10, 1000);
        out.push_back(r);
      }
    }
  } else if (w == "memory") {
    b.kind = Kind::kMemory;
    b.msg_size = 1024;
    b.messages = 1'000'000;
    out.push_back(b);
  } else if (w == "lifecycle" || w == "lifecycle_batch10" || w == "lifecycle_2x2" ||
             w == "lifecycle_batch10_2x2" || w == "lifecycle_4x4") {
    b.kind = Kind::kThroughput;
    b.batched = w.find("batch10") != std::string::npos;
    const bool n4 = w.find("4x4") != std::string::npos;
    const bool nm = n4 || w.find("2x2") != std::string::npos;
    b.producers = b.consumers = n4 ? 4 : nm ? 2 : 1;
    std::vector<size_t> def = b.batched ? std::vector<size_t>{64, 1024, 65536}
                                        : (nm ? std::vector<size_t>{64} : all_sizes);
    // SendMessageBatch carries at most 1 MiB in total.
    for (size_t sz : sizes_or(def, b.batched ? 104857 : 1048576)) {
      RunSpec r = b;
      r.msg_size = sz;
      r.messages = scaled(thr, sz);
      out.push_back(r);
    }
  } else if (w == "expiry") {
    b.kind = Kind::kExpiry;
    b.msg_size = 64;
    b.messages = expiry;
    b.expiry_reps = o.quick ? 3 : 5;
    out.push_back(b);
  }
  return out;
}

void print_env(const Env& e, const Options& o) {
  if (o.json) {
    std::string w;
    for (size_t i = 0; i < e.warnings.size(); ++i) {
      w += (i ? "," : "") + std::string("\"") + json_escape(e.warnings[i]) + "\"";
    }
    std::string cpus;
    for (size_t i = 0; i < o.cpus.size(); ++i) {
      cpus += (i ? "," : "") + std::to_string(o.cpus[i]);
    }
    std::printf(
        "{\"type\":\"env\",\"nproc\":%ld,\"kernel\":\"%s\",\"cpu\":\"%s\","
        "\"compiler\":\"%s\",\"build_type\":\"%s\",\"cxx_flags\":\"%s\","
        "\"commit\":%s,\"dirty\":%s,\"governor\":%s,\"cpus\":[%s],\"quick\":%s,"
        "\"posix_mq\":\"%s\",\"warnings\":[%s]}\n",
        e.nproc, json_escape(e.kernel).c_str(), json_escape(e.cpu_model).c_str(),
        json_escape(e.compiler).c_str(), json_escape(e.build_type).c_str(),
        json_escape(e.flags).c_str(),
        e.commit.empty() ? "null" : ("\"" + json_escape(e.commit) + "\"").c_str(),
        e.dirty ? "true" : "false",
        e.governor.empty() ? "null" : ("\"" + json_escape(e.governor) + "\"").c_str(), cpus.c_str(),
        o.quick ? "true" : "false", json_escape(e.mq_note).c_str(), w.c_str());
  } else {
    std::printf("lqs-bench  machine: %s, %ld CPUs  kernel: %s\n", e.cpu_model.c_str(), e.nproc,
                e.kernel.c_str());
    std::printf("           compiler: g++ %s  build: %s  flags: %s\n", e.compiler.c_str(),
                e.build_type.c_str(), e.flags.c_str());
    std::printf("           commit: %s%s  governor: %s  cpus:",
                e.commit.empty() ? "unknown" : e.commit.c_str(), e.dirty ? " (dirty tree)" : "",
                e.governor.empty() ? "n/a" : e.governor.c_str());
    for (int c : o.cpus) std::printf(" %d", c);
    std::printf("%s\n", o.quick ? "  (--quick)" : "");
    if (!e.mq_note.empty()) std::printf("           posix mq: %s\n", e.mq_note.c_str());
    std::printf(
        "  latency: one-way, CLOCK_MONOTONIC stamp in the body -> consumer after receive"
        " (lqs/peer < 1: lqs faster)\n"
        "  throughput: unique messages / (last consumed - start) (lqs/peer > 1: lqs "
        "faster); boost_mq, posix_mq, uds: receive is their dequeue, no delete\n"
        "  open_loop: sends scheduled at a fixed rate, latency from the scheduled time\n"
        "  parks: consumer voluntary context switches per message (sleeps in a futex or the "
        "kernel)\n\n");
    print_table_header();
  }
  for (const auto& w : e.warnings) {
    std::fprintf(stderr, "lqs-bench: WARNING: %s\n", w.c_str());
  }
  std::fflush(stdout);
}

void remove_tree_files(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return;
  std::vector<std::string> names;
  while (dirent* ent = readdir(d)) {  // NOLINT(concurrency-mt-unsafe): single-threaded
    std::string n = ent->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  (void)closedir(d);
  for (const auto& n : names) {
    (void)unlink((dir + "/" + n).c_str());
  }
}

int run(int argc, char** argv) {
  Context ctx;
  if (!parse_options(argc, argv, ctx.opt)) {
    return 2;
  }
  const Options& o = ctx.opt;
  Env env = collect_env(o);
  const bool want_posix =
      std::find(o.systems.begin(), o.systems.end(), "posix_mq") != o.systems.end();
  if (want_posix) {
    setup_posix_mq(env, 4096, 1048576);
  }
  ctx.shm_root = "/dev/shm/lqs-bench-" + std::to_string(getpid());
  if (mkdir(ctx.shm_root.c_str(), 0700) != 0) {
    std::fprintf(stderr, "lqs-bench: mkdir %s: %s\n", ctx.shm_root.c_str(),
                 std::strerror(errno));  // NOLINT(concurrency-mt-unsafe)
    return 1;
  }
  g_cleanup.add([] { stop_servers(); });  // runs last: queue removals may need a server
  g_cleanup.add([root = ctx.shm_root] {
    remove_tree_files(root);
    (void)rmdir(root.c_str());
  });
  print_env(env, o);

  const int64_t t_start = now_ns();
  const bool progress = !o.json && isatty(STDERR_FILENO) != 0;
  for (const auto& w : o.workloads) {
    for (const RunSpec& s : plan(o, w)) {
      poll_interrupts();
      if (interrupted()) break;
      std::vector<Row> group;
      if (s.kind == Kind::kMemory) {
        if (std::find(o.systems.begin(), o.systems.end(), "lqs") == o.systems.end()) continue;
        group.push_back(run_memory(ctx, s));
      } else if (s.kind == Kind::kExpiry) {
        if (std::find(o.systems.begin(), o.systems.end(), "lqs") == o.systems.end()) continue;
        group = run_expiry(ctx, s);
        for (const auto& peer : o.systems) {
          if (peer == "lqs") continue;
          Row r;
          r.workload = s.workload;
          r.system = peer;
          r.msg_size = s.msg_size;
          r.skipped = true;
          r.note = "not applicable: no leases / in-flight state";
          group.push_back(r);
        }
      } else {
        for (const auto& sys : o.systems) {
          if (progress) {
            std::fprintf(stderr, "  running %s %s %dx%d %s...\r", w.c_str(),
                         fmt_size(s.msg_size).c_str(), s.producers, s.consumers, sys.c_str());
          }
          group.push_back(run_system(ctx, sys, s));
          if (interrupted()) break;
        }
        if (progress) std::fprintf(stderr, "%-70s\r", "");
      }
      for (const auto& r : group) {
        if (!r.ok && !r.skipped) ctx.any_failure = true;
      }
      if (o.json) {
        for (const auto& r : group) print_json_row(r);
      } else {
        print_table_group(group);
      }
    }
    if (interrupted()) break;
  }
  const double total = static_cast<double>(now_ns() - t_start) / 1e9;
  const std::string servers = describe_servers();
  if (!o.json && !servers.empty()) {
    std::printf("\nservers started by lqs-bench (private, loopback / Unix socket):\n%s",
                servers.c_str());
  }
  if (o.json) {
    std::printf(
        "{\"type\":\"summary\",\"seconds\":%.1f,\"all_ok\":%s,\"interrupted\":%s,\"servers\":\"%"
        "s\"}\n",
        total, ctx.any_failure ? "false" : "true", interrupted() ? "true" : "false",
        json_escape(servers).c_str());
  } else {
    std::printf("\n%s in %.1f s%s\n",
                ctx.any_failure ? "FAILURES (see ERROR/MISMATCH rows)" : "all runs verified", total,
                interrupted() ? " (interrupted)" : "");
  }
  return ctx.any_failure || interrupted() ? 1 : 0;
}

}  // namespace
}  // namespace lqs::bench

int main(int argc, char** argv) {
  lqs::bench::block_parent_signals();
  int rc = 1;
  try {
    rc = lqs::bench::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lqs-bench: fatal: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "lqs-bench: fatal: unknown exception\n");
  }
  lqs::bench::kill_all_children();
  lqs::bench::g_cleanup.run_all();
  return rc;
}
