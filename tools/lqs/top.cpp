// Copyright lqs authors. `lqs top`: a live per-queue view read from shared memory (no daemon):
// visible, in flight, delayed, send and receive rates, age of the oldest message, and the
// dead-letter queue with its depth. Refreshes in place with ANSI escapes; --once prints one
// frame (rates measured over one --interval).
#include "cli.hpp"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace lqs::cli {

namespace {

struct Sample {
  QueueStats stats;
  std::optional<RedrivePolicy> redrive;
  int64_t at_ms = 0;  // steady clock
};

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string age(int64_t ms) {
  if (ms <= 0) return "-";
  const int64_t s = ms / 1000;
  char buf[32];
  if (s < 120) {
    (void)std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  } else if (s < 7200) {
    (void)std::snprintf(buf, sizeof buf, "%lldm", static_cast<long long>(s / 60));
  } else if (s < 172800) {
    (void)std::snprintf(buf, sizeof buf, "%lldh", static_cast<long long>(s / 3600));
  } else {
    (void)std::snprintf(buf, sizeof buf, "%lldd", static_cast<long long>(s / 86400));
  }
  return buf;
}

std::string rate(uint64_t now, uint64_t before, int64_t dt_ms, bool have) {
  if (!have || dt_ms <= 0) return "-";
  char buf[32];
  const double r =
      static_cast<double>(now >= before ? now - before : 0) * 1000.0 / static_cast<double>(dt_ms);
  (void)std::snprintf(buf, sizeof buf, "%.1f", r);
  return buf;
}

class Top {
 public:
  explicit Top(const Instance& inst) : inst_(inst) {}

  // Samples every queue of the shm root (opening new ones, dropping removed ones).
  void sample() {
    previous_ = std::move(current_);
    current_.clear();
    const std::vector<std::string> names = Queue::list(inst_.shm_root);
    std::erase_if(open_, [&](const auto& kv) {
      return std::find(names.begin(), names.end(), kv.first) == names.end();
    });
    for (const std::string& n : names) {
      auto it = open_.find(n);
      if (it == open_.end()) {
        // Inspection only: no recovery, whatever dead processes left is shown as it is.
        auto q = Queue::open_without_recovery(inst_.location(n));
        if (!q) {
          errors_[n] = std::string(sqs_shape(q.error().code)) + ": " + q.error().message;
          continue;
        }
        errors_.erase(n);
        it = open_.emplace(n, std::move(*q)).first;
      }
      Sample s;
      s.stats = it->second.stats();
      s.redrive = it->second.redrive_policy();
      s.at_ms = steady_ms();
      current_[n] = std::move(s);
    }
  }

  std::vector<std::string> frame() const {
    std::vector<std::string> lines;
    char when[32] = "";
    const time_t t = time(nullptr);
    tm tm{};
    if (localtime_r(&t, &tm) != nullptr) {
      (void)strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    }
    lines.push_back("lqs top - " + inst_.shm_root + " - " + when + " - " +
                    std::to_string(current_.size()) + " queue" + (current_.size() == 1 ? "" : "s"));
    size_t w = 5;
    for (const auto& [n, s] : current_) w = std::max(w, n.size());
    for (const auto& [n, e] : errors_) w = std::max(w, n.size());
    char buf[512];
    const int wi = static_cast<int>(w);
    (void)std::snprintf(buf, sizeof buf, "%-*s %9s %9s %9s %9s %9s %7s  %s", wi, "QUEUE", "VISIBLE",
                        "INFLIGHT", "DELAYED", "SEND/s", "RECV/s", "OLDEST", "DLQ (DEPTH)");
    lines.emplace_back(buf);
    const int64_t now = unix_ms();
    for (const auto& [n, s] : current_) {
      const auto p = previous_.find(n);
      const bool have = p != previous_.end();
      const int64_t dt = have ? s.at_ms - p->second.at_ms : 0;
      const QueueCounts& c = s.stats.counts;
      std::string dlq = "-";
      if (s.redrive) {
        dlq = s.redrive->dead_letter_queue;
        const auto d = current_.find(dlq);
        dlq += d == current_.end() ? " (missing)"
                                   : " (" +
                                         std::to_string(d->second.stats.counts.visible +
                                                        d->second.stats.counts.in_flight +
                                                        d->second.stats.counts.delayed) +
                                         ")";
      }
      const std::string oldest =
          s.stats.oldest_sent_unix_ms == 0 ? "-" : age(now - s.stats.oldest_sent_unix_ms);
      (void)std::snprintf(
          buf, sizeof buf, "%-*s %9llu %9llu %9llu %9s %9s %7s  %s", wi, n.c_str(),
          static_cast<unsigned long long>(c.visible), static_cast<unsigned long long>(c.in_flight),
          static_cast<unsigned long long>(c.delayed),
          rate(s.stats.sent_total, have ? p->second.stats.sent_total : 0, dt, have).c_str(),
          rate(s.stats.received_total, have ? p->second.stats.received_total : 0, dt, have).c_str(),
          oldest.c_str(), dlq.c_str());
      lines.emplace_back(buf);
    }
    for (const auto& [n, e] : errors_) {
      lines.push_back(n + std::string(w - n.size() + 1, ' ') + "cannot open: " + e);
    }
    return lines;
  }

 private:
  const Instance& inst_;
  std::map<std::string, Queue> open_;
  std::map<std::string, Sample> current_;
  std::map<std::string, Sample> previous_;
  std::map<std::string, std::string> errors_;
};

}  // namespace

void add_top_command(CLI::App& app, const Instance& inst) {
  CLI::App* sub = app.add_subcommand(
      "top", "Live per-queue view from shared memory (no daemon needed); Ctrl-C quits");
  sub->group("lqs commands");
  struct Options {
    double interval_s = 2.0;
    bool once = false;
    int iterations = 0;
  };
  static Options o;
  sub->add_option("--interval", o.interval_s, "seconds between frames (rates are per second)")
      ->check(CLI::Range(0.05, 3600.0))
      ->capture_default_str();
  sub->add_flag("--once", o.once,
                "print one frame and exit (without escapes; rates over one interval)");
  sub->add_option("--iterations", o.iterations,
                  "stop after this many frames (0: run until "
                  "interrupted)")
      ->check(CLI::Range(0, 1'000'000));
  sub->callback([&inst] {
    Top top(inst);
    const auto pause = std::chrono::milliseconds(static_cast<int64_t>(o.interval_s * 1000));
    top.sample();
    if (o.once) {
      std::this_thread::sleep_for(pause);
      top.sample();
      for (const std::string& l : top.frame()) (void)std::printf("%s\n", l.c_str());
      return;
    }
    (void)std::fputs("\x1b[H\x1b[2J", stdout);
    for (int i = 0; o.iterations == 0 || i < o.iterations; ++i) {
      if (i != 0) {
        std::this_thread::sleep_for(pause);
        top.sample();
      }
      std::string out = "\x1b[H";
      for (const std::string& l : top.frame()) out += l + "\x1b[K\n";
      out += "\x1b[J";
      (void)std::fwrite(out.data(), 1, out.size(), stdout);
      (void)std::fflush(stdout);
    }
  });
}

}  // namespace lqs::cli
