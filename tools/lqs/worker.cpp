// Copyright lqs authors. `lqs worker`: runs a command for each message (or batch) of a queue,
// like an SQS event source mapping runs a Lambda function. Receives over shared memory.
//
//   lqs worker --queue Q [--batch-size N] [--concurrency C] [--visibility-timeout S]
//              [--until-empty] -- command [args...]
//
// Per message (batch size 1): the body on stdin; LQS_MESSAGE_ID, LQS_RECEIVE_COUNT,
// LQS_MESSAGE_GROUP_ID, LQS_SENT_TIMESTAMP, LQS_QUEUE_NAME and LQS_ATTR_<name> (each message
// attribute; other characters than [A-Za-z0-9_] become '_') in the environment. Exit 0
// deletes the message; anything else leaves it to come back after its visibility timeout,
// so the queue's redrive policy applies.
// Per batch (batch size > 1): a JSON array of Lambda-style SQS records on stdin; exit 0
// deletes them all except those the command lists on stdout as
// {"batchItemFailures": [{"itemIdentifier": "<messageId>"}]} (Lambda's rules: invalid JSON
// or an unknown identifier fails the whole batch; empty output is success).
//
// Threads: the main thread receives only while fewer than C handlers run, so nothing waits
// unleased; C runner threads each run one handler at a time and extend its messages'
// visibility every half timeout while it runs; one thread takes SIGTERM/SIGINT (stop
// receiving, finish what runs, exit 0). A killed worker loses nothing: its messages come
// back when their visibility lapses.
#include "cli.hpp"
#include "daemon/sqs_params.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

extern char** environ;  // NOLINT: POSIX

namespace lqs::cli {

namespace {

using Clock = std::chrono::steady_clock;

struct WorkerOptions {
  std::string queue;
  int batch_size = 1;
  int concurrency = 1;
  int visibility_timeout_s = -1;  // -1: the queue's
  double progress_interval_s = 5.0;
  bool until_empty = false;
  std::vector<std::string> command;
};

std::string env_name(std::string_view attr) {
  std::string n = "LQS_ATTR_";
  for (const char c : attr) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    n.push_back(ok ? c : '_');
  }
  return n;
}

std::string attr_text(const MessageAttribute& a) {
  return a.data_type.starts_with("Binary") ? daemon::params::base64_encode(a.value) : a.value;
}

class Worker {
 public:
  Worker(const Instance& inst, const WorkerOptions& o, Queue& q) : inst_(inst), o_(o), q_(q) {
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) base_env_.emplace_back(*e);
    visibility_s_ =
        o.visibility_timeout_s >= 0 ? o.visibility_timeout_s : q.attributes().visibility_timeout_s;
    fifo_ = q.attributes().fifo_queue;
  }

  int run() {
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGUSR1);  // our own wake-up of the signal thread at exit
    (void)pthread_sigmask(SIG_BLOCK, &stop, nullptr);  // every thread started below inherits
    (void)::signal(SIGPIPE, SIG_IGN);                  // a handler closing stdin early
    std::thread signals([this, stop] {
      int sig = 0;
      while (sigwait(&stop, &sig) == 0) {
        if (sig == SIGTERM || sig == SIGINT) {
          if (!stopping_.exchange(true)) {
            (void)std::fprintf(stderr, "lqs worker: %s: finishing %d in flight, then exiting\n",
                               sig == SIGTERM ? "SIGTERM" : "SIGINT", busy());
          }
        }
        if (sig == SIGUSR1) return;
      }
    });
    std::vector<std::thread> runners;
    for (int i = 0; i < o_.concurrency; ++i) runners.emplace_back([this] { runner(); });

    start_ = Clock::now();
    last_progress_ = start_;
    receive_loop();

