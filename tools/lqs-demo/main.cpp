// Copyright lqs authors. The embedded-default demo: a producer process and a consumer process
// exchange messages through one queue in shared memory, with no daemon. Prints what happened
// and the rates.
//
//   lqs-demo [messages] [instance]     (defaults: 1000000, "demo")
#include "lqs/lqs.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

uint64_t checksum(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h = (h ^ c) * 1099511628211ULL;
  }
  return h;
}

int run_producer(const lqs::QueueLocation& where, long n) {
  auto q = lqs::Queue::open(where);
  if (!q) {
    std::fprintf(stderr, "producer: %s\n", q.error().message.c_str());
    return 1;
  }
  char body[64];
  auto t0 = std::chrono::steady_clock::now();
  long sent = 0;
  long full_retries = 0;
  while (sent < n) {
    int len = std::snprintf(body, sizeof body, "job %ld", sent);
    lqs::SendRequest r;
    r.body = std::string_view(body, static_cast<size_t>(len));
    auto res = q->send(r);
    if (!res) {
      if (res.error().code == lqs::ErrorCode::kQueueFull) {
        ++full_retries;  // backpressure: the consumer is behind; nothing is dropped
        usleep(50);
        continue;
      }
      std::fprintf(stderr, "producer: send failed: %s\n", res.error().message.c_str());
      return 1;
    }
    ++sent;
  }
  double s = seconds_since(t0);
  std::printf(
      "producer pid %d: sent %ld messages in %.3f s (%.0f msg/s; %ld backpressure "
      "retries)\n",
      getpid(), sent, s, static_cast<double>(sent) / s, full_retries);
  return 0;
}

int run_consumer(const lqs::QueueLocation& where, long n) {
  auto q = lqs::Queue::open(where);
  if (!q) {
    std::fprintf(stderr, "consumer: %s\n", q.error().message.c_str());
    return 1;
  }
  lqs::ReceiveBatch batch;
  lqs::ReceiveOptions opts;
  opts.max_number_of_messages = 10;
  opts.wait_time_s = 5;  // long poll: parked on a futex while the queue is empty
  std::vector<bool> seen(static_cast<size_t>(n), false);
  long received = 0;
  long duplicates = 0;
  long bad = 0;
  std::vector<std::string_view> handles;
  std::vector<lqs::Result<void>> results;
  auto t0 = std::chrono::steady_clock::now();
  while (received < n) {
    auto r = q->receive(batch, opts);
    if (!r) {
      std::fprintf(stderr, "consumer: receive failed: %s\n", r.error().message.c_str());
      return 1;
    }
    if (batch.count == 0) {
      std::fprintf(stderr, "consumer: no message for 5 s after %ld received\n", received);
      return 1;
    }
    handles.clear();
    for (size_t i = 0; i < batch.count; ++i) {
      const auto& m = batch.messages[i];
      long id = -1;
      if (std::sscanf(m.body.c_str(), "job %ld", &id) != 1 || id < 0 || id >= n ||
          checksum(m.body) == 0) {
        ++bad;
      } else if (seen[static_cast<size_t>(id)]) {
        ++duplicates;
      } else {
        seen[static_cast<size_t>(id)] = true;
        ++received;
      }
      handles.push_back(m.receipt_handle);
    }
    if (auto d = q->delete_batch(handles, results); !d) {
      std::fprintf(stderr, "consumer: delete failed: %s\n", d.error().message.c_str());
      return 1;
    }
  }
  double s = seconds_since(t0);
  std::printf(
      "consumer pid %d: received and deleted %ld distinct messages in %.3f s (%.0f "
      "msg/s), %ld duplicates, %ld malformed\n",
      getpid(), received, s, static_cast<double>(received) / s, duplicates, bad);
  return bad == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  long n = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 1000000;
  std::string instance = argc > 2 ? argv[2] : "demo";
  if (n <= 0) {
    std::fprintf(stderr, "usage: lqs-demo [messages>0] [instance]\n");
    return 2;
  }
  lqs::QueueLocation where;
  where.shm_root = lqs::default_shm_root(instance);
  where.name = "demo-" + std::to_string(getpid());
  lqs::QueueAttributes attrs;
  attrs.capacity_messages = 65536;
  auto q = lqs::Queue::create(where, attrs);
  if (!q) {
    std::fprintf(stderr, "lqs-demo: cannot create queue: %s\n", q.error().message.c_str());
    return 1;
  }
  std::printf(
      "lqs-demo: queue %s in %s (%u slots, %llu MiB arena); %ld messages, producer and "
      "consumer in separate processes\n",
      where.name.c_str(), where.shm_root.c_str(), q->attributes().capacity_messages,
      static_cast<unsigned long long>(q->attributes().capacity_bytes >> 20), n);
  std::fflush(stdout);
  pid_t consumer = fork();
  if (consumer == 0) {
    const int rc = run_consumer(where, n);
    std::fflush(stdout);  // _exit skips stdio flushing: a piped stdout would lose the report
    _exit(rc);
  }
  pid_t producer = fork();
  if (producer == 0) {
    const int rc = run_producer(where, n);
    std::fflush(stdout);
    _exit(rc);
  }
  int status_p = 0;
  int status_c = 0;
  (void)waitpid(producer, &status_p, 0);
  (void)waitpid(consumer, &status_c, 0);
  lqs::QueueCounts c = q->counts();
  std::printf("lqs-demo: queue now holds %llu visible, %llu in flight, %llu delayed\n",
              static_cast<unsigned long long>(c.visible),
              static_cast<unsigned long long>(c.in_flight),
              static_cast<unsigned long long>(c.delayed));
  (void)lqs::Queue::remove(where);
  const bool ok = WIFEXITED(status_p) && WEXITSTATUS(status_p) == 0 && WIFEXITED(status_c) &&
                  WEXITSTATUS(status_c) == 0;
  std::printf("lqs-demo: %s\n", ok ? "OK: every message delivered" : "FAILED");
  return ok ? 0 : 1;
}