    {
      std::lock_guard lock(mu_);
      closing_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : runners) t.join();
    progress(true);
    (void)pthread_kill(signals.native_handle(), SIGUSR1);
    signals.join();
    return spawn_failed_ ? kExitUsage : kExitOk;
  }

 private:
  using Batch = std::vector<ReceivedMessage>;

  int busy() {
    std::lock_guard lock(mu_);
    return static_cast<int>(jobs_.size()) + running_;
  }

  void receive_loop() {
    ReceiveOptions ro;
    ro.visibility_timeout_s = visibility_s_;
    ro.system_attribute_names = {"All"};
    ro.message_attribute_names = {"All"};
    ro.compute_md5 = true;
    ReceiveBatch b;
    while (!stopping_.load()) {
      progress(false);
      int free_slots = 0;
      {
        std::unique_lock lock(mu_);
        cv_done_.wait_for(lock, std::chrono::milliseconds(200), [this] {
          return static_cast<int>(jobs_.size()) + running_ < o_.concurrency || stopping_.load();
        });
        free_slots = o_.concurrency - static_cast<int>(jobs_.size()) - running_;
      }
      if (free_slots <= 0 || stopping_.load()) continue;
      const int want = o_.batch_size > 1 ? o_.batch_size : std::min(10, free_slots);
      Batch got;
      while (static_cast<int>(got.size()) < want && !stopping_.load()) {
        ro.max_number_of_messages = std::min(10, want - static_cast<int>(got.size()));
        ro.wait_time_s = got.empty() ? 1 : 0;  // long poll for the first, then take what is there
        if (auto r = q_.receive(b, ro); !r) {
          (void)std::fprintf(stderr, "lqs worker: receive: %s\n", r.error().message.c_str());
          std::this_thread::sleep_for(std::chrono::seconds(1));
          break;
        }
        for (size_t i = 0; i < b.count; ++i) got.push_back(b.messages[i]);
        if (b.count < static_cast<size_t>(ro.max_number_of_messages)) break;
      }
      if (stopping_.load() && !got.empty()) {
        for (const ReceivedMessage& m : got) {  // received as SIGTERM came: give them back
          (void)q_.change_visibility(m.receipt_handle, 0);
        }
        break;
      }
      if (got.empty()) {
        if (o_.until_empty && busy() == 0) {
          const QueueCounts c = q_.counts();
          if (c.visible + c.in_flight + c.delayed == 0) break;
        }
        continue;
      }
      std::lock_guard lock(mu_);
      if (o_.batch_size > 1) {
        jobs_.push_back(std::move(got));
      } else {
        // One job per message; on a FIFO queue one job per message group, run in order, so
        // that concurrency never reorders a group.
        std::vector<Batch> round;
        for (ReceivedMessage& m : got) {
          const auto it = std::find_if(round.begin(), round.end(), [&m](const Batch& j) {
            return j.front().message_group_id == m.message_group_id;
          });
          if (fifo_ && it != round.end()) {
            it->push_back(std::move(m));
          } else {
            round.push_back(Batch{std::move(m)});
          }
        }
        for (Batch& j : round) jobs_.push_back(std::move(j));
      }
      cv_.notify_all();
    }
  }

  void runner() {
    for (;;) {
      Batch job;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return !jobs_.empty() || closing_; });
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
        ++running_;
      }
      const std::vector<bool> ok = handle(job);
      std::vector<std::string_view> done;
      for (size_t i = 0; i < job.size(); ++i) {
        if (ok[i]) done.push_back(job[i].receipt_handle);
      }
      for (size_t i = 0; i < done.size(); i += 10) {
        std::vector<Result<void>> results;
        const auto n = std::min<size_t>(10, done.size() - i);
        if (auto d = q_.delete_batch(std::span(done).subspan(i, n), results); !d) {
          (void)std::fprintf(stderr, "lqs worker: delete: %s\n", d.error().message.c_str());
        }
      }
      succeeded_ += done.size();
      failed_ += job.size() - done.size();
      {
        std::lock_guard lock(mu_);
        --running_;
      }
      cv_done_.notify_all();
    }
  }

  std::string batch_input(const Batch& job) const {
    json records = json::array();
    for (const ReceivedMessage& m : job) {
      json attrs = json::object();
      for (const auto& [k, v] : m.system_attributes) attrs[k] = v;
      attrs["SenderId"] = inst_.account_id;
      json mattrs = json::object();
      for (const MessageAttribute& a : m.attributes) {
        json v = {{"dataType", a.data_type},
                  {"stringListValues", json::array()},
                  {"binaryListValues", json::array()}};
        v[a.data_type.starts_with("Binary") ? "binaryValue" : "stringValue"] = attr_text(a);
        mattrs[a.name] = std::move(v);
      }
      records.push_back(json{{"messageId", m.message_id.to_string()},
                             {"receiptHandle", m.receipt_handle},
                             {"body", m.body},
                             {"attributes", std::move(attrs)},
                             {"messageAttributes", std::move(mattrs)},
                             {"md5OfBody", m.md5_of_body ? m.md5_of_body->to_hex() : ""},
                             {"eventSource", "aws:sqs"},
                             {"eventSourceARN", inst_.queue_arn(q_.name())},
                             {"awsRegion", inst_.region}});
    }
    return records.dump(-1, ' ', false, json::error_handler_t::replace);
  }

  std::vector<std::string> environment(const Batch& job) const {
    std::vector<std::string> env;
    const bool single = o_.batch_size <= 1;
    for (const std::string& e : base_env_) {
      if (!e.starts_with("LQS_ATTR_") && !e.starts_with("LQS_MESSAGE_") &&
          !e.starts_with("LQS_RECEIVE_COUNT=")) {
        env.push_back(e);
      }
    }
    env.push_back("LQS_QUEUE_NAME=" + q_.name());
    if (!single) {
      env.push_back("LQS_BATCH_SIZE=" + std::to_string(job.size()));
      return env;
    }
    const ReceivedMessage& m = job.front();
    env.push_back("LQS_MESSAGE_ID=" + m.message_id.to_string());
    env.push_back("LQS_RECEIVE_COUNT=" + std::to_string(m.receive_count));
    env.push_back("LQS_MESSAGE_GROUP_ID=" + m.message_group_id);
    env.push_back("LQS_SENT_TIMESTAMP=" + std::to_string(m.sent_timestamp_ms));
    for (const MessageAttribute& a : m.attributes) {
      std::string v = attr_text(a);
      std::replace(v.begin(), v.end(), '\0', ' ');
      env.push_back(env_name(a.name) + "=" + v);
    }
    return env;
  }

  // Runs the command on `job`; returns which messages succeeded.
  std::vector<bool> handle(const Batch& job) {
    const bool single = o_.batch_size <= 1;
    if (single && job.size() > 1) {
      // A FIFO group's messages, one run each, in order. After a failure the rest are left
      // (and the group stays locked until the failed message's lease lapses), as SQS
      // expects of FIFO consumers.
      std::vector<bool> ok(job.size(), false);
      size_t i = 0;
      for (; i < job.size(); ++i) {
        const Batch rest(job.begin() + static_cast<std::ptrdiff_t>(i), job.end());
        ok[i] = spawn_and_wait(rest, rest.front().body, nullptr) == 0;
        if (!ok[i] || stopping_.load()) break;
      }
      for (size_t k = i + 1; k < job.size(); ++k) {  // not run: visible again at once
        (void)q_.change_visibility(job[k].receipt_handle, 0);
      }
      return ok;
    }
    const std::string input = single ? job.front().body : batch_input(job);
    std::string output;
    const int status = spawn_and_wait(job, input, single ? nullptr : &output);
    std::vector<bool> ok(job.size(), status == 0);
    if (status != 0 || single) return ok;
    // Batch: partial failures (Lambda's ReportBatchItemFailures rules).
    if (output.find_first_not_of(" \t\r\n") == std::string::npos) return ok;
    const json r = json::parse(output, nullptr, false);
    auto fail_all = [&] {
      (void)std::fprintf(stderr, "lqs worker: invalid batch response, the batch fails: %.200s\n",
                         output.c_str());
      return std::vector<bool>(job.size(), false);
    };
    if (r.is_discarded()) return fail_all();
    if (!r.is_object() || !r.contains("batchItemFailures") || r["batchItemFailures"].is_null()) {
      return ok;
    }
    if (!r["batchItemFailures"].is_array()) return fail_all();
    for (const json& f : r["batchItemFailures"]) {
      if (!f.is_object() || !f.contains("itemIdentifier") || !f["itemIdentifier"].is_string()) {
        return fail_all();
      }
      const std::string id = f["itemIdentifier"].get<std::string>();
      bool found = false;
      for (size_t i = 0; i < job.size(); ++i) {
        if (job[i].message_id.to_string() == id) {
          ok[i] = false;
          found = true;
        }
      }
      if (!found) return fail_all();
    }
    return ok;
  }

  void extend(const Batch& job) {
    for (const ReceivedMessage& m : job) {
      if (auto c = q_.change_visibility(m.receipt_handle, visibility_s_); !c) {
        (void)std::fprintf(stderr, "lqs worker: cannot extend the visibility of %s: %s\n",
                           m.message_id.to_string().c_str(), c.error().message.c_str());
      }
    }
  }

  // Spawns the command with `input` on stdin (and stdout into `output` when given); extends
  // the job's visibility while it runs. Returns 0 on exit status 0, else non-zero.
  int spawn_and_wait(const Batch& job, const std::string& input, std::string* output) {
    int in[2];
    int out[2] = {-1, -1};
    if (::pipe2(in, O_CLOEXEC) != 0 || (output != nullptr && ::pipe2(out, O_CLOEXEC) != 0)) {
      (void)std::fprintf(stderr, "lqs worker: pipe: %s\n", std::strerror(errno));  // NOLINT
      return -1;
    }
    posix_spawn_file_actions_t fa;
    (void)posix_spawn_file_actions_init(&fa);
    (void)posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    if (output != nullptr) (void)posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawnattr_t attr;
    (void)posix_spawnattr_init(&attr);
    sigset_t none;
    sigset_t defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGINT);
    (void)posix_spawnattr_setsigmask(&attr, &none);
    (void)posix_spawnattr_setsigdefault(&attr, &defaults);
    (void)posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    std::vector<std::string> env = environment(job);
    std::vector<char*> envp;
    for (std::string& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = o_.command;
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv.data(), envp.data());
    (void)posix_spawn_file_actions_destroy(&fa);
    (void)posix_spawnattr_destroy(&attr);
    (void)::close(in[0]);
    if (out[1] >= 0) (void)::close(out[1]);
    if (rc != 0) {
      (void)::close(in[1]);
      if (out[0] >= 0) (void)::close(out[0]);
      if (!spawn_failed_.exchange(true)) {
        (void)std::fprintf(stderr, "lqs worker: cannot run %s: %s; stopping\n", argv[0],
                           std::strerror(rc));  // NOLINT(concurrency-mt-unsafe)
      }
      stopping_ = true;
      return -1;
    }
    (void)::fcntl(in[1], F_SETFL, O_NONBLOCK);
    if (out[0] >= 0) (void)::fcntl(out[0], F_SETFL, O_NONBLOCK);
    int stdin_fd = in[1];
    int stdout_fd = out[0];
    size_t written = 0;
    if (input.empty()) {
      (void)::close(stdin_fd);
      stdin_fd = -1;
    }
    // Extend at half the timeout (at least every second) so a lease never lapses mid-run.
    const auto extend_every =
        std::chrono::milliseconds(std::max<int64_t>(500, int64_t{visibility_s_} * 1000 / 2));
    auto next_extend = Clock::now() + extend_every;
    int status = -1;
    bool exited = false;
    char buf[65536];
    // A pidfd is readable when the child exits, so poll() wakes at once; without one (kernels
    // before 5.3) poll every 10 ms.
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    while (!exited || stdout_fd >= 0) {
      pollfd fds[3];
      nfds_t n = 0;
      if (stdin_fd >= 0) fds[n++] = pollfd{stdin_fd, POLLOUT, 0};
      if (stdout_fd >= 0) fds[n++] = pollfd{stdout_fd, POLLIN, 0};
      if (pidfd >= 0 && !exited) fds[n++] = pollfd{pidfd, POLLIN, 0};
      int timeout_ms = 10;
      if (exited) {
        timeout_ms = 0;
      } else if (pidfd >= 0) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(next_extend - Clock::now());
        timeout_ms = static_cast<int>(std::clamp<int64_t>(left.count(), 1, 1000));
      }
      (void)::poll(fds, n, timeout_ms);
      if (stdin_fd >= 0) {
        const ssize_t w = ::write(stdin_fd, input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if (written == input.size() || (w < 0 && errno != EAGAIN && errno != EINTR)) {
          (void)::close(stdin_fd);  // all written, or the handler closed its stdin
          stdin_fd = -1;
        }
      }
      if (stdout_fd >= 0) {
        const ssize_t r = ::read(stdout_fd, buf, sizeof buf);
        if (r > 0) {
          if (output->size() < (size_t{16} << 20)) output->append(buf, static_cast<size_t>(r));
        } else if (r == 0 || (errno != EAGAIN && errno != EINTR) || exited) {
          // EOF; or the handler exited and whatever it wrote has been read (a grandchild may
          // still hold the pipe open: do not wait for it).
          (void)::close(stdout_fd);
          stdout_fd = -1;
        }
      }
      if (!exited) {
        int st = 0;
        if (::waitpid(pid, &st, WNOHANG) == pid) {
          exited = true;
          status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
        } else if (Clock::now() >= next_extend) {
          extend(job);
          next_extend = Clock::now() + extend_every;
        }
      }
    }
    if (stdin_fd >= 0) (void)::close(stdin_fd);
    if (pidfd >= 0) (void)::close(pidfd);
    return status;
  }

  void progress(bool final) {
    const auto now = Clock::now();
    const double since = std::chrono::duration<double>(now - last_progress_).count();
    if (!final && since < o_.progress_interval_s) return;
    const uint64_t ok = succeeded_.load();
    const uint64_t bad = failed_.load();
    const uint64_t processed = ok + bad;
    const double dt = final ? std::chrono::duration<double>(now - start_).count() : since;
    const double rate =
        dt > 0 ? static_cast<double>(processed - (final ? 0 : last_processed_)) / dt : 0.0;
    (void)std::fprintf(stderr,
                       "lqs worker: queue=%s processed=%llu succeeded=%llu failed=%llu "
                       "in_flight=%d rate=%.1f/s%s\n",
                       q_.name().c_str(), static_cast<unsigned long long>(processed),
                       static_cast<unsigned long long>(ok), static_cast<unsigned long long>(bad),
                       busy(), rate, final ? " (exiting)" : "");
    last_progress_ = now;
    last_processed_ = processed;
  }

  const Instance& inst_;
  const WorkerOptions& o_;
  Queue& q_;
  std::vector<std::string> base_env_;
  int32_t visibility_s_ = 30;
  bool fifo_ = false;

  std::mutex mu_;
  std::condition_variable cv_;       // jobs_ has work, or closing_
  std::condition_variable cv_done_;  // a runner finished a job
  std::deque<Batch> jobs_;           // guarded by mu_
  int running_ = 0;                  // guarded by mu_
  bool closing_ = false;             // guarded by mu_

  std::atomic<bool> stopping_{false};
  std::atomic<bool> spawn_failed_{false};
  std::atomic<uint64_t> succeeded_{0};
  std::atomic<uint64_t> failed_{0};
  Clock::time_point start_;
  Clock::time_point last_progress_;  // main thread only
  uint64_t last_processed_ = 0;      // main thread only
};

}  // namespace

void add_worker_command(CLI::App& app, const Instance& inst) {
  static WorkerOptions o;
  CLI::App* sub = app.add_subcommand(
      "worker",
      "Run a command per message or per batch (like an SQS event source mapping): "
      "lqs worker --queue Q [options] -- command [args...]");
  sub->group("lqs commands");
  sub->add_option("--queue", o.queue, "queue name or URL")->required();
  sub->add_option("--batch-size", o.batch_size,
                  "messages per handler run; > 1 gives a JSON array on stdin")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  sub->add_option("--concurrency", o.concurrency, "handlers running at once")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  sub->add_option("--visibility-timeout", o.visibility_timeout_s,
                  "lease of received messages, extended while the handler runs (default: the "
                  "queue's VisibilityTimeout)")
      ->check(CLI::Range(1, 43200));
  sub->add_option("--progress-interval", o.progress_interval_s,
                  "seconds between progress lines on stderr")
      ->check(CLI::Range(0.1, 86400.0))
      ->capture_default_str();
  sub->add_flag("--until-empty", o.until_empty,
                "exit once the queue holds no message (visible, in flight or delayed)");
  sub->add_option("command", o.command, "the handler and its arguments (after --)")->required();
  sub->callback([&inst] {
    const std::string name = queue_name_of(o.queue);
    auto q = Queue::open(inst.location(name));
    if (!q) {
      service_error(q.error(), "ReceiveMessage");
    }
    Worker w(inst, o, *q);
    exit_code() = w.run();
  });
}

}  // namespace lqs::cli
